// The program tests/perf/check.cmake profiles: half a second of calls through one call stub,
// so that perf's samples land in it.
#include <chrono>
#include <cstdio>

#include <unistd.h>

#include "tramp/tramp.hpp"

extern "C" __attribute__((noinline)) long perf_callee(long a, long b, long c, long d, long e, long f, long g, long h,
                                                      long i, long j) {
  return a + b + c + d + e + f + g + h + i + j;
}

int main() {
  tramp::Invoker inv = tramp::Engine::global().invoker(
      tramp::parse_signature("i64(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)"));
  long v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  void* args[10];
  for (int i = 0; i < 10; ++i) args[i] = &v[i];
  long r = 0, sum = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until)
    for (int k = 0; k < 10000; ++k) {
      inv(reinterpret_cast<const void*>(&perf_callee), &r, args);
      sum += r;
    }
  std::printf("sum %ld pid %ld\n", sum, static_cast<long>(getpid()));
  return 0;
}
