// Conformance case generator: writes C functions with random signatures, callees that record
// every argument byte and return a value chosen by the test, and callers that call a function
// pointer with arguments chosen by the test, plus a manifest in tramp's signature syntax.
//
//   conformance_gen --seed S --count N --out DIR [--per-file K] [--abi sysv|win64]
//
// writes DIR/callees_F.c and DIR/callers_F.c (K cases each, so the compile parallelises) and
// DIR/manifest.txt. The same seed and count always give the same files.
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
constexpr std::size_t kMaxArgs = 21;
constexpr std::size_t kMaxRecord = 64;  // random records are 1..64 bytes (issue 2, part 7)   // named shapes use up to 20 arguments, random ones too

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

struct GType {
  enum Kind { Scalar, Struct, Union } kind = Scalar;
  std::size_t scalar = 0;
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

std::string c_of(const GType* t) { return t->kind == GType::Scalar ? kScalars[t->scalar].c : t->c_name; }

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
  const GType* random_scalar(bool promotable_only) {
    for (;;) {
      std::size_t i = rng_.below(kScalarCount);
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

  // Variadic positions take promoted scalars and records aligned to at most 8. gcc 12 -O2
  // miscompiles va_arg of a 16-aligned record that arrived in registers (it copies the
  // register save area with movdqa from an 8-aligned slot and faults; docs/testing.md), so
  // such a case would test gcc, not tramp.
  const GType* random_value_type(bool variadic) {
    if (rng_.chance(35)) {
      for (;;) {
        const GType* r = random_record(0, 8 + rng_.below(57));
        if (size_of(r) <= kMaxRecord && (!variadic || align_of(r) <= 8)) return r;
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

// The calling convention the generated functions use: the host's (sysv) or Microsoft x64
// through gcc's __attribute__((ms_abi)) (win64).
enum class Conv { SysV, Win64 };
Conv g_conv = Conv::SysV;

// Microsoft x64 passes values of any other size than 1, 2, 4 or 8 bytes by reference.
bool ms_by_reference(const GType* t) {
  const std::size_t size = size_of(t);
  return !(size == 1 || size == 2 || size == 4 || size == 8);
}

const char* conv_attr() { return g_conv == Conv::Win64 ? "__attribute__((ms_abi)) " : ""; }

std::string signature_of(const Case& c) {
  std::string s = std::string(g_conv == Conv::Win64 ? "win64:" : "") + (c.ret ? sig_of(c.ret) : "void") + "(";
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

int usage() {
  std::fprintf(stderr, "usage: conformance_gen --seed S --count N --out DIR [--per-file K] [--abi sysv|win64]\n");
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
    else return usage();
  }
  if (out.empty() || per_file == 0) return usage();

  Generator g(seed);
  std::vector<Case> cases = named_cases(g);
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
