// tramp: C types with their C layout.
//
// A Type is immutable and interned: building the same description twice yields the same
// pointer, so `const Type*` compares and hashes by identity. A record's description includes
// its members' names: `struct {int x, y;}` and `struct {int w, h;}` are two types (same
// layout, same classification) and each keeps its own names; an unnamed `{i32, i32}` (the
// signature syntax, builders without names) is a third. Types live until the process
// ends. Layout (size, alignment, field offsets) is computed once, at construction, with the
// rules gcc uses for LP64 targets. Where x86-64 and AArch64 differ the difference is in the
// description itself, never in a hidden rule: long double is a distinct kind per format, a
// vector carries its alignment, and gcc's AArch64 rule that unnamed bit-fields align their
// record is an explicit record alignment (the parsers that know the ABI add it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace tramp {

// How deeply records and arrays may nest: every Type, however it is made (the C++ factories
// below, the signature parser, the C declaration parser, the C API), has depth() at most
// this. It bounds every recursive walk over a Type (str(), the classifiers) to a small stack.
inline constexpr std::size_t kMaxTypeDepth = 64;

// How many nodes a type may expand to (Type::node_count()): what one walk over it visits, a
// member counted each time it is used. Depth alone bounds no walk's time: interning shares a
// member type, so 64 levels of `union{U, U}` are 64 distinct types but 2^64 leaves. Real C
// records have at most a few thousand leaves; at this limit str() or a classifier takes a few
// milliseconds.
inline constexpr std::size_t kMaxTypeNodes = std::size_t{1} << 16;

// No object may exceed 2 GiB; this keeps every size and offset far from overflow.
inline constexpr std::size_t kMaxTypeSize = std::size_t{1} << 31;

// Field::bit_width of a member that is not a bit-field.
inline constexpr std::uint32_t kNotBitField = ~std::uint32_t{0};

enum class TypeKind : std::uint8_t {
  Void,
  Bool,
  I8, U8, I16, U16, I32, U32, I64, U64, I128, U128,
  F32,
  F64,
  F80,   // x87 80-bit extended precision, x86-64 `long double`: size 16, align 16
  F128,  // IEEE binary128, AArch64 (AAPCS64) `long double`: size 16, align 16
  Pointer,
  Struct,
  Union,
  Array,  // fixed-size array; a member of a struct or union, never an argument
  // Added after the first release, so the values above keep their numbers.
  F16,      // _Float16, IEEE binary16: size 2, align 2
  Complex,  // _Complex T of a floating kind T (element()): two T, real part first
  Vector,   // __attribute__((vector_size(N))) T: count() T as one value, align() its own
};

class Type;

// A member of a struct or union, with its computed byte offset.
struct Field {
  const Type* type;
  std::size_t offset;  // a bit-field: the byte that holds its first bit
  std::size_t align;   // explicit __attribute__((aligned(N))) on the member, 0 if none
  std::string name;    // the member's name (C declarations, named FieldSpecs); empty if none
  // A bit-field (`int x : 3`): its width in bits (0 for `int : 0`), kNotBitField otherwise.
  std::uint32_t bit_width = kNotBitField;
  // A bit-field's first bit within the byte at `offset`, 0 = the least significant: the
  // value is the bit_width bits from there up, little-endian, across bytes.
  std::uint32_t bit_offset = 0;
  // An unnamed bit-field (`int : 3`, and every zero-width one): padding, no value.
  bool unnamed = false;

  bool is_bit_field() const noexcept { return bit_width != kNotBitField; }
};

// What the user writes for a member: its type, an optional explicit alignment
// (`T m __attribute__((aligned(N)))`, N a power of two; 0 = natural), an optional name
// (empty = unnamed; C11 anonymous members and the signature syntax have none) and, for a
// bit-field, its width: the type is then an integer kind (bool, i8 ... u128) and the width
// at most its bits (bool: 1). `unnamed` makes a bit-field padding (C's `int : 3`), which
// holds no value and, as in the x86-64 psABI, does not align its record; a zero-width
// bit-field is always unnamed.
struct FieldSpec {
  const Type* type;
  std::size_t align = 0;
  std::string name = {};
  std::uint32_t bit_width = kNotBitField;
  bool unnamed = false;
};

// Attributes of a whole struct or union.
struct RecordOptions {
  bool packed = false;     // __attribute__((packed)): members at byte alignment
  std::size_t align = 0;   // __attribute__((aligned(N))) on the record, 0 = natural
};

class Type {
 public:
  TypeKind kind() const noexcept { return kind_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t align() const noexcept { return align_; }

  // Struct and union members in declaration order (empty for other kinds).
  std::span<const Field> fields() const noexcept { return fields_; }
  bool packed() const noexcept { return packed_; }
  // The explicit record alignment the type was declared with (0 = natural).
  std::size_t declared_align() const noexcept { return declared_align_; }

  // Array, vector or complex: the element type and how many (a complex has 2, real and
  // imaginary); nullptr / 0 for other kinds.
  const Type* element() const noexcept { return element_; }
  std::size_t count() const noexcept { return count_; }

  // Nesting depth: 0 for a scalar, 1 + the deepest member or element for a record or array.
  std::size_t depth() const noexcept { return depth_; }

  // Expanded size: 1 for a scalar; 1 + the sum over the members for a record (a member type
  // used twice counts twice); 1 + the element's count for an array, since walks visit an
  // array's element type once, not count() times (the SysV classifier, which repeats
  // elements, does so only within 16 bytes). At most kMaxTypeNodes.
  std::size_t node_count() const noexcept { return nodes_; }

  bool is_void() const noexcept { return kind_ == TypeKind::Void; }
  bool is_integer() const noexcept;   // bool and the integer kinds
  bool is_signed() const noexcept;    // signed integer kinds
  bool is_float() const noexcept;     // F16, F32, F64, F80, F128
  bool is_record() const noexcept { return kind_ == TypeKind::Struct || kind_ == TypeKind::Union; }
  bool is_scalar() const noexcept;    // integer, float or pointer
  bool is_complex() const noexcept { return kind_ == TypeKind::Complex; }
  bool is_vector() const noexcept { return kind_ == TypeKind::Vector; }
  // A record with at least one bit-field member (directly, not in a nested record).
  bool has_bit_fields() const noexcept { return bit_fields_; }

  // The signature-string spelling of this type, e.g. "{i32, f64[2]}" (see docs/signatures.md).
  // Member names are not written (the syntax has none): parsing it yields this same Type when
  // no record in it has names, and otherwise the layout-equal unnamed Type.
  std::string str() const;
  void append_str(std::string& out) const;  // str() appended to `out`, without a string of its own

  // Scalars. Each returns the one interned instance.
  static const Type* void_();
  static const Type* bool_();
  static const Type* i8();
  static const Type* u8();
  static const Type* i16();
  static const Type* u16();
  static const Type* i32();
  static const Type* u32();
  static const Type* i64();
  static const Type* u64();
  static const Type* i128();
  static const Type* u128();
  static const Type* f32();
  static const Type* f64();
  static const Type* f80();
  static const Type* f128();
  static const Type* pointer();
  static const Type* f16();
  static const Type* scalar(TypeKind kind);  // kind must be a scalar kind or Void

  // `_Complex T`: T is a floating kind (f16, f32, f64, f80, f128); size 2 x T, T's alignment.
  // Throws Error(InvalidType) for any other element.
  static const Type* complex(const Type* element);
  // `T __attribute__((vector_size(count * sizeof(T))))`: T is i8 ... u64, f16, f32 or f64
  // (gcc has no vectors of bool, pointers or long double; tramp takes none of 128-bit
  // elements), count a power of two, the whole at most kMaxTypeSize bytes. `align` 0 is the
  // natural alignment, the vector's size (as gcc lays out and passes vectors on x86-64, where
  // _Alignof shows at most 16, 32 or 64 by the ISA but __alignof__ the size; gcc on AArch64
  // stops at 16, which such a vector states explicitly); otherwise a power of two that
  // replaces it (gcc's `aligned(N)` on a vector typedef, which may also lower it). Throws
  // Error(InvalidType) naming the problem.
  static const Type* vector(const Type* element, std::size_t count, std::size_t align = 0);

  // Aggregates. Throw tramp::Error(InvalidType) for an impossible description: no members,
  // a void or function member, an alignment that is not a power of two, a zero-length array,
  // more than kMaxTypeSize bytes, a depth() over kMaxTypeDepth, a node_count() over
  // kMaxTypeNodes; a bit-field of a type that is not an integer, wider than its type, named
  // with zero width, or a record of size 0 (only zero-width bit-fields). Bit-fields are laid
  // out as gcc does: each in the next bits, or from the next boundary of its type's
  // alignment when it would otherwise straddle one (not in a packed record); a zero-width one
  // moves the next member to that boundary (packed or not).
  static const Type* struct_(std::span<const FieldSpec> fields, RecordOptions options = {});
  static const Type* struct_(std::initializer_list<FieldSpec> fields, RecordOptions options = {});
  static const Type* union_(std::span<const FieldSpec> fields, RecordOptions options = {});
  static const Type* union_(std::initializer_list<FieldSpec> fields, RecordOptions options = {});
  static const Type* array(const Type* element, std::size_t count);

  Type(const Type&) = delete;
  Type& operator=(const Type&) = delete;

 private:
  friend struct TypeFactory;
  Type() = default;

  TypeKind kind_ = TypeKind::Void;
  bool packed_ = false;
  bool bit_fields_ = false;
  std::size_t size_ = 0;
  std::size_t align_ = 1;
  std::size_t declared_align_ = 0;
  std::vector<Field> fields_;
  const Type* element_ = nullptr;
  std::size_t count_ = 0;
  std::size_t depth_ = 0;
  std::size_t nodes_ = 1;
};

}  // namespace tramp
