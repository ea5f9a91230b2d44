// Conformance case generator: writes C functions with random signatures, callees that record
// every argument byte and return a value chosen by the test, and callers that call a function
// pointer with arguments chosen by the test, plus a manifest in tramp's signature syntax.
//
//   conformance_gen --seed S --count N --out DIR [--per-file K] [--abi sysv|win64|aapcs64]
//
// writes DIR/callees_F.c and DIR/callers_F.c (K cases each, so the compile parallelises) and
// DIR/manifest.txt. The same seed, count and ABI always give the same files, on every host
// (a cross build runs the generator under the target's emulator).
//
// sysv and win64 are the same signatures (win64 as __attribute__((ms_abi)) functions);
// aapcs64 (Linux on AArch64) has its own named shapes and random mix: no x87 type, `long
// double` is binary128 (f128), and more homogeneous floating-point aggregates and near misses.
//
// Standalone on purpose (no tramp headers): its own type model renders both the C declaration
// and the signature text, so the test also checks tramp's parser and layout against gcc's.
//
// The contract with the runner (run.cpp):
//   * argument i of a case travels through the byte buffers at offset i * kSlot;
//   * conf_callee_K(...) copies argument i to conf_args + i * kSlot and returns the bytes of
//     conf_ret_in;
//   * conf_caller_K(fn) reads argument i from conf_args_in + i * kSlot, calls fn with the
//     case's exact C prototype, and stores the result in conf_ret_out;
//   * conf_layout_R (for every record R) is {sizeof, _Alignof, offsetof each member}.
// The manifest says `slot 256` so that the runner can refuse a mismatched generator.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kSlot = 256;     // bytes per argument in the buffers
constexpr std::size_t kMaxArgs = 21;    // named shapes use up to 20 arguments, random ones too
constexpr std::size_t kMaxRecord = 64;  // random records are 1..64 bytes

// splitmix64: tiny, good enough, and identical on every platform and standard library
// (std::mt19937 is too, but its distributions are not).
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
};

struct Scalar {
  const char* sig;
  const char* c;
  std::size_t size;
  bool promotable;  // passes through `...` unchanged by C's default argument promotions
};

constexpr Scalar kScalars[] = {
    {"bool", "_Bool", 1, false},
    {"i8", "signed char", 1, false},
    {"u8", "unsigned char", 1, false},
    {"i16", "short", 2, false},
    {"u16", "unsigned short", 2, false},
    {"i32", "int", 4, true},
    {"u32", "unsigned int", 4, true},
    {"i64", "long", 8, true},
    {"u64", "unsigned long", 8, true},
    {"i128", "__int128", 16, true},
    {"u128", "unsigned __int128", 16, true},
    {"f32", "float", 4, false},
    {"f64", "double", 8, true},
    {"f80", "long double", 16, true},
    {"f128", "__float128", 16, true},
    {"ptr", "void*", 8, true},
};
constexpr std::size_t kScalarCount = sizeof kScalars / sizeof kScalars[0];

// The calling convention the generated functions use: the host's SysV (sysv), Microsoft x64
// through gcc's __attribute__((ms_abi)) (win64), or AArch64 Linux (aapcs64, for a cross or
// native AArch64 build).
enum class Conv { SysV, Win64, Aapcs64 };
Conv g_conv = Conv::SysV;

bool is_scalar(std::size_t i, const char* sig) { return std::string(kScalars[i].sig) == sig; }

// The C spelling of scalar i under g_conv. AArch64 gcc has no __float128: binary128 is its
// `long double` (and `_Float128`, the same format and ABI class).
const char* scalar_c(std::size_t i) {
  if (g_conv == Conv::Aapcs64 && is_scalar(i, "f128")) return "long double";
  return kScalars[i].c;
}

struct GType {
  enum Kind { Scalar, Struct, Union } kind = Scalar;
  std::size_t scalar = 0;
  const char* c_spelling = nullptr;  // scalars: another C name of the same type (`_Float128`)
  struct Member {
    const GType* type;
    std::size_t count;  // array length, 0 = not an array
    std::size_t align;  // explicit member alignment, 0 = none
  };
  std::vector<Member> members;
  bool packed = false;
  std::size_t align = 0;
  std::string c_name;         // typedef name, records only
  std::size_t id = 0;         // index among records; members are created before their record
  std::size_t size_hint = 0;  // sum of member sizes, to keep records near their byte budget
};

std::string member_sig(const GType::Member& m);

std::string sig_of(const GType* t) {
  if (t->kind == GType::Scalar) return kScalars[t->scalar].sig;
  std::string s = t->packed ? "packed " : "";
  s += t->kind == GType::Union ? "union{" : "{";
  for (std::size_t i = 0; i < t->members.size(); ++i) s += (i ? ", " : "") + member_sig(t->members[i]);
  s += "}";
  if (t->align) s += " align(" + std::to_string(t->align) + ")";
  return s;
}

std::string member_sig(const GType::Member& m) {
  std::string s = m.align ? "alignas(" + std::to_string(m.align) + ") " : "";
  s += sig_of(m.type);
  if (m.count) s += "[" + std::to_string(m.count) + "]";
  return s;
}

// gcc's alignment of t; only steers the generator (the runner checks real layouts).
std::size_t align_of(const GType* t) {
  if (t->kind == GType::Scalar) return kScalars[t->scalar].size;
  std::size_t a = 1;
  for (const auto& m : t->members) {
    std::size_t ma = t->packed ? 1 : align_of(m.type);
    if (m.align > ma) ma = m.align;
    if (ma > a) a = ma;
  }
  return t->align > a ? t->align : a;
}

// gcc's size of t, by the same rules; keeps generated values within the issue's 1..64 bytes.
std::size_t size_of(const GType* t) {
  if (t->kind == GType::Scalar) return kScalars[t->scalar].size;
  std::size_t size = 0;
  for (const auto& m : t->members) {
    std::size_t ma = t->packed ? 1 : align_of(m.type);
    if (m.align > ma) ma = m.align;
    std::size_t msz = size_of(m.type) * (m.count ? m.count : 1);
    if (t->kind == GType::Union) {
      size = std::max(size, msz);
    } else {
      size = (size + ma - 1) / ma * ma + msz;
    }
  }
  std::size_t a = align_of(t);
  return (size + a - 1) / a * a;
}

std::string c_of(const GType* t) {
  if (t->kind != GType::Scalar) return t->c_name;
  return t->c_spelling ? t->c_spelling : scalar_c(t->scalar);
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_{seed} {}

  const GType* scalar(std::size_t i) {
    auto t = std::make_unique<GType>();
    t->scalar = i;
    t->size_hint = kScalars[i].size;
    return keep(std::move(t));
  }
  const GType* named(const std::string& sig) {
    for (std::size_t i = 0; i < kScalarCount; ++i)
      if (sig == kScalars[i].sig) return scalar(i);
    std::fprintf(stderr, "conformance_gen: no scalar %s\n", sig.c_str());
    std::abort();
  }
  // `c` spells the same scalar differently in C (the manifest cannot tell them apart).
  const GType* spelled(const std::string& sig, const char* c) {
    auto t = std::make_unique<GType>(*named(sig));
    t->c_spelling = c;
    return keep(std::move(t));
  }
  const GType* random_scalar(bool promotable_only) {
    for (;;) {
      std::size_t i = rng_.below(kScalarCount);
      if (g_conv == Conv::Aapcs64 && is_scalar(i, "f80")) continue;  // no x87 type on AArch64
      if (!promotable_only || kScalars[i].promotable) return scalar(i);
    }
  }

  // A struct or union whose members add up to about `budget` bytes (at least one member).
  const GType* random_record(int depth, std::size_t budget) {
    auto t = std::make_unique<GType>();
    t->kind = rng_.chance(12) ? GType::Union : GType::Struct;
    t->packed = rng_.chance(10);
    if (rng_.chance(8)) t->align = std::size_t{1} << (2 + rng_.below(4));  // 4..32
    std::size_t n = 1 + rng_.below(depth == 0 ? 6 : 3);
    std::size_t used = 0;
    for (std::size_t i = 0; i < n && used < budget; ++i) {
      GType::Member m{nullptr, 0, 0};
      m.type = depth < 2 && rng_.chance(15) ? random_record(depth + 1, budget - used) : random_scalar(false);
      if (rng_.chance(15)) m.count = 1 + rng_.below(4);
      if (rng_.chance(4)) m.align = std::size_t{1} << (1 + rng_.below(4));  // 2..16
      std::size_t sz = m.type->size_hint * (m.count ? m.count : 1);
      if (used + sz > budget && i > 0) break;
      used += sz;
      t->members.push_back(m);
    }
    t->size_hint = used;
    return add_record(std::move(t));
  }

  const GType* record_of(GType::Kind kind, std::vector<GType::Member> members, bool packed = false,
                         std::size_t align = 0) {
    auto t = std::make_unique<GType>();
    t->kind = kind;
    t->members = std::move(members);
    t->packed = packed;
    t->align = align;
    for (auto& m : t->members) t->size_hint += m.type->size_hint * (m.count ? m.count : 1);
    return add_record(std::move(t));
  }

  // AAPCS64's homogeneous floating-point aggregates (HFA: one to four members of one
  // floating-point type, counted through nested records, arrays and unions, no padding) and
  // near misses that are not (or, by gcc's rule that only the size counts, still are) HFAs:
  // five elements, a second float type, an integer element, an over-aligned member, an
  // aligned or packed record.
  const GType* random_float_aggregate() {
    static const char* const kBase[] = {"f32", "f64", "f128"};
    const std::size_t b = rng_.below(3);
    const GType* base = named(kBase[b]);
    enum Twist { None, Five, OtherFloat, Integer, AlignedMember, AlignedRecord, Packed };
    const auto twist = rng_.chance(60) ? None : static_cast<Twist>(1 + rng_.below(6));
    const std::size_t n = twist == Five ? 5 : 1 + rng_.below(4);
    // The twisted element, where there is one: another type, or the base over-aligned.
    GType::Member odd{nullptr, 0, 0};
    if (twist == OtherFloat) odd.type = named(kBase[(b + 1 + rng_.below(2)) % 3]);
    if (twist == Integer) odd.type = named(b == 0 ? "i32" : b == 1 ? "i64" : "i128");
    if (twist == AlignedMember) odd = {base, 0, size_of(base) << (1 + rng_.below(2))};  // 2x or 4x natural
    auto t = std::make_unique<GType>();
    t->kind = rng_.chance(10) ? GType::Union : GType::Struct;
    if (t->kind == GType::Union)
      union_members(base, n, 0, t->members);
    else
      float_members(base, odd.type ? n - 1 : n, 0, t->members);
    if (odd.type)
      t->members.insert(t->members.begin() + static_cast<std::ptrdiff_t>(rng_.below(t->members.size() + 1)), odd);
    if (twist == AlignedRecord) t->align = std::size_t{8} << rng_.below(3);  // 8..32
    t->packed = twist == Packed;
    for (auto& m : t->members) t->size_hint += m.type->size_hint * (m.count ? m.count : 1);
    return add_record(std::move(t));
  }

  // Members that hold exactly n elements of `base` between them: scalars, arrays, nested
  // records and arrays of nested records.
  void float_members(const GType* base, std::size_t n, int depth, std::vector<GType::Member>& out) {
    while (n > 0) {
      const std::size_t k = 1 + rng_.below(n);
      n -= k;
      const std::size_t how = rng_.below(100);
      if (depth < 2 && how < 25) {
        out.push_back({float_record(base, k, depth + 1), 0, 0});
      } else if (depth < 2 && how < 40 && k % 2 == 0) {
        out.push_back({float_record(base, k / 2, depth + 1), 2, 0});
      } else if (how < 70) {
        out.push_back({base, k == 1 && rng_.chance(70) ? 0 : k, 0});
      } else {
        for (std::size_t i = 0; i < k; ++i) out.push_back({base, 0, 0});
      }
    }
  }

  // A union is homogeneous when every member is (its element count is the largest member's):
  // one member of n elements, and up to two more of at most n.
  void union_members(const GType* base, std::size_t n, int depth, std::vector<GType::Member>& out) {
    const std::size_t extra = rng_.below(3);
    for (std::size_t i = 0; i <= extra; ++i) {
      const std::size_t k = i == 0 ? n : 1 + rng_.below(n);
      if (depth < 2 && rng_.chance(30))
        out.push_back({float_record(base, k, depth + 1), 0, 0});
      else
        out.push_back({base, k == 1 && rng_.chance(70) ? 0 : k, 0});
    }
    std::swap(out.front(), out[rng_.below(out.size())]);
  }

  // A struct (sometimes a union) of exactly n elements of `base`.
  const GType* float_record(const GType* base, std::size_t n, int depth) {
    auto t = std::make_unique<GType>();
    t->kind = rng_.chance(15) ? GType::Union : GType::Struct;
    if (t->kind == GType::Union)
      union_members(base, n, depth, t->members);
    else
      float_members(base, n, depth, t->members);
    for (auto& m : t->members) t->size_hint += m.type->size_hint * (m.count ? m.count : 1);
    return add_record(std::move(t));
  }

  // Variadic positions take promoted scalars, and, under sysv and win64, records aligned to at
  // most 8: gcc 12 -O2 miscompiles x86-64 va_arg of a 16-aligned record that arrived in
  // registers (it copies the register save area with movdqa from an 8-aligned slot and
  // faults; docs/testing.md), so such a case would test gcc, not tramp. On AArch64 they stay:
  // the 100,000-case aapcs64 run has 3,650 variadic calls with such a record after `...`, and
  // the runner's gcc self-check (caller to callee, no tramp) found nothing wrong in any.
  const GType* random_value_type(bool variadic) {
    if (g_conv == Conv::Aapcs64 && rng_.chance(15)) return random_float_aggregate();
    if (rng_.chance(35)) {
      for (;;) {
        const GType* r = random_record(0, 8 + rng_.below(57));
        if (size_of(r) <= kMaxRecord && (!variadic || g_conv == Conv::Aapcs64 || align_of(r) <= 8)) return r;
      }
    }
    return random_scalar(variadic);
  }

  Rng& rng() { return rng_; }
  const std::vector<const GType*>& records() const { return records_; }

 private:
  const GType* keep(std::unique_ptr<GType> t) {
    pool_.push_back(std::move(t));
    return pool_.back().get();
  }
  const GType* add_record(std::unique_ptr<GType> t) {
    t->id = records_.size();
    t->c_name = "R" + std::to_string(records_.size());
    records_.push_back(t.get());
    return keep(std::move(t));
  }
  Rng rng_;
  std::vector<std::unique_ptr<GType>> pool_;
  std::vector<const GType*> records_;
};

struct Case {
  std::string name;
  const GType* ret = nullptr;  // nullptr = void
  std::vector<const GType*> args;
  std::size_t fixed = SIZE_MAX;  // arguments before `...`; SIZE_MAX = not variadic
  bool variadic() const { return fixed != SIZE_MAX; }
  std::size_t named() const { return variadic() ? fixed : args.size(); }
};

// Microsoft x64 passes values of any other size than 1, 2, 4 or 8 bytes by reference.
bool ms_by_reference(const GType* t) {
  const std::size_t size = size_of(t);
  return !(size == 1 || size == 2 || size == 4 || size == 8);
}

const char* conv_attr() { return g_conv == Conv::Win64 ? "__attribute__((ms_abi)) " : ""; }

std::string signature_of(const Case& c) {
  // sysv is the x86-64 host's own ABI and has no prefix; aapcs64 has one, so that its
  // manifest says which ABI it is wherever it is read.
  const char* prefix = g_conv == Conv::Win64 ? "win64:" : g_conv == Conv::Aapcs64 ? "aapcs64:" : "";
  std::string s = std::string(prefix) + (c.ret ? sig_of(c.ret) : "void") + "(";
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    if (i) s += ", ";
    if (i == c.fixed) s += "...";
    s += sig_of(c.args[i]);
  }
  if (c.fixed == c.args.size()) s += c.args.empty() ? "..." : ", ...";
  return s + ")";
}

// "RET NAME(T0 a0, T1 a1, ...)" or, with an empty name, the function pointer type.
std::string prototype(const Case& c, const std::string& name) {
  std::string s = name.empty() ? (c.ret ? c_of(c.ret) : "void") + " (" + conv_attr() + "*)("
                               : conv_attr() + (c.ret ? c_of(c.ret) : "void") + " " + name + "(";
  for (std::size_t i = 0; i < c.named(); ++i) {
    s += (i ? ", " : "") + c_of(c.args[i]);
    if (!name.empty()) s += " a" + std::to_string(i);
  }
  if (c.variadic()) s += ", ...";
  if (c.named() == 0 && !c.variadic()) s += "void";
  return s + ")";
}

void write_callee(std::ostream& o, const Case& c, std::size_t k) {
  o << "// " << c.name << ": " << signature_of(c) << "\n";
  o << prototype(c, "conf_callee_" + std::to_string(k)) << " {\n";
  for (std::size_t i = 0; i < c.named(); ++i)
    o << "  memcpy(conf_args + " << i * kSlot << ", &a" << i << ", sizeof a" << i << ");\n";
  if (c.variadic()) {
    // An ms_abi function walks its arguments with gcc's ms_va_list builtins.
    const bool ms = g_conv == Conv::Win64;
    o << (ms ? "  __builtin_ms_va_list ap;\n  __builtin_ms_va_start(ap, a" : "  va_list ap;\n  va_start(ap, a")
      << c.named() - 1 << ");\n";
    for (std::size_t i = c.named(); i < c.args.size(); ++i) {
      const std::string t = c_of(c.args[i]);
      const std::string at = "conf_args + " + std::to_string(i * kSlot);
      // gcc 12's va_arg on an ms_va_list reads a value that Microsoft x64 passes by reference
      // (size not 1, 2, 4 or 8) inline from the argument slots, while gcc's own ms_abi callers
      // pass its address; the callee takes the address itself (docs/testing.md).
      if (ms && ms_by_reference(c.args[i]))
        o << "  { " << t << "* p = __builtin_va_arg(ap, " << t << "*); memcpy(" << at << ", p, sizeof *p); }\n";
      else
        o << "  { " << t << " v = __builtin_va_arg(ap, " << t << "); memcpy(" << at << ", &v, sizeof v); }\n";
    }
    o << (ms ? "  __builtin_ms_va_end(ap);\n" : "  va_end(ap);\n");
  }
  if (c.ret) o << "  " << c_of(c.ret) << " r;\n  memcpy(&r, conf_ret_in, sizeof r);\n  return r;\n";
  o << "}\n\n";
}

void write_caller(std::ostream& o, const Case& c, std::size_t k) {
  o << "// " << c.name << ": " << signature_of(c) << "\n";
  o << "void conf_caller_" << k << "(void* fn) {\n";
  for (std::size_t i = 0; i < c.args.size(); ++i)
    o << "  " << c_of(c.args[i]) << " a" << i << ";\n  memcpy(&a" << i << ", conf_args_in + " << i * kSlot
      << ", sizeof a" << i << ");\n";
  o << "  ";
  if (c.ret) o << c_of(c.ret) << " r = ";
  o << "((" << prototype(c, "") << ")fn)(";
  for (std::size_t i = 0; i < c.args.size(); ++i) o << (i ? ", " : "") << "a" << i;
  o << ");\n";
  if (c.ret) o << "  memcpy(conf_ret_out, &r, sizeof r);\n";
  o << "}\n\n";
}

void write_record(std::ostream& o, const GType* t) {
  o << "typedef " << (t->kind == GType::Union ? "union" : "struct");
  if (t->packed || t->align) {
    o << " __attribute__((";
    if (t->packed) o << "packed";
    if (t->packed && t->align) o << ", ";
    if (t->align) o << "aligned(" << t->align << ")";
    o << "))";
  }
  o << " {";
  for (std::size_t i = 0; i < t->members.size(); ++i) {
    const auto& m = t->members[i];
    o << " " << c_of(m.type) << " m" << i;
    if (m.count) o << "[" << m.count << "]";
    if (m.align) o << " __attribute__((aligned(" << m.align << ")))";
    o << ";";
  }
  o << " } " << t->c_name << ";\n";
}

void write_layout(std::ostream& o, const GType* t) {
  o << "const unsigned long conf_layout_" << t->c_name << "[] = {sizeof(" << t->c_name << "), _Alignof("
    << t->c_name << ")";
  for (std::size_t i = 0; i < t->members.size(); ++i) o << ", offsetof(" << t->c_name << ", m" << i << ")";
  o << "};\n";
}

// The file prologue. The silenced warning is about a shape the suite wants on purpose: a
// packed record holding an over-aligned one. (gcc's -Wpsabi notes, that the ABI of some shapes
// changed in gcc 4.x, ignore pragmas; the build passes -Wno-psabi.)
void write_prologue(std::ostream& o, std::uint64_t seed, const char* what) {
  o << "// Generated by conformance_gen --seed " << seed << " (" << what << "); do not edit.\n"
    << "#include <stdarg.h>\n#include <stddef.h>\n#include <string.h>\n"
    << "#pragma GCC diagnostic ignored \"-Wpragmas\"\n"
    << "#pragma GCC diagnostic ignored \"-Wunknown-warning-option\"\n"
    << "#pragma GCC diagnostic ignored \"-Wpacked-not-aligned\"\n"
    << "extern unsigned char conf_args[], conf_ret_in[], conf_args_in[], conf_ret_out[];\n";
}

// Hand-picked shapes first: the psABI's corner cases, named by shape.
std::vector<Case> named_cases(Generator& g) {
  auto S = [&](const char* s) { return g.named(s); };
  using M = GType::Member;
  auto st = [&](std::vector<M> m, bool packed = false, std::size_t align = 0) {
    return g.record_of(GType::Struct, std::move(m), packed, align);
  };
  auto un = [&](std::vector<M> m) { return g.record_of(GType::Union, std::move(m)); };
  auto rep = [](const GType* t, std::size_t n) { return std::vector<const GType*>(n, t); };
  auto cat = [](std::vector<const GType*> a, std::vector<const GType*> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  std::vector<Case> v;
  auto add = [&](const char* name, const GType* ret, std::vector<const GType*> args,
                 std::size_t fixed = SIZE_MAX) { v.push_back({name, ret, std::move(args), fixed}); };

  const GType* I8 = S("i8");
  const GType* U8 = S("u8");
  const GType* I32 = S("i32");
  const GType* I64 = S("i64");
  const GType* F32 = S("f32");
  const GType* F64 = S("f64");
  const GType* F80 = S("f80");
  const GType* PTR = S("ptr");
  const GType* f32x2_f64 = st({{F32, 0, 0}, {F32, 0, 0}, {F64, 0, 0}});
  const GType* char_double = st({{I8, 0, 0}, {F64, 0, 0}});
  const GType* ld = st({{F80, 0, 0}});
  const GType* f32x2 = st({{F32, 0, 0}, {F32, 0, 0}});
  const GType* f32x3 = st({{F32, 3, 0}});
  const GType* f32x4 = st({{F32, 4, 0}});
  const GType* f32_i32 = st({{F32, 0, 0}, {I32, 0, 0}});
  const GType* uf = un({{F32, 0, 0}, {I32, 0, 0}});
  const GType* ud = un({{F64, 0, 0}, {I64, 0, 0}});
  const GType* b12 = st({{I32, 3, 0}});
  const GType* i64x2 = st({{I64, 0, 0}, {I64, 0, 0}});
  const GType* i64_f64 = st({{I64, 0, 0}, {F64, 0, 0}});
  const GType* f64_i64 = st({{F64, 0, 0}, {I64, 0, 0}});
  const GType* f64x2 = st({{F64, 0, 0}, {F64, 0, 0}});
  const GType* f64x4 = st({{F64, 4, 0}});
  const GType* b24 = st({{I64, 3, 0}});
  const GType* u8x16 = st({{U8, 16, 0}});
  const GType* nested_f32 = st({{st({{F32, 0, 0}}), 0, 0}, {st({{F32, 0, 0}}), 0, 0}});
  const GType* packed5 = st({{I8, 0, 0}, {I32, 0, 0}}, true);
  const GType* packed_f64 = st({{I8, 0, 0}, {F64, 0, 0}}, true);
  const GType* al16 = st({{F32, 0, 0}}, false, 16);
  const GType* al32 = st({{I64, 0, 0}}, false, 32);
  const GType* member_al16 = st({{I8, 0, 0}, {I32, 0, 16}});
  const GType* odd3 = st({{U8, 3, 0}});
  const GType* odd7 = st({{U8, 7, 0}});
  const GType* big64 = st({{I64, 0, 0}, {F64, 0, 0}, {F32, 5, 0}, {I8, 0, 0}, {I64, 3, 0}});
  const GType* f128s = st({{S("f128"), 0, 0}});
  const GType* i128s = st({{S("i128"), 0, 0}});

  add("struct_f32x2_f64", f32x2_f64, {f32x2_f64, f32x2_f64});
  add("struct_char_double", char_double, {char_double, I32, char_double});
  add("struct_f80", ld, {ld, F80, ld});
  add("struct_f32x2", f32x2, {f32x2, F32, f32x2});
  add("struct_f32x3", f32x3, {f32x3, f32x3});
  add("struct_f32x4", f32x4, {f32x4, F64, f32x4});
  add("struct_f32_i32_one_eightbyte", f32_i32, {f32_i32, F32, f32_i32});
  add("struct_nested_f32_f32", nested_f32, {nested_f32, nested_f32});
  add("union_f32_i32", uf, {uf, F32, uf});
  add("union_f64_i64", ud, {ud, F64, ud});
  add("struct_12byte", b12, {b12, b12, b12, b12});
  add("struct_f64_i64", f64_i64, {f64_i64, i64_f64});
  add("struct_u8x16", u8x16, {u8x16, U8, u8x16});
  add("struct_after_gprs_exhausted", i64x2, {I64, I64, I64, I64, I64, i64x2, I64});
  add("struct_needs_gpr_and_xmm_when_one_left", i64_f64, {I64, I64, I64, I64, I64, I64, i64_f64, F64});
  add("struct_needs_xmm_and_gpr_when_xmm_out", i64_f64, cat(rep(F64, 8), {i64_f64, I64}));
  add("struct_f64x2_after_xmm_exhausted", f64x2, cat(rep(F64, 7), {f64x2, F64}));
  add("hfa4_double_like", f64x4, {f64x4, f64x4});
  add("struct_24byte", b24, {b24, I32, b24});
  add("struct_64byte_sret", big64, {big64, I32, big64});
  add("struct_f128", f128s, {f128s, S("f128"), f128s});
  add("struct_i128", i128s, {i128s, I64, i128s});
  add("packed_unaligned", packed5, {packed5, packed5});
  add("packed_f64_not_sse", packed_f64, {packed_f64, F64, packed_f64});
  add("aligned16_one_float", al16, {al16, I32, al16});
  add("aligned32_on_stack", al32, {I64, I64, I64, I64, I64, I64, I64, al32, S("i8")});
  add("member_aligned16", member_al16, {member_al16, I8, member_al16});
  add("odd_sizes", odd7, {odd3, odd7, odd3, odd7});
  add("int_x12", I32, rep(I32, 12));
  add("double_x4", F64, {F64, F64, F64, F64});
  add("float_x20", F32, rep(F32, 20));
  add("f80_between_ints", F80, {I32, F80, I32, F80, I8});
  add("many_mixed", F64, {I32, F64, I64, F32, PTR, S("i16"), F64, U8, S("bool"), F80, S("u16"), S("i128"),
                          S("f128"), F64, F32, I8, F64, F64, F64, S("u64")});
  add("i128_pairs", S("i128"), {I64, I64, I64, I64, I64, S("i128"), I64, S("u128")});
  add("i128_on_stack_aligned", S("u128"), cat(rep(I64, 6), {I32, S("i128"), I32}));
  add("small_ints", I8, {I8, U8, S("i16"), S("u16"), S("bool")});
  add("bool_return", S("bool"), {S("bool"), I32});
  add("varargs_struct", I32, {PTR, f64x2, b24, F64, I32, ld}, 1);
  add("varargs_printf_like", I32, {PTR, I32, F64, PTR, I64, F64}, 1);
  add("varargs_none_passed", I32, {PTR, I32}, 2);
  add("varargs_f64_x10", F64, cat({I32}, rep(F64, 10)), 1);
  add("varargs_f80", F80, {I32, F80, F64, F80}, 1);
  add("varargs_i128", S("i128"), {I32, S("i128"), I64, S("u128")}, 1);
  add("varargs_struct_after_gprs_exhausted", I64, {I64, I64, I64, I64, I64, i64x2, f64_i64}, 5);
  // gcc classifies an array member by its first element only (psABI "unaligned fields" is
  // checked at that element's offset): {packed {i32, u8}[2]} goes in two GPRs although the
  // second element's i32 sits at offset 5. With the first element misaligned, memory.
  const GType* packed_i32_u8 = st({{I32, 0, 0}, {U8, 0, 0}}, true);
  const GType* packed_array = st({{packed_i32_u8, 2, 0}});
  const GType* packed_array_off1 = st({{U8, 0, 0}, {packed_i32_u8, 2, 0}});
  add("array_of_packed_by_first_element", packed_array, {I64, packed_array, I64});
  add("array_of_packed_first_misaligned", packed_array_off1, {I64, packed_array_off1, I64});
  // A record whose first eightbyte is the sixth GPR, after a float in xmm0: libffi 3.4.4
  // corrupts xmm0 here (its issue 574), so this case also exercises the runner's known-bug rule.
  add("record_in_r9_after_float", I64, {I64, I64, I64, I64, I64, F32, i64_f64});
  // gcc's post-merge cleanup runs at every nesting level: a member union{u32, f80} is
  // [INTEGER, X87UP] and X87UP not after X87 sends it, and so its container, to memory, even
  // when a u128 member would make the container INTEGER, INTEGER.
  const GType* u32_f80 = un({{S("u32"), 0, 0}, {F80, 0, 0}});
  const GType* nested_x87up = un({{S("u128"), 0, 0}, {u32_f80, 0, 0}});
  const GType* nested_x87up_struct = un({{S("u128"), 0, 0}, {st({{u32_f80, 0, 0}}), 0, 0}});
  add("union_nested_x87up_alone", nested_x87up, {I64, nested_x87up, I64});
  add("union_nested_struct_x87up_alone", nested_x87up_struct, {I64, nested_x87up_struct, I64});
  add("void_noargs", nullptr, {});
  return v;
}

// AAPCS64 (Linux on AArch64): the shapes its rules single out. A homogeneous floating-point
// aggregate (HFA) of 1..4 float, double or long double members goes in consecutive v
// registers, or, when too few are left, all of it on the stack, and then no later argument
// gets a v register; other composites of up to 16 bytes go in one or two x registers (an
// even-numbered pair when 16-aligned) on the same all-or-stack rule, larger ones by
// reference, larger results through x8; __int128 takes an even pair; stack slots are at least
// 8 bytes and 16-aligned values 16-aligned; variadic arguments go as named ones do (Linux).
std::vector<Case> named_cases_aapcs64(Generator& g) {
  auto S = [&](const char* s) { return g.named(s); };
  using M = GType::Member;
  auto st = [&](std::vector<M> m, bool packed = false, std::size_t align = 0) {
    return g.record_of(GType::Struct, std::move(m), packed, align);
  };
  auto un = [&](std::vector<M> m) { return g.record_of(GType::Union, std::move(m)); };
  auto rep = [](const GType* t, std::size_t n) { return std::vector<const GType*>(n, t); };
  auto cat = [](std::vector<const GType*> a, std::vector<const GType*> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  std::vector<Case> v;
  auto add = [&](const char* name, const GType* ret, std::vector<const GType*> args,
                 std::size_t fixed = SIZE_MAX) { v.push_back({name, ret, std::move(args), fixed}); };

  const GType* BOOL = S("bool");
  const GType* I8 = S("i8");
  const GType* U8 = S("u8");
  const GType* I16 = S("i16");
  const GType* U16 = S("u16");
  const GType* I32 = S("i32");
  const GType* U32 = S("u32");
  const GType* I64 = S("i64");
  const GType* U64 = S("u64");
  const GType* I128 = S("i128");
  const GType* U128 = S("u128");
  const GType* F32 = S("f32");
  const GType* F64 = S("f64");
  const GType* LD = S("f128");  // long double
  const GType* PTR = S("ptr");

  // HFAs: plain, nested, arrays, unions, aligned and packed records that stay homogeneous.
  const GType* f32x1 = st({{F32, 0, 0}});
  const GType* f32x2 = st({{F32, 0, 0}, {F32, 0, 0}});
  const GType* f32x3 = st({{F32, 3, 0}});
  const GType* f32x4 = st({{F32, 4, 0}});
  const GType* f64x1 = st({{F64, 0, 0}});
  const GType* f64x2 = st({{F64, 0, 0}, {F64, 0, 0}});
  const GType* f64x3 = st({{F64, 0, 0}, {F64, 2, 0}});
  const GType* f64x4 = st({{F64, 4, 0}});
  const GType* ldx1 = st({{LD, 0, 0}});
  const GType* ldx2 = st({{LD, 2, 0}});
  const GType* ldx3 = st({{LD, 0, 0}, {LD, 0, 0}, {LD, 0, 0}});
  const GType* ldx4 = st({{LD, 4, 0}});
  const GType* nested_f32x4 = st({{F32, 2, 0}, {st({{F32, 0, 0}, {F32, 0, 0}}), 0, 0}});  // {float a[2]; struct {float b, c;} s;}
  const GType* nested_f64_array = st({{f64x1, 2, 0}, {F64, 0, 0}});                      // {{f64}[2], f64}
  const GType* nested_deep = st({{st({{f32x1, 0, 0}, {F32, 0, 0}}), 0, 0}, {F32, 2, 0}});  // {{{f32}, f32}, f32[2]}
  const GType* union_f32 = un({{F32, 0, 0}, {F32, 2, 0}});                               // 2 floats
  const GType* union_f64x2 = un({{f64x2, 0, 0}, {F64, 0, 0}});
  const GType* union_in_struct = st({{union_f32, 0, 0}, {F32, 0, 0}});  // 3 floats
  const GType* f64x2_al16 = st({{F64, 0, 0}, {F64, 0, 0}}, false, 16);  // no padding: still an HFA
  const GType* f32x4_al16 = st({{F32, 4, 0}}, false, 16);
  const GType* f32x2_first_al8 = st({{F32, 0, 8}, {F32, 0, 0}});      // aligned first member, no padding
  const GType* packed_f32x2 = st({{F32, 0, 0}, {F32, 0, 0}}, true);
  const GType* packed_f64x2 = st({{F64, 0, 0}, {F64, 0, 0}}, true);
  // Near misses: too many members, two float types, padding, an integer.
  const GType* f32x5 = st({{F32, 5, 0}});  // 20 bytes: by reference
  const GType* f64x5 = st({{F64, 5, 0}});
  const GType* f32_f64 = st({{F32, 0, 0}, {F64, 0, 0}});
  const GType* f64_f32 = st({{F64, 0, 0}, {F32, 0, 0}});
  const GType* f32_padded = st({{F32, 0, 0}, {F32, 0, 8}});  // {f32, alignas(8) f32}: 16 bytes, 8 of them floats
  const GType* f32_al16 = st({{F32, 0, 0}}, false, 16);      // one float in 16 bytes: an even x pair
  const GType* f32_i32 = st({{F32, 0, 0}, {I32, 0, 0}});
  const GType* ld_f64 = st({{LD, 0, 0}, {F64, 0, 0}});  // 32 bytes: by reference
  const GType* f32_ld = st({{F32, 0, 0}, {LD, 0, 0}});  // 32 bytes, 16-aligned: by reference
  const GType* union_f32_f64 = un({{F32, 0, 0}, {F64, 0, 0}});
  const GType* f64x2_al32 = st({{F64, 0, 0}, {F64, 0, 0}}, false, 32);  // 32 bytes: by reference

  // Integer composites of every size up to 16, and beyond.
  std::vector<const GType*> bytes(18);
  for (std::size_t k = 1; k <= 17; ++k) bytes[k] = st({{U8, k, 0}});
  const GType* i16x3 = st({{I16, 3, 0}});
  const GType* i32x3 = st({{I32, 3, 0}});
  const GType* i64x2 = st({{I64, 0, 0}, {I64, 0, 0}});
  const GType* i64x3 = st({{I64, 3, 0}});
  const GType* i8_i32_i16 = st({{I8, 0, 0}, {I32, 0, 0}, {I16, 0, 0}});  // 12 bytes
  const GType* big64 = st({{I64, 0, 0}, {F64, 0, 0}, {F32, 5, 0}, {I8, 0, 0}, {I64, 3, 0}});
  const GType* i128s = st({{I128, 0, 0}});
  const GType* i64x2_al16 = st({{I64, 0, 0}, {I64, 0, 0}}, false, 16);
  const GType* i8_al16 = st({{I8, 0, 0}}, false, 16);
  const GType* first_member_al16 = st({{I64, 0, 16}, {I64, 0, 0}});  // 16 bytes, 16-aligned
  const GType* late_member_al16 = st({{I8, 0, 0}, {I32, 0, 16}});    // 32 bytes: by reference
  const GType* i64_al32 = st({{I64, 0, 0}}, false, 32);
  const GType* packed_i8_i64 = st({{I8, 0, 0}, {I64, 0, 0}}, true);  // 9 bytes
  const GType* packed_i8_f64 = st({{I8, 0, 0}, {F64, 0, 0}}, true);
  const GType* packed_i8_i32 = st({{I8, 0, 0}, {I32, 0, 0}}, true);
  const GType* packed_11 = st({{I16, 0, 0}, {I64, 0, 0}, {I8, 0, 0}}, true);
  const GType* packed_i8_i128 = st({{I8, 0, 0}, {I128, 0, 0}}, true);  // 17 bytes, 1-aligned
  const GType* uf = un({{F32, 0, 0}, {I32, 0, 0}});
  const GType* ud = un({{F64, 0, 0}, {I64, 0, 0}});
  const GType* F128_KW = g.spelled("f128", "_Float128");
  const GType* f128kw_x2 = st({{F128_KW, 0, 0}, {F128_KW, 0, 0}});

  add("hfa_f32x1", f32x1, {f32x1, F32, f32x1});
  add("hfa_f32x2", f32x2, {f32x2, F32, f32x2});
  add("hfa_f32x3", f32x3, {f32x3, f32x3});
  add("hfa_f32x4", f32x4, {f32x4, F64, f32x4});
  add("hfa_f64x1", f64x1, {f64x1, F64, f64x1});
  add("hfa_f64x2", f64x2, {f64x2, f64x2, F64});
  add("hfa_f64x3", f64x3, {f64x3, F32, f64x3});
  add("hfa_f64x4_fills_v0_v7", f64x4, {f64x4, f64x4});
  add("hfa_ldx1", ldx1, {ldx1, LD, ldx1});
  add("hfa_ldx2", ldx2, {ldx2, ldx2, LD});
  add("hfa_ldx3", ldx3, {ldx3, LD, ldx3});
  add("hfa_ldx4_third_on_stack", ldx4, {ldx4, ldx4, ldx4});
  add("hfa_nested_f32x4", nested_f32x4, {nested_f32x4, I32, nested_f32x4});
  add("hfa_array_of_records", nested_f64_array, {nested_f64_array, nested_f64_array, F64});
  add("hfa_nested_three_levels", nested_deep, {nested_deep, nested_deep});
  add("hfa_union_f32_f32x2", union_f32, {union_f32, F32, union_f32});
  add("hfa_union_of_hfa", union_f64x2, {union_f64x2, union_f64x2});
  add("hfa_union_in_struct", union_in_struct, {union_in_struct, F64, union_in_struct});
  add("hfa_aligned16_f64x2", f64x2_al16, {I32, f64x2_al16, F32, f64x2_al16});
  add("hfa_aligned16_f32x4", f32x4_al16, {f32x4_al16, I8, f32x4_al16});
  add("hfa_first_member_aligned", f32x2_first_al8, {f32x2_first_al8, F32, f32x2_first_al8});
  add("hfa_packed_f32x2", packed_f32x2, {packed_f32x2, F32, packed_f32x2});
  add("hfa_packed_f64x2", packed_f64x2, {packed_f64x2, I64, packed_f64x2});
  add("not_hfa_f32x5_by_reference", f32x5, {f32x5, F32, f32x5});
  add("not_hfa_f64x5_by_reference", f64x5, {F64, f64x5, F64});
  add("not_hfa_f32_f64", f32_f64, {f32_f64, F32, f64_f32});
  add("not_hfa_f32_padded", f32_padded, {f32_padded, F32, f32_padded});
  add("not_hfa_one_float_aligned16", f32_al16, {I64, f32_al16, I64, f32_al16});
  add("not_hfa_f32_i32", f32_i32, {f32_i32, F32, f32_i32});
  add("not_hfa_ld_f64_by_reference", ld_f64, {ld_f64, LD, ld_f64});
  add("not_hfa_union_f32_f64", union_f32_f64, {union_f32_f64, F64, union_f32_f64});
  add("not_hfa_aligned32_by_reference", f64x2_al32, {f64x2_al32, F64, f64x2_al32});
  add("hfa_fits_v4_to_v7", f64x4, cat(rep(F64, 4), {f64x4}));
  add("hfa_does_not_fit_closes_v_registers", F64, cat(rep(F64, 5), {f64x4, F64, f32x2}));
  add("hfa_f32x3_after_v5", f32x3, cat(rep(F32, 6), {f32x3, F32, I32}));
  add("long_double_after_v_exhausted", LD, cat(rep(F64, 8), {LD, ldx2, F32}));
  add("floats_interleaved", F64, {F32, F64, LD, F32, ldx2, F64, f32x2, LD, F32, F64});
  add("float_x20", F32, rep(F32, 20));
  add("double_x12", F64, rep(F64, 12));
  add("int_x12", I32, rep(I32, 12));
  add("i8_x12", I8, rep(I8, 12));
  add("small_ints_on_stack", I16, cat(rep(I64, 8), {I8, U8, I16, U16, BOOL, I32, U32}));
  add("struct16_needs_pair_when_one_left", i64x2, cat(rep(I64, 7), {i64x2, I64}));
  add("struct12_needs_pair_when_one_left", i32x3, cat(rep(I64, 7), {i32x3, I32}));
  add("struct8_in_last_gpr", bytes[8], cat(rep(I64, 7), {bytes[8], I64}));
  add("by_reference_address_on_stack", i64x3, cat(rep(I64, 8), {i64x3, i64x3}));
  add("double_after_x_exhausted", F64, cat(rep(I64, 9), {F64, f64x2}));
  add("i128_even_pair", I128, {I64, I128, I64, U128});
  add("i128_pairs", I128, {I64, I64, I64, I64, I64, I128, I64, U128});
  add("i128_on_stack_aligned", U128, cat(rep(I64, 7), {I32, I128, I32}));
  add("i128_after_seven", U128, cat(rep(I64, 7), {I128, I64}));
  add("struct_i128_even_pair", i128s, {I32, i128s, I32, i128s});
  add("aligned16_record_even_pair", i64x2_al16, {I8, i64x2_al16, I8, i64x2_al16, I8});
  add("aligned16_byte_record", i8_al16, {I32, i8_al16, i8_al16});
  add("member_aligned16_even_pair", first_member_al16, {I64, first_member_al16, first_member_al16});
  add("member_aligned16_by_reference", late_member_al16, {late_member_al16, I8, late_member_al16});
  add("aligned16_on_stack", i64x2_al16, cat(rep(I64, 7), {i64x2_al16, I8, i64x2_al16}));
  add("aligned32_by_reference", i64_al32, cat(rep(I64, 7), {i64_al32, I8}));
  add("composite_1_to_8_bytes", bytes[3], {bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8]});
  add("composite_9_to_16_bytes", bytes[13],
      {bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15], bytes[16]});
  add("composite_odd_shapes", i8_i32_i16, {i16x3, i8_i32_i16, i32x3, bytes[5], bytes[7]});
  add("composite_17_bytes_by_reference", bytes[17], {bytes[17], I32, bytes[17]});
  add("struct16_return_x0_x1", i64x2, {i64x2, i64x2});
  add("struct_24byte_via_x8", i64x3, {i64x3, I32, i64x3});
  add("struct_64byte_via_x8", big64, {big64, I32, big64});
  add("union_f32_i32", uf, {uf, F32, uf});
  add("union_f64_i64", ud, {ud, F64, ud});
  add("packed_9_bytes", packed_i8_i64, {packed_i8_i64, I8, packed_i8_i64});
  add("packed_f64_not_hfa", packed_i8_f64, {packed_i8_f64, F64, packed_i8_f64});
  add("packed_unaligned", packed_i8_i32, {packed_i8_i32, packed_i8_i32});
  add("packed_11_bytes_on_stack", packed_11, cat(rep(I64, 7), {packed_11, packed_11}));
  add("packed_i128_by_reference", packed_i8_i128, {packed_i8_i128, I64, packed_i8_i128});
  add("long_double", LD, {LD, F64, LD});
  add("float128_keyword", F128_KW, {F128_KW, f128kw_x2, LD});
  add("small_ints", I8, {I8, U8, I16, U16, BOOL});
  add("bool_return", BOOL, {BOOL, I32});
  add("many_mixed", F64, {I32, F64, I64, F32, PTR, I16, F64, U8, BOOL, LD, U16, I128, F64, F32, I8, F64, F64, F64,
                          U64, f32x3});
  add("varargs_printf_like", I32, {PTR, I32, F64, PTR, I64, F64}, 1);
  add("varargs_none_passed", I32, {PTR, I32}, 2);
  add("varargs_named_float", F64, {F32, F64, I32}, 1);
  add("varargs_f64_x10", F64, cat({I32}, rep(F64, 10)), 1);
  add("varargs_long_double", LD, {I32, LD, F64, LD}, 1);
  add("varargs_i128", I128, {I32, I128, I64, U128}, 1);
  add("varargs_hfa", I32, {PTR, f32x3, f64x2, ldx2, F64}, 1);
  add("varargs_struct", I32, {PTR, f64x2, i64x3, F64, I32, bytes[12]}, 1);
  add("varargs_aligned16", I64, {I32, i64x2_al16, I64, i128s}, 1);
  add("varargs_after_registers_exhausted", I64, cat(rep(I64, 7), {i64x2, F64, f64x4, f64x4, LD}), 7);
  // The address of a 16-aligned record passed by reference goes to an 8-byte stack slot at
  // stack+8: libffi 3.4.4 puts it at stack+16 (docs/testing.md), so this case also exercises
  // the runner's known-bug rule.
  add("by_reference_16aligned_address_at_stack_8", LD, cat(rep(I64, 9), {f32_ld, I64}));
  add("void_noargs", nullptr, {});
  return v;
}

int usage() {
  std::fprintf(stderr,
               "usage: conformance_gen --seed S --count N --out DIR [--per-file K] [--abi sysv|win64|aapcs64]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;
  std::size_t count = 2000, per_file = 400;
  std::string out;
  for (int i = 1; i < argc; i += 2) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--count") count = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--out") out = argv[i + 1];
    else if (a == "--per-file") per_file = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--abi" && std::string(argv[i + 1]) == "sysv") g_conv = Conv::SysV;
    else if (a == "--abi" && std::string(argv[i + 1]) == "win64") g_conv = Conv::Win64;
    else if (a == "--abi" && std::string(argv[i + 1]) == "aapcs64") g_conv = Conv::Aapcs64;
    else return usage();
  }
  if (out.empty() || per_file == 0) return usage();

  Generator g(seed);
  std::vector<Case> cases = g_conv == Conv::Aapcs64 ? named_cases_aapcs64(g) : named_cases(g);
  while (cases.size() < count) {
    Case c;
    c.name = "random_" + std::to_string(cases.size());
    c.ret = g.rng().chance(10) ? nullptr : g.random_value_type(false);
    // Mostly few arguments (the register cases), sometimes up to 20 (stack overflow areas).
    std::size_t n = g.rng().chance(70) ? g.rng().below(7) : g.rng().below(kMaxArgs);
    bool variadic = n > 0 && g.rng().chance(15);
    if (variadic) c.fixed = 1 + g.rng().below(n);  // C needs one named argument before `...`
    for (std::size_t i = 0; i < n; ++i) c.args.push_back(g.random_value_type(variadic && i >= c.fixed));
    cases.push_back(std::move(c));
  }
  cases.resize(count);  // a count below the named list keeps a prefix of it

  // Each file declares only the records its cases use (all records in every file made 100,000
  // cases 2 GB of C); a record's layout row lives in the callee file of its first user.
  std::vector<std::size_t> owner(g.records().size(), SIZE_MAX);
  std::size_t files = (count + per_file - 1) / per_file;
  if (files == 0) files = 1;  // the buffers live in callees_0.c even with no cases
  for (std::size_t f = 0; f < files; ++f) {
    std::size_t first = f * per_file, last = std::min(cases.size(), first + per_file);
    std::vector<bool> used(g.records().size(), false);
    auto mark = [&](auto&& self, const GType* t) -> void {
      if (!t || t->kind == GType::Scalar || used[t->id]) return;
      used[t->id] = true;
      for (const auto& m : t->members) self(self, m.type);
    };
    for (std::size_t k = first; k < last; ++k) {
      mark(mark, cases[k].ret);
      for (const GType* a : cases[k].args) mark(mark, a);
    }

    std::ofstream callees(out + "/callees_" + std::to_string(f) + ".c");
    std::ofstream callers(out + "/callers_" + std::to_string(f) + ".c");
    write_prologue(callees, seed, "callees");
    write_prologue(callers, seed, "callers");
    // Records are created members first, so id order declares every member before its user.
    for (const GType* r : g.records())
      if (used[r->id]) {
        write_record(callees, r);
        write_record(callers, r);
      }
    for (const GType* r : g.records())
      if (used[r->id] && owner[r->id] == SIZE_MAX) {
        owner[r->id] = f;
        write_layout(callees, r);
      }
    if (f == 0)
      callees << "unsigned char conf_args[" << kSlot * kMaxArgs << "] __attribute__((aligned(64)));\n"
              << "unsigned char conf_args_in[" << kSlot * kMaxArgs << "] __attribute__((aligned(64)));\n"
              << "unsigned char conf_ret_in[" << kSlot << "] __attribute__((aligned(64)));\n"
              << "unsigned char conf_ret_out[" << kSlot << "] __attribute__((aligned(64)));\n";
    callees << "\n";
    callers << "\n";
    for (std::size_t k = first; k < last; ++k) {
      write_callee(callees, cases[k], k);
      write_caller(callers, cases[k], k);
    }
    if (!callees || !callers) {
      std::fprintf(stderr, "conformance_gen: cannot write %s\n", out.c_str());
      return 1;
    }
  }

  std::ofstream manifest(out + "/manifest.txt");
  manifest << "# conformance_gen --seed " << seed << " --count " << count << "\n"
           << "# slot N: argument i of every case is at byte i*N of conf_args / conf_args_in\n"
           << "# type NAME TEXT: record NAME (C typedef, layout row conf_layout_NAME) in signature syntax\n"
           << "# case ID NAME SIGNATURE: functions conf_callee_ID and conf_caller_ID\n"
           << "slot " << kSlot << "\n";
  for (const GType* r : g.records())
    if (owner[r->id] != SIZE_MAX) manifest << "type " << r->c_name << " " << sig_of(r) << "\n";
  for (std::size_t k = 0; k < cases.size(); ++k)
    manifest << "case " << k << " " << cases[k].name << " " << signature_of(cases[k]) << "\n";
  if (!manifest) {
    std::fprintf(stderr, "conformance_gen: cannot write %s/manifest.txt\n", out.c_str());
    return 1;
  }
  return 0;
}
