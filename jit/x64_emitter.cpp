// x86-64 primitives (xbyak) for the walks of jit/walk.cpp, for every x86-64 convention the
// classifiers describe.
//
// Scratch registers (see Scratch): rax carries args[i] in a call stub (no convention passes an
// argument in it; a variadic SysV call gets %al last) and a value in a thunk (only %al, which
// a thunk does not read); rcx is a call stub's value scratch in its memory phase, before any
// argument register is loaded, and a thunk's result-buffer base after the handler; r10 and
// r11 hold args and fn when their entry registers are needed (neither passes arguments in
// SysV or Win64, psABI figure 3.4); a veneer leaves its slot in r11. The return address is
// on the stack: a call stub keeps `ret` by pushing it (the push also aligns rsp for the
// call), and realigns for an over-aligned argument area with rbp as a frame pointer.
#include <cstring>
#include <memory>
#include <optional>

#include <xbyak/xbyak.h>

#include "jit/emitter.hpp"
#include "jit/isa.hpp"
#include "jit/x64_encode.hpp"

namespace tramp::jit {
namespace {

using abi::Ext;
using abi::Loc;
using Xbyak::Reg32;
using Xbyak::Reg64;
using Xbyak::Xmm;
namespace x64 = abi::x64;
namespace enc = x64_encoding;

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }

const IsaFacts kFacts{
    .arch = abi::Arch::X64,
    .sp = x64::rsp,
    .return_address_bytes = 8,
    .frame_record_bytes = 0,
    .min_ret_align = 8,
    .regs = {.pointer = x64::rax,
             .value = x64::rcx,
             .fn = x64::r11,
             .args = x64::r10,
             .move_entry = false,
             .thunk_value = x64::rax,
             .thunk_data = x64::rax,
             .ret_base = x64::rcx,
             .veneer_data = x64::r11,
             .veneer_data_kept = true,  // no primitive writes r11 but the call stub's fn
             .probe = x64::rax},
};

// The code's buffer, made before the assembler that writes into it.
struct CodeBuffer {
  explicit CodeBuffer(std::size_t capacity) : bytes(capacity) {}
  std::vector<std::uint8_t> bytes;
};

class X64Isa final : private CodeBuffer, public Isa, private Xbyak::CodeGenerator {
 public:
  explicit X64Isa(std::size_t capacity, bool reused = false)
      : CodeBuffer(capacity), Isa(kFacts), CodeGenerator(capacity, bytes.data()), reused_(reused) {}

  // The thread's reused one (make_x64_isa), ready for the next walk; null while a walk holds it.
  static X64Isa* take_reused() {
    // On the heap, found through one pointer: the generator is several KiB, and a library with
    // that much thread-local data cannot be dlopen'ed once it also uses the initial-exec TLS
    // model (core/engine.cpp does): all of it would have to fit in the static TLS that glibc
    // keeps for such libraries.
    thread_local std::unique_ptr<X64Isa> reused;
    thread_local bool taken = false;
    if (taken) return nullptr;
    if (!reused) reused = std::make_unique<X64Isa>(kReusedCapacity, true);
    // Xbyak's full reset rebuilds its label tables (several allocations, most of a walk's
    // set-up cost); only a walk that made labels (a stack probe) leaves anything in them,
    // also one that threw midway.
    if (reused->labels_used_) reused->reset();
    else reused->resetSize();
    reused->labels_used_ = false;
    reused->frame = FrameBuilder(kFacts.arch, kFacts.sp, kFacts.return_address_bytes);
    reused->taken_ = &taken;
    taken = true;
    return reused.get();
  }
  static constexpr std::size_t kReusedCapacity = 64 * 1024;

  std::uint32_t here() const override { return static_cast<std::uint32_t>(getSize()); }
  std::vector<std::uint8_t> finish() override {
    if (reused_) return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(getSize())};
    bytes.resize(getSize());
    return std::move(bytes);
  }

  void landing_pad() override { endbr64(); }
  void move(Gpr dst, Gpr src) override { put(enc::reg_reg({.rex_w = true, .opcode = 0x89}, src, dst)); }
  void move_imm(Gpr dst, std::uint64_t value) override { put(enc::mov_imm(dst, value)); }
  void address(Gpr dst, Gpr base, std::uint32_t off) override { put(enc::reg_mem(enc::kLea, dst, base, off)); }

  // MOV r, r/m (8B, 8A for a byte) and MOV r/m, r (89, 88).
  void load_word(Gpr dst, Gpr base, std::uint32_t off, std::uint32_t size) override {
    put(enc::reg_mem(mov_form(size, 0x8B), dst, base, off));
  }
  void store_word(Gpr src, Gpr base, std::uint32_t off, std::uint32_t size) override {
    put(enc::reg_mem(mov_form(size, 0x89), src, base, off));
  }
  static enc::Form mov_form(std::uint32_t size, std::uint8_t opcode) {
    switch (size) {
      case 8: return {.rex_w = true, .opcode = opcode};
      case 4: return {.opcode = opcode};
      case 2: return {.prefix = 0x66, .opcode = opcode};
      case 1: return {.byte_reg = true, .opcode = static_cast<std::uint8_t>(opcode - 1)};
    }
    not_a_word(size);
  }
  [[noreturn, gnu::cold, gnu::noinline]] static void not_a_word(std::uint32_t size) {
    throw Error(ErrorCode::Jit, "x86-64: a word of " + std::to_string(size) + " bytes");
  }
  // Out of line, as not_a_word: the primitives' usual paths then need no frame for a message.
  [[noreturn, gnu::cold, gnu::noinline]] static void unsupported(const char* what, std::uint32_t size) {
    throw Error(ErrorCode::Unsupported, std::string("x86-64 emitter: ") + what + " " + std::to_string(size) + " bytes");
  }

  void load_int(Gpr dst, Gpr base_reg, std::uint32_t off, std::uint32_t size, Ext ext) override {
    switch (size) {
      case 1:  // MOVSX/MOVZX r32, r/m8: 0F BE, 0F B6; r/m16: 0F BF, 0F B7
      case 2: {
        const std::uint8_t op = static_cast<std::uint8_t>((ext == Ext::Sign ? 0xBE : 0xB6) + (size == 2));
        put(enc::reg_mem({.escape = true, .opcode = op}, dst, base_reg, off));
        return;
      }
      case 4:
      case 8:
        load_word(dst, base_reg, off, size);
        return;
      case 3: {
        const Reg64 d(dst), base(base_reg);
        const Reg32 d32 = d.cvt32(), b32 = base.cvt32();
        movzx(d32, word[base + off + 1]);
        shl(d32, 8);
        movzx(b32, byte[base + off]);
        or_(d, base);
        return;
      }
      case 5:
      case 6:
      case 7: {
        const Reg64 d(dst), base(base_reg);
        const Reg32 d32 = d.cvt32(), b32 = base.cvt32();
        // Two overlapping dword loads: the bytes both cover are equal, so OR joins them.
        mov(d32, dword[base + off + size - 4]);
        shl(d, (size - 4) * 8);
        mov(b32, dword[base + off]);
        or_(d, base);
        return;
      }
    }
    unsupported("integer piece of", size);
  }
  // The sizes load_int assembles from two reads, the last one into its base register.
  bool load_clobbers_base(std::uint32_t size) const override { return size == 3 || (size >= 5 && size <= 7); }

  void shift_right(Gpr reg, std::uint32_t bits) override { shr(Reg64(reg), static_cast<int>(bits)); }

  void extend(Gpr reg, std::uint32_t size, Ext ext) override {
    const Reg64 r(reg);
    const bool sign = ext == Ext::Sign;
    switch (size) {
      case 1: if (sign) movsx(r, r.cvt8()); else movzx(r.cvt32(), r.cvt8()); return;
      case 2: if (sign) movsx(r, r.cvt16()); else movzx(r.cvt32(), r.cvt16()); return;
      // A 32-bit operation zero-extends its result to 64 bits.
      case 4: if (sign) movsxd(r, r.cvt32()); else mov(r.cvt32(), r.cvt32()); return;
    }
    unsupported("widening", size);
  }

  // Reads only the piece's bytes: 2 and 6 (_Float16 values) through pinsrw (SSE2), 32 into
  // ymm (AVX) and 64 into zmm (AVX-512F).
  void load_vec(std::uint8_t reg, Gpr base, std::uint32_t off, std::uint32_t size) override {
    const Xmm x(reg);
    const Reg64 b(base);
    switch (size) {
      case 2: pinsrw(x, word[b + off], 0); return;
      case 4: put(enc::reg_mem(kMovdLoad, reg, base, off)); return;
      case 6: put(enc::reg_mem(kMovdLoad, reg, base, off)); pinsrw(x, word[b + off + 4], 2); return;
      case 8: put(enc::reg_mem({.prefix = 0xF3, .escape = true, .opcode = 0x7E}, reg, base, off)); return;  // MOVQ xmm, m64
      case 16: put(enc::reg_mem({.escape = true, .opcode = 0x10}, reg, base, off)); return;                   // MOVUPS xmm, m128
      case 32: vmovups(Xbyak::Ymm(reg), yword[b + off]); return;
      case 64: vmovups(Xbyak::Zmm(reg), zword[b + off]); return;
    }
    unsupported("vector piece of", size);
  }

  // SSE2 has no 2-byte store from an xmm register: 2 and 6 go through r11, which no x86-64
  // convention passes or returns a value in. A thunk keeps the veneer's data in r11 until the
  // handler call, so r11 is pushed and popped around the word (only _Float16 pieces pay).
  void store_vec(std::uint8_t reg, Gpr base, std::uint32_t off, std::uint32_t size) override {
    const Xmm x(reg);
    const Reg64 b(base);
    switch (size) {
      case 2: store_vec_word(x, 0, b, off); return;
      case 4: put(enc::reg_mem(kMovdStore, reg, base, off)); return;
      case 6: put(enc::reg_mem(kMovdStore, reg, base, off)); store_vec_word(x, 2, b, off + 4); return;
      case 8: put(enc::reg_mem({.prefix = 0x66, .escape = true, .opcode = 0xD6}, reg, base, off)); return;  // MOVQ m64, xmm
      case 16: put(enc::reg_mem({.escape = true, .opcode = 0x11}, reg, base, off)); return;                   // MOVUPS m128, xmm
      case 32: vmovups(yword[b + off], Xbyak::Ymm(reg)); return;
      case 64: vmovups(zword[b + off], Xbyak::Zmm(reg)); return;
    }
    unsupported("vector piece of", size);
  }

  // Word `index` of x to [b + off], r11 kept.
  void store_vec_word(const Xmm& x, std::uint8_t index, const Reg64& b, std::uint32_t off) {
    if (b.getIdx() == r11.getIdx()) throw Error(ErrorCode::Jit, "x86-64 emitter: a _Float16 piece stored through r11");
    push(r11);
    frame.sp_down(here(), 8);
    pextrw(r11d, x, index);
    mov(word[b + (b.getIdx() == rsp.getIdx() ? off + 8 : off)], r11w);
    pop(r11);
    frame.sp_up(here(), 8);
  }

  void save_vec(std::uint8_t reg, std::uint32_t sp_off) override { movaps(xword[rsp + sp_off], Xmm(reg)); }
  void restore_vec(std::uint8_t reg, std::uint32_t sp_off) override { movaps(Xmm(reg), xword[rsp + sp_off]); }

  // FSTP m80fp (DB /7) and FLD m80fp (DB /5) with a [base + disp32] operand; xbyak has no
  // 80-bit memory form.
  void store_x87(Gpr base, std::uint32_t off) override { x87_m80(7, base, off); }
  void load_x87(Gpr base, std::uint32_t off) override { x87_m80(5, base, off); }

  void grow_stack(std::uint32_t n) override {
    if (n < kStackProbeInterval) {
      if (n) {
        put(enc::arith_imm(enc::kSubExt, x64::rsp, n));
        frame.sp_down(here(), n);
      }
      return;
    }
    mov(rax, n);
    probe_stack(rax, n);
  }

  void shrink_stack(std::uint32_t n) override {
    if (!n) return;
    put(enc::arith_imm(enc::kAddExt, x64::rsp, n));
    frame.sp_up(here(), n);
  }

  void open_call_frame(const CallFrame& f) override {
    // A kept `ret` rides on the stack; the push also restores 16-byte alignment (the entry
    // rsp is 8 mod 16).
    if (f.keep_ret) {
      put(enc::opcode_reg(enc::kPush, f.ret_in));
      frame.sp_down(here(), 8);
    }
    const Sizes s = sizes(f);
    if (!s.realign) return grow_stack(s.grown);
    push_frame_pointer();
    realign_stack(s.core, f.align, 8);  // rsp is 8-aligned here; rax is free until the memory phase
  }

  Gpr close_call_frame(const CallFrame& f) override {
    const Sizes s = sizes(f);
    if (s.realign) {
      pop_frame_pointer();
    } else {
      shrink_stack(s.grown);
    }
    if (!f.keep_ret) return 0;
    put(enc::opcode_reg(enc::kPop, x64::rcx));  // no result register
    frame.sp_up(here(), 8);
    return x64::rcx;
  }

  void leave_call_frame(const CallFrame&) override { ret(); }

  // rbp keeps the entry rsp (after the caller's rbp is pushed): the caller's stack arguments
  // are at [rbp + 16], the CFA rbp + 16. The entry rsp is 8 mod 16, so after the push the
  // `and` moves rsp by up to align - 16. Through rax (the probe register).
  Gpr open_aligned_frame(std::uint32_t bytes, std::uint32_t align) override {
    push_frame_pointer();
    realign_stack(bytes, align, 16);
    return x64::rbp;
  }
  void close_aligned_frame() override { pop_frame_pointer(); }

  void call(Gpr fn) override { put(enc::reg_reg(enc::kGroup5, enc::kCallExt, fn)); }
  void call_memory(Gpr base, std::uint32_t off) override { put(enc::reg_mem(enc::kGroup5, enc::kCallExt, base, off)); }
  void tail_jump(Gpr fn) override { put(enc::reg_reg(enc::kGroup5, enc::kJmpExt, fn)); }
  void ret() override { db(0xC3); }

  // General registers are pushed (one byte each); with a vector register among them, each
  // gets a slot written by a move. Then rsp is aligned for the call through rax.
  void call_helper(void (*helper)() noexcept, std::span<const Kept> keep) override {
    const std::uint32_t depth = frame.depth_mod16();
    bool only_gprs = true;
    for (const Kept& k : keep) only_gprs = only_gprs && k.reg.kind == abi::LocKind::Gpr;
    std::uint32_t bytes = 0, pad = 0;
    if (only_gprs) {
      for (const Kept& k : keep) {
        push(Reg64(k.reg.reg));
        frame.sp_down(here(), 8);
      }
      bytes = 8 * static_cast<std::uint32_t>(keep.size());
      pad = (16 - (depth + bytes) % 16) % 16;
      grow_stack(pad);
    } else {
      for (const Kept& k : keep) bytes += 8 * ((k.bytes + 7) / 8);
      pad = (16 - (depth + bytes) % 16) % 16;
      grow_stack(bytes + pad);
      each_slot(keep, [&](const Kept& k, std::uint32_t at) {
        if (k.reg.kind == abi::LocKind::Gpr) store_word(k.reg.reg, x64::rsp, at, 8);
        else store_vec(k.reg.reg, x64::rsp, at, k.bytes);
      });
    }
    mov(rax, reinterpret_cast<std::uint64_t>(helper));
    CodeGenerator::call(rax);
    if (only_gprs) {
      shrink_stack(pad);
      for (std::size_t i = keep.size(); i-- > 0;) {
        pop(Reg64(keep[i].reg.reg));
        frame.sp_up(here(), 8);
      }
    } else {
      each_slot(keep, [&](const Kept& k, std::uint32_t at) {
        if (k.reg.kind == abi::LocKind::Gpr) load_word(k.reg.reg, x64::rsp, at, 8);
        else load_vec(k.reg.reg, x64::rsp, at, k.bytes);
      });
      shrink_stack(bytes + pad);
    }
  }

  void jump_via_slot(const void* slot) override {
    const Reg64 data(kFacts.regs.veneer_data);
    mov(data, reinterpret_cast<std::uint64_t>(slot));
    jmp(qword[data]);
  }

 protected:
  void release() noexcept override {
    if (reused_) *taken_ = false;
    else delete this;
  }

 private:
  const bool reused_;
  bool* taken_ = nullptr;  // the thread's flag, while a walk holds the reused one
  bool labels_used_ = false;  // since the last reset (take_reused)

  struct Sizes {
    bool realign;
    std::uint32_t core;   // outgoing arguments and copies, a multiple of the alignment
    std::uint32_t grown;  // what grow_stack moves when not realigning
  };
  static Sizes sizes(const CallFrame& f) {
    const bool realign = f.align > 16;
    const std::uint32_t core = f.copy_base + align_up(f.copies, realign ? f.align : 16);
    return {realign, core, core + (f.keep_ret ? 0 : 8)};
  }

  void push_frame_pointer() {
    push(rbp);
    frame.sp_down(here(), 8);
    frame.save(here(), Loc::gpr(x64::rbp), 0);
    mov(rbp, rsp);
    frame.frame_pointer(here(), x64::rbp, 0);
  }

  void pop_frame_pointer() {
    mov(rsp, rbp);
    frame.sp_from_frame_pointer();
    pop(rbp);
    frame.sp_up(here(), 8);
    frame.restore(here(), Loc::gpr(x64::rbp));
  }

  // rsp -= bytes, then down to a multiple of `align` (rbp already holds the CFA). rsp is a
  // multiple of `known` (8 or 16) before, so the `and` moves it by up to align - known: that
  // move counts towards the probe threshold. Through rax.
  void realign_stack(std::uint32_t bytes, std::uint32_t align, std::uint32_t known) {
    const std::int32_t mask = -static_cast<std::int32_t>(align);
    if (bytes + align - known < kStackProbeInterval) {
      and_(rsp, mask);
      frame.sp_unknown(align);
      if (bytes) {
        sub(rsp, bytes);
        frame.sp_down(here(), bytes);
      }
    } else {
      lea(rax, ptr[rsp - static_cast<std::int32_t>(bytes)]);
      and_(rax, mask);
      neg(rax);
      add(rax, rsp);  // the distance to the realigned frame's bottom
      probe_stack(rax, std::nullopt, align);
    }
  }

  template <class F>
  static void each_slot(std::span<const Kept> keep, F&& f) {
    std::uint32_t at = 0;
    for (const Kept& k : keep) {
      f(k, at);
      at += 8 * ((k.bytes + 7) / 8);
    }
  }

  // rsp -= `distance` (a register, destroyed), one probe per kStackProbeInterval bytes from
  // the current rsp down and one at the new rsp, so no page is skipped (stack-clash
  // protection, emitter.hpp). A bounded loop: frames reach a megabyte. With the total known,
  // the frame is told where the CFA is at every instruction of the loop.
  // Without the total, the new rsp is a multiple of `aligned_to`.
  void probe_stack(const Reg64& distance, std::optional<std::uint32_t> total, std::uint32_t aligned_to = 0) {
    const Gpr counter = static_cast<Gpr>(distance.getIdx());
    const std::uint32_t cfa = total ? frame.depth() + *total : 0;
    if (total) frame.sp_counting(here(), counter, cfa);
    labels_used_ = true;
    Xbyak::Label loop, last;
    cmp(distance, kStackProbeInterval);
    jb(last);
    L(loop);
    sub(rsp, kStackProbeInterval);
    if (total) frame.sp_counting(here(), counter, cfa + kStackProbeInterval);
    or_(qword[rsp], 0);
    sub(distance, kStackProbeInterval);
    if (total) frame.sp_counting(here(), counter, cfa);
    cmp(distance, kStackProbeInterval);
    jae(loop);
    L(last);
    sub(rsp, distance);
    if (total) frame.sp_down(here(), *total);
    else frame.sp_unknown(aligned_to);
    or_(qword[rsp], 0);
  }

  void x87_m80(std::uint8_t ext, Gpr base, std::uint32_t disp) { put(enc::reg_mem({.opcode = 0xDB}, ext, base, disp)); }

  // MOVD xmm, m32 and MOVD m32, xmm.
  static constexpr enc::Form kMovdLoad{.prefix = 0x66, .escape = true, .opcode = 0x6E};
  static constexpr enc::Form kMovdStore{.prefix = 0x66, .escape = true, .opcode = 0x7E};

  // Straight into the buffer while it has room for a whole instruction; else through db(),
  // which throws when the buffer is full.
  void put(const enc::Encoded& e) {
    if (getSize() + sizeof e.bytes <= bytes.size()) {
      std::memcpy(const_cast<std::uint8_t*>(getCurr()), e.bytes, sizeof e.bytes);
      setSize(getSize() + e.size);
      return;
    }
    for (std::uint8_t i = 0; i < e.size; ++i) db(e.bytes[i]);
  }
};

}  // namespace

// One generator per thread, reset and reused for every piece of code that fits its buffer:
// constructing an xbyak CodeGenerator sets up several hundred register objects, about a sixth
// of the instructions of a small stub's emission.
IsaHandle make_x64_isa(std::size_t capacity) {
  if (capacity <= X64Isa::kReusedCapacity)
    if (X64Isa* isa = X64Isa::take_reused()) return IsaHandle(isa);
  return IsaHandle(new X64Isa(capacity));
}

}  // namespace tramp::jit
