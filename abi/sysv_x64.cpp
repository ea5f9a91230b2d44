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

// Aggregates up to two eightbytes travel in registers; without __m256/__m512 types, anything
// larger is MEMORY (psABI 3.2.3, rule 1 and post-merger rule 5(c)).
constexpr std::size_t kMaxRegAggregate = 16;

// The outermost aggregate's eightbytes: at most two (rule 1: larger ones are MEMORY).
struct Eightbytes {
  std::array<Cls, 2> cls{NoClass, NoClass};
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
  std::array<Effect, 2> eightbyte;
  bool memory = false;

  void merge(std::size_t offset, Cls c) { eightbyte[offset / 8].then_merge(c); }
  void then(const Leaves& next) {
    for (std::size_t i = 0; i < eightbyte.size(); ++i) eightbyte[i].then(next.eightbyte[i]);
    memory = memory || next.memory;
  }
};

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
      for (const Field& f : t->fields()) leaves.then(classify_leaves(f.type, offset + f.offset, check_align, true));
      // gcc runs the post-merger cleanup on every nested aggregate too, over the eightbytes
      // of the outermost one that it covers. Of rule 5 only 5(b) can change the outcome
      // there: an X87UP that a member union leaves without its X87 sends the whole argument
      // to memory, even when a sibling member would have merged that eightbyte into INTEGER.
      if (nested && !leaves.memory) {
        const std::size_t first = offset / 8, last = (offset + t->size() - 1) / 8;
        for (std::size_t i = first; i <= last; ++i) {
          const Cls c = leaves.eightbyte[i].after[NoClass];
          if (c == X87Up && (i == first || leaves.eightbyte[i - 1].after[NoClass] != X87)) leaves.memory = true;
        }
      }
      return leaves;
    }
    case TypeKind::Array:
      // The one walk that repeats an array's element, so Type::node_count() alone does not
      // bound it: classify_type gets here only for types of at most 16 bytes, and as an
      // array's count times its element's size is its size, a type of S bytes makes at most
      // S x node_count() visits.
      for (std::size_t i = 0; i < t->count(); ++i)
        leaves.then(classify_leaves(t->element(), offset + i * t->element()->size(), check_align && i == 0, true));
      return leaves;
    default:
      break;
  }
  // Rule 1(b): an aggregate with unaligned fields is MEMORY.
  if (check_align && offset % t->align() != 0) {
    leaves.memory = true;
    return leaves;
  }
  switch (t->kind()) {
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
    default:  // bool, integers, pointers
      leaves.merge(offset, Integer);
      break;
  }
  return leaves;
}

Eightbytes classify_type(const Type* t) {
  Eightbytes eb;
  // Checked before any walk: it is also what bounds classify_leaves' repeated array elements.
  if (t->size() > kMaxRegAggregate) {
    eb.memory = true;
    return eb;
  }
  eb.count = (t->size() + 7) / 8;
  const Leaves leaves = classify_leaves(t, 0, true, false);
  if (leaves.memory) {
    eb.memory = true;
    return eb;
  }
  for (std::size_t i = 0; i < eb.count; ++i) eb.cls[i] = leaves.eightbyte[i].after[NoClass];
  // Post-merger cleanup, psABI 3.2.3 rule 5.
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
          case Sse: {
            bool up = i + 1 < eb.count && eb.cls[i + 1] == SseUp;
            plan.ret.pieces.push_back(
                {off, piece_size(rt, off, up ? 16 : 8), Ext::None, Loc::vec(static_cast<std::uint8_t>(ret_vec++))});
            break;
          }
          case X87:  // st0 holds the 80-bit value; X87UP is its upper part
            plan.ret.pieces.push_back({off, 10, Ext::None, Loc::x87()});
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
    bool in_memory = eb.memory || is_x87_class(eb);
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
            bool up = k + 1 < eb.count && eb.cls[k + 1] == SseUp;
            arg.pieces.push_back({off, piece_size(t, off, up ? 16 : 8), Ext::None,
                                  Loc::vec(static_cast<std::uint8_t>(next_vec++))});
          }
        }
      }
    }
    if (in_memory) {
      // Stack arguments occupy whole eightbytes and start at their own alignment: 16 for
      // long double and __int128, more for over-aligned records (gcc since 4.6), which then
      // also raise the alignment of the whole argument area.
      std::uint32_t align = t->align() > 8 ? static_cast<std::uint32_t>(t->align()) : 8;
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
