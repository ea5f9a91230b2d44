// tramp: the W^X code arena. See docs/code-arena.md for the design and the maps it produces.
#include "jit/code_arena.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tramp/error.hpp"

// Newer kernels (6.3+) log a warning for, and with vm.memfd_noexec=2 refuse, a memfd that
// says nothing about exec; mapping PROT_EXEC is unaffected by the seal (it only forbids
// execve of the file). Older headers lack the flag, older kernels reject it: we retry.
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

namespace tramp::jit {

namespace {

constexpr std::size_t kChunkSize = 64 * 1024;
constexpr std::size_t kBackAhead = 32 * 1024;  // pages a chunk asks for at most at once (Chunk::back)

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

std::size_t page_size() {
  static const std::size_t page = [] {
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<std::size_t>(p) : std::size_t{4096};
  }();
  return page;
}

// Bytes that fault when executed: unallocated and freed space holds these, so a jump to a
// stale stub traps instead of running whatever was there before.
void fill_with_traps(std::uint8_t* p, std::size_t n) {
#if defined(__x86_64__) || defined(__i386__)
  std::memset(p, 0xCC, n);  // int3
#elif defined(__aarch64__)
  static constexpr std::uint8_t kBrk[4] = {0x00, 0x00, 0x20, 0xD4};  // brk #0
  for (std::size_t i = 0; i + 4 <= n; i += 4) std::memcpy(p + i, kBrk, 4);
#else
  std::memset(p, 0, n);
#endif
}

std::uint64_t random_bits() {
  std::uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r)) {
    // No entropy to be had (an old kernel, a seccomp filter): the clock and where ASLR put
    // the stack still differ between processes and calls.
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = static_cast<std::uint64_t>(ts.tv_nsec) ^ (static_cast<std::uint64_t>(ts.tv_sec) << 30) ^
        reinterpret_cast<std::uintptr_t>(&ts);
  }
  r += 0x9E3779B97F4A7C15u;  // splitmix64's finaliser: every input bit reaches every output bit
  r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9u;
  r = (r ^ (r >> 27)) * 0x94D049BB133111EBu;
  return r ^ (r >> 31);
}

// Maps the writable view of `fd` at an address drawn at random, independently of where the
// executable view `rx` lies: left to the kernel the views land side by side, and one leaked
// code address would tell where to write. The view goes to a random page between 16 MiB and
// 64 GiB below the executable view (2^24 pages), in the region where the kernel places
// mappings: memory that the kernel, an emulator and a sanitizer's runtime (which refuses
// mappings in its shadow ranges) all hand out. MAP_FIXED_NOREPLACE never replaces a mapping
// (a kernel older than 4.17 takes the address as a hint); after a few taken addresses the
// kernel chooses. Nothing is reserved on the way, so the cost is one mmap as before.
//
// `next_to`, when not null, is the arena's previous writable view: the new one goes right
// below it if that is free and at least 16 MiB from `rx`, so that an arena's writable views
// sit together at the place drawn for its first chunk. That place still says nothing about
// the code's; and the views after the first share the page tables the kernel made for it (a
// first write into a fresh, far range of the address space costs several times one next to
// a mapping: a new page-table page per level, which a hypervisor may shadow as well).
void* map_writable_view(int fd, std::size_t size, const std::uint8_t* rx, const std::uint8_t* next_to) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer maps shadow for every new address and never gives it back: views at ever
  // new random addresses exhaust the process's mapping count in a churn. Test builds only.
  (void)rx;
  (void)next_to;
  return mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
#endif
  constexpr std::uintptr_t kMinGap = std::uintptr_t{16} << 20, kMaxGap = std::uintptr_t{64} << 30;
  const std::uintptr_t page = page_size(), code = reinterpret_cast<std::uintptr_t>(rx);
  if (const auto below = reinterpret_cast<std::uintptr_t>(next_to) - size; next_to && below < reinterpret_cast<std::uintptr_t>(next_to)) {
    const std::uintptr_t distance = below > code ? below - code : code - below;
    if (distance >= kMinGap + size) {
      void* p = mmap(reinterpret_cast<void*>(below), size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
      if (p == reinterpret_cast<void*>(below)) return p;
      if (p != MAP_FAILED) munmap(p, size);  // a kernel without NOREPLACE put it elsewhere
    }
  }
  for (int attempt = 0; attempt < 8 && code > kMaxGap + size; ++attempt) {
    const std::uintptr_t gap = kMinGap + random_bits() % ((kMaxGap - kMinGap) / page) * page;
    void* p = mmap(reinterpret_cast<void*>(code - gap - size), size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (p != MAP_FAILED) return p;
    if (errno != EEXIST) break;  // anything else (no memory, a limit) the plain call reports
  }
  return mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

struct Views {
  std::uint8_t* rw = nullptr;
  std::uint8_t* rx = nullptr;
  int fd = -1;  // kept open only in remap mode (see g_remap_on_commit)
};

// Set when this process runs under a translator that does not see writes made through the
// writable alias (qemu-user, valgrind): it keeps running its old translation of a reused
// address. Such translators drop translations when a range is mapped anew, so in this mode
// commit() maps the committed pages of the executable view again (MAP_FIXED, same file, same
// offset, still read+execute: W^X holds, and code running on those pages is not disturbed).
// Never set on hardware, where the cache flush is enough. Decided once by probe_aliasing().
std::atomic<bool> g_remap_on_commit{false};

// The step name of a failure that only says the wanted address was taken.
constexpr const char* kTaken = "placement";

// Maps the executable view of `fd` at `want` exactly (MAP_FIXED_NOREPLACE: never over
// another mapping), or anywhere when `want` is null. A kernel older than 4.17 takes the
// flag's address as a hint: a view that lands elsewhere is unmapped and counts as taken.
void* map_executable_view(int fd, std::size_t size, void* want, const char*& step) {
  void* rx = mmap(want, size, PROT_READ | PROT_EXEC, MAP_SHARED | (want ? MAP_FIXED_NOREPLACE : 0), fd, 0);
  if (rx == MAP_FAILED) {
    step = want && errno == EEXIST ? kTaken : "mmap of the executable view";
  } else if (want && rx != want) {
    munmap(rx, size);
    step = kTaken;
    errno = EEXIST;
    rx = MAP_FAILED;
  }
  return rx;
}

// Maps `size` bytes of `fd` twice (read+write, read+execute; the executable view at `want`
// when that is not null), then closes fd whatever happens (unless `keep_fd`, and mapping
// succeeded). On failure returns empty views with errno and `step` describing the failure
// (kTaken: `want` is not free).
Views map_twice(int fd, std::size_t size, const char*& step, bool keep_fd, void* want = nullptr,
                const std::uint8_t* rw_next_to = nullptr) {
  Views v;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    step = "ftruncate";
  } else if (void* rx = map_executable_view(fd, size, want, step); rx == MAP_FAILED) {
    // step says why
  } else if (void* rw = map_writable_view(fd, size, static_cast<std::uint8_t*>(rx), rw_next_to); rw == MAP_FAILED) {
    step = "mmap of the writable view";
    int saved = errno;
    munmap(rx, size);
    errno = saved;
  } else {
    v.rw = static_cast<std::uint8_t*>(rw);
    v.rx = static_cast<std::uint8_t*>(rx);
    if (keep_fd) {
      v.fd = fd;
      return v;
    }
  }
  int saved = errno;
  close(fd);  // the two mappings keep the memory alive
  errno = saved;
  return v;
}

// The backing sources, best first. A source that fails (no memfd_create under an old kernel
// or a seccomp filter; a noexec /dev/shm) is skipped and the next one tried. When the ones
// before it failed for a lasting reason, the one that worked is remembered process-wide so
// later chunks do not retry failing syscalls; a passing failure (out of fds or memory)
// demotes nothing.
enum Source : int { kMemfdSealed, kMemfd, kDevShm, kTmpDir, kTmp, kSourceCount };
std::atomic<int> g_first_source{kMemfdSealed};

bool lasting(int err) {
  return err == ENOSYS || err == EINVAL || err == EPERM || err == EACCES || err == ENOENT ||
         err == EROFS;
}

int open_source(int source, const char*& step) {
  switch (source) {
    case kMemfdSealed:
      step = "memfd_create";
      return memfd_create("tramp-code", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
    case kMemfd:
      step = "memfd_create";
      return memfd_create("tramp-code", MFD_CLOEXEC);
    default: {
      const char* dir = source == kDevShm   ? "/dev/shm"
                        : source == kTmpDir ? std::getenv("TMPDIR")
                                            : "/tmp";
      step = "temporary file";
      if (!dir || !*dir) {
        errno = ENOENT;
        return -1;
      }
      std::string path = std::string(dir) + "/tramp-code-XXXXXX";
      int fd = mkostemp(path.data(), O_CLOEXEC);
      if (fd >= 0) unlink(path.c_str());  // nothing outlives the process
      return fd;
    }
  }
}

const char* source_name(int source) {
  switch (source) {
    case kMemfdSealed:
      return "memfd (sealed)";
    case kMemfd:
      return "memfd";
    case kDevShm:
      return "/dev/shm";
    case kTmpDir:
      return "$TMPDIR";
    default:
      return "/tmp";
  }
}

// Both views of a new chunk, its executable view at `want` (when not null), its writable view
// next to `rw_next_to` when that can be (map_writable_view). Throws Error(Jit) naming every
// source's failure when no source gives memory; returns empty views when `want` is taken.
Views map_chunk(std::size_t size, bool keep_fd, void* want = nullptr, const std::uint8_t* rw_next_to = nullptr) {
  std::string reasons;  // every source's failure, for the error message
  bool all_lasting = true;
  for (int s = g_first_source.load(std::memory_order_relaxed); s < kSourceCount; ++s) {
    const char* step = "open";
    int fd = open_source(s, step);
    if (fd >= 0) {
      Views v = map_twice(fd, size, step, keep_fd, want, rw_next_to);
      if (v.rw) {
        if (all_lasting) g_first_source.store(s, std::memory_order_relaxed);
        return v;
      }
      if (step == kTaken) return {};  // the address, not the source, failed
    }
    int err = errno;
    all_lasting = all_lasting && lasting(err);
    reasons += std::string("; ") + source_name(s) + ": " + step + ": " + std::strerror(err);
  }
  throw Error(ErrorCode::Jit, "code arena: cannot map " + std::to_string(size) +
                                  " bytes of executable memory" + reasons);
}

// Does code written through the writable view, then flushed, run from the executable view at
// an address that already ran other code? Always on hardware; not under qemu-user (through
// 7.2 at least) or valgrind, which key their translations on the executable address. The
// probe writes a function returning 1, calls it, rewrites it to return 2 at the same
// address, flushes, and calls again. Each function begins with its indirect-branch landing
// instruction (a no-op where not enforced).
bool probe_aliasing() {
#if defined(__x86_64__) || defined(__aarch64__)
#if defined(__x86_64__)
  auto write_fn = [](std::uint8_t* p, std::uint8_t v) {
    // endbr64; mov eax, v; ret
    const std::uint8_t code[] = {0xF3, 0x0F, 0x1E, 0xFA, 0xB8, v, 0, 0, 0, 0xC3};
    std::memcpy(p, code, sizeof code);
  };
#else
  auto write_fn = [](std::uint8_t* p, std::uint8_t v) {
    const std::uint32_t code[] = {0xD503245Fu,                                         // bti c
                                  0x52800000u | (static_cast<std::uint32_t>(v) << 5),  // movz w0
                                  0xD65F03C0u};                                        // ret
    std::memcpy(p, code, sizeof code);
  };
#endif
  const std::size_t size = page_size();
  Views v = map_chunk(size, false);
  auto call = [&] {
    __builtin___clear_cache(reinterpret_cast<char*>(v.rx), reinterpret_cast<char*>(v.rx) + 64);
    return reinterpret_cast<int (*)()>(v.rx)();
  };
  write_fn(v.rw, 1);
  int first = call();
  write_fn(v.rw, 2);
  int second = call();
  munmap(v.rw, size);
  munmap(v.rx, size);
  return first == 1 && second == 2;
#else
  return true;  // no probe code for this architecture: trust the cache flush
#endif
}

// ---- placement ----

struct Range {
  std::uintptr_t lo, hi;
};

// Address ranges not to map code into although nothing is mapped there yet: room for the
// program break to grow (1 GiB above it) and for the main thread's stack to grow down to
// its limit (with the kernel's guard gap). Filled from /proc/self/maps' [stack] line.
void add_growth_room(std::vector<Range>& taken, std::uintptr_t stack_lo) {
  constexpr std::uintptr_t kBrkRoom = std::uintptr_t{1} << 30;
  if (void* brk = sbrk(0); brk != reinterpret_cast<void*>(-1)) {
    const auto b = reinterpret_cast<std::uintptr_t>(brk);
    taken.push_back({b, b + kBrkRoom < b ? ~std::uintptr_t{0} : b + kBrkRoom});
  }
  if (stack_lo) {
    rlimit lim{};
    std::uintptr_t room = std::uintptr_t{8} << 20;
    if (getrlimit(RLIMIT_STACK, &lim) == 0)
      room = lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > (std::uintptr_t{1} << 32) ? std::uintptr_t{1} << 32
                                                                                        : std::max<std::uintptr_t>(room, lim.rlim_cur);
    room += std::uintptr_t{1} << 20;  // the kernel's stack guard gap
    taken.push_back({stack_lo > room ? stack_lo - room : 0, stack_lo});
  }
}

// The mappings of this process that touch [lo, hi), and the growth room above, sorted by
// address; false when /proc/self/maps cannot be read.
bool taken_ranges(std::uintptr_t lo, std::uintptr_t hi, std::vector<Range>& taken) {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::uintptr_t stack_lo = 0;
  char buf[16384];
  std::size_t have = 0;
  bool ok = true;
  for (;;) {
    const ssize_t got = read(fd, buf + have, sizeof buf - have);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      ok = false;
      break;
    }
    have += static_cast<std::size_t>(got);
    std::size_t at = 0;
    for (;;) {  // whole lines: "start-end perms offset dev inode  path"
      const char* nl = static_cast<const char*>(std::memchr(buf + at, '\n', have - at));
      if (!nl && got > 0) break;
      const std::size_t end = nl ? static_cast<std::size_t>(nl - buf) : have;
      if (end == at) break;
      const std::string_view line(buf + at, end - at);
      char* p = nullptr;
      const std::uintptr_t start = std::strtoull(line.data(), &p, 16);
      const std::uintptr_t stop = *p == '-' ? std::strtoull(p + 1, nullptr, 16) : start;
      if (line.size() >= 7 && line.substr(line.size() - 7) == "[stack]") stack_lo = start;
      if (stop > lo && start < hi) taken.push_back({start, stop});
      at = nl ? end + 1 : have;
      if (!nl) break;
    }
    if (got == 0) break;
    std::memmove(buf, buf + at, have - at);
    have -= at;
    if (have == sizeof buf) {  // a line longer than the buffer: not a maps file we know
      ok = false;
      break;
    }
  }
  close(fd);
  if (!ok) return false;
  add_growth_room(taken, stack_lo);
  std::sort(taken.begin(), taken.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
  return true;
}

// Where a chunk of `size` bytes can go in [lo, hi) without touching anything mapped or any
// growth room: the free address nearest `want`, or none when nothing fits. When the maps
// cannot be read, a few addresses next to `want` instead, which mmap's MAP_FIXED_NOREPLACE
// checks.
std::vector<std::uintptr_t> chunk_sites(std::uintptr_t want, std::size_t size, std::uintptr_t lo, std::uintptr_t hi) {
  std::vector<std::uintptr_t> sites;
  const std::uintptr_t page = page_size();
  want = want / page * page;
  std::vector<Range> taken;
  if (!taken_ranges(lo, hi, taken)) {
    taken.clear();
    add_growth_room(taken, 0);
    for (std::uintptr_t k = 1; k <= 8; ++k)
      for (std::uintptr_t at : {want - k * size, want + k * size})
        if (at >= lo && at + size <= hi &&
            std::none_of(taken.begin(), taken.end(), [&](const Range& r) { return at < r.hi && at + size > r.lo; }))
          sites.push_back(at);
    return sites;
  }
  std::uintptr_t best = 0, best_distance = ~std::uintptr_t{0};
  std::uintptr_t cursor = lo;
  auto consider = [&](std::uintptr_t g0, std::uintptr_t g1) {  // a free gap
    if (g1 <= g0 || g1 - g0 < size) return;
    const std::uintptr_t at = std::clamp(want, g0, g1 - size);
    const std::uintptr_t d = at > want ? at - want : want - at;
    if (d < best_distance) best = at, best_distance = d;
  };
  for (const Range& r : taken) {
    if (r.lo > cursor) consider(cursor, std::min(r.lo, hi));
    cursor = std::max(cursor, r.hi);
    if (cursor >= hi) break;
  }
  if (cursor < hi) consider(cursor, hi);
  if (best) sites.push_back(best);
  return sites;
}

}  // namespace

struct CodeArena::Chunk {
  std::uint8_t* rw = nullptr;  // the writable view
  std::uint8_t* rx = nullptr;  // the executable view of the same pages
  int fd = -1;                 // open only in remap mode
  std::size_t size = 0;
  std::uint64_t serial = 0;      // creation order; serial 0 is the chunk kept for the arena's life
  std::uintptr_t pool_key = 0;   // its placement block, or kStraddling
  std::map<std::size_t, std::size_t> free_list;  // offset -> size; never two adjacent
  // The size of the live block starting at granule i, 0 where none starts: free() checks a
  // pointer and finds the size here, without a table that grows with the whole arena.
  std::vector<std::uint32_t> live_size;
  std::size_t live = 0;    // blocks handed out
  std::size_t filled = 0;  // [0, filled) holds traps or code; the rest is the file's zeros, never touched
  std::size_t backed = 0;  // [0, backed) of the writable view has been asked for (back)

  // A page's first write faults, and on some hypervisors each fault costs a world switch:
  // 9-11 us a page on the development VM, 4-6 us when one madvise asks for several
  // (docs/code-arena.md). So pages are asked for before their first block, as many as the
  // chunk has used so far and at most kBackAhead: a chunk of one stub costs one page, a
  // growing chunk one call per doubling. Where MADV_POPULATE_WRITE is unknown (Linux < 5.14)
  // the call fails and the pages fault in one by one, as before.
  void back(std::size_t mark) {
    if (mark <= backed) return;
    const std::size_t end = std::min(size, std::max(mark, backed + std::min(backed, kBackAhead)));
#ifdef MADV_POPULATE_WRITE
    (void)madvise(rw + backed, end - backed, MADV_POPULATE_WRITE);
#endif
    backed = end;
  }

  Chunk(Views v, std::size_t n, std::uint64_t serial_, std::uintptr_t key)
      : rw(v.rw), rx(v.rx), fd(v.fd), size(n), serial(serial_), pool_key(key), live_size(n / kGranule, 0) {
    free_list.emplace(0, n);
  }
  ~Chunk() {
    munmap(rw, size);
    munmap(rx, size);
    if (fd >= 0) close(fd);
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;

  // In a child of fork(): both views still map the parent's file. Copy the bytes into a new
  // file, map it over the executable view at the same address (MAP_FIXED replaces the old
  // mapping in one step, so code running there keeps running: the bytes are the same) and
  // make its writable view ours. Throws Error(Jit) with the old views intact, except when
  // the final mapping itself fails, which leaves a hole the kernel made (out of memory).
  void make_private(bool keep_fd) {
    Views fresh = map_chunk(size, /*keep_fd=*/true);
    std::memcpy(fresh.rw, rx, size);
    void* moved = mmap(rx, size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fresh.fd, 0);
    int err = errno;
    munmap(fresh.rx, size);
    if (moved == MAP_FAILED) {
      munmap(fresh.rw, size);
      close(fresh.fd);
      throw Error(ErrorCode::Jit, std::string("code arena: after fork(), mapping the child's copy of a chunk failed: ") +
                                      std::strerror(err));
    }
    munmap(rw, size);
    if (fd >= 0) close(fd);
    rw = fresh.rw;
    fd = fresh.fd;
    if (!keep_fd) {
      close(fd);
      fd = -1;
    }
  }
};

bool CodeArena::take_from(Pool& pool, std::size_t n, Chunk*& chunk, std::size_t& offset) {
  auto it = pool.free.lower_bound(Fragment{n, 0, 0, nullptr});
  if (it == pool.free.end()) return false;
  const Fragment f = *it;
  Chunk& c = *f.chunk;
  const std::size_t rest = f.size - n;
  // The rest of the range keeps the nodes of both containers (extract, change, insert): no
  // allocation, so nothing here can throw.
  auto frag = pool.free.extract(it);
  auto range = c.free_list.extract(f.offset);
  if (rest) {
    frag.value() = Fragment{rest, c.serial, f.offset + n, &c};
    pool.free.insert(std::move(frag));
    range.key() = f.offset + n;
    range.mapped() = rest;
    c.free_list.insert(std::move(range));
  }
  c.live_size[f.offset / kGranule] = static_cast<std::uint32_t>(n);
  ++c.live;
  // Traps go into a page when its first block is handed out, not when the chunk is made:
  // writing a page is what makes the kernel give it memory (and a page fault costs
  // microseconds under some hypervisors), and a chunk fills from its start.
  if (f.offset + n > c.filled) {
    const std::size_t mark = std::min(c.size, round_up(f.offset + n, page_size()));
    c.back(mark);
    fill_with_traps(c.rw + c.filled, mark - c.filled);
    c.filled = mark;
  }
  chunk = &c;
  offset = f.offset;
  return true;
}

// Puts [offset, offset + n) back and merges it with the free neighbours on either side.
void CodeArena::give_back(Chunk& c, std::size_t offset, std::size_t n) {
  fill_with_traps(c.rw + offset, n);
  c.live_size[offset / kGranule] = 0;
  --c.live;
  Pool& pool = pools_.at(c.pool_key);
  auto next = c.free_list.lower_bound(offset);
  if (next != c.free_list.end() && offset + n == next->first) {
    pool.free.erase(Fragment{next->second, c.serial, next->first, &c});
    n += next->second;
    next = c.free_list.erase(next);
  }
  if (next != c.free_list.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      pool.free.erase(Fragment{prev->second, c.serial, prev->first, &c});
      offset = prev->first;
      n += prev->second;
      c.free_list.erase(prev);
    }
  }
  c.free_list.emplace(offset, n);
  pool.free.insert(Fragment{n, c.serial, offset, &c});
}

// A new chunk for at least `min_size` bytes: in the placement block of `near` (null when
// that block has no room), or where the kernel puts it when `near` is null (throws
// Error(Jit) when no memory can be mapped).
CodeArena::Chunk* CodeArena::add_chunk(std::size_t min_size, const void* near) {
  static const bool aliasing_works = [] {  // once per process, before the first chunk
    bool ok = probe_aliasing();
    g_remap_on_commit.store(!ok);
    return ok;
  }();
  (void)aliasing_works;
  const std::size_t size = round_up(min_size > kChunkSize ? min_size : kChunkSize, page_size());
  const bool keep_fd = g_remap_on_commit.load();
  Views v;
  std::uintptr_t key = kStraddling;
  if (near) {
    key = reinterpret_cast<std::uintptr_t>(near) / kPlacementBlock;
    if (size > kPlacementBlock / 4 || no_room_.count(key)) return nullptr;
    const std::uintptr_t lo = key * kPlacementBlock, hi = lo + kPlacementBlock;
    // Two rounds: another thread of the process may map into the hole between the look at
    // the maps and our mmap.
    for (int round = 0; round < 2 && !v.rw; ++round)
      for (std::uintptr_t at : chunk_sites(reinterpret_cast<std::uintptr_t>(near), size, lo, hi))
        if ((v = map_chunk(size, keep_fd, reinterpret_cast<void*>(at), last_writable_)).rw) break;
    if (!v.rw) {
      no_room_.insert(key);
      return nullptr;
    }
  } else {
    v = map_chunk(size, keep_fd, nullptr, last_writable_);
    const auto first = reinterpret_cast<std::uintptr_t>(v.rx) / kPlacementBlock;
    if (first == (reinterpret_cast<std::uintptr_t>(v.rx) + size - 1) / kPlacementBlock) key = first;
  }
  auto owned = std::make_unique<Chunk>(v, size, next_serial_, key);  // on bad_alloc, v leaks: rare
  Chunk* c = owned.get();
  Pool& pool = pools_[key];
  pool.free.insert(Fragment{size, c->serial, 0, c});
  try {
    chunks_.emplace(reinterpret_cast<std::uintptr_t>(c->rx), std::move(owned));
  } catch (...) {
    pool.free.erase(Fragment{size, c->serial, 0, c});
    throw;
  }
  ++next_serial_;
  ++pool.chunks;
  last_writable_ = c->rw;
  if (!near) {
    pool.kernel_placed = true;
    home_ = key;
  }
  stats_.chunks++;
  stats_.bytes_mapped += size;
  return c;
}

CodeArena::Chunk* CodeArena::chunk_of(std::uintptr_t executable) const {
  auto it = chunks_.upper_bound(executable);
  if (it == chunks_.begin()) return nullptr;
  Chunk* c = std::prev(it)->second.get();
  return executable < reinterpret_cast<std::uintptr_t>(c->rx) + c->size ? c : nullptr;
}

bool CodeArena::reserve_near(const void* near, std::size_t n, Chunk*& chunk, std::size_t& offset) {
  const std::uintptr_t key = reinterpret_cast<std::uintptr_t>(near) / kPlacementBlock;
  if (auto it = pools_.find(key); it != pools_.end() && take_from(it->second, n, chunk, offset)) return true;
  return add_chunk(n, near) && take_from(pools_.at(key), n, chunk, offset);
}

CodeArena::CodeArena() { enroll(); }
CodeArena::~CodeArena() { withdraw(); }  // then each Chunk unmaps both of its views

void CodeArena::fork_prepare() { mu_.lock(); }
void CodeArena::fork_parent() { mu_.unlock(); }

void CodeArena::fork_child() {
  // Only this thread runs, and no reservation of another thread will ever be committed here.
  for (auto& [at, c] : chunks_) {
    try {
      c->make_private(g_remap_on_commit.load(std::memory_order_relaxed));
    } catch (const std::exception& e) {
      // The remaining chunks stay shared: this process must not write to any of them.
      shared_with_parent_ = e.what();
      break;
    }
  }
  mu_.unlock();
}

CodeArena::Reservation CodeArena::reserve(std::size_t size, Placement where) {
  // Guard the rounding below against wrap-around; mmap rejects anything this large anyway.
  if (size > std::numeric_limits<std::size_t>::max() / 2)
    throw Error(ErrorCode::Jit,
                "code arena: request of " + std::to_string(size) + " bytes is too large");
  const std::size_t n = round_up(size ? size : 1, kGranule);
  std::lock_guard lock(mu_);
  if (!shared_with_parent_.empty())
    throw Error(ErrorCode::Jit, "code arena: this child of fork() shares its code with the parent, so it cannot "
                                "make code (" + shared_with_parent_ + ")");
  Chunk* chunk = nullptr;
  std::size_t offset = 0;
  bool placed = false;
  for (const void* near : {where.near, where.then_near})
    if (near && (placed = reserve_near(near, n, chunk, offset))) break;
  if (!placed) {
    // Anywhere: the pool of the kernel's latest chunk, then any other pool with a chunk the
    // kernel placed, then a new chunk where the kernel puts it.
    auto home = pools_.find(home_);
    bool found = home != pools_.end() && take_from(home->second, n, chunk, offset);
    for (auto it = pools_.begin(); !found && it != pools_.end(); ++it)
      found = it->second.kernel_placed && it != home && take_from(it->second, n, chunk, offset);
    if (!found) {
      Chunk* fresh = add_chunk(n, nullptr);
      if (!take_from(pools_.at(fresh->pool_key), n, chunk, offset))
        throw Error(ErrorCode::Jit, "code arena: a new chunk has no room for " + std::to_string(n) + " bytes");
    }
  }
  if (where.near || where.then_near) ++(placed ? stats_.placed : stats_.not_placed);
  stats_.bytes_in_use += n;
  stats_.live_blocks++;
  stats_.total_allocs++;
  return {chunk->rw + offset, chunk->rx + offset, n};
}

void CodeArena::commit(const Reservation& r) {
  // The bytes went in through the writable alias; on AArch64 the data cache must be cleaned
  // and the instruction cache invalidated for these addresses before they run. Cache
  // maintenance by address works on either alias (the caches are physically tagged), and the
  // executable one is the one that is fetched from. On x86-64 this compiles to nothing.
  auto* p = static_cast<char*>(const_cast<void*>(r.executable));
  if (g_remap_on_commit.load(std::memory_order_relaxed)) remap(r);
  __builtin___clear_cache(p, p + r.size);
}

void CodeArena::remap(const Reservation& r) {
  std::lock_guard lock(mu_);  // keeps the chunk mapped while we work on it
  const auto at = reinterpret_cast<std::uintptr_t>(r.executable);
  const Chunk* c = chunk_of(at);
  if (!c || c->fd < 0) return;
  const std::size_t offset = at - reinterpret_cast<std::uintptr_t>(c->rx);
  if (offset % kGranule || !c->live_size[offset / kGranule]) return;
  const std::size_t page = page_size();
  const std::size_t begin = offset / page * page;
  const std::size_t end = round_up(offset + c->live_size[offset / kGranule], page);
  // Failure leaves the old mapping in place: only an emulator's stale translation remains.
  mmap(c->rx + begin, end - begin, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, c->fd,
       static_cast<off_t>(begin));
}

const void* CodeArena::install(std::span<const std::uint8_t> code, Placement where) {
  Reservation r = reserve(code.size(), where);
  if (!code.empty()) std::memcpy(r.writable, code.data(), code.size());
  commit(r);
  return r.executable;
}

void CodeArena::free(const void* executable) {
  if (!executable) return;
  std::lock_guard lock(mu_);
  const auto at = reinterpret_cast<std::uintptr_t>(executable);
  Chunk* c = chunk_of(at);
  if (!c) return;  // not ours: ignoring it corrupts nothing
  const std::size_t offset = at - reinterpret_cast<std::uintptr_t>(c->rx);
  if (offset % kGranule || !c->live_size[offset / kGranule]) return;  // no live block starts here
  if (!shared_with_parent_.empty()) return;  // the parent may still run it
  const std::size_t n = c->live_size[offset / kGranule];
  give_back(*c, offset, n);
  stats_.bytes_in_use -= n;
  stats_.live_blocks--;
  // The first chunk stays so that a steady create/free pattern never maps and unmaps, and so
  // does the last chunk of ordinary size of a placement block that code was asked near: one
  // bound stub made and freed in a loop next to its target would otherwise map, read
  // /proc/self/maps and unmap a chunk every time (1.25 ms per stub on the development VM).
  // Any other chunk goes back to the system once nothing lives on it, and its block may have
  // room again.
  Pool& pool = pools_.at(c->pool_key);
  const bool last_placed = !pool.kernel_placed && pool.chunks == 1 && c->size == round_up(kChunkSize, page_size());
  if (c->live == 0 && c->serial != 0 && !last_placed) {
    pool.free.erase(Fragment{c->size, c->serial, 0, c});
    if (--pool.chunks == 0) {
      if (home_ == c->pool_key) home_ = kStraddling;
      pools_.erase(c->pool_key);
    }
    no_room_.erase(c->pool_key);
    if (last_writable_ == c->rw) last_writable_ = nullptr;
    stats_.chunks--;
    stats_.bytes_mapped -= c->size;
    chunks_.erase(reinterpret_cast<std::uintptr_t>(c->rx));
  }
}

ArenaStats CodeArena::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace tramp::jit
