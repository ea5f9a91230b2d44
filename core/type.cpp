// Types: interning and C layout (gcc's rules on LP64 targets).
#include "tramp/type.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "jit/fork_safety.hpp"
#include "tramp/error.hpp"

namespace tramp {

namespace {

// gcc refuses larger alignments on ELF ("requested alignment exceeds maximum 268435456"),
// and the text form accepts the same range, so every Type round-trips through str().
constexpr std::size_t kMaxAlign = std::size_t{1} << 28;

bool is_pow2(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }
std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

std::size_t mix(std::size_t h, std::size_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorCode::InvalidType, message); }

// The depth of a record or array whose deepest part is `inner`, refused past the one limit.
std::size_t nested_depth(const std::string& what, const Type* inner) {
  const std::size_t depth = inner->depth() + 1;
  if (depth > kMaxTypeDepth)
    invalid(what + " nested " + std::to_string(depth) + " levels deep: the limit is " +
            std::to_string(kMaxTypeDepth) + " (tramp::kMaxTypeDepth)");
  return depth;
}

// The expanded size of a record or array whose parts expand to `parts` nodes in all, refused
// past the limit: without it a walk over shared members would be exponential in depth.
std::size_t expanded_nodes(const std::string& what, std::size_t parts) {
  const std::size_t nodes = parts + 1;
  if (nodes > kMaxTypeNodes)
    invalid(what + " expands to " + std::to_string(nodes) +
            " nodes (a member counted each time it is used): the limit is " + std::to_string(kMaxTypeNodes) +
            " (tramp::kMaxTypeNodes)");
  return nodes;
}

// The full description a user gave for a record. Two records are the same type exactly when
// these agree (C would call them different types even then). Names are part of it: for
// calling, a record is its layout and member types, but a binding that reads or writes
// members by name must get the names it declared, not those of the first layout-equal
// record made.
struct RecordKey {
  TypeKind kind;
  bool packed;
  std::size_t align;
  struct Member {
    const Type* type;
    std::size_t align;  // explicit, 0 = natural
    std::string name;
    std::uint32_t bit_width;
    bool unnamed;
    friend bool operator==(const Member&, const Member&) = default;
  };
  std::vector<Member> members;

  friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

struct RecordKeyHash {
  std::size_t operator()(const RecordKey& k) const noexcept {
    std::size_t h = mix(static_cast<std::size_t>(k.kind), k.packed);
    h = mix(h, k.align);
    for (const auto& m : k.members)
      h = mix(mix(mix(mix(h, std::hash<const Type*>{}(m.type)), m.align), std::hash<std::string>{}(m.name)),
              m.bit_width * 2u + m.unnamed);
    return h;
  }
};

struct ArrayKeyHash {
  std::size_t operator()(const std::pair<const Type*, std::size_t>& k) const noexcept {
    return mix(std::hash<const Type*>{}(k.first), k.second);
  }
};

struct VectorKey {
  const Type* element;
  std::size_t count;
  std::size_t align;
  friend bool operator==(const VectorKey&, const VectorKey&) = default;
};

struct VectorKeyHash {
  std::size_t operator()(const VectorKey& k) const noexcept {
    return mix(mix(std::hash<const Type*>{}(k.element), k.count), k.align);
  }
};

// C11 6.7.2.1p4-5 and gcc: a bit-field's type is an integer type (gcc takes every integer
// kind, bool and the 128-bit ones too), its width at most that type's bits (bool: 1), and a
// zero-width bit-field has no name.
void check_bit_field(const FieldSpec& s, const std::string& where) {
  const Type* t = s.type;
  if (!t->is_integer())
    invalid(where + ": a bit-field of type " + t->str() + ": a bit-field's type must be an integer type (bool, i8 ... u128)");
  const std::uint32_t bits = t->kind() == TypeKind::Bool ? 1 : static_cast<std::uint32_t>(8 * t->size());
  if (s.bit_width > bits)
    invalid(where + ": a bit-field of " + std::to_string(s.bit_width) + " bits is wider than its type " + t->str() +
            " (" + std::to_string(bits) + (bits == 1 ? " bit)" : " bits)"));
  if (s.bit_width == 0 && !s.unnamed)
    invalid(where + ": a zero-width bit-field must be unnamed");
  if (s.unnamed && !s.name.empty()) invalid(where + ": an unnamed bit-field has the name '" + s.name + "'");
}

}  // namespace

// Owns every aggregate Type. Scalars are separate static singletons; they need no table.
// Its lock is held across fork(): a child forked while another thread made a type would
// otherwise inherit it taken and hang at its first record or array.
struct TypeFactory : private jit::ForkParticipant {
  std::mutex mu;
  std::unordered_map<RecordKey, std::unique_ptr<Type>, RecordKeyHash> records;
  std::unordered_map<std::pair<const Type*, std::size_t>, std::unique_ptr<Type>, ArrayKeyHash> arrays;
  std::unordered_map<VectorKey, std::unique_ptr<Type>, VectorKeyHash> vectors;

  static TypeFactory& get() {
    // Leaked on purpose: types live until the process ends, including during static
    // destruction of users' objects that still hold `const Type*`.
    static TypeFactory* factory = new TypeFactory();
    return *factory;
  }
  TypeFactory() { enroll(); }
  void fork_prepare() override { mu.lock(); }
  void fork_parent() override { mu.unlock(); }
  void fork_child() override { mu.unlock(); }

  static const Type* make_scalar(TypeKind kind, std::size_t size, std::size_t align) {
    Type* t = new Type();
    t->kind_ = kind;
    t->size_ = size;
    t->align_ = align;
    return t;
  }

  const Type* record(TypeKind kind, std::span<const FieldSpec> specs, RecordOptions options) {
    const std::string what = kind == TypeKind::Struct ? "struct" : "union";
    if (specs.empty()) invalid(what + " has no members (C has no empty records)");
    check_align(options.align, what);

    RecordKey key{kind, options.packed, options.align, {}};
    key.members.reserve(specs.size());
    const Type* deepest = specs[0].type;
    // Each member is at most kMaxTypeNodes and there are at most kMaxTypeSize of them, so the
    // sum cannot overflow.
    std::size_t parts = 0;
    bool bit_fields = false;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const std::string where = what + " member " + std::to_string(i);
      const Type* m = specs[i].type;
      if (m == nullptr) invalid(where + ": null type");
      if (m->is_void()) invalid(where + ": void is not an object type");
      check_align(specs[i].align, where);
      if (specs[i].bit_width != kNotBitField) {
        check_bit_field(specs[i], where);
        bit_fields = true;
      } else if (specs[i].unnamed) {
        invalid(where + ": only a bit-field can be unnamed padding (give it a width)");
      }
      key.members.push_back({m, specs[i].align, specs[i].name, specs[i].bit_width, specs[i].unnamed});
      if (m->depth() > deepest->depth()) deepest = m;
      parts += m->node_count();
    }
    const std::size_t depth = nested_depth(what, deepest);
    const std::size_t nodes = expanded_nodes(what, parts);

    // Layout first, outside the lock: it depends only on the (immutable) member types.
    auto t = std::unique_ptr<Type>(new Type());
    t->kind_ = kind;
    t->packed_ = options.packed;
    t->bit_fields_ = bit_fields;
    t->declared_align_ = options.align;
    t->depth_ = depth;
    t->nodes_ = nodes;
    t->fields_.reserve(specs.size());
    // Struct: bits used so far (members are at most 2 GiB, so bits stay below 2^35). Union:
    // the largest member's bytes.
    std::uint64_t bits = 0;
    std::size_t end = 0;
    std::size_t align = 1;
    for (const FieldSpec& s : specs) {
      if (s.bit_width != kNotBitField) {
        place_bit_field(*t, s, bits, end, align);
      } else {
        // gcc: `packed` puts members at byte alignment, but an explicit aligned(N) on a member
        // still applies (and aligned(N) smaller than natural is ignored outside packed records).
        std::size_t a = options.packed ? 1 : s.type->align();
        if (s.align > a) a = s.align;
        if (a > align) align = a;
        if (kind == TypeKind::Struct) {
          const std::size_t offset = round_up(static_cast<std::size_t>((bits + 7) / 8), a);
          t->fields_.push_back({s.type, offset, s.align, s.name});
          bits = 8 * static_cast<std::uint64_t>(offset + s.type->size());
        } else {
          t->fields_.push_back({s.type, 0, s.align, s.name});
          if (s.type->size() > end) end = s.type->size();
        }
      }
      if (kind == TypeKind::Struct) end = static_cast<std::size_t>((bits + 7) / 8);
      // Members are at most 2 GiB each, so checking per member keeps `end` from overflowing.
      if (end > kMaxTypeSize) invalid(what + " is larger than 2 GiB");
    }
    if (options.align > align) align = options.align;
    t->align_ = align;
    t->size_ = round_up(end, align);
    if (t->size_ > kMaxTypeSize) invalid(what + " is larger than 2 GiB");
    if (t->size_ == 0) invalid(what + " has size 0: its only members are zero-width bit-fields");

    std::lock_guard lock(mu);
    auto [it, inserted] = records.try_emplace(std::move(key), std::move(t));
    return it->second.get();
  }

  // A bit-field as gcc places it (stor-layout.c, PCC_BITFIELD_TYPE_MATTERS targets: x86-64
  // and AArch64). Its type's alignment is its storage unit (size and alignment are equal for
  // every integer kind).
  static void place_bit_field(Type& t, const FieldSpec& s, std::uint64_t& bits, std::size_t& end,
                              std::size_t& align) {
    const std::uint64_t unit = 8 * s.type->align();
    const std::uint32_t width = s.bit_width;
    const bool packed = t.packed_;
    std::uint64_t at = 0;
    if (t.kind_ == TypeKind::Struct) {
      at = bits;
      if (width == 0) {
        // A zero-width bit-field ends the unit: the next member starts at the next boundary
        // of its type's alignment, which `packed` does not lower.
        at = round_up(at, s.align * 8 > unit ? s.align * 8 : unit);
      } else {
        if (s.align) at = round_up(at, 8 * s.align);
        // "A bit field may not span more units of alignment of its type than its type
        // itself": it starts a new unit when it would straddle one (not when packed).
        if (!packed && at % unit + width > unit) at = round_up(at, unit);
      }
      bits = at + width;
    } else {
      const std::size_t bytes = (width + 7) / 8;
      if (bytes > end) end = bytes;
    }
    t.fields_.push_back({s.type, static_cast<std::size_t>(at / 8), s.align, s.name, width,
                         static_cast<std::uint32_t>(at % 8), s.unnamed});
    // A named bit-field aligns the record as its type does (1 when packed) and as an explicit
    // aligned(N) says; an unnamed one does not (x86-64 psABI 3.1.2; gcc's AArch64 rule differs,
    // and its parsers say so with the record's own alignment: unnamed_bit_field_align).
    if (!s.unnamed) {
      std::size_t a = packed ? 1 : s.type->align();
      if (s.align > a) a = s.align;
      if (a > align) align = a;
    }
  }

  const Type* array(const Type* element, std::size_t count) {
    if (element == nullptr) invalid("array element: null type");
    if (element->is_void()) invalid("array element: void is not an object type");
    if (count == 0) invalid("array length 0: C has no zero-length arrays");
    if (count > kMaxTypeSize / element->size())
      invalid("array of " + std::to_string(count) + " x " + std::to_string(element->size()) +
              " bytes is larger than 2 GiB");
    const std::size_t depth = nested_depth("array", element);
    const std::size_t nodes = expanded_nodes("array", element->node_count());
    std::lock_guard lock(mu);
    auto& slot = arrays[{element, count}];
    if (!slot) {
      slot.reset(new Type());
      slot->kind_ = TypeKind::Array;
      slot->element_ = element;
      slot->count_ = count;
      slot->size_ = element->size() * count;
      slot->align_ = element->align();
      slot->depth_ = depth;
      slot->nodes_ = nodes;
    }
    return slot.get();
  }

  const Type* vector(const Type* element, std::size_t count, std::size_t align) {
    if (element == nullptr) invalid("vector element: null type");
    switch (element->kind()) {
      case TypeKind::I8: case TypeKind::U8: case TypeKind::I16: case TypeKind::U16:
      case TypeKind::I32: case TypeKind::U32: case TypeKind::I64: case TypeKind::U64:
      case TypeKind::F16: case TypeKind::F32: case TypeKind::F64:
        break;
      default:
        invalid("a vector of " + element->str() +
                ": a vector's elements are i8 ... u64, f16, f32 or f64 (gcc has no vectors of bool, pointers, long "
                "double or records; tramp takes none of 128-bit elements)");
    }
    if (count == 0 || (count & (count - 1)) != 0)
      invalid("a vector of " + std::to_string(count) + " x " + element->str() +
              ": the number of elements must be a power of two (gcc's vector_size rule)");
    if (count > kMaxTypeSize / element->size())
      invalid("a vector of " + std::to_string(count) + " x " + element->str() + " is larger than 2 GiB");
    check_align(align, "vector");
    const std::size_t size = element->size() * count;
    const std::size_t a = align ? align : natural_vector_align(size);
    std::lock_guard lock(mu);
    auto& slot = vectors[{element, count, a}];
    if (!slot) {
      slot.reset(new Type());
      slot->kind_ = TypeKind::Vector;
      slot->element_ = element;
      slot->count_ = count;
      slot->size_ = size;
      slot->align_ = a;
    }
    return slot.get();
  }

  // A vector's size, up to the largest alignment there is.
  static std::size_t natural_vector_align(std::size_t size) { return size < kMaxAlign ? size : kMaxAlign; }

  static void check_align(std::size_t align, const std::string& where) {
    if (align == 0) return;
    if (!is_pow2(align)) invalid(where + ": alignment " + std::to_string(align) + " is not a power of two");
    if (align > kMaxAlign)
      invalid(where + ": alignment " + std::to_string(align) + " exceeds the maximum " + std::to_string(kMaxAlign));
  }
};

bool Type::is_integer() const noexcept { return kind_ >= TypeKind::Bool && kind_ <= TypeKind::U128; }

bool Type::is_signed() const noexcept {
  switch (kind_) {
    case TypeKind::I8:
    case TypeKind::I16:
    case TypeKind::I32:
    case TypeKind::I64:
    case TypeKind::I128:
      return true;
    default:
      return false;
  }
}

bool Type::is_float() const noexcept {
  return (kind_ >= TypeKind::F32 && kind_ <= TypeKind::F128) || kind_ == TypeKind::F16;
}

bool Type::is_scalar() const noexcept { return is_integer() || is_float() || kind_ == TypeKind::Pointer; }

#define TRAMP_SCALAR(fn, kind, size, align)                                          \
  const Type* Type::fn() {                                                          \
    static const Type* const t = TypeFactory::make_scalar(TypeKind::kind, size, align); \
    return t;                                                                       \
  }
TRAMP_SCALAR(void_, Void, 0, 1)
TRAMP_SCALAR(bool_, Bool, 1, 1)
TRAMP_SCALAR(i8, I8, 1, 1)
TRAMP_SCALAR(u8, U8, 1, 1)
TRAMP_SCALAR(i16, I16, 2, 2)
TRAMP_SCALAR(u16, U16, 2, 2)
TRAMP_SCALAR(i32, I32, 4, 4)
TRAMP_SCALAR(u32, U32, 4, 4)
TRAMP_SCALAR(i64, I64, 8, 8)
TRAMP_SCALAR(u64, U64, 8, 8)
TRAMP_SCALAR(i128, I128, 16, 16)
TRAMP_SCALAR(u128, U128, 16, 16)
TRAMP_SCALAR(f32, F32, 4, 4)
TRAMP_SCALAR(f64, F64, 8, 8)
TRAMP_SCALAR(f80, F80, 16, 16)
TRAMP_SCALAR(f128, F128, 16, 16)
TRAMP_SCALAR(pointer, Pointer, 8, 8)
TRAMP_SCALAR(f16, F16, 2, 2)
#undef TRAMP_SCALAR

const Type* Type::scalar(TypeKind kind) {
  switch (kind) {
    case TypeKind::Void: return void_();
    case TypeKind::Bool: return bool_();
    case TypeKind::I8: return i8();
    case TypeKind::U8: return u8();
    case TypeKind::I16: return i16();
    case TypeKind::U16: return u16();
    case TypeKind::I32: return i32();
    case TypeKind::U32: return u32();
    case TypeKind::I64: return i64();
    case TypeKind::U64: return u64();
    case TypeKind::I128: return i128();
    case TypeKind::U128: return u128();
    case TypeKind::F32: return f32();
    case TypeKind::F64: return f64();
    case TypeKind::F80: return f80();
    case TypeKind::F128: return f128();
    case TypeKind::Pointer: return pointer();
    case TypeKind::F16: return f16();
    case TypeKind::Struct:
    case TypeKind::Union:
    case TypeKind::Array:
    case TypeKind::Complex:
    case TypeKind::Vector:
      break;
  }
  invalid("Type::scalar: kind " + std::to_string(static_cast<int>(kind)) + " is not a scalar kind");
}

const Type* Type::struct_(std::span<const FieldSpec> fields, RecordOptions options) {
  return TypeFactory::get().record(TypeKind::Struct, fields, options);
}
const Type* Type::struct_(std::initializer_list<FieldSpec> fields, RecordOptions options) {
  return struct_(std::span<const FieldSpec>(fields.begin(), fields.size()), options);
}
const Type* Type::union_(std::span<const FieldSpec> fields, RecordOptions options) {
  return TypeFactory::get().record(TypeKind::Union, fields, options);
}
const Type* Type::union_(std::initializer_list<FieldSpec> fields, RecordOptions options) {
  return union_(std::span<const FieldSpec>(fields.begin(), fields.size()), options);
}
const Type* Type::array(const Type* element, std::size_t count) { return TypeFactory::get().array(element, count); }

const Type* Type::complex(const Type* element) {
  // One per floating kind, made on first use; the element's alignment, twice its size.
  auto make = [](const Type* e) {
    Type* t = new Type();
    t->kind_ = TypeKind::Complex;
    t->element_ = e;
    t->count_ = 2;
    t->size_ = 2 * e->size();
    t->align_ = e->align();
    return static_cast<const Type*>(t);
  };
  if (element == nullptr) invalid("complex element: null type");
  switch (element->kind()) {
    case TypeKind::F16: { static const Type* const t = make(element); return t; }
    case TypeKind::F32: { static const Type* const t = make(element); return t; }
    case TypeKind::F64: { static const Type* const t = make(element); return t; }
    case TypeKind::F80: { static const Type* const t = make(element); return t; }
    case TypeKind::F128: { static const Type* const t = make(element); return t; }
    default:
      invalid("complex " + element->str() + ": a complex type's element must be a floating type (f16, f32, f64, "
              "f80, f128)");
  }
}

const Type* Type::vector(const Type* element, std::size_t count, std::size_t align) {
  return TypeFactory::get().vector(element, count, align);
}

std::string Type::str() const {
  std::string s;
  append_str(s);
  return s;
}

void Type::append_str(std::string& out) const {
  // Indexed by TypeKind, Void through Pointer.
  static constexpr std::string_view kNames[] = {"void", "bool", "i8",   "u8",   "i16", "u16", "i32", "u32", "i64",
                                                "u64",  "i128", "u128", "f32",  "f64", "f80", "f128", "ptr"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(TypeKind::Pointer) + 1);
  if (kind_ <= TypeKind::Pointer) {
    out += kNames[static_cast<std::size_t>(kind_)];
    return;
  }
  if (kind_ == TypeKind::F16) {
    out += "f16";
    return;
  }
  if (kind_ == TypeKind::Complex) {
    out += "complex ";
    element_->append_str(out);
    return;
  }
  if (kind_ == TypeKind::Vector) {
    // The alignment is written only when it is not the natural one (TypeFactory::vector).
    element_->append_str(out);
    out += "x" + std::to_string(count_);
    if (align_ != TypeFactory::natural_vector_align(size_)) out += " align(" + std::to_string(align_) + ")";
    return;
  }

  if (kind_ == TypeKind::Array) {
    // C order: the outermost dimension is written first, so i32[2][3] is 2 arrays of 3 i32.
    const Type* base = this;
    std::string dims;
    while (base->kind_ == TypeKind::Array) {
      dims += "[" + std::to_string(base->count_) + "]";
      base = base->element_;
    }
    base->append_str(out);
    out += dims;
    return;
  }

  // Member alignment is written as a prefix, `alignas(N) T`: a suffix would be ambiguous
  // with the record's own `align(N)` when the member is itself a record.
  if (packed_) out += "packed ";
  out += kind_ == TypeKind::Union ? "union{" : "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (i != 0) out += ", ";
    const Field& f = fields_[i];
    if (f.align != 0) out += "alignas(" + std::to_string(f.align) + ") ";
    // A zero-width bit-field is always unnamed; the word is written for the others only.
    if (f.unnamed && f.bit_width != 0) out += "unnamed ";
    f.type->append_str(out);
    if (f.is_bit_field()) out += ":" + std::to_string(f.bit_width);
  }
  out += "}";
  if (declared_align_ != 0) out += " align(" + std::to_string(declared_align_) + ")";
}

}  // namespace tramp
