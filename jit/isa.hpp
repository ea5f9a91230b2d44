// tramp: what an architecture gives the walks (jit/walk.cpp). The walks over a CallPlan are
// written once; an architecture implements the small primitives below (jit/x64_emitter.cpp
// with xbyak, jit/a64_emitter.cpp with asmjit) and describes itself as data: its registers'
// roles (IsaFacts) and its frame's shape. A new architecture writes an Isa and a make_*_isa,
// and adds itself to make_isa (jit/emitter.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "abi/call_plan.hpp"
#include "jit/frame.hpp"

namespace tramp::jit {

// The host's side of the uniform interface, as data: the C convention of the code that calls
// invoke(fn, ret, args), bound(ret, args) and direct(fn, args), and of the handler(ret, args,
// user) a thunk calls (AbiInfo::uniform, abi/abis.hpp). It is read from that convention's own
// classifier (its plans for void(ptr, ptr, ptr), i64() and f64()), so no walk or primitive
// names the registers.
struct UniformConvention {
  Gpr pointer_args[3] = {};    // the first three pointer arguments
  Gpr int_result = 0;          // an integer or pointer result
  std::uint8_t vec_result = 0; // a double result
  std::uint32_t callee_saved_gprs = 0;  // what a handler preserves
  std::uint32_t callee_saved_vecs = 0;
};
// The convention of the entries and handlers of code for `abi`.
const UniformConvention& uniform_convention(Abi abi);

// The registers a walk uses besides those a plan names, chosen per architecture. The walk
// checks each plan against them (a register of the plan that one of these would overwrite
// while it is live is an Error(Jit), not wrong code).
struct Scratch {
  Gpr pointer;      // call stub: args[i] while its pieces move
  Gpr value;        // call stub, memory phase: a piece on its way to the stack (every argument
                    // register is free then)
  Gpr fn;           // call stub: the target, when its entry register is needed (always, with
  Gpr args;         //   move_entry); the same for the args array
  bool move_entry;  // fn and args always move to `fn` and `args`
  Gpr thunk_value;  // thunk: a piece in transit while the arguments sit in their registers
  Gpr thunk_data;   // thunk: the callback's data address around the handler call
  Gpr ret_base;     // thunk: the result buffer's address for a load that overwrites its base
  Gpr veneer_data;  // where a veneer leaves its slot's address (the thunk's data)
  // No primitive a thunk runs before its handler call writes veneer_data, so the thunk calls
  // through it without a frame slot (when no helper call comes first).
  bool veneer_data_kept;
  Gpr probe;        // what grow_stack counts a large move down in
};

struct IsaFacts {
  abi::Arch arch;
  Gpr sp;
  // Bytes the call instruction pushed (the return address; 0 when it is in a link register):
  // at the entry the CFA is sp + this.
  std::uint32_t return_address_bytes;
  // A thunk keeps a frame record (frame pointer and link register) at the top of its frame,
  // this many bytes (save_frame_record).
  std::uint32_t frame_record_bytes;
  // The least alignment of a thunk's result buffer (AArch64: 16, so a q-register piece is one
  // scaled ldr/str).
  std::uint32_t min_ret_align;
  Scratch regs;
};

// A register a helper call keeps: a general register, or a vector register's low `bytes` (an
// architecture may keep more).
struct Kept {
  abi::Loc reg;
  std::uint32_t bytes;
};

// A call stub's frame as the walk asks for it; the architecture lays out the rest (where the
// link register and `ret` go, how to realign) and reports it to the FrameBuilder.
struct CallFrame {
  bool keep_ret = false;         // `ret` survives the call in the frame
  Gpr ret_in = 0;                // ... arriving in this register
  std::uint32_t copy_base = 0;   // the caller-made copies, above the outgoing arguments at sp
  std::uint32_t copies = 0;      // their bytes
  std::uint32_t align = 16;      // sp's alignment at the call (more than 16: realign)
};

class Isa;
// Gives an Isa back when a walk is done with it: deleted, or kept for the thread's next walk.
struct IsaRelease {
  void operator()(Isa* isa) const noexcept;
};
using IsaHandle = std::unique_ptr<Isa, IsaRelease>;

// The primitives. Offsets are bytes from `base`; `base` may be facts().sp. Each reports what
// it does to the frame to `frame`, right after the instruction that does it.
class Isa {
 public:
  Isa(const IsaFacts& facts) : frame(facts.arch, facts.sp, facts.return_address_bytes), facts_(facts) {}
  virtual ~Isa() = default;
  Isa(const Isa&) = delete;
  Isa& operator=(const Isa&) = delete;

  const IsaFacts& facts() const { return facts_; }
  FrameBuilder frame;

  virtual std::uint32_t here() const = 0;  // the code offset
  virtual std::vector<std::uint8_t> finish() = 0;

  // The landing instruction indirect-branch tracking expects at an entry (endbr64, bti c).
  virtual void landing_pad() = 0;
  virtual void move(Gpr dst, Gpr src) = 0;
  virtual void move_imm(Gpr dst, std::uint64_t value) = 0;
  virtual void address(Gpr dst, Gpr base, std::uint32_t off) = 0;  // dst = base + off
  // A 1, 2, 4 or 8-byte word; loaded, the register's other bits are unspecified.
  virtual void load_word(Gpr dst, Gpr base, std::uint32_t off, std::uint32_t size) = 0;
  virtual void store_word(Gpr src, Gpr base, std::uint32_t off, std::uint32_t size) = 0;
  // An integer piece of 1 to 8 bytes, widened per `ext` (zero when None), reading no byte
  // outside it (a value may end at a page's end). Sizes for which load_clobbers_base is true
  // may overwrite `base`.
  virtual void load_int(Gpr dst, Gpr base, std::uint32_t off, std::uint32_t size, abi::Ext ext) = 0;
  virtual bool load_clobbers_base(std::uint32_t size) const = 0;
  virtual void shift_right(Gpr reg, std::uint32_t bits) = 0;
  // The low `size` (1, 2 or 4) bytes of `reg` widened to the whole register per `ext`.
  virtual void extend(Gpr reg, std::uint32_t size, abi::Ext ext) = 0;
  // Vector register pieces: the register's low 2 to 8 bytes (_Float16 values make 2 and 6),
  // 16, or 32 and 64 where the architecture has registers that wide (x86-64's ymm and zmm);
  // reading and writing only the piece's bytes. save_vec/restore_vec move a register's low 16
  // bytes to or from a 16-aligned slot.
  virtual void load_vec(std::uint8_t reg, Gpr base, std::uint32_t off, std::uint32_t size) = 0;
  virtual void store_vec(std::uint8_t reg, Gpr base, std::uint32_t off, std::uint32_t size) = 0;
  virtual void save_vec(std::uint8_t reg, std::uint32_t sp_off) = 0;
  virtual void restore_vec(std::uint8_t reg, std::uint32_t sp_off) = 0;
  // The x87 stack top as a 10-byte value (x86-64 only).
  virtual void load_x87(Gpr base, std::uint32_t off);
  virtual void store_x87(Gpr base, std::uint32_t off);

  // sp -= n and sp += n, any n; a move of kStackProbeInterval or more touches every page on
  // the way (stack-clash protection), counting down in facts().regs.probe.
  virtual void grow_stack(std::uint32_t n) = 0;
  virtual void shrink_stack(std::uint32_t n) = 0;
  // A thunk's frame record at [sp + sp_off] (frame_record_bytes of them).
  virtual void save_frame_record(std::uint32_t sp_off);
  virtual void restore_frame_record(std::uint32_t sp_off);
  // A thunk's frame for values aligned beyond 16 bytes: a frame pointer keeps the entry (with
  // the frame record, where the architecture keeps one), then sp -= bytes and is aligned down
  // to `align` (probed like grow_stack). Returns the frame pointer, from which the CFA is
  // frame.cfa_above_frame_pointer() up. close_aligned_frame restores sp and the frame pointer.
  virtual Gpr open_aligned_frame(std::uint32_t bytes, std::uint32_t align) = 0;
  virtual void close_aligned_frame() = 0;
  // A call stub's frame: open it (after which the outgoing arguments are at sp and the
  // copies at sp + copy_base), close it after the call (returns the register that then holds
  // `ret`, when kept), and return to the stub's caller.
  virtual void open_call_frame(const CallFrame& f) = 0;
  virtual Gpr close_call_frame(const CallFrame& f) = 0;
  virtual void leave_call_frame(const CallFrame& f) = 0;

  virtual void call(Gpr fn) = 0;
  virtual void call_memory(Gpr base, std::uint32_t off) = 0;  // call [base + off]
  virtual void tail_jump(Gpr fn) = 0;
  // Calls a host function without arguments (the errno slot's helpers), keeping the listed
  // registers; any other caller-saved register may change. Aligns sp as the call needs.
  virtual void call_helper(void (*helper)() noexcept, std::span<const Kept> keep) = 0;
  virtual void ret() = 0;
  // A veneer's body: jump to the address in the 8-byte word at `slot`, read at each call,
  // leaving `slot` in facts().regs.veneer_data.
  virtual void jump_via_slot(const void* slot) = 0;

 protected:
  friend IsaRelease;
  virtual void release() noexcept { delete this; }

 private:
  const IsaFacts& facts_;
};

inline void IsaRelease::operator()(Isa* isa) const noexcept { isa->release(); }

// The architectures: `capacity` is an upper bound of the code's size where the assembler
// needs one (x86-64).
IsaHandle make_x64_isa(std::size_t capacity);
IsaHandle make_a64_isa();

}  // namespace tramp::jit
