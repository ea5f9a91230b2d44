// What the floor programs (face_floor.cpp, uniform_floor.cpp) share: the timing loop, the
// libffi closure function of their int(int, int) rows, and their tables.
#pragma once

#include <ffi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace tramp_floor {

// The median of 11 batches of 5,000,000 calls, ns per call.
template <class F>
double median_ns(F f) {
  std::vector<double> batches;
  for (int b = 0; b < 11; ++b) {
    constexpr int kCalls = 5'000'000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) f();
    const auto t1 = std::chrono::steady_clock::now();
    batches.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / kCalls);
  }
  std::nth_element(batches.begin(), batches.begin() + 5, batches.end());
  return batches[5];
}

// A libffi closure function adding its two ints, as the rows' callees do.
inline void add_closure_fun(ffi_cif*, void* ret, void** args, void*) {
  *static_cast<ffi_arg*>(ret) = static_cast<ffi_arg>(*static_cast<int*>(args[0]) + *static_cast<int*>(args[1]));
}

// One row: what was timed, its ns per call, and the value its last call computed (3 + 4).
struct Row {
  const char* what;
  double ns;
  int value;
};

// The rows as a Markdown table: each row's ratio to the first (the direct call) and the last
// (Debian's libffi) over it. False, printing nothing, when a row computed a wrong value.
inline bool print_table(const char* title, const std::vector<Row>& rows) {
  for (const Row& r : rows)
    if (r.value != 7) return false;
  const double libffi = rows.back().ns;
  std::printf("| %s | ns | ratio to direct | Debian's libffi / this |\n|---|---:|---:|---:|\n", title);
  for (const Row& r : rows)
    std::printf("| %s | %.2f | %.2fx | %.2fx |\n", r.what, r.ns, r.ns / rows[0].ns, libffi / r.ns);
  return true;
}

}  // namespace tramp_floor
