// `tramp bench` without a LIBRARY: the project's call matrix measured in-process (the shapes
// of bench/bench_calls.cpp, timed with a steady clock instead of Google Benchmark), and the
// scaling run (`--scaling N`: N distinct signatures made and called through one engine).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace tramp::tools {

// A wrong command line (the tool exits with status 2 and the message).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// tramp bench [--matrix] [--quick] [--reps N] [--batch-ms X] [--csv F] [--json F] [--svg F]
int bench_matrix(const std::vector<std::string>& args);
// tramp bench --scaling N [--points P] [--csv F] [--json F] [--svg F]
int bench_scaling(const std::vector<std::string>& args);

}  // namespace tramp::tools
