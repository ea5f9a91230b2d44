// Call overhead: a direct call vs tramp (invoke, bound) vs libffi's ffi_call, and callbacks:
// a direct call vs a tramp thunk vs a libffi closure. Every row runs in the same process; the
// table printed at the end gives the median of the repetitions and the ratios between them.
//
// The callees and the C callers live in callees.c, so no call here can be inlined, and the
// direct calls go through volatile function pointers: a real indirect call, like a stub's.
#include <algorithm>
#include <benchmark/benchmark.h>
#include <ffi.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

extern "C" {
struct Pair {
  double a, b;
};
struct Triple {
  long a, b, c;
};
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
__attribute__((ms_abi)) int w_add(int, int);
__attribute__((ms_abi)) double w_sum4(double, double, double, double);
__attribute__((ms_abi)) long w_triple(Triple);
int call_w_add(int(__attribute__((ms_abi)) *)(int, int), int, int);
double call_w_sum4(double(__attribute__((ms_abi)) *)(double, double, double, double), double);
}

namespace {

using Int12 = int(int, int, int, int, int, int, int, int, int, int, int, int);

// The arguments, in memory, as an interpreter would hold them.
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

// Direct calls: each target through a pointer the optimiser cannot see through.
int (*volatile p_add)(int, int) = b_add;
double (*volatile p_sum4)(double, double, double, double) = b_sum4;
double (*volatile p_mixed8)(int, double, long, float, void*, short, double,
                            unsigned char) = b_mixed8;
Int12* volatile p_int12 = b_int12;
Pair (*volatile p_pair)(double, double) = b_pair;
long (*volatile p_triple)(Triple) = b_triple;
int (*volatile p_printf_like)(const char*, ...) = b_printf_like;
int(__attribute__((ms_abi)) * volatile p_w_add)(int, int) = w_add;
double(__attribute__((ms_abi)) * volatile p_w_sum4)(double, double, double, double) = w_sum4;
long(__attribute__((ms_abi)) * volatile p_w_triple)(Triple) = w_triple;

template <class Call>
void direct(benchmark::State& state, Call call) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(call());
    benchmark::ClobberMemory();  // g's fields are reloaded every iteration
  }
}

struct Row {
  const char* name;
  const char* sig;
  void* fn;
  void (*direct)(benchmark::State&);
  std::vector<void*> args;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  unsigned fixed;  // variadic rows: the number of fixed arguments; 0 otherwise
  ffi_abi abi = FFI_DEFAULT_ABI;  // win64 rows: FFI_GNUW64, libffi's Win64 as gcc has it
};

ffi_type* triple_elements[] = {&ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, nullptr};
ffi_type triple_type = {0, 0, FFI_TYPE_STRUCT, triple_elements};
ffi_type* pair_elements[] = {&ffi_type_double, &ffi_type_double, nullptr};
ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, pair_elements};

void* fn_ptr(auto* f) { return reinterpret_cast<void*>(f); }

std::vector<Row> call_rows() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  std::vector<void*> i12;
  for (int& x : g.i) i12.push_back(&x);
  return {
      {"int(int,int)",
       "i32(i32, i32)",
       fn_ptr(b_add),
       [](benchmark::State& s) { direct(s, [] { return p_add(g.i[0], g.i[1]); }); },
       {&g.i[0], &g.i[1]},
       {I, I},
       I,
       0},
      {"double(4 x double)",
       "f64(f64, f64, f64, f64)",
       fn_ptr(b_sum4),
       [](benchmark::State& s) {
         direct(s, [] { return p_sum4(g.d[0], g.d[1], g.d[2], g.d[3]); });
       },
       {&g.d[0], &g.d[1], &g.d[2], &g.d[3]},
       {D, D, D, D},
       D,
       0},
      {"8 mixed args",
       "f64(i32, f64, i64, f32, ptr, i16, f64, u8)",
       fn_ptr(b_mixed8),
       [](benchmark::State& s) {
         direct(s, [] { return p_mixed8(g.i[0], g.d[0], g.l, g.f, g.p, g.s, g.d[1], g.uc); });
       },
       {&g.i[0], &g.d[0], &g.l, &g.f, &g.p, &g.s, &g.d[1], &g.uc},
       {I, D, &ffi_type_sint64, &ffi_type_float, &ffi_type_pointer, &ffi_type_sint16, D,
        &ffi_type_uint8},
       D,
       0},
      {"struct {double,double} return",
       "{f64, f64}(f64, f64)",
       fn_ptr(b_pair),
       [](benchmark::State& s) { direct(s, [] { return p_pair(g.d[0], g.d[1]); }); },
       {&g.d[0], &g.d[1]},
       {D, D},
       &pair_type,
       0},
      {"24-byte struct arg",
       "i64({i64, i64, i64})",
       fn_ptr(b_triple),
       [](benchmark::State& s) { direct(s, [] { return p_triple(g.t); }); },
       {&g.t},
       {&triple_type},
       &ffi_type_sint64,
       0},
      {"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)",
       fn_ptr(b_int12),
       [](benchmark::State& s) {
         direct(s, [] {
           return p_int12(g.i[0], g.i[1], g.i[2], g.i[3], g.i[4], g.i[5], g.i[6], g.i[7], g.i[8],
                          g.i[9], g.i[10], g.i[11]);
         });
       },
       i12, std::vector<ffi_type*>(12, I), I, 0},
      {"variadic i32(ptr, ...f64, i32)",
       "i32(ptr, ...f64, i32)",
       fn_ptr(b_printf_like),
       [](benchmark::State& s) { direct(s, [] { return p_printf_like(g.fmt, g.vd, g.vi); }); },
       {&g.fmt, &g.vd, &g.vi},
       {&ffi_type_pointer, D, I},
       I,
       1},
      {"win64 int(int,int)",
       "win64:i32(i32, i32)",
       fn_ptr(w_add),
       [](benchmark::State& s) { direct(s, [] { return p_w_add(g.i[0], g.i[1]); }); },
       {&g.i[0], &g.i[1]},
       {I, I},
       I,
       0,
       FFI_GNUW64},
      {"win64 double(4 x double)",
       "win64:f64(f64, f64, f64, f64)",
       fn_ptr(w_sum4),
       [](benchmark::State& s) {
         direct(s, [] { return p_w_sum4(g.d[0], g.d[1], g.d[2], g.d[3]); });
       },
       {&g.d[0], &g.d[1], &g.d[2], &g.d[3]},
       {D, D, D, D},
       D,
       0,
       FFI_GNUW64},
      {"win64 24-byte struct arg",
       "win64:i64({i64, i64, i64})",
       fn_ptr(w_triple),
       [](benchmark::State& s) { direct(s, [] { return p_w_triple(g.t); }); },
       {&g.t},
       {&triple_type},
       &ffi_type_sint64,
       0,
       FFI_GNUW64},
  };
}

alignas(16) unsigned char ret_buf[64];

void tramp_invoke(benchmark::State& state, const Row& row) {
  tramp::Invoker inv = tramp::Engine::global().invoker(row.sig);
  void* const* args = row.args.data();
  for (auto _ : state) {
    inv(row.fn, ret_buf, args);
    benchmark::ClobberMemory();
  }
}

// Invoker::direct<R>(): the value comes back in a register; no `ret` store, and with no
// stack arguments the stub tail-jumps to the target. Rows whose value is not one register
// (a struct return) have no such variant.
template <class R>
void direct_loop(benchmark::State& state, const Row& row, const tramp::Invoker& inv) {
  auto f = inv.direct<R>();
  void* const* args = row.args.data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(f(row.fn, args));
    benchmark::ClobberMemory();
  }
}

void tramp_direct(benchmark::State& state, const Row& row) {
  tramp::Invoker inv = tramp::Engine::global().invoker(row.sig);
  switch (inv.signature().ret()->kind()) {
    case tramp::TypeKind::I32: return direct_loop<int>(state, row, inv);
    case tramp::TypeKind::I64: return direct_loop<long>(state, row, inv);
    case tramp::TypeKind::F64: return direct_loop<double>(state, row, inv);
    default: state.SkipWithError("no register-return variant for this return type");
  }
}

void tramp_bound(benchmark::State& state, const Row& row) {
  tramp::BoundCall bound = tramp::Engine::global().invoker(row.sig).bind(row.fn);
  void* const* args = row.args.data();
  for (auto _ : state) {
    bound(ret_buf, args);
    benchmark::ClobberMemory();
  }
}

void libffi_call(benchmark::State& state, Row row) {  // a copy: ffi_prep_cif keeps the arrays
  ffi_cif cif;
  unsigned n = static_cast<unsigned>(row.args.size());
  ffi_status st =
      row.fixed ? ffi_prep_cif_var(&cif, row.abi, row.fixed, n, row.ffi_ret, row.ffi_args.data())
                : ffi_prep_cif(&cif, row.abi, n, row.ffi_ret, row.ffi_args.data());
  if (st != FFI_OK) {
    state.SkipWithError("ffi_prep_cif failed");
    return;
  }
  // libffi 3.4.4 on x86-64 replaces avalue[i] of a by-reference struct (SysV over 16 bytes,
  // Win64 other than 1, 2, 4, 8) with the address of its own copy in a frame that is gone
  // after the call; so such rows get their pointers back before every call.
  const std::vector<void*> pristine = row.args;
  ffi_call(&cif, FFI_FN(row.fn), ret_buf, row.args.data());
  const bool rewritten = row.args != pristine;
  for (auto _ : state) {
    if (rewritten) std::copy(pristine.begin(), pristine.end(), row.args.begin());
    ffi_call(&cif, FFI_FN(row.fn), ret_buf, row.args.data());
    benchmark::ClobberMemory();
  }
}

// Callbacks: a C function (callees.c) calls (a) a C function, (b) a tramp thunk, (c) a libffi
// closure, all computing the same thing.
int h_add(int a, int b) { return a + b; }
__attribute__((ms_abi)) int h_w_add(int a, int b) { return a + b; }
__attribute__((ms_abi)) double h_w_sum4(double a, double b, double c, double d) {
  return a + b + c + d;
}
double h_sum4(double a, double b, double c, double d) { return a + b + c + d; }
Pair h_pair(double a, double b) { return {a, b}; }
int h_int12(int a, int b, int c, int d, int e, int f, int g2, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g2 + h + i + j + k + l;
}

template <class T>
T arg(void* const* a, int i) {
  return *static_cast<const T*>(a[i]);
}
void t_add(void* ret, void* const* a, void*) {
  *static_cast<int*>(ret) = arg<int>(a, 0) + arg<int>(a, 1);
}
void t_sum4(void* ret, void* const* a, void*) {
  *static_cast<double*>(ret) =
      arg<double>(a, 0) + arg<double>(a, 1) + arg<double>(a, 2) + arg<double>(a, 3);
}
void t_pair(void* ret, void* const* a, void*) {
  *static_cast<Pair*>(ret) = {arg<double>(a, 0), arg<double>(a, 1)};
}
int sum12(void* const* a) {
  int s = 0;
  for (int i = 0; i < 12; ++i) s += arg<int>(a, i);
  return s;
}
void t_int12(void* ret, void* const* a, void*) { *static_cast<int*>(ret) = sum12(a); }
// libffi widens integer returns to ffi_arg.
void f_add(ffi_cif*, void* ret, void** a, void*) {
  *static_cast<ffi_arg*>(ret) = static_cast<ffi_arg>(arg<int>(a, 0) + arg<int>(a, 1));
}
void f_sum4(ffi_cif*, void* ret, void** a, void*) { t_sum4(ret, a, nullptr); }
void f_pair(ffi_cif*, void* ret, void** a, void*) { t_pair(ret, a, nullptr); }
void f_int12(ffi_cif*, void* ret, void** a, void*) {
  *static_cast<ffi_arg*>(ret) = static_cast<ffi_arg>(sum12(a));
}

using FfiFun = void (*)(ffi_cif*, void*, void**, void*);

class Closure {
 public:
  Closure(std::vector<ffi_type*> types, ffi_type* ret, FfiFun fun, ffi_abi abi)
      : types_(std::move(types)) {
    closure_ = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &code_));
    ffi_prep_cif(&cif_, abi, static_cast<unsigned>(types_.size()), ret, types_.data());
    ffi_prep_closure_loc(closure_, &cif_, fun, nullptr, code_);
  }
  ~Closure() { ffi_closure_free(closure_); }
  Closure(const Closure&) = delete;
  Closure& operator=(const Closure&) = delete;
  void* code() const { return code_; }

 private:
  ffi_cif cif_;
  std::vector<ffi_type*> types_;
  ffi_closure* closure_ = nullptr;
  void* code_ = nullptr;
};

struct CallbackRow {
  const char* name;
  const char* sig;
  void* direct_fn;
  tramp::Handler handler;
  FfiFun ffi_fun;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  int (*run)(void* fn);  // one call from C through fn
  ffi_abi abi = FFI_DEFAULT_ABI;
};

std::vector<CallbackRow> callback_rows() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  return {
      {"int(int,int)",
       "i32(i32, i32)",
       fn_ptr(h_add),
       t_add,
       f_add,
       {I, I},
       I,
       [](void* fn) { return call_add(reinterpret_cast<int (*)(int, int)>(fn), 1, 2); }},
      {"double(4 x double)",
       "f64(f64, f64, f64, f64)",
       fn_ptr(h_sum4),
       t_sum4,
       f_sum4,
       {D, D, D, D},
       D,
       [](void* fn) {
         using F = double(double, double, double, double);
         return static_cast<int>(call_sum4(reinterpret_cast<F*>(fn), 1.5));
       }},
      {"struct {double,double} return",
       "{f64, f64}(f64, f64)",
       fn_ptr(h_pair),
       t_pair,
       f_pair,
       {D, D},
       &pair_type,
       [](void* fn) {
         return static_cast<int>(call_pair(reinterpret_cast<Pair (*)(double, double)>(fn), 1.5).b);
       }},
      {"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)",
       fn_ptr(h_int12), t_int12, f_int12, std::vector<ffi_type*>(12, I), I,
       [](void* fn) { return call_int12(reinterpret_cast<Int12*>(fn), 3); }},
      {"win64 int(int,int)", "win64:i32(i32, i32)", fn_ptr(h_w_add), t_add, f_add, {I, I}, I,
       [](void* fn) {
         return call_w_add(reinterpret_cast<int(__attribute__((ms_abi)) *)(int, int)>(fn), 1, 2);
       },
       FFI_GNUW64},
      {"win64 double(4 x double)", "win64:f64(f64, f64, f64, f64)", fn_ptr(h_w_sum4), t_sum4,
       f_sum4, {D, D, D, D}, D,
       [](void* fn) {
         using F = __attribute__((ms_abi)) double(double, double, double, double);
         return static_cast<int>(call_w_sum4(reinterpret_cast<F*>(fn), 1.5));
       },
       FFI_GNUW64},
  };
}

enum class Via { Direct, TrampThunk, LibffiClosure };

void callback_bench(benchmark::State& state, const CallbackRow& row, Via via) {
  tramp::Callback thunk;
  std::unique_ptr<Closure> closure;
  void* fn = row.direct_fn;
  if (via == Via::TrampThunk) {
    thunk = tramp::Engine::global().callback(tramp::parse_signature(row.sig), row.handler);
    fn = const_cast<void*>(thunk.code());
  } else if (via == Via::LibffiClosure) {
    closure = std::make_unique<Closure>(row.ffi_args, row.ffi_ret, row.ffi_fun, row.abi);
    fn = closure->code();
  }
  for (auto _ : state) benchmark::DoNotOptimize(row.run(fn));
}

// ---- setup costs: making stubs and callbacks ----

// 1,555 distinct signatures (0 to 4 arguments over six scalar types) and their libffi types.
struct SetupSig {
  std::string text;
  std::vector<ffi_type*> ffi_args;
};
const std::vector<SetupSig>& setup_signatures() {
  static const std::vector<SetupSig> sigs = [] {
    const std::pair<const char*, ffi_type*> types[] = {
        {"i32", &ffi_type_sint32}, {"i64", &ffi_type_sint64}, {"f64", &ffi_type_double},
        {"f32", &ffi_type_float},  {"ptr", &ffi_type_pointer}, {"u8", &ffi_type_uint8}};
    std::vector<SetupSig> out;
    for (int n = 0; n <= 4; ++n) {
      int combos = 1;
      for (int k = 0; k < n; ++k) combos *= 6;
      for (int c = 0; c < combos; ++c) {
        SetupSig s{"i64(", {}};
        for (int k = 0, v = c; k < n; ++k, v /= 6) {
          s.text += std::string(k ? ", " : "") + types[v % 6].first;
          s.ffi_args.push_back(types[v % 6].second);
        }
        s.text += ")";
        out.push_back(std::move(s));
      }
    }
    return out;
  }();
  return sigs;
}

// A stub for a signature the engine has not seen: parse (when from text), classify, emit,
// install. A fresh engine (outside the timing) every 1,555 signatures.
void setup_new_stub(benchmark::State& state, bool from_text) {
  const auto& sigs = setup_signatures();
  std::vector<tramp::Signature> parsed;
  for (const auto& s : sigs) parsed.push_back(tramp::parse_signature(s.text));
  auto engine = std::make_unique<tramp::Engine>();
  std::size_t i = 0;
  for (auto _ : state) {
    if (i == sigs.size()) {
      state.PauseTiming();
      engine = std::make_unique<tramp::Engine>();
      i = 0;
      state.ResumeTiming();
    }
    if (from_text)
      benchmark::DoNotOptimize(engine->invoker(sigs[i].text).entry());
    else
      benchmark::DoNotOptimize(engine->invoker(parsed[i]).entry());
    ++i;
  }
}

void setup_ffi_prep_cif(benchmark::State& state) {
  const auto& sigs = setup_signatures();
  std::size_t i = 0;
  ffi_cif cif;
  for (auto _ : state) {
    const SetupSig& s = sigs[i];
    benchmark::DoNotOptimize(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(s.ffi_args.size()),
                                          &ffi_type_sint64, const_cast<ffi_type**>(s.ffi_args.data())));
    benchmark::ClobberMemory();
    i = i + 1 == sigs.size() ? 0 : i + 1;
  }
}

// An invoker for a signature already in the cache.
void setup_cache_hit(benchmark::State& state) {
  tramp::Engine engine;
  tramp::Signature sig = tramp::parse_signature("f64(f64, f64, i32)");
  engine.invoker(sig);
  for (auto _ : state) benchmark::DoNotOptimize(engine.invoker(sig).entry());
}

void setup_callback_tramp(benchmark::State& state) {
  tramp::Signature sig = tramp::parse_signature("i32(i32, i32)");
  for (auto _ : state) {
    tramp::Callback cb = tramp::Engine::global().callback(sig, t_add);
    benchmark::DoNotOptimize(cb.code());
  }
}

void setup_callback_libffi(benchmark::State& state) {
  std::vector<ffi_type*> args = {&ffi_type_sint32, &ffi_type_sint32};
  for (auto _ : state) {
    Closure c(args, &ffi_type_sint32, f_add, FFI_DEFAULT_ABI);
    benchmark::DoNotOptimize(c.code());
  }
}

// The usual console output, then a markdown table of the medians with ratios to the direct
// call. Benchmark names are "<group>:<row>/<engine>"; rows keep their registration order.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      if (r.error_occurred || (!median && !single)) continue;
      std::string name = r.run_name.function_name;  // without the aggregate suffix
      std::size_t slash = name.rfind('/');
      std::string row = name.substr(0, slash);
      if (!ns_.count(row)) order_.push_back(row);
      ns_[row][name.substr(slash + 1)] = r.GetAdjustedRealTime();
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nMedian ns per call (ratio to direct), all rows from this one run.\n\n");
    print("call", {"direct", "tramp_bound", "tramp_invoke", "tramp_direct", "libffi"}, "tramp_invoke",
          "libffi / tramp invoke");
    std::printf("\n");
    print("callback", {"direct", "tramp_thunk", "libffi_closure"}, "tramp_thunk", "libffi / tramp");
    std::printf("\n| setup | tramp ns | libffi ns |\n|---|---:|---:|\n");
    for (const std::string& row : order_) {
      if (row.rfind("setup:", 0) != 0) continue;
      const auto& m = ns_.at(row);
      auto cell = [&](const char* e) {
        return m.count(e) ? std::to_string(static_cast<long>(m.at(e) + 0.5)) : std::string("-");
      };
      std::printf("| %s | %s | %s |\n", row.substr(6).c_str(), cell("tramp").c_str(), cell("libffi").c_str());
    }
  }

 private:
  void print(const std::string& group, const std::vector<std::string>& engines,
             const std::string& tramp, const std::string& last) {
    std::printf("| %s |", group == "call" ? "call" : "callback");
    for (const std::string& e : engines) std::printf(" %s |", title(e).c_str());
    std::printf(" %s |\n|---|", last.c_str());
    for (std::size_t i = 0; i <= engines.size(); ++i) std::printf("---:|");
    std::printf("\n");
    std::string prefix = group + ":";
    for (const std::string& row : order_) {
      if (row.rfind(prefix, 0) != 0) continue;
      const auto& m = ns_.at(row);
      auto get = [&](const std::string& e) { return m.count(e) ? m.at(e) : 0.0; };
      double d = get("direct");
      std::printf("| %s |", row.substr(prefix.size()).c_str());
      for (const std::string& e : engines) {
        double v = get(e);
        if (v <= 0)
          std::printf(" - |");
        else if (e == "direct")
          std::printf(" %.2f |", v);
        else if (d > 0)
          std::printf(" %.2f (%.2fx) |", v, v / d);
        else
          std::printf(" %.2f |", v);
      }
      double lib = get(engines.back()), t = get(tramp);
      if (lib > 0 && t > 0)
        std::printf(" %.1fx |\n", lib / t);
      else
        std::printf(" - |\n");
    }
  }

  static std::string title(const std::string& engine) {
    std::string s = engine;
    for (char& c : s)
      if (c == '_') c = ' ';
    return s + " ns";
  }

  std::vector<std::string> order_;
  std::map<std::string, std::map<std::string, double>> ns_;
};

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<Row> calls = call_rows();
  for (const Row& row : calls) {
    std::string base = std::string("call:") + row.name + "/";
    benchmark::RegisterBenchmark((base + "direct").c_str(), row.direct);
    benchmark::RegisterBenchmark((base + "tramp_bound").c_str(), tramp_bound, row);
    benchmark::RegisterBenchmark((base + "tramp_invoke").c_str(), tramp_invoke, row);
    benchmark::RegisterBenchmark((base + "tramp_direct").c_str(), tramp_direct, row);
    benchmark::RegisterBenchmark((base + "libffi").c_str(), libffi_call, row);
  }
  static const std::vector<CallbackRow> callbacks = callback_rows();
  for (const CallbackRow& row : callbacks) {
    std::string base = std::string("callback:") + row.name + "/";
    benchmark::RegisterBenchmark((base + "direct").c_str(), callback_bench, row, Via::Direct);
    benchmark::RegisterBenchmark((base + "tramp_thunk").c_str(), callback_bench, row,
                                 Via::TrampThunk);
    benchmark::RegisterBenchmark((base + "libffi_closure").c_str(), callback_bench, row,
                                 Via::LibffiClosure);
  }

  benchmark::RegisterBenchmark("setup:stub for a new signature, from text (parse, classify, emit)/tramp",
                               setup_new_stub, true);
  benchmark::RegisterBenchmark("setup:stub for a new signature, from a Signature/tramp", setup_new_stub, false);
  benchmark::RegisterBenchmark("setup:stub for a new signature, from a Signature/libffi", setup_ffi_prep_cif);
  benchmark::RegisterBenchmark("setup:invoker from the cache/tramp", setup_cache_hit);
  benchmark::RegisterBenchmark("setup:callback made and freed/tramp", setup_callback_tramp);
  benchmark::RegisterBenchmark("setup:callback made and freed/libffi", setup_callback_libffi);

  // Defaults for the table: 5 repetitions, aggregates only. Flags given on the command line
  // come later and win.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  std::string min_time = "--benchmark_min_time=0.1";
  args.insert(args.begin() + 1, {reps.data(), aggregates.data(), min_time.data()});
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  TableReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  // Code size: what each row's stub and thunk take in the code arena.
  std::printf("\n| code bytes | call stub | bound stub | callback thunk |\n|---|---:|---:|---:|\n");
  for (const Row& row : calls) {
    tramp::Signature sig = tramp::parse_signature(row.sig);
    tramp::Invoker inv = tramp::Engine::global().invoker(sig);
    tramp::BoundCall bound = inv.bind(row.fn);
    tramp::Callback cb = tramp::Engine::global().callback(sig, t_add);
    std::printf("| %s | %zu | %zu | %zu |\n", row.name, inv.code_size(), bound.code_size(), cb.code_size());
  }
  return 0;
}
