// System V AMD64 psABI, section 3.2.3 "Parameter Passing".
//
// Worked examples (C declaration -> plan):
//   double hypot(double, double)          arg 0 xmm0, arg 1 xmm1, ret xmm0
//   struct { float a, b; double c; } s    eightbyte 0 = SSE (both floats), 1 = SSE: xmm0, xmm1
//   struct { char c; double d; } s        eightbyte 0 = INTEGER, 1 = SSE: rdi, xmm0
//   union { float f; int i; } u           SSE merged with INTEGER is INTEGER: rdi
//   struct { long double x; } s           X87, X87UP: passed in memory, returned in st0
//   struct { long a, b, c; } f(void)      MEMORY: caller's buffer address in rdi, echoed in rax
//   int printf(const char*, ...)          al = number of vector registers the call used
//   double _Complex f(float _Complex)     one SSE eightbyte in xmm0; returned in xmm0, xmm1
//   long double _Complex f(void)          COMPLEX_X87: real part in st0, imaginary in st1
//   __m256 f(__m256)                      SSE, SSEUP x3: ymm0 both ways (needs AVX)
//   struct { int a : 3; float f; } s      bit-fields are INTEGER in their eightbyte: rdi
#include <array>
#include <string>

#include "abi/call_plan.hpp"

namespace tramp::abi {
namespace {

enum Cls : std::uint8_t { NoClass, Integer, Sse, SseUp, X87, X87Up, ComplexX87, Memory, kClsCount };

// psABI 3.2.3, merging of eightbyte classes, rules 4(a)-(f); row = one class, column = other.
constexpr Cls N = NoClass, I = Integer, S = Sse, U = SseUp, X = X87, XU = X87Up,
              CX = ComplexX87, M = Memory;
constexpr Cls kMerge[kClsCount][kClsCount] = {
    //         N   I   S   U   X   XU  CX  M
    /* N  */ {N,  I,  S,  U,  X,  XU, CX, M},
    /* I  */ {I,  I,  I,  I,  I,  I,  I,  M},
    /* S  */ {S,  I,  S,  S,  M,  M,  M,  M},
    /* U  */ {U,  I,  S,  U,  M,  M,  M,  M},
    /* X  */ {X,  I,  M,  M,  X,  M,  M,  M},
    /* XU */ {XU, I,  M,  M,  M,  XU, M,  M},
    /* CX */ {CX, I,  M,  M,  M,  M,  CX, M},
    /* M  */ {M,  M,  M,  M,  M,  M,  M,  M},
};

// Integer and vector argument registers in allocation order (psABI figure 3.4).
constexpr std::array<std::uint8_t, 6> kArgGprs = {x64::rdi, x64::rsi, x64::rdx,
                                                  x64::rcx, x64::r8,  x64::r9};
constexpr std::size_t kArgVecs = 8;  // xmm0-xmm7
constexpr std::array<std::uint8_t, 2> kRetGprs = {x64::rax, x64::rdx};
constexpr std::size_t kRetVecs = 2;  // xmm0, xmm1

// psABI 3.2.3 rule 1: an object larger than eight eightbytes is MEMORY; one larger than two
// travels in registers only as one SSE eightbyte and SSEUPs (rule 5(c)): a __m256 or
// __m512, alone or wrapped in records.
constexpr std::size_t kMaxEightbytes = 8;
constexpr std::size_t kMaxSmallAggregate = 16;

// The outermost aggregate's eightbytes.
struct Eightbytes {
  std::array<Cls, kMaxEightbytes> cls{};  // NO_CLASS
  std::size_t count = 0;
  bool memory = false;
};

// What a run of leaves does to one eightbyte: the class it leaves for each class the
// eightbyte held before. Merging (rule 4) is not associative (X87, SSE, INTEGER merged in
// that order is MEMORY; X87 with the merger of SSE and INTEGER is INTEGER), so a subtree's
// leaves are composed in order as functions rather than merged into one class. Composing
// once per node keeps classification linear in the size of the type.
static_assert(kClsCount == 8, "Effect's identity lists every class");
struct Effect {
  std::array<Cls, kClsCount> after{NoClass, Integer, Sse, SseUp, X87, X87Up, ComplexX87, Memory};

  void then_merge(Cls c) {
    for (Cls& a : after) a = kMerge[a][c];
  }
  void then(const Effect& next) {
    for (Cls& a : after) a = next.after[a];
  }
};

// The effect of one subtree on each eightbyte of the outermost aggregate.
struct Leaves {
  std::array<Effect, kMaxEightbytes> eightbyte;
  bool memory = false;

  void merge(std::size_t offset, Cls c) { eightbyte[offset / 8].then_merge(c); }
  void then(const Leaves& next) {
    for (std::size_t i = 0; i < eightbyte.size(); ++i) eightbyte[i].then(next.eightbyte[i]);
    memory = memory || next.memory;
  }
  // The class eightbyte i has from this subtree alone.
  Cls alone(std::size_t i) const { return eightbyte[i].after[NoClass]; }
};

// A vector's classes as gcc gives them through its machine mode (gcc's classify_argument):
// 8 bytes and 16-, 32- and 64-byte vectors are SSE (then SSEUP) like __m64, __m128, __m256
// and __m512; integer vectors of 1 to 4 bytes have an integer mode, INTEGER; a vector of one
// floating element (and so no vector mode: BLKmode) is MEMORY, as is anything over 64 bytes.
// Returns false for MEMORY.
bool vector_classes(const Type* t, std::size_t offset, Leaves& leaves) {
  const std::size_t size = t->size();
  if (size > kMaxEightbytes * 8 || (t->element()->is_float() && t->count() == 1)) return false;
  if (size <= 4 && !t->element()->is_float()) {
    leaves.merge(offset, Integer);
    return true;
  }
  leaves.merge(offset, Sse);
  for (std::size_t at = 8; at < size; at += 8) leaves.merge(offset + at, SseUp);
  return true;
}

// The unsigned integer of the smallest machine mode that holds `bits`.
const Type* integer_of_width(std::uint32_t bits) {
  return bits <= 8 ? Type::u8() : bits <= 16 ? Type::u16() : bits <= 32 ? Type::u32() : bits <= 64 ? Type::u64() : Type::u128();
}

// The alignment gcc checks a leaf against (rule 1(b), "unaligned fields"): its machine mode's,
// which for a vector is its whole size whatever the type's own alignment says.
std::size_t mode_alignment(const Type* t) { return t->is_vector() ? t->size() : t->align(); }

// Whether t holds a vector of more than 16 bytes, the only way to more than two eightbytes
// in registers. Visits an array's element once: at most t->node_count() visits.
bool has_wide_vector(const Type* t) {
  if (t->is_vector()) return t->size() > kMaxSmallAggregate;
  if (t->kind() == TypeKind::Array) return has_wide_vector(t->element());
  for (const Field& f : t->fields())
    if (has_wide_vector(f.type)) return true;
  return false;
}

// Rule 5(c) for an aggregate of more than two eightbytes starting at eightbyte `first`: one
// SSE, then only SSEUP. gcc applies it at every nesting level.
bool sse_then_sseup(const Leaves& leaves, std::size_t first, std::size_t words) {
  if (leaves.alone(first) != Sse) return false;
  for (std::size_t i = first + 1; i < first + words; ++i)
    if (leaves.alone(i) != SseUp) return false;
  return true;
}

// The classes of the scalar leaves of `t` placed at byte `offset` of the outermost aggregate,
// in declaration order. `check_align` is false inside array elements after the first: gcc
// (and clang, which follows it for compatibility) classifies an array by its first element
// and repeats that element's classes, so a packed element whose later copies land misaligned
// does not make it MEMORY. `nested` is false only for the outermost aggregate.
Leaves classify_leaves(const Type* t, std::size_t offset, bool check_align, bool nested) {
  Leaves leaves;
  switch (t->kind()) {
    case TypeKind::Struct:
    case TypeKind::Union: {
      // The eightbytes this record covers: a union's bit-field member is classified as a
      // whole member of its declared type, which may reach past them.
      const std::size_t first_eb = offset / 8, words = (t->size() + offset % 8 + 7) / 8;
      for (const Field& f : t->fields()) {
        if (!f.is_bit_field() || t->kind() == TypeKind::Union) {
          // gcc classifies a union's members by their types alone (its bit-field rules are
          // for structs), and the C front end gives a bit-field the type of its width: the
          // integer mode that holds it (a byte for a zero-width one).
          const Type* type = f.is_bit_field() ? integer_of_width(f.bit_width) : f.type;
          Leaves member = classify_leaves(type, offset + f.offset, check_align, true);
          for (std::size_t i = first_eb + words; i < kMaxEightbytes; ++i) member.eightbyte[i] = Effect{};
          leaves.then(member);
          continue;
        }
        // Bit-fields are INTEGER in every eightbyte their bits touch; a zero-width one is
        // ignored (gcc 12 for C: "the ABI of passing C structures with zero-width
        // bit-fields has changed in GCC 12.1").
        if (f.bit_width == 0) continue;
        // But gcc's layout_decl makes a bit-field as wide as an integer mode, at a multiple of
        // that width in its record (and, in a packed one, a byte), an ordinary member of that
        // mode: classified as one, so MEMORY where the record itself sits misaligned.
        const std::uint32_t bit = static_cast<std::uint32_t>(8 * f.offset) + f.bit_offset;
        const std::uint32_t w = f.bit_width;
        if ((w == 8 || w == 16 || w == 32 || w == 64 || w == 128) && bit % w == 0 && !(t->packed() && w > 8)) {
          leaves.then(classify_leaves(integer_of_width(w), offset + f.offset, check_align, true));
          continue;
        }
        Leaves bits;
        const std::size_t first = 8 * (offset + f.offset) + f.bit_offset;
        for (std::size_t i = first / 64; i <= (first + f.bit_width - 1) / 64; ++i) bits.merge(i * 8, Integer);
        leaves.then(bits);
      }
      // gcc runs the post-merger cleanup on every nested aggregate too, over the eightbytes
      // of the outermost one that it covers. Of rule 5 only 5(b) can change the outcome
      // there: an X87UP that a member union leaves without its X87 sends the whole argument
      // to memory, even when a sibling member would have merged that eightbyte into INTEGER.
      if (nested && !leaves.memory) {
        const std::size_t first = offset / 8, last = (offset + t->size() - 1) / 8;
        for (std::size_t i = first; i <= last; ++i) {
          const Cls c = leaves.alone(i);
          if (c == X87Up && (i == first || leaves.alone(i - 1) != X87)) leaves.memory = true;
        }
      }
      break;
    }
    case TypeKind::Array:
      // The one walk that repeats an array's element, so Type::node_count() alone does not
      // bound it: classify_type gets here only for types of at most 64 bytes, and as an
      // array's count times its element's size is its size, a type of S bytes makes at most
      // S x node_count() visits.
      for (std::size_t i = 0; i < t->count(); ++i)
        leaves.then(classify_leaves(t->element(), offset + i * t->element()->size(), check_align && i == 0, true));
      break;
    default:
      // Rule 1(b): an aggregate with unaligned fields is MEMORY.
      if (check_align && offset % mode_alignment(t) != 0) {
        leaves.memory = true;
        return leaves;
      }
      switch (t->kind()) {
        case TypeKind::F16:
        case TypeKind::F32:
        case TypeKind::F64:
          leaves.merge(offset, Sse);
          break;
        case TypeKind::F80:  // long double: X87 for the significand, X87UP for the exponent word
          leaves.merge(offset, X87);
          leaves.merge(offset + 8, X87Up);
          break;
        case TypeKind::F128:  // __float128: one vector register, SSE then SSEUP
          leaves.merge(offset, Sse);
          leaves.merge(offset + 8, SseUp);
          break;
        case TypeKind::I128:
        case TypeKind::U128:  // __int128: two INTEGER eightbytes
          leaves.merge(offset, Integer);
          leaves.merge(offset + 8, Integer);
          break;
        case TypeKind::Complex:
          // "complex T ... as if implemented as struct { T real; T imag; }" for float and
          // double (_Float16 alike); complex long double is COMPLEX_X87; a complex __float128
          // (32 bytes) is MEMORY.
          if (t->element()->kind() == TypeKind::F80) {
            leaves.merge(offset, ComplexX87);
          } else if (t->element()->kind() == TypeKind::F128) {
            leaves.memory = true;
          } else {
            leaves.merge(offset, Sse);
            leaves.merge(offset + t->element()->size(), Sse);
          }
          break;
        case TypeKind::Vector:
          if (!vector_classes(t, offset, leaves)) leaves.memory = true;
          break;
        default:  // bool, integers, pointers
          leaves.merge(offset, Integer);
          break;
      }
      return leaves;
  }
  // gcc's classify_argument applies rule 5(c) to every aggregate, nested ones included.
  const std::size_t words = (t->size() + offset % 8 + 7) / 8;
  if (nested && !leaves.memory && words > 2 && !sse_then_sseup(leaves, offset / 8, words)) leaves.memory = true;
  return leaves;
}

Eightbytes classify_type(const Type* t) {
  Eightbytes eb;
  // A complex long double is the one value of class COMPLEX_X87 (psABI figure 3.1 note).
  if (t->is_complex() && t->element()->kind() == TypeKind::F80) {
    eb.count = 1;
    eb.cls[0] = ComplexX87;
    return eb;
  }
  // A scalar of one eightbyte needs no walk (psABI 3.2.3, "Classification": bool, the
  // integer types, long long and pointers are INTEGER; _Float16, float and double are SSE).
  if (t->is_scalar() && t->size() <= 8) {
    eb.count = 1;
    eb.cls[0] = t->is_float() ? Sse : Integer;
    return eb;
  }
  // Checked before any walk: it is also what bounds classify_leaves' repeated array elements.
  if (t->size() > kMaxSmallAggregate && (t->size() > kMaxEightbytes * 8 || !has_wide_vector(t))) {
    eb.memory = true;
    return eb;
  }
  eb.count = (t->size() + 7) / 8;
  const Leaves leaves = classify_leaves(t, 0, true, false);
  if (leaves.memory) {
    eb.memory = true;
    return eb;
  }
  for (std::size_t i = 0; i < eb.count; ++i) eb.cls[i] = leaves.alone(i);
  // Post-merger cleanup, psABI 3.2.3 rule 5.
  if (eb.count > 2 && !sse_then_sseup(leaves, 0, eb.count)) eb.memory = true;     // 5(c)
  for (std::size_t i = 0; i < eb.count; ++i) {
    if (eb.cls[i] == Memory) eb.memory = true;                                    // 5(a)
    if (eb.cls[i] == X87Up && (i == 0 || eb.cls[i - 1] != X87)) eb.memory = true;  // 5(b)
    if (eb.cls[i] == SseUp && (i == 0 || (eb.cls[i - 1] != Sse && eb.cls[i - 1] != SseUp)))
      eb.cls[i] = Sse;  // 5(d)
  }
  return eb;
}

std::uint32_t piece_size(const Type* t, std::size_t offset, std::size_t span) {
  std::size_t left = t->size() - offset;
  return static_cast<std::uint32_t>(left < span ? left : span);
}

// The bytes an SSE eightbyte at `k` carries in its register: itself and the SSEUPs after it
// (a __m128 is 16 bytes in one xmm, a __m256 32 in one ymm), up to the end of the value.
std::uint32_t sse_piece_size(const Type* t, const Eightbytes& eb, std::size_t k) {
  std::size_t n = 1;
  while (k + n < eb.count && eb.cls[k + n] == SseUp) ++n;
  return piece_size(t, k * 8, n * 8);
}

bool is_x87_class(const Eightbytes& eb) {
  for (std::size_t i = 0; i < eb.count; ++i)
    if (eb.cls[i] == X87 || eb.cls[i] == X87Up || eb.cls[i] == ComplexX87) return true;
  return false;
}

}  // namespace

Result<CallPlan> classify_sysv_x64(const Signature& sig) {
  CallPlan plan;
  plan.abi = Abi::SysV_X64;
  plan.arch = Arch::X64;
  plan.stack_align = 16;
  plan.callee_saved_gprs = x64::kSysVCalleeSavedGprs;
  plan.callee_saved_vecs = x64::kSysVCalleeSavedVecs;
  plan.args.reserve(sig.arg_count());  // one allocation, not one per doubling

  std::size_t next_gpr = 0, next_vec = 0;
  std::uint32_t stack = 0;

  // Return value: rule 2 of "Returning of Values".
  const Type* rt = sig.ret();
  plan.ret.size = static_cast<std::uint32_t>(rt->size());
  plan.ret.align = static_cast<std::uint32_t>(rt->align());
  if (rt->is_void()) {
    plan.ret.kind = RetKind::Void;
  } else if (is_empty_record(rt)) {
    plan.ret.kind = RetKind::Direct;  // all padding: nothing comes back
  } else {
    Eightbytes eb = classify_type(rt);
    if (eb.memory) {
      // The caller provides the buffer; its address is a hidden first argument in rdi and
      // comes back in rax.
      plan.ret.kind = RetKind::Sret;
      plan.ret.sret_loc = Loc::gpr(kArgGprs[next_gpr++]);
      plan.ret.sret_returned = true;
      plan.ret.sret_result = Loc::gpr(x64::rax);
    } else {
      plan.ret.kind = RetKind::Direct;
      std::size_t ret_gpr = 0, ret_vec = 0;
      Ext ext = small_int_extension(rt);
      for (std::size_t i = 0; i < eb.count; ++i) {
        std::uint32_t off = static_cast<std::uint32_t>(i * 8);
        switch (eb.cls[i]) {
          case Integer:
            plan.ret.pieces.push_back({off, piece_size(rt, off, 8), ext, Loc::gpr(kRetGprs[ret_gpr++])});
            break;
          case Sse:
            plan.ret.pieces.push_back(
                {off, sse_piece_size(rt, eb, i), Ext::None, Loc::vec(static_cast<std::uint8_t>(ret_vec++))});
            break;
          case X87:  // st0 holds the 80-bit value; X87UP is its upper part
            plan.ret.pieces.push_back({off, 10, Ext::None, Loc::x87()});
            break;
          case ComplexX87:  // "the real part ... in %st0 and the imaginary part in %st1"
            plan.ret.pieces.push_back({0, 10, Ext::None, Loc::x87(0)});
            plan.ret.pieces.push_back({static_cast<std::uint32_t>(rt->element()->size()), 10, Ext::None, Loc::x87(1)});
            break;
          default:  // SSEUP, X87UP (consumed above) and NO_CLASS (padding only)
            break;
        }
      }
      if (ret_vec > kRetVecs)
        return Error(ErrorCode::Unsupported, "return value: needs more than two vector registers");
    }
  }

  for (std::size_t i = 0; i < sig.arg_count(); ++i) {
    const Type* t = sig.args()[i];
    if (sig.is_variadic_arg(i))
      if (auto ok = check_variadic_type(i, t); !ok) return ok.error();

    ArgPlan arg;
    arg.kind = PassKind::Direct;
    arg.size = static_cast<std::uint32_t>(t->size());
    arg.align = static_cast<std::uint32_t>(t->align());
    Eightbytes eb = classify_type(t);
    // The register save area a variadic callee spills holds xmm registers only, so gcc
    // passes an unnamed __m256 or __m512 (three or more eightbytes) in memory.
    bool in_memory = eb.memory || is_x87_class(eb) || (sig.is_variadic_arg(i) && eb.count > 2);
    if (!in_memory) {
      std::size_t need_gpr = 0, need_vec = 0;
      for (std::size_t k = 0; k < eb.count; ++k) {
        if (eb.cls[k] == Integer) ++need_gpr;
        if (eb.cls[k] == Sse) ++need_vec;
      }
      // "If there are no registers available for any eightbyte of an argument, the whole
      // argument is passed on the stack"; the registers stay free for later arguments.
      if (next_gpr + need_gpr > kArgGprs.size() || next_vec + need_vec > kArgVecs) {
        in_memory = true;
      } else {
        Ext ext = small_int_extension(t);
        for (std::size_t k = 0; k < eb.count; ++k) {
          std::uint32_t off = static_cast<std::uint32_t>(k * 8);
          if (eb.cls[k] == Integer) {
            arg.pieces.push_back({off, piece_size(t, off, 8), ext, Loc::gpr(kArgGprs[next_gpr++])});
          } else if (eb.cls[k] == Sse) {
            arg.pieces.push_back(
                {off, sse_piece_size(t, eb, k), Ext::None, Loc::vec(static_cast<std::uint8_t>(next_vec++))});
          }
        }
      }
    }
    if (in_memory && is_empty_record(t)) {
      arg.kind = PassKind::Ignore;  // gcc gives an empty record no stack space
    } else if (in_memory) {
      // Stack arguments occupy whole eightbytes and start at their own alignment: 16 for
      // long double and __int128, more for over-aligned records (gcc since 4.6), which then
      // also raise the alignment of the whole argument area.
      // A vector by itself is aligned as its type's main variant (gcc's function_arg_boundary):
      // its size, whatever alignment a typedef gave it.
      const std::size_t natural = t->is_vector() ? t->size() : t->align();
      std::uint32_t align = natural > 8 ? static_cast<std::uint32_t>(natural) : 8;
      if (align > plan.stack_align) plan.stack_align = align;
      const std::uint64_t end = std::uint64_t{stack} + align + t->size();
      if (end > kMaxArgumentArea) return argument_area_error(end);
      stack = (stack + align - 1) / align * align;
      Ext ext = small_int_extension(t);
      for (std::uint32_t off = 0; off < t->size(); off += 8)
        arg.pieces.push_back({off, piece_size(t, off, 8), ext, Loc::stack(stack + off)});
      stack += static_cast<std::uint32_t>((t->size() + 7) / 8 * 8);
    }
    plan.args.push_back(std::move(arg));
  }

  plan.stack_size = (stack + plan.stack_align - 1) / plan.stack_align * plan.stack_align;
  if (sig.variadic()) {
    plan.vector_count = static_cast<std::int32_t>(next_vec);
    plan.vector_count_reg = x64::rax;  // %al
  }
  return plan;
}

}  // namespace tramp::abi
