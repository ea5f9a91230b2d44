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

// The classes of the eightbytes that start at byte `base` of the outermost aggregate. The
// outermost one has two at most; a nested aggregate (classified again on its own, see below)
// may straddle three.
struct Eightbytes {
  std::array<Cls, 3> cls{NoClass, NoClass, NoClass};
  std::size_t count = 0;
  std::size_t base = 0;
  bool memory = false;
};

void merge_into(Eightbytes& eb, std::size_t offset, Cls c) {
  Cls& slot = eb.cls[(offset - eb.base) / 8];
  slot = kMerge[slot][c];
}

void classify_leaves(const Type* t, std::size_t offset, Eightbytes& eb, bool check_align,
                     bool nested);

// gcc runs the post-merger cleanup on every nested aggregate too, over the eightbytes of the
// outermost one that it covers. Of rule 5 only 5(b) can change the outcome there: an X87UP
// that a member union leaves without its X87 sends the whole argument to memory, even when a
// sibling member would have merged that eightbyte into INTEGER.
bool nested_x87up_orphaned(const Type* t, std::size_t offset, bool check_align) {
  Eightbytes local;
  local.base = offset - offset % 8;
  local.count = (offset % 8 + t->size() + 7) / 8;
  for (const Field& f : t->fields())
    classify_leaves(f.type, offset + f.offset, local, check_align, true);
  if (local.memory) return false;  // the outer classification finds the same reason
  for (std::size_t i = 0; i < local.count; ++i)
    if (local.cls[i] == X87Up && (i == 0 || local.cls[i - 1] != X87)) return true;
  return false;
}

// Classifies the scalar leaves of `t` placed at byte `offset` of the outermost aggregate.
// `check_align` is false inside array elements after the first: gcc (and clang, which follows
// it for compatibility) classifies an array by its first element and repeats that element's
// classes, so a packed element whose later copies land misaligned does not make it MEMORY.
// `nested` is false only for the outermost aggregate.
void classify_leaves(const Type* t, std::size_t offset, Eightbytes& eb, bool check_align,
                     bool nested) {
  if (eb.memory) return;
  switch (t->kind()) {
    case TypeKind::Struct:
    case TypeKind::Union:
      if (nested && nested_x87up_orphaned(t, offset, check_align)) {
        eb.memory = true;
        return;
      }
      for (const Field& f : t->fields())
        classify_leaves(f.type, offset + f.offset, eb, check_align, true);
      return;
    case TypeKind::Array:
      for (std::size_t i = 0; i < t->count(); ++i)
        classify_leaves(t->element(), offset + i * t->element()->size(), eb, check_align && i == 0,
                        true);
      return;
    default:
      break;
  }
  // Rule 1(b): an aggregate with unaligned fields is MEMORY.
  if (check_align && offset % t->align() != 0) {
    eb.memory = true;
    return;
  }
  switch (t->kind()) {
    case TypeKind::F32:
    case TypeKind::F64:
      merge_into(eb, offset, Sse);
      return;
    case TypeKind::F80:  // long double: X87 for the significand, X87UP for the exponent word
      merge_into(eb, offset, X87);
      merge_into(eb, offset + 8, X87Up);
      return;
    case TypeKind::F128:  // __float128: one vector register, SSE then SSEUP
      merge_into(eb, offset, Sse);
      merge_into(eb, offset + 8, SseUp);
      return;
    case TypeKind::I128:
    case TypeKind::U128:  // __int128: two INTEGER eightbytes
      merge_into(eb, offset, Integer);
      merge_into(eb, offset + 8, Integer);
      return;
    default:  // bool, integers, pointers
      merge_into(eb, offset, Integer);
      return;
  }
}

Eightbytes classify_type(const Type* t) {
  Eightbytes eb;
  if (t->size() > kMaxRegAggregate) {
    eb.memory = true;
    return eb;
  }
  eb.count = (t->size() + 7) / 8;
  classify_leaves(t, 0, eb, true, false);
  if (eb.memory) return eb;
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
  if (sig.variadic()) plan.vector_count = static_cast<std::int32_t>(next_vec);
  return plan;
}

}  // namespace tramp::abi
