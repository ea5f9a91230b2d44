// x86-64 emitter (xbyak). Walks a CallPlan; everything ABI-specific comes from the plan, so
// the same code serves every x86-64 convention the classifiers describe.
//
// Call stub (entry follows the host's SysV convention):
//   invoke: rdi = fn, rsi = ret, rdx = args        bound: rdi = ret, rsi = args, fn baked in
//   `ret` is pushed when a value comes back; fn and args stay in their entry registers unless
//   an argument needs them (then r11 and r10)
//   1. memory: rax = args[i], rcx = value, stored at [rsp + offset]; by-reference arguments
//      (Win64) copied to the copy area above the outgoing arguments
//   2. register pieces: rax = args[i], loaded straight into the target register (or the
//      address of a by-reference argument's copy)
//   3. call fn, pop `ret` into rcx, store the return pieces from rax/rdx/xmm0/xmm1/st0
//   With no return value and nothing on the stack the stub jumps to fn instead of calling it.
//   errno (plan.set_errno / capture_errno): before anything else, with the entry registers
//   pushed, the stub calls tramp_detail_restore_errno(); after storing the result (so no
//   return register is live but those of a register-return stub, rax and xmm0, kept around
//   it), tramp_detail_save_errno(). Neither touches errno's neighbours: nothing but the stub's
//   own moves runs between the callee's return and the save.
// Memory goes first because during that phase every argument register is free scratch.
#include <cstring>

#include <xbyak/xbyak.h>

#include "jit/emitter.hpp"
#include "jit/errno_slot.hpp"

namespace tramp::jit {
namespace {

using abi::CallPlan;
using abi::Ext;
using abi::LocKind;
using abi::Piece;
using Xbyak::Reg32;
using Xbyak::Reg64;
using Xbyak::Xmm;

class X64Stub : public Xbyak::CodeGenerator {
 public:
  X64Stub(std::size_t capacity, std::uint8_t* buffer) : CodeGenerator(capacity, buffer) {}

  // Loads `size` bytes at [base + off] into dst, widened per `ext`. Reads only those bytes
  // (an argument may end at a page boundary). May overwrite `base` on its last read.
  void load_gpr(const Reg64& dst, const Reg64& base, std::uint32_t off, std::uint32_t size, Ext ext) {
    const Reg32 d32 = dst.cvt32();
    const Reg32 b32 = base.cvt32();
    switch (size) {
      case 1:
        if (ext == Ext::Sign) movsx(d32, byte[base + off]); else movzx(d32, byte[base + off]);
        return;
      case 2:
        if (ext == Ext::Sign) movsx(d32, word[base + off]); else movzx(d32, word[base + off]);
        return;
      case 4:
        mov(d32, dword[base + off]);
        return;
      case 8:
        mov(dst, qword[base + off]);
        return;
      case 3:
        movzx(d32, word[base + off + 1]);
        shl(d32, 8);
        movzx(b32, byte[base + off]);
        or_(dst, base);
        return;
      case 5:
      case 6:
      case 7:
        // Two overlapping dword loads: the bytes both cover are equal, so OR joins them.
        mov(d32, dword[base + off + size - 4]);
        shl(dst, (size - 4) * 8);
        mov(b32, dword[base + off]);
        or_(dst, base);
        return;
      default:
        throw Error(ErrorCode::Unsupported, "x86-64 emitter: integer piece of " + std::to_string(size) + " bytes");
    }
  }

  // Stores the low `size` bytes of src at [base + off]. Destroys src when size is odd.
  void store_gpr(const Reg64& src, const Reg64& base, std::uint32_t off, std::uint32_t size) {
    while (size > 0) {
      std::uint32_t chunk = size >= 8 ? 8 : size >= 4 ? 4 : size >= 2 ? 2 : 1;
      switch (chunk) {
        case 8: mov(qword[base + off], src); break;
        case 4: mov(dword[base + off], src.cvt32()); break;
        case 2: mov(word[base + off], src.cvt16()); break;
        default: mov(byte[base + off], src.cvt8()); break;
      }
      size -= chunk;
      off += chunk;
      if (size > 0) shr(src, chunk * 8);
    }
  }

  // Loads the low `size` bytes of vector register `reg`, reading only those bytes: 2 and 6
  // (_Float16 values) through pinsrw (SSE2), 32 into ymm (AVX) and 64 into zmm (AVX-512F).
  void load_vec(std::uint8_t reg, const Reg64& base, std::uint32_t off, std::uint32_t size) {
    const Xmm dst(reg);
    switch (size) {
      case 2: pinsrw(dst, word[base + off], 0); return;
      case 4: movd(dst, dword[base + off]); return;
      case 6: movd(dst, dword[base + off]); pinsrw(dst, word[base + off + 4], 2); return;
      case 8: movq(dst, qword[base + off]); return;
      case 16: movups(dst, xword[base + off]); return;
      case 32: vmovups(Xbyak::Ymm(reg), yword[base + off]); return;
      case 64: vmovups(Xbyak::Zmm(reg), zword[base + off]); return;
      default:
        throw Error(ErrorCode::Unsupported, "x86-64 emitter: vector piece of " + std::to_string(size) + " bytes");
    }
  }

  // Stores the low `size` bytes of vector register `reg`. SSE2 has no 2-byte store from an
  // xmm register, so 2 and 6 go through r11 (never an argument or result register, and free
  // wherever results or arguments are stored: kVeneerData is saved first).
  void store_vec(std::uint8_t reg, const Reg64& base, std::uint32_t off, std::uint32_t size) {
    const Xmm src(reg);
    switch (size) {
      case 2: pextrw(Xbyak::util::r11d, src, 0); mov(word[base + off], Xbyak::util::r11w); return;
      case 4: movd(dword[base + off], src); return;
      case 6: movd(dword[base + off], src); pextrw(Xbyak::util::r11d, src, 2); mov(word[base + off + 4], Xbyak::util::r11w); return;
      case 8: movq(qword[base + off], src); return;
      case 16: movups(xword[base + off], src); return;
      case 32: vmovups(yword[base + off], Xbyak::Ymm(reg)); return;
      case 64: vmovups(zword[base + off], Xbyak::Zmm(reg)); return;
      default:
        throw Error(ErrorCode::Unsupported, "x86-64 emitter: vector piece of " + std::to_string(size) + " bytes");
    }
  }

  // Copies `size` bytes from [src] to [dst + dst_off] through `tmp`, reading no byte past
  // the end of the source.
  void copy_bytes(const Reg64& dst, std::uint32_t dst_off, const Reg64& src, std::uint32_t size,
                  const Reg64& tmp) {
    std::uint32_t off = 0;
    while (off < size) {
      const std::uint32_t left = size - off;
      const std::uint32_t chunk = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
      switch (chunk) {
        case 8: mov(tmp, qword[src + off]); mov(qword[dst + dst_off + off], tmp); break;
        case 4: mov(tmp.cvt32(), dword[src + off]); mov(dword[dst + dst_off + off], tmp.cvt32()); break;
        case 2: mov(tmp.cvt16(), word[src + off]); mov(word[dst + dst_off + off], tmp.cvt16()); break;
        default: mov(tmp.cvt8(), byte[src + off]); mov(byte[dst + dst_off + off], tmp.cvt8()); break;
      }
      off += chunk;
    }
  }

  // rsp -= `distance` (a register, destroyed), one probe per kStackProbeInterval bytes from
  // the current rsp down and one at the new rsp, so no page is skipped (stack-clash
  // protection, emitter.hpp). A bounded loop: frames reach a megabyte.
  void probe_stack(const Reg64& distance) {
    Xbyak::Label loop, last;
    cmp(distance, kStackProbeInterval);
    jb(last);
    L(loop);
    sub(rsp, kStackProbeInterval);
    or_(qword[rsp], 0);
    sub(distance, kStackProbeInterval);
    cmp(distance, kStackProbeInterval);
    jae(loop);
    L(last);
    sub(rsp, distance);
    or_(qword[rsp], 0);
  }

  // rsp -= frame, then down to a multiple of `align`. rsp is a multiple of `known` (8 or 16)
  // before, so the `and` moves it by up to align - known: that move counts towards the probe
  // threshold. Through rax.
  void realign_stack(std::uint32_t frame, std::uint32_t align, std::uint32_t known) {
    using Xbyak::util::rax;
    using Xbyak::util::rsp;
    const std::int32_t mask = -static_cast<std::int32_t>(align);
    if (frame + align - known < kStackProbeInterval) {
      and_(rsp, mask);
      if (frame) sub(rsp, frame);
    } else {
      lea(rax, ptr[rsp - static_cast<std::int32_t>(frame)]);
      and_(rax, mask);
      neg(rax);
      add(rax, rsp);  // the distance to the realigned frame's bottom
      probe_stack(rax);
    }
  }

  // rsp -= n, probed when n is a page or more (through `scratch`).
  void grow_stack(std::uint32_t n, const Reg64& scratch) {
    if (n < kStackProbeInterval) {
      if (n) sub(rsp, n);
      return;
    }
    mov(scratch.cvt32(), n);
    probe_stack(scratch);
  }

  // FSTP m80fp (DB /7) with a [base + disp32] operand; xbyak has no 80-bit memory form.
  void fstp_m80(const Reg64& base, std::uint32_t disp) { x87_m80(7, base, disp); }
  void fld_m80(const Reg64& base, std::uint32_t disp) { x87_m80(5, base, disp); }

 private:
  void x87_m80(std::uint8_t ext, const Reg64& base, std::uint32_t disp) {
    int b = base.getIdx();
    if (b >= 8) db(0x41);  // REX.B
    db(0xDB);
    db(0x80 | (ext << 3) | (b & 7));  // mod=10: [base + disp32]
    if ((b & 7) == 4) db(0x24);       // rsp/r12 need a SIB byte
    dd(disp);
  }
};

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

// Where a veneer leaves its slot's address, for a callback thunk to read its data: r11,
// volatile and no argument register in SysV (psABI 3.2.3, figure 3.4) or Win64.
const Xbyak::Reg64 kVeneerData = Xbyak::util::r11;

// Sizes that load_gpr assembles from two reads, the last one into its base register.
bool load_clobbers_base(std::uint32_t size) { return size == 3 || (size >= 5 && size <= 7); }

std::size_t capacity_for(const CallPlan& plan) {
  std::size_t pieces = plan.ret.pieces.size(), copy_chunks = 0;
  for (const auto& a : plan.args) {
    pieces += a.pieces.size();
    copy_chunks += a.copy_size / 8 + 4;
  }
  // At most 24 bytes per copied chunk (two moves with a 32-bit displacement), 40 per piece,
  // 20 per saved register (a store and a load).
  const std::size_t saved = static_cast<std::size_t>(__builtin_popcount(plan.callee_saved_gprs) +
                                                     __builtin_popcount(plan.callee_saved_vecs));
  return 256 + pieces * 40 + copy_chunks * 24 + saved * 20 + (plan.capture_errno ? 96 : 0);
}

// A call to one of the errno slot's helpers (SysV, no arguments) through rax; rsp must be
// 16-aligned. Clobbers every caller-saved register.
void call_errno_helper(X64Stub& a, void (*helper)() noexcept) {
  a.mov(Xbyak::util::rax, reinterpret_cast<std::uint64_t>(helper));
  a.call(Xbyak::util::rax);
}

}  // namespace

std::vector<std::uint8_t> emit_x64_call_stub(const CallPlan& plan, const void* bound_fn,
                                             bool register_return) {
  using namespace Xbyak::util;
  std::vector<std::uint8_t> buffer(capacity_for(plan));
  X64Stub a(buffer.size(), buffer.data());

  if (register_return) {
    const auto& p = plan.ret.pieces;
    const bool one_register =
        plan.ret.kind == abi::RetKind::Direct && p.size() == 1 && p[0].size <= 8 &&
        ((p[0].loc.kind == LocKind::Gpr && p[0].loc.reg == abi::x64::rax) ||
         (p[0].loc.kind == LocKind::Vec && p[0].loc.reg == 0));
    if (!one_register)
      throw Error(ErrorCode::Unsupported, "a register-return stub needs a value returned in rax or xmm0 alone");
  }
  // `ret` exists only in the uniform shape; the register-return shape leaves the value in
  // the callee's return register.
  const bool direct_ret = !register_return && plan.ret.kind == abi::RetKind::Direct;
  const bool sret = plan.ret.kind == abi::RetKind::Sret;

  // Registers the argument phase writes; an entry register none of them touches can be used
  // in place instead of being copied to a scratch register first.
  namespace x64 = abi::x64;
  std::uint32_t written = 1u << x64::rax;  // pointer scratch (and %al for variadic calls)
  bool stack_pieces = false;
  for (const auto& arg : plan.args)
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind == LocKind::Gpr) written |= 1u << p.loc.reg;
      if (p.loc.kind == LocKind::Stack) stack_pieces = true;
    }
  const bool copies = plan.copy_area_size != 0;
  if (stack_pieces || copies) written |= 1u << x64::rcx;  // the memory phase's value scratch
  if (sret) written |= 1u << plan.ret.sret_loc.reg;

  // The uniform entry: invoke(fn = rdi, ret = rsi, args = rdx) or bound(ret = rdi, args = rsi);
  // register-return: invoke(fn = rdi, args = rsi).
  const Reg64 ret_in = bound_fn ? rdi : rsi;
  const Reg64 args_in = register_return ? rsi : bound_fn ? rsi : rdx;
  const Reg64 args = (written >> args_in.getIdx()) & 1 ? r10 : args_in;
  const Reg64 fn = !bound_fn && !((written >> x64::rdi) & 1) ? rdi : r11;

  // Nothing to do after the call: jump to the target, which returns to our caller.
  const bool tail = !direct_ret && plan.stack_size == 0 && !copies && !plan.capture_errno;
  const bool realign = plan.stack_align > 16;
  // Frame: [rsp, +stack_size) outgoing arguments (shadow space included), then the copies
  // of by-reference arguments at copy_base, each at its own alignment within the area.
  const std::uint32_t frame_align = realign ? plan.stack_align : 16;
  const std::uint32_t copy_base = align_up(plan.stack_size, frame_align);
  const std::uint32_t frame_core = copy_base + align_up(plan.copy_area_size, frame_align);

  a.endbr64();
  if (plan.set_errno) {
    // The entry registers survive the helper on the stack; three pushes align rsp to 16.
    a.push(rdi);
    a.push(rsi);
    a.push(rdx);
    call_errno_helper(a, tramp_detail_restore_errno);
    a.pop(rdx);
    a.pop(rsi);
    a.pop(rdi);
  }
  // A direct return needs `ret` after the call: it rides on the stack, and the push also
  // restores 16-byte alignment (entry rsp is 8 mod 16).
  if (direct_ret) a.push(ret_in);
  std::uint32_t frame = 0;
  if (!tail) {
    frame = frame_core + (direct_ret ? 0 : 8);
    if (realign) {
      a.push(rbp);
      a.mov(rbp, rsp);
      frame = frame_core;
      a.realign_stack(frame, plan.stack_align, 8);  // rsp is 8-aligned here; rax is free until phase 1
    } else {
      a.grow_stack(frame, rax);
    }
  }
  if (bound_fn) a.mov(fn, reinterpret_cast<std::uint64_t>(bound_fn));
  else if (fn != rdi) a.mov(fn, rdi);
  if (args != args_in) a.mov(args, args_in);

  // Phase 1: memory (every argument register is still free scratch here). By-reference
  // arguments are copied to the copy area and their address stored where the plan says;
  // stack pieces are loaded and stored.
  for (std::size_t i = 0; i < plan.args.size(); ++i) {
    const auto& arg = plan.args[i];
    if (arg.kind == abi::PassKind::Indirect) {
      const std::uint32_t copy_at = copy_base + arg.copy_offset;
      a.mov(rax, qword[args + i * 8]);
      a.copy_bytes(rsp, copy_at, rax, arg.copy_size, rcx);
      for (const Piece& p : arg.pieces)
        if (p.loc.kind == LocKind::Stack) {
          a.lea(rcx, ptr[rsp + copy_at]);
          a.mov(qword[rsp + p.loc.offset], rcx);
        }
      continue;
    }
    if (arg.kind != abi::PassKind::Direct) continue;
    bool loaded = false;
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind != LocKind::Stack) continue;
      if (!loaded) a.mov(rax, qword[args + i * 8]);
      loaded = !load_clobbers_base(p.size);
      a.load_gpr(rcx, rax, p.offset, p.size, p.ext);
      a.mov(qword[rsp + p.loc.offset], rcx);
    }
  }

  // The hidden sret pointer is needed only by the callee (it echoes it in rax).
  if (sret && plan.ret.sret_loc.reg != ret_in.getIdx()) a.mov(Reg64(plan.ret.sret_loc.reg), ret_in);

  // Phase 2: register pieces.
  for (std::size_t i = 0; i < plan.args.size(); ++i) {
    const auto& arg = plan.args[i];
    if (arg.kind == abi::PassKind::Indirect) {
      for (const Piece& p : arg.pieces)
        if (p.loc.kind == LocKind::Gpr) a.lea(Reg64(p.loc.reg), ptr[rsp + copy_base + arg.copy_offset]);
      continue;
    }
    if (arg.kind != abi::PassKind::Direct) continue;
    bool loaded = false;
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind == LocKind::Stack) continue;
      if (!loaded) a.mov(rax, qword[args + i * 8]);
      loaded = true;
      if (p.loc.kind == LocKind::Gpr) {
        loaded = !load_clobbers_base(p.size);
        a.load_gpr(Reg64(p.loc.reg), rax, p.offset, p.size, p.ext);
      } else if (p.loc.kind == LocKind::Vec) {
        a.load_vec(p.loc.reg, rax, p.offset, p.size);
      } else {
        throw Error(ErrorCode::Unsupported, "x86-64 emitter: x87 argument piece");
      }
    }
  }
  if (plan.vector_count >= 0) a.mov(eax, static_cast<std::uint32_t>(plan.vector_count));

  if (tail) {
    a.jmp(fn);
  } else {
    a.call(fn);
    if (realign) {
      a.mov(rsp, rbp);
      a.pop(rbp);
    } else if (frame) {
      a.add(rsp, frame);
    }
    // Phase 3: return pieces, into `ret` (rcx is no return register).
    if (direct_ret) {
      a.pop(rcx);
      for (const Piece& p : plan.ret.pieces) {
        switch (p.loc.kind) {
          case LocKind::Gpr:
            a.store_gpr(Reg64(p.loc.reg), rcx, p.offset, p.size);
            break;
          case LocKind::Vec:
            a.store_vec(p.loc.reg, rcx, p.offset, p.size);
            break;
          case LocKind::X87:
            // fstp pops: the plan lists st0 before st1, which is then st0.
            a.fstp_m80(rcx, p.offset);
            break;
          case LocKind::Stack:
            throw Error(ErrorCode::Unsupported, "x86-64 emitter: return piece on the stack");
        }
      }
    }
    // rsp is the entry rsp again (8 mod 16). The invoke and bound shapes return nothing in
    // registers; the register-return shape's value (rax or xmm0) is kept in the frame.
    if (plan.capture_errno) {
      if (register_return) {
        a.sub(rsp, 24);
        a.mov(qword[rsp], rax);
        a.movq(qword[rsp + 8], xmm0);
        call_errno_helper(a, tramp_detail_save_errno);
        a.mov(rax, qword[rsp]);
        a.movq(xmm0, qword[rsp + 8]);
        a.add(rsp, 24);
      } else {
        a.sub(rsp, 8);
        call_errno_helper(a, tramp_detail_save_errno);
        a.add(rsp, 8);
      }
    }
    a.ret();
  }

  buffer.resize(a.getSize());
  return buffer;
}

}  // namespace tramp::jit

// Callback thunk frame, addressed from rsp (no frame pointer; rsp is 16-aligned for the
// handler call, the frame size being 8 mod 16 because the call pushed a return address):
//   [rsp + args_at]            the void* array handed to the handler, one slot per argument
//   [rsp + slot_i]             argument i reassembled from its register pieces
//   [rsp + ret_at]             the return buffer for a direct return
//   [rsp + sret_at]            the caller's sret pointer, handed to the handler and echoed
//   [rsp + data_at]            the callback's data (r11 on entry: its veneer's slot address)
//   [rsp + frame + 8 + off]    the caller's stack arguments (above the return address)
// A slot or result aligned beyond 16 (a __m256 in ymm0) needs a realigned frame: rbp then
// keeps the entry rsp (after pushing the caller's rbp), the caller's stack arguments are at
// [rbp + 16 + off], and the frame below is aligned to the largest such alignment.
namespace tramp::jit {
std::vector<std::uint8_t> emit_x64_thunk(const CallPlan& plan) {
  using namespace Xbyak::util;
  std::vector<std::uint8_t> buffer(capacity_for(plan) + 64);
  X64Stub a(buffer.size(), buffer.data());

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
  const std::uint32_t ret_align = plan.ret.align > 16 ? plan.ret.align : plan.ret.align > 8 ? 16 : 8;
  const std::uint32_t ret_at = align_up(at, ret_align);
  if (direct_ret) at = align_up(ret_at + plan.ret.size, 8);
  const std::uint32_t sret_at = at;
  if (sret) at += 8;
  const std::uint32_t data_at = at;
  at += 8;
  // Registers this ABI's callers expect preserved that the handler, a host (SysV) function,
  // may clobber: saved around the handler call (Win64: rdi, rsi, xmm6-xmm15).
  const std::uint32_t save_gprs = plan.callee_saved_gprs & ~abi::x64::kSysVCalleeSavedGprs;
  const std::uint32_t save_vecs = plan.callee_saved_vecs & ~abi::x64::kSysVCalleeSavedVecs;
  const std::uint32_t gprs_at = at;
  at += 8 * static_cast<std::uint32_t>(__builtin_popcount(save_gprs));
  const std::uint32_t vecs_at = align_up(at, 16);
  if (save_vecs) at = vecs_at + 16 * static_cast<std::uint32_t>(__builtin_popcount(save_vecs));
  std::uint32_t frame_align = layout.align;
  if (direct_ret && ret_align > frame_align) frame_align = ret_align;
  const bool realign = frame_align > 16;
  // Entry rsp is 8 mod 16; realigned, the frame starts below the pushed rbp.
  const std::uint32_t frame = realign ? align_up(at, frame_align) : align_up(at, 16) + 8;
  const Reg64 caller_base = realign ? rbp : rsp;
  const std::uint32_t caller_args = realign ? 16 : frame + 8;  // above our return address

  a.endbr64();
  // rax carries no argument (at most %al's count, unused here).
  if (realign) {
    a.push(rbp);
    a.mov(rbp, rsp);
    a.realign_stack(frame, frame_align, 16);
  } else {
    a.grow_stack(frame, rax);
  }
  a.mov(qword[rsp + data_at], kVeneerData);
  auto for_saved = [&](auto&& gpr, auto&& vec) {
    std::uint32_t g = gprs_at, v = vecs_at;
    for (int r = 0; r < 16; ++r) {
      if (save_gprs >> r & 1) gpr(Reg64(r), g), g += 8;
      if (save_vecs >> r & 1) vec(Xmm(r), v), v += 16;
    }
  };
  for_saved([&](const Reg64& r, std::uint32_t o) { a.mov(qword[rsp + o], r); },
            [&](const Xmm& x, std::uint32_t o) { a.movaps(xword[rsp + o], x); });

  if (sret) a.mov(qword[rsp + sret_at], Reg64(plan.ret.sret_loc.reg));

  // Register pieces first: the argument registers must be saved before rax is used as scratch
  // (rax is never an argument register on x86-64).
  for (std::size_t i = 0; i < n; ++i) {
    const auto& arg = plan.args[i];
    if (in_place[i]) continue;
    for (const Piece& p : arg.pieces) {
      const bool indirect = arg.kind == abi::PassKind::Indirect;
      switch (p.loc.kind) {
        case LocKind::Gpr:
          if (indirect) a.mov(qword[rsp + args_at + i * 8], Reg64(p.loc.reg));
          else a.store_gpr(Reg64(p.loc.reg), rsp, slot[i] + p.offset, p.size);
          break;
        case LocKind::Vec:
          a.store_vec(p.loc.reg, rsp, slot[i] + p.offset, p.size);
          break;
        case LocKind::Stack:
          a.mov(rax, qword[caller_base + caller_args + p.loc.offset]);
          if (indirect) a.mov(qword[rsp + args_at + i * 8], rax);
          else a.store_gpr(rax, rsp, slot[i] + p.offset, p.size);
          break;
        case LocKind::X87:
          throw Error(ErrorCode::Unsupported, "x86-64 emitter: x87 argument piece");
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& arg = plan.args[i];
    if (arg.kind == abi::PassKind::Indirect) continue;
    if (in_place[i]) a.lea(rax, ptr[caller_base + caller_args + in_place_at[i]]);
    else a.lea(rax, ptr[rsp + slot[i]]);
    a.mov(qword[rsp + args_at + i * 8], rax);
  }

  // Every argument is in the frame now: the native caller's errno goes to the slot, for the
  // handler to read (last_errno()) or replace (set_last_errno()).
  if (plan.capture_errno) call_errno_helper(a, tramp_detail_save_errno);

  // handler(ret, args, user) in the host's SysV convention.
  if (sret) a.mov(rdi, qword[rsp + sret_at]);
  else a.lea(rdi, ptr[rsp + ret_at]);
  a.lea(rsi, ptr[rsp + args_at]);
  a.mov(rax, qword[rsp + data_at]);
  a.mov(rdx, qword[rax + kCallbackUserOffset]);
  a.call(qword[rax + kCallbackHandlerOffset]);
  // The result is still in the frame: errno for the native caller comes from the slot.
  if (plan.capture_errno) call_errno_helper(a, tramp_detail_restore_errno);
  for_saved([&](const Reg64& r, std::uint32_t o) { a.mov(r, qword[rsp + o]); },
            [&](const Xmm& x, std::uint32_t o) { a.movaps(x, xword[rsp + o]); });

  if (direct_ret) {
    // Loads read [rsp + ret_at + off] directly, except the odd sizes that load_gpr assembles
    // in its base register: those go through rcx (never a return register). x87 pieces are
    // pushed last and deepest first, so that the one the plan puts in st0 ends on top.
    for (const Piece& p : plan.ret.pieces) {
      if (p.loc.kind == LocKind::X87) continue;
      const bool via_rcx = p.loc.kind == LocKind::Gpr && load_clobbers_base(p.size);
      const Reg64 base = via_rcx ? rcx : rsp;
      const std::uint32_t off = via_rcx ? p.offset : ret_at + p.offset;
      if (via_rcx) a.lea(rcx, ptr[rsp + ret_at]);
      switch (p.loc.kind) {
        case LocKind::Gpr:
          a.load_gpr(Reg64(p.loc.reg), base, off, p.size, p.ext);
          break;
        case LocKind::Vec:
          a.load_vec(p.loc.reg, base, off, p.size);
          break;
        case LocKind::X87:
          break;
        case LocKind::Stack:
          throw Error(ErrorCode::Unsupported, "x86-64 emitter: return piece on the stack");
      }
    }
    for (auto p = plan.ret.pieces.rbegin(); p != plan.ret.pieces.rend(); ++p)
      if (p->loc.kind == LocKind::X87) a.fld_m80(rsp, ret_at + p->offset);
  } else if (sret && plan.ret.sret_returned) {
    a.mov(Reg64(plan.ret.sret_result.reg), qword[rsp + sret_at]);
  }

  if (realign) {
    a.mov(rsp, rbp);
    a.pop(rbp);
  } else {
    a.add(rsp, frame);
  }
  a.ret();
  buffer.resize(a.getSize());
  return buffer;
}

std::vector<std::uint8_t> emit_x64_veneer(const void* slot) {
  using namespace Xbyak::util;
  std::vector<std::uint8_t> buffer(64);
  X64Stub a(buffer.size(), buffer.data());
  a.endbr64();
  a.mov(kVeneerData, reinterpret_cast<std::uint64_t>(slot));
  a.jmp(qword[kVeneerData]);
  buffer.resize(a.getSize());
  return buffer;
}

}  // namespace tramp::jit
