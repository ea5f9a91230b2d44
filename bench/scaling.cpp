// Scaling: 100,000 distinct signatures made and called through one engine. Prints, per batch
// of 10,000, the time per new stub, the code bytes in use and mapped (the arena's counters),
// and the process's resident memory, so a reader can see that the time stays flat and the
// memory grows linearly with the code. Run by `./dev bench` after the call tables.
//
//   tramp_scaling [COUNT]     default 100000
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

namespace {

extern "C" long scaling_target() { return 7; }  // SysV: a caller may pass more than it reads

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4;
}

// The n-th signature: i64 return and n in bijective base 6 over six scalar types, one digit
// per argument (0 to 7 arguments for 100,000), so every n gives a different signature.
std::string signature(long n) {
  static const char* const kTypes[] = {"i32", "i64", "f64", "f32", "ptr", "u16"};
  std::string s = "i64(";
  for (int k = 0; n > 0; ++k) {  // bijective base 6: every n a different argument list
    --n;
    s += std::string(k ? ", " : "") + kTypes[n % 6];
    n /= 6;
  }
  return s + ")";
}

}  // namespace

int main(int argc, char** argv) {
  const long count = argc > 1 ? std::atol(argv[1]) : 100000;
  const long batch = count >= 100000 ? 10000 : (count >= 10 ? count / 10 : 1);
  tramp::Engine engine;
  std::vector<unsigned char> arg_bytes(16 * 8, 0);
  std::vector<void*> args(16);
  for (int i = 0; i < 16; ++i) args[i] = arg_bytes.data() + 8 * i;
  std::printf("| signatures | ns per new stub (this batch) | code bytes in use | code bytes mapped | resident KiB |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  const long rss0 = resident_kib();
  long checksum = 0;
  std::vector<std::string> texts;
  for (long done = 0; done < count;) {
    texts.clear();
    for (long i = done; i < done + batch && i < count; ++i) texts.push_back(signature(i));
    auto t0 = std::chrono::steady_clock::now();
    for (const std::string& t : texts) {
      long r = 0;
      engine.invoker(t)(reinterpret_cast<void*>(&scaling_target), &r, args.data());
      checksum += r;
    }
    auto t1 = std::chrono::steady_clock::now();
    done += static_cast<long>(texts.size());
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(texts.size());
    const tramp::CodeStats s = engine.code_stats();
    std::printf("| %ld | %.0f | %zu | %zu | %ld |\n", done, ns, s.bytes_in_use, s.bytes_mapped, resident_kib() - rss0);
  }
  if (checksum != 7 * count || engine.cached_stubs() != static_cast<std::size_t>(count)) {
    std::fprintf(stderr, "tramp_scaling: %zu stubs cached, checksum %ld: wrong\n", engine.cached_stubs(), checksum);
    return 1;
  }
  return 0;
}
