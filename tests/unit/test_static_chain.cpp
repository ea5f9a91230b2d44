// Static chains (Signature::static_chain): a call stub loads the value args[n] points at into
// the ABI's static chain register (r10, x18) last; a thunk hands its handler the address of
// what arrived there as args[n]. Checked against gcc's own __builtin_call_with_static_chain
// and against callees that read the register.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "tramp/tramp.hpp"

using tramp::Engine;
using tramp::parse_signature;

namespace {

// i64 f(i64 a, ...): returns a + the static chain, whatever else it is given. The Win64
// variant reads its first argument from rcx.
extern "C" void tramp_test_chain_plus_first();
extern "C" void tramp_test_chain_plus_first_win64();
#if defined(__x86_64__)
asm(R"(
  .text
  .globl tramp_test_chain_plus_first
  .type tramp_test_chain_plus_first, @function
tramp_test_chain_plus_first:
  endbr64
  lea (%r10,%rdi), %rax
  ret
  .size tramp_test_chain_plus_first, .-tramp_test_chain_plus_first
  .globl tramp_test_chain_plus_first_win64
  .type tramp_test_chain_plus_first_win64, @function
tramp_test_chain_plus_first_win64:
  endbr64
  lea (%r10,%rcx), %rax
  ret
  .size tramp_test_chain_plus_first_win64, .-tramp_test_chain_plus_first_win64
)");
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl tramp_test_chain_plus_first
  .type tramp_test_chain_plus_first, %function
  .p2align 2
tramp_test_chain_plus_first:
  hint #34
  add x0, x0, x18
  ret
  .size tramp_test_chain_plus_first, .-tramp_test_chain_plus_first
  .globl tramp_test_chain_plus_first_win64
tramp_test_chain_plus_first_win64:
  brk #0
)");
#endif

struct Case {
  const char* sig;
  void (*fn)();
};

std::vector<Case> call_cases() {
  std::vector<Case> c = {
      {"i64(i64) static_chain", tramp_test_chain_plus_first},
      {"i64(i64) errno static_chain", tramp_test_chain_plus_first},
      // Stack arguments and a by-value record first: the chain comes after all their moves.
      {"i64(i64, i64, i64, i64, i64, i64, i64, i64, i64, {i64, i64, i64}) static_chain",
       tramp_test_chain_plus_first},
      {"i64(i64, ...i64, f64) static_chain", tramp_test_chain_plus_first},
  };
#if defined(__x86_64__)
  c.push_back({"win64:i64(i64) static_chain", tramp_test_chain_plus_first_win64});
  c.push_back({"win64:i64(i64, i64, i64, i64, i64, {i64, i64, i64}) static_chain", tramp_test_chain_plus_first_win64});
#endif
  return c;
}

// Every argument a pointer to its own 64-bit zero (enough for any of the cases' types), the
// first to `first`, and one more: the chain.
struct Args {
  std::int64_t first, zero[4] = {0, 0, 0, 0};
  void* chain;
  void* p[16];
  Args(std::int64_t a, std::uintptr_t c, std::size_t n) : first(a), chain(reinterpret_cast<void*>(c)) {
    p[0] = &first;
    for (std::size_t i = 1; i < n; ++i) p[i] = zero;
    p[n] = &chain;
  }
};

}  // namespace

TEST_CASE("static chain: calls load it into the ABI's register", "[static_chain]") {
  for (const Case& c : call_cases()) {
    INFO(c.sig);
    const tramp::Signature sig = parse_signature(c.sig);
    REQUIRE(sig.static_chain());
    tramp::Invoker inv = Engine::global().invoker(sig);
    const auto* fn = reinterpret_cast<const void*>(c.fn);
    Args a(5, 0x7000, sig.arg_count());
    std::int64_t r = 0;
    inv(fn, &r, a.p);
    CHECK(r == 0x7005);
    tramp::BoundCall bound = inv.bind(fn);
    r = 0;
    bound(&r, a.p);
    CHECK(r == 0x7005);
    CHECK(inv.direct<std::int64_t>()(fn, a.p) == 0x7005);
    r = 0;
    inv.widened()(fn, &r, a.p);
    CHECK(r == 0x7005);
  }
}

namespace {
extern "C" std::int64_t chain_handler_seen;
std::int64_t chain_handler_seen = 0;
void chain_handler(void* ret, void* const* args, void* user) {
  const std::size_t n = reinterpret_cast<std::uintptr_t>(user);
  const auto chain = reinterpret_cast<std::intptr_t>(*static_cast<void* const*>(args[n]));
  *static_cast<std::int64_t*>(ret) = *static_cast<const std::int64_t*>(args[0]) + chain;
}

using SysvFn = std::int64_t (*)(std::int64_t);
#if defined(__x86_64__)
using Win64Fn = std::int64_t(__attribute__((ms_abi)) *)(std::int64_t);
#else
using Win64Fn = void*;
#endif
}  // namespace

// static_chain_callers.c: f(40) with `chain` as the static chain, compiled by gcc.
extern "C" std::int64_t tramp_test_call_with_chain(SysvFn f, void* chain);
extern "C" std::int64_t tramp_test_call_with_chain_win64(Win64Fn f, void* chain);
namespace {
std::int64_t call_with_chain(SysvFn f, void* chain) { return tramp_test_call_with_chain(f, chain); }
[[maybe_unused]] std::int64_t call_with_chain_win64(Win64Fn f, void* chain) {
  return tramp_test_call_with_chain_win64(f, chain);
}
}  // namespace

TEST_CASE("static chain: a thunk hands the handler what arrived in the register", "[static_chain][callback]") {
  tramp::Callback cb = Engine::global().callback(parse_signature("i64(i64) static_chain"), chain_handler,
                                                 reinterpret_cast<void*>(std::uintptr_t{1}));
  CHECK(call_with_chain(cb.as<std::int64_t(std::int64_t)>(), reinterpret_cast<void*>(0x300)) == 0x328);
  // The C++ form sees it in the same place.
  tramp::Callback cc = Engine::global().callback(parse_signature("i64(i64) errno static_chain"),
                                                 [](void* ret, void* const* args) {
                                                   *static_cast<std::int64_t*>(ret) = reinterpret_cast<std::intptr_t>(
                                                       *static_cast<void* const*>(args[1]));
                                                 });
  CHECK(call_with_chain(cc.as<std::int64_t(std::int64_t)>(), reinterpret_cast<void*>(0x1234)) == 0x1234);
#if defined(__x86_64__)
  tramp::Callback cw = Engine::global().callback(parse_signature("win64:i64(i64) static_chain"), chain_handler,
                                                 reinterpret_cast<void*>(std::uintptr_t{1}));
  CHECK(call_with_chain_win64(reinterpret_cast<Win64Fn>(const_cast<void*>(cw.code())), reinterpret_cast<void*>(0x500)) ==
        0x528);
#endif
}

TEST_CASE("static chain: text form, equality and refusal", "[static_chain][signature]") {
  const tramp::Signature plain = parse_signature("i32(i32)");
  const tramp::Signature chained = parse_signature("i32(i32) static_chain");
  CHECK(chained.str() == "i32(i32) static_chain");
  CHECK(parse_signature("i32(i32) errno(set) static_chain").str() == "i32(i32) errno(set) static_chain");
  CHECK(parse_signature(chained.str()) == chained);
  CHECK_FALSE(plain == chained);
  CHECK(plain.with_static_chain() == chained);
  CHECK(chained.with_static_chain(false) == plain);
  CHECK(tramp::SignatureBuilder(tramp::Type::i32()).arg(tramp::Type::i32()).static_chain().build() == chained);
  // errno comes first, as the text form writes it.
  CHECK_THROWS_AS(parse_signature("i32(i32) static_chain errno"), tramp::Error);
  // A variadic call keeps it.
  const tramp::Type* f64 = tramp::Type::f64();
  CHECK(parse_signature("i32(ptr, ...) static_chain").with_variadic({&f64, 1}).static_chain());
  CHECK(parse_signature("i32(ptr, ...) errno(set)").with_variadic({&f64, 1}).errno_mode() ==
        tramp::ErrnoMode::SetAndCapture);
  CHECK(tramp::plan_text(parse_signature("aapcs64:i32(i32) static_chain")).find("static chain in x18") !=
        std::string::npos);
  CHECK(tramp::plan_text(parse_signature("win64:i32(i32) static_chain")).find("static chain in r10") !=
        std::string::npos);
  try {
    tramp::plan_text(parse_signature("apple-arm64:i32(i32) static_chain"));
    FAIL("apple-arm64 static chain accepted");
  } catch (const tramp::Error& e) {
    CHECK(std::string(e.what()).find("static chain") != std::string::npos);
  }
}
