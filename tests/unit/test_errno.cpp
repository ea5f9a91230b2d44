// errno capture (ErrnoMode): the text form and identity of the option, the plans, calls whose
// callee sets errno through every stub and every return class, libc's own errno, the
// set-before-call flag, per-thread slots, callback thunks, and the machine code of signatures
// without the option pinned byte for byte (tests/golden/machine_code.digest).
#include <catch2/catch.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "abi/call_plan.hpp"
#include "code_digest.hpp"
#include "tramp/tramp.hpp"

using tramp::Engine;
using tramp::ErrnoMode;
using tramp::parse_signature;

namespace {

struct Pair { double a, b; };
struct Big { long a, b, c; };

extern "C" {
__attribute__((noinline)) int e_i32(int v) { errno = v; return v + 1; }
__attribute__((noinline)) double e_f64(double x) { errno = 42; return x * 2; }
__attribute__((noinline)) float e_f32(float x) { errno = 47; return x / 2; }
__attribute__((noinline)) Pair e_pair(double a, double b) { errno = 43; return {a + 1, b + 2}; }
__attribute__((noinline)) Big e_big(long k) { errno = 44; return {k, k + 1, k + 2}; }
__attribute__((noinline)) long double e_ld(long double x) { errno = 45; return x * 3; }
__attribute__((noinline)) __int128 e_i128(__int128 x) { errno = 46; return x * 5; }
__attribute__((noinline)) void e_void(int v) { errno = v; }
__attribute__((noinline)) int e_read(void) { return errno; }
__attribute__((noinline)) long e_stack(long a, long b, long c, long d, long e, long f, long g, long h, int v) {
  errno = v;
  return a + b + c + d + e + f + g + h;
}
}

const void* fn(auto* f) { return reinterpret_cast<const void*>(f); }

}  // namespace

TEST_CASE("errno mode: text form, identity, builder, C API", "[errno]") {
  tramp::Signature plain = parse_signature("i32(ptr, i32)");
  tramp::Signature cap = parse_signature("i32(ptr, i32) errno");
  tramp::Signature set = parse_signature("i32(ptr, i32)errno ( set )");
  CHECK(plain.errno_mode() == ErrnoMode::None);
  CHECK(cap.errno_mode() == ErrnoMode::Capture);
  CHECK(set.errno_mode() == ErrnoMode::SetAndCapture);
  CHECK(cap.str() == "i32(ptr, i32) errno");
  CHECK(set.str() == "i32(ptr, i32) errno(set)");
  CHECK(parse_signature("win64:f64(...f64) errno").str() == "win64:f64(...f64) errno");
  for (const auto& s : {plain, cap, set}) CHECK(parse_signature(s.str(true)) == s);
  CHECK_FALSE(plain == cap);
  CHECK_FALSE(cap == set);
  CHECK(plain.hash() != cap.hash());
  CHECK(cap.hash() != set.hash());
  CHECK(plain.with_errno_mode(ErrnoMode::Capture) == cap);
  CHECK(cap.with_errno_mode(ErrnoMode::None) == plain);
  CHECK(tramp::SignatureBuilder(tramp::Type::i32())
            .arg(tramp::Type::pointer())
            .arg(tramp::Type::i32())
            .errno_mode(ErrnoMode::SetAndCapture)
            .build() == set);
  // "errno" alone is still no type, and only "set" is a flag.
  CHECK_THROWS_WITH(parse_signature("i32() errno(get)"), "at 12: expected 'set' after 'errno(', found 'get'");
  CHECK_THROWS_WITH(parse_signature("i32() errno errno"), "at 12: expected end of input, found 'errno'");
  CHECK_THROWS_WITH(parse_signature("errno:i32()"), Catch::StartsWith("at 0: expected an ABI name"));
  CHECK_THROWS_AS(tramp::Signature(tramp::Type::i32(), {}, tramp::host_abi(), tramp::Signature::kNotVariadic,
                                   static_cast<ErrnoMode>(7)),
                  tramp::Error);

  // The stub cache keys on the mode: three signatures, three stubs.
  Engine e;
  e.invoker(plain);
  e.invoker(cap);
  e.invoker(set);
  CHECK(e.cached_stubs() == 3);
}

TEST_CASE("errno mode: every ABI's plan carries it; without it the plan is as before", "[errno][plan]") {
  for (tramp::Abi abi : {tramp::Abi::SysV_X64, tramp::Abi::Win64, tramp::Abi::Aapcs64, tramp::Abi::AppleArm64}) {
    INFO(tramp::abi_name(abi));
    auto plain = tramp::abi::classify(parse_signature("{f64, f64}(ptr, i32)", abi)).value();
    auto cap = tramp::abi::classify(parse_signature("{f64, f64}(ptr, i32) errno", abi)).value();
    auto set = tramp::abi::classify(parse_signature("{f64, f64}(ptr, i32) errno(set)", abi)).value();
    CHECK_FALSE(plain.capture_errno);
    CHECK_FALSE(plain.set_errno);
    CHECK(cap.capture_errno);
    CHECK_FALSE(cap.set_errno);
    CHECK(set.capture_errno);
    CHECK(set.set_errno);
    const std::string p = tramp::plan_text(parse_signature("{f64, f64}(ptr, i32)", abi));
    const std::string c = tramp::plan_text(parse_signature("{f64, f64}(ptr, i32) errno", abi));
    CHECK(p.find("errno") == std::string::npos);
    CHECK(c.find(") errno\n") != std::string::npos);
    CHECK(c.find("  errno saved to the slot after the call\n") != std::string::npos);
  }
}

TEST_CASE("stubs and thunks without an errno mode are unchanged (machine-code digest)", "[errno][golden]") {
  const std::string dir = std::string(TRAMP_SOURCE_DIR) + "/tests/golden";
  const std::string actual = tramp::test::code_digest_lines(dir);
  const std::string path = dir + "/machine_code.digest";
  if (const char* bless = std::getenv("TRAMP_BLESS"); bless && *bless == '1') {
    std::ofstream(path) << actual;
    WARN("blessed " << path);
    return;
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream expected;
  expected << in.rdbuf();
  // Line by line, so a failure names the signature.
  std::istringstream a(actual), b(expected.str());
  std::string la, lb, header;
  int lines = 0;
  while (std::getline(b, lb)) {
    REQUIRE(std::getline(a, la));
    if (lb.rfind("== ", 0) == 0) header = lb;
    INFO(header);
    CHECK(la == lb);
    ++lines;
  }
  CHECK_FALSE(std::getline(a, la));
  CHECK(lines > 900);

  // With the option the code differs in every product, and the plain code is unchanged.
  for (const char* text : {"i32(i32)", "void()", "{i64, i64, i64}(ptr)", "f64(f64, f64)"}) {
    INFO(text);
    tramp::Signature plain = parse_signature(text);
    for (auto kind : {tramp::CodeKind::Invoke, tramp::CodeKind::Bound, tramp::CodeKind::Callback}) {
      const auto before = tramp::machine_code(plain, kind, fn(&e_void));
      const auto with = tramp::machine_code(plain.with_errno_mode(ErrnoMode::Capture), kind, fn(&e_void));
      const auto again = tramp::machine_code(plain, kind, fn(&e_void));
      CHECK(before == again);
      CHECK(before != with);
      CHECK(with.size() > before.size());
    }
  }
}

TEST_CASE("errno capture: every return class through invoke, bound and register-return stubs", "[errno]") {
  auto& e = Engine::global();
  errno = 0;
  tramp::set_last_errno(0);

  {
    tramp::Invoker call = e.invoker("i32(i32) errno");
    int v = 17, r = 0;
    void* args[] = {&v};
    call(fn(&e_i32), &r, args);
    errno = 0;  // the slot holds what the callee left, whatever runs after the stub
    CHECK(r == 18);
    CHECK(tramp::last_errno() == 17);
    v = 23;
    tramp::BoundCall b = call.bind(fn(&e_i32));
    b(&r, args);
    CHECK(r == 24);
    CHECK(tramp::last_errno() == 23);
    v = 29;
    CHECK(call.direct<int>()(fn(&e_i32), args) == 30);
    CHECK(tramp::last_errno() == 29);
  }
  {
    tramp::Invoker call = e.invoker("f64(f64) errno");
    double x = 1.25, r = 0;
    void* args[] = {&x};
    call(fn(&e_f64), &r, args);
    CHECK(r == 2.5);
    CHECK(tramp::last_errno() == 42);
    tramp::set_last_errno(0);
    CHECK(call.direct<double>()(fn(&e_f64), args) == 2.5);
    CHECK(tramp::last_errno() == 42);
    tramp::set_last_errno(0);
    r = 0;
    call.bind(fn(&e_f64))(&r, args);
    CHECK(r == 2.5);
    CHECK(tramp::last_errno() == 42);
  }
  {
    float x = 5;
    void* args[] = {&x};
    CHECK(e.invoker("f32(f32) errno").direct<float>()(fn(&e_f32), args) == 2.5f);
    CHECK(tramp::last_errno() == 47);
  }
  {
    tramp::Invoker call = e.invoker("{f64, f64}(f64, f64) errno");
    double a = 1, b = 2;
    Pair r{};
    void* args[] = {&a, &b};
    call(fn(&e_pair), &r, args);
    CHECK(r.a == 2);
    CHECK(r.b == 4);
    CHECK(tramp::last_errno() == 43);
    r = {};
    tramp::set_last_errno(0);
    call.bind(fn(&e_pair))(&r, args);
    CHECK(r.b == 4);
    CHECK(tramp::last_errno() == 43);
  }
  {
    tramp::Invoker call = e.invoker("{i64, i64, i64}(i64) errno");
    long k = 100;
    Big r{};
    void* args[] = {&k};
    call(fn(&e_big), &r, args);
    CHECK(r.a == 100);
    CHECK(r.c == 102);
    CHECK(tramp::last_errno() == 44);
  }
  {
    tramp::Invoker call = e.invoker("longdouble(longdouble) errno");
    long double x = 1.5L, r = 0;
    void* args[] = {&x};
    call(fn(&e_ld), &r, args);
    CHECK(r == 4.5L);
    CHECK(tramp::last_errno() == 45);
    // The x87 stack is left as the ABI wants it: a later long double call still works.
    call(fn(&e_ld), &r, args);
    CHECK(r == 4.5L);
  }
  {
    tramp::Invoker call = e.invoker("i128(i128) errno");
    __int128 x = (static_cast<__int128>(1) << 80) + 3, r = 0;
    void* args[] = {&x};
    call(fn(&e_i128), &r, args);
    CHECK(r == x * 5);
    CHECK(tramp::last_errno() == 46);
  }
  {
    tramp::Invoker call = e.invoker("void(i32) errno");
    int v = 51;
    void* args[] = {&v};
    call(fn(&e_void), nullptr, args);
    CHECK(tramp::last_errno() == 51);
    v = 52;
    call.bind(fn(&e_void))(nullptr, args);
    CHECK(tramp::last_errno() == 52);
  }
  {
    // Stack arguments: a frame below the call.
    tramp::Invoker call = e.invoker("i64(i64, i64, i64, i64, i64, i64, i64, i64, i32) errno");
    long l[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int v = 53;
    void* args[] = {&l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &l[6], &l[7], &v};
    long r = 0;
    call(fn(&e_stack), &r, args);
    CHECK(r == 36);
    CHECK(tramp::last_errno() == 53);
    v = 54;
    CHECK(call.direct<long>()(fn(&e_stack), args) == 36);
    CHECK(tramp::last_errno() == 54);
  }
  // Without the option the slot is left alone.
  tramp::set_last_errno(-1);
  int v = 9, r = 0;
  void* args[] = {&v};
  tramp::Invoker plain = e.invoker("i32(i32)");
  plain(fn(&e_i32), &r, args);
  const int err = errno;
  CHECK(err == 9);
  CHECK(tramp::last_errno() == -1);
  CHECK(e.invoker("i32(i32)").direct<int>()(fn(&e_i32), args) == 10);
  CHECK(tramp::last_errno() == -1);
}

TEST_CASE("errno capture: libc's own errno (open, strtol)", "[errno]") {
  auto& e = Engine::global();
  tramp::Library libc = tramp::Library::self();
  const char* path = "/nonexistent/tramp-errno-test";
  int flags = O_RDONLY;
  int fd = 0;
  void* args[] = {&path, &flags};
  tramp::set_last_errno(0);
  // open is variadic (the mode); a call without it passes no variadic arguments.
  e.invoker("i32(ptr, i32, ...) errno")(libc.symbol("open"), &fd, args);
  CHECK(fd == -1);
  CHECK(tramp::last_errno() == ENOENT);

  tramp::Signature strtol_sig = parse_signature("i64(ptr, ptr, i32) errno");
  const char* big = "999999999999999999999999";
  void* end = nullptr;
  int base = 10;
  void* sargs[] = {&big, &end, &base};
  errno = 0;
  tramp::set_last_errno(0);
  long r = e.invoker(strtol_sig).direct<long>()(libc.symbol("strtol"), sargs);
  CHECK(r == LONG_MAX);
  CHECK(tramp::last_errno() == ERANGE);
  tramp::BoundCall b = e.bind(strtol_sig, libc.symbol("strtol"));
  tramp::set_last_errno(0);
  r = 0;
  b(&r, sargs);
  CHECK(r == LONG_MAX);
  CHECK(tramp::last_errno() == ERANGE);
}

TEST_CASE("errno(set): errno is set from the slot right before the call", "[errno]") {
  auto& e = Engine::global();
  tramp::Invoker call = e.invoker("i32() errno(set)");
  int r = 0;
  tramp::set_last_errno(61);
  errno = 0;
  call(fn(&e_read), &r, nullptr);  // the callee returns errno
  CHECK(r == 61);
  CHECK(tramp::last_errno() == 61);  // captured again after the call
  tramp::set_last_errno(62);
  CHECK(call.direct<int>()(fn(&e_read), nullptr) == 62);
  tramp::set_last_errno(63);
  call.bind(fn(&e_read))(&r, nullptr);
  CHECK(r == 63);
  // The arguments survive the helper call before them, and the callee's errno is captured.
  tramp::Invoker stack = e.invoker("i64(i64, i64, i64, i64, i64, i64, i64, i64, i32) errno(set)");
  long l[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int v = 64;
  void* args[] = {&l[0], &l[1], &l[2], &l[3], &l[4], &l[5], &l[6], &l[7], &v};
  long lr = 0;
  stack(fn(&e_stack), &lr, args);
  CHECK(lr == 36);
  CHECK(tramp::last_errno() == 64);
  // Capture alone does not set errno before the call.
  tramp::set_last_errno(65);
  tramp::Invoker cap = e.invoker("i32() errno");
  errno = 7;
  cap(fn(&e_read), &r, nullptr);
  CHECK(r == 7);
  CHECK(tramp::last_errno() == 7);
}

TEST_CASE("errno capture: each thread has its own slot", "[errno]") {
  tramp::Invoker call = Engine::global().invoker("i32(i32) errno");
  auto run = [&](int base, int* last, bool* ok) {
    *ok = true;
    for (int i = 0; i < 2000; ++i) {
      int v = base + i % 7, r = 0;
      void* args[] = {&v};
      call(fn(&e_i32), &r, args);
      if (tramp::last_errno() != v || r != v + 1) *ok = false;
    }
    *last = tramp::last_errno();
  };
  tramp::set_last_errno(5);
  int last1 = 0, last2 = 0;
  bool ok1 = false, ok2 = false;
  std::thread t1(run, 1000, &last1, &ok1), t2(run, 2000, &last2, &ok2);
  t1.join();
  t2.join();
  CHECK(ok1);
  CHECK(ok2);
  CHECK(last1 == 1000 + 1999 % 7);
  CHECK(last2 == 2000 + 1999 % 7);
  CHECK(tramp::last_errno() == 5);
  std::thread([] { CHECK(tramp::last_errno() == 0); }).join();
}

TEST_CASE("errno mode on a callback: the handler decides its caller's errno", "[errno][callback]") {
  auto& e = Engine::global();
  // The thunk saves the caller's errno into the slot on entry and sets errno from the slot
  // after the handler.
  tramp::Callback set = e.callback(parse_signature("i32(i32) errno"), [](void* ret, void* const* args) {
    const int v = *static_cast<int*>(args[0]);
    *static_cast<int*>(ret) = tramp::last_errno();  // the caller's errno
    errno = 999;  // what the handler's own calls leave in errno does not reach the caller
    if (v) tramp::set_last_errno(v);
  });
  auto f = set.as<int(int)>();
  // errno is read right after each call: Catch's own work may change it.
  errno = 3;
  int got = f(71), err = errno;
  CHECK(got == 3);
  CHECK(err == 71);
  errno = 4;
  got = f(0);
  err = errno;
  CHECK(got == 4);
  CHECK(err == 4);  // untouched slot: the caller's errno comes back

  // Every return class survives the helper calls.
  tramp::Callback pair = e.callback(parse_signature("{f64, f64}(f64) errno"), [](void* ret, void* const* args) {
    const double k = *static_cast<double*>(args[0]);
    *static_cast<Pair*>(ret) = {k, -k};
    tramp::set_last_errno(72);
  });
  Pair p = pair.as<Pair(double)>()(1.5);
  err = errno;
  CHECK(p.a == 1.5);
  CHECK(p.b == -1.5);
  CHECK(err == 72);
  tramp::Callback big = e.callback(parse_signature("{i64, i64, i64}(i64) errno"), [](void* ret, void* const* args) {
    const long k = *static_cast<long*>(args[0]);
    *static_cast<Big*>(ret) = {k, k * 2, k * 3};
    tramp::set_last_errno(73);
  });
  Big b = big.as<Big(long)>()(5);
  err = errno;
  CHECK(b.c == 15);
  CHECK(err == 73);
  tramp::Callback ld = e.callback(parse_signature("longdouble(longdouble) errno"), [](void* ret, void* const* args) {
    *static_cast<long double*>(ret) = *static_cast<long double*>(args[0]) * 2;
    tramp::set_last_errno(74);
  });
  const long double lr = ld.as<long double(long double)>()(2.25L);
  err = errno;
  CHECK(lr == 4.5L);
  CHECK(err == 74);
  tramp::Callback i128 = e.callback(parse_signature("i128(i128) errno"), [](void* ret, void* const* args) {
    *static_cast<__int128*>(ret) = *static_cast<__int128*>(args[0]) + 1;
    tramp::set_last_errno(75);
  });
  const __int128 x = static_cast<__int128>(1) << 100;
  const __int128 ir = i128.as<__int128(__int128)>()(x);
  err = errno;
  CHECK(ir == x + 1);
  CHECK(err == 75);

  // A tramp call from C code into the thunk and back: the stub captures what the handler chose.
  tramp::set_last_errno(0);
  int v = 76, r = 0;
  void* args[] = {&v};
  e.invoker("i32(i32) errno")(set.code(), &r, args);
  CHECK(tramp::last_errno() == 76);
}

#if defined(__x86_64__)
namespace {
#define MS __attribute__((ms_abi))
MS int w_i32(int v) { errno = v; return v * 2; }
MS double w_f64(double x) { errno = 81; return x + 1; }
MS Big w_big(long k) { errno = 82; return {k, -k, 2 * k}; }
MS long double w_ld(long double x) { errno = 83; return x / 2; }
MS int w_read(void) { return errno; }
}  // namespace

TEST_CASE("errno capture on Win64 (ms_abi) callees and thunks", "[errno][win64]") {
  auto& e = Engine::global();
  tramp::Invoker i32 = e.invoker("win64:i32(i32) errno");
  int v = 80, r = 0;
  void* args[] = {&v};
  i32(fn(&w_i32), &r, args);
  CHECK(r == 160);
  CHECK(tramp::last_errno() == 80);
  v = 84;
  CHECK(i32.direct<int>()(fn(&w_i32), args) == 168);
  CHECK(tramp::last_errno() == 84);
  v = 85;
  i32.bind(fn(&w_i32))(&r, args);
  CHECK(r == 170);
  CHECK(tramp::last_errno() == 85);

  double x = 1.5, dr = 0;
  void* dargs[] = {&x};
  tramp::set_last_errno(0);
  CHECK(e.invoker("win64:f64(f64) errno").direct<double>()(fn(&w_f64), dargs) == 2.5);
  CHECK(tramp::last_errno() == 81);
  tramp::set_last_errno(0);
  e.invoker("win64:f64(f64) errno")(fn(&w_f64), &dr, dargs);
  CHECK(dr == 2.5);
  CHECK(tramp::last_errno() == 81);

  long k = 7;
  Big b{};
  void* bargs[] = {&k};
  e.invoker("win64:{i64, i64, i64}(i64) errno")(fn(&w_big), &b, bargs);
  CHECK(b.b == -7);
  CHECK(b.c == 14);
  CHECK(tramp::last_errno() == 82);

  long double ld = 5, ldr = 0;
  void* largs[] = {&ld};
  e.invoker("win64:longdouble(longdouble) errno")(fn(&w_ld), &ldr, largs);
  CHECK(ldr == 2.5L);
  CHECK(tramp::last_errno() == 83);

  tramp::set_last_errno(86);
  CHECK(e.invoker("win64:i32() errno(set)").direct<int>()(fn(&w_read), nullptr) == 86);

  tramp::Callback cb = e.callback(parse_signature("win64:f64(i32, f64) errno"), [](void* ret, void* const* a) {
    *static_cast<double*>(ret) = *static_cast<int*>(a[0]) + *static_cast<double*>(a[1]);
    tramp::set_last_errno(87);
  });
  using WinFn = MS double(int, double);
  errno = 0;
  const double wr = reinterpret_cast<WinFn*>(const_cast<void*>(cb.code()))(2, 0.5);
  const int err = errno;
  CHECK(wr == 2.5);
  CHECK(err == 87);
}
#endif
