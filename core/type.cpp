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
      h = mix(mix(mix(h, std::hash<const Type*>{}(m.type)), m.align), std::hash<std::string>{}(m.name));
    return h;
  }
};

struct ArrayKeyHash {
  std::size_t operator()(const std::pair<const Type*, std::size_t>& k) const noexcept {
    return mix(std::hash<const Type*>{}(k.first), k.second);
  }
};

}  // namespace

// Owns every aggregate Type. Scalars are separate static singletons; they need no table.
// Its lock is held across fork(): a child forked while another thread made a type would
// otherwise inherit it taken and hang at its first record or array.
struct TypeFactory : private jit::ForkParticipant {
  std::mutex mu;
  std::unordered_map<RecordKey, std::unique_ptr<Type>, RecordKeyHash> records;
  std::unordered_map<std::pair<const Type*, std::size_t>, std::unique_ptr<Type>, ArrayKeyHash> arrays;

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
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const std::string where = what + " member " + std::to_string(i);
      const Type* m = specs[i].type;
      if (m == nullptr) invalid(where + ": null type");
      if (m->is_void()) invalid(where + ": void is not an object type");
      check_align(specs[i].align, where);
      key.members.push_back({m, specs[i].align, specs[i].name});
      if (m->depth() > deepest->depth()) deepest = m;
      parts += m->node_count();
    }
    const std::size_t depth = nested_depth(what, deepest);
    const std::size_t nodes = expanded_nodes(what, parts);

    // Layout first, outside the lock: it depends only on the (immutable) member types.
    auto t = std::unique_ptr<Type>(new Type());
    t->kind_ = kind;
    t->packed_ = options.packed;
    t->declared_align_ = options.align;
    t->depth_ = depth;
    t->nodes_ = nodes;
    t->fields_.reserve(specs.size());
    std::size_t end = 0;
    std::size_t align = 1;
    for (const FieldSpec& s : specs) {
      // gcc: `packed` puts members at byte alignment, but an explicit aligned(N) on a member
      // still applies (and aligned(N) smaller than natural is ignored outside packed records).
      std::size_t a = options.packed ? 1 : s.type->align();
      if (s.align > a) a = s.align;
      if (a > align) align = a;
      if (kind == TypeKind::Struct) {
        const std::size_t offset = round_up(end, a);
        t->fields_.push_back({s.type, offset, s.align, s.name});
        end = offset + s.type->size();
      } else {
        t->fields_.push_back({s.type, 0, s.align, s.name});
        if (s.type->size() > end) end = s.type->size();
      }
      // Members are at most 2 GiB each, so checking per member keeps `end` from overflowing.
      if (end > kMaxTypeSize) invalid(what + " is larger than 2 GiB");
    }
    if (options.align > align) align = options.align;
    t->align_ = align;
    t->size_ = round_up(end, align);
    if (t->size_ > kMaxTypeSize) invalid(what + " is larger than 2 GiB");

    std::lock_guard lock(mu);
    auto [it, inserted] = records.try_emplace(std::move(key), std::move(t));
    return it->second.get();
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

bool Type::is_float() const noexcept { return kind_ >= TypeKind::F32 && kind_ <= TypeKind::F128; }

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
    case TypeKind::Struct:
    case TypeKind::Union:
    case TypeKind::Array:
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

std::string Type::str() const {
  // Indexed by TypeKind, Void through Pointer.
  static constexpr const char* kNames[] = {"void", "bool", "i8",   "u8",   "i16", "u16", "i32", "u32", "i64",
                                           "u64",  "i128", "u128", "f32",  "f64", "f80", "f128", "ptr"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(TypeKind::Pointer) + 1);
  if (kind_ <= TypeKind::Pointer) return kNames[static_cast<std::size_t>(kind_)];

  if (kind_ == TypeKind::Array) {
    // C order: the outermost dimension is written first, so i32[2][3] is 2 arrays of 3 i32.
    const Type* base = this;
    std::string dims;
    while (base->kind_ == TypeKind::Array) {
      dims += "[" + std::to_string(base->count_) + "]";
      base = base->element_;
    }
    return base->str() + dims;
  }

  // Member alignment is written as a prefix, `alignas(N) T`: a suffix would be ambiguous
  // with the record's own `align(N)` when the member is itself a record.
  std::string s = packed_ ? "packed " : "";
  s += kind_ == TypeKind::Union ? "union{" : "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (i != 0) s += ", ";
    if (fields_[i].align != 0) s += "alignas(" + std::to_string(fields_[i].align) + ") ";
    s += fields_[i].type->str();
  }
  s += "}";
  if (declared_align_ != 0) s += " align(" + std::to_string(declared_align_) + ")";
  return s;
}

}  // namespace tramp
