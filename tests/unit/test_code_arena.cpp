// CodeArena: W^X dual mapping, reuse, exact counters, chunk lifetime, churn, threads, and the
// fallback when memfd_create is unavailable. Builds on its own (no engine), so it can run
// against jit/code_arena.cpp alone.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "jit/code_arena.hpp"
#include "tramp/error.hpp"
#include "placement.hpp"
#include "sandbox.hpp"
#include "wx_check.hpp"

using tramp::jit::ArenaStats;
using tramp::jit::CodeArena;

namespace {

constexpr std::size_t kChunk = 64 * 1024;  // the arena's chunk size

std::size_t granules(std::size_t n) {
  return (std::max<std::size_t>(n, 1) + CodeArena::kGranule - 1) / CodeArena::kGranule *
         CodeArena::kGranule;
}

std::size_t page_size() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

// Open file descriptors of this process (the arena keeps none once a chunk is mapped).
int count_open_fds() {
  int n = 0;
  for (int fd = 0; fd < 4096; ++fd)
    if (fcntl(fd, F_GETFD) != -1) ++n;
  return n;
}

// Tiny functions `int f()` returning a constant, and `void f()` of a given size, in the host's
// machine code, so the tests run what they install.
#if defined(__x86_64__)
constexpr bool kCanRun = true;
std::vector<std::uint8_t> return_const(std::uint32_t v) {
  std::vector<std::uint8_t> c = {0xB8, 0, 0, 0, 0, 0xC3};  // mov eax, imm32; ret
  std::memcpy(&c[1], &v, 4);
  return c;
}
std::vector<std::uint8_t> nop_sled(std::size_t size) {  // nop...; ret
  std::vector<std::uint8_t> c(size, 0x90);
  c.back() = 0xC3;
  return c;
}
#elif defined(__aarch64__)
constexpr bool kCanRun = true;
void put32(std::vector<std::uint8_t>& c, std::uint32_t insn) {
  for (int i = 0; i < 4; ++i) c.push_back(static_cast<std::uint8_t>(insn >> (8 * i)));
}
std::vector<std::uint8_t> return_const(std::uint32_t v) {
  std::vector<std::uint8_t> c;
  put32(c, 0x52800000u | ((v & 0xFFFFu) << 5));  // movz w0, #lo
  put32(c, 0x72A00000u | ((v >> 16) << 5));      // movk w0, #hi, lsl #16
  put32(c, 0xD65F03C0u);                         // ret
  return c;
}
std::vector<std::uint8_t> nop_sled(std::size_t size) {  // size rounded down to 4
  std::vector<std::uint8_t> c;
  for (std::size_t i = 0; i + 8 <= size; i += 4) put32(c, 0xD503201Fu);  // nop
  put32(c, 0xD65F03C0u);                                                 // ret
  return c;
}
#else
// Elsewhere the code is only stored and read back through the executable view.
constexpr bool kCanRun = false;
std::vector<std::uint8_t> return_const(std::uint32_t v) {
  std::vector<std::uint8_t> c(8, 0);
  std::memcpy(&c[0], &v, 4);
  return c;
}
std::vector<std::uint8_t> nop_sled(std::size_t size) { return std::vector<std::uint8_t>(size); }
#endif

int run(const void* code) {
  if constexpr (kCanRun) {
    return reinterpret_cast<int (*)()>(const_cast<void*>(code))();
  } else {
    std::uint32_t v;
    std::memcpy(&v, code, 4);
    return static_cast<int>(v);
  }
}

bool same(const ArenaStats& a, const ArenaStats& b) {
  return a.chunks == b.chunks && a.bytes_mapped == b.bytes_mapped &&
         a.bytes_in_use == b.bytes_in_use && a.live_blocks == b.live_blocks &&
         a.total_allocs == b.total_allocs;
}

}  // namespace

TEST_CASE("arena: installed code runs from a read+execute view, written via a read+write one",
          "[arena]") {
  CodeArena arena;
  const void* a = arena.install(return_const(42));
  const void* b = arena.install(return_const(7));
  CHECK(run(a) == 42);
  CHECK(run(b) == 7);
  CHECK(reinterpret_cast<std::uintptr_t>(a) % CodeArena::kGranule == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(b) % CodeArena::kGranule == 0);

  auto r = arena.reserve(10);
  arena.commit(r);
  tramp::test::Mapping exec = tramp::test::mapping_of(r.executable);
  tramp::test::Mapping write = tramp::test::mapping_of(r.writable);
  INFO(exec.line << "\n" << write.line);
  CHECK(exec.perms == "r-xs");
  CHECK(write.perms == "rw-s");
  CHECK(exec.path.find("tramp-code") != std::string::npos);
  CHECK(tramp::test::find_wx_mapping() == "");
  arena.free(r.executable);
}

#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
namespace {
// Whether the page at `p` is in memory (for the arena's shared file pages: in the page cache,
// whichever view asks).
bool resident(const void* p) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  auto at = reinterpret_cast<std::uintptr_t>(p) / page * page;
  unsigned char v = 0;
  REQUIRE(mincore(reinterpret_cast<void*>(at), page, &v) == 0);
  return v & 1;
}
// Whether MADV_POPULATE_WRITE gives a shared file mapping its pages here (Linux >= 5.14, and
// not under a translator such as qemu-user, which accepts and ignores it).
bool populate_works() {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  const int fd = memfd_create("tramp-probe", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(2 * page)) != 0) return false;
  void* m = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return false;
  const bool ok = madvise(m, 2 * page, MADV_POPULATE_WRITE) == 0 && resident(static_cast<char*>(m) + page);
  munmap(m, 2 * page);
  return ok;
}
}  // namespace

TEST_CASE("arena: a chunk asks for its pages ahead of their first block, one for a lone stub, then doubling",
          "[arena]") {
  if (!populate_works()) {
    WARN("MADV_POPULATE_WRITE does not populate here (before Linux 5.14 or under qemu-user): not exercised");
    return;
  }
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  CodeArena arena;
  const auto* first = static_cast<const std::uint8_t*>(arena.install(return_const(1)));
  REQUIRE(reinterpret_cast<std::uintptr_t>(first) % page == 0);  // a fresh chunk fills from its start
  CHECK(resident(first));
  CHECK_FALSE(resident(first + page));  // nothing asked for beyond the lone stub's page
  // Blocks up to the third page: pages 0 and 1 were asked for one at a time, so the third
  // asks for two (the fourth comes with it, unwritten).
  std::vector<const void*> blocks;
  const std::uint8_t* last = first;
  while (last < first + 2 * page) {
    auto r = arena.reserve(256);
    arena.commit(r);
    blocks.push_back(r.executable);
    last = static_cast<const std::uint8_t*>(r.executable);
  }
  REQUIRE(last < first + 3 * page);
  CHECK(resident(first + 3 * page));
  CHECK_FALSE(resident(first + 4 * page));
  for (const void* b : blocks) arena.free(b);
  arena.free(first);
}
#endif

#if defined(__x86_64__) || defined(__aarch64__)
TEST_CASE("arena: a reservation knows its final address before it is committed", "[arena]") {
  CodeArena arena;
  auto r = arena.reserve(8);
  CHECK(r.size == 16);
  // A function that returns its own address.
#if defined(__x86_64__)
  const std::uint8_t code[] = {0x48, 0x8D, 0x05, 0xF9,
                               0xFF, 0xFF, 0xFF, 0xC3};  // lea rax, [rip - 7]; ret
#else
  const std::uint8_t code[] = {0x00, 0x00, 0x00, 0x10, 0xC0, 0x03, 0x5F, 0xD6};  // adr x0, .; ret
#endif
  std::memcpy(r.writable, code, sizeof code);
  arena.commit(r);
  auto fn = reinterpret_cast<const void* (*)()>(const_cast<void*>(r.executable));
  CHECK(fn() == r.executable);
  arena.free(r.executable);
}
#endif

TEST_CASE("arena: a freed block is reused at the same address", "[arena]") {
  CodeArena arena;
  const void* keep = arena.install(return_const(1));  // something before it on the chunk
  const ArenaStats before = arena.stats();
  const void* a = arena.install(return_const(2));
  CHECK(arena.stats().bytes_in_use == before.bytes_in_use + 16);
  arena.free(a);
  CHECK(arena.stats().bytes_in_use == before.bytes_in_use);
  CHECK(arena.stats().live_blocks == before.live_blocks);
  const void* b = arena.install(return_const(3));
  CHECK(b == a);
  CHECK(run(b) == 3);
  CHECK(run(keep) == 1);

  // Same for a larger block between two live ones: the hole is filled, not the tail.
  auto big1 = arena.reserve(1000);
  auto mid = arena.reserve(500);
  auto big2 = arena.reserve(1000);
  arena.free(mid.executable);
  auto again = arena.reserve(500);
  CHECK(again.executable == mid.executable);
  CHECK(again.writable == mid.writable);
  for (const void* p : {big1.executable, again.executable, big2.executable, b, keep}) arena.free(p);
  CHECK(arena.stats().live_blocks == 0);
  CHECK(arena.stats().bytes_in_use == 0);
}

TEST_CASE("arena: counters are exact across many sizes", "[arena]") {
  CodeArena arena;
  CHECK(same(arena.stats(), ArenaStats{}));

  const std::size_t sizes[] = {0,   1,   15,  16,   17,   31,   32,   33,   100,
                               255, 256, 257, 1000, 4095, 4096, 4097, 10000};
  std::vector<const void*> blocks;
  std::size_t in_use = 0;
  for (std::size_t n : sizes) {
    auto r = arena.reserve(n);
    CHECK(r.size == granules(n));
    CHECK(reinterpret_cast<std::uintptr_t>(r.executable) % CodeArena::kGranule == 0);
    std::memset(r.writable, 0xAB, r.size);  // the whole rounded size is ours
    arena.commit(r);
    blocks.push_back(r.executable);
    in_use += granules(n);
    ArenaStats s = arena.stats();
    CHECK(s.bytes_in_use == in_use);
    CHECK(s.live_blocks == blocks.size());
    CHECK(s.total_allocs == blocks.size());
    CHECK(s.chunks == 1);  // about 24 KiB in all: one chunk
    CHECK(s.bytes_mapped == kChunk);
  }
  // No two blocks overlap.
  std::vector<std::pair<std::uintptr_t, std::size_t>> spans;
  for (std::size_t i = 0; i < blocks.size(); ++i)
    spans.emplace_back(reinterpret_cast<std::uintptr_t>(blocks[i]), granules(sizes[i]));
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    CHECK(spans[i - 1].first + spans[i - 1].second <= spans[i].first);

  for (std::size_t i = 0; i < blocks.size(); i += 2) {  // free every other one
    arena.free(blocks[i]);
    in_use -= granules(sizes[i]);
  }
  CHECK(arena.stats().bytes_in_use == in_use);
  CHECK(arena.stats().live_blocks == blocks.size() / 2);
  for (std::size_t i = 1; i < blocks.size(); i += 2) arena.free(blocks[i]);
  ArenaStats s = arena.stats();
  CHECK(s.bytes_in_use == 0);
  CHECK(s.live_blocks == 0);
  CHECK(s.total_allocs == blocks.size());
  CHECK(s.chunks == 1);
  CHECK(s.bytes_mapped == kChunk);

  // After everything coalesced, one block of the whole chunk fits again.
  auto whole = arena.reserve(kChunk);
  CHECK(arena.stats().chunks == 1);
  arena.free(whole.executable);
}

TEST_CASE("arena: null, foreign pointers, interior pointers and double frees are ignored",
          "[arena]") {
  CodeArena arena;
  const void* a = arena.install(return_const(5));
  const void* b = arena.install(return_const(6));
  const ArenaStats s = arena.stats();
  int local = 0;
  arena.free(nullptr);
  arena.free(&local);
  arena.free(static_cast<const std::uint8_t*>(a) + 16 * 100);  // inside the chunk, not a block
  arena.free(static_cast<const std::uint8_t*>(b) + 1);         // inside a live block
  CHECK(same(arena.stats(), s));
  arena.free(a);
  arena.free(a);
  CHECK(arena.stats().live_blocks == 1);
  CHECK(run(b) == 6);
  CHECK(arena.install(return_const(8)) == a);
}

TEST_CASE("arena: a request larger than a chunk gets its own chunk, unmapped when freed",
          "[arena]") {
  CodeArena arena;
  const void* small = arena.install(return_const(1));
  for (std::size_t want : {kChunk + 16, std::size_t{200 * 1024}, std::size_t{1024 * 1024}}) {
    std::vector<std::uint8_t> big = nop_sled(want);
    const std::size_t size = big.size();
    const void* p = arena.install(big);
    ArenaStats s = arena.stats();
    const std::size_t mapped = (size + page_size() - 1) / page_size() * page_size();
    CHECK(s.chunks == 2);
    CHECK(s.bytes_mapped == kChunk + mapped);
    CHECK(s.bytes_in_use == 16 + granules(size));
    CHECK(std::memcmp(p, big.data(), size) == 0);
    if (kCanRun) reinterpret_cast<void (*)()>(const_cast<void*>(p))();
    arena.free(p);
    s = arena.stats();
    CHECK(s.chunks == 1);
    CHECK(s.bytes_mapped == kChunk);
    CHECK(s.bytes_in_use == 16);
  }
  CHECK(run(small) == 1);
}

TEST_CASE("arena: later chunks are unmapped when empty, the first one is kept", "[arena]") {
  const int views_before = tramp::test::count_code_mappings();
  const int fds_before = count_open_fds();
  {
    CodeArena arena;
    std::vector<const void*> blocks;
    for (int i = 0; i < 40; ++i) blocks.push_back(arena.reserve(8 * 1024).executable);
    ArenaStats s = arena.stats();
    CHECK(s.chunks == 5);  // 8 blocks of 8 KiB per 64 KiB chunk
    CHECK(s.bytes_mapped == 5 * kChunk);
    CHECK(tramp::test::count_code_mappings() == views_before + 10);
    // No fd stays open on hardware; under an emulator (remap mode) one per chunk does.
    CHECK(count_open_fds() <= fds_before + 5);
    for (const void* p : blocks) arena.free(p);
    s = arena.stats();
    CHECK(s.chunks == 1);
    CHECK(s.bytes_mapped == kChunk);
    CHECK(s.live_blocks == 0);
    CHECK(s.total_allocs == 40);
    CHECK(tramp::test::count_code_mappings() == views_before + 2);
  }
  CHECK(tramp::test::count_code_mappings() == views_before);  // the destructor unmaps all
  CHECK(count_open_fds() == fds_before);                      // and closes what it kept
}

TEST_CASE("arena: no mapping is writable and executable after any chunk is created",
          "[arena][wx]") {
  CodeArena arena;
  CHECK(tramp::test::find_wx_mapping() == "");
  std::vector<const void*> blocks;
  std::size_t chunks = 0;
  std::mt19937 rng(11);
  while (chunks < 12) {
    blocks.push_back(arena.install(std::vector<std::uint8_t>(1 + rng() % 9000, 0xC3)));
    if (arena.stats().chunks != chunks) {
      chunks = arena.stats().chunks;
      INFO("after chunk " << chunks);
      REQUIRE(tramp::test::find_wx_mapping() == "");
      auto exec = tramp::test::mapping_of(blocks.back());
      CHECK(exec.executable());
      CHECK_FALSE(exec.writable());
    }
  }
  for (const void* p : blocks) arena.free(p);
  CHECK(tramp::test::find_wx_mapping() == "");
}

TEST_CASE("arena: churn of a million allocations keeps chunks and bytes bounded",
          "[arena][churn]") {
  CodeArena arena;
  std::mt19937 rng(5);
  std::vector<std::pair<const void*, std::size_t>> live;
  constexpr std::size_t kMaxLive = 256, kMaxSize = 512;
  std::size_t allocs = 0, live_bytes = 0, max_chunks = 0, max_mapped = 0;
  while (allocs < 1'000'000) {
    bool alloc = live.empty() || (live.size() < kMaxLive && (rng() & 1));
    if (alloc) {
      std::size_t n = 1 + rng() % kMaxSize;
      auto r = arena.reserve(n);
      r.writable[0] = 0xC3;
      r.writable[r.size - 1] = 0xC3;
      arena.commit(r);
      live.emplace_back(r.executable, r.size);
      live_bytes += r.size;
      ++allocs;
    } else {
      std::size_t k = rng() % live.size();
      arena.free(live[k].first);
      live_bytes -= live[k].second;
      live[k] = live.back();
      live.pop_back();
    }
    if ((allocs & 255) == 0 || !alloc) {
      ArenaStats s = arena.stats();
      REQUIRE(s.bytes_in_use == live_bytes);
      REQUIRE(s.live_blocks == live.size());
      max_chunks = std::max(max_chunks, s.chunks);
      max_mapped = std::max(max_mapped, s.bytes_mapped);
    }
  }
  // At most 256 * 512 = 128 KiB live: two chunks when packed; first fit with coalescing
  // keeps fragmentation to a small multiple of that.
  INFO("max chunks " << max_chunks);
  CHECK(max_chunks <= 6);
  CHECK(max_mapped == max_chunks * kChunk);
  for (auto& [p, n] : live) arena.free(p);
  ArenaStats s = arena.stats();
  CHECK(s.total_allocs == 1'000'000);
  CHECK(s.live_blocks == 0);
  CHECK(s.bytes_in_use == 0);
  CHECK(s.chunks == 1);
  CHECK(s.bytes_mapped == kChunk);
}

TEST_CASE("arena: 4 threads install, run and free while another reads the maps",
          "[arena][threads][wx]") {
  CodeArena arena;
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<int> map_reads{0};
  constexpr int kMinReads = 200;
  std::string wx;
  std::thread watcher([&] {
    while (!stop.load()) {
      std::string line = tramp::test::find_wx_mapping();
      if (!line.empty() && wx.empty()) wx = line;
      ++map_reads;
    }
  });
  std::atomic<std::size_t> total_rounds{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<std::pair<const void*, std::uint32_t>> mine;
      // Run at least 20000 rounds and until the watcher has read the maps kMinReads times,
      // so its reads overlap chunk creation and unmapping.
      std::uint32_t rounds = 0;
      for (int i = 0; i < 20000 || map_reads.load() < kMinReads; ++i, ++rounds) {
        auto v = static_cast<std::uint32_t>(t * 1000000 + i);
        std::vector<std::uint8_t> code = return_const(v);
        // Now and then a big block, so chunks are created and unmapped under contention.
        if (i % 97 == 0) code.resize(code.size() + 40 * 1024, 0xCC);
        const void* p = arena.install(code);
        if (run(p) != static_cast<int>(v)) ++wrong;
        mine.emplace_back(p, v);
        if (mine.size() > 32 || (rng() & 3) == 0) {
          std::size_t k = rng() % mine.size();
          // Still intact after other threads wrote their blocks on the same chunk.
          if (run(mine[k].first) != static_cast<int>(mine[k].second)) ++wrong;
          arena.free(mine[k].first);
          mine[k] = mine.back();
          mine.pop_back();
        }
      }
      for (auto& [p, v] : mine) arena.free(p);
      total_rounds += rounds;
    });
  for (auto& w : workers) w.join();
  stop = true;
  watcher.join();
  INFO("maps read " << map_reads.load() << " times");
  CHECK(wrong == 0);
  CHECK(wx == "");
  CHECK(map_reads.load() >= kMinReads);
  ArenaStats s = arena.stats();
  CHECK(s.live_blocks == 0);
  CHECK(s.bytes_in_use == 0);
  CHECK(s.total_allocs == total_rounds.load());
  CHECK(s.chunks == 1);
}

TEST_CASE("arena: an impossible request throws tramp::Error(Jit) and leaks nothing", "[arena]") {
  CodeArena arena;
  const int views = tramp::test::count_code_mappings();
  try {
    arena.reserve(static_cast<std::size_t>(-1));
    FAIL("no throw");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == tramp::ErrorCode::Jit);
  }
  if constexpr (sizeof(std::size_t) == 8) {
    try {
      arena.reserve(std::size_t{1} << 52);  // 4 PiB: more than any address space
      FAIL("no throw");
    } catch (const tramp::Error& e) {
      CHECK(e.code() == tramp::ErrorCode::Jit);
      INFO(e.what());
      CHECK(std::string(e.what()).find("code arena") != std::string::npos);
      CHECK(std::string(e.what()).find("mmap") != std::string::npos);  // names the step
    }
  }
  CHECK(tramp::test::count_code_mappings() == views);
  CHECK(same(arena.stats(), ArenaStats{}));
  CHECK(run(arena.install(return_const(3))) == 3);  // still usable
}

#if defined(__linux__) && defined(SYS_memfd_create) && defined(SECCOMP_MODE_FILTER)
// In a child process, a seccomp filter makes memfd_create fail with ENOSYS (as old kernels
// and some sandboxes do); the arena must fall back to an unlinked temporary file, still
// dual-mapped, still never writable and executable.
TEST_CASE("arena: without memfd_create it falls back to a dual-mapped temporary file",
          "[arena][fallback]") {
  constexpr int kNoSeccomp = 77;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // No seccomp here (qemu-user, some containers): nothing to test, say so.
    if (!tramp::test::deny_code_memory(ENOSYS, /*deny_file_creation=*/false)) _exit(kNoSeccomp);
    int status = 0;
    try {
      CodeArena arena;
      const void* p = arena.install(return_const(99));
      if (run(p) != 99) status |= 1;
      tramp::test::Mapping exec = tramp::test::mapping_of(p);
      if (exec.perms != "r-xs") status |= 2;
      if (exec.path.find("memfd:") != std::string::npos) status |= 4;  // really the fallback
      if (exec.path.find("tramp-code-") == std::string::npos) status |= 8;
      if (!tramp::test::find_wx_mapping().empty()) status |= 16;
      auto big = arena.reserve(3 * kChunk);  // a second chunk from the same fallback
      arena.commit(big);
      if (arena.stats().chunks != 2) status |= 32;
      arena.free(big.executable);
      arena.free(p);
    } catch (...) {
      status |= 64;
    }
    _exit(status);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kNoSeccomp) {
    WARN("seccomp filters are unavailable here; the memfd fallback was not exercised");
    return;
  }
  INFO("child status bits " << WEXITSTATUS(status));
  CHECK(WEXITSTATUS(status) == 0);
}
#endif

// A code address must not tell where its bytes can be written: each chunk's writable view
// lies at a random distance from its executable view, not next to it.
TEST_CASE("arena: the writable view is not at a fixed distance from the code", "[arena]") {
#if defined(__SANITIZE_THREAD__)
  WARN("not under ThreadSanitizer, where the arena leaves placement to the kernel (code_arena.cpp)");
  return;
#endif
  std::vector<std::unique_ptr<CodeArena>> arenas;
  std::set<std::intptr_t> distances;
  for (int i = 0; i < 8; ++i) {
    arenas.push_back(std::make_unique<CodeArena>());
    CodeArena::Reservation r = arenas.back()->reserve(64);
    arenas.back()->commit(r);
    distances.insert(reinterpret_cast<std::intptr_t>(r.writable) - reinterpret_cast<std::intptr_t>(r.executable));
  }
  CHECK(distances.size() == 8);
  // In the maps, no writable view of the arena touches an executable one.
  std::vector<tramp::test::Mapping> views;
  for (const tramp::test::Mapping& m : tramp::test::read_maps())
    if (m.path.find("tramp-code") != std::string::npos) views.push_back(m);
  for (const auto& w : views)
    for (const auto& x : views)
      if (w.writable() && x.executable()) {
        INFO(w.line << "\n" << x.line);
        CHECK(w.start != x.end);
        CHECK(x.start != w.end);
      }
}

// ---- placement (docs/code-arena.md, "Placement") ----

namespace {
// An address in this executable's code: what a bound stub's target or an interpreter's own
// code would be.
const void* here() { return reinterpret_cast<const void*>(&count_open_fds); }
}  // namespace

TEST_CASE("arena: code asked near an address lands in that address's 16 MiB block", "[arena][placement]") {
  const tramp::test::EmptyBlock empty;
  REQUIRE(empty.block);
  const void* near = empty.inside();
  CodeArena arena;
  std::vector<const void*> blocks;
  for (int i = 0; i < 40; ++i) {  // 40 blocks of 8 KiB: several chunks, all in the block
    CodeArena::Reservation r = arena.reserve(8 * 1024, {near});
    std::memcpy(r.writable, return_const(static_cast<std::uint32_t>(i)).data(), return_const(0).size());
    arena.commit(r);
    INFO("block " << i << " at " << r.executable << ", asked near " << near);
    CHECK(CodeArena::same_block(r.executable, near));
    CHECK(CodeArena::same_block(static_cast<const std::uint8_t*>(r.executable) + r.size - 1, near));
    blocks.push_back(r.executable);
  }
  for (int i = 0; i < 40; ++i) CHECK(run(blocks[i]) == i);
  ArenaStats s = arena.stats();
  CHECK(s.placed == 40);
  CHECK(s.not_placed == 0);
  CHECK(s.chunks == 5);
  // Placed chunks are chunks like the others: read+execute only, written through a view
  // elsewhere; no mapping anywhere is writable and executable.
  CHECK(tramp::test::find_wx_mapping() == "");
  for (const void* p : blocks) {
    auto m = tramp::test::mapping_of(p);
    CHECK(m.executable());
    CHECK_FALSE(m.writable());
  }
  // Requests without a wish do not take the placed space: they get a chunk of their own.
  const void* anywhere = arena.install(return_const(99));
  CHECK(run(anywhere) == 99);
  CHECK(arena.stats().chunks == 6);
  for (const void* p : blocks) arena.free(p);
  arena.free(anywhere);
  s = arena.stats();
  CHECK(s.chunks == 1);  // the first chunk stays, the placed ones go back
  CHECK(s.live_blocks == 0);
}

// Next to this program's own code, where the code's block holds room (the program's mappings
// may fill it: an ASan build's do).
TEST_CASE("arena: code asked near this program's code lands next to it when its block has room", "[arena][placement]") {
  const bool room = tramp::test::block_has_room(here(), kChunk);
  CodeArena arena;
  CodeArena::Reservation r = arena.reserve(64, {here()});
  // Room seen beforehand means placed; without it the stub may still land there (the address
  // space can change between the look and the reservation). The counts say which.
  const bool placed = CodeArena::same_block(r.executable, here());
  if (room) CHECK(placed);
  CHECK(arena.stats().placed == (placed ? 1u : 0u));
  CHECK(arena.stats().not_placed == (placed ? 0u : 1u));
  arena.free(r.executable);
}

TEST_CASE("arena: a block without room falls back to the next wish, then anywhere", "[arena][placement]") {
  tramp::test::FullBlock full;
  REQUIRE(full.base);
  const tramp::test::EmptyBlock empty;
  REQUIRE(empty.block);
  CodeArena arena;
  // The full block, then an empty one.
  CodeArena::Reservation r = arena.reserve(64, {full.inside(), empty.inside()});
  CHECK(CodeArena::same_block(r.executable, empty.inside()));
  CHECK(arena.stats().placed == 1);
  // The full block alone: anywhere, and counted as not placed.
  CodeArena::Reservation q = arena.reserve(64, {full.inside()});
  CHECK_FALSE(CodeArena::same_block(q.executable, full.inside()));
  CHECK(arena.stats().not_placed == 1);
  std::memcpy(q.writable, return_const(3).data(), return_const(3).size());
  arena.commit(q);
  CHECK(run(q.executable) == 3);
  // A block the arena found full stays full for it; a new arena looks again.
  const std::uintptr_t block = full.block;
  full.release();
  CodeArena::Reservation again = arena.reserve(64, {reinterpret_cast<const void*>(block + 4096)});
  CHECK(arena.stats().not_placed == 2);
  CodeArena fresh;
  CodeArena::Reservation there = fresh.reserve(64, {reinterpret_cast<const void*>(block + 4096)});
  CHECK(CodeArena::same_block(there.executable, reinterpret_cast<const void*>(block)));
  for (const void* p : {r.executable, q.executable, again.executable}) arena.free(p);
  fresh.free(there.executable);
}

// A program that binds a stub next to its target and frees it, again and again, must not map
// and unmap a chunk each time: the last chunk of a placed block stays, as the first chunk does.
TEST_CASE("arena: the last chunk of a placed block stays when emptied", "[arena][placement]") {
  const tramp::test::EmptyBlock empty;
  REQUIRE(empty.block);
  CodeArena arena;
  const void* first = arena.install(return_const(1));  // the first chunk, kept anyway
  const void* at = nullptr;
  for (int i = 0; i < 20; ++i) {
    const void* p = arena.install(return_const(static_cast<std::uint32_t>(i)), {empty.inside()});
    REQUIRE(CodeArena::same_block(p, empty.inside()));
    CHECK(run(p) == i);
    if (i == 0) at = p;
    CHECK(p == at);  // the same chunk, the same block
    arena.free(p);
    ArenaStats s = arena.stats();
    CHECK(s.chunks == 2);
    CHECK(s.bytes_mapped == 2 * kChunk);
  }
  // A second chunk in that block goes back when empty; the last one stays.
  std::vector<const void*> blocks;
  for (int i = 0; i < 12; ++i) blocks.push_back(arena.reserve(8 * 1024, {empty.inside()}).executable);
  CHECK(arena.stats().chunks == 3);
  for (const void* p : blocks) arena.free(p);
  CHECK(arena.stats().chunks == 2);
  arena.free(first);
}

// The placement of the executable view does not place the writable one: it still lies at a
// random distance, in another block.
TEST_CASE("arena: a placed chunk's writable view is at a random distance from it", "[arena][placement]") {
#if defined(__SANITIZE_THREAD__)
  WARN("not under ThreadSanitizer, where the arena leaves the writable view to the kernel (code_arena.cpp)");
  return;
#endif
  const tramp::test::EmptyBlock empty;
  REQUIRE(empty.block);
  std::vector<std::unique_ptr<CodeArena>> arenas;
  std::set<std::intptr_t> distances;
  for (int i = 0; i < 8; ++i) {
    arenas.push_back(std::make_unique<CodeArena>());
    CodeArena::Reservation r = arenas.back()->reserve(64, {empty.inside()});
    arenas.back()->commit(r);
    CHECK(CodeArena::same_block(r.executable, empty.inside()));
    CHECK_FALSE(CodeArena::same_block(r.writable, r.executable));
    distances.insert(reinterpret_cast<std::intptr_t>(r.writable) - reinterpret_cast<std::intptr_t>(r.executable));
  }
  CHECK(distances.size() == 8);
  CHECK(tramp::test::find_wx_mapping() == "");
}
