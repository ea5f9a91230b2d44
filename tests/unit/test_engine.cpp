// Engine, Invoker, BoundCall and Library: end-to-end calls on hand-written targets.
// (The generated conformance suite in tests/conformance covers the ABI exhaustively.)
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tramp/tramp.hpp"
#include "host_arch.hpp"
#include "wx_check.hpp"

namespace {

struct Pair { double a, b; };
struct Big { long a, b, c; };
struct Mixed { char c; double d; };
struct Odd3 { char x[3]; };
struct Odd7 { char x[7]; };

extern "C" {
__attribute__((noinline)) int t_add(int a, int b) { return a + b; }
__attribute__((noinline)) Pair t_pair(double a, double b) { return {a + 1, b + 2}; }
__attribute__((noinline)) Big t_big(long a, Big in) { return {in.a + a, in.b + a, in.c + a}; }
__attribute__((noinline)) long double t_ld(long double x, long double y) { return x * y; }
__attribute__((noinline)) Mixed t_mixed(Mixed m, int k) { return {static_cast<char>(m.c + k), m.d * k}; }
__attribute__((noinline)) int t_small(signed char a, unsigned char b, short c, unsigned short d, bool e) {
  return a * 10000 + b * 100 + c + d + (e ? 7 : 0);
}
__attribute__((noinline)) long t_stack(long a, long b, long c, long d, long e, long f, long g, long h, double x) {
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + static_cast<long>(x);
}
__attribute__((noinline)) Odd3 t_odd3(Odd3 a) { return {{static_cast<char>(a.x[2]), static_cast<char>(a.x[1]), static_cast<char>(a.x[0])}}; }
__attribute__((noinline)) Odd7 t_odd7(Odd7 a) {
  Odd7 r;
  for (int i = 0; i < 7; ++i) r.x[i] = static_cast<char>(a.x[6 - i]);
  return r;
}
__attribute__((noinline)) void t_void(int* out, int v) { *out = v; }
}

}  // namespace

using tramp::Engine;
using tramp::parse_signature;

TEST_CASE("hypot from libm through an invoker and a bound stub", "[engine]") {
  tramp::Library m = tramp::Library::open("libm.so.6");
  tramp::Invoker call = Engine::global().invoker(parse_signature("f64(f64, f64)"));
  double a = 3, b = 4, r = 0;
  void* args[] = {&a, &b};
  call(m.symbol("hypot"), &r, args);
  CHECK(r == 5.0);
  tramp::BoundCall hyp = call.bind(m.symbol("hypot"));
  r = 0;
  hyp(&r, args);
  CHECK(r == 5.0);
  CHECK(hyp.code_size() > 0);
}

TEST_CASE("scalars, small integers, stack arguments", "[engine]") {
  auto& e = Engine::global();
  int x = 40, y = 2, ri = 0;
  void* a2[] = {&x, &y};
  e.invoker("i32(i32, i32)")(reinterpret_cast<void*>(&t_add), &ri, a2);
  CHECK(ri == 42);

  signed char sc = -3;
  unsigned char uc = 200;
  short s = -1000;
  unsigned short us = 60000;
  bool bl = true;
  void* a5[] = {&sc, &uc, &s, &us, &bl};
  e.invoker("i32(i8, u8, i16, u16, bool)")(reinterpret_cast<void*>(&t_small), &ri, a5);
  CHECK(ri == t_small(sc, uc, s, us, bl));

  long v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  double d = 100.9;
  void* a9[] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &d};
  long rl = 0;
  e.invoker("i64(i64, i64, i64, i64, i64, i64, i64, i64, f64)")(reinterpret_cast<void*>(&t_stack), &rl, a9);
  CHECK(rl == t_stack(1, 2, 3, 4, 5, 6, 7, 8, 100.9));

  int out = 0, val = 17;
  int* outp = &out;
  void* av[] = {&outp, &val};
  e.invoker("void(ptr, i32)")(reinterpret_cast<void*>(&t_void), nullptr, av);
  CHECK(out == 17);
}

TEST_CASE("struct arguments and returns: registers, sret, odd sizes", "[engine]") {
  auto& e = Engine::global();
  double a = 1.5, b = 2.5;
  Pair p{};
  void* ap[] = {&a, &b};
  e.invoker("{f64, f64}(f64, f64)")(reinterpret_cast<void*>(&t_pair), &p, ap);
  CHECK(p.a == 2.5);
  CHECK(p.b == 4.5);

  long k = 10;
  Big in{1, 2, 3}, out{};
  void* ab[] = {&k, &in};
  e.invoker("{i64, i64, i64}(i64, {i64, i64, i64})")(reinterpret_cast<void*>(&t_big), &out, ab);
  CHECK(out.a == 11);
  CHECK(out.b == 12);
  CHECK(out.c == 13);

  Mixed m{5, 0.25}, mo{};
  int kk = 4;
  void* am[] = {&m, &kk};
  e.invoker("{i8, f64}({i8, f64}, i32)")(reinterpret_cast<void*>(&t_mixed), &mo, am);
  CHECK(mo.c == 9);
  CHECK(mo.d == 1.0);

  Odd3 o3{{1, 2, 3}}, r3{};
  void* a3[] = {&o3};
  e.invoker("{i8[3]}({i8[3]})")(reinterpret_cast<void*>(&t_odd3), &r3, a3);
  CHECK((r3.x[0] == 3 && r3.x[1] == 2 && r3.x[2] == 1));

  Odd7 o7{{1, 2, 3, 4, 5, 6, 7}}, r7{};
  void* a7[] = {&o7};
  e.invoker("{i8[7]}({i8[7]})")(reinterpret_cast<void*>(&t_odd7), &r7, a7);
  for (int i = 0; i < 7; ++i) CHECK(r7.x[i] == 7 - i);
}

#if defined(__x86_64__)
#define LONG_DOUBLE_TEST "long double in memory and returned in st0"
#else
#define LONG_DOUBLE_TEST "long double (binary128) in q registers"
#endif
TEST_CASE(LONG_DOUBLE_TEST, "[engine]") {
  long double x = 1.5L, y = -3.25L, r = 0;
  void* a[] = {&x, &y};
  const tramp::Signature sig = parse_signature("longdouble(longdouble, longdouble)");
  CHECK(sig.ret()->str() == tramp::test::kLongDouble);
  Engine::global().invoker(sig)(reinterpret_cast<void*>(&t_ld), &r, a);
  CHECK(r == x * y);
}

TEST_CASE("variadic calls set al and pass promoted arguments", "[engine]") {
  tramp::Library c = tramp::Library::self();
  char buf[64];
  char* bp = buf;
  std::size_t n = sizeof buf;
  const char* fmt = "%d|%.2f|%s|%.1f";
  int i = -7;
  double d = 3.14159, d2 = 2.5;
  const char* str = "ok";
  int r = 0;
  void* args[] = {&bp, &n, &fmt, &i, &d, &str, &d2};
  Engine::global().invoker("i32(ptr, u64, ptr, ...i32, f64, ptr, f64)")(c.symbol("snprintf"), &r, args);
  CHECK(std::string(buf) == "-7|3.14|ok|2.5");
  CHECK(r == static_cast<int>(std::strlen(buf)));
}

TEST_CASE("the stub cache returns one stub per signature", "[engine]") {
  tramp::Engine engine;
  auto a = engine.invoker("i32(i32, i32)");
  auto b = engine.invoker(parse_signature("i32( i32,i32 )"));
  auto c = engine.invoker("i64(i32, i32)");
  CHECK(a.entry() == b.entry());
  CHECK(a.entry() != c.entry());
  CHECK(engine.cached_stubs() == 2);
}

TEST_CASE("the stub cache finds every signature while it grows, its slots moving a few at a time",
          "[engine]") {
  // 4,000 signatures take the table through seven growths (64 to 8,192 slots, the last into
  // an array made ahead); after each new one, the newest, the oldest and some in between must
  // come back from the cache, found in the new array or in the one whose slots still move.
  tramp::Engine e;
  const char* types[] = {"i32", "f64", "ptr", "i8", "f32", "u16"};
  std::vector<tramp::Signature> sigs;
  std::vector<const void*> entries;
  for (int i = 0; i < 4000; ++i) {
    std::string text = "i64(";
    for (int k = 0, v = i; k < 5; ++k, v /= 6) text += std::string(k ? ", " : "") + types[v % 6];
    text += ")";
    sigs.push_back(tramp::parse_signature(text));
    entries.push_back(reinterpret_cast<const void*>(e.invoker(sigs.back()).entry()));
    for (int j : {i, i / 2, i / 3, i * 7 / 8, 0})
      if (reinterpret_cast<const void*>(e.invoker(sigs[static_cast<std::size_t>(j)]).entry()) != entries[static_cast<std::size_t>(j)]) {
        FAIL("signature " << j << " not found after " << i + 1 << " were made");
      }
    REQUIRE(e.cached_stubs() == static_cast<std::size_t>(i + 1));
  }
}

TEST_CASE("concurrent invoker creation is safe and converges", "[engine][threads]") {
  tramp::Engine engine;
  std::vector<std::thread> threads;
  std::vector<std::set<const void*>> seen(4);
  // Catch2's assertions are not thread-safe: workers count, the main thread asserts.
  std::atomic<int> calls{0}, wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        std::string sig = "i32(i32";
        for (int j = 0; j < k % 10; ++j) sig += ", i32";
        sig += ")";
        auto inv = engine.invoker(sig);
        seen[t].insert(reinterpret_cast<const void*>(inv.entry()));
        int x = 1, y = 2, r = 0;
        void* args[] = {&x, &y, &x, &x, &x, &x, &x, &x, &x, &x};
        if (k % 10 == 1) {
          inv(reinterpret_cast<void*>(&t_add), &r, args);
          ++calls;
          if (r != 3) ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(calls == 4 * 20);
  CHECK(wrong == 0);
  CHECK(engine.cached_stubs() == 10);
  for (int t = 1; t < 4; ++t) CHECK(seen[t] == seen[0]);
}

TEST_CASE("errors name what is wrong", "[engine][errors]") {
  CHECK_THROWS_WITH(tramp::Library::open("libdoes-not-exist.so.9"), Catch::Contains("libdoes-not-exist.so.9"));
  tramp::Library m = tramp::Library::open("libm.so.6");
  CHECK_THROWS_WITH(m.symbol("no_such_function_here"), Catch::Contains("no_such_function_here"));
  CHECK(m.find("no_such_function_here") == nullptr);
  try {
    Engine::global().invoker(parse_signature("i32(i32)", tramp::test::kForeignAbi));
    FAIL("expected an error");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == tramp::ErrorCode::HostAbi);
    CHECK_THAT(e.what(), Catch::Contains(std::string(tramp::abi_name(tramp::test::kForeignAbi))));
  }
  try {
    Engine::global().invoker("i32(ptr, ...f32)");
    FAIL("expected an error");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == tramp::ErrorCode::Unsupported);
    CHECK_THAT(e.what(), Catch::Contains("argument 1"));
  }
}

TEST_CASE("bound calls outlive a local engine and free their code", "[engine]") {
  tramp::BoundCall bound;
  {
    tramp::Engine engine;
    bound = engine.bind(parse_signature("i32(i32, i32)"), reinterpret_cast<void*>(&t_add));
  }
  int x = 5, y = 6, r = 0;
  void* args[] = {&x, &y};
  bound(&r, args);
  CHECK(r == 11);
}

// The invariant the arena exists for, watched from outside while the engine works: a thread
// reads /proc/self/maps in a loop while invokers and callbacks are made and freed.
TEST_CASE("no page is writable and executable while the engine makes stubs", "[engine][wx][threads]") {
  std::atomic<bool> stop{false};
  std::atomic<int> scans{0};
  std::string wx;  // written by the watcher, read after join
  std::thread watcher([&] {
    while (!stop) {
      std::string line = tramp::test::find_wx_mapping();
      if (!line.empty()) wx = line;
      ++scans;
    }
  });
  while (scans == 0) std::this_thread::yield();
  // Rounds of fresh engines (each maps, writes and frees code) until the watcher has looked
  // at the maps many times while the work was going on.
  const int start = scans;
  int rounds = 0;
  while (scans - start < 20 && rounds < 200) {
    ++rounds;
    tramp::Engine engine;
    for (int i = 0; i < 300; ++i) {
      std::string params = "i64";
      for (int k = 0; k < i % 20; ++k) params += ", f64";
      std::string sig = (i % 3 == 0 ? "{i64, i64, i64}(" : "i64(") + params + ")";
      engine.invoker(sig);
      auto cb = engine.callback(tramp::parse_signature(sig), [](void*, void* const*) {});
    }
  }
  stop = true;
  watcher.join();
  INFO(rounds << " rounds");
  CHECK(scans - start >= 20);
  CHECK(wx == "");
}

struct Big64k {
  long a[8192];
};

// A value of megabytes by value would make megabytes of stub and overflow the stack when
// called; the classifier refuses it, and its running total cannot wrap.
TEST_CASE("arguments larger than the argument area are refused", "[engine][errors]") {
  for (const char* text : {"void({i8[2000000]})", "void({i8[2000000000]}, {i8[2000000000]}, {i8[2000000000]})",
#if defined(__x86_64__)  // Win64 code runs on x86-64 hosts only
                           "win64:void({i8[2000000]})",
                           "win64:i32({i8[2000000000]}, {i8[2000000000]}, {i8[2000000000]})",
#endif
                          }) {
    INFO(text);
    try {
      Engine::global().invoker(text);
      FAIL("expected an error");
    } catch (const tramp::Error& e) {
      CHECK(e.code() == tramp::ErrorCode::Unsupported);
      CHECK_THAT(e.what(), Catch::Contains("bytes of stack"));
    }
  }
  // Just under the limit still works: a 64 KiB struct by value.
  auto sig = parse_signature("i64({i64[8192]})");
  std::vector<long> big(8192, 1);
  long r = 0;
  void* args[] = {big.data()};
  Engine::global().invoker(sig)(reinterpret_cast<void*>(+[](Big64k v) -> long {
                                  long s = 0;
                                  for (long x : v.a) s += x;
                                  return s;
                                }),
                                &r, args);
  CHECK(r == 8192);
}

namespace {
extern "C" int d_add(int a, int b) { return a + b; }
extern "C" double d_sum4(double a, double b, double c, double d) { return a + b + c + d; }
extern "C" float d_half(float x) { return x / 2; }
extern "C" signed char d_neg(signed char x) { return static_cast<signed char>(-x); }
extern "C" bool d_odd(long x) { return x % 2 != 0; }
extern "C" const char* d_skip(const char* s, int n) { return s + n; }
extern "C" long d_sum12(long a, long b, long c, long d, long e, long f, long g, long h, long i, long j,
                        long k, long l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
#if defined(__x86_64__)
__attribute__((ms_abi)) int d_ms_sub(int a, int b) { return a - b; }
#endif
}  // namespace

TEST_CASE("register-return stubs hand the value back directly", "[engine][direct]") {
  Engine& e = Engine::global();
  int a = 40, b = 2;
  void* ab[] = {&a, &b};
  CHECK(e.invoker("i32(i32, i32)").direct<int>()(reinterpret_cast<void*>(&d_add), ab) == 42);
  double d[] = {1.5, 2.5, 3.5, 4.5};
  void* dd[] = {&d[0], &d[1], &d[2], &d[3]};
  CHECK(e.invoker("f64(f64, f64, f64, f64)").direct<double>()(reinterpret_cast<void*>(&d_sum4), dd) == 12.0);
  float x = 5.0f;
  void* xx[] = {&x};
  CHECK(e.invoker("f32(f32)").direct<float>()(reinterpret_cast<void*>(&d_half), xx) == 2.5f);
  signed char c = 7;
  void* cc[] = {&c};
  CHECK(e.invoker("i8(i8)").direct<signed char>()(reinterpret_cast<void*>(&d_neg), cc) == -7);
  long n = 3;
  void* nn[] = {&n};
  CHECK(e.invoker("bool(i64)").direct<bool>()(reinterpret_cast<void*>(&d_odd), nn));
  const char* s = "trampoline";
  int k = 5;
  void* sk[] = {&s, &k};
  CHECK(std::string(e.invoker("ptr(ptr, i32)").direct<const char*>()(reinterpret_cast<void*>(&d_skip), sk)) ==
        "oline");
  // With stack arguments the stub calls instead of jumping; the value still comes back.
  long v[12];
  void* vv[12];
  for (int i = 0; i < 12; ++i) v[i] = i + 1, vv[i] = &v[i];
  CHECK(e.invoker("i64(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)")
            .direct<long>()(reinterpret_cast<void*>(&d_sum12), vv) == 78);
#if defined(__x86_64__)
  // Win64 callees (shadow space, no tail jump).
  CHECK(e.invoker("win64:i32(i32, i32)").direct<int>()(reinterpret_cast<void*>(&d_ms_sub), ab) == 38);
#endif
  // The variant is made once per invoker.
  auto inv = e.invoker("i32(i32, i32)");
  CHECK(reinterpret_cast<const void*>(inv.direct<int>()) == reinterpret_cast<const void*>(inv.direct<unsigned>()));
}

TEST_CASE("register-return stubs refuse a type that does not match", "[engine][direct][errors]") {
  Engine& e = Engine::global();
  CHECK_THROWS_WITH(e.invoker("i32(i32, i32)").direct<double>(), Catch::Contains("does not match the return type i32"));
  CHECK_THROWS_WITH(e.invoker("i32(i32, i32)").direct<long>(), Catch::Contains("8 bytes"));
  CHECK_THROWS_WITH(e.invoker("f32(f32)").direct<double>(), Catch::Contains("f32"));
  CHECK_THROWS_AS(e.invoker("{i64, i64}(i64)").direct<long>(), tramp::Error);
  CHECK_THROWS_AS(e.invoker("void(i64)").direct<int>(), tramp::Error);
  CHECK_THROWS_WITH(e.invoker("longdouble(i64)").direct<double>(), Catch::Contains("does not match the return type"));
  CHECK_THROWS_AS(tramp::Invoker().direct<int>(), tramp::Error);
}
