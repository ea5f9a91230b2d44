// Callback lifetime under load: churn with bounded memory, and threads that create, call and
// destroy callbacks at once (run under ThreadSanitizer by ./dev test).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "tramp/tramp.hpp"

namespace {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kChurn = 100'000;  // sanitizers make each creation ~10x slower
#else
constexpr int kChurn = 1'000'000;
#endif

void add_one(void* ret, void* const* args, void*) { *static_cast<int*>(ret) = *static_cast<int*>(args[0]) + 1; }
}  // namespace

TEST_CASE("churn: creating and freeing callbacks keeps code memory bounded", "[callback][churn]") {
  tramp::Engine engine;
  const tramp::Signature sig = tramp::parse_signature("i32(i32)");
  std::size_t max_mapped = 0;
  for (int i = 0; i < kChurn; ++i) {
    tramp::Callback cb = engine.callback(sig, add_one, nullptr);
    if (i % 1000 == 0) REQUIRE(cb.as<int(int)>()(i) == i + 1);
    max_mapped = std::max(max_mapped, engine.code_stats().bytes_mapped);
  }
  // Making a callback emits no code: the signature's thunk and one block of veneers are all
  // the code there is, however many callbacks came and went.
  tramp::CodeStats s = engine.code_stats();
  CHECK(s.total_allocs == 2);
  CHECK(s.live_blocks == 2);
  CHECK(s.chunks == 1);
  CHECK(max_mapped == s.bytes_mapped);  // never more than the first chunk
}

TEST_CASE("many live callbacks: one thunk, a veneer each, each reaching its own user", "[callback][churn]") {
  tramp::Engine engine;
  const tramp::Signature sig = tramp::parse_signature("i64(i64)");
  constexpr std::size_t kLive = 200'000;
  std::vector<tramp::Callback> live;
  live.reserve(kLive);
  auto add_user = [](void* ret, void* const* args, void* user) {
    *static_cast<long*>(ret) = *static_cast<long*>(args[0]) + static_cast<long>(reinterpret_cast<std::intptr_t>(user));
  };
  for (std::size_t i = 0; i < kLive; ++i)
    live.push_back(engine.callback(sig, add_user, reinterpret_cast<void*>(static_cast<std::intptr_t>(i))));
  bool each_own = true;
  for (std::size_t i = 0; i < kLive; i += 997) each_own &= live[i].as<long(long)>()(1000000) == 1000000 + long(i);
  CHECK(each_own);
  CHECK(live[0].code() != live[1].code());
  // Code per callback: its 32-byte veneer (the one thunk is shared).
  const tramp::CodeStats s = engine.code_stats();
  const double per_callback = static_cast<double>(s.bytes_in_use) / kLive;
  INFO("code bytes in use per live callback: " << per_callback);
  CHECK(per_callback < 33);
  // Freed and made again: the same entries serve, no new code.
  const std::size_t allocs = s.total_allocs;
  live.clear();
  for (std::size_t i = 0; i < kLive; ++i) live.push_back(engine.callback(sig, add_user, nullptr));
  CHECK(engine.code_stats().total_allocs == allocs);
}

TEST_CASE("8 threads create, call and destroy callbacks concurrently", "[callback][threads]") {
  tramp::Engine engine;
  const tramp::Signature sig = tramp::parse_signature("i64(i64, f64)");
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0}, wrong{0};
  // A few long-lived callbacks every thread calls while others come and go.
  std::vector<tramp::Callback> shared;
  for (int k = 0; k < 4; ++k)
    shared.push_back(engine.callback(sig, [k](void* ret, void* const* args) {
      *static_cast<long*>(ret) = *static_cast<long*>(args[0]) * k + static_cast<long>(*static_cast<double*>(args[1]));
    }));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      long i = 0;
      while (!stop) {
        ++i;
        tramp::Callback own = engine.callback(sig, [t](void* ret, void* const* args) {
          *static_cast<long*>(ret) = *static_cast<long*>(args[0]) + t;
        });
        if (own.as<long(long, double)>()(i, 0.0) != i + t) ++wrong;
        int k = static_cast<int>(i % 4);
        if (shared[k].as<long(long, double)>()(i, 2.0) != i * k + 2) ++wrong;
        calls += 2;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
  CHECK(calls > 0);
  shared.clear();
  // The thunk and the one block of veneers the 12 callbacks alive at a time needed.
  CHECK(engine.code_stats().live_blocks == 2);
}
