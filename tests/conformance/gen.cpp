// Conformance case generator: writes C functions with random signatures (callees that record
// every argument byte and return a value chosen by the test, and callers that call a function
// pointer with known arguments), plus a manifest in tramp's signature syntax.
//
//   conformance_gen --seed S --count N --out DIR [--per-file K]
//
// Standalone on purpose: its own type model renders both the C declaration and the signature
// text, so the test also checks tramp's parser and layout against gcc's.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

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
  bool promotable;  // survives C's default argument promotions unchanged
};

constexpr Scalar kScalars[] = {
    {"bool", "_Bool", 1, false},          {"i8", "signed char", 1, false},
    {"u8", "unsigned char", 1, false},    {"i16", "short", 2, false},
    {"u16", "unsigned short", 2, false},  {"i32", "int", 4, true},
    {"u32", "unsigned int", 4, true},     {"i64", "long", 8, true},
    {"u64", "unsigned long", 8, true},    {"i128", "__int128", 16, true},
    {"u128", "unsigned __int128", 16, true}, {"f32", "float", 4, false},
    {"f64", "double", 8, true},           {"f80", "long double", 16, true},
    {"f128", "__float128", 16, true},     {"ptr", "void*", 8, true},
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
  std::string c_name;  // typedef name for records
  std::size_t id = 0;     // index among records, in creation order (members before records)
  std::size_t size_hint = 0;
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

// The C alignment of t (gcc's rules), enough to steer the generator.
std::size_t align_of(const GType* t) {
  if (t->kind == GType::Scalar) {
    std::size_t sz = kScalars[t->scalar].size;
    return sz > 16 ? 16 : sz;
  }
  std::size_t a = 1;
  for (const auto& m : t->members) {
    std::size_t ma = t->packed ? 1 : align_of(m.type);
    if (m.align > ma) ma = m.align;
    if (ma > a) a = ma;
  }
  return t->align > a ? t->align : a;
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
  const GType* named(const char* sig) {
    for (std::size_t i = 0; i < kScalarCount; ++i)
      if (std::string(kScalars[i].sig) == sig) return scalar(i);
    std::abort();
  }
  const GType* random_scalar(bool promotable_only) {
    for (;;) {
      std::size_t i = rng_.below(kScalarCount);
      if (!promotable_only || kScalars[i].promotable) return scalar(i);
    }
  }

  // A record of roughly `budget` bytes at most.
  const GType* random_record(int depth, std::size_t budget) {
    auto t = std::make_unique<GType>();
    t->kind = rng_.chance(12) ? GType::Union : GType::Struct;
    t->packed = rng_.chance(10);
    if (rng_.chance(8)) t->align = std::size_t{1} << (2 + rng_.below(4));  // 4..32
    std::size_t n = 1 + rng_.below(depth == 0 ? 6 : 3);
    std::size_t used = 0;
    for (std::size_t i = 0; i < n && used < budget; ++i) {
      GType::Member m{nullptr, 0, 0};
      if (depth < 2 && rng_.chance(15)) {
        m.type = random_record(depth + 1, budget - used);
      } else {
        m.type = random_scalar(false);
      }
      if (rng_.chance(15)) m.count = 1 + rng_.below(4);
      if (rng_.chance(4)) m.align = std::size_t{1} << (1 + rng_.below(4));
      std::size_t sz = m.type->size_hint * (m.count ? m.count : 1);
      if (used + sz > budget && i > 0) break;
      used += sz;
      t->members.push_back(m);
    }
    t->size_hint = used;
    t->id = records_.size();
    t->c_name = "R" + std::to_string(records_.size());
    records_.push_back(t.get());
    return keep(std::move(t));
  }

  const GType* record_of(GType::Kind kind, std::vector<GType::Member> members, bool packed = false,
                         std::size_t align = 0) {
    auto t = std::make_unique<GType>();
    t->kind = kind;
    t->members = std::move(members);
    t->packed = packed;
    t->align = align;
    for (auto& m : t->members) t->size_hint += m.type->size_hint * (m.count ? m.count : 1);
    t->id = records_.size();
    t->c_name = "R" + std::to_string(records_.size());
    records_.push_back(t.get());
    return keep(std::move(t));
  }

  // Variadic positions take promoted scalars, and records aligned to at most 8: gcc 12's own
  // va_arg reads a 16-aligned record that arrived in a register pair with movdqa from an
  // 8-aligned register-save slot and faults (see docs/testing.md), so such a case would test gcc.
  const GType* random_value_type(bool variadic) {
    if (rng_.chance(35)) {
      for (;;) {
        const GType* r = random_record(0, 8 + rng_.below(57));
        if (!variadic || align_of(r) <= 8) return r;
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
  Rng rng_;
  std::vector<std::unique_ptr<GType>> pool_;
  std::vector<const GType*> records_;
};

struct Case {
  std::string name;
  const GType* ret = nullptr;  // nullptr = void
  std::vector<const GType*> args;
  std::size_t fixed = SIZE_MAX;  // SIZE_MAX = not variadic
};

std::string signature_of(const Case& c) {
  std::string s = (c.ret ? sig_of(c.ret) : "void") + "(";
  for (std::size_t i = 0; i < c.args.size(); ++i) {
    if (i) s += ", ";
    if (i == c.fixed) s += "...";
    s += sig_of(c.args[i]);
  }
  if (c.fixed == c.args.size()) s += ", ...";
  return s + ")";
}

constexpr std::size_t kSlot = 256;  // bytes per argument in the record buffers (the runner skips bigger values)

std::string prototype(const Case& c, const std::string& name) {
  std::string s = (c.ret ? c_of(c.ret) : "void") + " " + name + "(";
  std::size_t named = c.fixed == SIZE_MAX ? c.args.size() : c.fixed;
  for (std::size_t i = 0; i < named; ++i) s += (i ? ", " : "") + c_of(c.args[i]) + " a" + std::to_string(i);
  if (c.fixed != SIZE_MAX) s += ", ...";
  if (named == 0 && c.fixed == SIZE_MAX) s += "void";
  return s + ")";
}

std::string pointer_type(const Case& c) {
  std::string s = (c.ret ? c_of(c.ret) : "void") + " (*)(";
  std::size_t named = c.fixed == SIZE_MAX ? c.args.size() : c.fixed;
  for (std::size_t i = 0; i < named; ++i) s += (i ? ", " : "") + c_of(c.args[i]);
  if (c.fixed != SIZE_MAX) s += ", ...";
  if (named == 0 && c.fixed == SIZE_MAX) s += "void";
  return s + ")";
}

void write_case(std::ostream& o, const Case& c, std::size_t k) {
  std::string callee = "conf_callee_" + std::to_string(k);
  o << prototype(c, callee) << " {\n";
  std::size_t named = c.fixed == SIZE_MAX ? c.args.size() : c.fixed;
  for (std::size_t i = 0; i < named; ++i)
    o << "  memcpy(conf_args + " << i * kSlot << ", &a" << i << ", sizeof a" << i << ");\n";
  if (c.fixed != SIZE_MAX) {
    o << "  va_list ap;\n  va_start(ap, a" << named - 1 << ");\n";
    for (std::size_t i = named; i < c.args.size(); ++i)
      o << "  { " << c_of(c.args[i]) << " v = va_arg(ap, " << c_of(c.args[i]) << "); memcpy(conf_args + "
        << i * kSlot << ", &v, sizeof v); }\n";
    o << "  va_end(ap);\n";
  }
  if (c.ret) o << "  " << c_of(c.ret) << " r;\n  memcpy(&r, conf_ret_in, sizeof r);\n  return r;\n";
  o << "}\n";

  o << "void conf_caller_" << k << "(void* fn) {\n";
  for (std::size_t i = 0; i < c.args.size(); ++i)
    o << "  " << c_of(c.args[i]) << " a" << i << ";\n  memcpy(&a" << i << ", conf_args_in + " << i * kSlot
      << ", sizeof a" << i << ");\n";
  o << "  ";
  if (c.ret) o << c_of(c.ret) << " r = ";
  o << "((" << pointer_type(c) << ")fn)(";
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

// Hand-picked shapes first: the psABI's corner cases, named by shape.
std::vector<Case> named_cases(Generator& g) {
  auto S = [&](const char* s) { return g.named(s); };
  using M = GType::Member;
  auto st = [&](std::vector<M> m, bool packed = false, std::size_t align = 0) {
    return g.record_of(GType::Struct, std::move(m), packed, align);
  };
  std::vector<Case> v;
  auto add = [&](const char* name, const GType* ret, std::vector<const GType*> args, std::size_t fixed = SIZE_MAX) {
    v.push_back({name, ret, std::move(args), fixed});
  };
  const GType* f32x2_f64 = st({{S("f32"), 0, 0}, {S("f32"), 0, 0}, {S("f64"), 0, 0}});
  const GType* char_double = st({{S("i8"), 0, 0}, {S("f64"), 0, 0}});
  const GType* ld = st({{S("f80"), 0, 0}});
  const GType* f32x3 = st({{S("f32"), 3, 0}});
  const GType* uf = g.record_of(GType::Union, {{S("f32"), 0, 0}, {S("i32"), 0, 0}});
  const GType* b12 = st({{S("i32"), 3, 0}});
  const GType* i64x2 = st({{S("i64"), 0, 0}, {S("i64"), 0, 0}});
  const GType* i64_f64 = st({{S("i64"), 0, 0}, {S("f64"), 0, 0}});
  const GType* f64x2 = st({{S("f64"), 0, 0}, {S("f64"), 0, 0}});
  const GType* f64x4 = st({{S("f64"), 4, 0}});
  const GType* b24 = st({{S("i64"), 3, 0}});
  const GType* packed5 = st({{S("i8"), 0, 0}, {S("i32"), 0, 0}}, true);
  const GType* al16 = st({{S("f32"), 0, 0}}, false, 16);
  const GType* al32 = st({{S("i64"), 0, 0}}, false, 32);
  const GType* odd3 = st({{S("u8"), 3, 0}});
  const GType* odd7 = st({{S("u8"), 7, 0}});
  const GType* I64 = S("i64");
  const GType* F64 = S("f64");
  add("struct_f32x2_f64", f32x2_f64, {f32x2_f64, f32x2_f64});
  add("struct_char_double", char_double, {char_double, S("i32"), char_double});
  add("struct_f80", ld, {ld, S("f80"), ld});
  add("struct_f32x3", f32x3, {f32x3, f32x3});
  add("union_f32_i32", uf, {uf, S("f32"), uf});
  add("struct_12byte", b12, {b12, b12, b12, b12});
  add("struct_after_gprs_exhausted", i64x2, {I64, I64, I64, I64, I64, i64x2, I64});
  add("struct_needs_gpr_and_xmm_when_one_left", i64_f64, {I64, I64, I64, I64, I64, I64, i64_f64, F64});
  add("struct_needs_xmm_and_gpr_when_xmm_out", i64_f64, {F64, F64, F64, F64, F64, F64, F64, F64, i64_f64, I64});
  add("struct_f64x2_after_xmm_exhausted", f64x2, {F64, F64, F64, F64, F64, F64, F64, f64x2, F64});
  add("hfa4_double_like", f64x4, {f64x4, f64x4});
  add("struct_24byte", b24, {b24, S("i32"), b24});
  add("packed_unaligned", packed5, {packed5, packed5});
  add("aligned16_one_float", al16, {al16, S("i32"), al16});
  add("aligned32_on_stack", al32, {I64, I64, I64, I64, I64, I64, I64, al32, S("i8")});
  add("odd_sizes", odd7, {odd3, odd7, odd3, odd7});
  add("int_x12", S("i32"), std::vector<const GType*>(12, S("i32")));
  add("double_x4", F64, {F64, F64, F64, F64});
  add("many_mixed", F64, {S("i32"), F64, S("i64"), S("f32"), S("ptr"), S("i16"), F64, S("u8"), S("bool"), S("f80"),
                          S("u16"), S("i128"), S("f128"), F64, S("f32"), S("i8"), F64, F64, F64, S("u64")});
  add("i128_pairs", S("i128"), {I64, I64, I64, I64, I64, S("i128"), I64, S("u128")});
  add("small_ints", S("i8"), {S("i8"), S("u8"), S("i16"), S("u16"), S("bool")});
  add("varargs_struct", S("i32"), {S("ptr"), f64x2, b24, F64, S("i32"), ld}, 1);
  add("varargs_printf_like", S("i32"), {S("ptr"), S("i32"), F64, S("ptr"), S("i64"), F64}, 1);
  add("void_noargs", nullptr, {});
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;
  std::size_t count = 2000, per_file = 400;
  std::string out = ".";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--count") count = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--out") out = argv[i + 1];
    else if (a == "--per-file") per_file = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "conformance_gen: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  Generator g(seed);
  std::vector<Case> cases = named_cases(g);
  while (cases.size() < count) {
    Case c;
    c.name = "random_" + std::to_string(cases.size());
    c.ret = g.rng().chance(10) ? nullptr : g.random_value_type(false);
    std::size_t n = g.rng().chance(70) ? g.rng().below(7) : g.rng().below(21);
    bool variadic = n > 0 && g.rng().chance(15);
    if (variadic) c.fixed = 1 + g.rng().below(n);
    for (std::size_t i = 0; i < n; ++i) c.args.push_back(g.random_value_type(variadic && i >= c.fixed));
    // __float128 through va_arg is fine for gcc, but keep variadic parts to promoted C types.
    cases.push_back(std::move(c));
  }
  cases.resize(count);

  // Each file declares only the records its cases use; each record's layout row lives in
  // the file of the first case that uses it.
  std::vector<std::size_t> owner(g.records().size(), SIZE_MAX);
  std::size_t files = (count + per_file - 1) / per_file;
  for (std::size_t f = 0; f < files; ++f) {
    std::vector<bool> used(g.records().size(), false);
    auto mark = [&](auto&& self, const GType* t) -> void {
      if (!t || t->kind == GType::Scalar || used[t->id]) return;
      used[t->id] = true;
      for (const auto& m : t->members) self(self, m.type);
    };
    for (std::size_t k = f * per_file; k < cases.size() && k < (f + 1) * per_file; ++k) {
      mark(mark, cases[k].ret);
      for (const GType* a : cases[k].args) mark(mark, a);
    }
    std::ofstream o(out + "/cases_" + std::to_string(f) + ".c");
    o << "// Generated by conformance_gen --seed " << seed << "; do not edit.\n"
      << "#include <stdarg.h>\n#include <stddef.h>\n#include <string.h>\n"
      << "extern unsigned char conf_args[], conf_ret_in[], conf_args_in[], conf_ret_out[];\n";
    for (const GType* r : g.records())
      if (used[r->id]) write_record(o, r);
    for (const GType* r : g.records())
      if (used[r->id] && owner[r->id] == SIZE_MAX) {
        owner[r->id] = f;
        write_layout(o, r);
      }
    if (f == 0)
      o << "unsigned char conf_args[" << kSlot * 21 << "] __attribute__((aligned(64)));\n"
        << "unsigned char conf_args_in[" << kSlot * 21 << "] __attribute__((aligned(64)));\n"
        << "unsigned char conf_ret_in[" << kSlot << "] __attribute__((aligned(64)));\n"
        << "unsigned char conf_ret_out[" << kSlot << "] __attribute__((aligned(64)));\n";
    for (std::size_t k = f * per_file; k < cases.size() && k < (f + 1) * per_file; ++k) write_case(o, cases[k], k);
  }

  std::ofstream manifest(out + "/manifest.txt");
  for (const GType* r : g.records())
    if (owner[r->id] != SIZE_MAX) manifest << "type " << r->c_name << " " << sig_of(r) << "\n";
  for (std::size_t k = 0; k < cases.size(); ++k)
    manifest << "case " << k << " " << cases[k].name << " " << signature_of(cases[k]) << "\n";
  return 0;
}
