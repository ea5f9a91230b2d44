// CodeArena: W^X dual mapping, reuse, counters, threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "jit/code_arena.hpp"
#include "tramp/tramp.hpp"
#include "wx_check.hpp"

using tramp::jit::CodeArena;

namespace {
// mov eax, imm32; ret
std::vector<std::uint8_t> return_const(std::uint32_t v) {
  std::vector<std::uint8_t> c = {0xB8, 0, 0, 0, 0, 0xC3};
  std::memcpy(&c[1], &v, 4);
  return c;
}
int run(const void* code) { return reinterpret_cast<int (*)()>(const_cast<void*>(code))(); }
}  // namespace

TEST_CASE("installed code runs and no page is writable and executable", "[arena]") {
  CodeArena arena;
  const void* a = arena.install(return_const(42));
  const void* b = arena.install(return_const(7));
  CHECK(run(a) == 42);
  CHECK(run(b) == 7);
  CHECK(tramp::test::find_wx_mapping() == "");
  CHECK(tramp::test::count_code_mappings() >= 2);  // the writable and the executable view
  CHECK(reinterpret_cast<std::uintptr_t>(a) % CodeArena::kGranule == 0);
}

TEST_CASE("freed blocks are reused and counters are exact", "[arena]") {
  CodeArena arena;
  const void* a = arena.install(return_const(1));
  auto s1 = arena.stats();
  CHECK(s1.live_blocks == 1);
  CHECK(s1.bytes_in_use == CodeArena::kGranule);
  CHECK(s1.chunks == 1);
  arena.free(a);
  CHECK(arena.stats().live_blocks == 0);
  CHECK(arena.stats().bytes_in_use == 0);
  const void* b = arena.install(return_const(2));
  CHECK(b == a);
  CHECK(run(b) == 2);
  arena.free(nullptr);          // no-op
  arena.free(&s1);              // not ours: ignored
  arena.free(b);
  arena.free(b);                // double free: ignored
  CHECK(arena.stats().live_blocks == 0);
  CHECK(arena.stats().total_allocs == 2);
}

TEST_CASE("requests larger than a chunk get their own chunk", "[arena]") {
  CodeArena arena;
  std::vector<std::uint8_t> big(200 * 1024, 0x90);  // nops
  big.back() = 0xC3;
  const void* p = arena.install(big);
  CHECK(arena.stats().bytes_mapped >= big.size());
  reinterpret_cast<void (*)()>(const_cast<void*>(p))();
  arena.free(p);
  CHECK(arena.stats().bytes_in_use == 0);
}

TEST_CASE("churn: a million allocations keep memory bounded", "[arena]") {
  CodeArena arena;
  std::mt19937 rng(5);
  std::vector<const void*> live;
  std::size_t max_mapped = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    if (live.size() < 64 && (rng() & 1)) {
      auto r = arena.reserve(16 + rng() % 240);
      arena.commit(r);
      live.push_back(r.executable);
    } else if (!live.empty()) {
      std::size_t k = rng() % live.size();
      arena.free(live[k]);
      live[k] = live.back();
      live.pop_back();
    }
    max_mapped = std::max(max_mapped, arena.stats().bytes_mapped);
  }
  for (const void* p : live) arena.free(p);
  CHECK(arena.stats().live_blocks == 0);
  CHECK(max_mapped <= 2 * 64 * 1024);  // 64 live blocks of at most 256 bytes fit one chunk
  CHECK(arena.stats().chunks == 1);
}

TEST_CASE("threads install, run and free concurrently; W^X holds throughout", "[arena][threads]") {
  CodeArena arena;
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::string wx;
  std::thread watcher([&] {
    while (!stop) {
      std::string line = tramp::test::find_wx_mapping();
      if (!line.empty()) wx = line;
    }
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        std::uint32_t v = static_cast<std::uint32_t>(t * 100000 + i);
        const void* p = arena.install(return_const(v));
        if (run(p) != static_cast<int>(v)) ++wrong;
        arena.free(p);
      }
    });
  for (auto& w : workers) w.join();
  stop = true;
  watcher.join();
  CHECK(wrong == 0);
  CHECK(wx == "");
  CHECK(arena.stats().live_blocks == 0);
}

TEST_CASE("no page is writable and executable while the engine makes stubs", "[arena][engine][threads]") {
  std::atomic<bool> stop{false};
  std::string wx;
  std::thread watcher([&] {
    while (!stop) {
      std::string line = tramp::test::find_wx_mapping();
      if (!line.empty()) wx = line;
    }
  });
  {
    tramp::Engine engine;
    for (int i = 0; i < 300; ++i) {
      std::string sig = "i64(i64";
      for (int k = 0; k < i % 20; ++k) sig += ", f64";
      sig += ")";
      if (i % 3 == 0) sig = "{i64, i64, i64}(" + sig.substr(4);
      engine.invoker(sig);
      auto cb = engine.callback(tramp::parse_signature(sig), [](void*, void* const*) {});
    }
  }
  stop = true;
  watcher.join();
  CHECK(wx == "");
}
