// tramp: a stub's or thunk's frame as data. For every code offset it says where the caller's
// frame is: the canonical frame address (CFA, the stack pointer's value in the caller just
// before its call) and where registers the caller expects back are saved. The walks
// (jit/walk.cpp) produce it while they emit, the primitives reporting every change right after
// the instruction that makes it; unwind info (DWARF CFI), the debugger's symbol file and
// whatever else must find the caller are made from it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "abi/call_plan.hpp"

namespace tramp::jit {

using Gpr = std::uint8_t;  // a general register, by the plan's numbering (abi/call_plan.hpp)

// One change of the rules, in effect from `offset` (the end of the instruction that made it).
struct FrameRule {
  enum class Kind : std::uint8_t {
    CfaSp,          // CFA = sp + value
    CfaReg,         // CFA = reg + value (a frame pointer)
    CfaSpMinusReg,  // CFA = sp - reg + value (a stack probe counting down in reg)
    Saved,          // the caller's value of register `reg` is at CFA - value
    // The caller's value of register `reg` is at sp + value: in a realigned frame, whose sp
    // has no fixed distance to the CFA but stays put until the register is restored.
    SavedAtSp,
    Restored,       // register `reg` holds the caller's value again
  };
  std::uint32_t offset = 0;
  Kind kind = Kind::CfaSp;
  abi::LocKind reg_kind = abi::LocKind::Gpr;
  std::uint8_t reg = 0;
  std::uint32_t value = 0;
  friend bool operator==(const FrameRule&, const FrameRule&) = default;
};

struct Frame {
  abi::Arch arch = abi::Arch::X64;
  // At the entry: CFA = sp + entry_cfa (8 on x86-64, where the call pushed the return
  // address; 0 on AArch64, where it is in the link register).
  std::uint32_t entry_cfa = 0;
  // By offset. A stub's prologue and epilogue take a few; a probed or realigned frame more.
  abi::InlineVector<FrameRule, 8> rules;

  // One line per rule, "12: cfa = rsp+16", "13: rbp at cfa-24" (tests, `tramp disasm`).
  std::string str() const;
};

// Builds a Frame as code is emitted. The primitives call it right after each instruction
// that moves the stack pointer, sets a frame pointer, or saves or restores a register the
// caller wants back. Throws Error(Jit) when asked for something it cannot know (the stack
// pointer's distance to the CFA after a realignment), which is a walk's bug.
class FrameBuilder {
 public:
  FrameBuilder(abi::Arch arch, Gpr sp, std::uint32_t entry_cfa);

  // Bytes from the stack pointer up to the CFA.
  std::uint32_t depth() const;
  // depth() modulo 16, known also after a realignment to 16 bytes or more (the CFA is
  // 16-aligned on every architecture tramp emits for: psABI 3.2.2, AAPCS64 6.4.5.1).
  std::uint32_t depth_mod16() const;
  // The CFA's distance above the frame pointer, while the CFA is found from one.
  std::uint32_t cfa_above_frame_pointer() const;
  bool is_saved(abi::Loc reg) const;
  // Whether the CFA is found from the stack pointer (not a frame pointer).
  bool cfa_in_sp() const { return base_ == Base::Sp; }

  void sp_down(std::uint32_t at, std::uint32_t bytes);  // sp -= bytes
  void sp_up(std::uint32_t at, std::uint32_t bytes);    // sp += bytes
  // sp moved by an amount known only at run time, to a multiple of `aligned_to` (0: of
  // nothing known); the CFA must be in a frame pointer.
  void sp_unknown(std::uint32_t aligned_to = 0);
  // During a stack probe: sp - counter stays the same, and the CFA is that + value.
  // Ignored while the CFA is in a frame pointer.
  void sp_counting(std::uint32_t at, Gpr counter, std::uint32_t value);
  // fp = sp + sp_offset now; the CFA is found from fp until fp is restored.
  void frame_pointer(std::uint32_t at, Gpr fp, std::uint32_t sp_offset);
  // sp = fp - fp's sp_offset again (sp is known again; the CFA stays in fp).
  void sp_from_frame_pointer();
  // `reg` was stored at [sp + sp_offset].
  void save(std::uint32_t at, abi::Loc reg, std::uint32_t sp_offset);
  void restore(std::uint32_t at, abi::Loc reg);

  Frame finish() { return std::move(frame_); }  // the builder is done with it

 private:
  enum class Base : std::uint8_t { Sp, Fp, Counting };
  void add(std::uint32_t at, FrameRule::Kind kind, abi::LocKind reg_kind, std::uint8_t reg, std::uint32_t value);
  void known() const;
  void moved_from_saves(std::uint32_t at, std::int64_t bytes);

  Frame frame_;
  Gpr sp_;
  Base base_ = Base::Sp;
  std::int64_t depth_ = 0;  // -1: unknown
  int depth16_ = 0;         // depth modulo 16; -1: unknown
  Gpr fp_ = 0;
  std::uint32_t fp_depth_ = 0;  // the CFA's distance above fp
  std::vector<abi::Loc> saved_;
  std::vector<std::pair<abi::Loc, std::uint32_t>> at_sp_;  // saved at sp + offset (SavedAtSp)
};

}  // namespace tramp::jit
