// Unwind info for stubs and thunks (jit/unwind.cpp): a callee's C++ exception passes through
// call, bound and register-return stubs; a raw handler's through a thunk into a native C++
// caller; a signal that lands anywhere inside a stub or thunk unwinds through it; registration
// follows the code's lifetime; longjmp keeps working.
#include <catch2/catch.hpp>

#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <unwind.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "abi/call_plan.hpp"
#include "jit/emitter.hpp"
#include "jit/unwind.hpp"
#include "host_arch.hpp"
#include "tramp/tramp.hpp"

using tramp::Engine;
using tramp::parse_signature;

// libgcc's: the FDE covering pc, and in `bases` (struct dwarf_eh_bases) where its code begins.
struct EhBases {
  void* tbase;
  void* dbase;
  void* func;
};
extern "C" const void* _Unwind_Find_FDE(const void* pc, void* bases);

namespace {

struct Thrown {
  int value;
};

struct Big {
  long a, b, c;
};
struct Page {
  unsigned char bytes[8192];
};

// Callees that throw what they were given, of several shapes.
__attribute__((noinline)) int t_i32(int a, int b) { throw Thrown{a + b}; }
__attribute__((noinline)) void t_void(int a) { throw Thrown{a}; }
__attribute__((noinline)) Big t_big(long a) { throw Thrown{static_cast<int>(a)}; }
__attribute__((noinline)) long t_stack(long a, long, long, long, long, long, long, long, long i) {
  throw Thrown{static_cast<int>(a + i)};
}
__attribute__((noinline)) long t_page(Page p) { throw Thrown{p.bytes[8191]}; }
__attribute__((noinline)) double t_f64(double x) { throw Thrown{static_cast<int>(x)}; }
// Aligned beyond 16 bytes: a call stub passing it realigns its frame.
struct alignas(32) Aligned32 {
  long a, b;
};
__attribute__((noinline)) long t_aligned(Aligned32 v) { throw Thrown{static_cast<int>(v.b)}; }

template <class F>
int thrown_by(F&& f) {
  try {
    f();
  } catch (const Thrown& t) {
    return t.value;
  }
  return -1;
}

// A native C++ caller of a callback, compiled with unwind tables like any C++ code.
__attribute__((noinline)) int native_call(int (*f)(int, int), int a, int b) { return f(a, b) + 1; }
__attribute__((noinline)) long native_call_stack(long (*f)(long, long, long, long, long, long, long, long, long)) {
  return f(1, 2, 3, 4, 5, 6, 7, 8, 9) + 1;
}
__attribute__((noinline)) Big native_call_big(Big (*f)(long)) { return f(7); }

void throwing_handler(void*, void* const* args, void*) { throw Thrown{*static_cast<int*>(args[0])}; }
void throwing_long_handler(void*, void* const* args, void*) { throw Thrown{static_cast<int>(*static_cast<long*>(args[8]))}; }

}  // namespace

TEST_CASE("unwind: a callee's exception passes through call and bound stubs", "[unwind]") {
  Engine& e = Engine::global();
  int a = 2, b = 3, r = 0;
  void* ab[] = {&a, &b};
  for (const char* text : {"i32(i32, i32)", "i32(i32, i32) errno", "i32(i32, i32) errno(set)"}) {
    INFO(text);
    tramp::Invoker inv = e.invoker(parse_signature(text));
    CHECK(thrown_by([&] { inv(reinterpret_cast<const void*>(&t_i32), &r, ab); }) == 5);
    tramp::BoundCall bound = inv.bind(reinterpret_cast<const void*>(&t_i32));
    CHECK(thrown_by([&] { bound(&r, ab); }) == 5);
    // The register-return stub: a tail jump, or a frame kept for the errno helper.
    CHECK(thrown_by([&] { inv.direct<int>()(reinterpret_cast<const void*>(&t_i32), ab); }) == 5);
  }
  // No frame at all (a tail jump), an sret buffer, stack arguments, an 8 KiB argument whose
  // frame is probed page by page, a vector result.
  void* one[] = {&a};
  CHECK(thrown_by([&] { e.invoker(parse_signature("void(i32)"))(reinterpret_cast<const void*>(&t_void), nullptr, one); }) == 2);
  long k = 9;
  Big big{};
  void* kk[] = {&k};
  CHECK(thrown_by([&] { e.invoker(parse_signature("{i64, i64, i64}(i64)"))(reinterpret_cast<const void*>(&t_big), &big, kk); }) == 9);
  long v[9] = {1, 2, 3, 4, 5, 6, 7, 8, 100};
  void* nine[9];
  for (int i = 0; i < 9; ++i) nine[i] = &v[i];
  long out = 0;
  CHECK(thrown_by([&] {
          e.invoker(parse_signature("i64(i64, i64, i64, i64, i64, i64, i64, i64, i64)"))(
              reinterpret_cast<const void*>(&t_stack), &out, nine);
        }) == 101);
  static Page page{};
  page.bytes[8191] = 77;
  void* pp[] = {&page};
  tramp::Invoker page_inv = e.invoker(parse_signature("i64({u8[8192]})"));
  CHECK(thrown_by([&] { page_inv(reinterpret_cast<const void*>(&t_page), &out, pp); }) == 77);
  tramp::BoundCall page_bound = page_inv.bind(reinterpret_cast<const void*>(&t_page));
  CHECK(thrown_by([&] { page_bound(&out, pp); }) == 77);
  double x = 42.5, y = 0;
  void* xx[] = {&x};
  CHECK(thrown_by([&] { e.invoker(parse_signature("f64(f64)"))(reinterpret_cast<const void*>(&t_f64), &y, xx); }) == 42);
  CHECK(thrown_by([&] { e.invoker(parse_signature("f64(f64) errno")).direct<double>()(reinterpret_cast<const void*>(&t_f64), xx); }) == 42);
  Aligned32 al{1, 33};
  void* aa[] = {&al};
  CHECK(thrown_by([&] { e.invoker(parse_signature("i64({i64, i64} align(32))"))(reinterpret_cast<const void*>(&t_aligned), &out, aa); }) == 33);
}

TEST_CASE("unwind: a raw handler's exception passes through a thunk into a native C++ caller", "[unwind]") {
  Engine& e = Engine::global();
  for (const char* text : {"i32(i32, i32)", "i32(i32, i32) errno", "i32(i32, i32) errno(set)"}) {
    INFO(text);
    tramp::Callback cb = e.callback(parse_signature(text), throwing_handler, nullptr);
    CHECK(thrown_by([&] { native_call(cb.as<int(int, int)>(), 11, 12); }) == 11);
  }
  tramp::Callback stack = e.callback(parse_signature("i64(i64, i64, i64, i64, i64, i64, i64, i64, i64)"),
                                     throwing_long_handler, nullptr);
  CHECK(thrown_by([&] { native_call_stack(stack.as<long(long, long, long, long, long, long, long, long, long)>()); }) == 9);
  tramp::Callback sret = e.callback(parse_signature("{i64, i64, i64}(i64) errno"),
                                    [](void*, void* const* args, void*) { throw Thrown{static_cast<int>(*static_cast<long*>(args[0]))}; },
                                    nullptr);
  CHECK(thrown_by([&] { native_call_big(sret.as<Big(long)>()); }) == 7);
  // The callback still works afterwards, and a CallableHandler still parks its exception.
  tramp::Callback ok = e.callback(parse_signature("i32(i32, i32)"), [](void* ret, void* const* args, void*) {
    *static_cast<int*>(ret) = *static_cast<int*>(args[0]) * *static_cast<int*>(args[1]);
  }, nullptr);
  CHECK(native_call(ok.as<int(int, int)>(), 6, 7) == 43);
  tramp::Callback parked = e.callback(parse_signature("i32(i32, i32)"), [](void*, void* const*) { throw Thrown{1}; });
  CHECK(native_call(parked.as<int(int, int)>(), 1, 2) == 1);  // zero result + 1, no unwinding
  CHECK(tramp::take_callback_exception() != nullptr);
}

namespace {

// A thunk realigns its frame (a frame pointer, the bottom aligned down) for a value aligned
// beyond 16 bytes that arrives or returns in registers: under SysV a __m256 in ymm0 (a record
// that aligned goes in memory), under AAPCS64 an HFA of four doubles aligned to 32.
#if defined(__x86_64__)
using Lane = float;
using Wide = __attribute__((vector_size(32))) float;
constexpr const char* kWideSignature = "f32x8(f32x8)";
bool host_has_wide() { return __builtin_cpu_supports("avx"); }
__attribute__((noinline, target("avx"))) Lane native_call_wide(Wide (*f)(Wide), Lane x) {
  Wide v = {x, x, x, x, x, x, x, x};
  Wide r = f(v);
  return r[7];
}
#else
using Lane = double;
struct alignas(32) Wide {
  double v[4];
};
constexpr const char* kWideSignature = "{f64[4]} align(32)({f64[4]} align(32))";
bool host_has_wide() { return true; }
__attribute__((noinline)) Lane native_call_wide(Wide (*f)(Wide), Lane x) {
  Wide v{{x, x, x, x}};
  return f(v).v[3];
}
#endif

}  // namespace

TEST_CASE("unwind: a thunk with a realigned frame passes an exception and returns its value", "[unwind]") {
  if (!host_has_wide()) {
    WARN("no AVX: a realigned thunk cannot run here");
    return;
  }
  Engine& e = Engine::global();
  CHECK(parse_signature(kWideSignature).ret()->align() == 32);
  tramp::Callback throwing = e.callback(parse_signature(kWideSignature), [](void*, void* const* args, void*) {
    Lane last;
    std::memcpy(&last, static_cast<const char*>(args[0]) + sizeof(Wide) - sizeof last, sizeof last);
    throw Thrown{static_cast<int>(last)};
  }, nullptr);
  CHECK(thrown_by([&] { native_call_wide(throwing.as<Wide(Wide)>(), 5); }) == 5);
  // The same thunk's shape returns: every lane doubled, the frame given back whole.
  tramp::Callback doubling = e.callback(parse_signature(kWideSignature), [](void* ret, void* const* args, void*) {
    Wide w;
    std::memcpy(&w, args[0], sizeof w);
    Lane lanes[sizeof w / sizeof(Lane)];
    std::memcpy(lanes, &w, sizeof w);
    for (Lane& l : lanes) l *= 2;
    std::memcpy(ret, lanes, sizeof w);
  }, nullptr);
  CHECK(native_call_wide(doubling.as<Wide(Wide)>(), 3) == 6);
}

TEST_CASE("unwind: a frame thousands of bytes deep (a probed thunk) unwinds", "[unwind]") {
  std::string text = "i64(";
  for (int i = 0; i < 600; ++i) text += i ? ", i64" : "i64";
  text += ")";
  tramp::Callback cb = Engine::global().callback(parse_signature(text), [](void*, void* const* args, void*) {
    throw Thrown{static_cast<int>(*static_cast<long*>(args[599]))};
  }, nullptr);
  // Called through the call stub of the same signature: stub, thunk, handler, all probed.
  std::vector<long> values(600);
  std::vector<void*> args(600);
  for (int i = 0; i < 600; ++i) values[i] = i, args[i] = &values[i];
  long r = 0;
  CHECK(thrown_by([&] { Engine::global().invoker(parse_signature(text))(cb.code(), &r, args.data()); }) == 599);
}

TEST_CASE("unwind: code is registered with the unwinder the process uses", "[unwind]") {
  // libgcc normally; the run with LLVM's libunwind preloaded (tests/CMakeLists.txt) says
  // which it expects, and libgcc_s is told too, for glibc's backtrace(3).
  const char* expected = std::getenv("TRAMP_EXPECT_UNWINDER");
  CHECK(tramp::jit::unwinders_in_use() == std::string(expected ? expected : "libgcc"));
}

TEST_CASE("unwind: registration lives exactly as long as the code", "[unwind]") {
  tramp::Invoker inv = Engine::global().invoker(parse_signature("i32(i32, i32)"));
  const char* code = nullptr;
  {
    tramp::BoundCall b = inv.bind(reinterpret_cast<const void*>(&t_i32));
    code = reinterpret_cast<const char*>(b.entry());
    char bases[64];
    CHECK(_Unwind_Find_FDE(code + 1, bases) != nullptr);
    CHECK(_Unwind_Find_FDE(code + b.code_size() - 1, bases) != nullptr);
  }
  char bases[64];
  CHECK(_Unwind_Find_FDE(code + 1, bases) == nullptr);
  // A bind/unbind churn leaves nothing registered behind and exceptions still find their way.
  for (int i = 0; i < 20000; ++i) {
    tramp::BoundCall b = inv.bind(reinterpret_cast<const void*>(&t_i32));
    if (i % 5000 == 0) {
      int a = i, c = 1, r = 0;
      void* ab[] = {&a, &c};
      CHECK(thrown_by([&] { b(&r, ab); }) == i + 1);
    }
  }
}

TEST_CASE("unwind: code freed while the registry's table grows is withdrawn at once", "[unwind]") {
  // Two bound stubs made and the oldest freed, 6,000 times: the registry grows through
  // several doublings, each moving its old entries over a while, and whichever table an
  // entry is in when its code is freed, it must leave the unwinder's list right then.
  tramp::Engine e;
  tramp::Invoker inv = e.invoker(parse_signature("i32(i32, i32)"));
  std::deque<tramp::BoundCall> live;
  int still = 0;
  for (int i = 0; i < 6000; ++i) {
    live.push_back(inv.bind(reinterpret_cast<const void*>(&t_i32)));
    live.push_back(inv.bind(reinterpret_cast<const void*>(&t_i32)));
    const char* code = reinterpret_cast<const char*>(live.front().entry());
    live.pop_front();
    char bases[64];
    still += _Unwind_Find_FDE(code + 1, bases) != nullptr;
  }
  CHECK(still == 0);
}

TEST_CASE("unwind: an engine destroyed with many stubs leaves none registered", "[unwind]") {
  // The engine withdraws its code at once, ordered for libgcc 12's lists (searched objects by
  // address, the others newest first): both kinds must go. Half the stubs are made before a
  // C++ exception, whose unwind searches every object registered then, half after.
  std::vector<std::pair<const char*, std::size_t>> codes;
  {
    Engine e;
    for (int i = 0; i < 300; ++i) {
      std::string sig = "i64(";
      for (int k = 0; k < 1 + i % 10; ++k) sig += k ? ", i32" : "i32";
      for (int k = 0; k < i / 10; ++k) sig += ", f64";
      sig += ")";
      tramp::Invoker inv = e.invoker(parse_signature(sig));
      codes.emplace_back(reinterpret_cast<const char*>(inv.entry()), inv.code_size());
      if (i == 150) CHECK(thrown_by([] { throw Thrown{7}; }) == 7);
    }
    // (No lookups here: each would search, and so sort, what it passes.)
  }
  char bases[64];
  int still = 0;
  for (const auto& [code, size] : codes) still += _Unwind_Find_FDE(code + size / 2, bases) != nullptr;
  CHECK(still == 0);
}

TEST_CASE("unwind: libgcc's record of a registration says whether an unwind searched it", "[unwind]") {
  // What jit::withdraw_codes orders by; only libgcc keeps the record in the caller's storage.
  if (tramp::jit::unwinders_in_use() != "libgcc") return;
  const tramp::abi::CallPlan plan = tramp::abi::classify(parse_signature("i32(i32, i32)")).value();
  const tramp::jit::Emitted stub = tramp::jit::emit_call_stub(plan);
  static unsigned char place[256];  // an address for the registration alone; never run
  const auto eh = tramp::jit::eh_frame(stub.frame, reinterpret_cast<std::uintptr_t>(place), stub.code.size());
  tramp::jit::UnwindObject object;
  tramp::jit::register_eh_frame(eh.data(), tramp::jit::eh_frame_fde_offset(eh), object);
  CHECK_FALSE(tramp::jit::unwind_object_searched(object));
  char bases[64];
  CHECK(_Unwind_Find_FDE(place + 1, bases) != nullptr);
  CHECK(tramp::jit::unwind_object_searched(object));
  tramp::jit::unregister_eh_frame(eh.data(), tramp::jit::eh_frame_fde_offset(eh));
  CHECK(_Unwind_Find_FDE(place + 1, bases) == nullptr);
}

TEST_CASE("unwind: an .eh_frame of the longest instructions fits its buffer and its lengths add up", "[unwind]") {
  // Frames of eight rules of one kind, and one of every kind, with the largest values the
  // Frame's fields hold and four-byte advances between the rules: eh_frame sizes its buffer
  // from the rules before writing (and stops the process if they did not fit), so eight
  // sp - reg rules, the longest, fill it to the byte.
  using tramp::jit::FrameRule;
  using K = FrameRule::Kind;
  const std::vector<K> kinds = {K::CfaSp, K::CfaReg, K::CfaSpMinusReg, K::Saved, K::SavedAtSp, K::Restored};
  std::vector<std::vector<K>> frames = {kinds};
  for (const K kind : kinds) frames.push_back(std::vector<K>(8, kind));
  for (const tramp::abi::Arch arch : {tramp::abi::Arch::X64, tramp::abi::Arch::A64})
    for (const std::vector<K>& rules : frames) {
      tramp::jit::Frame frame;
      frame.arch = arch;
      frame.entry_cfa = 0xFFFFFFF8u;
      std::uint32_t at = 0;
      for (const K kind : rules) {
        at += 0x1000000;
        frame.rules.push_back({.offset = at, .kind = kind, .reg = 15, .value = 0xFFFFFFF8u});
      }
      const auto eh = tramp::jit::eh_frame(frame, 0x7FFF00000000u, 0xFFFFFFFFu);
      std::uint32_t cie = 0, fde = 0, end = 1;
      INFO("rules " << rules.size() << ", first kind " << static_cast<int>(rules[0]));
      REQUIRE(eh.size() >= 12);
      std::memcpy(&cie, eh.data(), 4);
      REQUIRE(eh.size() >= 4 + cie + 8);
      std::memcpy(&fde, eh.data() + 4 + cie, 4);
      REQUIRE(eh.size() == 4 + cie + 4 + fde + 4);
      std::memcpy(&end, eh.data() + eh.size() - 4, 4);
      CHECK(end == 0);
      CHECK(cie % 8 == 4);  // each entry, its length word included, a multiple of 8
      CHECK(fde % 8 == 4);
      CHECK(tramp::jit::eh_frame_fde_offset(eh) == 4 + cie);
      CHECK(fde >= 25 + 5 * rules.size());  // the header, and an advance before every rule
    }
}

// Run only by the ctest unwind_switched_off, with TRAMP_UNWIND=0 (docs/debugging.md): nothing
// is registered, and the stub still calls.
int sum_i32(int a, int b) { return a + b; }
TEST_CASE("unwind: TRAMP_UNWIND=0 registers no code with the unwinder", "[.unwind_switched_off]") {
  tramp::BoundCall b = Engine::global().invoker(parse_signature("i32(i32, i32)")).bind(reinterpret_cast<const void*>(&sum_i32));
  char bases[64];
  CHECK(_Unwind_Find_FDE(reinterpret_cast<const char*>(b.entry()) + 1, bases) == nullptr);
  int a = 2, c = 3, r = 0;
  void* ab[] = {&a, &c};
  b(&r, ab);
  CHECK(r == 5);
}

TEST_CASE("unwind: threads throw through stubs while others make and free them", "[unwind]") {
  tramp::Invoker inv = Engine::global().invoker(parse_signature("i32(i32, i32)"));
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      while (!stop.load()) tramp::BoundCall b = inv.bind(reinterpret_cast<const void*>(&t_i32));
    });
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      tramp::BoundCall b = inv.bind(reinterpret_cast<const void*>(&t_i32));
      for (int i = 0; i < 2000; ++i) {
        int a = i, c = t, r = 0;
        void* ab[] = {&a, &c};
        if (thrown_by([&] { b(&r, ab); }) != i + t) wrong++;
      }
    });
  threads[2].join();
  threads[3].join();
  stop = true;
  threads[0].join();
  threads[1].join();
  CHECK(wrong == 0);
}

namespace {
jmp_buf g_jump;
__attribute__((noinline)) int jumping_callee(int a, int) { longjmp(g_jump, a); }
extern "C" __attribute__((noinline)) int c_caller(int (*f)(int, int)) { return f(3, 4); }
}  // namespace

TEST_CASE("unwind: longjmp out of a callee and out of a handler still works", "[unwind]") {
  Engine& e = Engine::global();
  int a = 5, b = 6, r = 0;
  void* ab[] = {&a, &b};
  tramp::Invoker inv = e.invoker(parse_signature("i32(i32, i32) errno"));
  if (int got = setjmp(g_jump); got == 0) {
    inv(reinterpret_cast<const void*>(&jumping_callee), &r, ab);
    FAIL("longjmp did not return here");
  } else {
    CHECK(got == 5);
  }
  tramp::Callback cb = e.callback(parse_signature("i32(i32, i32)"), [](void*, void* const* args, void*) {
    longjmp(g_jump, *static_cast<int*>(args[1]));
  }, nullptr);
  if (int got = setjmp(g_jump); got == 0) {
    c_caller(cb.as<int(int, int)>());
    FAIL("longjmp did not return here");
  } else {
    CHECK(got == 4);
  }
}

namespace {
// backtrace(3) from inside a callee and a handler: glibc asks libgcc_s, which must find the
// stub's or thunk's unwind info to go on to the caller.
void* g_trace[64];
int g_depth = 0;
extern "C" char __start_tramp_backtrace_caller[], __stop_tramp_backtrace_caller[];
__attribute__((noinline)) int tracing_callee(int a, int b) {
  g_depth = backtrace(g_trace, 64);
  return a + b;
}
void tracing_handler(void* ret, void* const*, void*) {
  g_depth = backtrace(g_trace, 64);
  *static_cast<int*>(ret) = 0;
}
__attribute__((noinline, section("tramp_backtrace_caller"))) int trace_through(const tramp::Invoker& inv, const void* fn) {
  int a = 1, b = 2, r = 0;
  void* ab[] = {&a, &b};
  inv(fn, &r, ab);
  asm volatile("" ::: "memory");
  return r;
}
__attribute__((noinline, section("tramp_backtrace_caller"))) int trace_callback(int (*f)(int, int)) {
  int r = f(1, 2);
  asm volatile("" ::: "memory");
  return r;
}
// Whether the trace has a frame in [code, code + size) and, after it, one in the caller.
bool trace_passes(const void* code, std::size_t size) {
  const char* c = static_cast<const char*>(code);
  bool in_code = false;
  for (int i = 0; i < g_depth; ++i) {
    const char* ip = static_cast<const char*>(g_trace[i]);
    if (ip >= c && ip < c + size) in_code = true;
    if (in_code && ip > __start_tramp_backtrace_caller && ip <= __stop_tramp_backtrace_caller) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("unwind: backtrace(3) passes through stubs and thunks", "[unwind][backtrace]") {
  Engine& e = Engine::global();
  for (const char* text : {"i32(i32, i32)", "i32(i32, i32) errno(set)"}) {
    INFO(text);
    tramp::Invoker inv = e.invoker(parse_signature(text));
    g_depth = 0;
    CHECK(trace_through(inv, reinterpret_cast<const void*>(&tracing_callee)) == 3);
    CHECK(trace_passes(reinterpret_cast<const void*>(inv.entry()), inv.code_size()));
    tramp::BoundCall bound = inv.bind(reinterpret_cast<const void*>(&tracing_callee));
    int a = 1, b = 2, r = 0;
    void* ab[] = {&a, &b};
    g_depth = 0;
    bound(&r, ab);
    CHECK(g_depth > 2);
    bool seen = false;
    for (int i = 0; i < g_depth; ++i)
      seen = seen || (g_trace[i] >= reinterpret_cast<const void*>(bound.entry()) &&
                      g_trace[i] < static_cast<const void*>(reinterpret_cast<const char*>(bound.entry()) + bound.code_size()));
    CHECK(seen);
  }
  tramp::Callback cb = e.callback(parse_signature("i32(i32, i32) errno"), tracing_handler, nullptr);
  g_depth = 0;
  trace_callback(cb.as<int(int, int)>());
  // The thunk's frame is the one right below the handler's caller in the trace: find it by
  // its unwind info's start, then check the trace goes on to trace_callback.
  EhBases bases{};
  bool through = false;
  for (int i = 0; i < g_depth && !through; ++i) {
    if (!_Unwind_Find_FDE(static_cast<const char*>(g_trace[i]) - 1, &bases)) continue;
    through = trace_passes(bases.func, cb.code_size());
  }
  CHECK(through);
}

#if defined(__x86_64__)
#define MS __attribute__((ms_abi))
namespace {
MS __attribute__((noinline)) int ms_thrower(int a, int b, int c, int d, int e) { throw Thrown{a + b + c + d + e}; }

__attribute__((noinline)) int ms_caller(int (MS* f)(int, int, int, int, int)) { return f(1, 2, 3, 4, 5) + 1; }

// A Win64 caller with known values in rsi and rdi, which Win64 callees preserve: the thunk's
// unwind info must say where it saved them, since its SysV handler receives its arguments in
// them. The handler asks the unwinder what rsi and rdi are in this caller's frame.
MS __attribute__((noinline, section("tramp_unwind_ms"))) long ms_sentinel_caller(long (MS* f)(long)) {
  long r;
  asm volatile(
      "mov %%rsp, %%rbx\n\t"
      "and $-16, %%rsp\n\t"
      "sub $32, %%rsp\n\t"  // the shadow space
      "movabs $0x5151515151515151, %%rsi\n\t"
      "movabs $0x0d0d0d0d0d0d0d0d, %%rdi\n\t"
      "call *%1\n\t"
      "mov %%rbx, %%rsp"
      : "=a"(r)
      : "r"(f), "c"(7L)
      : "rbx", "rsi", "rdi", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
  return r;
}
extern "C" char __start_tramp_unwind_ms[], __stop_tramp_unwind_ms[];
long g_caller_rsi = 0, g_caller_rdi = 0;
}  // namespace

// (gcc's ms_abi functions save xmm6-xmm15 and say so in their unwind info, which LLVM's
// libunwind refuses outside Windows: that run leaves this one out.)
TEST_CASE("unwind: an ms_abi callee's exception passes through a Win64 stub", "[unwind][win64][ms_abi_callee]") {
  int v[5] = {1, 2, 3, 4, 5}, r = 0;
  void* args[] = {&v[0], &v[1], &v[2], &v[3], &v[4]};
  tramp::Invoker inv = Engine::global().invoker(parse_signature("win64:i32(i32, i32, i32, i32, i32)"));
  CHECK(thrown_by([&] { inv(reinterpret_cast<const void*>(&ms_thrower), &r, args); }) == 15);
}

TEST_CASE("unwind: exceptions pass through Win64 thunks, which give back rsi and rdi", "[unwind][win64]") {
  Engine& e = Engine::global();
  tramp::Callback cb = e.callback(parse_signature("win64:i32(i32, i32, i32, i32, i32)"),
                                  [](void*, void* const* a, void*) { throw Thrown{*static_cast<int*>(a[4])}; }, nullptr);
  CHECK(thrown_by([&] { ms_caller(cb.as<int MS(int, int, int, int, int)>()); }) == 5);

  auto read_callers_rsi_rdi = [](void* ret, void* const*, void*) {
    _Unwind_Backtrace(
        [](struct _Unwind_Context* ctx, void*) {
          const char* ip = reinterpret_cast<const char*>(_Unwind_GetIP(ctx));
          if (ip <= __start_tramp_unwind_ms || ip > __stop_tramp_unwind_ms) return _URC_NO_REASON;
          g_caller_rsi = static_cast<long>(_Unwind_GetGR(ctx, 4));  // DWARF 4: rsi, 5: rdi
          g_caller_rdi = static_cast<long>(_Unwind_GetGR(ctx, 5));
          return _URC_END_OF_STACK;
        },
        nullptr);
    *static_cast<long*>(ret) = 1;
  };
  tramp::Callback sentinels = e.callback(parse_signature("win64:i64(i64)"), read_callers_rsi_rdi, nullptr);
  CHECK(ms_sentinel_caller(sentinels.as<long MS(long)>()) == 1);
  CHECK(g_caller_rsi == 0x5151515151515151);
  CHECK(g_caller_rdi == 0x0d0d0d0d0d0d0d0d);
  // A realigned thunk (its result aligned beyond 16, returned as nothing) saves them where
  // only sp finds them; the unwinder must too. (Its result in rax means nothing here.)
  g_caller_rsi = g_caller_rdi = 0;
  tramp::Callback realigned =
      e.callback(parse_signature("win64:union{{unnamed i8:3}} align(32)(i64)"), read_callers_rsi_rdi, nullptr);
  ms_sentinel_caller(realigned.as<long MS(long)>());
  CHECK(g_caller_rsi == 0x5151515151515151);
  CHECK(g_caller_rdi == 0x0d0d0d0d0d0d0d0d);
}
#endif

// Unwinding from any instruction: a thread runs a stub (or a thunk) whose own code is most of
// its time, another interrupts it with signals, and the signal handler unwinds. Every sample
// that lands inside the stub must unwind through it to the function that called it.
#if !defined(__SANITIZE_THREAD__)  // TSan delays asynchronous signals to its own safe points
namespace {

struct Sampling {
  std::atomic<const char*> code{nullptr};
  std::atomic<std::size_t> size{0};
  std::atomic<int> inside{0};
  std::atomic<int> through{0};
};
Sampling g_sampling;

extern "C" char __start_tramp_unwind_runner[], __stop_tramp_unwind_runner[];

struct Walk {
  bool in_code = false;
  bool reached_runner = false;
};

_Unwind_Reason_Code walk_frame(struct _Unwind_Context* ctx, void* arg) {
  auto* w = static_cast<Walk*>(arg);
  int before = 0;
  const char* ip = reinterpret_cast<const char*>(_Unwind_GetIPInfo(ctx, &before));
  const char* code = g_sampling.code.load();
  if (ip >= code && ip < code + g_sampling.size.load()) w->in_code = true;
  if (w->in_code && ip > __start_tramp_unwind_runner && ip <= __stop_tramp_unwind_runner) {
    w->reached_runner = true;
    return _URC_END_OF_STACK;
  }
  return _URC_NO_REASON;
}

void on_sample(int) {
  Walk w;
  _Unwind_Backtrace(walk_frame, &w);
  if (!w.in_code) return;
  g_sampling.inside++;
  if (w.reached_runner) g_sampling.through++;
}

// The callers whose frames the samples must reach, in a section of their own so the walk can
// tell their addresses.
__attribute__((noinline, section("tramp_unwind_runner"))) void run_stub(const tramp::Invoker& inv, const void* fn,
                                                                        void* ret, void* const* args, int times) {
  for (int i = 0; i < times; ++i) inv(fn, ret, args);
  asm volatile("" ::: "memory");
}
__attribute__((noinline)) long take_page(Page p) { return p.bytes[0]; }

const void* g_handler_return = nullptr;
__attribute__((noinline)) void recording_handler(void* ret, void* const*, void*) {
  g_handler_return = __builtin_return_address(0);
  *static_cast<long*>(ret) = 1;
}

// Runs `work` (one call per step) on a thread until 200 samples landed inside the code or two
// seconds passed, interrupting it with SIGPROF every 100 microseconds or so.
void sample_while(const std::function<void()>& step) {
  struct sigaction sa {};
  sa.sa_handler = on_sample;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  struct sigaction old {};
  sigaction(SIGPROF, &sa, &old);
  std::atomic<bool> stop{false}, started{false};
  pthread_t worker_id{};
  std::thread worker([&] {
    worker_id = pthread_self();
    started = true;
    while (!stop) step();
  });
  while (!started) std::this_thread::yield();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (g_sampling.inside < 200 && std::chrono::steady_clock::now() < until) {
    pthread_kill(worker_id, SIGPROF);
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  stop = true;
  worker.join();
  sigaction(SIGPROF, &old, nullptr);
}

}  // namespace

TEST_CASE("unwind: a signal anywhere inside a stub or thunk unwinds through it", "[unwind][signal]") {
  auto sample = [](const char* code, std::size_t size, const std::function<void()>& work) {
    g_sampling.code = code;
    g_sampling.size = size;
    g_sampling.inside = 0;
    g_sampling.through = 0;
    sample_while(work);
    INFO("samples inside: " << g_sampling.inside << ", unwound through it to its caller: " << g_sampling.through);
    CHECK(g_sampling.inside > 0);
    CHECK(g_sampling.through == g_sampling.inside);
  };
  // An 8 KiB argument: copied word by word (stack pieces under SysV, a caller's copy under
  // AAPCS64) into a frame over a page, so the probe loop is sampled too.
  static Page page{};
  void* args[] = {&page};
  long out = 0;
  for (const char* text : {"i64({u8[8192]})", "i64({u8[8192]}) errno(set)"}) {
    INFO(text);
    tramp::Invoker inv = Engine::global().invoker(parse_signature(text));
    sample(reinterpret_cast<const char*>(inv.entry()), inv.code_size(),
           [&] { run_stub(inv, reinterpret_cast<const void*>(&take_page), &out, args, 100); });
  }
  // A thunk of 600 arguments: its frame is probed, and it builds the array of 600 pointers.
  std::string text = "i64(";
  for (int i = 0; i < 600; ++i) text += i ? ", i64" : "i64";
  text += ")";
  tramp::Callback cb = Engine::global().callback(parse_signature(text), recording_handler, nullptr);
  tramp::Invoker inv = Engine::global().invoker(parse_signature(text));
  std::vector<long> values(600, 1);
  std::vector<void*> many(600);
  for (int i = 0; i < 600; ++i) many[i] = &values[i];
  inv(cb.code(), &out, many.data());
  EhBases bases{};
  REQUIRE(_Unwind_Find_FDE(static_cast<const char*>(g_handler_return) - 1, &bases) != nullptr);
  sample(static_cast<const char*>(bases.func), cb.code_size(), [&] { run_stub(inv, cb.code(), &out, many.data(), 100); });
  // A realigned thunk: the CFA is in its frame pointer from the push on, through the
  // realignment, the handler call and the epilogue.
  if (host_has_wide()) {
    tramp::Callback wide = Engine::global().callback(parse_signature(kWideSignature), recording_handler, nullptr);
    tramp::Invoker wide_inv = Engine::global().invoker(parse_signature(kWideSignature));
    alignas(64) unsigned char value[64] = {}, result[64] = {};
    void* one[] = {value};
    g_handler_return = nullptr;
    wide_inv(wide.code(), result, one);
    REQUIRE(_Unwind_Find_FDE(static_cast<const char*>(g_handler_return) - 1, &bases) != nullptr);
    sample(static_cast<const char*>(bases.func), wide.code_size(), [&] { run_stub(wide_inv, wide.code(), result, one, 100); });
  }
}
#endif
