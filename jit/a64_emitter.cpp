// AArch64 emitter (asmjit's a64 assembler, which runs on any host: an x86-64 machine can
// show an AArch64 stub). Walks a CallPlan; the two AArch64 variants differ only in their
// plans. Stack pieces in A64 plans are always 1, 2, 4 or 8 bytes (the classifier cuts them),
// so every memory move here is one natural load and one store.
//
// Call stub (entry follows the host's AAPCS64):
//   invoke: x0 = fn, x1 = ret, x2 = args     bound: x0 = ret, x1 = args, fn baked in
//   register-return: x0 = fn, x1 = args, the value left in x0 or v0
//   x16 = fn (IP0: a `br x16` may land on a `bti c`), x9 = args, x10 = args[i],
//   x11 = value scratch, x17 = address scratch for offsets no instruction encodes
//   1. memory: stack pieces and caller copies of by-reference arguments, while x0-x7 are free
//   2. x8 = the result buffer (sret), then register pieces straight into x0-x7 and v0-v7
//   3. blr x16 and store the result pieces through `ret`, kept in the frame; or, with
//      nothing to do after the target, br x16 (it returns to our caller)
//   errno (plan.set_errno / capture_errno): first of all, with x0-x2 and the frame record
//   saved, blr tramp_detail_restore_errno; after storing the result (a register-return
//   stub keeps x0 and q0 around it), blr tramp_detail_save_errno.
//
// Callback thunk: a function of the plan's signature. Frame from sp: the void* array handed
// to the handler, one slot per register-passed argument, the result buffer, registers the
// plan's callee saves and the host's does not, then the frame record (x29, x30). The caller's
// stack arguments are above the frame.
#include <cstring>

#include <asmjit/core.h>
#include <asmjit/arm/a64assembler.h>

#include "jit/emitter.hpp"
#include "jit/errno_slot.hpp"

namespace tramp::jit {
namespace {

using abi::CallPlan;
using abi::Ext;
using abi::LocKind;
using abi::Piece;
namespace a64 = asmjit::a64;
using a64::GpW;
using a64::GpX;

// asmjit reports failures through an error handler; tramp's emitters throw.
class Throwing : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error, const char* message, asmjit::BaseEmitter*) override {
    throw Error(ErrorCode::Jit, std::string("AArch64 emitter: ") + message);
  }
};

constexpr std::uint32_t kBtiC = 34;  // HINT #34: the landing pad for blr and br x16/x17

const GpX kFn = a64::x16;
const GpX kArgs = a64::x9;
const GpX kArg = a64::x10;
const GpX kValue = a64::x11;
const GpX kAddr = a64::x17;
const GpX kVeneerData = a64::x17;  // where a veneer leaves its slot's address

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

class A64Stub {
 public:
  A64Stub() {
    code_.init(asmjit::Environment(asmjit::Arch::kAArch64));
    code_.setErrorHandler(&errors_);
    code_.attach(&a);
  }

  std::vector<std::uint8_t> finish() {
    const asmjit::CodeBuffer& buf = code_.textSection()->buffer();
    return std::vector<std::uint8_t>(buf.data(), buf.data() + buf.size());
  }

  void mov_imm(const GpX& dst, std::uint64_t value) {
    a.movz(dst, value & 0xFFFF, 0);
    for (unsigned shift = 16; shift < 64; shift += 16)
      if ((value >> shift) & 0xFFFF) a.movk(dst, (value >> shift) & 0xFFFF, shift);
  }

  // dst = base + off, for any offset.
  void add_offset(const GpX& dst, const GpX& base, std::uint32_t off) {
    if (off < 4096) {
      a.add(dst, base, off);
    } else {
      mov_imm(kAddr, off);
      a.add(dst, base, kAddr);
    }
  }

  // A memory operand for an access of `size` bytes at [base + off]: the scaled 12-bit form
  // when it encodes; otherwise the address goes through x17. `unscaled` is set when the
  // caller must use the LDUR/STUR form (offsets below 256 that are not a multiple of size).
  a64::Mem mem(const GpX& base, std::uint32_t off, std::uint32_t size, bool& unscaled) {
    unscaled = false;
    if (off % size == 0 && off / size < 4096) return a64::ptr(base, static_cast<std::int32_t>(off));
    if (off < 256) {
      unscaled = true;
      return a64::ptr(base, static_cast<std::int32_t>(off));
    }
    add_offset(kAddr, base, off);
    return a64::ptr(kAddr);
  }

  // Loads `size` (1, 2, 4, 8) bytes, widened per `ext` (to 32 bits for sign extension, as
  // Apple's ABI asks; zero extension covers all 64).
  void load_word(const GpX& dst, const GpX& base, std::uint32_t off, std::uint32_t size, Ext ext) {
    bool u;
    const a64::Mem m = mem(base, off, size, u);
    const GpW w = dst.w();
    switch (size) {
      case 1:
        if (ext == Ext::Sign) u ? a.ldursb(w, m) : a.ldrsb(w, m);
        else u ? a.ldurb(w, m) : a.ldrb(w, m);
        return;
      case 2:
        if (ext == Ext::Sign) u ? a.ldursh(w, m) : a.ldrsh(w, m);
        else u ? a.ldurh(w, m) : a.ldrh(w, m);
        return;
      case 4:
        u ? a.ldur(w, m) : a.ldr(w, m);
        return;
      case 8:
        u ? a.ldur(dst, m) : a.ldr(dst, m);
        return;
      default:
        throw Error(ErrorCode::Unsupported, "AArch64 emitter: memory piece of " + std::to_string(size) + " bytes");
    }
  }

  void store_word(const GpX& src, const GpX& base, std::uint32_t off, std::uint32_t size) {
    bool u;
    const a64::Mem m = mem(base, off, size, u);
    switch (size) {
      case 1: u ? a.sturb(src.w(), m) : a.strb(src.w(), m); return;
      case 2: u ? a.sturh(src.w(), m) : a.strh(src.w(), m); return;
      case 4: u ? a.stur(src.w(), m) : a.str(src.w(), m); return;
      case 8: u ? a.stur(src, m) : a.str(src, m); return;
      default:
        throw Error(ErrorCode::Unsupported, "AArch64 emitter: memory piece of " + std::to_string(size) + " bytes");
    }
  }

  // Loads a register piece of 1..8 bytes, reading only those bytes (a value may end at a page
  // boundary). 3, 5, 6 and 7 bytes (the tail of a composite) are joined from two loads.
  void load_gpr(const GpX& dst, const GpX& base, std::uint32_t off, std::uint32_t size, Ext ext) {
    if (size == 1 || size == 2 || size == 4 || size == 8) return load_word(dst, base, off, size, ext);
    std::uint32_t low = size == 3 ? 2 : 4;
    load_word(dst, base, off, low, Ext::None);
    // The high part: the last bytes; for 7 an overlapping word whose shared byte is equal.
    const std::uint32_t high = size - low == 3 ? 4 : size - low;
    const std::uint32_t high_at = size - high;
    load_word(kValue, base, off + high_at, high, Ext::None);
    a.lsl(kValue, kValue, high_at * 8);
    a.orr(dst, dst, kValue);
  }

  // Stores the low `size` bytes of src, 1..8 (destroys src for sizes that are not a power of two).
  void store_gpr(const GpX& src, const GpX& base, std::uint32_t off, std::uint32_t size) {
    while (size > 0) {
      const std::uint32_t chunk = size >= 8 ? 8 : size >= 4 ? 4 : size >= 2 ? 2 : 1;
      store_word(src, base, off, chunk);
      size -= chunk;
      off += chunk;
      if (size > 0) a.lsr(src, src, chunk * 8);
    }
  }

  void load_vec(std::uint8_t reg, const GpX& base, std::uint32_t off, std::uint32_t size) {
    bool u;
    const a64::Mem m = mem(base, off, size, u);
    switch (size) {
      case 2: u ? a.ldur(a64::VecH(reg), m) : a.ldr(a64::VecH(reg), m); return;
      case 4: u ? a.ldur(a64::VecS(reg), m) : a.ldr(a64::VecS(reg), m); return;
      case 8: u ? a.ldur(a64::VecD(reg), m) : a.ldr(a64::VecD(reg), m); return;
      case 16: u ? a.ldur(a64::VecV(reg), m) : a.ldr(a64::VecV(reg), m); return;
      default:
        throw Error(ErrorCode::Unsupported, "AArch64 emitter: vector piece of " + std::to_string(size) + " bytes");
    }
  }

  void store_vec(std::uint8_t reg, const GpX& base, std::uint32_t off, std::uint32_t size) {
    bool u;
    const a64::Mem m = mem(base, off, size, u);
    switch (size) {
      case 2: u ? a.stur(a64::VecH(reg), m) : a.str(a64::VecH(reg), m); return;
      case 4: u ? a.stur(a64::VecS(reg), m) : a.str(a64::VecS(reg), m); return;
      case 8: u ? a.stur(a64::VecD(reg), m) : a.str(a64::VecD(reg), m); return;
      case 16: u ? a.stur(a64::VecV(reg), m) : a.str(a64::VecV(reg), m); return;
      default:
        throw Error(ErrorCode::Unsupported, "AArch64 emitter: vector piece of " + std::to_string(size) + " bytes");
    }
  }

  // Copies `size` bytes from [src] to [dst + off] through x11.
  void copy_bytes(const GpX& dst, std::uint32_t off, const GpX& src, std::uint32_t size) {
    for (std::uint32_t k = 0; k < size;) {
      const std::uint32_t left = size - k;
      const std::uint32_t chunk = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
      load_word(kValue, src, k, chunk, Ext::None);
      store_word(kValue, dst, off + k, chunk);
      k += chunk;
    }
  }

  // sp -= `distance` (a register, destroyed; a multiple of 16), one probe per
  // kStackProbeInterval bytes from the current sp down and one at the new sp, so no page is
  // skipped (stack-clash protection, emitter.hpp). A bounded loop: frames reach a megabyte.
  void probe_stack(const GpX& distance) {
    const asmjit::Label loop = a.newLabel(), last = a.newLabel();
    a.cmp(distance, kStackProbeInterval);
    a.b_lo(last);
    a.bind(loop);
    a.sub(a64::sp, a64::sp, kStackProbeInterval);
    a.str(a64::xzr, a64::ptr(a64::sp));
    a.sub(distance, distance, kStackProbeInterval);
    a.cmp(distance, kStackProbeInterval);
    a.b_hs(loop);
    a.bind(last);
    a.sub(a64::sp, a64::sp, distance);
    a.str(a64::xzr, a64::ptr(a64::sp));
  }

  // sp -= n / sp += n, for any n; a page or more is probed (through x17).
  void grow_stack(std::uint32_t n) {
    if (n == 0) return;
    if (n < kStackProbeInterval) {
      a.sub(a64::sp, a64::sp, n);
    } else {
      mov_imm(kAddr, n);
      probe_stack(kAddr);
    }
  }
  // blr to one of the errno slot's helpers (AAPCS64, no arguments) through x16; clobbers
  // x30 and every caller-saved register.
  void call_errno_helper(void (*helper)() noexcept) {
    mov_imm(kFn, reinterpret_cast<std::uint64_t>(helper));
    a.blr(kFn);
  }

  void shrink_stack(std::uint32_t n) {
    if (n == 0) return;
    if (n < 4096) {
      a.add(a64::sp, a64::sp, n);
    } else {
      mov_imm(kAddr, n);
      a.add(a64::sp, a64::sp, kAddr);
    }
  }

  a64::Assembler a;

 private:
  Throwing errors_;
  asmjit::CodeHolder code_;
};

// The plan's single return piece, for the register-return shape: x0 or v0, at most 8 bytes.
void check_register_return(const CallPlan& plan) {
  const auto& p = plan.ret.pieces;
  const bool one_register = plan.ret.kind == abi::RetKind::Direct && p.size() == 1 && p[0].size <= 8 &&
                            (p[0].loc.kind == LocKind::Gpr || p[0].loc.kind == LocKind::Vec) &&
                            p[0].loc.reg == 0;
  if (!one_register)
    throw Error(ErrorCode::Unsupported, "a register-return stub needs a value returned in x0 or v0 alone");
}

}  // namespace

std::vector<std::uint8_t> emit_a64_call_stub(const CallPlan& plan, const void* bound_fn,
                                             bool register_return) {
  if (register_return) check_register_return(plan);
  A64Stub s;
  auto& a = s.a;

  const bool direct_ret = !register_return && plan.ret.kind == abi::RetKind::Direct;
  const bool sret = plan.ret.kind == abi::RetKind::Sret;
  const bool copies = plan.copy_area_size != 0;
  const bool tail = !direct_ret && plan.stack_size == 0 && !copies && !plan.capture_errno;

  const GpX ret_in = bound_fn ? a64::x0 : a64::x1;
  const GpX args_in = register_return || bound_fn ? a64::x1 : a64::x2;

  // Frame: [x29] = saved x29, x30, [x29 + 16] = `ret` (direct results); below it the copies
  // (each at its alignment within an area aligned to the largest) and then the outgoing
  // stack arguments at sp.
  const std::uint32_t record = direct_ret ? 32 : 16;
  const bool realign = plan.stack_align > 16;
  const std::uint32_t copy_base = align_up(plan.stack_size, realign ? plan.stack_align : 16);
  const std::uint32_t area = copy_base + align_up(plan.copy_area_size, 16);

  a.hint(kBtiC);
  if (plan.set_errno) {
    a.stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -48));
    a.mov(a64::x29, a64::sp);
    a.stp(a64::x0, a64::x1, a64::ptr(a64::sp, 16));
    a.str(a64::x2, a64::ptr(a64::sp, 32));
    s.call_errno_helper(tramp_detail_restore_errno);
    a.ldp(a64::x0, a64::x1, a64::ptr(a64::sp, 16));
    a.ldr(a64::x2, a64::ptr(a64::sp, 32));
    a.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, 48));
  }
  if (!tail) {
    a.stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -static_cast<std::int32_t>(record)));
    a.mov(a64::x29, a64::sp);
    if (direct_ret) a.str(ret_in, a64::ptr(a64::sp, 16));
    if (realign) {
      // The copies need more than 16-byte alignment: align sp down (AND may write sp).
      // sp is 16-aligned, so the `and` moves it by up to align - 16: that move counts
      // towards the probe threshold.
      const std::uint64_t mask = ~static_cast<std::uint64_t>(plan.stack_align - 1);
      s.mov_imm(kAddr, area);
      a.sub(kAddr, a64::sp, kAddr);
      if (area + plan.stack_align - 16 < kStackProbeInterval) {
        a.and_(a64::sp, kAddr, mask);
      } else {
        a.and_(kAddr, kAddr, mask);
        a.sub(kAddr, a64::sp, kAddr);  // the distance to the realigned frame's bottom
        s.probe_stack(kAddr);
      }
    } else {
      s.grow_stack(area);
    }
  }
  if (bound_fn) s.mov_imm(kFn, reinterpret_cast<std::uint64_t>(bound_fn));
  else a.mov(kFn, a64::x0);
  a.mov(kArgs, args_in);

  // Phase 1: memory. x0-x7 still hold the entry arguments; only x9-x11 and x17 are written.
  for (std::size_t i = 0; i < plan.args.size(); ++i) {
    const auto& arg = plan.args[i];
    if (arg.kind == abi::PassKind::Ignore) continue;
    bool loaded = false;
    auto load_arg = [&] {
      if (!loaded) s.load_word(kArg, kArgs, static_cast<std::uint32_t>(i) * 8, 8, Ext::None);
      loaded = true;
    };
    if (arg.kind == abi::PassKind::Indirect) {
      const std::uint32_t copy_at = copy_base + arg.copy_offset;
      load_arg();
      s.copy_bytes(a64::sp, copy_at, kArg, arg.copy_size);
      for (const Piece& p : arg.pieces)
        if (p.loc.kind == LocKind::Stack) {
          s.add_offset(kValue, a64::sp, copy_at);
          s.store_word(kValue, a64::sp, p.loc.offset, 8);
        }
      continue;
    }
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind != LocKind::Stack) continue;
      load_arg();
      s.load_word(kValue, kArg, p.offset, p.size, Ext::None);
      s.store_word(kValue, a64::sp, p.loc.offset, p.size);
    }
  }

  if (sret && plan.ret.sret_loc.reg != ret_in.id()) a.mov(GpX(plan.ret.sret_loc.reg), ret_in);

  // Phase 2: register pieces. args[i] goes to x10, never an argument register.
  for (std::size_t i = 0; i < plan.args.size(); ++i) {
    const auto& arg = plan.args[i];
    if (arg.kind == abi::PassKind::Indirect) {
      for (const Piece& p : arg.pieces)
        if (p.loc.kind == LocKind::Gpr) s.add_offset(GpX(p.loc.reg), a64::sp, copy_base + arg.copy_offset);
      continue;
    }
    if (arg.kind != abi::PassKind::Direct) continue;
    bool loaded = false;
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind == LocKind::Stack) continue;
      if (!loaded) s.load_word(kArg, kArgs, static_cast<std::uint32_t>(i) * 8, 8, Ext::None);
      loaded = true;
      if (p.loc.kind == LocKind::Gpr) s.load_gpr(GpX(p.loc.reg), kArg, p.offset, p.size, p.ext);
      else if (p.loc.kind == LocKind::Vec) s.load_vec(p.loc.reg, kArg, p.offset, p.size);
      else throw Error(ErrorCode::Unsupported, "AArch64 emitter: x87 argument piece");
    }
  }

  if (tail) {
    a.br(kFn);
    return s.finish();
  }
  a.blr(kFn);
  a.mov(a64::sp, a64::x29);
  if (direct_ret) {
    a.ldr(kArgs, a64::ptr(a64::sp, 16));
    for (const Piece& p : plan.ret.pieces) {
      if (p.loc.kind == LocKind::Gpr) s.store_gpr(GpX(p.loc.reg), kArgs, p.offset, p.size);
      else if (p.loc.kind == LocKind::Vec) s.store_vec(p.loc.reg, kArgs, p.offset, p.size);
      else throw Error(ErrorCode::Unsupported, "AArch64 emitter: return piece not in a register");
    }
  }
  // sp is at the frame record (16-aligned); x30 is reloaded from it below.
  if (plan.capture_errno) {
    if (register_return) {
      a.sub(a64::sp, a64::sp, 32);
      a.str(a64::x0, a64::ptr(a64::sp));
      a.str(a64::VecV(0), a64::ptr(a64::sp, 16));
      s.call_errno_helper(tramp_detail_save_errno);
      a.ldr(a64::x0, a64::ptr(a64::sp));
      a.ldr(a64::VecV(0), a64::ptr(a64::sp, 16));
      a.add(a64::sp, a64::sp, 32);
    } else {
      s.call_errno_helper(tramp_detail_save_errno);
    }
  }
  a.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, static_cast<std::int32_t>(record)));
  a.ret(a64::x30);
  return s.finish();
}

std::vector<std::uint8_t> emit_a64_thunk(const CallPlan& plan) {
  A64Stub s;
  auto& a = s.a;
  const std::size_t n = plan.args.size();
  const bool direct_ret = plan.ret.kind == abi::RetKind::Direct;
  const bool sret = plan.ret.kind == abi::RetKind::Sret;

  // Frame layout: the handler's array and the argument slots, then what this emitter adds.
  const ThunkArgSlots layout = thunk_arg_slots(plan);
  const auto& slot = layout.slot;
  const auto& in_place = layout.in_place;
  const auto& in_place_at = layout.in_place_at;
  const std::uint32_t args_at = 0;
  std::uint32_t at = layout.end;
  const std::uint32_t ret_align = plan.ret.align > 16 ? plan.ret.align : 16;
  const std::uint32_t ret_at = align_up(at, ret_align);
  if (direct_ret) at = align_up(ret_at + plan.ret.size, 8);
  // x8 (sret) would not survive the errno helper called before the handler: kept here then.
  const bool keep_sret = sret && plan.capture_errno;
  const std::uint32_t sret_at = at;
  if (keep_sret) at += 8;
  const std::uint32_t data_at = at;  // the callback's data (x17 on entry)
  at += 8;
  // Registers this ABI's callers expect preserved that the host handler may clobber.
  const std::uint32_t save_gprs = plan.callee_saved_gprs & ~abi::a64::kCalleeSavedGprs;
  const std::uint32_t save_vecs = plan.callee_saved_vecs & ~abi::a64::kCalleeSavedVecs;
  const std::uint32_t saved_at = align_up(at, 16);
  at = saved_at + 16 * static_cast<std::uint32_t>(__builtin_popcount(save_gprs) + __builtin_popcount(save_vecs));
  // A slot or result aligned beyond 16 (an over-aligned vector) needs a realigned frame:
  // the frame record is pushed first, x29 keeps its address, the caller's stack arguments
  // are at [x29 + 16 + off] and the frame below is aligned down.
  std::uint32_t frame_align = layout.align;
  if (direct_ret && ret_align > frame_align) frame_align = ret_align;
  const bool realign = frame_align > 16;
  const std::uint32_t record_at = align_up(at, 16);
  const std::uint32_t frame = realign ? align_up(at, frame_align) : record_at + 16;
  const GpX caller_base = realign ? a64::x29 : a64::sp;
  const std::uint32_t caller_args = realign ? 16 : frame;

  a.hint(kBtiC);
  // The callback's data address (x17, IP1, from the veneer) moves to x9 before the frame is
  // made: a large frame is probed through x17.
  const GpX data = a64::x9;
  a.mov(data, kVeneerData);
  if (realign) {
    a.stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -16));
    a.mov(a64::x29, a64::sp);
    // sp is 16-aligned, so the `and` moves it by up to frame_align - 16: that move counts
    // towards the probe threshold.
    const std::uint64_t mask = ~static_cast<std::uint64_t>(frame_align - 1);
    s.mov_imm(kAddr, frame);
    a.sub(kAddr, a64::sp, kAddr);
    if (frame + frame_align - 16 < kStackProbeInterval) {
      a.and_(a64::sp, kAddr, mask);
    } else {
      a.and_(kAddr, kAddr, mask);
      a.sub(kAddr, a64::sp, kAddr);  // the distance to the realigned frame's bottom
      s.probe_stack(kAddr);
    }
  } else {
    s.grow_stack(frame);
    if (record_at <= 504) {
      a.stp(a64::x29, a64::x30, a64::ptr(a64::sp, static_cast<std::int32_t>(record_at)));
    } else {
      s.add_offset(kAddr, a64::sp, record_at);
      a.stp(a64::x29, a64::x30, a64::ptr(kAddr));
    }
    s.add_offset(a64::x29, a64::sp, record_at);
  }
  s.store_word(data, a64::sp, data_at, 8);
  auto for_saved = [&](auto&& gpr, auto&& vec) {
    std::uint32_t o = saved_at;
    for (std::uint8_t r = 0; r < 32; ++r) {
      if (save_gprs >> r & 1) gpr(r, o), o += 16;
      if (save_vecs >> r & 1) vec(r, o), o += 16;
    }
  };
  for_saved([&](std::uint8_t r, std::uint32_t o) { s.store_word(GpX(r), a64::sp, o, 8); },
            [&](std::uint8_t r, std::uint32_t o) { s.store_vec(r, a64::sp, o, 16); });

  // Register pieces before anything else: x9-x11 and x17 are the only scratch, and x8 (sret)
  // is read only at the handler call.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& arg = plan.args[i];
    if (in_place[i]) continue;
    const bool indirect = arg.kind == abi::PassKind::Indirect;
    for (const Piece& p : arg.pieces) {
      switch (p.loc.kind) {
        case LocKind::Gpr:
          if (indirect) s.store_word(GpX(p.loc.reg), a64::sp, args_at + static_cast<std::uint32_t>(i) * 8, 8);
          else s.store_gpr(GpX(p.loc.reg), a64::sp, slot[i] + p.offset, p.size);
          break;
        case LocKind::Vec:
          s.store_vec(p.loc.reg, a64::sp, slot[i] + p.offset, p.size);
          break;
        case LocKind::Stack:
          s.load_word(kValue, caller_base, caller_args + p.loc.offset, indirect ? 8 : p.size, Ext::None);
          if (indirect) s.store_word(kValue, a64::sp, args_at + static_cast<std::uint32_t>(i) * 8, 8);
          else s.store_word(kValue, a64::sp, slot[i] + p.offset, p.size);
          break;
        case LocKind::X87:
          throw Error(ErrorCode::Unsupported, "AArch64 emitter: x87 argument piece");
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (plan.args[i].kind == abi::PassKind::Indirect) continue;
    if (in_place[i]) s.add_offset(kValue, caller_base, caller_args + in_place_at[i]);
    else s.add_offset(kValue, a64::sp, slot[i]);
    s.store_word(kValue, a64::sp, args_at + static_cast<std::uint32_t>(i) * 8, 8);
  }

  // Every argument is in the frame now: the native caller's errno goes to the slot, for the
  // handler to read (last_errno()) or replace (set_last_errno()).
  if (plan.capture_errno) {
    if (keep_sret) s.store_word(GpX(plan.ret.sret_loc.reg), a64::sp, sret_at, 8);
    s.call_errno_helper(tramp_detail_save_errno);
  }

  // handler(ret, args, user), a host AAPCS64 function.
  if (keep_sret) s.load_word(a64::x0, a64::sp, sret_at, 8, Ext::None);
  else if (sret) a.mov(a64::x0, GpX(plan.ret.sret_loc.reg));
  else s.add_offset(a64::x0, a64::sp, ret_at);
  s.add_offset(a64::x1, a64::sp, args_at);
  s.load_word(data, a64::sp, data_at, 8, Ext::None);
  s.load_word(a64::x2, data, kCallbackUserOffset, 8, Ext::None);
  s.load_word(kFn, data, kCallbackHandlerOffset, 8, Ext::None);
  a.blr(kFn);
  // The result is still in the frame: errno for the native caller comes from the slot.
  if (plan.capture_errno) s.call_errno_helper(tramp_detail_restore_errno);
  for_saved([&](std::uint8_t r, std::uint32_t o) { s.load_word(GpX(r), a64::sp, o, 8, Ext::None); },
            [&](std::uint8_t r, std::uint32_t o) { s.load_vec(r, a64::sp, o, 16); });

  if (direct_ret) {
    for (const Piece& p : plan.ret.pieces) {
      if (p.loc.kind == LocKind::Gpr) s.load_gpr(GpX(p.loc.reg), a64::sp, ret_at + p.offset, p.size, p.ext);
      else if (p.loc.kind == LocKind::Vec) s.load_vec(p.loc.reg, a64::sp, ret_at + p.offset, p.size);
      else throw Error(ErrorCode::Unsupported, "AArch64 emitter: return piece not in a register");
    }
  } else if (sret && plan.ret.sret_returned) {
    throw Error(ErrorCode::Unsupported, "AArch64 emitter: no AArch64 ABI hands the result buffer back");
  }

  if (realign) {
    a.mov(a64::sp, a64::x29);
    a.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, 16));
  } else {
    if (record_at <= 504) {
      a.ldp(a64::x29, a64::x30, a64::ptr(a64::sp, static_cast<std::int32_t>(record_at)));
    } else {
      s.add_offset(kAddr, a64::sp, record_at);
      a.ldp(a64::x29, a64::x30, a64::ptr(kAddr));
    }
    s.shrink_stack(frame);
  }
  a.ret(a64::x30);
  return s.finish();
}

std::vector<std::uint8_t> emit_a64_veneer(const void* slot) {
  A64Stub s;
  auto& a = s.a;
  // 24 bytes, the slot's address a literal at offset 16: fits libffi's FFI_TRAMPOLINE_SIZE.
  asmjit::Label literal = a.newLabel();
  a.hint(kBtiC);
  a.ldr(kVeneerData, a64::ptr(literal));
  a.ldr(kFn, a64::ptr(kVeneerData));
  a.br(kFn);  // x16 (IP0): lands on the target's `bti c`; x17 (IP1) keeps the slot's address
  a.bind(literal);
  a.embedUInt64(reinterpret_cast<std::uint64_t>(slot));
  return s.finish();
}

}  // namespace tramp::jit
