// Call overhead under Google Benchmark: the rows of bench/rows.hpp (the same rows, callees,
// engines, callbacks and setup costs as `tramp bench`), each a benchmark named
// "<kind>:<placement>:<row>/<engine>", timed in batches by Google Benchmark. The table printed
// at the end gives the median of the repetitions and the ratios to each row's direct call.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/rows.hpp"

namespace {

namespace rows = tramp::bench;

// Google Benchmark's loop over a row's batches of kBatch calls.
constexpr long kBatch = 256;
void run(benchmark::State& state, const rows::Batch* batch) {
  while (state.KeepRunningBatch(kBatch)) (*batch)(kBatch);
}

// New stubs: each iteration makes the 1,555 setup signatures in a fresh engine (made and
// destroyed outside the time), whose time is the iteration's (manual time); the table divides
// it by the number of signatures.
void new_stubs(benchmark::State& state, bool from_text) {
  const double n = static_cast<double>(rows::setup_signatures().size());
  for (auto _ : state) state.SetIterationTime(rows::new_stubs_ns(from_text, 0) * n * 1e-9);
}
// Their table cells are that manual time (reported as real time) per stub, the others' CPU time.
std::vector<std::string> g_manual_time;

std::string title(const std::string& engine) { return engine + " ns"; }

// The usual console output, then a markdown table of the medians with ratios to the direct
// call. Benchmark names are "<group>/<engine>"; rows keep their registration order.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      const bool single = r.run_type == Run::RT_Iteration && r.repetitions <= 1;
      if (r.error_occurred || (!median && !single)) continue;
      const std::string name = r.run_name.function_name;  // without the aggregate suffix
      const std::size_t slash = name.rfind('/');
      const std::string row = name.substr(0, slash);
      if (!ns_.count(row)) order_.push_back(row);
      // CPU time, not real time: on a shared machine a run is often descheduled part of the
      // way through (rows.hpp, thread_ns).
      const bool manual = std::find(g_manual_time.begin(), g_manual_time.end(), name) != g_manual_time.end();
      ns_[row][name.substr(slash + 1)] =
          manual ? r.GetAdjustedRealTime() / static_cast<double>(rows::setup_signatures().size()) : r.GetAdjustedCPUTime();
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nMedian ns per call (ratio to the row's direct call), all rows from this one run.\n\n");
    std::vector<std::string> calls(rows::kCallEngineNames, rows::kCallEngineNames + rows::kCallEngines);
    std::vector<std::string> callbacks(rows::kCallbackEngineNames, rows::kCallbackEngineNames + rows::kCallbackEngines);
    for (const char* p : {"executable", "library", "libc/libm"}) print(std::string("call:") + p, calls, "libffi", "tramp invoke");
    for (const char* p : {"executable", "library"})
      print(std::string("callback:") + p, callbacks, "libffi closure", "tramp thunk");
    std::printf("| setup | tramp ns | libffi face ns | libffi ns |\n|---|---:|---:|---:|\n");
    for (const std::string& row : order_) {
      if (row.rfind("setup:", 0) != 0) continue;
      const auto& m = ns_.at(row);
      auto cell = [&](const char* e) {
        return m.count(e) ? std::to_string(static_cast<long>(m.at(e) + 0.5)) : std::string("-");
      };
      std::printf("| %s | %s | %s | %s |\n", row.substr(6).c_str(), cell("tramp").c_str(), cell("libffi face").c_str(),
                  cell("libffi").c_str());
    }
  }

 private:
  void print(const std::string& group, const std::vector<std::string>& engines, const std::string& over,
             const std::string& under) {
    const std::string prefix = group + ":";
    if (std::none_of(order_.begin(), order_.end(), [&](const std::string& r) { return r.rfind(prefix, 0) == 0; }))
      return;
    std::printf("| %s |", group.c_str());
    for (const std::string& e : engines) std::printf(" %s |", title(e).c_str());
    std::printf(" %s / %s |\n|---|", over.c_str(), under.c_str());
    for (std::size_t i = 0; i <= engines.size(); ++i) std::printf("---:|");
    std::printf("\n");
    for (const std::string& row : order_) {
      if (row.rfind(prefix, 0) != 0) continue;
      const auto& m = ns_.at(row);
      auto get = [&](const std::string& e) { return m.count(e) ? m.at(e) : 0.0; };
      const double d = get("direct");
      std::printf("| %s |", row.substr(prefix.size()).c_str());
      for (const std::string& e : engines) {
        const double v = get(e);
        if (v <= 0)
          std::printf(" - |");
        else if (e == "direct" || d <= 0)
          std::printf(" %.2f |", v);
        else
          std::printf(" %.2f (%.2fx) |", v, v / d);
      }
      const double a = get(over), b = get(under);
      if (a > 0 && b > 0)
        std::printf(" %.1fx |\n", a / b);
      else
        std::printf(" - |\n");
    }
    std::printf("\n");
  }

  std::vector<std::string> order_;
  std::map<std::string, std::map<std::string, double>> ns_;
};

}  // namespace

int main(int argc, char** argv) {
  rows::set_face_path(TRAMP_FFI_FACE_PATH);
  // The engine an interpreter in this program would make (EngineOptions::code_near: the
  // loops that call its stubs), as in `tramp bench`.
  static tramp::Engine engine(tramp::EngineOptions{rows::caller_code()});
  static const auto calls = rows::call_rows(engine);
  static const auto callbacks = rows::callback_rows(engine);
  if (rows::check_results(calls, callbacks)) return 1;
  static std::vector<std::unique_ptr<rows::Batch>> batches;  // kept for the benchmarks' lifetime
  auto add = [&](const std::string& name, rows::Batch b) {
    batches.push_back(std::make_unique<rows::Batch>(std::move(b)));
    benchmark::RegisterBenchmark(name.c_str(), run, batches.back().get());
  };
  auto add_rows = [&](const char* kind, const auto& list, int engines, const char* const* names) {
    for (const auto& p : list)
      for (int e = 0; e < engines; ++e)
        if (p->has(e))
          add(std::string(kind) + ":" + rows::placement_name(p->placement()) + ":" + p->name() + "/" + names[e],
              p->batch(e));
  };
  add_rows("call", calls, rows::kCallEngines, rows::kCallEngineNames);
  add_rows("callback", callbacks, rows::kCallbackEngines, rows::kCallbackEngineNames);
  for (bool from_text : {true, false}) {
    g_manual_time.push_back(std::string("setup:") + (from_text ? rows::kSetupNewFromText : rows::kSetupNewFromSignature) +
                            "/tramp");
    benchmark::RegisterBenchmark(g_manual_time.back().c_str(), new_stubs, from_text)->UseManualTime();
  }
  static const std::vector<rows::SetupRow> setup = rows::setup_rows(engine);
  for (const rows::SetupRow& s : setup) add("setup:" + s.what + "/" + s.who, s.batch);

  // Defaults for the table: 5 repetitions, aggregates only. Flags given on the command line
  // come later and win.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5";
  std::string aggregates = "--benchmark_report_aggregates_only=true";
  std::string min_time = "--benchmark_min_time=0.1";
  args.insert(args.begin() + 1, {reps.data(), aggregates.data(), min_time.data()});
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  TableReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf("\n| code bytes | call stub | bound stub | register-return stub | callback thunk |\n"
              "|---|---:|---:|---:|---:|\n");
  auto bytes = [](std::size_t v) { return v ? std::to_string(v) : std::string("-"); };
  for (const rows::CodeBytes& c : rows::code_bytes(calls, engine))
    std::printf("| %s | %s | %s | %s | %s |\n", c.row.c_str(), bytes(c.call).c_str(), bytes(c.bound).c_str(),
                bytes(c.reg_return).c_str(), bytes(c.thunk).c_str());
  return 0;
}
