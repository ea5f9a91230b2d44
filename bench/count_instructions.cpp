// Instruction counts per call, for callgrind (bench/callgrind.sh): runs N calls of one engine
// on one row of bench/rows.hpp (the int(int,int) rows, callee and C caller in this program),
//   count_instructions direct|invoke|invoke_direct|bound|libffi|face|cbdirect|thunk|closure N [ROW]
// and callgrind counts the whole run; the per-call cost is the difference between two runs
// of different N divided by the difference of N, so start-up and set-up cancel out. Each
// loop iteration includes the loop itself and the callee, as in the benchmarks.
//   count_instructions new_stub N
// makes call stubs for the first N of `tramp bench`'s 1,555 setup signatures in a new engine,
// all of them parsed beforehand: past the first 259, each has four scalar arguments.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/rows.hpp"

namespace rows = tramp::bench;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: count_instructions KIND N [ROW]\n");
    return 2;
  }
  const std::string kind = argv[1];
  const long n = std::atol(argv[2]);
  const std::string row = argc > 3 ? argv[3] : "int(int,int)";
  const struct {
    const char* kind;
    bool callback;
    int engine;
  } kinds[] = {{"direct", false, rows::kDirect},        {"invoke", false, rows::kInvoke},
               {"invoke_direct", false, rows::kRegReturn}, {"bound", false, rows::kBound},
               {"libffi", false, rows::kLibffi},        {"face", false, rows::kFace},
               {"cbdirect", true, rows::kCbDirect},     {"thunk", true, rows::kCbThunk},
               {"closure", true, rows::kCbClosure}};
  if (kind == "new_stub") {
    std::vector<tramp::Signature> sigs;
    for (const rows::SetupSig& s : rows::setup_signatures()) sigs.push_back(tramp::parse_signature(s.text));
    tramp::Engine engine;
    for (long i = 0; i < n && i < static_cast<long>(sigs.size()); ++i) engine.invoker(sigs[static_cast<std::size_t>(i)]);
    std::printf("%zu\n", engine.cached_stubs());
    return 0;
  }
  rows::set_face_path(TRAMP_FFI_FACE_PATH);
  tramp::Engine engine(tramp::EngineOptions{rows::caller_code()});
  for (const auto& k : kinds) {
    if (kind != k.kind) continue;
    // The rows live until the batch has run: it calls into them.
    const auto calls = k.callback ? decltype(rows::call_rows(engine)){} : rows::call_rows(engine);
    const auto callbacks = k.callback ? rows::callback_rows(engine) : decltype(rows::callback_rows(engine)){};
    rows::Batch batch;
    auto pick = [&](const auto& list) {
      for (const auto& p : list)
        if (p->name() == row && p->placement() == rows::Placement::Executable && p->has(k.engine)) batch = p->batch(k.engine);
    };
    pick(calls);
    pick(callbacks);
    if (batch) batch(n);
    if (!batch) {
      std::fprintf(stderr, "count_instructions: no %s for the row %s\n", kind.c_str(), row.c_str());
      return 1;
    }
    unsigned char first[8];
    std::memcpy(first, rows::g_ret, sizeof first);
    std::printf("%02x\n", first[0]);
    return 0;
  }
  std::fprintf(stderr, "count_instructions: unknown kind '%s'\n", kind.c_str());
  return 2;
}
