// Call overhead: direct call vs tramp (invoke, bound) vs libffi ffi_call, and callbacks:
// direct vs tramp thunk vs libffi closure. Every row runs in the same process; the table at
// the end gives medians over repetitions and the ratios between them.
#include <benchmark/benchmark.h>
#include <ffi.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

extern "C" {
struct Pair { double a, b; };
struct Triple { long a, b, c; };
int b_add(int, int);
double b_sum4(double, double, double, double);
double b_mixed8(int, double, long, float, void*, short, double, unsigned char);
int b_int12(int, int, int, int, int, int, int, int, int, int, int, int);
Pair b_pair(double, double);
long b_triple(Triple);
int b_printf_like(const char*, ...);
int call_add(int (*)(int, int), int, int);
double call_sum4(double (*)(double, double, double, double), double);
Pair call_pair(Pair (*)(double, double), double);
int call_int12(int (*)(int, int, int, int, int, int, int, int, int, int, int, int), int);
}

namespace {

// The uniform argument vector for each signature, filled once.
struct Args {
  int i[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  double d[4] = {1.5, 2.5, 3.5, 4.5};
  long l = 7;
  float f = 0.5f;
  void* p = nullptr;
  short s = 3;
  unsigned char uc = 9;
  Triple t{1, 2, 3};
  const char* fmt = "x";
  double vd = 2.0;
  int vi = 5;
};
Args g;

struct Row {
  const char* name;
  const char* sig;
  void* fn;
  std::vector<void*> args;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  unsigned fixed;  // for variadic rows, the number of fixed arguments
};

ffi_type* triple_elements[] = {&ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, nullptr};
ffi_type triple_type = {0, 0, FFI_TYPE_STRUCT, triple_elements};
ffi_type* pair_elements[] = {&ffi_type_double, &ffi_type_double, nullptr};
ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, pair_elements};

std::vector<Row> rows() {
  auto I = &ffi_type_sint32;
  auto D = &ffi_type_double;
  std::vector<void*> i12;
  for (int& x : g.i) i12.push_back(&x);
  return {
      {"int(int,int)", "i32(i32, i32)", reinterpret_cast<void*>(&b_add), {&g.i[0], &g.i[1]}, {I, I}, I, 0},
      {"double(4 x double)", "f64(f64, f64, f64, f64)", reinterpret_cast<void*>(&b_sum4),
       {&g.d[0], &g.d[1], &g.d[2], &g.d[3]}, {D, D, D, D}, D, 0},
      {"8 mixed args", "f64(i32, f64, i64, f32, ptr, i16, f64, u8)", reinterpret_cast<void*>(&b_mixed8),
       {&g.i[0], &g.d[0], &g.l, &g.f, &g.p, &g.s, &g.d[1], &g.uc},
       {I, D, &ffi_type_sint64, &ffi_type_float, &ffi_type_pointer, &ffi_type_sint16, D, &ffi_type_uint8}, D, 0},
      {"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)",
       reinterpret_cast<void*>(&b_int12), i12, std::vector<ffi_type*>(12, I), I, 0},
      {"struct {double,double} return", "{f64, f64}(f64, f64)", reinterpret_cast<void*>(&b_pair),
       {&g.d[0], &g.d[1]}, {D, D}, &pair_type, 0},
      {"24-byte struct arg", "i64({i64, i64, i64})", reinterpret_cast<void*>(&b_triple), {&g.t}, {&triple_type},
       &ffi_type_sint64, 0},
      {"variadic printf-like", "i32(ptr, ...f64, i32)", reinterpret_cast<void*>(&b_printf_like),
       {&g.fmt, &g.vd, &g.vi}, {&ffi_type_pointer, D, I}, I, 1},
  };
}

alignas(16) unsigned char ret_buf[64];

void direct(benchmark::State& state, int which) {
  // Through volatile pointers, so each call is a real indirect call like the stubs make.
  static int (*volatile add)(int, int) = b_add;
  static double (*volatile sum4)(double, double, double, double) = b_sum4;
  static double (*volatile mixed8)(int, double, long, float, void*, short, double, unsigned char) = b_mixed8;
  static int (*volatile int12)(int, int, int, int, int, int, int, int, int, int, int, int) = b_int12;
  static Pair (*volatile pair)(double, double) = b_pair;
  static long (*volatile triple)(Triple) = b_triple;
  static int (*volatile printf_like)(const char*, ...) = b_printf_like;
  for (auto _ : state) {
    switch (which) {
      case 0: benchmark::DoNotOptimize(add(g.i[0], g.i[1])); break;
      case 1: benchmark::DoNotOptimize(sum4(g.d[0], g.d[1], g.d[2], g.d[3])); break;
      case 2: benchmark::DoNotOptimize(mixed8(g.i[0], g.d[0], g.l, g.f, g.p, g.s, g.d[1], g.uc)); break;
      case 3:
        benchmark::DoNotOptimize(int12(g.i[0], g.i[1], g.i[2], g.i[3], g.i[4], g.i[5], g.i[6], g.i[7], g.i[8],
                                       g.i[9], g.i[10], g.i[11]));
        break;
      case 4: benchmark::DoNotOptimize(pair(g.d[0], g.d[1])); break;
      case 5: benchmark::DoNotOptimize(triple(g.t)); break;
      case 6: benchmark::DoNotOptimize(printf_like(g.fmt, g.vd, g.vi)); break;
    }
    benchmark::ClobberMemory();
  }
}

void tramp_invoke(benchmark::State& state, Row row) {
  tramp::Invoker inv = tramp::Engine::global().invoker(row.sig);
  for (auto _ : state) {
    inv(row.fn, ret_buf, row.args.data());
    benchmark::ClobberMemory();
  }
}

void tramp_bound(benchmark::State& state, Row row) {
  tramp::BoundCall b = tramp::Engine::global().invoker(row.sig).bind(row.fn);
  for (auto _ : state) {
    b(ret_buf, row.args.data());
    benchmark::ClobberMemory();
  }
}

void libffi_call(benchmark::State& state, Row row) {
  ffi_cif cif;
  ffi_status st = row.fixed ? ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, row.fixed, static_cast<unsigned>(row.args.size()),
                                               row.ffi_ret, row.ffi_args.data())
                            : ffi_prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(row.args.size()), row.ffi_ret,
                                           row.ffi_args.data());
  if (st != FFI_OK) {
    state.SkipWithError("ffi_prep_cif failed");
    return;
  }
  for (auto _ : state) {
    ffi_call(&cif, FFI_FN(row.fn), ret_buf, row.args.data());
    benchmark::ClobberMemory();
  }
}

// Callbacks: a C caller calls (a) a C function directly, (b) a tramp thunk, (c) a libffi closure.
int h_add(int a, int b) { return a + b; }
double h_sum4(double a, double b, double c, double d) { return a + b + c + d; }
Pair h_pair(double a, double b) { return {a, b}; }
int h_int12(int a, int b, int c, int d, int e, int f, int g2, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g2 + h + i + j + k + l;
}

void tramp_add(void* ret, void* const* a, void*) { *static_cast<int*>(ret) = *static_cast<int*>(a[0]) + *static_cast<int*>(a[1]); }
void tramp_sum4(void* ret, void* const* a, void*) {
  *static_cast<double*>(ret) = *static_cast<double*>(a[0]) + *static_cast<double*>(a[1]) + *static_cast<double*>(a[2]) +
                               *static_cast<double*>(a[3]);
}
void tramp_pair(void* ret, void* const* a, void*) { *static_cast<Pair*>(ret) = {*static_cast<double*>(a[0]), *static_cast<double*>(a[1])}; }
void tramp_int12(void* ret, void* const* a, void*) {
  int s = 0;
  for (int i = 0; i < 12; ++i) s += *static_cast<int*>(a[i]);
  *static_cast<int*>(ret) = s;
}
void ffi_add(ffi_cif*, void* ret, void** a, void*) { *static_cast<ffi_arg*>(ret) = *static_cast<int*>(a[0]) + *static_cast<int*>(a[1]); }
void ffi_sum4(ffi_cif*, void* ret, void** a, void*) { tramp_sum4(ret, a, nullptr); }
void ffi_pair(ffi_cif*, void* ret, void** a, void*) { tramp_pair(ret, a, nullptr); }
void ffi_int12(ffi_cif*, void* ret, void** a, void*) {
  int s = 0;
  for (int i = 0; i < 12; ++i) s += *static_cast<int*>(a[i]);
  *static_cast<ffi_arg*>(ret) = static_cast<ffi_arg>(s);
}

struct Closure {
  ffi_cif cif;
  ffi_closure* closure = nullptr;
  void* code = nullptr;
  std::vector<ffi_type*> types;
  Closure(std::vector<ffi_type*> t, ffi_type* ret, void (*fun)(ffi_cif*, void*, void**, void*)) : types(std::move(t)) {
    closure = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &code));
    ffi_prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(types.size()), ret, types.data());
    ffi_prep_closure_loc(closure, &cif, fun, nullptr, code);
  }
  ~Closure() { ffi_closure_free(closure); }
};

enum class Cb { Direct, Tramp, Libffi };

void callback_bench(benchmark::State& state, int which, Cb how) {
  const char* sigs[] = {"i32(i32, i32)", "f64(f64, f64, f64, f64)", "{f64, f64}(f64, f64)",
                        "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)"};
  tramp::Handler handlers[] = {tramp_add, tramp_sum4, tramp_pair, tramp_int12};
  void (*ffi_funs[])(ffi_cif*, void*, void**, void*) = {ffi_add, ffi_sum4, ffi_pair, ffi_int12};
  auto I = &ffi_type_sint32;
  auto D = &ffi_type_double;
  std::vector<ffi_type*> ffi_args[] = {{I, I}, {D, D, D, D}, {D, D}, std::vector<ffi_type*>(12, I)};
  ffi_type* ffi_rets[] = {I, D, &pair_type, I};
  void* direct_fns[] = {reinterpret_cast<void*>(&h_add), reinterpret_cast<void*>(&h_sum4),
                        reinterpret_cast<void*>(&h_pair), reinterpret_cast<void*>(&h_int12)};

  tramp::Callback cb;
  std::unique_ptr<Closure> cl;
  void* fn = direct_fns[which];
  if (how == Cb::Tramp) {
    cb = tramp::Engine::global().callback(tramp::parse_signature(sigs[which]), handlers[which], nullptr);
    fn = const_cast<void*>(cb.code());
  } else if (how == Cb::Libffi) {
    cl = std::make_unique<Closure>(ffi_args[which], ffi_rets[which], ffi_funs[which]);
    fn = cl->code;
  }
  for (auto _ : state) {
    switch (which) {
      case 0: benchmark::DoNotOptimize(call_add(reinterpret_cast<int (*)(int, int)>(fn), 1, 2)); break;
      case 1: benchmark::DoNotOptimize(call_sum4(reinterpret_cast<double (*)(double, double, double, double)>(fn), 1.5)); break;
      case 2: benchmark::DoNotOptimize(call_pair(reinterpret_cast<Pair (*)(double, double)>(fn), 1.5)); break;
      case 3:
        benchmark::DoNotOptimize(
            call_int12(reinterpret_cast<int (*)(int, int, int, int, int, int, int, int, int, int, int, int)>(fn), 3));
        break;
    }
  }
}

// Collects medians and prints the ratio table after the usual console output.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      std::string name = r.benchmark_name();
      bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      if (!median && !single) continue;
      std::string base = name.substr(0, name.find("_median"));
      auto slash = base.rfind('/');
      medians_[base.substr(0, slash)][base.substr(slash + 1)] = r.GetAdjustedRealTime();
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nMedians in ns per call (ratio to direct); one run, same process.\n\n");
    print("call", {"direct", "tramp_bound", "tramp_invoke", "libffi"});
    std::printf("\n");
    print("callback", {"direct", "tramp_thunk", "libffi_closure"});
  }

 private:
  void print(const std::string& prefix, const std::vector<std::string>& cols) {
    std::printf("| %s |", prefix == "call" ? "signature (call)" : "signature (callback)");
    for (const auto& c : cols) std::printf(" %s |", c.c_str());
    std::printf(" libffi / tramp |\n|---|");
    for (std::size_t i = 0; i <= cols.size(); ++i) std::printf("---|");
    std::printf("\n");
    for (const auto& [name, m] : medians_) {
      if (name.rfind(prefix + ":", 0) != 0) continue;
      double d = m.count("direct") ? m.at("direct") : 0;
      std::printf("| %s |", name.substr(prefix.size() + 1).c_str());
      for (const auto& c : cols) {
        if (!m.count(c)) {
          std::printf(" - |");
          continue;
        }
        if (c == "direct") std::printf(" %.2f |", m.at(c));
        else std::printf(" %.2f (%.2fx) |", m.at(c), d > 0 ? m.at(c) / d : 0);
      }
      std::string fastest_tramp = prefix == "call" ? "tramp_invoke" : "tramp_thunk";
      std::string ffi = prefix == "call" ? "libffi" : "libffi_closure";
      if (m.count(ffi) && m.count(fastest_tramp)) std::printf(" %.1fx |\n", m.at(ffi) / m.at(fastest_tramp));
      else std::printf(" - |\n");
    }
  }
  std::map<std::string, std::map<std::string, double>> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<Row> all = rows();
  for (std::size_t k = 0; k < all.size(); ++k) {
    std::string base = std::string("call:") + all[k].name + "/";
    benchmark::RegisterBenchmark((base + "direct").c_str(), direct, static_cast<int>(k));
    benchmark::RegisterBenchmark((base + "tramp_bound").c_str(), tramp_bound, all[k]);
    benchmark::RegisterBenchmark((base + "tramp_invoke").c_str(), tramp_invoke, all[k]);
    benchmark::RegisterBenchmark((base + "libffi").c_str(), libffi_call, all[k]);
  }
  const char* cb_names[] = {"int(int,int)", "double(4 x double)", "struct {double,double} return", "12 int args"};
  for (int k = 0; k < 4; ++k) {
    std::string base = std::string("callback:") + cb_names[k] + "/";
    benchmark::RegisterBenchmark((base + "direct").c_str(), callback_bench, k, Cb::Direct);
    benchmark::RegisterBenchmark((base + "tramp_thunk").c_str(), callback_bench, k, Cb::Tramp);
    benchmark::RegisterBenchmark((base + "libffi_closure").c_str(), callback_bench, k, Cb::Libffi);
  }
  // Defaults for a table: 5 repetitions, medians only; any flag on the command line wins.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5", agg = "--benchmark_report_aggregates_only=true",
              mt = "--benchmark_min_time=0.1";
  args.insert(args.begin() + 1, {reps.data(), agg.data(), mt.data()});
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
