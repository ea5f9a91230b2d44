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
//   * conf_layout_R (for every record or vector R) is {sizeof, __alignof__, offsetof each member}.
// The manifest says `slot 256` so that the runner can refuse a mismatched generator.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
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
    {"f16", "_Float16", 2, true},  // no default argument promotion: passes `...` as itself
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

// A generated type: a scalar, a record, a complex type or a vector (element `scalar`).
struct GType {
  enum Kind { Scalar, Struct, Union, Complex, Vector } kind = Scalar;
  std::size_t scalar = 0;
  const char* c_spelling = nullptr;  // scalars: another C name of the same type (`_Float128`)
  std::size_t lanes = 0;             // vectors: the element count
  std::size_t vector_align = 0;      // vectors: an explicit alignment in the signature text, 0 = none
  struct Member {
    const GType* type;
    std::size_t count;  // array length, 0 = not an array
    std::size_t align;  // explicit member alignment, 0 = none
    int bits = -1;         // a bit-field's width, -1 = not a bit-field
    bool unnamed = false;  // an unnamed bit-field (padding)
  };
  std::vector<Member> members;
  bool packed = false;
  std::size_t align = 0;
  std::string c_name;         // typedef name, records and vectors
  std::size_t id = 0;         // index among records; members are created before their record
  std::size_t size_hint = 0;  // sum of member sizes, to keep records near their byte budget
};

std::string member_sig(const GType::Member& m);
std::size_t size_of(const GType* t);
std::size_t align_of(const GType* t);

// gcc on AArch64 aligns a record to the type of each unnamed bit-field too, which the
// signature text says as the record's own alignment (tramp's C declaration parser does the
// same); elsewhere unnamed bit-fields align nothing.
std::size_t anon_bit_field_align(const GType* t) {
  if (g_conv != Conv::Aapcs64) return 0;
  std::size_t a = 0;
  for (const auto& m : t->members) {
    if (!m.unnamed) continue;
    std::size_t ma = t->packed && m.bits != 0 ? 1 : align_of(m.type);
    if (m.align > ma) ma = m.align;
    a = std::max(a, ma);
  }
  return a;
}

// The record's alignment as its signature text states it (0 = none).
std::size_t sig_align(const GType* t) {
  const std::size_t anon = anon_bit_field_align(t);
  return anon > t->align && anon > 1 ? anon : t->align;
}

std::string sig_of(const GType* t) {
  if (t->kind == GType::Scalar) return kScalars[t->scalar].sig;
  if (t->kind == GType::Complex) return std::string("complex ") + kScalars[t->scalar].sig;
  if (t->kind == GType::Vector) {
    std::string s = std::string(kScalars[t->scalar].sig) + "x" + std::to_string(t->lanes);
    if (t->vector_align) s += " align(" + std::to_string(t->vector_align) + ")";
    return s;
  }
  std::string s = t->packed ? "packed " : "";
  s += t->kind == GType::Union ? "union{" : "{";
  for (std::size_t i = 0; i < t->members.size(); ++i) s += (i ? ", " : "") + member_sig(t->members[i]);
  s += "}";
  if (sig_align(t)) s += " align(" + std::to_string(sig_align(t)) + ")";
  return s;
}

std::string member_sig(const GType::Member& m) {
  std::string s = m.align ? "alignas(" + std::to_string(m.align) + ") " : "";
  if (m.unnamed && m.bits != 0) s += "unnamed ";
  s += sig_of(m.type);
  if (m.bits >= 0) s += ":" + std::to_string(m.bits);
  if (m.count) s += "[" + std::to_string(m.count) + "]";
  return s;
}

// gcc's alignment of t; only steers the generator (the runner checks real layouts).
std::size_t align_of(const GType* t) {
  switch (t->kind) {
    case GType::Scalar:
    case GType::Complex:
      return kScalars[t->scalar].size;
    case GType::Vector:
      // The text's explicit alignment, else the size (x86-64) or up to 16 (gcc on AArch64).
      return t->vector_align ? t->vector_align : g_conv == Conv::Aapcs64 ? std::min<std::size_t>(size_of(t), 16) : size_of(t);
    default:
      break;
  }
  std::size_t a = 1;
  for (const auto& m : t->members) {
    if (m.unnamed) continue;
    std::size_t ma = t->packed ? 1 : align_of(m.type);
    if (m.align > ma) ma = m.align;
    if (ma > a) a = ma;
  }
  a = std::max(a, anon_bit_field_align(t));
  return t->align > a ? t->align : a;
}

// gcc's size of t, by the same rules; keeps generated values within the issue's 1..64 bytes.
std::size_t size_of(const GType* t) {
  if (t->kind == GType::Scalar) return kScalars[t->scalar].size;
  if (t->kind == GType::Complex) return 2 * kScalars[t->scalar].size;
  if (t->kind == GType::Vector) return kScalars[t->scalar].size * t->lanes;
  std::size_t bits = 0;
  for (const auto& m : t->members) {
    std::size_t ma = t->packed ? 1 : align_of(m.type);
    if (m.align > ma) ma = m.align;
    if (m.bits >= 0) {
      // A bit-field: the next bits, or its type's next unit boundary when it would straddle
      // one (not when packed); a zero-width one moves to that boundary, packed or not.
      const std::size_t unit = 8 * align_of(m.type), w = static_cast<std::size_t>(m.bits);
      std::size_t at = t->kind == GType::Union ? 0 : bits;
      if (w == 0) at = (at + unit - 1) / unit * unit;
      else if (m.align) at = (at + 8 * m.align - 1) / (8 * m.align) * (8 * m.align);
      if (w && !t->packed && at % unit + w > unit) at = (at + unit - 1) / unit * unit;
      bits = std::max(bits, at + w);
      continue;
    }
    std::size_t msz = 8 * size_of(m.type) * (m.count ? m.count : 1);
    if (t->kind == GType::Union) {
      bits = std::max(bits, msz);
    } else {
      bits = (bits + 8 * ma - 1) / (8 * ma) * (8 * ma) + msz;
    }
  }
  std::size_t a = align_of(t);
  return ((bits + 7) / 8 + a - 1) / a * a;
}

std::string c_of(const GType* t) {
  if (t->kind == GType::Complex) {
    // gcc has no `_Complex __float128`; `_Complex _Float128` is the same type.
    const bool binary128 = is_scalar(t->scalar, "f128") && g_conv != Conv::Aapcs64;
    return std::string("_Complex ") + (binary128 ? "_Float128" : scalar_c(t->scalar));
  }
  if (t->kind != GType::Scalar) return t->c_name;
  return t->c_spelling ? t->c_spelling : scalar_c(t->scalar);
}

bool holds_vector(const GType* t, std::size_t bytes);

// Whether t is or holds a _Float16 or a vector (a complex _Float16 too).
bool holds_half_or_vector(const GType* t) {
  if (t->kind == GType::Vector) return true;
  if (t->kind == GType::Scalar || t->kind == GType::Complex) return is_scalar(t->scalar, "f16");
  for (const auto& m : t->members)
    if (holds_half_or_vector(m.type)) return true;
  return false;
}

// Whether t holds a bit-field of __int128 type, at any depth.
bool holds_i128_bit_field(const GType* t) {
  for (const auto& m : t->members)
    if ((m.bits >= 0 && m.type->kind == GType::Scalar &&
         (is_scalar(m.type->scalar, "i128") || is_scalar(m.type->scalar, "u128"))) ||
        holds_i128_bit_field(m.type))
      return true;
  return false;
}

// gcc's empty record: a struct or union of unnamed bit-fields and empty records only.
bool is_empty(const GType* t) {
  if (t->kind != GType::Struct && t->kind != GType::Union) return false;
  for (const auto& m : t->members)
    if (!(m.bits >= 0 && m.unnamed) && !is_empty(m.type)) return false;
  return true;
}

// Whether t is or holds a union that holds a vector of 32 or 64 bytes.
bool union_holds_wide_vector(const GType* t) {
  if (t->kind == GType::Union && holds_vector(t, 32)) return true;
  for (const auto& m : t->members)
    if (union_holds_wide_vector(m.type)) return true;
  return false;
}

// Whether values of t hold a vector of at least `bytes` (records and arrays included).
bool holds_vector(const GType* t, std::size_t bytes) {
  if (t->kind == GType::Vector) return size_of(t) >= bytes && size_of(t) <= 64;
  for (const auto& m : t->members)
    if (holds_vector(m.type, bytes)) return true;
  return false;
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

  // A complex type of a floating element: _Float16, float, double, long double (x87 on
  // x86-64, binary128 on AArch64) and, on x86-64, _Float128.
  const GType* complex_of(const char* element) {
    auto t = std::make_unique<GType>(*named(element));
    t->kind = GType::Complex;
    t->size_hint = 2 * kScalars[t->scalar].size;
    return keep(std::move(t));
  }
  const GType* random_complex() {
    static const char* const kX86[] = {"f16", "f32", "f64", "f80", "f128", "f32", "f64"};
    static const char* const kA64[] = {"f16", "f32", "f64", "f128", "f32", "f64"};
    return g_conv == Conv::Aapcs64 ? complex_of(kA64[rng_.below(6)]) : complex_of(kX86[rng_.below(7)]);
  }

  // A complex member of a record. On x86-64 not `_Float16 _Complex`: gcc 12 classifies one at
  // an offset that is not a multiple of 8 as two eightbytes, the second a lone half (SSEHF),
  // which loses bytes of an array of them and takes an xmm register for padding otherwise
  // (docs/testing.md); tramp follows the psABI there, so such a case would test gcc.
  const GType* random_member_complex() {
    for (;;) {
      const GType* t = random_complex();
      if (g_conv == Conv::Aapcs64 || !is_scalar(t->scalar, "f16")) return t;
    }
  }

  // A vector of `lanes` elements (`vector_size(lanes * sizeof element)`), declared by a
  // typedef. On AArch64 gcc aligns a vector to at most 16, which the text states.
  const GType* vector_of(const char* element, std::size_t lanes) {
    auto t = std::make_unique<GType>(*named(element));
    t->kind = GType::Vector;
    t->lanes = lanes;
    t->size_hint = kScalars[t->scalar].size * lanes;
    if (g_conv == Conv::Aapcs64 && t->size_hint > 16) t->vector_align = 16;
    return add_record(std::move(t));
  }
  // The same with an alignment a typedef gives it: half its natural one, or twice where that
  // is still no more than its size (gcc refuses arrays of elements aligned beyond their size).
  const GType* aligned_vector_of(const char* element, std::size_t lanes) {
    auto t = std::make_unique<GType>(*vector_of(element, lanes));
    const std::size_t natural = align_of(t.get());
    if (natural * 2 <= size_of(t.get()) && (natural == 1 || rng_.chance(50))) t->vector_align = natural * 2;
    else if (natural > 1) t->vector_align = natural / 2;
    return add_record(std::move(t));
  }
  const GType* random_vector() {
    static const char* const kElements[] = {"i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f16", "f32", "f64"};
    // Mostly the sizes that have registers (8 and 16 everywhere, 32 and 64 with AVX), some
    // that travel as integers or in memory.
    static const std::size_t kX86Sizes[] = {1, 2, 4, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 128};
    static const std::size_t kA64Sizes[] = {2, 4, 8, 8, 8, 16, 16, 16, 32};
    for (;;) {
      const char* e = kElements[rng_.below(11)];
      const std::size_t bytes = g_conv == Conv::Aapcs64 ? kA64Sizes[rng_.below(9)] : kX86Sizes[rng_.below(14)];
      const std::size_t esize = size_of(named(e));
      if (bytes >= esize) return rng_.chance(8) ? aligned_vector_of(e, bytes / esize) : vector_of(e, bytes / esize);
    }
  }

  // An integer type a bit-field can have, and a width that fits it (0 only when unnamed).
  GType::Member random_bit_field() {
    static const char* const kTypes[] = {"bool", "i8", "u8", "i16", "u16", "i32", "u32", "i32", "u32", "i64", "u64", "i128"};
    GType::Member m{named(kTypes[rng_.below(12)]), 0, 0};
    const std::size_t bits = is_scalar(m.type->scalar, "bool") ? 1 : 8 * size_of(m.type);
    m.unnamed = rng_.chance(25);
    m.bits = static_cast<int>(m.unnamed && rng_.chance(30) ? 0 : 1 + rng_.below(bits));
    if (rng_.chance(20)) m.bits = static_cast<int>(bits);  // a whole unit
    if (m.bits == 0) m.unnamed = true;
    return m;
  }

  // A struct or union whose members add up to about `budget` bytes (at least one member),
  // some of them bit-fields, complex types or vectors.
  const GType* random_record(int depth, std::size_t budget) {
    auto t = std::make_unique<GType>();
    t->kind = rng_.chance(12) ? GType::Union : GType::Struct;
    t->packed = rng_.chance(10);
    if (rng_.chance(8)) t->align = std::size_t{1} << (2 + rng_.below(4));  // 4..32
    const bool bit_fields = rng_.chance(15);
    std::size_t n = 1 + rng_.below(depth == 0 ? 6 : 3);
    std::size_t used = 0;
    for (std::size_t i = 0; i < n && used < budget; ++i) {
      GType::Member m{nullptr, 0, 0};
      if (bit_fields && rng_.chance(60)) {
        m = random_bit_field();
        if (rng_.chance(5)) m.align = std::size_t{1} << (1 + rng_.below(3));  // 2..8
        used += (static_cast<std::size_t>(m.bits) + 7) / 8;
        t->members.push_back(m);
        continue;
      }
      const std::size_t what = rng_.below(100);
      m.type = depth < 2 && what < 15 ? random_record(depth + 1, budget - used)
               : what < 19            ? random_member_complex()
               : what < 23            ? random_vector()
                                      : random_scalar(false);
      if (rng_.chance(15)) m.count = 1 + rng_.below(4);
      if (rng_.chance(4)) m.align = std::size_t{1} << (1 + rng_.below(4));  // 2..16
      std::size_t sz = m.type->size_hint * (m.count ? m.count : 1);
      if (used + sz > budget && i > 0) break;
      used += sz;
      t->members.push_back(m);
    }
    // C has no record of only zero-width bit-fields (its size would be 0).
    if (std::all_of(t->members.begin(), t->members.end(), [](const GType::Member& m) { return m.bits == 0; }))
      t->members.push_back({named("i8"), 0, 0});
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
  //
  // Their base may also be _Float16 or a short vector (8 or 16 bytes: a homogeneous
  // short-vector aggregate, HVA), whose element types may differ from member to member
  // ("vector modes are opaque"); a complex member counts as two of its element.
  const GType* random_float_aggregate() {
    static const char* const kBase[] = {"f32", "f64", "f128", "f16"};
    static const char* const kInteger[] = {"i32", "i64", "i128", "i16"};
    const bool hva = rng_.chance(20);
    const std::size_t b = rng_.below(4);
    const GType* base = hva ? random_short_vector(rng_.chance(50) ? 8 : 16) : named(kBase[b]);
    enum Twist { None, Five, OtherFloat, Integer, AlignedMember, AlignedRecord, Packed };
    const auto twist = rng_.chance(60) ? None : static_cast<Twist>(1 + rng_.below(6));
    const std::size_t n = twist == Five ? 5 : 1 + rng_.below(4);
    // The twisted element, where there is one: another type, or the base over-aligned.
    GType::Member odd{nullptr, 0, 0};
    if (twist == OtherFloat)
      odd.type = hva ? random_short_vector(size_of(base) == 8 ? 16 : 8) : named(kBase[(b + 1 + rng_.below(3)) % 4]);
    if (twist == Integer) odd.type = named(hva ? "i64" : kInteger[b]);
    if (twist == AlignedMember) odd = {base, 0, size_of(base) << (1 + rng_.below(2))};  // 2x or 4x natural
    // A complex member holds two of the elements.
    const std::size_t plain = odd.type ? n - 1 : n;
    const bool complex = !hva && twist != Five && plain >= 2 && rng_.chance(25);
    auto t = std::make_unique<GType>();
    t->kind = rng_.chance(10) ? GType::Union : GType::Struct;
    if (t->kind == GType::Union)
      union_members(base, n, 0, t->members);
    else
      float_members(base, plain - (complex ? 2 : 0), 0, t->members);
    if (complex && t->kind == GType::Struct)
      t->members.insert(t->members.begin() + static_cast<std::ptrdiff_t>(rng_.below(t->members.size() + 1)),
                        {complex_of(kBase[b]), 0, 0});
    if (odd.type)
      t->members.insert(t->members.begin() + static_cast<std::ptrdiff_t>(rng_.below(t->members.size() + 1)), odd);
    if (hva)
      for (auto& m : t->members)
        if (m.type == base && rng_.chance(30)) m.type = random_short_vector(size_of(base));
    if (twist == AlignedRecord) t->align = std::size_t{8} << rng_.below(3);  // 8..32
    t->packed = twist == Packed;
    for (auto& m : t->members) t->size_hint += m.type->size_hint * (m.count ? m.count : 1);
    return add_record(std::move(t));
  }

  // A vector of `bytes` (8 or 16) of any element type.
  const GType* random_short_vector(std::size_t bytes) {
    static const char* const kElements[] = {"i8", "u16", "i32", "u64", "f16", "f32", "f64"};
    const char* e = kElements[rng_.below(7)];
    return vector_of(e, bytes / size_of(named(e)));
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
  // faults; docs/testing.md), so such a case would test gcc, not tramp; nor a (packed) record
  // holding a __m256 or __m512, whose va_arg gcc 12 reads from the wrong place, nor an empty
  // record (unnamed bit-fields only), which gcc's ms_abi va_arg does not step over. On AArch64
  // they stay: the 100,000-case aapcs64 run has 3,650 variadic calls with such a record after
  // `...`, and the runner's gcc self-check (caller to callee, no tramp) found nothing wrong in
  // any.
  const GType* random_value_type(bool variadic) {
    // gcc 12 on AArch64 reads a variadic homogeneous aggregate of _Float16 or of short
    // vectors (and a complex _Float16) from the wrong stack slot at -O2, not from the saved
    // v registers (docs/testing.md): such a case would test gcc, not tramp.
    if (variadic && g_conv == Conv::Aapcs64) {
      for (;;) {
        const GType* t = random_value_type(false);
        const bool scalar_ok = t->kind != GType::Scalar || kScalars[t->scalar].promotable;
        const bool aggregate_ok = t->kind == GType::Scalar || t->kind == GType::Vector || !holds_half_or_vector(t);
        // Nor a floating vector of 2 or 4 bytes, which its caller passes on the stack and
        // its va_arg does not find there.
        const bool vector_ok = t->kind != GType::Vector || size_of(t) >= 8 || kScalars[t->scalar].sig[0] != 'f';
        // Nor a record aligned below 16 that holds an __int128 bit-field (packed): gcc's and
        // clang's callers pass it in the next register, gcc 12's va_arg takes it from the
        // next even one, as if 16-aligned ("parameter passing ... changed in GCC 9.1"); clang's
        // va_arg finds it (docs/testing.md).
        const bool bit_field_ok = !(holds_i128_bit_field(t) && align_of(t) < 16);
        if (scalar_ok && aggregate_ok && vector_ok && bit_field_ok) return t;
      }
    }
    if (g_conv == Conv::Aapcs64 && rng_.chance(15)) return random_float_aggregate();
    if (rng_.chance(5)) return random_complex();
    if (rng_.chance(6)) return random_vector();
    if (rng_.chance(35)) {
      for (;;) {
        const GType* r = random_record(0, 8 + rng_.below(57));
        if (size_of(r) <= kMaxRecord &&
            (!variadic || g_conv == Conv::Aapcs64 || (align_of(r) <= 8 && !holds_vector(r, 32) && !is_empty(r))))
          return r;
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

// Microsoft x64 passes values of any other size than 1, 2, 4 or 8 bytes by reference, and
// gcc a vector of one floating element (it has no machine mode) at any size.
bool ms_by_reference(const GType* t) {
  const std::size_t size = size_of(t);
  if (t->kind == GType::Vector && t->lanes == 1 && kScalars[t->scalar].sig[0] == 'f') return true;
  return !(size == 1 || size == 2 || size == 4 || size == 8);
}

// The x86-64 instruction set a case's functions need: a 32-byte vector travels in ymm
// registers only in a function compiled for AVX, a 64-byte one in zmm only for AVX-512F.
// The runner skips such cases where the CPU lacks it (docs/testing.md).
const char* isa_attr(const struct Case& c);

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

const char* isa_attr(const Case& c) {
  if (g_conv == Conv::Aapcs64) return "";
  std::size_t widest = 0;
  for (std::size_t bytes : {32, 64}) {
    bool holds = c.ret && holds_vector(c.ret, bytes);
    for (const GType* a : c.args) holds = holds || holds_vector(a, bytes);
    if (holds) widest = bytes;
  }
  return widest == 64 ? "__attribute__((target(\"avx512f\"))) " : widest == 32 ? "__attribute__((target(\"avx\"))) " : "";
}

// "RET NAME(T0 a0, T1 a1, ...)" or, with an empty name, the function pointer type.
std::string prototype(const Case& c, const std::string& name) {
  std::string s = name.empty() ? (c.ret ? c_of(c.ret) : "void") + " (" + conv_attr() + "*)("
                               : conv_attr() + std::string(isa_attr(c)) + (c.ret ? c_of(c.ret) : "void") + " " +
                                     name + "(";
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
  o << isa_attr(c) << "void conf_caller_" << k << "(void* fn) {\n";
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

// The one-line C typedef of a record or vector, as the generated files and the manifest's
// `ctype` lines (read back by tramp's C declaration parser) have it.
void write_record(std::ostream& o, const GType* t) {
  if (t->kind == GType::Vector) {
    o << "typedef " << scalar_c(t->scalar) << " " << t->c_name << " __attribute__((vector_size(" << size_of(t) << ")";
    // The typedef's own alignment, where it is not the one gcc gives the vector anyway.
    const std::size_t natural = g_conv == Conv::Aapcs64 ? std::min<std::size_t>(size_of(t), 16) : size_of(t);
    if (t->vector_align && t->vector_align != natural) o << ", aligned(" << t->vector_align << ")";
    o << "));\n";
    return;
  }
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
    o << " " << c_of(m.type);
    if (!m.unnamed) o << " m" << i;
    if (m.count) o << "[" << m.count << "]";
    if (m.bits >= 0) o << " : " << m.bits;
    if (m.align) o << " __attribute__((aligned(" << m.align << ")))";
    o << ";";
  }
  o << " } " << t->c_name << ";\n";
}

std::string record_c(const GType* t) {
  std::ostringstream o;
  write_record(o, t);
  std::string s = o.str();
  s.pop_back();  // the newline
  return s;
}

// {sizeof, __alignof__, offsetof each member} (0 for a bit-field, which has no offsetof), and for
// a record with named bit-fields conf_bits_R, which finds each one's first bit and width by
// setting it to all ones in a zeroed record (~0 for the other members).
void write_layout(std::ostream& o, const GType* t) {
  // __alignof__, not _Alignof: for a vector over 16 bytes on x86-64, C11's _Alignof says the
  // alignment gcc guarantees without AVX (16), __alignof__ the one it lays out and passes by.
  o << "const unsigned long conf_layout_" << t->c_name << "[] = {sizeof(" << t->c_name << "), __alignof__("
    << t->c_name << ")";
  bool named_bits = false;
  for (std::size_t i = 0; i < t->members.size(); ++i) {
    if (t->members[i].bits >= 0) {
      o << ", 0";
      named_bits |= !t->members[i].unnamed;
    } else {
      o << ", offsetof(" << t->c_name << ", m" << i << ")";
    }
  }
  o << "};\n";
  if (!named_bits) return;
  o << "void conf_bits_" << t->c_name << "(unsigned long* first, unsigned long* width) {\n"
    << "  static volatile __int128 ones = -1;\n";
  for (std::size_t i = 0; i < t->members.size(); ++i) {
    const auto& m = t->members[i];
    if (m.bits < 0 || m.unnamed) {
      o << "  first[" << i << "] = width[" << i << "] = ~0UL;\n";
      continue;
    }
    o << "  { union { " << t->c_name << " r; unsigned char b[sizeof(" << t->c_name << ")]; } u;\n"
      << "    memset(&u, 0, sizeof u); u.r.m" << i << " = ones; conf_scan_bits(u.b, sizeof u.b, &first[" << i
      << "], &width[" << i << "]); }\n";
  }
  o << "}\n";
}

// The file prologue. The silenced warnings are about a shape the suite wants on purpose (a
// packed record holding an over-aligned one) and about gcc's own code: AArch64 gcc 12 warns
// that the temporary its va_arg of a homogeneous short-vector aggregate builds "may be used
// uninitialized". (gcc's -Wpsabi notes, that the ABI of some shapes changed in gcc 4.x, and
// its -Wpacked-bitfield-compat notes ignore pragmas; the build passes -Wno-psabi and
// -Wno-packed-bitfield-compat.)
void write_prologue(std::ostream& o, std::uint64_t seed, const char* what) {
  o << "// Generated by conformance_gen --seed " << seed << " (" << what << "); do not edit.\n"
    << "#include <stdarg.h>\n#include <stddef.h>\n#include <string.h>\n"
    << "#pragma GCC diagnostic ignored \"-Wpragmas\"\n"
    << "#pragma GCC diagnostic ignored \"-Wunknown-warning-option\"\n"
    << "#pragma GCC diagnostic ignored \"-Wpacked-not-aligned\"\n"
    << "#pragma GCC diagnostic ignored \"-Wmaybe-uninitialized\"\n"

    << "extern unsigned char conf_args[], conf_ret_in[], conf_args_in[], conf_ret_out[];\n"
    << "void conf_scan_bits(const unsigned char* b, unsigned long n, unsigned long* first, unsigned long* width);\n";
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

  // Complex types: psABI 3.2.3, complex float and double "as if struct { T real; T imag; }"
  // (_Float16 alike), complex long double COMPLEX_X87 (memory in, st0 and st1 out), complex
  // _Float128 MEMORY. Microsoft x64: integers at 4 and 8 bytes, by reference at 16 and 32.
  const GType* F16 = S("f16");
  const GType* CF16 = g.complex_of("f16");
  const GType* CF32 = g.complex_of("f32");
  const GType* CF64 = g.complex_of("f64");
  const GType* CLD = g.complex_of("f80");
  const GType* CF128 = g.complex_of("f128");
  add("complex_f32_f64", CF64, {CF32, CF64, CF32, F64});
  add("complex_long_double_st0_st1", CLD, {CLD, F64, CLD});
  add("complex_f16", CF16, {CF16, F16, CF16});
  add("complex_float128_memory", CF128, {CF128, I32, CF128});
  add("complex_after_xmm_exhausted", CF64, cat(rep(F64, 7), {CF64, CF32}));
  const GType* f32_cf32 = st({{F32, 0, 0}, {CF32, 0, 0}});          // the complex spans two eightbytes
  const GType* cf32_cf32 = st({{CF32, 0, 0}, {CF32, 0, 0}});
  const GType* i32_cf64 = st({{I32, 0, 0}, {CF64, 0, 0}});          // 24 bytes: memory
  const GType* i16_cf16 = st({{S("i16"), 0, 0}, {CF16, 0, 0}});     // INTEGER merged with SSE
  add("complex_in_records", f32_cf32, {f32_cf32, cf32_cf32, i32_cf64, i16_cf16});
  // _Float16: SSE, the low two bytes of an xmm register; Microsoft x64: an integer.
  const GType* f16x3 = st({{F16, 3, 0}});
  const GType* f16_i16 = st({{F16, 0, 0}, {S("i16"), 0, 0}});
  const GType* f16_f32_f16 = st({{F16, 0, 0}, {F32, 0, 0}, {F16, 0, 0}});
  add("float16", F16, {F16, F32, F16, F64, F16});
  add("float16_records", f16x3, {f16x3, f16_i16, f16_f32_f16});
  add("float16_x10_on_stack", F16, rep(F16, 10));
  add("varargs_float16_complex", F16, {I32, F16, CF32, CF64, CLD}, 1);
  // Vectors: __m64 and __m128 kinds in one xmm register, integer vectors of up to 4 bytes as
  // INTEGER, vectors of one floating element (gcc gives them no vector mode) in memory,
  // __m256 and __m512 in ymm and zmm (with AVX, AVX-512F), unnamed ones in memory, larger
  // ones in memory. Microsoft x64: by reference beyond 8 bytes, __m128 returned in xmm0.
  auto V = [&](const char* element, std::size_t lanes) { return g.vector_of(element, lanes); };
  const GType* m128 = V("f32", 4);
  const GType* m256 = V("f32", 8);
  const GType* m64 = V("i32", 2);
  add("vector_m128", m128, {m128, V("i64", 2), V("f64", 2), V("f16", 8), V("i8", 16)});
  add("vector_m64", m64, {m64, V("f32", 2), V("u8", 8), V("i16", 4), V("f16", 4)});
  add("vector_small_integer", V("i8", 4), {V("i8", 2), V("i8", 4), V("u16", 2), V("i32", 1), V("u8", 1)});
  add("vector_one_float_element", V("f64", 1), {V("f32", 1), V("f64", 1), V("f16", 1), V("f16", 2)});
  add("vector_m128_after_xmm_exhausted", m128, cat(rep(m128, 8), {m128, F64}));
  add("vector_m256", m256, {m256, V("i64", 4), V("f64", 4), V("i8", 32)});
  add("vector_m512", V("f32", 16), {V("f32", 16), V("i64", 8), V("f16", 32)});
  add("vector_128_bytes", V("u8", 128), {V("f32", 32), I32});
  const GType* s_m256 = st({{m256, 0, 0}});                        // SSE, SSEUP x3: ymm0
  const GType* s_m128x2 = st({{m128, 0, 0}, {m128, 0, 0}});        // SSE, SSEUP, SSE, SSEUP: memory
  const GType* u_m256 = un({{m256, 0, 0}, {V("i32", 8), 0, 0}});
  const GType* m128_f32 = st({{m128, 0, 0}, {F32, 0, 0}});         // 32 bytes: memory
  add("vector_records", s_m256, {s_m256, s_m128x2, u_m256, m128_f32});
  add("varargs_vectors", I32, {I32, m128, m256, m64, V("i8", 4)}, 1);
  // psABI figure 3.5 "Parameter Passing Example", __m256 and __m512 included: e rdi, f rsi,
  // s rdx and xmm0, g rcx, h r8, ld stack 0-15, m xmm1, y ymm2, z zmm3, n xmm4, i r9, j
  // stack 16, k stack 24.
  const GType* structparm = st({{I32, 0, 0}, {I32, 0, 0}, {F64, 0, 0}});
  add("psabi_parameter_passing_example", nullptr,
      {I32, I32, structparm, I32, I32, F80, F64, m256, V("f32", 16), F64, I32, I32, I32});
  // Bit-fields: INTEGER in every eightbyte their bits touch, a zero-width one ignored (gcc
  // 12), an unnamed one padding that still counts as INTEGER.
  auto bf = [&](const char* type, int bits, bool unnamed = false) { return M{S(type), 0, 0, bits, unnamed}; };
  const GType* bits_f32 = st({bf("i32", 3), {F32, 0, 0}});
  const GType* zero_width = st({{F32, 0, 0}, bf("i32", 0, true), {F32, 0, 0}});
  const GType* unnamed_pad = st({{F32, 0, 0}, bf("i32", 8, true)});
  const GType* straddle = st({bf("i64", 40), bf("i32", 24), bf("u64", 64)});
  const GType* packed_bits = st({{I8, 0, 0}, bf("i32", 31), {I8, 0, 0}}, true);
  const GType* bool_bits = st({bf("bool", 1), bf("u8", 7), bf("u16", 9)});
  const GType* i128_bits = st({bf("i128", 100), {I8, 0, 0}});
  const GType* union_bits = un({bf("i32", 3), {F32, 0, 0}});
  add("bit_fields", bits_f32, {bits_f32, zero_width, unnamed_pad, straddle, packed_bits});
  add("bit_fields_more", bool_bits, {bool_bits, i128_bits, union_bits, F64});
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

  // Complex types: homogeneous aggregates of two (AAPCS64 5.9.5), in v registers in pairs.
  const GType* F16 = S("f16");
  const GType* CF16 = g.complex_of("f16");
  const GType* CF32 = g.complex_of("f32");
  const GType* CF64 = g.complex_of("f64");
  const GType* CLD = g.complex_of("f128");
  add("complex_hfa", CF64, {CF32, CF64, CLD, CF16});
  add("complex_does_not_fit_closes_v_registers", CF32, cat(rep(F64, 7), {CF32, F64, CF64}));
  const GType* cf64_f64 = st({{CF64, 0, 0}, {F64, 0, 0}});  // an HFA of three doubles
  const GType* cf32_f64 = st({{CF32, 0, 0}, {F64, 0, 0}});  // mixed: 16 bytes in x registers
  add("complex_in_records", cf64_f64, {cf64_f64, cf32_f64, st({{CF16, 2, 0}})});
  // _Float16: h registers; an HFA of halves; an 8-byte stack slot.
  const GType* f16x3 = st({{F16, 3, 0}});
  const GType* f16x5 = st({{F16, 5, 0}});  // five members: not an HFA, x0 and x1
  add("float16_hfa", f16x3, {F16, f16x3, st({{F16, 0, 0}, {F16, 0, 0}}), f16x5});
  add("float16_on_stack", F16, cat(rep(F64, 8), {F16, F16, F32}));
  // Vectors: short vectors (8, 16 bytes) in one v register, homogeneous short-vector
  // aggregates (element types may differ), integer vectors of up to 4 bytes as integers,
  // floating ones of 2 or 4 bytes on the stack (returned in x0), larger ones by reference.
  auto V = [&](const char* element, std::size_t lanes) { return g.vector_of(element, lanes); };
  const GType* v2f = V("f32", 2);
  const GType* v4f = V("f32", 4);
  add("short_vectors", v4f, {v2f, v4f, V("i8", 16), V("f64", 1), V("f16", 4), V("u64", 2)});
  add("short_vectors_on_stack", v4f, cat(rep(F64, 8), {v2f, v4f, V("i8", 8)}));
  const GType* hva2 = st({{v4f, 0, 0}, {v4f, 0, 0}});
  const GType* hva4 = st({{v2f, 4, 0}});
  const GType* hva_mixed = st({{v4f, 0, 0}, {V("i32", 4), 0, 0}, {V("u8", 16), 0, 0}});
  const GType* hva5 = st({{v2f, 5, 0}});                               // five: by reference
  const GType* not_hva = st({{v2f, 0, 0}, {F64, 0, 0}});              // a vector and a double: x0, x1
  add("hva", hva2, {hva2, hva4, hva_mixed, hva5, not_hva});
  add("vector_floating_on_stack", V("f32", 1), {V("f32", 1), V("f16", 1), V("f16", 2), I32, F32});
  add("vector_small_integer", V("i8", 4), {V("i8", 2), V("i8", 4), V("u16", 2), V("i32", 1)});
  add("vector_32_by_reference", V("f32", 8), {V("f32", 8), V("i8", 32), st({{V("f32", 8), 0, 0}})});
  add("varargs_vectors_complex_float16", I32, {I32, F16, v4f, CF64, V("f32", 8)}, 1);
  // Bit-fields: integers, so never an HFA; a zero-width one ignored (gcc 12: still an HFA);
  // an unnamed one aligns its record (gcc's AArch64 rule, the text's align(N)); a packed
  // record's bit-field type still counts for the argument's alignment (C.10's even pair).
  auto bf = [&](const char* type, int bits, bool unnamed = false) { return M{S(type), 0, 0, bits, unnamed}; };
  const GType* bits_f32 = st({bf("i32", 3), {F32, 0, 0}});
  const GType* zero_width = st({{F32, 0, 0}, bf("i32", 0, true), {F32, 0, 0}});
  const GType* unnamed_align = st({{I8, 0, 0}, bf("i32", 5, true)});
  const GType* packed_i128_bits = st({{I8, 0, 0}, bf("i128", 3)}, true);
  const GType* straddle = st({bf("i64", 40), bf("i32", 24), bf("u64", 64)});
  add("bit_fields", bits_f32, {bits_f32, zero_width, unnamed_align, I32, packed_i128_bits, straddle});
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
    // gcc 12 returns a union holding a __m256 or __m512 (alone or in a struct) in ymm0 or zmm0
    // but runs vzeroupper first, which clears all but its low 16 bytes (docs/testing.md):
    // such a case would test gcc, not tramp.
    while (c.ret && g_conv != Conv::Aapcs64 && union_holds_wide_vector(c.ret)) c.ret = g.random_value_type(false);
    // Mostly few arguments (the register cases), sometimes up to 20 (stack overflow areas).
    std::size_t n = g.rng().chance(70) ? g.rng().below(7) : g.rng().below(kMaxArgs);
    bool variadic = n > 0 && g.rng().chance(15);
    if (variadic) c.fixed = 1 + g.rng().below(n);  // C needs one named argument before `...`
    for (std::size_t i = 0; i < n; ++i) {
      c.args.push_back(g.random_value_type(variadic && i >= c.fixed));
      // gcc 12's ms_abi callee finds the variadic arguments by counting the named ones' slots,
      // and gives none to an empty record (no named member) that its callers pass in one
      // (docs/testing.md): with an empty record anywhere before `...`, it reads them from the
      // wrong place (the 100,000-case win64 run crashed in gcc's own caller-to-callee call of
      // random_2287, an empty record first). x86-64 cases are shared by sysv and win64, so
      // both keep the rule.
      while (variadic && g_conv != Conv::Aapcs64 && i < c.fixed && is_empty(c.args.back()))
        c.args.back() = g.random_value_type(false);
    }
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
      if (!t || t->kind == GType::Scalar || t->kind == GType::Complex || used[t->id]) return;
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
        for (std::ostream* o : {&callees, &callers}) {
          // A record holding a 32- or 64-byte vector gets its machine mode (V8SF, ...) only
          // where AVX is on when it is declared, as in code built with -mavx; without it gcc
          // returns such a record wrongly even from an AVX function to an AVX function.
          const bool wide = g_conv != Conv::Aapcs64 && holds_vector(r, 32);
          if (wide) *o << "#pragma GCC push_options\n#pragma GCC target(\"avx512f\")\n";
          write_record(*o, r);
          if (wide) *o << "#pragma GCC pop_options\n";
        }
      }
    for (const GType* r : g.records())
      if (used[r->id] && owner[r->id] == SIZE_MAX) {
        owner[r->id] = f;
        write_layout(callees, r);
      }
    if (f == 0)
      callees << "void conf_scan_bits(const unsigned char* b, unsigned long n, unsigned long* first, "
                 "unsigned long* width) {\n"
              << "  *first = ~0UL; *width = 0;\n"
              << "  for (unsigned long i = 0; i < 8 * n; ++i)\n"
              << "    if (b[i / 8] >> (i % 8) & 1) { if (*first == ~0UL) *first = i; ++*width; }\n"
              << "}\n"
              << "unsigned char conf_args[" << kSlot * kMaxArgs << "] __attribute__((aligned(64)));\n"
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
           << "# ctype NAME TEXT: the same record or vector as its C typedef, for tramp's C declaration parser\n"
           << "# case ID NAME SIGNATURE: functions conf_callee_ID and conf_caller_ID\n"
           << "slot " << kSlot << "\n"
           << "abi " << (g_conv == Conv::Win64 ? "win64" : g_conv == Conv::Aapcs64 ? "aapcs64" : "sysv") << "\n";
  for (const GType* r : g.records())
    if (owner[r->id] != SIZE_MAX)
      manifest << "type " << r->c_name << " " << sig_of(r) << "\n"
               << "ctype " << r->c_name << " " << record_c(r) << "\n";
  for (std::size_t k = 0; k < cases.size(); ++k)
    manifest << "case " << k << " " << cases[k].name << " " << signature_of(cases[k]) << "\n";
  if (!manifest) {
    std::fprintf(stderr, "conformance_gen: cannot write %s/manifest.txt\n", out.c_str());
    return 1;
  }
  return 0;
}
