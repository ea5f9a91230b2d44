// A short tour of tramp: libc and libm functions called from signature strings, a callback
// handed to qsort, and what a call costs next to a direct call and libffi.
//
// Build and run: ./dev tour
#include <ffi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

// Targets for the overhead table, in their own translation unit (tour_callees.c).
extern "C" int tour_add(int a, int b);
extern "C" double tour_sum4(double a, double b, double c, double d);

namespace {

void section(const char* title) { std::printf("\n== %s\n\n", title); }

// One line per call: what was called, with which signature, and what came back.
void show(const std::string& call, const tramp::Signature& sig, const std::string& result) {
  std::printf("  %-32s %-32s -> %s\n", call.c_str(), sig.str().c_str(), result.c_str());
}

std::string fmt(const char* format, auto... values) {
  char buf[128];
  std::snprintf(buf, sizeof buf, format, values...);
  return buf;
}

void calls(tramp::Engine& engine) {
  section("1. calls from signature strings");
  tramp::Library libm = tramp::Library::open("libm.so.6");
  tramp::Library libc = tramp::Library::self();

  // Every argument is passed by address; the result is written to `ret`.
  tramp::Signature f64_f64_f64 = tramp::parse_signature("f64(f64, f64)");
  tramp::Invoker binary = engine.invoker(f64_f64_f64);
  double x = 3, y = 4, r = 0;
  void* xy[] = {&x, &y};
  binary(libm.symbol("hypot"), &r, xy);
  show("hypot(3, 4)", f64_f64_f64, fmt("%g", r));
  x = 2, y = 0.5;
  binary(libm.symbol("pow"), &r, xy);  // the same stub, another target
  show("pow(2, 0.5)", f64_f64_f64, fmt("%.6f", r));

  tramp::Signature strlen_sig = tramp::parse_signature("u64(ptr)");
  const char* word = "trampoline";
  unsigned long length = 0;
  void* strlen_args[] = {&word};
  engine.invoker(strlen_sig)(libc.symbol("strlen"), &length, strlen_args);
  show("strlen(\"trampoline\")", strlen_sig, fmt("%lu", length));

  tramp::Signature abs_sig = tramp::parse_signature("i32(i32)");
  int minus = -42, absolute = 0;
  void* abs_args[] = {&minus};
  engine.invoker(abs_sig)(libc.symbol("abs"), &absolute, abs_args);
  show("abs(-42)", abs_sig, fmt("%d", absolute));

  // Structs by value: div_t is {int quot; int rem;}, ldiv_t is {long quot; long rem;}.
  tramp::Signature div_sig = tramp::parse_signature("{i32, i32}(i32, i32)");
  int num = 47, den = 5;
  div_t q{};
  void* div_args[] = {&num, &den};
  engine.invoker(div_sig)(libc.symbol("div"), &q, div_args);
  show("div(47, 5)", div_sig, fmt("{quot %d, rem %d}", q.quot, q.rem));

  tramp::Signature ldiv_sig = tramp::parse_signature("{i64, i64}(i64, i64)");
  long lnum = -1000000000000L, lden = 7;
  ldiv_t lq{};
  void* ldiv_args[] = {&lnum, &lden};
  engine.invoker(ldiv_sig)(libc.symbol("ldiv"), &lq, ldiv_args);
  show("ldiv(-1000000000000, 7)", ldiv_sig, fmt("{quot %ld, rem %ld}", lq.quot, lq.rem));

  // A variadic call: the signature lists the arguments this call passes after `...`.
  tramp::Signature snprintf_sig = tramp::parse_signature("i32(ptr, u64, ptr, ...f64, i32)");
  char buf[64];
  char* out = buf;
  unsigned long size = sizeof buf;
  const char* format = "pi ~ %.4f, %d letters";
  double pi = 3.14159265;
  int letters = 10, written = 0;
  void* snprintf_args[] = {&out, &size, &format, &pi, &letters};
  engine.invoker(snprintf_sig)(libc.symbol("snprintf"), &written, snprintf_args);
  show("snprintf(buf, 64, fmt, pi, 10)", snprintf_sig, fmt("%d, buf = \"%s\"", written, buf));
  std::printf("  %-32s (fmt = \"%s\", pi = %.8f)\n", "", format, pi);

  // A bound call: a stub with the target baked in, for calling one function many times.
  tramp::Signature cbrt_sig = tramp::parse_signature("f64(f64)");
  tramp::BoundCall cbrt = engine.bind(cbrt_sig, libm.symbol("cbrt"));
  double c = 27, root = 0;
  void* cbrt_args[] = {&c};
  cbrt(&root, cbrt_args);
  show("cbrt(27), bound", cbrt_sig, fmt("%g   (stub: %zu bytes of code)", root, cbrt.code_size()));

  // Bad input is refused with a message, before any code is made.
  try {
    engine.invoker("f64(f64, f64");
  } catch (const tramp::Error& e) {
    std::printf("\n  \"f64(f64, f64\" is refused: %s\n", e.what());
  }
}

// ---- callbacks through qsort ------------------------------------------------------------

void compare_ints(void* ret, void* const* args, void* /*user*/) {
  int a = **static_cast<const int* const*>(args[0]);
  int b = **static_cast<const int* const*>(args[1]);
  *static_cast<int*>(ret) = (a > b) - (a < b);
}

void callbacks(tramp::Engine& engine) {
  section("2. callbacks through qsort");
  tramp::Signature cmp_sig = tramp::parse_signature("i32(ptr, ptr)");
  tramp::Callback cmp = engine.callback(cmp_sig, compare_ints, nullptr);
  std::vector<int> v = {42, -7, 19, 0, 88, 3, -21, 5};
  std::qsort(v.data(), v.size(), sizeof(int), cmp.as<int(const void*, const void*)>());
  std::printf("  qsort with a tramp thunk for %s (%zu bytes of code):", cmp_sig.str().c_str(),
              cmp.code_size());
  for (int x : v) std::printf(" %d", x);
  std::printf("\n");

  int comparisons = 0;
  tramp::Callback counting = engine.callback(cmp_sig, [&](void* ret, void* const* args) {
    ++comparisons;
    compare_ints(ret, args, nullptr);
  });
  std::qsort(v.data(), v.size(), sizeof(int), counting.as<int(const void*, const void*)>());
  std::printf("  the same with a capturing lambda: %d comparisons\n", comparisons);
}

// ---- overhead ---------------------------------------------------------------------------

// Best of a few timed batches, in ns per call. A tour, not a benchmark: see ./dev bench.
template <class F>
double ns_per_call(F&& f) {
  constexpr int kCalls = 500'000;
  for (int i = 0; i < 10'000; ++i) f();
  double best = 1e300;
  for (int batch = 0; batch < 3; ++batch) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) f();
    auto t1 = std::chrono::steady_clock::now();
    double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / kCalls;
    if (ns < best) best = ns;
  }
  return best;
}

struct Timings {
  const char* name;
  double direct, bound, invoke, libffi;
};

void overhead(tramp::Engine& engine) {
  section("3. overhead, ns per call (a quick look; ./dev bench measures properly)");

  // int(int, int)
  int a = 20, b = 22, ri = 0;
  void* iargs[] = {&a, &b};
  int (*volatile add)(int, int) = tour_add;  // a real indirect call, never inlined
  void* add_fn = reinterpret_cast<void*>(&tour_add);
  tramp::Invoker iinv = engine.invoker("i32(i32, i32)");
  tramp::BoundCall ibound = iinv.bind(add_fn);
  ffi_cif icif;
  ffi_type* itypes[] = {&ffi_type_sint32, &ffi_type_sint32};
  ffi_prep_cif(&icif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, itypes);
  ffi_arg iffi = 0;

  // double(double, double, double, double)
  double d[4] = {1, 2, 3, 4}, rd = 0;
  void* dargs[] = {&d[0], &d[1], &d[2], &d[3]};
  double (*volatile sum4)(double, double, double, double) = tour_sum4;
  void* sum4_fn = reinterpret_cast<void*>(&tour_sum4);
  tramp::Invoker dinv = engine.invoker("f64(f64, f64, f64, f64)");
  tramp::BoundCall dbound = dinv.bind(sum4_fn);
  ffi_cif dcif;
  ffi_type* dtypes[] = {&ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double};
  ffi_prep_cif(&dcif, FFI_DEFAULT_ABI, 4, &ffi_type_double, dtypes);

  // The results go to variables the compiler must assume are read; the arguments are reread.
  volatile int sink_i = 0;
  volatile double sink_d = 0;
  Timings rows[] = {
      {"int(int, int)", ns_per_call([&] { sink_i = add(a, b); }),
       ns_per_call([&] { ibound(&ri, iargs); }), ns_per_call([&] { iinv(add_fn, &ri, iargs); }),
       ns_per_call([&] { ffi_call(&icif, FFI_FN(tour_add), &iffi, iargs); })},
      {"double(4 x double)", ns_per_call([&] { sink_d = sum4(d[0], d[1], d[2], d[3]); }),
       ns_per_call([&] { dbound(&rd, dargs); }), ns_per_call([&] { dinv(sum4_fn, &rd, dargs); }),
       ns_per_call([&] { ffi_call(&dcif, FFI_FN(tour_sum4), &rd, dargs); })},
  };

  std::printf("  %-20s %10s %20s %20s %20s\n", "signature", "direct", "tramp bound", "tramp invoke",
              "libffi ffi_call");
  for (const Timings& t : rows) {
    auto cell = [&](double ns) { return fmt("%.2f ns (%.1fx)", ns, ns / t.direct); };
    std::printf("  %-20s %7.2f ns %20s %20s %20s\n", t.name, t.direct, cell(t.bound).c_str(),
                cell(t.invoke).c_str(), cell(t.libffi).c_str());
  }
  std::printf("\n  (x = ratio to the direct call through a function pointer)\n");
}

}  // namespace

int main() {
  std::printf("tramp tour: C functions called through signatures known only at run time\n");
  try {
    tramp::Engine& engine = tramp::Engine::global();
    calls(engine);
    callbacks(engine);
    overhead(engine);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tramp-tour: %s\n", e.what());
    return 1;
  }
  return 0;
}
