// Invoker::widened(): the invoke stub that stores a narrow integer result as a whole word,
// sign- or zero-extended by its type (libffi's ffi_arg), and every other result as entry()
// does. The callees leave junk above the narrow value in the result register, as the ABIs
// allow (psABI 3.2.3 leaves the upper bits unspecified; so does AAPCS64 6.9), so a stub that
// merely stored the register, or extended the wrong way, is caught.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>

#include "tramp/tramp.hpp"

namespace {

// Return 0xA5A5A5A5F0E1D2C3 and 0xA5A5A5A5A5A5A501 in the result register (rax under SysV
// and Win64 alike, x0 under AAPCS64).
extern "C" void tramp_test_dirty_result();
extern "C" void tramp_test_dirty_one();
#if defined(__x86_64__)
asm(R"(
  .text
  .globl tramp_test_dirty_result
  .type tramp_test_dirty_result, @function
tramp_test_dirty_result:
  endbr64
  movabs $0xA5A5A5A5F0E1D2C3, %rax
  ret
  .size tramp_test_dirty_result, .-tramp_test_dirty_result
  .globl tramp_test_dirty_one
  .type tramp_test_dirty_one, @function
tramp_test_dirty_one:
  endbr64
  movabs $0xA5A5A5A5A5A5A501, %rax
  ret
  .size tramp_test_dirty_one, .-tramp_test_dirty_one
)");
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl tramp_test_dirty_result
  .type tramp_test_dirty_result, %function
  .p2align 2
tramp_test_dirty_result:
  hint #34
  movz x0, #0xD2C3
  movk x0, #0xF0E1, lsl #16
  movk x0, #0xA5A5, lsl #32
  movk x0, #0xA5A5, lsl #48
  ret
  .size tramp_test_dirty_result, .-tramp_test_dirty_result
  .globl tramp_test_dirty_one
  .type tramp_test_dirty_one, %function
  .p2align 2
tramp_test_dirty_one:
  hint #34
  movz x0, #0xA501
  movk x0, #0xA5A5, lsl #16
  movk x0, #0xA5A5, lsl #32
  movk x0, #0xA5A5, lsl #48
  ret
  .size tramp_test_dirty_one, .-tramp_test_dirty_one
)");
#endif

std::uint64_t call_widened(const char* sig, void (*fn)()) {
  tramp::Invoker inv = tramp::Engine::global().invoker(tramp::parse_signature(sig));
  std::uint64_t word = 0x5555555555555555;
  inv.widened()(reinterpret_cast<const void*>(fn), &word, nullptr);
  return word;
}

std::vector<const char*> abi_prefixes() {
#if defined(__x86_64__)
  return {"", "win64:"};
#else
  return {""};
#endif
}

}  // namespace

TEST_CASE("widened(): narrow integer results become whole words, extended by their type", "[engine][widened]") {
  for (const char* prefix : abi_prefixes()) {
    for (const char* errno_suffix : {"", " errno"}) {
      auto sig = [&](const char* ret) { return std::string(prefix) + ret + "()" + errno_suffix; };
      INFO(sig("T"));
      CHECK(call_widened(sig("i8").c_str(), tramp_test_dirty_result) == 0xFFFFFFFFFFFFFFC3u);
      CHECK(call_widened(sig("u8").c_str(), tramp_test_dirty_result) == 0xC3u);
      CHECK(call_widened(sig("i16").c_str(), tramp_test_dirty_result) == 0xFFFFFFFFFFFFD2C3u);
      CHECK(call_widened(sig("u16").c_str(), tramp_test_dirty_result) == 0xD2C3u);
      CHECK(call_widened(sig("i32").c_str(), tramp_test_dirty_result) == 0xFFFFFFFFF0E1D2C3u);
      CHECK(call_widened(sig("u32").c_str(), tramp_test_dirty_result) == 0xF0E1D2C3u);
      CHECK(call_widened(sig("bool").c_str(), tramp_test_dirty_one) == 1u);
      // Whole-word results are stored as they come.
      CHECK(call_widened(sig("i64").c_str(), tramp_test_dirty_result) == 0xA5A5A5A5F0E1D2C3u);
      CHECK(call_widened(sig("ptr").c_str(), tramp_test_dirty_result) == 0xA5A5A5A5F0E1D2C3u);
    }
  }
}

TEST_CASE("widened(): other results are stored as by the invoke stub", "[engine][widened]") {
  for (const char* prefix : abi_prefixes()) {
    INFO(prefix);
    tramp::Invoker inv = tramp::Engine::global().invoker(tramp::parse_signature(std::string(prefix) + "{i32, i32}()"));
    // A record is not an integer: its bytes are stored as the plan places them, no more.
    unsigned char buffer[16];
    std::memset(buffer, 0x55, sizeof buffer);
    inv.widened()(reinterpret_cast<const void*>(&tramp_test_dirty_result), buffer, nullptr);
    const std::uint64_t expected = 0xA5A5A5A5F0E1D2C3u;
    CHECK(std::memcmp(buffer, &expected, 8) == 0);
    CHECK(buffer[8] == 0x55);
    // The variant is made once and kept with its invoker.
    CHECK(inv.widened() == inv.widened());
    CHECK(inv.widened() != inv.entry());
  }
}

TEST_CASE("widened() on an empty Invoker is an error", "[engine][widened]") {
  CHECK_THROWS_AS(tramp::Invoker().widened(), tramp::Error);
}

TEST_CASE("stack_size(): the bytes a call's arguments take on the stack", "[engine]") {
  auto stack_of = [](const char* sig) { return tramp::Engine::global().invoker(tramp::parse_signature(sig)).stack_size(); };
  CHECK(stack_of("i32(i32, i32)") == 0);
  CHECK(tramp::Invoker().stack_size() == 0);
#if defined(__x86_64__)
  CHECK(stack_of("win64:i32(i32, i32)") == 32);  // the shadow space
  CHECK(stack_of("i64(i64, i64, i64, i64, i64, i64, i64, i64)") == 16);
  CHECK(stack_of("win64:i64({i64, i64, i64})") == 32 + 32);  // and the caller's copy, 16-aligned
#else
  CHECK(stack_of("i64(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)") == 16);
#endif
}
