// tramp: telling Linux perf the names of tramp's code (perf's "JIT interface"): a line per
// piece of code in /tmp/perf-<pid>.map, which `perf report` reads by itself, or a record per
// piece of code in /tmp/jit-<pid>.dump (the jitdump format), which `perf inject -j` turns
// into ELF objects for `perf report`.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "abi/call_plan.hpp"

namespace tramp::jit {

class PerfWriter {
 public:
  virtual ~PerfWriter() = default;
  // `size` bytes of code at `code`, readable there, called `name`. Not thread-safe: the caller
  // serialises.
  virtual void code_loaded(const void* code, std::size_t size, std::string_view name) noexcept = 0;
  virtual const char* path() const noexcept = 0;
  // In a child of fork(): lets go of the file and mapping inherited from the parent without
  // writing to them (the parent's writer goes on with them).
  virtual void abandon() noexcept = 0;
};

// "START SIZE name" lines (hex, no 0x) appended to /tmp/perf-<pid>.map, as perf expects them.
// Throws Error(Jit) naming the file when it cannot be opened.
std::unique_ptr<PerfWriter> open_perf_map();
// /tmp/jit-<pid>.dump: the jitdump header, then one JIT_CODE_LOAD record (CLOCK_MONOTONIC
// timestamp, name and code bytes) per piece of code, a JIT_CODE_CLOSE record at the end; the
// file's first page stays mapped read+execute, the mark by which `perf record` notes it.
std::unique_ptr<PerfWriter> open_jitdump(abi::Arch arch);

}  // namespace tramp::jit
