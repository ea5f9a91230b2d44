// What telling the process's tools about code costs (docs/debugging.md): a bound stub made and
// freed, and its parts (emitting it; its unwind info made, registered and unregistered; its
// GDB JIT object made, added and removed), a callback made and freed, and a C++ throw and
// catch in the main executable while N bound stubs are registered (median of 7 runs each),
// and an engine of 10,000 call stubs destroyed (once each, before and after a throw).
//   build/bench/tramp_registration              all rows
//   build/bench/tramp_registration --bind N     only N bound stubs made and freed, and
//   build/bench/tramp_registration --callback N N callbacks: for callgrind, whose counts
//                                               repeat (the slope between two N is the cost of one)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "abi/call_plan.hpp"
#include "bench/rows.hpp"
#include "jit/emitter.hpp"
#include "jit/gdb_jit.hpp"
#include "jit/unwind.hpp"
#include "tramp/tramp.hpp"

namespace {

extern "C" __attribute__((noinline)) int add2(int a, int b) { return a + b; }
__attribute__((noinline)) void thrower() { throw 1; }

template <class F>
double ns_per(int n, F&& f) {
  std::vector<double> runs;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) f();
    runs.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n);
  }
  std::sort(runs.begin(), runs.end());
  return runs[3];
}

}  // namespace

int main(int argc, char** argv) {
  tramp::Engine& e = tramp::Engine::global();
  const tramp::Signature sig = tramp::parse_signature("i32(i32, i32)");
  const tramp::Invoker inv = e.invoker(sig);
  const auto fn = reinterpret_cast<const void*>(&add2);
  auto handler = [](void* r, void* const* a, void*) { *static_cast<int*>(r) = *static_cast<int*>(a[0]); };
  if (argc == 3) {
    const int count = std::atoi(argv[2]);
    { tramp::BoundCall warm = inv.bind(fn); tramp::Callback c = e.callback(sig, handler, nullptr); }
    for (int i = 0; i < count; ++i) {
      if (std::strcmp(argv[1], "--bind") == 0) tramp::BoundCall b = inv.bind(fn);
      else tramp::Callback c = e.callback(sig, handler, nullptr);
    }
    return 0;
  }
  const int n = 20000;
  const tramp::abi::CallPlan plan = tramp::abi::classify(sig).value();
  const tramp::jit::Emitted stub = tramp::jit::emit_call_stub(plan, fn);
  static unsigned char place[256];  // an address for the registrations alone; never run

  std::printf("| what | ns |\n|---|---:|\n");
  std::printf("| bound stub made and freed | %.0f |\n", ns_per(n, [&] { tramp::BoundCall b = inv.bind(fn); }));
  std::printf("| of which: emitting it | %.0f |\n", ns_per(n, [&] { (void)tramp::jit::emit_call_stub(plan, fn); }));
  std::printf("| of which: its unwind info made, registered, unregistered | %.0f |\n", ns_per(n, [&] {
                const auto eh = tramp::jit::eh_frame(stub.frame, reinterpret_cast<std::uintptr_t>(place), stub.code.size());
                const std::size_t fde = tramp::jit::eh_frame_fde_offset(eh);
                tramp::jit::UnwindObject object;
                tramp::jit::register_eh_frame(eh.data(), fde, object);
                tramp::jit::unregister_eh_frame(eh.data(), fde);
              }));
  const auto eh = tramp::jit::eh_frame(stub.frame, reinterpret_cast<std::uintptr_t>(place), stub.code.size());
  std::printf("| of which: its GDB JIT object made, added, removed | %.0f |\n", ns_per(n, [&] {
                const std::string_view name = "tramp.bound sysv:i32(i32, i32)";
                std::vector<std::uint8_t> symfile(tramp::jit::gdb_symfile_size(name.size(), eh.size()));
                (void)tramp::jit::write_gdb_symfile(symfile, plan.arch, place, stub.code.size(), name, eh);
                tramp::jit::GdbEntry g;
                g.symfile_addr = symfile.data();
                g.symfile_size = symfile.size();
                tramp::jit::gdb_register(g);
                tramp::jit::gdb_unregister(g);
              }));
  std::printf("| callback made and freed | %.0f |\n", ns_per(200000, [&] { tramp::Callback c = e.callback(sig, handler, nullptr); }));

  // The engine's own code so far is registered too (the stubs and thunks above, a veneer block).
  std::vector<tramp::BoundCall> live;
  for (int count : {0, 100, 1000, 10000}) {
    while (static_cast<int>(live.size()) < count) live.push_back(inv.bind(fn));
    std::printf("| throw and catch in the main executable, %d bound stubs alive | %.0f |\n", count, ns_per(2000, [] {
                  try {
                    thrower();
                  } catch (int) {
                  }
                }));
  }
  const auto t0 = std::chrono::steady_clock::now();
  live.clear();
  std::printf("| freeing those 10000 bound stubs, each | %.0f |\n",
              std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / 10000);

  // An engine of 10,000 distinct call stubs destroyed (it withdraws them all at once), with
  // none of them searched by an unwind yet, and after a C++ exception searched them all.
  for (bool thrown : {false, true}) {
    auto engine = std::make_unique<tramp::Engine>();
    for (long i = 0; i < 10000; ++i) engine->invoker(tramp::parse_signature(tramp::bench::scaling_signature(i, 6)));
    if (thrown) {
      try {
        thrower();
      } catch (int) {
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    engine.reset();
    std::printf("| an engine of 10000 call stubs destroyed%s, ms | %.1f |\n", thrown ? ", after a throw" : "",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count());
  }
  return 0;
}
