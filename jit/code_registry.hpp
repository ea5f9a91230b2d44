// tramp: what the process's tools learn about each piece of code tramp installs: its unwind
// info goes to the unwinder (C++ exceptions and backtrace(3) pass through stubs and thunks),
// a symbol file to gdb (the GDB JIT interface), and, when asked for, a line to perf's map or
// a record to a jitdump file. The engine publishes every stub, thunk and block of veneers
// right after installing it and withdraws it right before freeing it (docs/debugging.md).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "jit/frame.hpp"

namespace tramp::jit {

// Tells the tools about `size` bytes of code at `code`, laid out as `frame` says, called
// `name` ("tramp.call sysv:i32(i32, i32)"). Thread-safe; throws only std::bad_alloc (and then
// has told no tool anything).
void publish_code(const void* code, std::size_t size, const Frame& frame, std::string_view name);
// Takes it back, before the code's memory is reused. An address never published is ignored.
void withdraw_code(const void* code) noexcept;
// Takes many back at once, in the order the unwinder finds them fastest: what an engine does
// when it is destroyed.
void withdraw_codes(std::span<const void* const> codes) noexcept;

// Makes the registry before the caller's locks exist: an engine calls it first, so that the
// registry's fork handlers run after the engine's (jit/fork_safety.hpp: an engine publishes
// while it holds its own lock).
void prepare_code_registry();

enum class PerfOutput : unsigned char { None, Map, JitDump };
// Starts or stops writing perf's map or a jitdump file for the process (closing the other);
// code that lives already is written first. Throws Error(Jit) when the file cannot be made.
void set_perf_output(PerfOutput output);
PerfOutput perf_output() noexcept;

}  // namespace tramp::jit
