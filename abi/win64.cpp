// Microsoft x64 calling convention ("x64 calling convention", Microsoft Learn: "Parameter
// passing", "Return values", "Caller/callee saved registers", "Varargs"), as gcc implements
// it for __attribute__((ms_abi)) on x86-64 Linux; conformance is checked against that gcc.
//
// Worked examples (C declaration -> plan):
//   double f(int a, double b, long c, float d)   rcx, xmm1, r8, xmm3: one slot per argument
//   int f(long a, long b, long c, long d, int e) e at stack+32, above the 32-byte shadow space
//   struct {char c[3];} f(struct {long a, b;})   both by address: sret in rcx (echoed in rax),
//                                                the argument is a 16-aligned caller copy in rdx
//   struct {float x;} f(struct {float x;})       size 4: by value in ecx, returned in eax
//   int printf(const char*, ...) with a double   rcx, then the double in xmm1 and in rdx
//   float _Complex f(_Float16)                   the half in cx, the result in rax: integers here
//   __m128 f(__m128)                             the argument by reference, the result in xmm0
#include <array>
#include <string>

#include "abi/call_plan.hpp"

namespace tramp::abi {
namespace {

// Argument slot i goes to kSlotGprs[i] or xmm<i>; later slots to the stack.
constexpr std::array<std::uint8_t, 4> kSlotGprs = {x64::rcx, x64::rdx, x64::r8, x64::r9};
constexpr std::uint32_t kShadowSpace = 32;  // the callee's home area for the four slots
constexpr std::uint32_t kSlotSize = 8;
constexpr std::uint32_t kCopyAlign = 16;    // caller copies of by-reference aggregates

// Nonvolatile registers: rbx, rbp, rdi, rsi, rsp, r12-r15 and xmm6-xmm15.
constexpr std::uint32_t kCalleeSavedGprs =
    1u << x64::rbx | 1u << x64::rbp | 1u << x64::rdi | 1u << x64::rsi | 1u << x64::rsp |
    1u << x64::r12 | 1u << x64::r13 | 1u << x64::r14 | 1u << x64::r15;
constexpr std::uint32_t kCalleeSavedVecs = 0xFFC0;  // xmm6-xmm15

// How a value of type t is passed or returned.
enum class Way : std::uint8_t {
  Integer,  // in a GPR (integers, pointers, aggregates of 1, 2, 4 or 8 bytes)
  Float,    // in an XMM register (float, double)
  Vector,   // returned whole in xmm0 (gcc: __int128 returns)
  Memory,   // by reference: a caller copy (arguments) or a hidden buffer (returns)
};

// A vector of one floating element has no machine mode in gcc (BLKmode), and gcc's ms_abi
// sizes an argument by its mode: such a vector is passed by reference at 2, 4 or 8 bytes,
// though returned by its size in rax.
bool modeless_vector(const Type* t) { return t->is_vector() && t->count() == 1 && t->element()->is_float(); }

Way arg_way(const Type* t) {
  // Only float and double travel in XMM registers; _Float16 and complex float are integers
  // here (gcc: "only floating point modes are passed in anything but integer regs").
  if (t->kind() == TypeKind::F32 || t->kind() == TypeKind::F64) return Way::Float;
  const std::size_t size = t->size();
  // "Any argument that doesn't fit in 8 bytes, or isn't 1, 2, 4, or 8 bytes, must be passed
  // by reference": aggregates of other sizes, __int128, __float128, (gcc) long double, every
  // complex double, and __m128 ("__m128 types ... are never passed by immediate value").
  if ((size == 1 || size == 2 || size == 4 || size == 8) && !modeless_vector(t)) return Way::Integer;
  return Way::Memory;
}

Way return_way(const Type* t) {
  // "__m128 ... returned in XMM0"; gcc returns __int128 there too. __float128, long double
  // and complex double go through the hidden buffer like any other 16-byte value.
  if (t->kind() == TypeKind::I128 || t->kind() == TypeKind::U128 || (t->is_vector() && t->size() == 16))
    return Way::Vector;
  if (modeless_vector(t)) return Way::Integer;
  return arg_way(t);
}

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

}  // namespace

Result<CallPlan> classify_win64(const Signature& sig) {
  CallPlan plan;
  plan.abi = Abi::Win64;
  plan.arch = Arch::X64;
  plan.stack_align = 16;
  plan.shadow_space = kShadowSpace;
  plan.callee_saved_gprs = kCalleeSavedGprs;
  plan.callee_saved_vecs = kCalleeSavedVecs;
  plan.args.reserve(sig.arg_count());  // one allocation, not one per doubling

  std::size_t slot = 0;  // next argument slot; the hidden return pointer takes slot 0
  // Where slot s lives when it is past the four register slots.
  auto stack_of = [](std::size_t s) {
    return Loc::stack(kShadowSpace + static_cast<std::uint32_t>(s - kSlotGprs.size()) * kSlotSize);
  };

  const Type* rt = sig.ret();
  plan.ret.size = static_cast<std::uint32_t>(rt->size());
  plan.ret.align = static_cast<std::uint32_t>(rt->align());
  if (rt->is_void()) {
    plan.ret.kind = RetKind::Void;
  } else if (is_empty_record(rt)) {
    plan.ret.kind = RetKind::Direct;  // all padding: nothing comes back (gcc)
  } else {
    switch (return_way(rt)) {
      case Way::Integer:
        plan.ret.kind = RetKind::Direct;
        plan.ret.pieces.push_back({0, plan.ret.size, small_int_extension(rt), Loc::gpr(x64::rax)});
        break;
      case Way::Float:
        plan.ret.kind = RetKind::Direct;
        plan.ret.pieces.push_back({0, plan.ret.size, Ext::None, Loc::vec(0)});
        break;
      case Way::Vector:
        plan.ret.kind = RetKind::Direct;
        plan.ret.pieces.push_back({0, 16, Ext::None, Loc::vec(0)});
        break;
      case Way::Memory:
        // "The caller must allocate memory for the return value and pass a pointer to it as
        // the first argument. The remaining arguments are then shifted one argument to the
        // right. The same pointer must be returned by the callee in RAX."
        plan.ret.kind = RetKind::Sret;
        plan.ret.sret_loc = Loc::gpr(kSlotGprs[slot++]);
        plan.ret.sret_returned = true;
        plan.ret.sret_result = Loc::gpr(x64::rax);
        break;
    }
  }

  std::uint32_t copies = 0;
  for (std::size_t i = 0; i < sig.arg_count(); ++i, ++slot) {
    const Type* t = sig.args()[i];
    const bool variadic = sig.is_variadic_arg(i);
    if (variadic)
      if (auto ok = check_variadic_type(i, t); !ok) return ok.error();
    ArgPlan arg;
    arg.size = static_cast<std::uint32_t>(t->size());
    arg.align = static_cast<std::uint32_t>(t->align());
    const bool in_register = slot < kSlotGprs.size();
    const Loc gpr = in_register ? Loc::gpr(kSlotGprs[slot]) : stack_of(slot);
    switch (arg_way(t)) {
      case Way::Integer:
        arg.kind = PassKind::Direct;
        if (!in_register && is_empty_record(t)) {
          // gcc passes an empty record in no stack slot: the next argument takes this one.
          arg.kind = PassKind::Ignore;
          --slot;
          break;
        }
        arg.pieces.push_back({0, arg.size, small_int_extension(t), gpr});
        break;
      case Way::Float:
        arg.kind = PassKind::Direct;
        if (!in_register) {
          arg.pieces.push_back({0, arg.size, Ext::None, gpr});
        } else {
          arg.pieces.push_back({0, arg.size, Ext::None, Loc::vec(static_cast<std::uint8_t>(slot))});
          // "For floating-point values only, both the integer register and the floating-point
          // register must contain the value, in case the callee expects the value in the
          // integer registers" (varargs); a callee may read either.
          if (variadic) arg.pieces.push_back({0, arg.size, Ext::None, gpr});
        }
        break;
      case Way::Vector:
      case Way::Memory: {
        // The copy is the caller's: the callee may write to it. Aligned to 16 ("must be
        // 16-byte aligned"), or more for an over-aligned record.
        arg.kind = PassKind::Indirect;
        arg.copy_size = arg.size;
        arg.copy_align = arg.align > kCopyAlign ? arg.align : kCopyAlign;
        if (const std::uint64_t end = std::uint64_t{copies} + arg.copy_align + arg.size; end > kMaxArgumentArea)
          return argument_area_error(end);
        arg.copy_offset = align_up(copies, arg.copy_align);
        copies = arg.copy_offset + arg.copy_size;
        if (arg.copy_align > plan.stack_align) plan.stack_align = arg.copy_align;
        arg.pieces.push_back({0, 8, Ext::None, gpr});
        break;
      }
    }
    plan.args.push_back(std::move(arg));
  }

  // The shadow space is reserved even for fewer than four arguments.
  const std::uint32_t stack_slots = slot > kSlotGprs.size() ? static_cast<std::uint32_t>(slot - kSlotGprs.size()) : 0;
  plan.stack_size = align_up(kShadowSpace + stack_slots * kSlotSize, 16);
  plan.copy_area_size = align_up(copies, kCopyAlign);
  return plan;
}

}  // namespace tramp::abi
