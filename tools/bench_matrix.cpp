// `tramp bench` without a LIBRARY: the rows of bench/rows.hpp (the same signatures, callees,
// engines, callbacks and setup costs as the Google Benchmark suite, bench/bench_calls.cpp)
// measured in this process with a steady clock, and `tramp bench --scaling N`. See
// tools/bench_matrix.hpp.
//
// Timing: a row's batch (n calls with the call inlined into the loop) is calibrated until one
// batch takes at least --batch-ms (10 ms; 1 ms with --quick) of this thread's CPU time
// (bench::thread_ns: time the thread spent descheduled does not count), then timed over
// --reps batches (11; 3 with --quick); the result is the median batch's ns per call. Many
// short batches rather than a few long ones: a batch that something else disturbed is an
// outlier the median ignores. Every number of one table comes from the same run.
#include "tools/bench_matrix.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/rows.hpp"
#include "tools/bench_report.hpp"
#include "tramp/tramp.hpp"

#ifndef TRAMP_FFI_FACE_PATH
#define TRAMP_FFI_FACE_PATH ""
#endif

namespace tramp::tools {
namespace {

using Clock = std::chrono::steady_clock;
using bench::Batch;
using bench::Placement;

struct Timing {
  int reps = 11;
  double batch_ms = 10;
  std::size_t setup_sigs = 0;  // signatures per new-stub batch; 0: all 1,555
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The median ns per call of t.reps batches of at least t.batch_ms each.
double time_ns(const Batch& batch, const Timing& t) {
  auto run = [&](long n) {
    const double t0 = bench::thread_ns();
    batch(n);
    return bench::thread_ns() - t0;
  };
  const double target = t.batch_ms * 1e6;
  long n = 1;
  for (;;) {
    const double ns = run(n);
    if (ns >= target || n >= (1L << 34)) break;
    const long next = ns > target / 50 ? static_cast<long>(static_cast<double>(n) * target / ns * 1.1) + 1 : n * 8;
    n = std::max(next, n + 1);
  }
  std::vector<double> per_call;
  for (int r = 0; r < t.reps; ++r) per_call.push_back(run(n) / static_cast<double>(n));
  return median(per_call);
}

const char* const kCallColours[] = {"#7f7f7f", "#56b4e9", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#d55e00"};
const char* const kCallbackColours[] = {"#7f7f7f", "#0072b2", "#e69f00", "#d55e00"};

// Where a table's rows live, as its title says.
const char* placement_title(Placement p) {
  switch (p) {
    case Placement::Executable: return "callee in this executable";
    case Placement::Library: return "callee in a shared library";
    default: return "libc/libm's own function";
  }
}

struct SetupResult {
  std::string what;
  double tramp_ns = 0, face_ns = 0, libffi_ns = 0;  // 0: not measured
};

// ---- the run and its reports ----

struct Group {
  std::string name, sig, shown;
  Placement placement;
  std::vector<double> ns;  // one per engine; 0 = not measured
};

// One of the targets, judged on this run's figures.
struct Target {
  std::string what;
  double value = 0, limit = 0;
  bool at_most = true;  // value <= limit, else value >= limit
  bool met() const { return value > 0 && (at_most ? value <= limit : value >= limit); }
};

struct MatrixResults {
  MachineInfo machine;
  Timing timing;
  std::vector<Group> calls, callbacks;
  std::vector<SetupResult> setup;
  std::vector<bench::CodeBytes> code;
  std::vector<Target> targets;
  std::string library_note;  // why the library placement is missing, if it is
};

std::string cell(double v, double direct) {
  if (!(v > 0)) return "-";
  char buf[64];
  if (direct > 0 && v != direct)
    std::snprintf(buf, sizeof buf, "%.2f (%.2fx)", v, v / direct);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A column of ratios: engine `over` / engine `under` per row.
struct Ratio {
  int over, under;
  const char* title;
};

void print_table(const std::string& kind, const std::vector<Group>& groups, Placement placement,
                 const char* const* engines, int n_engines, std::initializer_list<Ratio> ratios) {
  if (std::none_of(groups.begin(), groups.end(), [&](const Group& g) { return g.placement == placement; })) return;
  std::printf("| %s, %s |", kind.c_str(), placement_title(placement));
  for (int e = 0; e < n_engines; ++e) std::printf(" %s ns |", engines[e]);
  for (const Ratio& q : ratios) std::printf(" %s |", q.title);
  std::printf("\n|---|");
  for (std::size_t e = 0; e < n_engines + ratios.size(); ++e) std::printf("---:|");
  std::printf("\n");
  for (const Group& g : groups) {
    if (g.placement != placement) continue;
    std::printf("| %s |", g.name.c_str());
    for (int e = 0; e < n_engines; ++e) std::printf(" %s |", cell(g.ns[e], e ? g.ns[0] : 0).c_str());
    for (const Ratio& q : ratios) {
      const double over = g.ns[q.over], under = g.ns[q.under];
      if (over > 0 && under > 0)
        std::printf(" %.1fx |", over / under);
      else
        std::printf(" - |");
    }
    std::printf("\n");
  }
  std::printf("\n");
}

void print_results(const MatrixResults& r) {
  std::printf("tramp bench: median ns per call of %d batches of at least %g ms (ratio to the row's own direct call)\n",
              r.timing.reps, r.timing.batch_ms);
  std::printf("%s\n\n", r.machine.line().c_str());
  for (Placement p : {Placement::Executable, Placement::Library, Placement::System})
    print_table("call", r.calls, p, bench::kCallEngineNames, bench::kCallEngines,
                {{bench::kLibffi, bench::kInvoke, "libffi / tramp invoke"},
                 {bench::kLibffi, bench::kFace, "libffi / libffi face"}});
  for (Placement p : {Placement::Executable, Placement::Library})
    print_table("callback", r.callbacks, p, bench::kCallbackEngineNames, bench::kCallbackEngines,
                {{bench::kCbClosure, bench::kCbThunk, "libffi / tramp"},
                 {bench::kCbClosure, bench::kCbFace, "libffi / libffi face"}});
  if (!r.library_note.empty()) std::printf("library placement: not measured (%s)\n\n", r.library_note.c_str());
  if (!bench::face_libffi()) std::printf("libffi face: not loaded (%s)\n\n", bench::face_libffi().error.c_str());
  std::printf("| setup | tramp ns | libffi face ns | libffi ns |\n|---|---:|---:|---:|\n");
  auto ns = [](double v) { return v > 0 ? std::to_string(static_cast<long>(v + 0.5)) : std::string("-"); };
  for (const SetupResult& s : r.setup)
    std::printf("| %s | %s | %s | %s |\n", s.what.c_str(), ns(s.tramp_ns).c_str(), ns(s.face_ns).c_str(),
                ns(s.libffi_ns).c_str());
  std::printf("\n| code bytes | call stub | bound stub | register-return stub | callback thunk |\n"
              "|---|---:|---:|---:|---:|\n");
  auto bytes = [](std::size_t v) { return v ? std::to_string(v) : std::string("-"); };
  for (const bench::CodeBytes& c : r.code)
    std::printf("| %s | %s | %s | %s | %s |\n", c.row.c_str(), bytes(c.call).c_str(), bytes(c.bound).c_str(),
                bytes(c.reg_return).c_str(), bytes(c.thunk).c_str());
  if (!r.targets.empty()) {
    std::printf("\n| target (this run) | value | limit | met |\n|---|---:|---:|---|\n");
    for (const Target& t : r.targets)
      std::printf("| %s | %.2f | %s %.2f | %s |\n", t.what.c_str(), t.value, t.at_most ? "<=" : ">=", t.limit,
                  t.met() ? "yes" : "no");
  }
}

std::string matrix_csv(const MatrixResults& r) {
  std::string out = "kind,placement,row,signature,engine,value,unit,ratio_to_direct\n";
  auto groups = [&](const char* kind, const std::vector<Group>& gs, const char* const* engines, int n) {
    for (const Group& g : gs)
      for (int e = 0; e < n; ++e) {
        if (!(g.ns[e] > 0)) continue;
        out += std::string(kind) + "," + csv_field(bench::placement_name(g.placement)) + "," + csv_field(g.name) +
               "," + csv_field(g.sig) + "," + csv_field(engines[e]) + "," + number(g.ns[e]) + ",ns," +
               (g.ns[0] > 0 ? number(g.ns[e] / g.ns[0], 4) : "") + "\n";
      }
  };
  groups("call", r.calls, bench::kCallEngineNames, bench::kCallEngines);
  groups("callback", r.callbacks, bench::kCallbackEngineNames, bench::kCallbackEngines);
  for (const SetupResult& s : r.setup) {
    const std::pair<const char*, double> whos[] = {{"tramp", s.tramp_ns}, {"libffi face", s.face_ns},
                                                   {"libffi", s.libffi_ns}};
    for (const auto& [who, v] : whos)
      if (v > 0) out += "setup,\"\"," + csv_field(s.what) + ",\"\"," + csv_field(who) + "," + number(v) + ",ns,\n";
  }
  for (const bench::CodeBytes& c : r.code) {
    const std::pair<const char*, std::size_t> kinds[] = {
        {"call stub", c.call}, {"bound stub", c.bound}, {"register-return stub", c.reg_return},
        {"callback thunk", c.thunk}};
    for (const auto& [k, v] : kinds)
      if (v)
        out += "code,\"\"," + csv_field(c.row) + "," + csv_field(c.sig) + "," + csv_field(k) + "," +
               std::to_string(v) + ",bytes,\n";
  }
  return out;
}

std::string matrix_json(const MatrixResults& r) {
  std::string out = "{\n  \"tool\": \"tramp bench\",\n  \"machine\": " + json_string(r.machine.line()) +
                    ",\n  \"cpu\": " + json_string(r.machine.cpu) + ",\n  \"arch\": " + json_string(r.machine.arch) +
                    ",\n  \"compiler\": " + json_string(r.machine.compiler) +
                    ",\n  \"libffi\": " + json_string(r.machine.libffi) + ",\n  \"date\": " +
                    json_string(r.machine.date) + ",\n  \"repetitions\": " + std::to_string(r.timing.reps) +
                    ",\n  \"batch_ms\": " + number(r.timing.batch_ms) + ",\n  \"unit\": \"ns per call, median\"";
  auto groups = [&](const char* key, const std::vector<Group>& gs, const char* const* engines, int n) {
    out += ",\n  " + json_string(key) + ": [";
    for (std::size_t i = 0; i < gs.size(); ++i) {
      const Group& g = gs[i];
      out += std::string(i ? "," : "") + "\n    {\"row\": " + json_string(g.name) +
             ", \"placement\": " + json_string(bench::placement_name(g.placement)) +
             ", \"signature\": " + json_string(g.sig) + ", \"results\": [";
      bool first = true;
      for (int e = 0; e < n; ++e) {
        if (!(g.ns[e] > 0)) continue;
        out += std::string(first ? "" : ", ") + "{\"engine\": " + json_string(engines[e]) +
               ", \"ns_per_call\": " + number(g.ns[e]) +
               ", \"ratio_to_direct\": " + (g.ns[0] > 0 ? number(g.ns[e] / g.ns[0], 4) : "null") + "}";
        first = false;
      }
      out += "]}";
    }
    out += "\n  ]";
  };
  groups("calls", r.calls, bench::kCallEngineNames, bench::kCallEngines);
  groups("callbacks", r.callbacks, bench::kCallbackEngineNames, bench::kCallbackEngines);
  out += ",\n  \"setup\": [";
  for (std::size_t i = 0; i < r.setup.size(); ++i) {
    const SetupResult& s = r.setup[i];
    out += std::string(i ? "," : "") + "\n    {\"what\": " + json_string(s.what) +
           ", \"tramp_ns\": " + (s.tramp_ns > 0 ? number(s.tramp_ns) : "null") +
           ", \"face_ns\": " + (s.face_ns > 0 ? number(s.face_ns) : "null") +
           ", \"libffi_ns\": " + (s.libffi_ns > 0 ? number(s.libffi_ns) : "null") + "}";
  }
  out += "\n  ],\n  \"code_bytes\": [";
  auto bytes = [](std::size_t v) { return v ? std::to_string(v) : std::string("null"); };
  for (std::size_t i = 0; i < r.code.size(); ++i) {
    const bench::CodeBytes& c = r.code[i];
    out += std::string(i ? "," : "") + "\n    {\"row\": " + json_string(c.row) + ", \"signature\": " +
           json_string(c.sig) + ", \"call_stub\": " + bytes(c.call) + ", \"bound_stub\": " + bytes(c.bound) +
           ", \"register_return_stub\": " + bytes(c.reg_return) + ", \"callback_thunk\": " + bytes(c.thunk) + "}";
  }
  out += "\n  ],\n  \"targets\": [";
  for (std::size_t i = 0; i < r.targets.size(); ++i) {
    const Target& t = r.targets[i];
    out += std::string(i ? "," : "") + "\n    {\"what\": " + json_string(t.what) + ", \"value\": " + number(t.value) +
           ", \"limit\": " + number(t.limit) + ", \"at_most\": " + (t.at_most ? "true" : "false") +
           ", \"met\": " + (t.met() ? "true" : "false") + "}";
  }
  out += "\n  ]\n}\n";
  return out;
}

std::string matrix_svg(const MatrixResults& r) {
  char axis[160];
  std::snprintf(axis, sizeof axis, "ns per call, median of %d batches of at least %g ms (shorter is faster)",
                r.timing.reps, r.timing.batch_ms);
  auto section = [&](const std::string& title, const std::vector<Group>& gs, Placement p, const char* const* engines,
                     const char* const* colours, int n) {
    BarSection s;
    s.title = title;
    s.axis_label = axis;
    s.series.assign(engines, engines + n);
    s.colours.assign(colours, colours + n);
    s.ratio_to = "direct";
    for (const Group& g : gs)
      if (g.placement == p) s.groups.push_back({g.name, g.shown, g.ns});
    return s;
  };
  std::vector<BarSection> sections;
  for (Placement p : {Placement::Executable, Placement::Library, Placement::System}) {
    BarSection s = section(std::string("Calls, ") + placement_title(p) +
                               ": a C++ caller, arguments in memory (as an interpreter holds them); in brackets the "
                               "ratio to the row's direct call",
                           r.calls, p, bench::kCallEngineNames, kCallColours, bench::kCallEngines);
    if (!s.groups.empty()) sections.push_back(std::move(s));
  }
  for (Placement p : {Placement::Executable, Placement::Library}) {
    BarSection s = section(std::string("Callbacks: a C function (") + (p == Placement::Executable ? "in this executable" : "in a shared library") +
                               ") calls the function pointer it is given",
                           r.callbacks, p, bench::kCallbackEngineNames, kCallbackColours, bench::kCallbackEngines);
    if (!s.groups.empty()) sections.push_back(std::move(s));
  }
  return bar_chart_svg("tramp bench: the cost of one call, direct vs tramp vs libffi", r.machine.line(), sections);
}

// The targets (docs/performance.md), judged on one run: the fastest tramp interface
// (bound or register-return) at most 1.3x of the direct call on four rows in both
// placements, invoke at most 1.6x, a thunk at least 6x faster than a libffi closure, a
// callback made and freed in at most half of libffi's alloc + prep + free, a new stub from a
// Signature in at most 1 us.
std::vector<Target> judge(const MatrixResults& r) {
  std::vector<Target> out;
  const char* const rows[] = {"int(int,int)", "double(4 x double)", "int(ptr x4)", "8 mixed args"};
  for (Placement p : {Placement::Executable, Placement::Library})
    for (const char* name : rows)
      for (const Group& g : r.calls) {
        if (g.name != name || g.placement != p || !(g.ns[bench::kDirect] > 0)) continue;
        double fastest = 0;
        for (int e : {bench::kBound, bench::kRegReturn})
          if (g.ns[e] > 0 && (!fastest || g.ns[e] < fastest)) fastest = g.ns[e];
        const std::string where = std::string(" (") + bench::placement_name(p) + ")";
        out.push_back({std::string(name) + where + ": fastest tramp / direct", fastest / g.ns[bench::kDirect], 1.3});
        out.push_back({std::string(name) + where + ": tramp invoke / direct", g.ns[bench::kInvoke] / g.ns[bench::kDirect], 1.6});
      }
  for (const Group& g : r.callbacks)
    if (g.name == "int(int,int)" && g.placement == Placement::Executable && g.ns[bench::kCbThunk] > 0)
      out.push_back({"int(int,int) callback: libffi closure / tramp thunk", g.ns[bench::kCbClosure] / g.ns[bench::kCbThunk],
                     6, false});
  for (const SetupResult& s : r.setup) {
    if (s.what == "callback made and freed" && s.libffi_ns > 0)
      out.push_back({"callback made and freed: tramp / libffi", s.tramp_ns / s.libffi_ns, 0.5});
    if (s.what == bench::kSetupNewFromSignature)
      out.push_back({"stub for a new signature, from a Signature (us)", s.tramp_ns / 1000, 1.0});
  }
  return out;
}

// Options shared by the matrix and scaling runs.
struct OutputFiles {
  std::string csv, json, svg;
};

bool take_output(const std::vector<std::string>& args, std::size_t& i, OutputFiles& out) {
  const std::string& a = args[i];
  if (a != "--csv" && a != "--json" && a != "--svg") return false;
  if (i + 1 >= args.size()) throw UsageError(a + " needs a FILE");
  (a == "--csv" ? out.csv : a == "--json" ? out.json : out.svg) = args[++i];
  return true;
}

long parse_count(const std::string& option, const std::string& text, long min) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end || errno || v < min)
    throw UsageError(option + ": '" + text + "' is not a whole number >= " + std::to_string(min));
  return v;
}

}  // namespace

int bench_matrix(const std::vector<std::string>& args) {
  MatrixResults r;
  OutputFiles files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (take_output(args, i, files) || a == "--matrix") continue;
    if (a == "--quick") {
      r.timing.reps = 3;
      r.timing.batch_ms = 1;
      r.timing.setup_sigs = 200;
    } else if (a == "--reps" && i + 1 < args.size()) {
      r.timing.reps = static_cast<int>(parse_count(a, args[++i], 1));
    } else if (a == "--batch-ms" && i + 1 < args.size()) {
      char* end = nullptr;
      const std::string& v = args[++i];
      r.timing.batch_ms = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(r.timing.batch_ms > 0) || r.timing.batch_ms > 10000)
        throw UsageError("--batch-ms: '" + v + "' is not a time in ms (0 to 10000)");
    } else if (a == "--reps" || a == "--batch-ms") {
      throw UsageError(a + " needs a value");
    } else {
      throw UsageError("unexpected '" + a + "' (the matrix takes --quick, --reps N, --batch-ms X, --csv/--json/--svg FILE)");
    }
  }
  r.machine = machine_info();
  const Timing& t = r.timing;
  bench::set_face_path(TRAMP_FFI_FACE_PATH);
  if (!bench::shared_callees(&r.library_note)) r.library_note = "the callee library: " + r.library_note;

  // The engine an interpreter in this program would make: its code next to the loops that
  // call it (EngineOptions::code_near). Bound stubs go next to their targets, callbacks next
  // to their handlers, whatever the engine.
  tramp::Engine engine(tramp::EngineOptions{bench::caller_code()});
  const auto calls = bench::call_rows(engine);
  const auto callbacks = bench::callback_rows(engine);
  if (bench::check_results(calls, callbacks)) return 1;

  // The jobs, counted first for the progress line. They keep references into r.calls and
  // r.callbacks, which therefore never reallocate.
  std::vector<std::pair<std::string, std::function<void()>>> jobs;
  r.calls.reserve(calls.size());
  r.callbacks.reserve(callbacks.size());
  for (const auto& p : calls) {
    Group& g = r.calls.emplace_back(Group{p->name(), p->signature().str(true), p->shown(), p->placement(),
                                          std::vector<double>(bench::kCallEngines, 0.0)});
    for (int e = 0; e < bench::kCallEngines; ++e)
      if (p->has(e))
        jobs.emplace_back(p->name() + " (" + bench::placement_name(p->placement()) + ") " + bench::kCallEngineNames[e],
                          [&g, &p, e, &t] { g.ns[e] = time_ns(p->batch(e), t); });
  }
  for (const auto& p : callbacks) {
    Group& g = r.callbacks.emplace_back(Group{p->name(), p->signature().str(true), p->shown(), p->placement(),
                                              std::vector<double>(bench::kCallbackEngines, 0.0)});
    for (int e = 0; e < bench::kCallbackEngines; ++e)
      if (p->has(e))
        jobs.emplace_back("callback " + p->name() + " (" + bench::placement_name(p->placement()) + ") " +
                              bench::kCallbackEngineNames[e],
                          [&g, &p, e, &t] { g.ns[e] = time_ns(p->batch(e), t); });
  }
  const std::vector<bench::SetupRow> setup_rows = bench::setup_rows(engine);
  r.setup = {{bench::kSetupNewFromText}, {bench::kSetupNewFromSignature}};
  for (const bench::SetupRow& s : setup_rows)
    if (std::none_of(r.setup.begin(), r.setup.end(), [&](const SetupResult& x) { return x.what == s.what; }))
      r.setup.push_back({s.what});
  auto setup_of = [&](const std::string& what) -> SetupResult& {
    return *std::find_if(r.setup.begin(), r.setup.end(), [&](const SetupResult& x) { return x.what == what; });
  };
  // New stubs: the median over t.reps fresh engines.
  for (bool from_text : {true, false})
    jobs.emplace_back(std::string("setup: new stubs from ") + (from_text ? "text" : "a Signature"), [&, from_text] {
      std::vector<double> ns;
      for (int k = 0; k < t.reps; ++k) ns.push_back(bench::new_stubs_ns(from_text, t.setup_sigs));
      setup_of(from_text ? bench::kSetupNewFromText : bench::kSetupNewFromSignature).tramp_ns = median(ns);
    });
  for (const bench::SetupRow& s : setup_rows)
    jobs.emplace_back("setup: " + s.what + " (" + s.who + ")", [&] {
      SetupResult& out = setup_of(s.what);
      (s.who == "tramp" ? out.tramp_ns : s.who == "libffi face" ? out.face_ns : out.libffi_ns) = time_ns(s.batch, t);
    });
  jobs.emplace_back("code bytes", [&] { r.code = bench::code_bytes(calls, engine); });

  {
    Progress progress(jobs.size());
    for (auto& [label, job] : jobs) {
      progress.step(label);
      job();
    }
  }
  r.targets = judge(r);
  print_results(r);
  if (!files.csv.empty()) write_text_file(files.csv, matrix_csv(r));
  if (!files.json.empty()) write_text_file(files.json, matrix_json(r));
  if (!files.svg.empty()) write_text_file(files.svg, matrix_svg(r));
  return 0;
}

// ---- scaling ----

namespace {

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct Sample {
  long stubs;
  double ns_per_stub;  // the batch ending here: its time over its stubs
  double median_ns;    // the batch's median stub (what interruptions and rehashing leave out)
  std::size_t code_in_use, code_mapped;
  long resident_kib;  // growth since the start
};

// Least-squares slope of y over x and the coefficient of determination.
std::pair<double, double> fit(const std::vector<std::pair<double, double>>& pts) {
  const double n = static_cast<double>(pts.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (const auto& [x, y] : pts) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  const double cov = sxy - sx * sy / n, vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
  if (!(vx > 0)) return {0, 0};
  return {cov / vx, vy > 0 ? cov * cov / (vx * vy) : 1};
}

}  // namespace

int bench_scaling(const std::vector<std::string>& args) {
  long count = 0;
  long points = 20;
  OutputFiles files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (take_output(args, i, files)) continue;
    if ((a == "--scaling" || a == "--points") && i + 1 < args.size())
      (a == "--scaling" ? count : points) = parse_count(a, args[++i], 1);
    else if (a == "--scaling" || a == "--points")
      throw UsageError(a + " needs a number");
    else
      throw UsageError("unexpected '" + a + "' (--scaling N takes --points P, --csv/--json/--svg FILE)");
  }
  if (count > 10000000) throw UsageError("--scaling: at most 10000000 signatures");
  points = std::min(points, count);
  const MachineInfo machine = machine_info();
  // Every signature of a run has the same number of arguments (the fewest that give N
  // signatures: 7 for 100,000), because the time to make a stub grows with its arguments, and
  // the curve should show the number of stubs alone.
  const int width = bench::scaling_width(count);

  tramp::Engine engine;
  void* const* argv = bench::scaling_args();
  const void* const target = bench::scaling_target();
  std::vector<Sample> samples;
  std::vector<std::string> texts;
  long checksum = 0, done = 0;
  const long rss0 = resident_kib();
  {
    Progress progress(static_cast<std::size_t>(points));
    for (long k = 1; k <= points; ++k) {
      const long end = count * k / points;
      texts.clear();
      for (long i = done; i < end; ++i) texts.push_back(bench::scaling_signature(i, width));
      progress.step(std::to_string(end) + " of " + std::to_string(count) + " signatures");
      std::vector<double> each;
      each.reserve(texts.size());
      // The batch in this thread's CPU time (bench::thread_ns); each stub with the steady
      // clock, whose reading costs far less (an interrupted stub is an outlier the median
      // ignores).
      const double cpu0 = bench::thread_ns();
      auto before = Clock::now();
      for (const std::string& text : texts) {
        long r = 0;
        engine.invoker(text)(target, &r, argv);
        checksum += r;
        const auto after = Clock::now();
        each.push_back(std::chrono::duration<double, std::nano>(after - before).count());
        before = after;
      }
      const double ns = bench::thread_ns() - cpu0;
      const tramp::CodeStats cs = engine.code_stats();
      samples.push_back({end, ns / static_cast<double>(end - done), median(std::move(each)), cs.bytes_in_use,
                         cs.bytes_mapped, resident_kib() - rss0});
      done = end;
    }
  }
  if (checksum != 7 * count || engine.cached_stubs() != static_cast<std::size_t>(count)) {
    std::fprintf(stderr, "tramp bench --scaling: %zu stubs cached, checksum %ld (want %ld): wrong\n",
                 engine.cached_stubs(), checksum, 7 * count);
    return 1;
  }

  std::vector<double> times, medians;
  std::vector<std::pair<double, double>> code_pts, rss_pts;
  for (const Sample& s : samples) {
    times.push_back(s.ns_per_stub);
    medians.push_back(s.median_ns);
    code_pts.emplace_back(static_cast<double>(s.stubs), static_cast<double>(s.code_in_use));
    rss_pts.emplace_back(static_cast<double>(s.stubs), 1024.0 * static_cast<double>(s.resident_kib));
  }
  const auto [code_slope, code_r2] = fit(code_pts);
  const auto [rss_slope, rss_r2] = fit(rss_pts);
  const double t_med = median(times);
  const double t_min = *std::min_element(times.begin(), times.end());
  const double t_max = *std::max_element(times.begin(), times.end());

  std::printf("tramp bench --scaling %ld: distinct signatures of %d arguments made and called through one engine\n"
              "%s\n\n",
              count, width, machine.line().c_str());
  std::printf("| signatures | ns per new stub (this batch) | median stub ns (this batch) | code bytes in use | "
              "code bytes mapped | resident KiB |\n|---:|---:|---:|---:|---:|---:|\n");
  for (const Sample& s : samples)
    std::printf("| %ld | %.0f | %.0f | %zu | %zu | %ld |\n", s.stubs, s.ns_per_stub, s.median_ns, s.code_in_use,
                s.code_mapped, s.resident_kib);
  char summary[700];
  std::snprintf(summary, sizeof summary,
                "ns per new stub (batch means): first batch %.0f, last batch %.0f, median %.0f, min %.0f, max %.0f\n"
                "median stub of each batch: first %.0f, last %.0f, min %.0f, max %.0f ns\n"
                "code in use: %.1f bytes per stub (least-squares slope, R^2 %.4f); %.1f bytes per stub at the end\n"
                "resident memory: %.0f bytes per stub (slope, R^2 %.4f)\n",
                times.front(), times.back(), t_med, t_min, t_max, medians.front(), medians.back(),
                *std::min_element(medians.begin(), medians.end()), *std::max_element(medians.begin(), medians.end()),
                code_slope, code_r2,
                static_cast<double>(samples.back().code_in_use) / static_cast<double>(count), rss_slope, rss_r2);
  std::printf("\n%s", summary);

  if (!files.csv.empty()) {
    std::string out = "signatures,ns_per_new_stub,median_ns_per_stub,code_bytes_in_use,code_bytes_mapped,resident_kib\n";
    for (const Sample& s : samples)
      out += std::to_string(s.stubs) + "," + number(s.ns_per_stub) + "," + number(s.median_ns) + "," +
             std::to_string(s.code_in_use) + "," +
             std::to_string(s.code_mapped) + "," + std::to_string(s.resident_kib) + "\n";
    write_text_file(files.csv, out);
  }
  if (!files.json.empty()) {
    std::string out = "{\n  \"tool\": \"tramp bench --scaling\",\n  \"machine\": " + json_string(machine.line()) +
                      ",\n  \"signatures\": " + std::to_string(count) +
                      ",\n  \"arguments_per_signature\": " + std::to_string(width) +
                      ",\n  \"code_bytes_per_stub\": " + number(code_slope) +
                      ",\n  \"code_r2\": " + number(code_r2) + ",\n  \"resident_bytes_per_stub\": " +
                      number(rss_slope) + ",\n  \"resident_r2\": " + number(rss_r2) +
                      ",\n  \"ns_per_new_stub_median\": " + number(t_med) + ",\n  \"samples\": [";
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const Sample& s = samples[i];
      out += std::string(i ? "," : "") + "\n    {\"signatures\": " + std::to_string(s.stubs) +
             ", \"ns_per_new_stub\": " + number(s.ns_per_stub) + ", \"median_ns_per_stub\": " +
             number(s.median_ns) + ", \"code_bytes_in_use\": " +
             std::to_string(s.code_in_use) + ", \"code_bytes_mapped\": " + std::to_string(s.code_mapped) +
             ", \"resident_kib\": " + std::to_string(s.resident_kib) + "}";
    }
    out += "\n  ]\n}\n";
    write_text_file(files.json, out);
  }
  if (!files.svg.empty()) {
    Series time{"mean of the batch", "#0072b2", {}};
    Series typical{"median stub of the batch", "#56b4e9", {}};
    Series in_use{"code bytes in use", "#009e73", {{0, 0}}};
    Series mapped{"code bytes mapped", "#e69f00", {{0, 0}}};
    Series rss{"resident memory, growth", "#cc79a7", {{0, 0}}};
    for (const Sample& s : samples) {
      const double x = static_cast<double>(s.stubs);
      time.points.emplace_back(x, s.ns_per_stub);
      typical.points.emplace_back(x, s.median_ns);
      in_use.points.emplace_back(x, static_cast<double>(s.code_in_use) / 1048576.0);
      mapped.points.emplace_back(x, static_cast<double>(s.code_mapped) / 1048576.0);
      rss.points.emplace_back(x, static_cast<double>(s.resident_kib) / 1024.0);
    }
    char n1[200], n2[200], n3[200];
    std::snprintf(n1, sizeof n1,
                  "%d-argument signatures: parse, classify, emit, install, first call; batches of %ld, their means "
                  "%.0f to %.0f ns",
                  width, count / points, t_min, t_max);
    std::snprintf(n2, sizeof n2, "%.1f bytes of code per stub (least-squares slope, R\xc2\xb2 %.4f)", code_slope, code_r2);
    std::snprintf(n3, sizeof n3, "%.0f bytes per stub in all (slope, R\xc2\xb2 %.4f)", rss_slope, rss_r2);
    const std::string title =
        "tramp bench --scaling " + std::to_string(count) + ": new signatures through one engine";
    write_text_file(files.svg,
                    line_chart_svg(title, machine.line(), "distinct signatures made and called (stubs in the engine)",
                                   {{"Time per new stub", "ns per stub", {time, typical}, n1},
                                    {"Executable code", "MiB", {in_use, mapped}, n2},
                                    {"Resident memory of the process, growth since the start", "MiB", {rss}, n3}}));
  }
  return 0;
}

}  // namespace tramp::tools
