// Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64), section 6.8 "Parameter
// passing" (rules B.1-B.6 and C.1-C.17, numbered as in release 2020Q2 and later, where C.7
// and C.8 are the SVE rules) and 6.9 "Result return", as gcc 12 implements it on
// Linux; and Apple's arm64 variant ("Writing ARM64 code for Apple platforms": stack arguments
// packed at their natural alignment, variadic arguments always on the stack in 8-byte slots,
// small integers extended by the side that writes the register), as clang implements it.
//
// Worked examples (C declaration -> AAPCS64 plan):
//   double f(int a, double b, long c)        x0, v0, x1: integer and SIMD registers counted apart
//   struct { float x, y, z; } s              an HFA of three floats: v0, v1, v2, one per member
//   struct { double d; float f; } s          not an HFA (mixed base types), 16 bytes: x0, x1
//   struct { long a, b, c; } s               over 16 bytes: a caller copy, its address in x0
//   void f(int a, __int128 b)                x0, then x2:x3 (C.10: 16-byte alignment skips x1)
//   struct { long a, b, c; } f(void)         the caller's buffer address in x8
//   int printf(const char*, ...)             Linux: variadic arguments as named ones;
//                                            Apple: every variadic argument on the stack
//   double _Complex f(_Float16)              h0 in; a complex is an HFA of two: d0, d1 out
//   struct { float32x4_t a, b; } s           a homogeneous short-vector aggregate: q0, q1
//   struct { int a : 3; float f; } s         bit-fields are integers: not an HFA, x0
#include <array>
#include <string>

#include "abi/call_plan.hpp"

namespace tramp::abi {
namespace {

// What differs between the two variants; everything else is shared.
struct Variant {
  Abi abi;
  // Apple: the writer of a register extends bool, char and short to 32 bits (the caller for
  // arguments, the callee for results). AAPCS64 leaves the upper bits unspecified.
  bool extend_small_ints;
  // Apple: a stack argument takes its natural size at its natural alignment instead of a
  // whole 8-byte slot (rule C.16 rounds it up on Linux).
  bool packed_stack;
  // Apple: variadic arguments never use registers; each takes 8-byte stack slots.
  bool variadic_on_stack;
  // AAPCS64 C.10: a 16-byte aligned argument starts at an even x register. clang for Apple
  // takes any two consecutive registers (`f(int, __int128)`: x1:x2 there, x2:x3 on Linux).
  bool even_register_pairs;
  // Apple: `long double` is double and there is no binary128 type.
  bool has_binary128;
  // gcc (AAPCS64 "natural alignment" of a composite): the largest alignment of its members,
  // so an aligned(N) attribute on the record itself is ignored. clang for Apple uses the
  // record's own alignment, attribute included.
  bool composite_align_from_members;
  // gcc 12 leaves a struct's zero-width bit-field out of the homogeneous-aggregate test
  // ({float a; int : 0; float b;} is an HFA); clang for Apple does not (x0).
  bool hfa_skips_zero_width_bit_fields;
  // gcc passes a vector of 1 to 4 bytes as an integer, or a floating one on the stack; clang
  // for Apple coerces arguments to integers but returns them in v0 as LLVM legalizes the
  // type, which tramp does not model: refused there.
  bool small_vectors;
};

constexpr Variant kAapcs64{.abi = Abi::Aapcs64,
                           .extend_small_ints = false,
                           .packed_stack = false,
                           .variadic_on_stack = false,
                           .even_register_pairs = true,
                           .has_binary128 = true,
                           .composite_align_from_members = true,
                           .hfa_skips_zero_width_bit_fields = true,
                           .small_vectors = true};
constexpr Variant kApple{.abi = Abi::AppleArm64,
                         .extend_small_ints = true,
                         .packed_stack = true,
                         .variadic_on_stack = true,
                         .even_register_pairs = false,
                         .has_binary128 = false,
                         .composite_align_from_members = false,
                         .hfa_skips_zero_width_bit_fields = false,
                         .small_vectors = false};

constexpr std::uint8_t kArgRegs = 8;     // x0-x7 and v0-v7 (NGRN, NSRN < 8)
constexpr std::uint32_t kMaxHfaMembers = 4;
constexpr std::uint32_t kMaxRegComposite = 16;  // B.4: larger composites go by reference

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

// How a value travels, before registers are counted.
enum class Way : std::uint8_t {
  Integral,   // bool, integers up to 8 bytes, pointers: one general register (C.9)
  Int128,     // __int128: an even general register pair (C.10, C.11)
  Float,      // f16, f32, f64, f128 and short vectors (8, 16 bytes): one SIMD register (C.1)
  Hfa,        // homogeneous floating-point or short-vector aggregate: consecutive SIMD registers (C.2)
  Composite,  // other composites up to 16 bytes: consecutive general registers (C.12)
  Indirect,   // larger composites: a caller copy, its address as an integral argument (B.4)
  StackOnly,  // gcc: a floating-point vector that is no short vector (2 or 4 bytes) is neither
              // integral nor a SIMD candidate and goes on the stack, closing the x registers;
              // it is returned in x0
};

// The fundamental data type of a homogeneous aggregate (AAPCS64 5.9.5): a floating kind, or a
// short vector of 8 or 16 bytes, all of whose kinds count as one ("vector modes are opaque",
// gcc's aapcs_vfp_sub_candidate).
struct HfaBase {
  TypeKind kind = TypeKind::Void;
  std::uint32_t size = 0;
  friend bool operator==(const HfaBase&, const HfaBase&) = default;
};

// A homogeneous floating-point or short-vector aggregate's base type and member count
// (AAPCS64 5.9.5): every leaf of the same fundamental type, no other leaf, no padding. A
// complex type counts as two of its element. Unions count their widest member (gcc's
// reading); a bit-field is an integer leaf, except a zero-width one in a struct, which gcc 12
// ignores.
// Returns false when t is not one.
bool hfa_members(const Variant& v, const Type* t, HfaBase& base, std::uint32_t& count) {
  auto leaf = [&](HfaBase b, std::uint32_t n) {
    if (base.kind != TypeKind::Void && !(base == b)) return false;
    base = b;
    count = n;
    return true;
  };
  switch (t->kind()) {
    case TypeKind::F16:
    case TypeKind::F32:
    case TypeKind::F64:
    case TypeKind::F128:
      return leaf({t->kind(), static_cast<std::uint32_t>(t->size())}, 1);
    case TypeKind::Complex:
      return leaf({t->element()->kind(), static_cast<std::uint32_t>(t->element()->size())}, 2);
    case TypeKind::Vector:
      if (t->size() != 8 && t->size() != 16) return false;
      return leaf({TypeKind::Vector, static_cast<std::uint32_t>(t->size())}, 1);
    case TypeKind::Array: {
      std::uint32_t n = 0;
      if (!hfa_members(v, t->element(), base, n)) return false;
      count = n * static_cast<std::uint32_t>(t->count());
      break;
    }
    case TypeKind::Struct:
    case TypeKind::Union: {
      std::uint32_t total = 0;
      for (const Field& f : t->fields()) {
        if (f.is_bit_field()) {
          // gcc's aapcs_vfp_sub_candidate skips a struct's zero-width bit-field; a union's
          // members it takes by type, an integer.
          if (f.bit_width == 0 && t->kind() == TypeKind::Struct && v.hfa_skips_zero_width_bit_fields) continue;
          return false;
        }
        std::uint32_t n = 0;
        if (!hfa_members(v, f.type, base, n)) return false;
        total = t->kind() == TypeKind::Struct ? total + n : (n > total ? n : total);
        if (total > kMaxHfaMembers) return false;
      }
      count = total;
      break;
    }
    default:
      return false;
  }
  // Padding anywhere (an aligned member, a tail) leaves bytes no member covers.
  return count <= kMaxHfaMembers && base.kind != TypeKind::Void && t->size() == count * base.size;
}

// gcc's aarch64_function_arg_alignment: a record's alignment is that of its most aligned
// member (a packed record's members are byte-aligned unless aligned(N) says otherwise), and
// at least that of every bit-field's declared type, packed or not (gcc 9.1 and later).
std::uint32_t field_alignment(const Type* record) {
  std::uint32_t a = 1;
  for (const Field& f : record->fields()) {
    std::uint32_t m = record->packed() && !f.is_bit_field() ? 1 : static_cast<std::uint32_t>(f.type->align());
    if (f.align > m) m = static_cast<std::uint32_t>(f.align);
    if (m > a) a = m;
  }
  return a;
}

// The "natural alignment" that rules C.10 and C.14 use. A vector's is its type's main
// variant's (gcc), whatever alignment a typedef gave it: its size, up to 16 on AArch64.
std::uint32_t natural_alignment(const Variant& v, const Type* t) {
  if (t->is_record() && v.composite_align_from_members) return field_alignment(t);
  if (t->is_vector()) return static_cast<std::uint32_t>(t->size() < 16 ? t->size() : 16);
  return static_cast<std::uint32_t>(t->align());
}

struct Shape {
  Way way;
  HfaBase hfa_base;
  std::uint32_t hfa_count = 0;
};

// Whether a value of type t holds a leaf of kind k anywhere (a complex type's element too).
// Like hfa_members, it visits an array's element once, so it makes at most t->node_count()
// visits.
bool contains(const Type* t, TypeKind k) {
  if (t->kind() == k) return true;
  if (t->kind() == TypeKind::Array || t->is_complex()) return contains(t->element(), k);
  for (const Field& f : t->fields())
    if (contains(f.type, k)) return true;
  return false;
}

Result<Shape> shape_of(const Variant& v, const Type* t, const std::string& what) {
  if (contains(t, TypeKind::F80))
    return Error(ErrorCode::Unsupported, what + ": the x87 80-bit long double does not exist on AArch64");
  if (!v.has_binary128 && contains(t, TypeKind::F128))
    return Error(ErrorCode::Unsupported, what + ": Apple arm64 has no binary128 type (its long double is double)");
  switch (t->kind()) {
    case TypeKind::F16:
    case TypeKind::F32:
    case TypeKind::F64:
    case TypeKind::F128:
      return Shape{Way::Float, {}, 0};
    case TypeKind::I128:
    case TypeKind::U128:
      return Shape{Way::Int128, {}, 0};
    case TypeKind::Vector:
      // Short vectors (5.4: 8 or 16 bytes) go in one SIMD register; larger ones by
      // reference, as composites of their size; integer vectors of 1 to 4 bytes have an
      // integer mode in gcc and travel as integers.
      if (t->size() == 8 || t->size() == 16) return Shape{Way::Float, {}, 0};
      if (t->size() > kMaxRegComposite) return Shape{Way::Indirect, {}, 0};
      if (!v.small_vectors)
        return Error(ErrorCode::Unsupported, what + ": clang for Apple passes a vector of fewer than 8 bytes by LLVM's "
                                                    "legalization of its type, which tramp does not model");
      return Shape{t->element()->is_float() ? Way::StackOnly : Way::Integral, {}, 0};
    case TypeKind::Complex:
    case TypeKind::Struct:
    case TypeKind::Union: {
      Shape s{Way::Composite, {}, 0};
      if (hfa_members(v, t, s.hfa_base, s.hfa_count)) s.way = Way::Hfa;
      else if (t->size() > kMaxRegComposite) s.way = Way::Indirect;
      return s;
    }
    default:
      return Shape{Way::Integral, {}, 0};
  }
}

// Pieces that move bytes [0, size) of a value to memory at `at`: natural 8/4/2/1-byte
// chunks, so an emitter only ever moves whole machine words.
void push_memory_pieces(Pieces& out, std::uint32_t size, std::uint32_t at) {
  std::uint32_t off = 0;
  while (off < size) {
    const std::uint32_t chunk = natural_chunk(size - off);
    out.push_back({off, chunk, Ext::None, Loc::stack(at + off)});
    off += chunk;
  }
}

// A composite in general registers from `first`: whole doublewords, the last one partial.
void push_gpr_pieces(Pieces& out, std::uint32_t size, std::uint8_t first) {
  for (std::uint32_t off = 0; off < size; off += 8)
    out.push_back({off, size - off < 8 ? size - off : 8, Ext::None,
                   Loc::gpr(static_cast<std::uint8_t>(first + off / 8))});
}

// Register allocation state, rule A: NGRN, NSRN, NSAA (bytes above sp at the call).
struct Counters {
  std::uint8_t ngrn = 0;
  std::uint8_t nsrn = 0;
  std::uint32_t nsaa = 0;
};

class Classifier {
 public:
  Classifier(const Variant& v, const Signature& sig) : v_(v), sig_(sig) {}

  Result<CallPlan> run() {
    plan_.abi = v_.abi;
    plan_.arch = Arch::A64;
    plan_.stack_align = 16;
    plan_.callee_saved_gprs = a64::kCalleeSavedGprs;
    plan_.callee_saved_vecs = a64::kCalleeSavedVecs;
    plan_.args.reserve(sig_.arg_count());  // one allocation, not one per doubling
    if (auto ok = classify_return(); !ok) return ok.error();
    std::uint32_t copies = 0;
    for (std::size_t i = 0; i < sig_.arg_count(); ++i) {
      const Type* t = sig_.args()[i];
      const bool variadic = sig_.is_variadic_arg(i);
      if (variadic)
        if (auto ok = check_variadic_type(i, t); !ok) return ok.error();
      Result<Shape> shape = shape_of(v_, t, describe_arg(i, t));
      if (!shape) return shape.error();
      ArgPlan arg;
      arg.size = static_cast<std::uint32_t>(t->size());
      arg.align = static_cast<std::uint32_t>(t->align());
      arg.kind = PassKind::Direct;
      if (shape.value().way == Way::Indirect) {
        // B.4: "the argument is copied to memory allocated by the caller and the argument is
        // replaced by a pointer to the copy".
        arg.kind = PassKind::Indirect;
        arg.copy_size = arg.size;
        arg.copy_align = arg.align > 8 ? arg.align : 8;
        if (const std::uint64_t end = std::uint64_t{copies} + arg.copy_align + arg.size; end > kMaxArgumentArea)
          return argument_area_error(end);
        arg.copy_offset = align_up(copies, arg.copy_align);
        copies = arg.copy_offset + arg.copy_size;
        if (arg.copy_align > plan_.stack_align) plan_.stack_align = arg.copy_align;
        place_integral(arg, 8, 8, Ext::None, variadic);
      } else {
        place(arg, t, shape.value(), variadic);
      }
      if (c_.nsaa > kMaxArgumentArea) return argument_area_error(c_.nsaa);
      plan_.args.push_back(std::move(arg));
    }
    plan_.stack_size = align_up(c_.nsaa, 16);
    plan_.copy_area_size = align_up(copies, 16);
    return plan_;
  }

 private:
  Ext extension(const Type* t) const { return v_.extend_small_ints ? small_int_extension(t) : Ext::None; }

  // NSAA for a stack argument of natural alignment `align` (C.4, C.14: at least 8, at most
  // 16, gcc's aarch64_function_arg_boundary). Apple packs non-variadic arguments at their
  // own alignment.
  std::uint32_t stack_slot(std::uint32_t align, bool packed) {
    std::uint32_t a = align > 16 ? 16 : align;
    if (!packed && a < 8) a = 8;
    c_.nsaa = align_up(c_.nsaa, a);
    return c_.nsaa;
  }

  // Puts `size` bytes on the stack: 8-byte slots (C.16, C.17), or exactly `size` bytes when
  // the variant packs stack arguments.
  void to_stack(ArgPlan& arg, std::uint32_t size, std::uint32_t align, bool packed) {
    const std::uint32_t at = stack_slot(align, packed);
    push_memory_pieces(arg.pieces, size, at);
    c_.nsaa = at + (packed ? size : align_up(size, 8));
  }

  // C.9 (and C.13, C.16, C.17 when the registers are used up).
  void place_integral(ArgPlan& arg, std::uint32_t size, std::uint32_t align, Ext ext, bool variadic) {
    const bool on_stack = variadic && v_.variadic_on_stack;
    if (!on_stack && c_.ngrn < kArgRegs) {
      arg.pieces.push_back({0, size, ext, Loc::gpr(c_.ngrn++)});
      return;
    }
    if (!on_stack) c_.ngrn = kArgRegs;
    to_stack(arg, size, align, v_.packed_stack && !variadic);
  }

  void place(ArgPlan& arg, const Type* t, const Shape& s, bool variadic) {
    const bool on_stack = variadic && v_.variadic_on_stack;
    const bool packed = v_.packed_stack && !variadic;
    const std::uint32_t align = natural_alignment(v_, t);
    switch (s.way) {
      case Way::Integral:
        place_integral(arg, arg.size, align, extension(t), variadic);
        return;
      case Way::Float:
        // C.1, then C.4-C.6 (a float takes an 8-byte slot on Linux, C.5).
        if (!on_stack && c_.nsrn < kArgRegs) {
          arg.pieces.push_back({0, arg.size, Ext::None, Loc::vec(c_.nsrn++)});
          return;
        }
        if (!on_stack) c_.nsrn = kArgRegs;
        to_stack(arg, arg.size, align, packed);
        return;
      case Way::Hfa: {
        const std::uint32_t member = s.hfa_base.size;
        if (!on_stack && c_.nsrn + s.hfa_count <= kArgRegs) {  // C.2
          for (std::uint32_t k = 0; k < s.hfa_count; ++k)
            arg.pieces.push_back({k * member, member, Ext::None, Loc::vec(c_.nsrn++)});
          return;
        }
        if (!on_stack) c_.nsrn = kArgRegs;  // C.3
        // C.4: NSAA rounded to max(8, natural alignment). clang for Apple lays the members
        // out as an array of the base type, aligned as the base type.
        to_stack(arg, arg.size, packed ? member : align, packed);
        return;
      }
      case Way::Int128:
      case Way::Composite: {
        const std::uint32_t dwords = (arg.size + 7) / 8;
        if (!on_stack) {
          if (v_.even_register_pairs && dwords == 2 && align == 16 && c_.ngrn % 2) ++c_.ngrn;
          if (c_.ngrn + dwords <= kArgRegs) {  // C.11, C.12
            push_gpr_pieces(arg.pieces, arg.size, c_.ngrn);
            c_.ngrn = static_cast<std::uint8_t>(c_.ngrn + dwords);
            return;
          }
          c_.ngrn = kArgRegs;  // C.13
        }
        // C.14, C.15: composites keep whole doublewords on the stack in every variant (clang
        // passes an Apple composite as an array of i64); an __int128 is 16 bytes anyway.
        to_stack(arg, arg.size, align, false);
        return;
      }
      case Way::StackOnly:
        // Not an integral argument (C.9 takes no floating type), no SIMD candidate either:
        // gcc gives it the next stack slot and, as for a composite that does not fit (C.13),
        // sets NGRN to 8, so later integers go to the stack too; NSRN stays.
        c_.ngrn = kArgRegs;
        to_stack(arg, arg.size, align, packed);
        return;
      case Way::Indirect:
        return;  // handled by the caller of place()
    }
  }

  // AAPCS64 6.9: a result is returned where it would be passed as the first argument, or
  // through a buffer whose address the caller passes in x8.
  Result<bool> classify_return() {
    const Type* t = sig_.ret();
    RetPlan& r = plan_.ret;
    r.size = static_cast<std::uint32_t>(t->size());
    r.align = static_cast<std::uint32_t>(t->align());
    if (t->is_void()) {
      r.kind = RetKind::Void;
      return true;
    }
    Result<Shape> shape = shape_of(v_, t, "return value (" + t->str() + ")");
    if (!shape) return shape.error();
    r.kind = RetKind::Direct;
    switch (shape.value().way) {
      case Way::Integral:
      case Way::StackOnly:  // gcc returns such a vector as the composite of its size: x0
        r.pieces.push_back({0, r.size, extension(t), Loc::gpr(0)});
        break;
      case Way::Float:
        r.pieces.push_back({0, r.size, Ext::None, Loc::vec(0)});
        break;
      case Way::Hfa: {
        const std::uint32_t member = shape.value().hfa_base.size;
        for (std::uint32_t k = 0; k < shape.value().hfa_count; ++k)
          r.pieces.push_back({k * member, member, Ext::None, Loc::vec(static_cast<std::uint8_t>(k))});
        break;
      }
      case Way::Int128:
      case Way::Composite:
        push_gpr_pieces(r.pieces, r.size, 0);
        break;
      case Way::Indirect:
        // The callee need not hand x8 back (x8 is not preserved, 6.9).
        r.kind = RetKind::Sret;
        r.sret_loc = Loc::gpr(a64::kIndirectResult);
        break;
    }
    return true;
  }

  const Variant& v_;
  const Signature& sig_;
  CallPlan plan_;
  Counters c_;
};

}  // namespace

Result<CallPlan> classify_aapcs64(const Signature& sig) { return Classifier(kAapcs64, sig).run(); }

Result<CallPlan> classify_apple_arm64(const Signature& sig) { return Classifier(kApple, sig).run(); }

}  // namespace tramp::abi
