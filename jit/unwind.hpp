// tramp: unwind info for a piece of code, made from its Frame, and its registration with the
// unwinder the process uses, so that C++ exceptions, backtrace(3) and debuggers pass through
// stubs and thunks.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "jit/frame.hpp"

namespace tramp::jit {

// An .eh_frame section for `size` bytes of code at `address` (System V ABI's DWARF call frame
// information, LSB "Exception Frames"): one CIE with the architecture's entry rules, one FDE
// with `frame`'s rules, and the zero terminator. Addresses are absolute (DW_EH_PE_absptr),
// so the bytes describe code at that address only.
std::vector<std::uint8_t> eh_frame(const Frame& frame, std::uint64_t address, std::uint64_t size);
// The same into `out`, whose contents it replaces and whose capacity it reuses.
void write_eh_frame(const Frame& frame, std::uint64_t address, std::uint64_t size, std::vector<std::uint8_t>& out);
// The offset of the FDE within an .eh_frame made here (after the CIE).
std::size_t eh_frame_fde_offset(std::span<const std::uint8_t> eh_frame);

// The process's unwinders that tramp registers code with: the one __register_frame resolves
// to (libgcc's, or LLVM's libunwind, told apart by LLVM's __unw_add_dynamic_fde), and libgcc's
// as well when both are loaded (glibc's backtrace(3) always asks libgcc_s). Each registered
// .eh_frame must stay unchanged and alive until it is unregistered.
//
// libgcc keeps its record of a registered .eh_frame (its `struct object`: six words in libgcc
// 12, the same layout since GCC 3) in storage the registrant may provide, as crtbegin.o does:
// an UnwindObject, alive and in place until unregistered. Its first word is the lowest code
// address, or all ones until an unwind has searched the object: libgcc 12 keeps unsearched
// objects in a list newest first and searched ones in a list by address, and unregistering
// searches both lists from their heads. (LLVM's libunwind does not use it.)
struct UnwindObject {
  void* words[8] = {};
};
void register_eh_frame(const std::uint8_t* eh_frame, std::size_t fde_offset, UnwindObject& object) noexcept;
void unregister_eh_frame(const std::uint8_t* eh_frame, std::size_t fde_offset) noexcept;
// Whether an unwind has searched the object since it was registered: when freeing many, the
// unsearched go first, newest first, then the searched, highest address first, so that each
// is found at the head of its list (GCC 13's libgcc finds any in a tree).
bool unwind_object_searched(const UnwindObject& object) noexcept;
// "libgcc", "libunwind (LLVM)", "libunwind (LLVM) and libgcc_s", or "none".
const std::string& unwinders_in_use() noexcept;

}  // namespace tramp::jit
