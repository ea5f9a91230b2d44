// The benchmarks' one source (rows.hpp): rows, targets, handlers, libffi glue, batches.
#include "bench/rows.hpp"

#include <dlfcn.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

// The shared library's bytes, inside this program (callees_blob.S, made by the build).
extern "C" const unsigned char tramp_bench_callees_so[];
extern "C" const unsigned char tramp_bench_callees_so_end[];

namespace tramp::bench {
namespace {

// The arguments, in memory, as an interpreter holds them.
struct Args {
  int i[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  double d[4] = {1.5, 2.5, 3.5, 4.5};
  const void* p4[4] = {&i[0], &i[1], nullptr, &d[0]};
  long l = 7;
  float f = 0.5f;
  void* p = nullptr;
  short s = 3;
  unsigned char uc = 9;
  BenchTriple t{1, 2, 3};
  const char* fmt = "x";
  double vd = 2.0;
  int vi = 5;
};
Args g;

inline void clobber() { asm volatile("" : : : "memory"); }
template <class T>
inline void put(const T& v) {
  std::memcpy(g_ret, &v, sizeof v);
  clobber();
}
inline void keep(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

template <class F>
F* as(const void* p) {
  return reinterpret_cast<F*>(const_cast<void*>(p));
}

// A row's direct call: n calls of the function in *slot, read anew for each call (a real
// indirect call, as through a volatile pointer), with the call inlined into the loop.
struct DirectFns {
  void (*run)(long n, const void* const* slot);
  void (*once)(const void* fn);
};
template <class F>
DirectFns direct_fns(F) {
  return {[](long n, const void* const* slot) {
            for (long k = 0; k < n; ++k) F{}(*static_cast<const void* const volatile*>(slot));
          },
          [](const void* fn) { F{}(fn); }};
}

ffi_type* triple_elements[] = {&ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, nullptr};
ffi_type triple_type = {0, 0, FFI_TYPE_STRUCT, triple_elements};
ffi_type* pair_elements[] = {&ffi_type_double, &ffi_type_double, nullptr};
ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, pair_elements};

// A signature's row, whichever function it calls.
struct CallShape {
  const char* name;
  const char* sig;
  const char* shown;  // the signature as the chart shows it
  DirectFns direct;
  std::vector<void*> args;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  unsigned fixed = 0;  // variadic rows: the number of fixed arguments
  ffi_abi abi = FFI_DEFAULT_ABI;
};

using Int12 = BenchInt12;
#define MS BENCH_MS_ABI

// The rows of both placements, in table order, with the callee each takes from a set.
struct ShapeAndCallee {
  CallShape shape;
  const void* (*callee)(const BenchCallees&);
};

std::vector<ShapeAndCallee> call_shapes() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  ffi_type* P = &ffi_type_pointer;
  std::vector<void*> i12;
  for (int& x : g.i) i12.push_back(&x);
  std::vector<ShapeAndCallee> rows = {
      {{"int(int,int)", "i32(i32, i32)", "i32(i32, i32)",
        direct_fns([](const void* f) { put(as<int(int, int)>(f)(g.i[0], g.i[1])); }), {&g.i[0], &g.i[1]}, {I, I}, I},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.add); }},
      {{"double(4 x double)", "f64(f64, f64, f64, f64)", "f64(f64, f64, f64, f64)",
        direct_fns([](const void* f) { put(as<double(double, double, double, double)>(f)(g.d[0], g.d[1], g.d[2], g.d[3])); }),
        {&g.d[0], &g.d[1], &g.d[2], &g.d[3]}, {D, D, D, D}, D},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.sum4); }},
      {{"int(ptr x4)", "i32(ptr, ptr, ptr, ptr)", "i32(ptr, ptr, ptr, ptr)",
        direct_fns([](const void* f) {
          put(as<int(const void*, const void*, const void*, const void*)>(f)(g.p4[0], g.p4[1], g.p4[2], g.p4[3]));
        }),
        {&g.p4[0], &g.p4[1], &g.p4[2], &g.p4[3]}, {P, P, P, P}, I},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.ptr4); }},
      {{"8 mixed args", "f64(i32, f64, i64, f32, ptr, i16, f64, u8)", "f64(i32, f64, i64, f32, ptr, i16, f64, u8)",
        direct_fns([](const void* f) {
          put(as<double(int, double, long, float, void*, short, double, unsigned char)>(f)(g.i[0], g.d[0], g.l, g.f, g.p,
                                                                                           g.s, g.d[1], g.uc));
        }),
        {&g.i[0], &g.d[0], &g.l, &g.f, &g.p, &g.s, &g.d[1], &g.uc},
        {I, D, &ffi_type_sint64, &ffi_type_float, P, &ffi_type_sint16, D, &ffi_type_uint8}, D},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.mixed8); }},
      {{"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)", "i32(12 x i32)",
        direct_fns([](const void* f) {
          put(as<Int12>(f)(g.i[0], g.i[1], g.i[2], g.i[3], g.i[4], g.i[5], g.i[6], g.i[7], g.i[8], g.i[9], g.i[10],
                           g.i[11]));
        }),
        i12, std::vector<ffi_type*>(12, I), I},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.int12); }},
      {{"struct {double,double} return", "{f64, f64}(f64, f64)", "{f64, f64}(f64, f64)",
        direct_fns([](const void* f) { put(as<BenchPair(double, double)>(f)(g.d[0], g.d[1])); }), {&g.d[0], &g.d[1]},
        {D, D}, &pair_type},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.pair); }},
      {{"24-byte struct arg", "i64({i64, i64, i64})", "i64({i64, i64, i64})",
        direct_fns([](const void* f) { put(as<long(BenchTriple)>(f)(g.t)); }), {&g.t}, {&triple_type},
        &ffi_type_sint64},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.triple); }},
      {{"variadic i32(ptr, ...f64, i32)", "i32(ptr, ...f64, i32)", "printf-like, into a no-op",
        direct_fns([](const void* f) { put(as<int(const char*, ...)>(f)(g.fmt, g.vd, g.vi)); }),
        {&g.fmt, &g.vd, &g.vi}, {P, D, I}, I, 1},
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.printf_like); }},
  };
#if BENCH_HAS_WIN64
  rows.push_back({{"win64 int(int,int)", "win64:i32(i32, i32)", "ms_abi i32(i32, i32)",
                   direct_fns([](const void* f) { put(as<MS int(int, int)>(f)(g.i[0], g.i[1])); }),
                   {&g.i[0], &g.i[1]}, {I, I}, I, 0, FFI_GNUW64},
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.w_add); }});
  rows.push_back({{"win64 double(4 x double)", "win64:f64(f64, f64, f64, f64)", "ms_abi f64(f64, f64, f64, f64)",
                   direct_fns([](const void* f) {
                     put(as<MS double(double, double, double, double)>(f)(g.d[0], g.d[1], g.d[2], g.d[3]));
                   }),
                   {&g.d[0], &g.d[1], &g.d[2], &g.d[3]}, {D, D, D, D}, D, 0, FFI_GNUW64},
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.w_sum4); }});
  rows.push_back({{"win64 24-byte struct arg", "win64:i64({i64, i64, i64})", "ms_abi i64({i64, i64, i64})",
                   direct_fns([](const void* f) { put(as<MS long(BenchTriple)>(f)(g.t)); }), {&g.t},
                   {&triple_type}, &ffi_type_sint64, 0, FFI_GNUW64},
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.w_triple); }});
#endif
  return rows;
}

// libc's and libm's own functions, found where the program's loader put them.
struct SystemRow {
  CallShape shape;
  const char* library;
  const char* symbol;
};
std::vector<SystemRow> system_shapes() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  return {
      {{"abs", "i32(i32)", "libc abs: i32(i32)", direct_fns([](const void* f) { put(as<int(int)>(f)(g.i[0])); }),
        {&g.i[0]}, {I}, I},
       "libc.so.6", "abs"},
      {{"fmax", "f64(f64, f64)", "libm fmax: f64(f64, f64)",
        direct_fns([](const void* f) { put(as<double(double, double)>(f)(g.d[0], g.d[1])); }), {&g.d[0], &g.d[1]},
        {D, D}, D},
       "libm.so.6", "fmax"},
      {{"fma", "f64(f64, f64, f64)", "libm fma: f64(f64, f64, f64)",
        direct_fns([](const void* f) { put(as<double(double, double, double)>(f)(g.d[0], g.d[1], g.d[2])); }),
        {&g.d[0], &g.d[1], &g.d[2]}, {D, D, D}, D},
       "libm.so.6", "fma"},
  };
}

// ---- the shared library's copy of the callees ----

struct Shared {
  const BenchCallees* callees = nullptr;
  std::string error;
};
const Shared& shared() {
  static const Shared s = [] {
    Shared out;
    const std::size_t size = static_cast<std::size_t>(tramp_bench_callees_so_end - tramp_bench_callees_so);
    const int fd = memfd_create("tramp-bench-callees", MFD_CLOEXEC);
    if (fd < 0) {
      out.error = std::string("memfd_create: ") + std::strerror(errno);
      return out;
    }
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = write(fd, tramp_bench_callees_so + done, size - done);
      if (n <= 0) {
        out.error = std::string("writing the callee library: ") + std::strerror(errno);
        close(fd);
        return out;
      }
      done += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    close(fd);  // the loader keeps its mappings
    if (!h) {
      out.error = dlerror();
      return out;
    }
    auto get = reinterpret_cast<const BenchCallees* (*)()>(dlsym(h, "tramp_bench_callees_shared"));
    if (!get) {
      out.error = "the callee library has no tramp_bench_callees_shared";
      return out;
    }
    out.callees = get();
    return out;
  }();
  return s;
}

std::string g_face_path;

// ---- calls ----

class CallRow final : public PreparedCall {
 public:
  CallRow(const CallShape& s, Placement p, const void* fn, tramp::Engine& e)
      : shape_(&s), placement_(p), name_(s.name), fn_(fn), sig_(tramp::parse_signature(s.sig)), ffi_argv_(s.args) {
    for (std::size_t i = 0; i < s.ffi_args.size(); ++i)
      if (s.ffi_args[i]->type == FFI_TYPE_STRUCT) ffi_restore_.emplace_back(i, s.args[i]);
    inv_ = e.invoker(sig_);
    bound_ = inv_.bind(fn);
    tramp_signature* csig = nullptr;
    if (tramp_signature_parse(s.sig, &csig) != TRAMP_OK || tramp_invoker(csig, &c_api_) != TRAMP_OK)
      throw tramp::Error(tramp::ErrorCode::Unsupported, std::string("C API: ") + tramp_last_error());
    tramp_signature_free(csig);
    auto* types = const_cast<ffi_type**>(s.ffi_args.data());
    const auto n = static_cast<unsigned>(s.ffi_args.size());
    auto prep = [&](const Libffi& l, ffi_cif& c) {
      return l && (s.fixed ? l.prep_cif_var(&c, s.abi, s.fixed, n, s.ffi_ret, types)
                           : l.prep_cif(&c, s.abi, n, s.ffi_ret, types)) == FFI_OK;
    };
    ffi_ok_ = prep(debian_libffi(), cif_);
    face_ok_ = prep(face_libffi(), face_cif_);
  }

  const std::string& name() const override { return name_; }
  const tramp::Signature& signature() const override { return sig_; }
  const char* shown() const override { return shape_->shown; }
  Placement placement() const override { return placement_; }

  // The register-return variant exists for this row's return type (one register's value).
  bool has_reg_return() const {
    const auto k = sig_.ret()->kind();
    return k == tramp::TypeKind::I32 || k == tramp::TypeKind::I64 || k == tramp::TypeKind::F64;
  }
  bool has(int e) const override {
    return e == kRegReturn ? has_reg_return() : e == kLibffi ? ffi_ok_ : e == kFace ? face_ok_ : true;
  }

  Batch batch(int e) const override {
    const void* fn = fn_;
    void* const* args = shape_->args.data();
    switch (e) {
      case kDirect:
        return [this](long n) { shape_->direct.run(n, &fn_); };
      case kBound:
        return [b = bound_.entry(), args](long n) {
          for (long k = 0; k < n; ++k) {
            b(g_ret, args);
            clobber();
          }
        };
      case kInvoke:
      case kCApi:
        return [f = e == kInvoke ? inv_.entry() : c_api_, fn, args](long n) {
          for (long k = 0; k < n; ++k) {
            f(fn, g_ret, args);
            clobber();
          }
        };
      case kRegReturn:
        switch (sig_.ret()->kind()) {
          case tramp::TypeKind::I32: return reg_return<int>();
          case tramp::TypeKind::I64: return reg_return<long>();
          default: return reg_return<double>();
        }
      case kFace:  // the face leaves avalue alone: nothing to put back
        return [call = face_libffi().call, c = const_cast<ffi_cif*>(&face_cif_), fn, args](long n) {
          for (long k = 0; k < n; ++k) {
            call(c, FFI_FN(const_cast<void*>(fn)), g_ret, const_cast<void**>(args));
            clobber();
          }
        };
      default:
        return [this, fn](long n) {
          ffi_cif* c = const_cast<ffi_cif*>(&cif_);
          void** a = const_cast<void**>(ffi_argv_.data());
          const auto* restore = ffi_restore_.data();
          const std::size_t m = ffi_restore_.size();
          for (long k = 0; k < n; ++k) {
            for (std::size_t r = 0; r < m; ++r) a[restore[r].first] = restore[r].second;
            ffi_call(c, FFI_FN(const_cast<void*>(fn)), g_ret, a);
            clobber();
          }
        };
    }
  }

  void once(int e) const override {
    std::memset(g_ret, 0, sizeof g_ret);
    if (e == kDirect) {
      shape_->direct.once(fn_);
      return;
    }
    batch(e)(1);
  }

  const tramp::Invoker& invoker() const { return inv_; }
  const tramp::BoundCall& bound() const { return bound_; }

 private:
  template <class R>
  Batch reg_return() const {
    auto f = inv_.direct<R>();
    const void* fn = fn_;
    void* const* args = shape_->args.data();
    return [f, fn, args](long n) {
      for (long k = 0; k < n; ++k) put(f(fn, args));
    };
  }

  const CallShape* shape_;
  Placement placement_;
  std::string name_;
  const void* fn_;
  tramp::Signature sig_;
  tramp::Invoker inv_;
  tramp::BoundCall bound_;
  tramp_invoke_fn c_api_ = nullptr;
  ffi_cif cif_{}, face_cif_{};
  bool ffi_ok_ = false, face_ok_ = false;
  // libffi's own argument array. libffi 3.4.4's ffi_call on x86-64 replaces avalue[i] of a
  // record larger than 16 bytes (8 for Win64) with the address of a copy in its own, by then
  // dead, frame: every call puts back the pointers of the record arguments.
  std::vector<void*> ffi_argv_;
  std::vector<std::pair<std::size_t, void*>> ffi_restore_;
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
void t_pair(void* ret, void* const* a, void*) {
  *static_cast<BenchPair*>(ret) = {arg<double>(a, 0), arg<double>(a, 1)};
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

// A callback row's C caller: n calls of the caller (in *caller, read anew each time) with the
// function pointer under test, the call inlined into the loop.
struct CallerFns {
  void (*run)(long n, const void* const* caller, void* fn);
};
template <class F>
CallerFns caller_fns(F) {
  return {[](long n, const void* const* caller, void* fn) {
    for (long k = 0; k < n; ++k) F{}(*static_cast<const void* const volatile*>(caller), fn);
  }};
}

struct CallbackShape {
  const char* name;
  const char* sig;
  const char* shown;
  tramp::Handler handler;
  FfiFun ffi_fun;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret;
  CallerFns caller;
  const void* (*caller_of)(const BenchCallees&);
  const void* (*direct_of)(const BenchCallees&);
  ffi_abi abi = FFI_DEFAULT_ABI;
};

std::vector<CallbackShape> callback_shapes() {
  ffi_type* I = &ffi_type_sint32;
  ffi_type* D = &ffi_type_double;
  using Sum4 = double(double, double, double, double);
  std::vector<CallbackShape> rows = {
      {"int(int,int)", "i32(i32, i32)", "i32(i32, i32)", t_add, f_add, {I, I}, I,
       caller_fns([](const void* c, void* f) { put(as<int(int (*)(int, int), int, int)>(c)(as<int(int, int)>(f), g.i[0], g.i[1])); }),
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.call_add); },
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.h_add); }},
      {"double(4 x double)", "f64(f64, f64, f64, f64)", "f64(f64, f64, f64, f64)", t_sum4, f_sum4, {D, D, D, D}, D,
       caller_fns([](const void* c, void* f) { put(as<double(Sum4*, double)>(c)(as<Sum4>(f), g.d[0])); }),
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.call_sum4); },
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.h_sum4); }},
      {"struct {double,double} return", "{f64, f64}(f64, f64)", "{f64, f64}(f64, f64)", t_pair, f_pair, {D, D},
       &pair_type,
       caller_fns([](const void* c, void* f) {
         put(as<BenchPair(BenchPair (*)(double, double), double)>(c)(as<BenchPair(double, double)>(f), g.d[0]));
       }),
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.call_pair); },
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.h_pair); }},
      {"12 int args", "i32(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)", "i32(12 x i32)", t_int12,
       f_int12, std::vector<ffi_type*>(12, I), I,
       caller_fns([](const void* c, void* f) { put(as<int(Int12*, int)>(c)(as<Int12>(f), g.i[2])); }),
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.call_int12); },
       [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.h_int12); }},
  };
#if BENCH_HAS_WIN64
  using WAdd = MS int(int, int);
  using WSum4 = MS double(double, double, double, double);
  rows.push_back({"win64 int(int,int)", "win64:i32(i32, i32)", "ms_abi i32(i32, i32)", t_add, f_add, {I, I}, I,
                  caller_fns([](const void* c, void* f) { put(as<int(WAdd*, int, int)>(c)(as<WAdd>(f), g.i[0], g.i[1])); }),
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.call_w_add); },
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.h_w_add); }, FFI_GNUW64});
  rows.push_back({"win64 double(4 x double)", "win64:f64(f64, f64, f64, f64)", "ms_abi f64(f64, f64, f64, f64)",
                  t_sum4, f_sum4, {D, D, D, D}, D,
                  caller_fns([](const void* c, void* f) { put(as<double(WSum4*, double)>(c)(as<WSum4>(f), g.d[0])); }),
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.call_w_sum4); },
                  [](const BenchCallees& c) { return reinterpret_cast<const void*>(c.h_w_sum4); }, FFI_GNUW64});
#endif
  return rows;
}

class CallbackRow final : public PreparedCallback {
 public:
  CallbackRow(const CallbackShape& s, Placement p, const BenchCallees& callees, tramp::Engine& e)
      : shape_(&s),
        placement_(p),
        name_(s.name),
        sig_(tramp::parse_signature(s.sig)),
        caller_(s.caller_of(callees)),
        direct_(s.direct_of(callees)) {
    thunk_ = e.callback(sig_, s.handler);
    closure_ = std::make_unique<Closure>(s.ffi_args, s.ffi_ret, s.ffi_fun, s.abi);
    face_closure_ = std::make_unique<Closure>(s.ffi_args, s.ffi_ret, s.ffi_fun, s.abi, face_libffi());
  }
  const std::string& name() const override { return name_; }
  const tramp::Signature& signature() const override { return sig_; }
  const char* shown() const override { return shape_->shown; }
  Placement placement() const override { return placement_; }
  bool has(int e) const override { return fn(e) != nullptr; }
  Batch batch(int e) const override {
    return [this, f = fn(e)](long n) { shape_->caller.run(n, &caller_, f); };
  }
  void once(int e) const override {
    std::memset(g_ret, 0, sizeof g_ret);
    batch(e)(1);
  }

 private:
  void* fn(int e) const {
    switch (e) {
      case kCbDirect: return const_cast<void*>(direct_);
      case kCbThunk: return const_cast<void*>(thunk_.code());
      case kCbClosure: return closure_->code();
      default: return face_closure_->code();
    }
  }
  const CallbackShape* shape_;
  Placement placement_;
  std::string name_;
  tramp::Signature sig_;
  const void* caller_;
  const void* direct_;
  tramp::Callback thunk_;
  std::unique_ptr<Closure> closure_, face_closure_;
};

}  // namespace

alignas(16) unsigned char g_ret[64];

const char* placement_name(Placement p) {
  switch (p) {
    case Placement::Executable: return "executable";
    case Placement::Library: return "library";
    default: return "libc/libm";
  }
}

const char* const kCallEngineNames[kCallEngines] = {"direct",       "tramp bound", "tramp invoke", "tramp C API",
                                                    "tramp direct", "libffi",      "libffi face"};
const char* const kCallbackEngineNames[kCallbackEngines] = {"direct", "tramp thunk", "libffi closure",
                                                            "libffi face closure"};

const Libffi& debian_libffi() {
  static const Libffi l{&ffi_prep_cif, &ffi_prep_cif_var, &ffi_call, &ffi_closure_alloc, &ffi_prep_closure_loc,
                        &ffi_closure_free, ""};
  return l;
}

void set_face_path(const char* built_path) { g_face_path = built_path ? built_path : ""; }

const Libffi& face_libffi() {
  static const Libffi l = [] {
    Libffi f;
    const char* path = std::getenv("TRAMP_FFI_FACE");
    if (!path || !*path) path = g_face_path.c_str();
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

const BenchCallees* shared_callees(std::string* error) {
  if (error) *error = shared().error;
  return shared().callees;
}

const void* caller_code() { return reinterpret_cast<const void*>(&check_results); }

std::vector<std::unique_ptr<PreparedCall>> call_rows(tramp::Engine& engine) {
  static const std::vector<ShapeAndCallee> shapes = call_shapes();
  static const std::vector<SystemRow> system = system_shapes();
  std::vector<std::unique_ptr<PreparedCall>> out;
  const BenchCallees* here = tramp_bench_callees_here();
  const BenchCallees* lib = shared_callees();
  for (const auto& s : shapes) out.push_back(std::make_unique<CallRow>(s.shape, Placement::Executable, s.callee(*here), engine));
  if (lib)
    for (const auto& s : shapes) out.push_back(std::make_unique<CallRow>(s.shape, Placement::Library, s.callee(*lib), engine));
  for (const SystemRow& s : system) {
    static std::vector<tramp::Library> keep_loaded;
    keep_loaded.push_back(tramp::Library::open(s.library));
    out.push_back(std::make_unique<CallRow>(s.shape, Placement::System, keep_loaded.back().symbol(s.symbol), engine));
  }
  return out;
}

std::vector<std::unique_ptr<PreparedCallback>> callback_rows(tramp::Engine& engine) {
  static const std::vector<CallbackShape> shapes = callback_shapes();
  std::vector<std::unique_ptr<PreparedCallback>> out;
  for (const auto& s : shapes)
    out.push_back(std::make_unique<CallbackRow>(s, Placement::Executable, *tramp_bench_callees_here(), engine));
  if (const BenchCallees* lib = shared_callees())
    for (const auto& s : shapes) out.push_back(std::make_unique<CallbackRow>(s, Placement::Library, *lib, engine));
  return out;
}

int check_results(const std::vector<std::unique_ptr<PreparedCall>>& calls,
                  const std::vector<std::unique_ptr<PreparedCallback>>& callbacks) {
  int wrong = 0;
  auto check = [&](const auto& p, int engines, const char* const* names, const char* kind) {
    const std::size_t size = p->signature().ret()->size();
    p->once(0);
    std::vector<unsigned char> want(g_ret, g_ret + size);
    for (int e = 1; e < engines; ++e) {
      if (!p->has(e)) continue;
      p->once(e);
      if (std::memcmp(g_ret, want.data(), size) != 0) {
        std::fprintf(stderr, "tramp bench: %s %s (%s) through %s returned another value than the direct call\n", kind,
                     p->name().c_str(), placement_name(p->placement()), names[e]);
        ++wrong;
      }
    }
  };
  for (const auto& p : calls) check(p, kCallEngines, kCallEngineNames, "call");
  for (const auto& p : callbacks) check(p, kCallbackEngines, kCallbackEngineNames, "callback");
  return wrong;
}

std::vector<CodeBytes> code_bytes(const std::vector<std::unique_ptr<PreparedCall>>& calls, tramp::Engine& engine) {
  std::vector<CodeBytes> out;
  for (const auto& p : calls) {
    if (p->placement() != Placement::Executable) continue;
    const auto& row = static_cast<const CallRow&>(*p);
    CodeBytes c{p->name(), p->signature().str(true)};
    c.call = row.invoker().code_size();
    c.bound = row.bound().code_size();
    if (row.has_reg_return()) c.reg_return = tramp::machine_code(p->signature(), tramp::CodeKind::RegisterReturn).size();
    try {
      c.thunk = engine.callback(p->signature(), t_add).code_size();
    } catch (const tramp::Error&) {
    }
    out.push_back(c);
  }
  return out;
}

// ---- setup ----

const char* const kSetupNewFromText = "stub for a new signature, from text (parse, classify, emit)";
const char* const kSetupNewFromSignature = "stub for a new signature, from a Signature";

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

double thread_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double new_stubs_ns(bool from_text, std::size_t count) {
  const auto& sigs = setup_signatures();
  const std::size_t n = count ? std::min(count, sigs.size()) : sigs.size();
  std::vector<tramp::Signature> parsed;
  for (std::size_t i = 0; i < n; ++i) parsed.push_back(tramp::parse_signature(sigs[i].text));
  auto engine = std::make_unique<tramp::Engine>();
  const double t0 = thread_ns();
  for (std::size_t i = 0; i < n; ++i)
    keep(reinterpret_cast<const void*>(from_text ? engine->invoker(sigs[i].text).entry()
                                                 : engine->invoker(parsed[i]).entry()));
  const double ns = thread_ns() - t0;
  engine.reset();
  return ns / static_cast<double>(n);
}

std::vector<SetupRow> setup_rows(tramp::Engine& engine) {
  std::vector<SetupRow> rows;
  rows.push_back({kSetupNewFromSignature, "libffi", [](long n) {
                    const auto& sigs = setup_signatures();
                    ffi_cif cif;
                    std::size_t i = 0;
                    for (long k = 0; k < n; ++k) {
                      const SetupSig& s = sigs[i];
                      if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(s.ffi_args.size()), &ffi_type_sint64,
                                       const_cast<ffi_type**>(s.ffi_args.data())) != FFI_OK)
                        std::abort();
                      clobber();
                      i = i + 1 == sigs.size() ? 0 : i + 1;
                    }
                  }});
  rows.push_back({"invoker from the cache", "tramp", [&engine](long n) {
                    const tramp::Signature sig = tramp::parse_signature("f64(f64, f64, i32)");
                    engine.invoker(sig);
                    for (long k = 0; k < n; ++k) keep(reinterpret_cast<const void*>(engine.invoker(sig).entry()));
                  }});
  rows.push_back({"invoker from the cache, C API (tramp_invoker)", "tramp", [](long n) {
                    tramp_signature* sig = nullptr;
                    if (tramp_signature_parse("f64(f64, f64, i32)", &sig) != TRAMP_OK) std::abort();
                    tramp_invoke_fn f = nullptr;
                    for (long k = 0; k < n; ++k) {
                      tramp_invoker(sig, &f);
                      keep(reinterpret_cast<const void*>(f));
                    }
                    tramp_signature_free(sig);
                  }});
  rows.push_back({"callback made and freed", "tramp", [](long n) {
                    const tramp::Signature sig = tramp::parse_signature("i32(i32, i32)");
                    for (long k = 0; k < n; ++k) {
                      tramp::Callback cb = tramp::Engine::global().callback(sig, t_add);
                      keep(cb.code());
                    }
                  }});
  rows.push_back({"callback made and freed", "libffi", [](long n) {
                    const std::vector<ffi_type*> types = {&ffi_type_sint32, &ffi_type_sint32};
                    for (long k = 0; k < n; ++k) {
                      Closure c(types, &ffi_type_sint32, f_add, FFI_DEFAULT_ABI);
                      keep(c.code());
                    }
                  }});
  struct Prep {
    const char* what;
    std::vector<ffi_type*> args;
    ffi_type* ret;
  };
  static const std::vector<Prep> preps = {
      {"ffi_prep_cif of a repeated int(int, int)", {&ffi_type_sint32, &ffi_type_sint32}, &ffi_type_sint32},
      {"ffi_prep_cif of a repeated double(int, double, ptr, long, float, int)",
       {&ffi_type_sint32, &ffi_type_double, &ffi_type_pointer, &ffi_type_sint64, &ffi_type_float, &ffi_type_sint32},
       &ffi_type_double},
      {"ffi_prep_cif of a repeated {double, double}({double, double}, int)", {&pair_type, &ffi_type_sint32},
       &pair_type},
  };
  for (const Prep& p : preps)
    for (const Libffi* l : {&face_libffi(), &debian_libffi()}) {
      if (!*l) continue;
      rows.push_back({p.what, l == &debian_libffi() ? "libffi" : "libffi face", [l, &p](long n) {
                        ffi_cif cif;
                        auto types = p.args;
                        for (long k = 0; k < n; ++k) {
                          if (l->prep_cif(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(types.size()), p.ret,
                                          types.data()) != FFI_OK)
                            std::abort();
                          clobber();
                        }
                      }});
    }
  for (const Libffi* l : {&face_libffi(), &debian_libffi()}) {
    if (!*l) continue;
    rows.push_back({"ffi_closure_alloc + ffi_prep_closure_loc + ffi_closure_free, int(int, int)",
                    l == &debian_libffi() ? "libffi" : "libffi face", [l](long n) {
                      const std::vector<ffi_type*> types = {&ffi_type_sint32, &ffi_type_sint32};
                      for (long k = 0; k < n; ++k) {
                        Closure c(types, &ffi_type_sint32, f_add, FFI_DEFAULT_ABI, *l);
                        keep(c.code());
                      }
                    }});
  }
  return rows;
}

// ---- scaling ----

std::string scaling_signature(long n, int width) {
  static const char* const kTypes[] = {"i32", "i64", "f64", "f32", "ptr", "u16"};
  std::string s = "i64(";
  for (int k = 0; k < width; ++k, n /= 6) s += std::string(k ? ", " : "") + kTypes[n % 6];
  return s + ")";
}

int scaling_width(long count) {
  int width = 1;
  for (long distinct = 6; distinct < count; distinct *= 6) ++width;
  return width;
}

const void* scaling_target() { return reinterpret_cast<const void*>(tramp_bench_callees_here()->scaling_target); }

void* const* scaling_args() {
  static unsigned char bytes[16 * 8] = {};
  static void* const args[16] = {bytes,      bytes + 8,  bytes + 16, bytes + 24, bytes + 32,  bytes + 40,
                                 bytes + 48, bytes + 56, bytes + 64, bytes + 72, bytes + 80,  bytes + 88,
                                 bytes + 96, bytes + 104, bytes + 112, bytes + 120};
  return args;
}

}  // namespace tramp::bench
