// A short tour of tramp: calls into libc and libm from signature strings, a callback handed
// to qsort, and the overhead of a call measured against a direct call and libffi.
#include <ffi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tramp/tramp.hpp"

extern "C" int tour_add(int a, int b);
extern "C" double tour_sum4(double a, double b, double c, double d);

namespace {

void section(const char* title) { std::printf("\n== %s\n", title); }

template <class F>
double ns_per_call(F&& f) {
  constexpr int kCalls = 2'000'000;
  for (int i = 0; i < 10000; ++i) f();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) f();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / kCalls;
}

void compare_ints(void* ret, void* const* args, void*) {
  int a = **static_cast<const int* const*>(args[0]);
  int b = **static_cast<const int* const*>(args[1]);
  *static_cast<int*>(ret) = (a > b) - (a < b);
}

}  // namespace

int main() {
  tramp::Engine& engine = tramp::Engine::global();
  tramp::Library libm = tramp::Library::open("libm.so.6");
  tramp::Library libc = tramp::Library::self();

  section("calls from signature strings");
  {
    double x = 3, y = 4, r = 0;
    void* args[] = {&x, &y};
    engine.invoker("f64(f64, f64)")(libm.symbol("hypot"), &r, args);
    std::printf("hypot(3, 4)                      f64(f64, f64)        = %g\n", r);
    x = 2, y = 10;
    engine.invoker("f64(f64, f64)")(libm.symbol("pow"), &r, args);
    std::printf("pow(2, 10)                       f64(f64, f64)        = %g\n", r);

    const char* s = "trampoline";
    unsigned long n = 0;
    void* sargs[] = {&s};
    engine.invoker("u64(ptr)")(libc.symbol("strlen"), &n, sargs);
    std::printf("strlen(\"trampoline\")             u64(ptr)             = %lu\n", n);

    long num = 47, den = 5;
    struct { long quot, rem; } qr{};
    void* dargs[] = {&num, &den};
    engine.invoker("{i64, i64}(i64, i64)")(libc.symbol("ldiv"), &qr, dargs);
    std::printf("ldiv(47, 5)                      {i64, i64}(i64, i64) = {quot %ld, rem %ld}\n", qr.quot, qr.rem);

    char buf[64];
    char* bp = buf;
    unsigned long size = sizeof buf;
    const char* fmt = "%s has %d letters, pi ~ %.5f";
    int letters = 10;
    double pi = 3.14159265;
    int written = 0;
    void* pargs[] = {&bp, &size, &fmt, &s, &letters, &pi};
    engine.invoker("i32(ptr, u64, ptr, ...ptr, i32, f64)")(libc.symbol("snprintf"), &written, pargs);
    std::printf("snprintf (variadic)              i32(ptr, u64, ptr, ...ptr, i32, f64)\n    -> \"%s\" (%d bytes)\n",
                buf, written);

    tramp::BoundCall cbrt = engine.bind(tramp::parse_signature("f64(f64)"), libm.symbol("cbrt"));
    x = 27;
    void* cargs[] = {&x};
    cbrt(&r, cargs);
    std::printf("cbrt(27), bound stub (%zu bytes)  f64(f64)             = %g\n", cbrt.code_size(), r);

    try {
      engine.invoker("f64(f64, f64");
    } catch (const tramp::Error& e) {
      std::printf("a malformed signature is refused: %s\n", e.what());
    }
  }

  section("a callback through qsort");
  {
    tramp::Callback cmp = engine.callback(tramp::parse_signature("i32(ptr, ptr)"), compare_ints, nullptr);
    std::vector<int> v = {42, -7, 19, 0, 88, 3, -21, 5};
    std::qsort(v.data(), v.size(), sizeof(int), cmp.as<int(const void*, const void*)>());
    std::printf("qsort with a tramp thunk (%zu bytes of code) as comparator:", cmp.code_size());
    for (int x : v) std::printf(" %d", x);
    std::printf("\n");

    int hits = 0;
    tramp::Callback counting = engine.callback(tramp::parse_signature("i32(ptr, ptr)"), [&](void* ret, void* const* args) {
      ++hits;
      compare_ints(ret, args, nullptr);
    });
    std::qsort(v.data(), v.size(), sizeof(int), counting.as<int(const void*, const void*)>());
    std::printf("the same with a capturing lambda: %d comparisons\n", hits);
  }

  section("overhead (ns per call; a tour, not a benchmark: see ./dev bench)");
  {
    int a = 20, b = 22, ri = 0;
    void* iargs[] = {&a, &b};
    int (*volatile add)(int, int) = tour_add;
    tramp::Invoker inv = engine.invoker("i32(i32, i32)");
    tramp::BoundCall bound = inv.bind(reinterpret_cast<void*>(&tour_add));
    ffi_cif cif;
    ffi_type* itypes[] = {&ffi_type_sint32, &ffi_type_sint32};
    ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, itypes);
    ffi_arg fr = 0;

    double d[4] = {1, 2, 3, 4}, rd = 0;
    void* dargs[] = {&d[0], &d[1], &d[2], &d[3]};
    double (*volatile sum4)(double, double, double, double) = tour_sum4;
    tramp::Invoker dinv = engine.invoker("f64(f64, f64, f64, f64)");
    tramp::BoundCall dbound = dinv.bind(reinterpret_cast<void*>(&tour_sum4));
    ffi_cif dcif;
    ffi_type* dtypes[] = {&ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double};
    ffi_prep_cif(&dcif, FFI_DEFAULT_ABI, 4, &ffi_type_double, dtypes);

    struct Row {
      const char* name;
      double direct, bound, invoke, ffi;
    } rows[] = {
        {"int(int, int)", ns_per_call([&] { ri = add(a, b); }), ns_per_call([&] { bound(&ri, iargs); }),
         ns_per_call([&] { inv(reinterpret_cast<void*>(&tour_add), &ri, iargs); }),
         ns_per_call([&] { ffi_call(&cif, FFI_FN(tour_add), &fr, iargs); })},
        {"double(4 x double)", ns_per_call([&] { rd = sum4(d[0], d[1], d[2], d[3]); }),
         ns_per_call([&] { dbound(&rd, dargs); }),
         ns_per_call([&] { dinv(reinterpret_cast<void*>(&tour_sum4), &rd, dargs); }),
         ns_per_call([&] { ffi_call(&dcif, FFI_FN(tour_sum4), &rd, dargs); })},
    };
    std::printf("%-20s %9s %15s %15s %15s\n", "signature", "direct", "tramp bound", "tramp invoke", "libffi");
    for (const Row& r : rows)
      std::printf("%-20s %6.2f ns %6.2f ns %5.2fx %6.2f ns %5.2fx %6.2f ns %5.2fx\n", r.name, r.direct, r.bound,
                  r.bound / r.direct, r.invoke, r.invoke / r.direct, r.ffi, r.ffi / r.direct);
    std::printf("(ratios are to the direct call through a function pointer, measured just now)\n");
  }
  return 0;
}
