// tramp: what the process's tools learn about each piece of code tramp installs. Its unwind
// info goes to the unwinder (C++ exceptions and backtrace(3) pass through stubs and thunks).
// The engine publishes every stub, thunk and block of veneers right after installing it and
// withdraws it right before freeing it.
#pragma once

#include <cstddef>
#include <string_view>

#include "jit/frame.hpp"

namespace tramp::jit {

// Tells the tools about `size` bytes of code at `code`, laid out as `frame` says, called
// `name` ("tramp.call sysv:i32(i32, i32)", docs/debugging.md). Thread-safe; throws only
// std::bad_alloc (and then has told no tool anything).
void publish_code(const void* code, std::size_t size, const Frame& frame, std::string_view name);
// Takes it back, before the code's memory is reused. An address never published is ignored.
void withdraw_code(const void* code) noexcept;

}  // namespace tramp::jit
