// AArch64 primitives (asmjit's a64 assembler, which runs on any host: an x86-64 machine can
// show an AArch64 stub) for the walks of jit/walk.cpp; the two AArch64 variants differ only in
// their plans.
//
// Scratch registers (see Scratch), none of which AAPCS64 passes an argument in (6.4.1): x16
// (IP0) holds the target, since a `br x16` may land on a `bti c`, and the address of every
// call tramp makes; x9 the args array, and in a thunk the callback's data; x10 args[i]; x11
// a value in transit and the high part of an odd-sized load; x17 (IP1) addresses for offsets
// no instruction encodes, the probe counter, and the veneer's slot. The return address is in
// x30, so every frame that calls keeps a frame record (x29, x30): a call stub pushes one with
// `ret` above it and makes x29 its frame pointer; a thunk keeps one at the top of its frame.
#include <cstring>
#include <optional>

#include <asmjit/core.h>
#include <asmjit/arm/a64assembler.h>

#include "jit/emitter.hpp"
#include "jit/isa.hpp"

namespace tramp::jit {
namespace {

using abi::Ext;
using abi::Loc;
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
constexpr Gpr kFp = 29, kLr = 30;

const GpX kFn = a64::x16;
const GpX kValue = a64::x11;
const GpX kAddr = a64::x17;

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

const IsaFacts kFacts{
    .arch = abi::Arch::A64,
    .sp = abi::a64::kSp,
    .return_address_bytes = 0,
    .frame_record_bytes = 16,
    .min_ret_align = 16,
    .regs = {.pointer = 10,
             .value = 11,
             .fn = 16,
             .args = 9,
             .move_entry = true,
             .thunk_value = 11,
             .thunk_data = 9,
             .ret_base = 11,
             .veneer_data = 17,
             .veneer_data_kept = false,  // x17 addresses offsets that do not encode
             .probe = 17},
};

class A64Isa final : public Isa {
 public:
  A64Isa() : Isa(kFacts) {
    code_.init(asmjit::Environment(asmjit::Arch::kAArch64));
    code_.setErrorHandler(&errors_);
    code_.attach(&a);
  }

  std::uint32_t here() const override { return static_cast<std::uint32_t>(a.offset()); }
  std::vector<std::uint8_t> finish() override {
    const asmjit::CodeBuffer& buf = code_.textSection()->buffer();
    return std::vector<std::uint8_t>(buf.data(), buf.data() + buf.size());
  }

  void landing_pad() override { a.hint(kBtiC); }
  void move(Gpr dst, Gpr src) override { a.mov(GpX(dst), GpX(src)); }
  void move_imm(Gpr dst, std::uint64_t value) override {
    a.movz(GpX(dst), value & 0xFFFF, 0);
    for (unsigned shift = 16; shift < 64; shift += 16)
      if ((value >> shift) & 0xFFFF) a.movk(GpX(dst), (value >> shift) & 0xFFFF, shift);
  }
  void address(Gpr dst, Gpr base, std::uint32_t off) override {
    if (off < 4096) {
      a.add(GpX(dst), GpX(base), off);
    } else {
      move_imm(kAddr.id(), off);
      a.add(GpX(dst), GpX(base), kAddr);
    }
  }

  void load_word(Gpr dst, Gpr base, std::uint32_t off, std::uint32_t size) override {
    load_natural(GpX(dst), GpX(base), off, size, Ext::None);
  }

  void store_word(Gpr src_reg, Gpr base, std::uint32_t off, std::uint32_t size) override {
    bool u;
    const GpX src(src_reg);
    const a64::Mem m = mem(GpX(base), off, size, u);
    switch (size) {
      case 1: u ? a.sturb(src.w(), m) : a.strb(src.w(), m); return;
      case 2: u ? a.sturh(src.w(), m) : a.strh(src.w(), m); return;
      case 4: u ? a.stur(src.w(), m) : a.str(src.w(), m); return;
      case 8: u ? a.stur(src, m) : a.str(src, m); return;
    }
    throw Error(ErrorCode::Unsupported, "AArch64 emitter: memory piece of " + std::to_string(size) + " bytes");
  }

  // 3, 5, 6 and 7 bytes (the tail of a composite) are joined from two loads through x11.
  void load_int(Gpr dst_reg, Gpr base_reg, std::uint32_t off, std::uint32_t size, Ext ext) override {
    const GpX dst(dst_reg), base(base_reg);
    if (size == 1 || size == 2 || size == 4 || size == 8) return load_natural(dst, base, off, size, ext);
    if (size == 0 || size > 8)
      throw Error(ErrorCode::Unsupported, "AArch64 emitter: memory piece of " + std::to_string(size) + " bytes");
    const std::uint32_t low = size == 3 ? 2 : 4;
    load_natural(dst, base, off, low, Ext::None);
    // The high part: the last bytes; for 7 an overlapping word whose shared byte is equal.
    const std::uint32_t high = size - low == 3 ? 4 : size - low;
    const std::uint32_t high_at = size - high;
    load_natural(kValue, base, off + high_at, high, Ext::None);
    a.lsl(kValue, kValue, high_at * 8);
    a.orr(dst, dst, kValue);
  }
  bool load_clobbers_base(std::uint32_t) const override { return false; }

  void shift_right(Gpr reg, std::uint32_t bits) override { a.lsr(GpX(reg), GpX(reg), bits); }

  void extend(Gpr reg, std::uint32_t size, Ext ext) override {
    const GpX x(reg);
    const GpW w(reg);
    const bool sign = ext == Ext::Sign;
    switch (size) {
      case 1: if (sign) a.sxtb(x, w); else a.uxtb(w, w); return;
      case 2: if (sign) a.sxth(x, w); else a.uxth(w, w); return;
      // A write to a W register zeroes bits 63:32.
      case 4: if (sign) a.sxtw(x, w); else a.mov(w, w); return;
    }
    throw Error(ErrorCode::Unsupported, "AArch64 emitter: widening " + std::to_string(size) + " bytes");
  }

  void load_vec(std::uint8_t reg, Gpr base, std::uint32_t off, std::uint32_t size) override {
    bool u;
    const a64::Mem m = mem(GpX(base), off, size, u);
    switch (size) {
      case 2: u ? a.ldur(a64::VecH(reg), m) : a.ldr(a64::VecH(reg), m); return;
      case 4: u ? a.ldur(a64::VecS(reg), m) : a.ldr(a64::VecS(reg), m); return;
      case 8: u ? a.ldur(a64::VecD(reg), m) : a.ldr(a64::VecD(reg), m); return;
      case 16: u ? a.ldur(a64::VecV(reg), m) : a.ldr(a64::VecV(reg), m); return;
    }
    throw Error(ErrorCode::Unsupported, "AArch64 emitter: vector piece of " + std::to_string(size) + " bytes");
  }

  void store_vec(std::uint8_t reg, Gpr base, std::uint32_t off, std::uint32_t size) override {
    bool u;
    const a64::Mem m = mem(GpX(base), off, size, u);
    switch (size) {
      case 2: u ? a.stur(a64::VecH(reg), m) : a.str(a64::VecH(reg), m); return;
      case 4: u ? a.stur(a64::VecS(reg), m) : a.str(a64::VecS(reg), m); return;
      case 8: u ? a.stur(a64::VecD(reg), m) : a.str(a64::VecD(reg), m); return;
      case 16: u ? a.stur(a64::VecV(reg), m) : a.str(a64::VecV(reg), m); return;
    }
    throw Error(ErrorCode::Unsupported, "AArch64 emitter: vector piece of " + std::to_string(size) + " bytes");
  }

  void save_vec(std::uint8_t reg, std::uint32_t sp_off) override { store_vec(reg, abi::a64::kSp, sp_off, 16); }
  void restore_vec(std::uint8_t reg, std::uint32_t sp_off) override { load_vec(reg, abi::a64::kSp, sp_off, 16); }

  // A page or more is probed through x17.
  void grow_stack(std::uint32_t n) override {
    if (n == 0) return;
    if (n < kStackProbeInterval) {
      a.sub(a64::sp, a64::sp, n);
      frame.sp_down(here(), n);
    } else {
      move_imm(kAddr.id(), n);
      probe_stack(kAddr, n);
    }
  }

  void shrink_stack(std::uint32_t n) override {
    if (n == 0) return;
    if (n < 4096) {
      a.add(a64::sp, a64::sp, n);
    } else {
      move_imm(kAddr.id(), n);
      a.add(a64::sp, a64::sp, kAddr);
    }
    frame.sp_up(here(), n);
  }

  void save_frame_record(std::uint32_t sp_off) override {
    a.stp(a64::x29, a64::x30, record_mem(sp_off));
    frame.save(here(), Loc::gpr(kFp), sp_off);
    frame.save(here(), Loc::gpr(kLr), sp_off + 8);
    address(kFp, abi::a64::kSp, sp_off);
  }

  void restore_frame_record(std::uint32_t sp_off) override {
    a.ldp(a64::x29, a64::x30, record_mem(sp_off));
    frame.restore(here(), Loc::gpr(kFp));
    frame.restore(here(), Loc::gpr(kLr));
  }

  // [x29] = the caller's x29, x30; [x29 + 16] = `ret` (a direct result); below, the copies
  // (each at its alignment within an area aligned to the largest) and then the outgoing stack
  // arguments at sp.
  void open_call_frame(const CallFrame& f) override {
    const std::uint32_t record = f.keep_ret ? 32 : 16;
    a.stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -static_cast<std::int32_t>(record)));
    frame.sp_down(here(), record);
    frame.save(here(), Loc::gpr(kFp), 0);
    frame.save(here(), Loc::gpr(kLr), 8);
    a.mov(a64::x29, a64::sp);
    frame.frame_pointer(here(), kFp, 0);
    if (f.keep_ret) a.str(GpX(f.ret_in), a64::ptr(a64::sp, 16));
    const std::uint32_t area = f.copy_base + align_up(f.copies, 16);
    if (f.align <= 16) return grow_stack(area);
    realign_stack(area, f.align);  // the copies need more than 16-byte alignment
  }

  // The frame record is pushed first and x29 keeps its address: the CFA is x29 + 16.
  Gpr open_aligned_frame(std::uint32_t bytes, std::uint32_t align) override {
    a.stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -16));
    frame.sp_down(here(), 16);
    frame.save(here(), Loc::gpr(kFp), 0);
    frame.save(here(), Loc::gpr(kLr), 8);
    a.mov(a64::x29, a64::sp);
    frame.frame_pointer(here(), kFp, 0);
    realign_stack(bytes, align);
    return kFp;
  }

  void close_aligned_frame() override {
    a.mov(a64::sp, a64::x29);
    frame.sp_from_frame_pointer();
    a.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, 16));
    frame.sp_up(here(), 16);
    frame.restore(here(), Loc::gpr(kFp));
    frame.restore(here(), Loc::gpr(kLr));
  }

  Gpr close_call_frame(const CallFrame& f) override {
    a.mov(a64::sp, a64::x29);
    frame.sp_from_frame_pointer();
    if (!f.keep_ret) return 0;
    a.ldr(a64::x9, a64::ptr(a64::sp, 16));
    return 9;
  }

  void leave_call_frame(const CallFrame& f) override {
    const std::uint32_t record = f.keep_ret ? 32 : 16;
    a.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, static_cast<std::int32_t>(record)));
    frame.sp_up(here(), record);
    frame.restore(here(), Loc::gpr(kFp));
    frame.restore(here(), Loc::gpr(kLr));
    ret();
  }

  void call(Gpr fn) override { a.blr(GpX(fn)); }
  void call_memory(Gpr base, std::uint32_t off) override {
    load_word(kFn.id(), base, off, 8);
    a.blr(kFn);
  }
  void tail_jump(Gpr fn) override { a.br(GpX(fn)); }
  void ret() override { a.ret(a64::x30); }

  // blr through x16; x30 is kept in a frame record pushed here unless the frame holds it. A
  // vector register is kept whole.
  void call_helper(void (*helper)() noexcept, std::span<const Kept> keep) override {
    const bool record = !frame.is_saved(Loc::gpr(kLr));
    std::uint32_t bytes = 0;
    std::vector<std::uint32_t> at;
    const std::uint32_t base = record ? 16 : 0;
    for (const Kept& k : keep) {
      const std::uint32_t size = k.reg.kind == abi::LocKind::Gpr ? 8 : 16;
      bytes = align_up(bytes, size);
      at.push_back(base + bytes);
      bytes += size;
    }
    bytes = base + align_up(bytes, 16);
    if (record) {
      a.stp(a64::x29, a64::x30, a64::ptr_pre(a64::sp, -static_cast<std::int32_t>(bytes)));
      frame.sp_down(here(), bytes);
      frame.save(here(), Loc::gpr(kFp), 0);
      frame.save(here(), Loc::gpr(kLr), 8);
      a.mov(a64::x29, a64::sp);
    } else if (bytes) {
      a.sub(a64::sp, a64::sp, bytes);
      frame.sp_down(here(), bytes);
    }
    each_pair(keep, at, [&](GpX x, GpX y, std::uint32_t o) { a.stp(x, y, a64::ptr(a64::sp, o)); },
              [&](const Kept& k, std::uint32_t o) {
                if (k.reg.kind == abi::LocKind::Gpr) a.str(GpX(k.reg.reg), a64::ptr(a64::sp, o));
                else a.str(a64::VecV(k.reg.reg), a64::ptr(a64::sp, o));
              });
    move_imm(kFn.id(), reinterpret_cast<std::uint64_t>(helper));
    a.blr(kFn);
    each_pair(keep, at, [&](GpX x, GpX y, std::uint32_t o) { a.ldp(x, y, a64::ptr(a64::sp, o)); },
              [&](const Kept& k, std::uint32_t o) {
                if (k.reg.kind == abi::LocKind::Gpr) a.ldr(GpX(k.reg.reg), a64::ptr(a64::sp, o));
                else a.ldr(a64::VecV(k.reg.reg), a64::ptr(a64::sp, o));
              });
    if (record) {
      a.ldp(a64::x29, a64::x30, a64::ptr_post(a64::sp, static_cast<std::int32_t>(bytes)));
      frame.sp_up(here(), bytes);
      frame.restore(here(), Loc::gpr(kFp));
      frame.restore(here(), Loc::gpr(kLr));
    } else if (bytes) {
      a.add(a64::sp, a64::sp, bytes);
      frame.sp_up(here(), bytes);
    }
  }

  // 24 bytes, the slot's address a literal at offset 16: fits libffi's FFI_TRAMPOLINE_SIZE.
  void jump_via_slot(const void* slot) override {
    const GpX data(kFacts.regs.veneer_data);
    asmjit::Label literal = a.newLabel();
    a.ldr(data, a64::ptr(literal));
    a.ldr(kFn, a64::ptr(data));
    a.br(kFn);  // x16 (IP0): lands on the target's `bti c`; x17 (IP1) keeps the slot's address
    a.bind(literal);
    a.embedUInt64(reinterpret_cast<std::uint64_t>(slot));
  }

 private:
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
    address(kAddr.id(), base.id(), off);
    return a64::ptr(kAddr);
  }

  // A frame record's operand: stp/ldp take a signed 7-bit multiple of 8.
  a64::Mem record_mem(std::uint32_t sp_off) {
    if (sp_off <= 504) return a64::ptr(a64::sp, static_cast<std::int32_t>(sp_off));
    address(kAddr.id(), abi::a64::kSp, sp_off);
    return a64::ptr(kAddr);
  }

  // 1, 2, 4 or 8 bytes, widened per `ext` (to 32 bits for sign extension, as Apple's ABI
  // asks; zero extension covers all 64).
  void load_natural(const GpX& dst, const GpX& base, std::uint32_t off, std::uint32_t size, Ext ext) {
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
    }
    throw Error(ErrorCode::Unsupported, "AArch64 emitter: memory piece of " + std::to_string(size) + " bytes");
  }

  // Kept general registers in adjacent slots go in pairs (stp/ldp), the rest one by one.
  template <class Pair, class One>
  static void each_pair(std::span<const Kept> keep, const std::vector<std::uint32_t>& at, Pair&& pair, One&& one) {
    for (std::size_t i = 0; i < keep.size(); ++i) {
      const bool gpr = keep[i].reg.kind == abi::LocKind::Gpr;
      if (gpr && i + 1 < keep.size() && keep[i + 1].reg.kind == abi::LocKind::Gpr && at[i + 1] == at[i] + 8) {
        pair(GpX(keep[i].reg.reg), GpX(keep[i + 1].reg.reg), at[i]);
        ++i;
      } else {
        one(keep[i], at[i]);
      }
    }
  }

  // sp -= bytes, then down to a multiple of `align` (AND may write sp; x29 already holds the
  // CFA). sp is 16-aligned, so the `and` moves it by up to align - 16: that move counts
  // towards the probe threshold. Through x17.
  void realign_stack(std::uint32_t bytes, std::uint32_t align) {
    const std::uint64_t mask = ~static_cast<std::uint64_t>(align - 1);
    move_imm(kAddr.id(), bytes);
    a.sub(kAddr, a64::sp, kAddr);
    if (bytes + align - 16 < kStackProbeInterval) {
      a.and_(a64::sp, kAddr, mask);
      frame.sp_unknown(align);
    } else {
      a.and_(kAddr, kAddr, mask);
      a.sub(kAddr, a64::sp, kAddr);  // the distance to the realigned frame's bottom
      probe_stack(kAddr, std::nullopt, align);
    }
  }

  // sp -= `distance` (a register, destroyed; a multiple of 16), one probe per
  // kStackProbeInterval bytes from the current sp down and one at the new sp, so no page is
  // skipped (stack-clash protection, emitter.hpp). A bounded loop: frames reach a megabyte.
  // With the total known, the frame is told where the CFA is at every instruction.
  // Without the total, the new sp is a multiple of `aligned_to`.
  void probe_stack(const GpX& distance, std::optional<std::uint32_t> total, std::uint32_t aligned_to = 0) {
    const Gpr counter = static_cast<Gpr>(distance.id());
    const std::uint32_t cfa = total ? frame.depth() + *total : 0;
    if (total) frame.sp_counting(here(), counter, cfa);
    const asmjit::Label loop = a.newLabel(), last = a.newLabel();
    a.cmp(distance, kStackProbeInterval);
    a.b_lo(last);
    a.bind(loop);
    a.sub(a64::sp, a64::sp, kStackProbeInterval);
    if (total) frame.sp_counting(here(), counter, cfa + kStackProbeInterval);
    a.str(a64::xzr, a64::ptr(a64::sp));
    a.sub(distance, distance, kStackProbeInterval);
    if (total) frame.sp_counting(here(), counter, cfa);
    a.cmp(distance, kStackProbeInterval);
    a.b_hs(loop);
    a.bind(last);
    a.sub(a64::sp, a64::sp, distance);
    if (total) frame.sp_down(here(), *total);
    else frame.sp_unknown(aligned_to);
    a.str(a64::xzr, a64::ptr(a64::sp));
  }

  a64::Assembler a;
  Throwing errors_;
  asmjit::CodeHolder code_;
};

}  // namespace

IsaHandle make_a64_isa() { return IsaHandle(new A64Isa()); }

}  // namespace tramp::jit
