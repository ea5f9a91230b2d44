// Plans and machine code for every ABI on every host: tramp::plan_text and
// tramp::machine_code never install or run anything, so an x86-64 machine shows AArch64
// stubs and an AArch64 machine x86-64 ones.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "tramp/tramp.hpp"

namespace {

using tramp::Abi;
using tramp::CodeKind;
using tramp::parse_signature;

std::uint32_t word_at(const std::vector<std::uint8_t>& code, std::size_t i) {
  std::uint32_t w;
  std::memcpy(&w, code.data() + i * 4, 4);
  return w;
}

constexpr std::uint32_t kBtiC = 0xD503245F;
constexpr std::uint32_t kRet = 0xD65F03C0;
constexpr std::uint32_t kBrX16 = 0xD61F0200;

}  // namespace

TEST_CASE("plans of every ABI are available on every host", "[abi]") {
  for (Abi abi : {Abi::SysV_X64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64}) {
    const std::string text = tramp::plan_text(parse_signature("f64(i32, f64)", abi));
    INFO(text);
    CHECK(text.rfind(std::string(tramp::abi_name(abi)) + " f64(i32, f64)\n", 0) == 0);
  }
  CHECK_THAT(tramp::plan_text(parse_signature("aapcs64:f64(i32, f64)")),
             Catch::Contains("arg 0 i32: x0 <- [0:4]") && Catch::Contains("arg 1 f64: v0 <- [0:8]"));
  CHECK_THAT(tramp::plan_text(parse_signature("sysv:f64(i32, f64)")),
             Catch::Contains("arg 0 i32: rdi <- [0:4]") && Catch::Contains("arg 1 f64: xmm0 <- [0:8]"));
  CHECK_THROWS_AS(tramp::plan_text(parse_signature("aapcs64:f80()")), tramp::Error);
}

TEST_CASE("AArch64 machine code on any host: bti c at entry, ret or br x16 at the end", "[a64]") {
  const auto sig = parse_signature("aapcs64:i32(i32, i32)");
  for (CodeKind kind : {CodeKind::Invoke, CodeKind::Callback}) {
    const auto code = tramp::machine_code(sig, kind, reinterpret_cast<const void*>(0x1234));
    REQUIRE(code.size() % 4 == 0);
    REQUIRE(code.size() >= 8);
    CHECK(word_at(code, 0) == kBtiC);
    CHECK(word_at(code, code.size() / 4 - 1) == kRet);
  }
  // No result to store and nothing on the stack: the stub tail-jumps through x16, the one
  // register (with x17) that a `br` may use to land on a `bti c`.
  const auto tail = tramp::machine_code(parse_signature("aapcs64:void(i32, f64)"), CodeKind::Invoke);
  CHECK(word_at(tail, 0) == kBtiC);
  CHECK(word_at(tail, tail.size() / 4 - 1) == kBrX16);
  const auto direct = tramp::machine_code(sig, CodeKind::RegisterReturn);
  CHECK(word_at(direct, direct.size() / 4 - 1) == kBrX16);
}

TEST_CASE("a bound AArch64 stub carries its target as movz/movk immediates", "[a64]") {
  const std::uint64_t target = 0x0123456789ABCDEFu;
  const auto code = tramp::machine_code(parse_signature("apple-arm64:i32(i32)"), CodeKind::Bound,
                                        reinterpret_cast<const void*>(target));
  // movz/movk x16, #imm16, lsl #(16 * hw): 0xD2800010 / 0xF2800010 | hw << 21 | imm16 << 5.
  std::uint64_t rebuilt = 0;
  int pieces = 0;
  for (std::size_t i = 0; i < code.size() / 4; ++i) {
    const std::uint32_t w = word_at(code, i);
    const std::uint32_t op = w & 0xFF80001F;
    if (op != 0xD2800010 && op != 0xF2800010) continue;
    const unsigned hw = (w >> 21) & 3;
    rebuilt |= std::uint64_t{(w >> 5) & 0xFFFF} << (16 * hw);
    ++pieces;
  }
  CHECK(pieces == 4);
  CHECK(rebuilt == target);
  CHECK_THROWS_AS(tramp::machine_code(parse_signature("aapcs64:i32(i32)"), CodeKind::Bound), tramp::Error);
}

TEST_CASE("x86-64 machine code on any host starts with endbr64", "[x64]") {
  for (Abi abi : {Abi::SysV_X64, Abi::Win64}) {
    const auto code = tramp::machine_code(parse_signature("i32(i32, i32)", abi), CodeKind::Invoke);
    REQUIRE(code.size() > 4);
    const std::vector<std::uint8_t> endbr64 = {0xF3, 0x0F, 0x1E, 0xFA};
    CHECK(std::vector<std::uint8_t>(code.begin(), code.begin() + 4) == endbr64);
  }
}
