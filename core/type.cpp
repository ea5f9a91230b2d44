#include "tramp/type.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "tramp/error.hpp"

namespace tramp {

namespace {
bool is_pow2(std::size_t n) { return n && (n & (n - 1)) == 0; }
std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }
}  // namespace

// Interning table: the key is the full description a user gave, so equal descriptions
// share one Type and `const Type*` identity is type equality.
struct TypeFactory {
  using RecordKey = std::tuple<TypeKind, std::vector<std::pair<const Type*, std::size_t>>, bool, std::size_t>;
  using ArrayKey = std::pair<const Type*, std::size_t>;

  std::mutex mu;
  std::map<RecordKey, std::unique_ptr<Type>> records;
  std::map<ArrayKey, std::unique_ptr<Type>> arrays;

  static TypeFactory& get() {
    static TypeFactory* f = new TypeFactory();  // types live until the process ends
    return *f;
  }

  static Type* make_scalar(TypeKind k, std::size_t size, std::size_t align) {
    Type* t = new Type();
    t->kind_ = k;
    t->size_ = size;
    t->align_ = align;
    return t;
  }

  const Type* record(TypeKind kind, std::span<const FieldSpec> specs, RecordOptions opt) {
    const char* what = kind == TypeKind::Struct ? "struct" : "union";
    if (specs.empty()) throw Error(ErrorCode::InvalidType, std::string(what) + " has no members (C has no empty records)");
    if (opt.align && !is_pow2(opt.align))
      throw Error(ErrorCode::InvalidType, std::string(what) + " alignment " + std::to_string(opt.align) + " is not a power of two");
    RecordKey key{kind, {}, opt.packed, opt.align};
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const Type* m = specs[i].type;
      std::string where = std::string(what) + " member " + std::to_string(i);
      if (!m) throw Error(ErrorCode::InvalidType, where + ": null type");
      if (m->is_void()) throw Error(ErrorCode::InvalidType, where + ": void is not an object type");
      if (specs[i].align && !is_pow2(specs[i].align))
        throw Error(ErrorCode::InvalidType, where + ": alignment " + std::to_string(specs[i].align) + " is not a power of two");
      std::get<1>(key).emplace_back(m, specs[i].align);
    }
    std::lock_guard lock(mu);
    auto it = records.find(key);
    if (it != records.end()) return it->second.get();

    auto t = std::unique_ptr<Type>(new Type());
    t->kind_ = kind;
    t->packed_ = opt.packed;
    t->declared_align_ = opt.align;
    std::size_t offset = 0, size = 0, align = 1;
    for (const FieldSpec& s : specs) {
      // gcc: packed drops members to byte alignment; aligned(N) on a member raises it even then.
      std::size_t a = opt.packed ? 1 : s.type->align();
      if (s.align > a) a = s.align;
      if (kind == TypeKind::Struct) {
        offset = round_up(offset, a);
        t->fields_.push_back({s.type, offset, s.align});
        offset += s.type->size();
        size = offset;
      } else {
        t->fields_.push_back({s.type, 0, s.align});
        if (s.type->size() > size) size = s.type->size();
      }
      if (a > align) align = a;
    }
    if (opt.align > align) align = opt.align;
    t->align_ = align;
    t->size_ = round_up(size, align);
    if (t->size_ > (std::size_t{1} << 31)) throw Error(ErrorCode::InvalidType, std::string(what) + " is larger than 2 GiB");
    const Type* r = t.get();
    records.emplace(std::move(key), std::move(t));
    return r;
  }

  const Type* array(const Type* element, std::size_t count) {
    if (!element) throw Error(ErrorCode::InvalidType, "array of a null type");
    if (element->is_void()) throw Error(ErrorCode::InvalidType, "array of void");
    if (count == 0) throw Error(ErrorCode::InvalidType, "array of length 0");
    if (element->size() && count > (std::size_t{1} << 31) / element->size())
      throw Error(ErrorCode::InvalidType, "array is larger than 2 GiB");
    std::lock_guard lock(mu);
    ArrayKey key{element, count};
    auto it = arrays.find(key);
    if (it != arrays.end()) return it->second.get();
    auto t = std::unique_ptr<Type>(new Type());
    t->kind_ = TypeKind::Array;
    t->element_ = element;
    t->count_ = count;
    t->size_ = element->size() * count;
    t->align_ = element->align();
    const Type* r = t.get();
    arrays.emplace(key, std::move(t));
    return r;
  }
};

bool Type::is_integer() const noexcept { return kind_ >= TypeKind::Bool && kind_ <= TypeKind::U128; }
bool Type::is_signed() const noexcept {
  switch (kind_) {
    case TypeKind::I8: case TypeKind::I16: case TypeKind::I32: case TypeKind::I64: case TypeKind::I128:
      return true;
    default:
      return false;
  }
}
bool Type::is_float() const noexcept { return kind_ >= TypeKind::F32 && kind_ <= TypeKind::F128; }
bool Type::is_scalar() const noexcept { return is_integer() || is_float() || kind_ == TypeKind::Pointer; }

#define TRAMP_SCALAR(fn, K, S, A)                                   \
  const Type* Type::fn() {                                          \
    static const Type* t = TypeFactory::make_scalar(TypeKind::K, S, A); \
    return t;                                                       \
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
    default: throw Error(ErrorCode::InvalidType, "Type::scalar: not a scalar kind");
  }
}

const Type* Type::struct_(std::span<const FieldSpec> f, RecordOptions o) { return TypeFactory::get().record(TypeKind::Struct, f, o); }
const Type* Type::struct_(std::initializer_list<FieldSpec> f, RecordOptions o) {
  return struct_(std::span<const FieldSpec>(f.begin(), f.size()), o);
}
const Type* Type::union_(std::span<const FieldSpec> f, RecordOptions o) { return TypeFactory::get().record(TypeKind::Union, f, o); }
const Type* Type::union_(std::initializer_list<FieldSpec> f, RecordOptions o) {
  return union_(std::span<const FieldSpec>(f.begin(), f.size()), o);
}
const Type* Type::array(const Type* e, std::size_t n) { return TypeFactory::get().array(e, n); }

std::string Type::str() const {
  static const char* const kNames[] = {"void", "bool", "i8",  "u8",  "i16", "u16", "i32", "u32", "i64",
                                       "u64",  "i128", "u128", "f32", "f64", "f80", "f128", "ptr"};
  if (kind_ <= TypeKind::Pointer) return kNames[static_cast<int>(kind_)];
  if (kind_ == TypeKind::Array) {
    // C order: the outermost dimension is written first, i32[2][3] is 2 arrays of 3.
    const Type* base = this;
    std::string dims;
    while (base->kind_ == TypeKind::Array) {
      dims += "[" + std::to_string(base->count_) + "]";
      base = base->element_;
    }
    return base->str() + dims;
  }
  std::string s = packed_ ? "packed " : "";
  s += kind_ == TypeKind::Union ? "union{" : "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (i) s += ", ";
    if (fields_[i].align) s += "alignas(" + std::to_string(fields_[i].align) + ") ";
    s += fields_[i].type->str();
  }
  s += "}";
  if (declared_align_) s += " align(" + std::to_string(declared_align_) + ")";
  return s;
}

}  // namespace tramp
