// Win64 (Microsoft x64) through gcc's __attribute__((ms_abi)): calls into ms_abi functions,
// thunks called by ms_abi callers, and the registers a Win64 callee must preserve.
// (The generated conformance suite checks every byte for random signatures.)
// x86-64 only: ms_abi functions and x86 assembly. Elsewhere Win64 plans exist but its code
// cannot run (test_signature.cpp checks host_can_run, test_plan_golden.cpp the plans).
#if defined(__x86_64__)
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>

#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::Engine;
using tramp::parse_signature;

#define MS __attribute__((ms_abi))

namespace {

struct Big { long a, b, c; };
struct F1 { float x; };

MS double w_mix(int a, double b, long c, float d, short e) { return a + b + c + d + e; }
MS Big w_big(Big x, long k) { return {x.a * k, x.b * k, x.c * k}; }
MS F1 w_f1(F1 x) { return {x.x * 2}; }
MS long double w_ld(long double x, long double y) { return x * y; }
MS __int128 w_i128(__int128 x) { return x * 3; }
MS double w_sum(int n, ...) {
  __builtin_ms_va_list ap;
  __builtin_ms_va_start(ap, n);
  double s = 0;
  for (int i = 0; i < n; ++i) s += __builtin_va_arg(ap, double);
  __builtin_ms_va_end(ap);
  return s;
}

// Calls `thunk` (a Win64 void(void)) the way a Win64 caller may: with values it expects to
// survive in rsi, rdi and xmm6-xmm15. Returns a bit per register that came back changed
// (bit 0 rsi, bit 1 rdi, bit k xmm k).
extern "C" long tramp_test_call_ms_preserving(void* thunk);
asm(R"(
  .text
  .globl tramp_test_call_ms_preserving
  .type tramp_test_call_ms_preserving, @function
tramp_test_call_ms_preserving:
  endbr64
  push %rbx
  mov %rdi, %rbx
  sub $32, %rsp
  movabs $0x5151515151515151, %rsi
  movabs $0x7171717171717171, %rdi
  mov $1006, %eax
  movq %rax, %xmm6
  mov $1007, %eax
  movq %rax, %xmm7
  mov $1008, %eax
  movq %rax, %xmm8
  mov $1009, %eax
  movq %rax, %xmm9
  mov $1010, %eax
  movq %rax, %xmm10
  mov $1011, %eax
  movq %rax, %xmm11
  mov $1012, %eax
  movq %rax, %xmm12
  mov $1013, %eax
  movq %rax, %xmm13
  mov $1014, %eax
  movq %rax, %xmm14
  mov $1015, %eax
  movq %rax, %xmm15
  call *%rbx
  xor %r8d, %r8d
  movabs $0x5151515151515151, %rcx
  cmp %rcx, %rsi
  je 1f
  or $1, %r8d
1:
  movabs $0x7171717171717171, %rcx
  cmp %rcx, %rdi
  je 2f
  or $2, %r8d
2:
  movq %xmm6, %rcx
  cmp $1006, %rcx
  je 36f
  or $64, %r8d
36:
  movq %xmm7, %rcx
  cmp $1007, %rcx
  je 37f
  or $128, %r8d
37:
  movq %xmm8, %rcx
  cmp $1008, %rcx
  je 38f
  or $256, %r8d
38:
  movq %xmm9, %rcx
  cmp $1009, %rcx
  je 39f
  or $512, %r8d
39:
  movq %xmm10, %rcx
  cmp $1010, %rcx
  je 310f
  or $1024, %r8d
310:
  movq %xmm11, %rcx
  cmp $1011, %rcx
  je 311f
  or $2048, %r8d
311:
  movq %xmm12, %rcx
  cmp $1012, %rcx
  je 312f
  or $4096, %r8d
312:
  movq %xmm13, %rcx
  cmp $1013, %rcx
  je 313f
  or $8192, %r8d
313:
  movq %xmm14, %rcx
  cmp $1014, %rcx
  je 314f
  or $16384, %r8d
314:
  movq %xmm15, %rcx
  cmp $1015, %rcx
  je 315f
  or $32768, %r8d
315:
  mov %r8, %rax
  add $32, %rsp
  pop %rbx
  ret
  .size tramp_test_call_ms_preserving, .-tramp_test_call_ms_preserving
)");

// A host handler that really overwrites what SysV lets it overwrite and Win64 does not.
void clobbering_handler(void*, void* const*, void*) {
  asm volatile(
      "xor %%esi, %%esi\n\txor %%edi, %%edi\n\t"
      "pcmpeqd %%xmm6, %%xmm6\n\tpcmpeqd %%xmm7, %%xmm7\n\tpcmpeqd %%xmm8, %%xmm8\n\t"
      "pcmpeqd %%xmm9, %%xmm9\n\tpcmpeqd %%xmm10, %%xmm10\n\tpcmpeqd %%xmm11, %%xmm11\n\t"
      "pcmpeqd %%xmm12, %%xmm12\n\tpcmpeqd %%xmm13, %%xmm13\n\tpcmpeqd %%xmm14, %%xmm14\n\t"
      "pcmpeqd %%xmm15, %%xmm15"
      ::: "rsi", "rdi", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
          "xmm14", "xmm15");
}

}  // namespace

TEST_CASE("Win64 calls: registers, stack, by-reference copies, sret, variadic", "[win64]") {
  Engine& e = Engine::global();
  {
    auto call = e.invoker(parse_signature("f64(i32, f64, i64, f32, i16)", Abi::Win64));
    int a = 1; double b = 2.5; long c = 3; float d = 0.5f; short s = -4; double r = 0;
    void* args[] = {&a, &b, &c, &d, &s};
    call(reinterpret_cast<void*>(&w_mix), &r, args);
    CHECK(r == 3.0);
    auto bound = call.bind(reinterpret_cast<void*>(&w_mix));
    r = 0;
    bound(&r, args);
    CHECK(r == 3.0);
  }
  {
    auto call = e.invoker("win64:{i64, i64, i64}({i64, i64, i64}, i64)");
    Big x{1, 2, 3}, r{}; long k = 7;
    void* args[] = {&x, &k};
    call(reinterpret_cast<void*>(&w_big), &r, args);
    CHECK((r.a == 7 && r.b == 14 && r.c == 21));
    CHECK((x.a == 1 && x.b == 2 && x.c == 3));  // the callee got a copy
  }
  {
    auto call = e.invoker("win64:{f32}({f32})");
    F1 x{1.25f}, r{};
    void* args[] = {&x};
    call(reinterpret_cast<void*>(&w_f1), &r, args);
    CHECK(r.x == 2.5f);
  }
  {
    auto call = e.invoker("win64:f80(f80, f80)");
    long double x = 1.5L, y = 4.0L, r = 0;
    void* args[] = {&x, &y};
    call(reinterpret_cast<void*>(&w_ld), &r, args);
    CHECK(r == 6.0L);
  }
  {
    auto call = e.invoker("win64:i128(i128)");
    __int128 x = (__int128{1} << 100) + 5, r = 0;
    void* args[] = {&x};
    call(reinterpret_cast<void*>(&w_i128), &r, args);
    CHECK(r == x * 3);
  }
  {
    auto call = e.invoker("win64:f64(i32, ...f64, f64, f64, f64, f64)");
    int n = 5; double v[5] = {1, 2, 3, 4, 5.5}, r = 0;
    void* args[] = {&n, &v[0], &v[1], &v[2], &v[3], &v[4]};
    call(reinterpret_cast<void*>(&w_sum), &r, args);
    CHECK(r == 15.5);
  }
}

TEST_CASE("Win64 thunks: an ms_abi caller gets a real ms_abi function", "[win64][callback]") {
  auto cb = Engine::global().callback(
      parse_signature("win64:{i64, i64, i64}(f64, {i64, i64, i64}, f32, i8, {f32})"),
      [](void* ret, void* const* args) {
        double a = *static_cast<double*>(args[0]);
        Big b;
        std::memcpy(&b, args[1], sizeof b);
        float c = *static_cast<float*>(args[2]);
        signed char d = *static_cast<signed char*>(args[3]);
        F1 f = *static_cast<F1*>(args[4]);
        *static_cast<Big*>(ret) = {static_cast<long>(a) + b.a, b.b + static_cast<long>(c), b.c + d + static_cast<long>(f.x)};
      });
  using Fn = MS Big(double, Big, float, signed char, F1);
  Big r = reinterpret_cast<Fn*>(const_cast<void*>(cb.code()))(10.0, Big{1, 2, 3}, 4.0f, -5, F1{7.0f});
  CHECK((r.a == 11 && r.b == 6 && r.c == 5));
}

extern "C" void tramp_test_call_ms_empty_aligned(void* fn, double x);

TEST_CASE("Win64 thunks: a result aligned beyond 16 that comes back as nothing", "[win64][callback]") {
  // An empty record of alignment 32 (win64_callers.c): the thunk realigns its frame for the
  // handler's result buffer and saves rsi and rdi there, at places only sp finds (the frame
  // once could not say where, and making the thunk failed).
  static double seen = 0;
  static std::uintptr_t ret_misalign = 1;
  auto cb = Engine::global().callback(parse_signature("win64:union{{unnamed i8:3}} align(32)(f64)"),
                                      [](void* ret, void* const* args) {
                                        seen = *static_cast<double*>(args[0]);
                                        ret_misalign = reinterpret_cast<std::uintptr_t>(ret) % 32;
                                      });
  tramp_test_call_ms_empty_aligned(const_cast<void*>(cb.code()), 2.75);
  CHECK(seen == 2.75);
  CHECK(ret_misalign == 0);
}

TEST_CASE("Win64 thunks preserve rsi, rdi and xmm6-xmm15 around a host handler", "[win64][callback]") {
  auto cb = Engine::global().callback(parse_signature("win64:void()"), &clobbering_handler);
  CHECK(tramp_test_call_ms_preserving(const_cast<void*>(cb.code())) == 0);
  // The same handler under SysV rules may clobber them: the check sees it (the test can fail).
  auto sysv = Engine::global().callback(parse_signature("sysv:void()"), &clobbering_handler);
  CHECK(tramp_test_call_ms_preserving(const_cast<void*>(sysv.code())) != 0);
}

#else  // not x86-64: Win64 plans exist, its code is refused before anything is emitted

#include <catch2/catch.hpp>

#include "tramp/tramp.hpp"

TEST_CASE("Win64 code cannot be made on this host", "[win64][errors]") {
  auto code_of = [](auto&& make) {
    try {
      make();
    } catch (const tramp::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("win64"));
      return e.code();
    }
    return tramp::ErrorCode::Syntax;  // no error: the CHECKs below fail
  };
  const tramp::Signature sig = tramp::parse_signature("win64:i32(i32, i32)");
  CHECK(code_of([&] { tramp::Engine::global().invoker(sig); }) == tramp::ErrorCode::HostAbi);
  CHECK(code_of([&] { tramp::Engine::global().callback(sig, [](void*, void* const*) {}); }) ==
        tramp::ErrorCode::HostAbi);
}

#endif  // __x86_64__
