// Running the system C preprocessor for CScope::include (core/cdecl.cpp).
#pragma once

#include <string>
#include <vector>

namespace tramp::detail {

// Runs `command` (its first element found on PATH, or a path) plus `arguments` and `input`'s
// file name last, with `input` as a C source file, stdin from /dev/null; returns what it
// writes to stdout. No shell is involved: each string is one argument. Throws
// Error(Library) when the program cannot be started (naming it) or exits unsuccessfully
// (with the start of what it wrote to stderr).
std::string run_preprocessor(const std::vector<std::string>& command, const std::vector<std::string>& arguments,
                             const std::string& input);

}  // namespace tramp::detail
