#include "jit/frame.hpp"

#include <algorithm>

#include "tramp/error.hpp"

namespace tramp::jit {

using abi::Loc;
using abi::LocKind;

FrameBuilder::FrameBuilder(abi::Arch arch, Gpr sp, std::uint32_t entry_cfa)
    : sp_(sp), depth_(entry_cfa), depth16_(static_cast<int>(entry_cfa % 16)) {
  frame_.arch = arch;
  frame_.entry_cfa = entry_cfa;
}

void FrameBuilder::known() const {
  if (depth_ < 0) throw Error(ErrorCode::Jit, "frame: the stack pointer's distance to the CFA is not known here");
}

std::uint32_t FrameBuilder::depth() const {
  known();
  return static_cast<std::uint32_t>(depth_);
}

std::uint32_t FrameBuilder::depth_mod16() const {
  if (depth16_ < 0) throw Error(ErrorCode::Jit, "frame: the stack pointer's alignment is not known here");
  return static_cast<std::uint32_t>(depth16_);
}

std::uint32_t FrameBuilder::cfa_above_frame_pointer() const {
  if (base_ != Base::Fp) throw Error(ErrorCode::Jit, "frame: the CFA is not found from a frame pointer here");
  return fp_depth_;
}

bool FrameBuilder::is_saved(Loc reg) const { return std::find(saved_.begin(), saved_.end(), reg) != saved_.end(); }

void FrameBuilder::add(std::uint32_t at, FrameRule::Kind kind, LocKind reg_kind, std::uint8_t reg,
                       std::uint32_t value) {
  frame_.rules.push_back({at, kind, reg_kind, reg, value});
}

void FrameBuilder::sp_down(std::uint32_t at, std::uint32_t bytes) {
  if (depth_ >= 0) depth_ += bytes;
  if (depth16_ >= 0) depth16_ = static_cast<int>((depth16_ + bytes) % 16);
  if (base_ == Base::Fp) return moved_from_saves(at, static_cast<std::int64_t>(bytes));
  base_ = Base::Sp;  // a probe ends with the move that completes it
  add(at, FrameRule::Kind::CfaSp, LocKind::Gpr, sp_, depth());
}

void FrameBuilder::sp_up(std::uint32_t at, std::uint32_t bytes) {
  if (depth_ < 0 && base_ == Base::Fp) {  // within a realigned frame, above its bottom
    if (depth16_ >= 0) depth16_ = static_cast<int>((depth16_ + 16 - bytes % 16) % 16);
    return moved_from_saves(at, -static_cast<std::int64_t>(bytes));
  }
  known();
  if (bytes > depth_) throw Error(ErrorCode::Jit, "frame: the stack pointer moves above the CFA");
  depth_ -= bytes;
  depth16_ = static_cast<int>(depth_ % 16);
  if (base_ == Base::Sp) add(at, FrameRule::Kind::CfaSp, LocKind::Gpr, sp_, depth());
}

void FrameBuilder::sp_unknown(std::uint32_t aligned_to) {
  if (base_ != Base::Fp)
    throw Error(ErrorCode::Jit, "frame: the stack pointer moves by an unknown amount without a frame pointer");
  depth_ = -1;
  depth16_ = aligned_to >= 16 && aligned_to % 16 == 0 ? 0 : -1;
}

void FrameBuilder::sp_counting(std::uint32_t at, Gpr counter, std::uint32_t value) {
  if (base_ == Base::Fp) return;
  base_ = Base::Counting;
  add(at, FrameRule::Kind::CfaSpMinusReg, LocKind::Gpr, counter, value);
}

void FrameBuilder::frame_pointer(std::uint32_t at, Gpr fp, std::uint32_t sp_offset) {
  fp_ = fp;
  fp_depth_ = depth() - sp_offset;
  base_ = Base::Fp;
  add(at, FrameRule::Kind::CfaReg, LocKind::Gpr, fp, fp_depth_);
}

void FrameBuilder::sp_from_frame_pointer() {
  if (base_ != Base::Fp) throw Error(ErrorCode::Jit, "frame: no frame pointer to restore the stack pointer from");
  depth_ = fp_depth_;
  depth16_ = static_cast<int>(fp_depth_ % 16);
}

// sp moved down by `bytes` (up when negative) in a realigned frame: the registers saved at
// sp + offset are that much further from it now (a push around a store of a _Float16).
void FrameBuilder::moved_from_saves(std::uint32_t at, std::int64_t bytes) {
  for (auto& [reg, offset] : at_sp_) {
    offset = static_cast<std::uint32_t>(offset + bytes);
    add(at, FrameRule::Kind::SavedAtSp, reg.kind, reg.reg, offset);
  }
}

void FrameBuilder::save(std::uint32_t at, Loc reg, std::uint32_t sp_offset) {
  if (depth_ < 0 && base_ == Base::Fp) {  // a realigned frame (Win64 thunk saving rsi, rdi)
    add(at, FrameRule::Kind::SavedAtSp, reg.kind, reg.reg, sp_offset);
    at_sp_.emplace_back(reg, sp_offset);
  } else {
    if (sp_offset > depth()) throw Error(ErrorCode::Jit, "frame: a register is saved above the CFA");
    add(at, FrameRule::Kind::Saved, reg.kind, reg.reg, depth() - sp_offset);
  }
  saved_.push_back(reg);
}

void FrameBuilder::restore(std::uint32_t at, Loc reg) {
  if (base_ == Base::Fp && reg == Loc::gpr(fp_)) {
    // The frame pointer gets the caller's value: from here the CFA is found from sp.
    base_ = Base::Sp;
    add(at, FrameRule::Kind::CfaSp, LocKind::Gpr, sp_, depth());
  }
  add(at, FrameRule::Kind::Restored, reg.kind, reg.reg, 0);
  saved_.erase(std::remove(saved_.begin(), saved_.end(), reg), saved_.end());
  std::erase_if(at_sp_, [&](const auto& s) { return s.first == reg; });
}

std::string Frame::str() const {
  std::string out;
  auto name = [&](LocKind kind, std::uint8_t reg) { return abi::reg_name(arch, kind, reg); };
  const std::uint8_t sp_reg = arch == abi::Arch::X64 ? std::uint8_t{abi::x64::rsp} : abi::a64::kSp;
  const std::string sp = name(LocKind::Gpr, sp_reg);
  out += "entry: cfa = " + sp + "+" + std::to_string(entry_cfa) + "\n";
  for (const FrameRule& r : rules) {
    out += std::to_string(r.offset) + ": ";
    const std::string v = std::to_string(r.value);
    switch (r.kind) {
      case FrameRule::Kind::CfaSp:
        out += "cfa = " + sp + "+" + v;
        break;
      case FrameRule::Kind::CfaReg:
        out += "cfa = " + name(r.reg_kind, r.reg) + "+" + v;
        break;
      case FrameRule::Kind::CfaSpMinusReg:
        out += "cfa = " + sp + "-" + name(r.reg_kind, r.reg) + "+" + v;
        break;
      case FrameRule::Kind::Saved:
        out += name(r.reg_kind, r.reg) + " at cfa-" + v;
        break;
      case FrameRule::Kind::SavedAtSp:
        out += name(r.reg_kind, r.reg) + " at " + sp + "+" + v;
        break;
      case FrameRule::Kind::Restored:
        out += name(r.reg_kind, r.reg) + " restored";
        break;
    }
    out += "\n";
  }
  return out;
}

}  // namespace tramp::jit
