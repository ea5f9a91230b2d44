// `tramp bench` without a LIBRARY: the call matrix of bench/bench_calls.cpp (the same
// signatures, engines, callbacks and setup costs) measured in this process with a steady
// clock, and `tramp bench --scaling N`. See tools/bench_matrix.hpp.
//
// Timing: an engine's loop body is calibrated until one batch takes at least --batch-ms
// (10 ms; 1 ms with --quick), then timed over --reps batches (11; 3 with --quick); the result
// is the median batch's ns per call. Many short batches rather than a few long ones: on a
// shared machine a batch the scheduler interrupts is an outlier the median ignores. Every
// number of one table comes from the same run.
#include "tools/bench_matrix.hpp"

#include <dlfcn.h>
#include <ffi.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tools/bench_report.hpp"
#include "tramp/tramp.h"
#include "tramp/tramp.hpp"

// The targets and the C callers of the callback rows: never inlined, and (gcc's noipa) never
// analysed across the call, so every call timed here is a real call of a function whose
// result the compiler does not know.
#if defined(__clang__)
#define BENCH_TARGET __attribute__((noinline, used))
#else
#define BENCH_TARGET __attribute__((noinline, noipa, used))
#endif
#if defined(__x86_64__)
#define BENCH_WIN64 1  // Win64 rows: ms_abi functions, which only x86-64 compilers have
#define MS __attribute__((ms_abi))
#else
#define BENCH_WIN64 0
#endif

namespace tramp::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
  double a, b;
};
struct Triple {
  long a, b, c;
};
using Int12 = int(int, int, int, int, int, int, int, int, int, int, int, int);

BENCH_TARGET int b_add(int a, int b) { return a + b; }
BENCH_TARGET double b_sum4(double a, double b, double c, double d) { return a + b + c + d; }
BENCH_TARGET double b_mixed8(int a, double b, long c, float d, void* e, short f, double g, unsigned char h) {
  return a + b + static_cast<double>(c) + d + (e ? 1 : 0) + f + g + h;
}
BENCH_TARGET int b_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
BENCH_TARGET Pair b_pair(double a, double b) { return {a, b}; }
BENCH_TARGET long b_triple(Triple t) { return t.a + t.b + t.c; }
BENCH_TARGET int b_printf_like(const char* fmt, ...) { return fmt[0]; }  // a no-op printf
#if BENCH_WIN64
BENCH_TARGET MS int w_add(int a, int b) { return a + b; }
BENCH_TARGET MS double w_sum4(double a, double b, double c, double d) { return a + b + c + d; }
BENCH_TARGET MS long w_triple(Triple t) { return t.a + t.b + t.c; }
#endif

// Callbacks: C functions that call the function pointer they are given, as native code calls
// a callback, and the plain functions a direct callback row passes them.
BENCH_TARGET int call_add(int (*f)(int, int), int a, int b) { return f(a, b); }
BENCH_TARGET double call_sum4(double (*f)(double, double, double, double), double a) { return f(a, a, a, a); }
BENCH_TARGET Pair call_pair(Pair (*f)(double, double), double a) { return f(a, a); }
BENCH_TARGET int call_int12(Int12* f, int a) { return f(a, a, a, a, a, a, a, a, a, a, a, a); }
BENCH_TARGET int h_add(int a, int b) { return a + b; }
BENCH_TARGET double h_sum4(double a, double b, double c, double d) { return a + b + c + d; }
BENCH_TARGET Pair h_pair(double a, double b) { return {a, b}; }
BENCH_TARGET int h_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
#if BENCH_WIN64
BENCH_TARGET int call_w_add(int(MS* f)(int, int), int a, int b) { return f(a, b); }
BENCH_TARGET double call_w_sum4(double(MS* f)(double, double, double, double), double a) { return f(a, a, a, a); }
BENCH_TARGET MS int h_w_add(int a, int b) { return a + b; }
BENCH_TARGET MS double h_w_sum4(double a, double b, double c, double d) { return a + b + c + d; }
#endif

// The scaling run's target. Its callers pass up to 7 arguments it does not read, which SysV
// and AAPCS64 allow.
BENCH_TARGET long scaling_target() { return 7; }

// The arguments, in memory, as an interpreter holds them.
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

// Every engine writes its result here; the direct calls too, as the stubs do through `ret`.
alignas(16) unsigned char g_ret[64];

inline void clobber() { asm volatile("" : : : "memory"); }
template <class T>
inline void put(const T& v) {
  std::memcpy(g_ret, &v, sizeof v);
  clobber();
}
inline void keep(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// Direct calls through pointers the optimiser cannot see through: a real indirect call.
int (*volatile p_add)(int, int) = b_add;
double (*volatile p_sum4)(double, double, double, double) = b_sum4;
double (*volatile p_mixed8)(int, double, long, float, void*, short, double, unsigned char) = b_mixed8;
Int12* volatile p_int12 = b_int12;
Pair (*volatile p_pair)(double, double) = b_pair;
long (*volatile p_triple)(Triple) = b_triple;
int (*volatile p_printf_like)(const char*, ...) = b_printf_like;
#if BENCH_WIN64
int(MS* volatile p_w_add)(int, int) = w_add;
double(MS* volatile p_w_sum4)(double, double, double, double) = w_sum4;
long(MS* volatile p_w_triple)(Triple) = w_triple;
#endif

struct Timing {
  int reps = 11;
  double batch_ms = 10;
  std::size_t setup_sigs = 0;  // signatures per cold-stub batch; 0: all 1,555
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The median ns per call of f() over t.reps batches of at least t.batch_ms each.
template <class F>
double time_ns(F f, const Timing& t) {
  auto batch = [&](long n) {
    const auto t0 = Clock::now();
    for (long i = 0; i < n; ++i) f();
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  };
  const double target = t.batch_ms * 1e6;
  long n = 1;
  for (;;) {
    const double ns = batch(n);
    if (ns >= target || n >= (1L << 34)) break;
    const long next = ns > target / 50 ? static_cast<long>(static_cast<double>(n) * target / ns * 1.1) + 1 : n * 8;
    n = std::max(next, n + 1);
  }
  std::vector<double> per_call;
  for (int r = 0; r < t.reps; ++r) per_call.push_back(batch(n) / static_cast<double>(n));
  return median(per_call);
}

// A row's direct call, timed (with the call inlined into the timing loop) and made once.
struct DirectFns {
  double (*time)(const Timing&);
  void (*once)();
};
template <class F>
DirectFns direct_fns(F) {
  return {[](const Timing& t) { return time_ns(F{}, t); }, [] { F{}(); }};
}

// ---- calls ----

struct CallRow {
  const char* name;
  const char* sig;
  const char* shown;  // the signature as the chart shows it
  void* fn;
  DirectFns direct;
  std::vector<void*> args;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  unsigned fixed = 0;  // variadic rows: the number of fixed arguments
  ffi_abi abi = FFI_DEFAULT_ABI;
};

ffi_type* triple_elements[] = {&ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, nullptr};
ffi_type triple_type = {0, 0, FFI_TYPE_STRUCT, triple_elements};
ffi_type* pair_elements[] = {&ffi_type_double, &ffi_type_double, nullptr};
ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, pair_elements};

void* fn_ptr(auto* f) { return reinterpret_cast<void*>(f); }

std::vector<CallRow> call_rows() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  std::vector<void*> i12;
  for (int& x : g.i) i12.push_back(&x);
  std::vector<CallRow> rows = {
      {"int(int,int)", "i32(i32, i32)", "i32(i32, i32)", fn_ptr(b_add),
       direct_fns([] { put(p_add(g.i[0], g.i[1])); }), {&g.i[0], &g.i[1]}, {I, I}, I},
      {"double(4 x double)", "f64(f64, f64, f64, f64)", "f64(f64, f64, f64, f64)", fn_ptr(b_sum4),
       direct_fns([] { put(p_sum4(g.d[0], g.d[1], g.d[2], g.d[3])); }), {&g.d[0], &g.d[1], &g.d[2], &g.d[3]},
       {D, D, D, D}, D},
      {"8 mixed args", "f64(i32, f64, i64, f32, ptr, i16, f64, u8)", "f64(i32, f64, i64, f32, ptr, i16, f64, u8)",
       fn_ptr(b_mixed8), direct_fns([] { put(p_mixed8(g.i[0], g.d[0], g.l, g.f, g.p, g.s, g.d[1], g.uc)); }),
       {&g.i[0], &g.d[0], &g.l, &g.f, &g.p, &g.s, &g.d[1], &g.uc},
       {I, D, &ffi_type_sint64, &ffi_type_float, &ffi_type_pointer, &ffi_type_sint16, D, &ffi_type_uint8}, D},
      {"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)", "i32(12 x i32)",
       fn_ptr(b_int12), direct_fns([] {
         put(p_int12(g.i[0], g.i[1], g.i[2], g.i[3], g.i[4], g.i[5], g.i[6], g.i[7], g.i[8], g.i[9], g.i[10],
                     g.i[11]));
       }),
       i12, std::vector<ffi_type*>(12, I), I},
      {"struct {double,double} return", "{f64, f64}(f64, f64)", "{f64, f64}(f64, f64)", fn_ptr(b_pair),
       direct_fns([] { put(p_pair(g.d[0], g.d[1])); }), {&g.d[0], &g.d[1]}, {D, D}, &pair_type},
      {"24-byte struct arg", "i64({i64, i64, i64})", "i64({i64, i64, i64})", fn_ptr(b_triple),
       direct_fns([] { put(p_triple(g.t)); }), {&g.t}, {&triple_type}, &ffi_type_sint64},
      {"variadic i32(ptr, ...f64, i32)", "i32(ptr, ...f64, i32)", "printf-like, into a no-op",
       fn_ptr(b_printf_like), direct_fns([] { put(p_printf_like(g.fmt, g.vd, g.vi)); }),
       {&g.fmt, &g.vd, &g.vi}, {&ffi_type_pointer, D, I}, I, 1},
  };
#if BENCH_WIN64
  rows.push_back({"win64 int(int,int)", "win64:i32(i32, i32)", "ms_abi i32(i32, i32)", fn_ptr(w_add),
                  direct_fns([] { put(p_w_add(g.i[0], g.i[1])); }), {&g.i[0], &g.i[1]}, {I, I}, I, 0, FFI_GNUW64});
  rows.push_back({"win64 double(4 x double)", "win64:f64(f64, f64, f64, f64)", "ms_abi f64(f64, f64, f64, f64)",
                  fn_ptr(w_sum4), direct_fns([] { put(p_w_sum4(g.d[0], g.d[1], g.d[2], g.d[3])); }),
                  {&g.d[0], &g.d[1], &g.d[2], &g.d[3]}, {D, D, D, D}, D, 0, FFI_GNUW64});
  rows.push_back({"win64 24-byte struct arg", "win64:i64({i64, i64, i64})", "ms_abi i64({i64, i64, i64})",
                  fn_ptr(w_triple), direct_fns([] { put(p_w_triple(g.t)); }), {&g.t}, {&triple_type},
                  &ffi_type_sint64, 0, FFI_GNUW64});
#endif
  return rows;
}

// A libffi's entry points: Debian's, linked, or the libffi face (ffi/), loaded by full path
// beside it (it exports only libffi's names and binds its own references to itself).
struct Libffi {
  decltype(&ffi_prep_cif) prep_cif = nullptr;
  decltype(&ffi_prep_cif_var) prep_cif_var = nullptr;
  decltype(&ffi_call) call = nullptr;
  decltype(&ffi_closure_alloc) closure_alloc = nullptr;
  decltype(&ffi_prep_closure_loc) prep_closure_loc = nullptr;
  decltype(&ffi_closure_free) closure_free = nullptr;
  std::string error;  // why the face could not be loaded
  explicit operator bool() const { return call != nullptr; }
};
const Libffi& debian_libffi() {
  static const Libffi l{&ffi_prep_cif, &ffi_prep_cif_var, &ffi_call, &ffi_closure_alloc, &ffi_prep_closure_loc,
                        &ffi_closure_free, ""};
  return l;
}
#ifndef TRAMP_FFI_FACE_PATH
#define TRAMP_FFI_FACE_PATH ""
#endif
// TRAMP_FFI_FACE=path/libffi.so.8 overrides the one this tool was built with.
const Libffi& face_libffi() {
  static const Libffi l = [] {
    Libffi f;
    const char* path = std::getenv("TRAMP_FFI_FACE");
    if (!path || !*path) path = TRAMP_FFI_FACE_PATH;
    void* h = *path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
    if (!h) {
      f.error = *path ? std::string(dlerror()) : "no libffi face built (TRAMP_FFI_FACE=path/libffi.so.8)";
      return f;
    }
    f.prep_cif = reinterpret_cast<decltype(f.prep_cif)>(dlsym(h, "ffi_prep_cif"));
    f.prep_cif_var = reinterpret_cast<decltype(f.prep_cif_var)>(dlsym(h, "ffi_prep_cif_var"));
    f.closure_alloc = reinterpret_cast<decltype(f.closure_alloc)>(dlsym(h, "ffi_closure_alloc"));
    f.prep_closure_loc = reinterpret_cast<decltype(f.prep_closure_loc)>(dlsym(h, "ffi_prep_closure_loc"));
    f.closure_free = reinterpret_cast<decltype(f.closure_free)>(dlsym(h, "ffi_closure_free"));
    f.call = reinterpret_cast<decltype(f.call)>(dlsym(h, "ffi_call"));
    if (!f.prep_cif || !f.prep_cif_var || !f.closure_alloc || !f.prep_closure_loc || !f.closure_free || !f.call) {
      f.call = nullptr;
      f.error = std::string(path) + " lacks libffi's functions";
    }
    return f;
  }();
  return l;
}

enum CallEngine { kDirect, kBound, kInvoke, kCApi, kRegReturn, kLibffi, kFace, kCallEngines };
const char* const kCallEngineNames[] = {"direct", "tramp bound", "tramp invoke", "tramp C API", "tramp direct",
                                        "libffi", "libffi face"};
const char* const kCallColours[] = {"#7f7f7f", "#56b4e9", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#d55e00"};

// A row ready to run through every engine.
struct PreparedCall {
  const CallRow* row = nullptr;
  tramp::Signature sig;
  tramp::Invoker inv;
  tramp::BoundCall bound;
  tramp_invoke_fn c_api = nullptr;
  ffi_cif cif{};
  bool ffi_ok = false;
  ffi_cif face_cif{};  // the same cif, prepared by the face
  bool face_ok = false;
  // libffi's own argument array. libffi 3.4.4's ffi_call on x86-64 replaces avalue[i] of a
  // record larger than 16 bytes (8 for Win64) with the address of a copy in its own, by then
  // dead, frame: every call puts back the pointers of the record arguments.
  std::vector<void*> ffi_argv;
  std::vector<std::pair<std::size_t, void*>> ffi_restore;

  explicit PreparedCall(const CallRow& r) : row(&r), sig(tramp::parse_signature(r.sig)), ffi_argv(r.args) {
    for (std::size_t i = 0; i < r.ffi_args.size(); ++i)
      if (r.ffi_args[i]->type == FFI_TYPE_STRUCT) ffi_restore.emplace_back(i, r.args[i]);
    inv = tramp::Engine::global().invoker(sig);
    bound = inv.bind(r.fn);
    tramp_signature* csig = nullptr;
    if (tramp_signature_parse(r.sig, &csig) != TRAMP_OK || tramp_invoker(csig, &c_api) != TRAMP_OK)
      throw tramp::Error(tramp::ErrorCode::Unsupported, std::string("C API: ") + tramp_last_error());
    tramp_signature_free(csig);
    auto* types = const_cast<ffi_type**>(r.ffi_args.data());
    const auto n = static_cast<unsigned>(r.ffi_args.size());
    auto prep = [&](const Libffi& l, ffi_cif& c) {
      return l && (r.fixed ? l.prep_cif_var(&c, r.abi, r.fixed, n, r.ffi_ret, types)
                           : l.prep_cif(&c, r.abi, n, r.ffi_ret, types)) == FFI_OK;
    };
    ffi_ok = prep(debian_libffi(), cif);
    face_ok = prep(face_libffi(), face_cif);
  }

  // The register-return variant exists for this row's return type (one register's value).
  bool has_reg_return() const {
    const auto k = sig.ret()->kind();
    return k == tramp::TypeKind::I32 || k == tramp::TypeKind::I64 || k == tramp::TypeKind::F64;
  }
  bool has(int e) const {
    return e == kRegReturn ? has_reg_return() : e == kLibffi ? ffi_ok : e == kFace ? face_ok : true;
  }

  template <class R>
  double time_reg_return(const Timing& t) const {
    auto f = inv.direct<R>();
    const void* fn = row->fn;
    void* const* args = row->args.data();
    return time_ns([&] { put(f(fn, args)); }, t);
  }
  template <class R>
  void once_reg_return() const {
    put(inv.direct<R>()(row->fn, row->args.data()));
  }

  double time(int e, const Timing& t) const {
    const void* fn = row->fn;
    void* const* args = row->args.data();
    switch (e) {
      case kDirect: return row->direct.time(t);
      case kBound: {
        const tramp::BoundCall& b = bound;
        return time_ns([&] { b(g_ret, args); clobber(); }, t);
      }
      case kInvoke: {
        const tramp::Invoker i = inv;
        return time_ns([&] { i(fn, g_ret, args); clobber(); }, t);
      }
      case kCApi: {
        const tramp_invoke_fn f = c_api;
        return time_ns([&] { f(fn, g_ret, args); clobber(); }, t);
      }
      case kRegReturn:
        switch (sig.ret()->kind()) {
          case tramp::TypeKind::I32: return time_reg_return<int>(t);
          case tramp::TypeKind::I64: return time_reg_return<long>(t);
          default: return time_reg_return<double>(t);
        }
      case kFace: {  // the face leaves avalue alone: nothing to put back
        const auto call = face_libffi().call;
        ffi_cif* c = const_cast<ffi_cif*>(&face_cif);
        void** a = const_cast<void**>(row->args.data());
        return time_ns([&] { call(c, FFI_FN(fn), g_ret, a); clobber(); }, t);
      }
      default: {
        ffi_cif* c = const_cast<ffi_cif*>(&cif);
        void** a = const_cast<void**>(ffi_argv.data());
        if (ffi_restore.empty()) return time_ns([&] { ffi_call(c, FFI_FN(fn), g_ret, a); clobber(); }, t);
        const auto* restore = ffi_restore.data();
        const std::size_t n = ffi_restore.size();
        return time_ns(
            [&] {
              for (std::size_t k = 0; k < n; ++k) a[restore[k].first] = restore[k].second;
              ffi_call(c, FFI_FN(fn), g_ret, a);
              clobber();
            },
            t);
      }
    }
  }

  // One call through engine e, its result in g_ret.
  void once(int e) const {
    std::memset(g_ret, 0, sizeof g_ret);
    switch (e) {
      case kDirect: row->direct.once(); break;
      case kBound: bound(g_ret, row->args.data()); break;
      case kInvoke: inv(row->fn, g_ret, row->args.data()); break;
      case kCApi: c_api(row->fn, g_ret, row->args.data()); break;
      case kRegReturn:
        switch (sig.ret()->kind()) {
          case tramp::TypeKind::I32: once_reg_return<int>(); break;
          case tramp::TypeKind::I64: once_reg_return<long>(); break;
          default: once_reg_return<double>(); break;
        }
        break;
      case kFace:
        face_libffi().call(const_cast<ffi_cif*>(&face_cif), FFI_FN(row->fn), g_ret,
                           const_cast<void**>(row->args.data()));
        break;
      default: {
        auto& a = const_cast<std::vector<void*>&>(ffi_argv);
        for (const auto& [k, v] : ffi_restore) a[k] = v;
        ffi_call(const_cast<ffi_cif*>(&cif), FFI_FN(row->fn), g_ret, a.data());
      }
    }
  }
};

// ---- callbacks ----

template <class T>
T arg(void* const* a, int i) {
  return *static_cast<const T*>(a[i]);
}
void t_add(void* ret, void* const* a, void*) { *static_cast<int*>(ret) = arg<int>(a, 0) + arg<int>(a, 1); }
void t_sum4(void* ret, void* const* a, void*) {
  *static_cast<double*>(ret) = arg<double>(a, 0) + arg<double>(a, 1) + arg<double>(a, 2) + arg<double>(a, 3);
}
void t_pair(void* ret, void* const* a, void*) { *static_cast<Pair*>(ret) = {arg<double>(a, 0), arg<double>(a, 1)}; }
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
void f_int12(ffi_cif*, void* ret, void** a, void*) { *static_cast<ffi_arg*>(ret) = static_cast<ffi_arg>(sum12(a)); }

using FfiFun = void (*)(ffi_cif*, void*, void**, void*);

class Closure {
 public:
  Closure(std::vector<ffi_type*> types, ffi_type* ret, FfiFun fun, ffi_abi abi, const Libffi& l = debian_libffi())
      : types_(std::move(types)), free_(l.closure_free) {
    if (!l) return;
    closure_ = static_cast<ffi_closure*>(l.closure_alloc(sizeof(ffi_closure), &code_));
    if (!closure_ || l.prep_cif(&cif_, abi, static_cast<unsigned>(types_.size()), ret, types_.data()) != FFI_OK ||
        l.prep_closure_loc(closure_, &cif_, fun, nullptr, code_) != FFI_OK)
      code_ = nullptr;
  }
  ~Closure() {
    if (closure_) free_(closure_);
  }
  Closure(const Closure&) = delete;
  Closure& operator=(const Closure&) = delete;
  void* code() const { return code_; }

 private:
  ffi_cif cif_;
  std::vector<ffi_type*> types_;
  decltype(&ffi_closure_free) free_;
  ffi_closure* closure_ = nullptr;
  void* code_ = nullptr;
};

// A callback row's C caller, timed with the call inlined into the loop, and made once.
struct CallerFns {
  double (*time)(void* fn, const Timing&);
  void (*once)(void* fn);
};
template <class F>
CallerFns caller_fns(F) {
  return {[](void* fn, const Timing& t) { return time_ns([fn] { put(F{}(fn)); }, t); }, [](void* fn) { put(F{}(fn)); }};
}

struct CallbackRow {
  const char* name;
  const char* sig;
  const char* shown;
  void* direct_fn;
  tramp::Handler handler;
  FfiFun ffi_fun;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  CallerFns caller;
  ffi_abi abi = FFI_DEFAULT_ABI;
};

std::vector<CallbackRow> callback_rows() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  using Sum4 = double(double, double, double, double);
  std::vector<CallbackRow> rows = {
      {"int(int,int)", "i32(i32, i32)", "i32(i32, i32)", fn_ptr(h_add), t_add, f_add, {I, I}, I,
       caller_fns([](void* fn) { return call_add(reinterpret_cast<int (*)(int, int)>(fn), g.i[0], g.i[1]); })},
      {"double(4 x double)", "f64(f64, f64, f64, f64)", "f64(f64, f64, f64, f64)", fn_ptr(h_sum4), t_sum4, f_sum4,
       {D, D, D, D}, D, caller_fns([](void* fn) { return call_sum4(reinterpret_cast<Sum4*>(fn), g.d[0]); })},
      {"struct {double,double} return", "{f64, f64}(f64, f64)", "{f64, f64}(f64, f64)", fn_ptr(h_pair), t_pair,
       f_pair, {D, D}, &pair_type,
       caller_fns([](void* fn) { return call_pair(reinterpret_cast<Pair (*)(double, double)>(fn), g.d[0]); })},
      {"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)", "i32(12 x i32)",
       fn_ptr(h_int12), t_int12, f_int12, std::vector<ffi_type*>(12, I), I,
       caller_fns([](void* fn) { return call_int12(reinterpret_cast<Int12*>(fn), g.i[2]); })},
  };
#if BENCH_WIN64
  using WAdd = MS int(int, int);
  using WSum4 = MS double(double, double, double, double);
  rows.push_back({"win64 int(int,int)", "win64:i32(i32, i32)", "ms_abi i32(i32, i32)", fn_ptr(h_w_add), t_add,
                  f_add, {I, I}, I,
                  caller_fns([](void* fn) { return call_w_add(reinterpret_cast<WAdd*>(fn), g.i[0], g.i[1]); }),
                  FFI_GNUW64});
  rows.push_back({"win64 double(4 x double)", "win64:f64(f64, f64, f64, f64)", "ms_abi f64(f64, f64, f64, f64)",
                  fn_ptr(h_w_sum4), t_sum4, f_sum4, {D, D, D, D}, D,
                  caller_fns([](void* fn) { return call_w_sum4(reinterpret_cast<WSum4*>(fn), g.d[0]); }),
                  FFI_GNUW64});
#endif
  return rows;
}

enum CallbackEngine { kCbDirect, kCbThunk, kCbClosure, kCbFace, kCallbackEngines };
const char* const kCallbackEngineNames[] = {"direct", "tramp thunk", "libffi closure", "libffi face closure"};
const char* const kCallbackColours[] = {"#7f7f7f", "#0072b2", "#e69f00", "#d55e00"};

struct PreparedCallback {
  const CallbackRow* row;
  tramp::Signature sig;
  tramp::Callback thunk;
  std::unique_ptr<Closure> closure, face_closure;

  explicit PreparedCallback(const CallbackRow& r) : row(&r), sig(tramp::parse_signature(r.sig)) {
    thunk = tramp::Engine::global().callback(sig, r.handler);
    closure = std::make_unique<Closure>(r.ffi_args, r.ffi_ret, r.ffi_fun, r.abi);
    face_closure = std::make_unique<Closure>(r.ffi_args, r.ffi_ret, r.ffi_fun, r.abi, face_libffi());
  }
  void* fn(int e) const {
    switch (e) {
      case kCbDirect: return row->direct_fn;
      case kCbThunk: return const_cast<void*>(thunk.code());
      case kCbClosure: return closure->code();
      default: return face_closure->code();
    }
  }
  bool has(int e) const { return fn(e) != nullptr; }
};

// ---- setup costs ----

// 1,555 distinct signatures (0 to 4 arguments over six scalar types) and their libffi types,
// as bench/bench_calls.cpp makes them.
struct SetupSig {
  std::string text;
  std::vector<ffi_type*> ffi_args;
};
const std::vector<SetupSig>& setup_signatures() {
  static const std::vector<SetupSig> sigs = [] {
    const std::pair<const char*, ffi_type*> types[] = {{"i32", &ffi_type_sint32}, {"i64", &ffi_type_sint64},
                                                       {"f64", &ffi_type_double}, {"f32", &ffi_type_float},
                                                       {"ptr", &ffi_type_pointer}, {"u8", &ffi_type_uint8}};
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

// ns per stub for signatures a fresh engine has not seen: parse (from text), classify, emit,
// install. The engine is made and destroyed outside the timing; median over t.reps engines.
double cold_stub_ns(bool from_text, const Timing& t) {
  const auto& sigs = setup_signatures();
  const std::size_t n = t.setup_sigs ? std::min(t.setup_sigs, sigs.size()) : sigs.size();
  std::vector<tramp::Signature> parsed;
  for (std::size_t i = 0; i < n; ++i) parsed.push_back(tramp::parse_signature(sigs[i].text));
  std::vector<double> per_stub;
  for (int r = 0; r < t.reps; ++r) {
    auto engine = std::make_unique<tramp::Engine>();
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i)
      keep(reinterpret_cast<const void*>(from_text ? engine->invoker(sigs[i].text).entry()
                                                   : engine->invoker(parsed[i]).entry()));
    per_stub.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / static_cast<double>(n));
  }
  return median(per_stub);
}

// ffi_prep_cif of one signature again and again (CPython's ctypes prepares a cif per call).
double repeated_prep_cif_ns(const Libffi& l, std::vector<ffi_type*> types, ffi_type* ret, const Timing& t) {
  if (!l) return 0;
  ffi_cif cif;
  return time_ns(
      [&] {
        if (l.prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(types.size()), ret, types.data()) != FFI_OK)
          std::abort();
        clobber();
      },
      t);
}

double ffi_prep_cif_ns(const Timing& t) {
  const auto& sigs = setup_signatures();
  std::size_t i = 0;
  ffi_cif cif;
  return time_ns(
      [&] {
        const SetupSig& s = sigs[i];
        if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(s.ffi_args.size()), &ffi_type_sint64,
                         const_cast<ffi_type**>(s.ffi_args.data())) != FFI_OK)
          std::abort();
        clobber();
        i = i + 1 == sigs.size() ? 0 : i + 1;
      },
      t);
}

struct SetupResult {
  std::string what;
  double tramp_ns = 0, face_ns = 0, libffi_ns = 0;  // 0: not measured
};

struct CodeBytes {
  std::string row, sig;
  std::size_t call = 0, bound = 0, reg_return = 0, thunk = 0;  // 0: no such stub
};

// ---- the run and its reports ----

struct Group {
  std::string name, sig, shown;
  std::vector<double> ns;  // one per engine; 0 = not measured
};

struct MatrixResults {
  MachineInfo machine;
  Timing timing;
  std::vector<Group> calls, callbacks;
  std::vector<SetupResult> setup;
  std::vector<CodeBytes> code;
};

std::string cell(double v, double direct) {
  if (!(v > 0)) return "-";
  char buf[64];
  if (direct > 0 && v != direct)
    std::snprintf(buf, sizeof buf, "%.2f (%.2fx)", v, v / direct);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A column of ratios: engine `over` / engine `under` per row.
struct Ratio {
  int over, under;
  const char* title;
};

void print_table(const char* kind, const std::vector<Group>& groups, const char* const* engines, int n_engines,
                 std::initializer_list<Ratio> ratios) {
  std::printf("| %s |", kind);
  for (int e = 0; e < n_engines; ++e) std::printf(" %s ns |", engines[e]);
  for (const Ratio& q : ratios) std::printf(" %s |", q.title);
  std::printf("\n|---|");
  for (std::size_t e = 0; e < n_engines + ratios.size(); ++e) std::printf("---:|");
  std::printf("\n");
  for (const Group& g : groups) {
    std::printf("| %s |", g.name.c_str());
    for (int e = 0; e < n_engines; ++e) std::printf(" %s |", cell(g.ns[e], e ? g.ns[0] : 0).c_str());
    for (const Ratio& q : ratios) {
      const double over = g.ns[q.over], under = g.ns[q.under];
      if (over > 0 && under > 0)
        std::printf(" %.1fx |", over / under);
      else
        std::printf(" - |");
    }
    std::printf("\n");
  }
}

void print_results(const MatrixResults& r) {
  std::printf("tramp bench: median ns per call of %d batches of at least %g ms (ratio to direct)\n", r.timing.reps,
              r.timing.batch_ms);
  std::printf("%s\n\n", r.machine.line().c_str());
  print_table("call", r.calls, kCallEngineNames, kCallEngines,
              {{kLibffi, kInvoke, "libffi / tramp invoke"}, {kLibffi, kFace, "libffi / libffi face"}});
  std::printf("\n");
  print_table("callback", r.callbacks, kCallbackEngineNames, kCallbackEngines,
              {{kCbClosure, kCbThunk, "libffi / tramp"}, {kCbClosure, kCbFace, "libffi / libffi face"}});
  if (!face_libffi()) std::printf("\nlibffi face: not loaded (%s)\n", face_libffi().error.c_str());
  std::printf("\n| setup | tramp ns | libffi face ns | libffi ns |\n|---|---:|---:|---:|\n");
  auto ns = [](double v) { return v > 0 ? std::to_string(static_cast<long>(v + 0.5)) : std::string("-"); };
  for (const SetupResult& s : r.setup)
    std::printf("| %s | %s | %s | %s |\n", s.what.c_str(), ns(s.tramp_ns).c_str(), ns(s.face_ns).c_str(),
                ns(s.libffi_ns).c_str());
  std::printf("\n| code bytes | call stub | bound stub | register-return stub | callback thunk |\n"
              "|---|---:|---:|---:|---:|\n");
  auto bytes = [](std::size_t v) { return v ? std::to_string(v) : std::string("-"); };
  for (const CodeBytes& c : r.code)
    std::printf("| %s | %s | %s | %s | %s |\n", c.row.c_str(), bytes(c.call).c_str(), bytes(c.bound).c_str(),
                bytes(c.reg_return).c_str(), bytes(c.thunk).c_str());
}

std::string matrix_csv(const MatrixResults& r) {
  std::string out = "kind,row,signature,engine,value,unit,ratio_to_direct\n";
  auto groups = [&](const char* kind, const std::vector<Group>& gs, const char* const* engines, int n) {
    for (const Group& g : gs)
      for (int e = 0; e < n; ++e) {
        if (!(g.ns[e] > 0)) continue;
        out += std::string(kind) + "," + csv_field(g.name) + "," + csv_field(g.sig) + "," + csv_field(engines[e]) +
               "," + number(g.ns[e]) + ",ns," + (g.ns[0] > 0 ? number(g.ns[e] / g.ns[0], 4) : "") + "\n";
      }
  };
  groups("call", r.calls, kCallEngineNames, kCallEngines);
  groups("callback", r.callbacks, kCallbackEngineNames, kCallbackEngines);
  for (const SetupResult& s : r.setup) {
    if (s.tramp_ns > 0) out += "setup," + csv_field(s.what) + ",\"\",\"tramp\"," + number(s.tramp_ns) + ",ns,\n";
    if (s.face_ns > 0)
      out += "setup," + csv_field(s.what) + ",\"\",\"libffi face\"," + number(s.face_ns) + ",ns,\n";
    if (s.libffi_ns > 0) out += "setup," + csv_field(s.what) + ",\"\",\"libffi\"," + number(s.libffi_ns) + ",ns,\n";
  }
  for (const CodeBytes& c : r.code) {
    const std::pair<const char*, std::size_t> kinds[] = {
        {"call stub", c.call}, {"bound stub", c.bound}, {"register-return stub", c.reg_return},
        {"callback thunk", c.thunk}};
    for (const auto& [k, v] : kinds)
      if (v) out += "code," + csv_field(c.row) + "," + csv_field(c.sig) + "," + csv_field(k) + "," +
                    std::to_string(v) + ",bytes,\n";
  }
  return out;
}

std::string matrix_json(const MatrixResults& r) {
  std::string out = "{\n  \"tool\": \"tramp bench\",\n  \"machine\": " + json_string(r.machine.line()) +
                    ",\n  \"cpu\": " + json_string(r.machine.cpu) + ",\n  \"arch\": " + json_string(r.machine.arch) +
                    ",\n  \"compiler\": " + json_string(r.machine.compiler) +
                    ",\n  \"libffi\": " + json_string(r.machine.libffi) + ",\n  \"date\": " +
                    json_string(r.machine.date) + ",\n  \"repetitions\": " + std::to_string(r.timing.reps) +
                    ",\n  \"batch_ms\": " + number(r.timing.batch_ms) + ",\n  \"unit\": \"ns per call, median\"";
  auto groups = [&](const char* key, const std::vector<Group>& gs, const char* const* engines, int n) {
    out += ",\n  " + json_string(key) + ": [";
    for (std::size_t i = 0; i < gs.size(); ++i) {
      const Group& g = gs[i];
      out += std::string(i ? "," : "") + "\n    {\"row\": " + json_string(g.name) +
             ", \"signature\": " + json_string(g.sig) + ", \"results\": [";
      bool first = true;
      for (int e = 0; e < n; ++e) {
        if (!(g.ns[e] > 0)) continue;
        out += std::string(first ? "" : ", ") + "{\"engine\": " + json_string(engines[e]) +
               ", \"ns_per_call\": " + number(g.ns[e]) +
               ", \"ratio_to_direct\": " + (g.ns[0] > 0 ? number(g.ns[e] / g.ns[0], 4) : "null") + "}";
        first = false;
      }
      out += "]}";
    }
    out += "\n  ]";
  };
  groups("calls", r.calls, kCallEngineNames, kCallEngines);
  groups("callbacks", r.callbacks, kCallbackEngineNames, kCallbackEngines);
  out += ",\n  \"setup\": [";
  for (std::size_t i = 0; i < r.setup.size(); ++i) {
    const SetupResult& s = r.setup[i];
    out += std::string(i ? "," : "") + "\n    {\"what\": " + json_string(s.what) +
           ", \"tramp_ns\": " + (s.tramp_ns > 0 ? number(s.tramp_ns) : "null") +
           ", \"face_ns\": " + (s.face_ns > 0 ? number(s.face_ns) : "null") +
           ", \"libffi_ns\": " + (s.libffi_ns > 0 ? number(s.libffi_ns) : "null") + "}";
  }
  out += "\n  ],\n  \"code_bytes\": [";
  auto bytes = [](std::size_t v) { return v ? std::to_string(v) : std::string("null"); };
  for (std::size_t i = 0; i < r.code.size(); ++i) {
    const CodeBytes& c = r.code[i];
    out += std::string(i ? "," : "") + "\n    {\"row\": " + json_string(c.row) + ", \"signature\": " +
           json_string(c.sig) + ", \"call_stub\": " + bytes(c.call) + ", \"bound_stub\": " + bytes(c.bound) +
           ", \"register_return_stub\": " + bytes(c.reg_return) + ", \"callback_thunk\": " + bytes(c.thunk) + "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string matrix_svg(const MatrixResults& r) {
  char axis[160];
  std::snprintf(axis, sizeof axis, "ns per call, median of %d batches of at least %g ms (shorter is faster)",
                r.timing.reps, r.timing.batch_ms);
  auto section = [&](const std::string& title, const std::vector<Group>& gs, const char* const* engines,
                     const char* const* colours, int n) {
    BarSection s;
    s.title = title;
    s.axis_label = axis;
    s.series.assign(engines, engines + n);
    s.colours.assign(colours, colours + n);
    s.ratio_to = "direct";
    for (const Group& g : gs) s.groups.push_back({g.name, g.shown, g.ns});
    return s;
  };
  return bar_chart_svg(
      "tramp bench: the cost of one call, direct vs tramp vs libffi", r.machine.line(),
      {section("Calls: a C++ caller, arguments in memory (as an interpreter holds them); in brackets the ratio to direct",
               r.calls, kCallEngineNames, kCallColours, kCallEngines),
       section("Callbacks: a C function calls the function pointer it is given", r.callbacks, kCallbackEngineNames,
               kCallbackColours, kCallbackEngines)});
}

// Options shared by the matrix and scaling runs.
struct OutputFiles {
  std::string csv, json, svg;
};

bool take_output(const std::vector<std::string>& args, std::size_t& i, OutputFiles& out) {
  const std::string& a = args[i];
  if (a != "--csv" && a != "--json" && a != "--svg") return false;
  if (i + 1 >= args.size()) throw UsageError(a + " needs a FILE");
  (a == "--csv" ? out.csv : a == "--json" ? out.json : out.svg) = args[++i];
  return true;
}

long parse_count(const std::string& option, const std::string& text, long min) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || errno || v < min)
    throw UsageError(option + ": '" + text + "' is not a whole number >= " + std::to_string(min));
  return v;
}

}  // namespace

int bench_matrix(const std::vector<std::string>& args) {
  MatrixResults r;
  OutputFiles files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (take_output(args, i, files) || a == "--matrix") continue;
    if (a == "--quick") {
      r.timing.reps = 3;
      r.timing.batch_ms = 1;
      r.timing.setup_sigs = 200;
    } else if (a == "--reps" && i + 1 < args.size()) {
      r.timing.reps = static_cast<int>(parse_count(a, args[++i], 1));
    } else if (a == "--batch-ms" && i + 1 < args.size()) {
      char* end = nullptr;
      const std::string& v = args[++i];
      r.timing.batch_ms = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(r.timing.batch_ms > 0) || r.timing.batch_ms > 10000)
        throw UsageError("--batch-ms: '" + v + "' is not a time in ms (0 to 10000)");
    } else if (a == "--reps" || a == "--batch-ms") {
      throw UsageError(a + " needs a value");
    } else {
      throw UsageError("unexpected '" + a + "' (the matrix takes --quick, --reps N, --batch-ms X, --csv/--json/--svg FILE)");
    }
  }
  r.machine = machine_info();
  const Timing& t = r.timing;

  static const std::vector<CallRow> call_defs = call_rows();
  static const std::vector<CallbackRow> callback_defs = callback_rows();
  std::vector<std::unique_ptr<PreparedCall>> calls;
  for (const CallRow& row : call_defs) calls.push_back(std::make_unique<PreparedCall>(row));
  std::vector<std::unique_ptr<PreparedCallback>> callbacks;
  for (const CallbackRow& row : callback_defs) callbacks.push_back(std::make_unique<PreparedCallback>(row));

  // Every engine must compute what the direct call computes before any of them is timed.
  int wrong = 0;
  for (const auto& p : calls) {
    const std::size_t size = p->sig.ret()->size();
    p->once(kDirect);
    std::vector<unsigned char> want(g_ret, g_ret + size);
    for (int e = 1; e < kCallEngines; ++e) {
      if (!p->has(e)) continue;
      p->once(e);
      if (std::memcmp(g_ret, want.data(), size) != 0) {
        std::fprintf(stderr, "tramp bench: %s through %s returned another value than the direct call\n",
                     p->row->name, kCallEngineNames[e]);
        ++wrong;
      }
    }
  }
  for (const auto& p : callbacks) {
    const std::size_t size = p->sig.ret()->size();
    p->row->caller.once(p->fn(kCbDirect));
    std::vector<unsigned char> want(g_ret, g_ret + size);
    for (int e = 1; e < kCallbackEngines; ++e) {
      if (!p->has(e)) continue;
      std::memset(g_ret, 0, sizeof g_ret);
      p->row->caller.once(p->fn(e));
      if (std::memcmp(g_ret, want.data(), size) != 0) {
        std::fprintf(stderr, "tramp bench: callback %s through %s returned another value than the direct one\n",
                     p->row->name, kCallbackEngineNames[e]);
        ++wrong;
      }
    }
  }
  if (wrong) return 1;

  // The jobs, counted first for the progress line. They keep references into r.calls and
  // r.callbacks, which therefore never reallocate.
  std::vector<std::pair<std::string, std::function<void()>>> jobs;
  r.calls.reserve(calls.size());
  r.callbacks.reserve(callbacks.size());
  for (const auto& p : calls) {
    Group& g = r.calls.emplace_back(Group{p->row->name, p->sig.str(true), p->row->shown,
                                          std::vector<double>(kCallEngines, 0.0)});
    for (int e = 0; e < kCallEngines; ++e)
      if (p->has(e))
        jobs.emplace_back(std::string(p->row->name) + " " + kCallEngineNames[e],
                          [&g, &p, e, &t] { g.ns[e] = p->time(e, t); });
  }
  for (const auto& p : callbacks) {
    Group& g = r.callbacks.emplace_back(Group{std::string(p->row->name), p->sig.str(true), p->row->shown,
                                              std::vector<double>(kCallbackEngines, 0.0)});
    for (int e = 0; e < kCallbackEngines; ++e)
      if (p->has(e))
        jobs.emplace_back(std::string("callback ") + p->row->name + " " + kCallbackEngineNames[e],
                          [&g, &p, e, &t] { g.ns[e] = p->row->caller.time(p->fn(e), t); });
  }
  r.setup = {{"stub for a new signature, from text (parse, classify, emit)"},
             {"stub for a new signature, from a Signature"},
             {"invoker from the cache"},
             {"invoker from the cache, C API (tramp_invoker)"},
             {"callback made and freed"},
             {"ffi_prep_cif of a repeated int(int, int)"},
             {"ffi_prep_cif of a repeated double(int, double, ptr, long, float, int)"},
             {"ffi_prep_cif of a repeated {double, double}({double, double}, int)"},
             {"ffi_closure_alloc + ffi_prep_closure_loc + ffi_closure_free, int(int, int)"}};
  std::vector<SetupResult>& s = r.setup;
  jobs.emplace_back("setup: new stubs from text", [&] { s[0].tramp_ns = cold_stub_ns(true, t); });
  jobs.emplace_back("setup: new stubs from a Signature", [&] { s[1].tramp_ns = cold_stub_ns(false, t); });
  jobs.emplace_back("setup: libffi ffi_prep_cif", [&] { s[1].libffi_ns = ffi_prep_cif_ns(t); });
  jobs.emplace_back("setup: invoker from the cache", [&] {
    tramp::Engine engine;
    const tramp::Signature sig = tramp::parse_signature("f64(f64, f64, i32)");
    engine.invoker(sig);
    s[2].tramp_ns = time_ns([&] { keep(reinterpret_cast<const void*>(engine.invoker(sig).entry())); }, t);
  });
  jobs.emplace_back("setup: C API invoker from the cache", [&] {
    tramp_signature* sig = nullptr;
    if (tramp_signature_parse("f64(f64, f64, i32)", &sig) != TRAMP_OK) return;
    tramp_invoke_fn f = nullptr;
    s[3].tramp_ns = time_ns(
        [&] {
          tramp_invoker(sig, &f);
          keep(reinterpret_cast<const void*>(f));
        },
        t);
    tramp_signature_free(sig);
  });
  jobs.emplace_back("setup: tramp callback made and freed", [&] {
    const tramp::Signature sig = tramp::parse_signature("i32(i32, i32)");
    s[4].tramp_ns = time_ns(
        [&] {
          tramp::Callback cb = tramp::Engine::global().callback(sig, t_add);
          keep(cb.code());
        },
        t);
  });
  jobs.emplace_back("setup: libffi closure made and freed", [&] {
    const std::vector<ffi_type*> types = {&ffi_type_sint32, &ffi_type_sint32};
    s[4].libffi_ns = time_ns(
        [&] {
          Closure c(types, &ffi_type_sint32, f_add, FFI_DEFAULT_ABI);
          keep(c.code());
        },
        t);
  });
  static ffi_type* pair_elems[] = {&ffi_type_double, &ffi_type_double, nullptr};
  static ffi_type pair = {0, 0, FFI_TYPE_STRUCT, pair_elems};
  const std::vector<ffi_type*> prep_args[] = {
      {&ffi_type_sint32, &ffi_type_sint32},
      {&ffi_type_sint32, &ffi_type_double, &ffi_type_pointer, &ffi_type_sint64, &ffi_type_float, &ffi_type_sint32},
      {&pair, &ffi_type_sint32}};
  ffi_type* const prep_ret[] = {&ffi_type_sint32, &ffi_type_double, &pair};
  for (int k = 0; k < 3; ++k) {
    jobs.emplace_back("setup: face prep_cif", [&, k] {
      s[5 + k].face_ns = repeated_prep_cif_ns(face_libffi(), prep_args[k], prep_ret[k], t);
    });
    jobs.emplace_back("setup: libffi prep_cif", [&, k] {
      s[5 + k].libffi_ns = repeated_prep_cif_ns(debian_libffi(), prep_args[k], prep_ret[k], t);
    });
  }
  for (int which = 0; which < 2; ++which)
    jobs.emplace_back("setup: closure made and freed", [&, which] {
      const Libffi& l = which ? debian_libffi() : face_libffi();
      if (!l) return;
      const std::vector<ffi_type*> types = {&ffi_type_sint32, &ffi_type_sint32};
      (which ? s[8].libffi_ns : s[8].face_ns) = time_ns(
          [&] {
            Closure c(types, &ffi_type_sint32, f_add, FFI_DEFAULT_ABI, l);
            keep(c.code());
          },
          t);
    });
  jobs.emplace_back("code bytes", [&] {
    for (const auto& p : calls) {
      CodeBytes c{p->row->name, p->sig.str(true)};
      c.call = p->inv.code_size();
      c.bound = p->bound.code_size();
      if (p->has_reg_return()) c.reg_return = tramp::machine_code(p->sig, tramp::CodeKind::RegisterReturn).size();
      try {
        c.thunk = tramp::Engine::global().callback(p->sig, t_add).code_size();
      } catch (const tramp::Error&) {
      }
      r.code.push_back(c);
    }
  });

  {
    Progress progress(jobs.size());
    for (auto& [label, job] : jobs) {
      progress.step(label);
      job();
    }
  }
  print_results(r);
  if (!files.csv.empty()) write_text_file(files.csv, matrix_csv(r));
  if (!files.json.empty()) write_text_file(files.json, matrix_json(r));
  if (!files.svg.empty()) write_text_file(files.svg, matrix_svg(r));
  return 0;
}

// ---- scaling ----

namespace {

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// The n-th signature: i64 return and `width` arguments, argument k the k-th digit of n in
// base 6 over six scalar types, so every n below 6^width gives a different signature.
// bench/scaling.cpp's idea, with one difference: every signature of a run has the same
// number of arguments (the fewest that give N signatures: 7 for 100,000), because the time to
// make a stub grows with its arguments, and the curve should show the number of stubs alone.
std::string scaling_signature(long n, int width) {
  static const char* const kTypes[] = {"i32", "i64", "f64", "f32", "ptr", "u16"};
  std::string s = "i64(";
  for (int k = 0; k < width; ++k, n /= 6) s += std::string(k ? ", " : "") + kTypes[n % 6];
  return s + ")";
}

struct Sample {
  long stubs;
  double ns_per_stub;  // the batch ending here: its time over its stubs
  double median_ns;    // the batch's median stub (what interruptions and rehashing leave out)
  std::size_t code_in_use, code_mapped;
  long resident_kib;  // growth since the start
};

// Least-squares slope of y over x and the coefficient of determination.
std::pair<double, double> fit(const std::vector<std::pair<double, double>>& pts) {
  const double n = static_cast<double>(pts.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (const auto& [x, y] : pts) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  const double cov = sxy - sx * sy / n, vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
  if (!(vx > 0)) return {0, 0};
  return {cov / vx, vy > 0 ? cov * cov / (vx * vy) : 1};
}

}  // namespace

int bench_scaling(const std::vector<std::string>& args) {
  long count = 0;
  long points = 20;
  OutputFiles files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (take_output(args, i, files)) continue;
    if ((a == "--scaling" || a == "--points") && i + 1 < args.size())
      (a == "--scaling" ? count : points) = parse_count(a, args[++i], 1);
    else if (a == "--scaling" || a == "--points")
      throw UsageError(a + " needs a number");
    else
      throw UsageError("unexpected '" + a + "' (--scaling N takes --points P, --csv/--json/--svg FILE)");
  }
  if (count > 10000000) throw UsageError("--scaling: at most 10000000 signatures");
  points = std::min(points, count);
  const MachineInfo machine = machine_info();
  int width = 1;
  for (long distinct = 6; distinct < count; distinct *= 6) ++width;

  tramp::Engine engine;
  std::vector<unsigned char> arg_bytes(16 * 8, 0);
  std::vector<void*> argv(16);
  for (int i = 0; i < 16; ++i) argv[i] = arg_bytes.data() + 8 * i;
  void* const target = reinterpret_cast<void*>(&scaling_target);
  std::vector<Sample> samples;
  std::vector<std::string> texts;
  long checksum = 0, done = 0;
  const long rss0 = resident_kib();
  {
    Progress progress(static_cast<std::size_t>(points));
    for (long k = 1; k <= points; ++k) {
      const long end = count * k / points;
      texts.clear();
      for (long i = done; i < end; ++i) texts.push_back(scaling_signature(i, width));
      progress.step(std::to_string(end) + " of " + std::to_string(count) + " signatures");
      std::vector<double> each;
      each.reserve(texts.size());
      const auto t0 = Clock::now();
      auto before = t0;
      for (const std::string& text : texts) {
        long r = 0;
        engine.invoker(text)(target, &r, argv.data());
        checksum += r;
        const auto after = Clock::now();
        each.push_back(std::chrono::duration<double, std::nano>(after - before).count());
        before = after;
      }
      const double ns = std::chrono::duration<double, std::nano>(before - t0).count();
      const tramp::CodeStats cs = engine.code_stats();
      samples.push_back({end, ns / static_cast<double>(end - done), median(std::move(each)), cs.bytes_in_use,
                         cs.bytes_mapped, resident_kib() - rss0});
      done = end;
    }
  }
  if (checksum != 7 * count || engine.cached_stubs() != static_cast<std::size_t>(count)) {
    std::fprintf(stderr, "tramp bench --scaling: %zu stubs cached, checksum %ld (want %ld): wrong\n",
                 engine.cached_stubs(), checksum, 7 * count);
    return 1;
  }

  std::vector<double> times, medians;
  std::vector<std::pair<double, double>> code_pts, rss_pts;
  for (const Sample& s : samples) {
    times.push_back(s.ns_per_stub);
    medians.push_back(s.median_ns);
    code_pts.emplace_back(static_cast<double>(s.stubs), static_cast<double>(s.code_in_use));
    rss_pts.emplace_back(static_cast<double>(s.stubs), 1024.0 * static_cast<double>(s.resident_kib));
  }
  const auto [code_slope, code_r2] = fit(code_pts);
  const auto [rss_slope, rss_r2] = fit(rss_pts);
  const double t_med = median(times);
  const double t_min = *std::min_element(times.begin(), times.end());
  const double t_max = *std::max_element(times.begin(), times.end());

  std::printf("tramp bench --scaling %ld: distinct signatures of %d arguments made and called through one engine\n"
              "%s\n\n",
              count, width, machine.line().c_str());
  std::printf("| signatures | ns per new stub (this batch) | median stub ns (this batch) | code bytes in use | "
              "code bytes mapped | resident KiB |\n|---:|---:|---:|---:|---:|---:|\n");
  for (const Sample& s : samples)
    std::printf("| %ld | %.0f | %.0f | %zu | %zu | %ld |\n", s.stubs, s.ns_per_stub, s.median_ns, s.code_in_use,
                s.code_mapped, s.resident_kib);
  char summary[700];
  std::snprintf(summary, sizeof summary,
                "ns per new stub (batch means): first batch %.0f, last batch %.0f, median %.0f, min %.0f, max %.0f\n"
                "median stub of each batch: first %.0f, last %.0f, min %.0f, max %.0f ns\n"
                "code in use: %.1f bytes per stub (least-squares slope, R^2 %.4f); %.1f bytes per stub at the end\n"
                "resident memory: %.0f bytes per stub (slope, R^2 %.4f)\n",
                times.front(), times.back(), t_med, t_min, t_max, medians.front(), medians.back(),
                *std::min_element(medians.begin(), medians.end()), *std::max_element(medians.begin(), medians.end()),
                code_slope, code_r2,
                static_cast<double>(samples.back().code_in_use) / static_cast<double>(count), rss_slope, rss_r2);
  std::printf("\n%s", summary);

  if (!files.csv.empty()) {
    std::string out = "signatures,ns_per_new_stub,median_ns_per_stub,code_bytes_in_use,code_bytes_mapped,resident_kib\n";
    for (const Sample& s : samples)
      out += std::to_string(s.stubs) + "," + number(s.ns_per_stub) + "," + number(s.median_ns) + "," +
             std::to_string(s.code_in_use) + "," +
             std::to_string(s.code_mapped) + "," + std::to_string(s.resident_kib) + "\n";
    write_text_file(files.csv, out);
  }
  if (!files.json.empty()) {
    std::string out = "{\n  \"tool\": \"tramp bench --scaling\",\n  \"machine\": " + json_string(machine.line()) +
                      ",\n  \"signatures\": " + std::to_string(count) +
                      ",\n  \"arguments_per_signature\": " + std::to_string(width) +
                      ",\n  \"code_bytes_per_stub\": " + number(code_slope) +
                      ",\n  \"code_r2\": " + number(code_r2) + ",\n  \"resident_bytes_per_stub\": " +
                      number(rss_slope) + ",\n  \"resident_r2\": " + number(rss_r2) +
                      ",\n  \"ns_per_new_stub_median\": " + number(t_med) + ",\n  \"samples\": [";
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const Sample& s = samples[i];
      out += std::string(i ? "," : "") + "\n    {\"signatures\": " + std::to_string(s.stubs) +
             ", \"ns_per_new_stub\": " + number(s.ns_per_stub) + ", \"median_ns_per_stub\": " +
             number(s.median_ns) + ", \"code_bytes_in_use\": " +
             std::to_string(s.code_in_use) + ", \"code_bytes_mapped\": " + std::to_string(s.code_mapped) +
             ", \"resident_kib\": " + std::to_string(s.resident_kib) + "}";
    }
    out += "\n  ]\n}\n";
    write_text_file(files.json, out);
  }
  if (!files.svg.empty()) {
    Series time{"mean of the batch", "#0072b2", {}};
    Series typical{"median stub of the batch", "#56b4e9", {}};
    Series in_use{"code bytes in use", "#009e73", {{0, 0}}};
    Series mapped{"code bytes mapped", "#e69f00", {{0, 0}}};
    Series rss{"resident memory, growth", "#cc79a7", {{0, 0}}};
    for (const Sample& s : samples) {
      const double x = static_cast<double>(s.stubs);
      time.points.emplace_back(x, s.ns_per_stub);
      typical.points.emplace_back(x, s.median_ns);
      in_use.points.emplace_back(x, static_cast<double>(s.code_in_use) / 1048576.0);
      mapped.points.emplace_back(x, static_cast<double>(s.code_mapped) / 1048576.0);
      rss.points.emplace_back(x, static_cast<double>(s.resident_kib) / 1024.0);
    }
    char n1[200], n2[200], n3[200];
    std::snprintf(n1, sizeof n1,
                  "%d-argument signatures: parse, classify, emit, install, first call; batches of %ld, their means "
                  "%.0f to %.0f ns",
                  width, count / points, t_min, t_max);
    std::snprintf(n2, sizeof n2, "%.1f bytes of code per stub (least-squares slope, R\xc2\xb2 %.4f)", code_slope, code_r2);
    std::snprintf(n3, sizeof n3, "%.0f bytes per stub in all (slope, R\xc2\xb2 %.4f)", rss_slope, rss_r2);
    const std::string title =
        "tramp bench --scaling " + std::to_string(count) + ": new signatures through one engine";
    write_text_file(files.svg,
                    line_chart_svg(title, machine.line(), "distinct signatures made and called (stubs in the engine)",
                                   {{"Time per new stub", "ns per stub", {time, typical}, n1},
                                    {"Executable code", "MiB", {in_use, mapped}, n2},
                                    {"Resident memory of the process, growth since the start", "MiB", {rss}, n3}}));
  }
  return 0;
}

}  // namespace tramp::tools
