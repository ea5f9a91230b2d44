// tramp: the ABIs tramp knows, one row each. The classifier dispatch, the signature and C
// declaration parsers, the C API and the emitters read this table; nothing else lists ABIs.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "abi/call_plan.hpp"

namespace tramp::abi {

// What gcc's __builtin_va_list is under an ABI.
enum class VaList : std::uint8_t {
  Pointer,        // a char* (Win64, Apple arm64)
  SysVRecord,     // an array of one record: gp_offset, fp_offset, overflow_arg_area, reg_save_area (psABI 3.5.7)
  Aapcs64Record,  // a 32-byte record: __stack, __gr_top, __vr_top, __gr_offs, __vr_offs (AAPCS64 7.1.4)
};

struct AbiInfo {
  Abi abi;
  std::string_view name;  // the signature prefix and the plan's first word: "sysv"
  Arch arch;
  Result<CallPlan> (*classify)(const Signature& sig);
  bool host_runs;  // this host can run code for it
  // The convention of tramp's own entries (invoke, bound, register-return) and of the
  // handlers a thunk calls, for code of this ABI: the C convention of the system that runs
  // it (a Win64 thunk on x86-64 Linux calls a SysV handler).
  Abi uniform;
  TypeKind long_double;          // what C's `long double` is under it
  bool has_f80;                  // x87's 80-bit format passes under it (__float80, mode(XF))
  bool has_f128;                 // IEEE binary128 does (__float128, _Float128, mode(TF))
  VaList va_list;
  bool has_fp16;                 // ARM's __fp16 exists (passed as _Float16)
  // gcc aligns a vector to its size up to this many bytes (0: no limit; AArch64: 16).
  std::uint32_t vector_align_cap;
  // gcc aligns a record to the types of its unnamed bit-fields too, as to named ones
  // (AArch64 Linux; x86-64 and Apple's clang do not).
  bool unnamed_bit_fields_align;
  bool plain_char_signed;        // whether C's plain `char` is signed (AAPCS64 7.1.1: unsigned)
  std::string_view c_attribute;  // the GNU attribute selecting it in a C declaration, or ""
  // A stub may store a stack argument piece as a word of this many bytes, the rest of its
  // slot being padding (0: the piece's own size). x86-64 conventions give every stack
  // argument its own eightbyte (psABI 3.2.3, Win64 "Parameter passing"); the AArch64
  // classifiers cut stack pieces into whole 1, 2, 4 or 8-byte words already, and Apple packs
  // arguments without padding.
  std::uint32_t stack_slot;
  // The general register that carries a call's static chain (Signature::static_chain), or -1
  // where tramp knows none.
  int static_chain;
};

// Every ABI, in the order of tramp::Abi (and of tramp_abi in tramp.h, from 1).
std::span<const AbiInfo> abis() noexcept;
const AbiInfo& abi_info(Abi abi) noexcept;

}  // namespace tramp::abi
