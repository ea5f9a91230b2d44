#include "abi/call_plan.hpp"

#include "abi/abis.hpp"

#include <array>
#include <sstream>
#include <string_view>

namespace tramp::abi {

Arch arch_of(Abi abi) noexcept { return abi_info(abi).arch; }

namespace {

constexpr std::array<std::string_view, 16> kX64GprNames = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

std::string loc_name(Arch arch, const Loc& loc) {
  switch (loc.kind) {
    case LocKind::Gpr:
    case LocKind::Vec:
      return reg_name(arch, loc.kind, loc.reg);
    case LocKind::Stack:
      return "stack+" + std::to_string(loc.offset);
    case LocKind::X87:
      return "st" + std::to_string(loc.reg);
  }
  return "?";
}

std::string piece_str(Arch arch, const Piece& p, bool into_memory) {
  std::string range = "[" + std::to_string(p.offset) + ":" + std::to_string(p.size) + "]";
  std::string ext = p.ext == Ext::Sign ? " sext" : p.ext == Ext::Zero ? " zext" : "";
  std::string loc = loc_name(arch, p.loc);
  // A 32- or 64-byte piece fills the register's wider view: ymm, zmm.
  if (arch == Arch::X64 && p.loc.kind == LocKind::Vec && p.size > 16) loc[0] = p.size > 32 ? 'z' : 'y';
  return into_memory ? loc + " -> " + range + ext : loc + " <- " + range + ext;
}

}  // namespace

std::string reg_name(Arch arch, LocKind kind, std::uint8_t reg) {
  if (arch == Arch::X64) {
    if (kind == LocKind::Gpr) return reg < kX64GprNames.size() ? std::string(kX64GprNames[reg]) : "r?";
    return "xmm" + std::to_string(reg);
  }
  if (kind == LocKind::Gpr && reg == a64::kSp) return "sp";
  return (kind == LocKind::Gpr ? "x" : "v") + std::to_string(reg);
}

std::string CallPlan::str(const Signature& sig) const {
  std::ostringstream out;
  const std::string text = sig.str(true);  // "abi:ret(args)"; the ABI is printed first
  out << abi_name(abi) << " " << text.substr(text.find(':') + 1) << "\n";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const ArgPlan& a = args[i];
    out << "  arg " << i << (sig.is_variadic_arg(i) ? " (variadic)" : "") << " "
        << sig.args()[i]->str() << ":";
    switch (a.kind) {
      case PassKind::Ignore:
        out << " ignored";
        break;
      case PassKind::Indirect:
        out << " copy " << a.copy_size << " bytes align " << a.copy_align << " at copy+"
            << a.copy_offset << ", address in";
        for (const Piece& p : a.pieces) out << " " << loc_name(arch, p.loc);
        break;
      case PassKind::Direct:
        for (std::size_t k = 0; k < a.pieces.size(); ++k)
          out << (k ? ", " : " ") << piece_str(arch, a.pieces[k], false);
        break;
    }
    out << "\n";
  }
  out << "  ret " << sig.ret()->str() << ":";
  switch (ret.kind) {
    case RetKind::Void:
      out << " none";
      break;
    case RetKind::Sret:
      out << " sret address in " << loc_name(arch, ret.sret_loc);
      if (ret.sret_returned) out << ", returned in " << loc_name(arch, ret.sret_result);
      break;
    case RetKind::Direct:
      if (ret.pieces.empty()) out << " nothing (an empty record)";
      for (std::size_t k = 0; k < ret.pieces.size(); ++k)
        out << (k ? ", " : " ") << piece_str(arch, ret.pieces[k], true);
      break;
  }
  out << "\n  stack " << stack_size << " bytes, align " << stack_align;
  if (shadow_space) out << ", shadow " << shadow_space;
  if (copy_area_size) out << ", copies " << copy_area_size << " bytes";
  if (vector_count >= 0) out << ", al = " << vector_count;
  out << "\n  callee saves";
  for (std::uint8_t r = 0; r < 32; ++r)
    if (callee_saved_gprs >> r & 1) out << " " << reg_name(arch, LocKind::Gpr, r);
  for (std::uint8_t r = 0; r < 32; ++r)
    if (callee_saved_vecs >> r & 1) out << " " << reg_name(arch, LocKind::Vec, r);
  out << "\n";
  if (vector_isa != VectorIsa::Base) out << "  needs " << vector_isa_name(vector_isa) << "\n";
  if (set_errno) out << "  errno set from the slot before the call, saved to it after\n";
  else if (capture_errno) out << "  errno saved to the slot after the call\n";
  if (has_static_chain) out << "  static chain in " << reg_name(arch, LocKind::Gpr, static_chain.reg) << "\n";
  return out.str();
}

Ext small_int_extension(const Type* t) {
  switch (t->kind()) {
    case TypeKind::Bool:
    case TypeKind::U8:
    case TypeKind::U16:
      return Ext::Zero;
    case TypeKind::I8:
    case TypeKind::I16:
      return Ext::Sign;
    default:
      return Ext::None;
  }
}

bool is_empty_record(const Type* t) {
  if (t->kind() == TypeKind::Array) return is_empty_record(t->element());
  if (!t->is_record()) return false;
  for (const Field& f : t->fields())
    if (!(f.is_bit_field() && f.unnamed) && !is_empty_record(f.type)) return false;
  return true;
}

std::string describe_arg(std::size_t index, const Type* t) {
  return "argument " + std::to_string(index) + " (" + t->str() + ")";
}

Result<bool> check_variadic_type(std::size_t index, const Type* t) {
  switch (t->kind()) {
    case TypeKind::F32:
      return Error(ErrorCode::Unsupported,
                   describe_arg(index, t) + ": a variadic argument is promoted to double; pass f64");
    case TypeKind::Bool:
    case TypeKind::I8:
    case TypeKind::U8:
    case TypeKind::I16:
    case TypeKind::U16:
      return Error(ErrorCode::Unsupported,
                   describe_arg(index, t) + ": a variadic argument is promoted to int; pass i32");
    default:
      return true;
  }
}

Result<CallPlan> classify(const Signature& sig) {
  Result<CallPlan> plan = abi_info(sig.abi()).classify(sig);
  if (!plan) return plan;
  // A stub moves stack arguments and copies piece by piece, and the whole area lives on the
  // calling thread's stack: a value of many megabytes by value would make megabytes of code
  // and then overflow the stack. C compilers accept it; tramp refuses it up front.
  const std::uint64_t bytes = std::uint64_t{plan.value().stack_size} + plan.value().copy_area_size;
  if (bytes > kMaxArgumentArea) return argument_area_error(bytes);
  // Which vector registers the pieces use, what a call does with errno, and how an integer
  // result widens to a word are the same under every ABI: one fact each for the engine and
  // the emitters.
  CallPlan p = std::move(plan).value();
  auto widen = [&p](const Pieces& pieces) {
    for (const Piece& piece : pieces)
      if (piece.loc.kind == LocKind::Vec && vector_isa_of_piece(piece.size) > p.vector_isa)
        p.vector_isa = vector_isa_of_piece(piece.size);
  };
  for (const ArgPlan& a : p.args) widen(a.pieces);
  widen(p.ret.pieces);
  const Type* r = sig.ret();
  if (p.ret.kind == RetKind::Direct && r->is_integer() && r->size() < 8)
    p.ret.word_ext = r->is_signed() ? Ext::Sign : Ext::Zero;
  p.capture_errno = sig.errno_mode() != ErrnoMode::None;
  p.set_errno = sig.errno_mode() == ErrnoMode::SetAndCapture;
  if (sig.static_chain()) {
    const int reg = abi_info(sig.abi()).static_chain;
    if (reg < 0)
      return Error(ErrorCode::Unsupported, std::string("static chain: tramp knows no static chain register for ") +
                                               std::string(abi_info(sig.abi()).name));
    p.has_static_chain = true;
    p.static_chain = Loc::gpr(static_cast<std::uint8_t>(reg));
  }
  return p;
}

std::string_view vector_isa_name(VectorIsa isa) noexcept {
  switch (isa) {
    case VectorIsa::Base:
      return "base";
    case VectorIsa::Avx:
      return "avx";
    case VectorIsa::Avx512f:
      return "avx512f";
  }
  return "?";
}

VectorIsa vector_isa_of_piece(std::uint32_t size) noexcept {
  return size > 32 ? VectorIsa::Avx512f : size > 16 ? VectorIsa::Avx : VectorIsa::Base;
}

bool lies_in_place_on_stack(const ArgPlan& arg, std::uint32_t& at) {
  if (arg.kind != PassKind::Direct || arg.pieces.empty()) return false;
  const Piece& first = arg.pieces[0];
  for (const Piece& p : arg.pieces)
    if (p.loc.kind != LocKind::Stack || p.loc.offset - p.offset != first.loc.offset - first.offset) return false;
  at = first.loc.offset - first.offset;
  return true;
}

Error argument_area_error(std::uint64_t bytes) {
  return Error(ErrorCode::Unsupported,
               "the arguments need " + std::to_string(bytes) + " bytes of stack or more; tramp passes at most " +
                   std::to_string(kMaxArgumentArea) + " (pass large values by pointer)");
}

}  // namespace tramp::abi
