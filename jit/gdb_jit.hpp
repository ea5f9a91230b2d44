// tramp: the GDB JIT interface (the GDB manual, "JIT Compilation Interface"). Each piece of
// code becomes a small in-memory ELF object holding its symbol (`tramp.call sysv:i32(i32,
// i32)`) and its unwind info, linked into the list __jit_debug_descriptor heads; GDB, which
// keeps a breakpoint in __jit_debug_register_code, reads each object as it is added or
// removed, and finds those added before it attached in the list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "abi/call_plan.hpp"

namespace tramp::jit {

// An ELF64 relocatable object for `size` bytes of code at `code`: a NOBITS .text at that
// address, one function symbol `name` over it, and `eh_frame` as its .eh_frame. Written into
// `out` (at least gdb_symfile_size(name.size(), eh_frame.size()) bytes), so that its owner can
// keep it in an allocation of its own; write_gdb_symfile returns the object's copy of `name`.
std::size_t gdb_symfile_size(std::size_t name_size, std::size_t eh_frame_size) noexcept;
std::string_view write_gdb_symfile(std::span<std::uint8_t> out, abi::Arch arch, const void* code, std::size_t size,
                                   std::string_view name, std::span<const std::uint8_t> eh_frame) noexcept;
// Where the object's .eh_frame starts: right after the ELF header, 8-aligned. The unwinder
// may be given that copy (it lives as long as the object).
constexpr std::size_t gdb_symfile_eh_frame_offset = 64;  // sizeof(Elf64_Ehdr)

// One object in the debugger's list. Its first four members are GDB's jit_code_entry
// (next_entry, prev_entry, symfile_addr, symfile_size), which GDB reads in place.
struct GdbEntry {
  GdbEntry* next = nullptr;
  GdbEntry* prev = nullptr;
  const std::uint8_t* symfile_addr = nullptr;  // the object, which outlives the registration
  std::uint64_t symfile_size = 0;
};
// Adds `entry` (its symfile set; both must stay where they are until removed) to the debugger's
// list, and tells an attached debugger. Thread-safe.
void gdb_register(GdbEntry& entry) noexcept;
// Removes it again, telling an attached debugger.
void gdb_unregister(GdbEntry& entry) noexcept;
// The objects in the list now (tests).
std::size_t gdb_registered() noexcept;

}  // namespace tramp::jit
