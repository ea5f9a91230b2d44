// tramp: the W^X code arena. See docs/code-arena.md for the design and the maps it produces.
#include "jit/code_arena.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>

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
void* map_writable_view(int fd, std::size_t size, const std::uint8_t* rx) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer maps shadow for every new address and never gives it back: views at ever
  // new random addresses exhaust the process's mapping count in a churn. Test builds only.
  (void)rx;
  return mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
#endif
  constexpr std::uintptr_t kMinGap = std::uintptr_t{16} << 20, kMaxGap = std::uintptr_t{64} << 30;
  const std::uintptr_t page = page_size(), code = reinterpret_cast<std::uintptr_t>(rx);
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

// Maps `size` bytes of `fd` twice (read+write, read+execute), then closes fd whatever
// happens (unless `keep_fd`, and mapping succeeded). On failure returns empty views with
// errno and `step` describing the failure.
Views map_twice(int fd, std::size_t size, const char*& step, bool keep_fd) {
  Views v;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    step = "ftruncate";
  } else if (void* rx = mmap(nullptr, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
             rx == MAP_FAILED) {
    step = "mmap of the executable view";
  } else if (void* rw = map_writable_view(fd, size, static_cast<std::uint8_t*>(rx)); rw == MAP_FAILED) {
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

Views map_chunk(std::size_t size, bool keep_fd) {
  std::string reasons;  // every source's failure, for the error message
  bool all_lasting = true;
  for (int s = g_first_source.load(std::memory_order_relaxed); s < kSourceCount; ++s) {
    const char* step = "open";
    int fd = open_source(s, step);
    if (fd >= 0) {
      Views v = map_twice(fd, size, step, keep_fd);
      if (v.rw) {
        if (all_lasting) g_first_source.store(s, std::memory_order_relaxed);
        return v;
      }
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

}  // namespace

struct CodeArena::Chunk {
  std::uint8_t* rw = nullptr;  // the writable view
  std::uint8_t* rx = nullptr;  // the executable view of the same pages
  int fd = -1;                 // open only in remap mode
  std::size_t size = 0;
  std::map<std::size_t, std::size_t> free_list;  // offset -> size; never two adjacent
  std::size_t free_bytes = 0;
  std::size_t live = 0;  // blocks handed out

  Chunk(Views v, std::size_t n) : rw(v.rw), rx(v.rx), fd(v.fd), size(n), free_bytes(n) {
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

  // First fit. Returns false when no free block is large enough.
  bool take(std::size_t n, std::size_t& offset) {
    if (free_bytes < n) return false;
    for (auto it = free_list.begin(); it != free_list.end(); ++it) {
      if (it->second < n) continue;
      offset = it->first;
      std::size_t rest = it->second - n;
      auto hint = free_list.erase(it);
      if (rest) free_list.emplace_hint(hint, offset + n, rest);
      free_bytes -= n;
      ++live;
      return true;
    }
    return false;
  }

  // Inserts [offset, offset + n) and merges it with the free neighbours on either side.
  void give_back(std::size_t offset, std::size_t n) {
    fill_with_traps(rw + offset, n);
    free_bytes += n;
    --live;
    auto pos = free_list.emplace(offset, n).first;
    if (auto next = std::next(pos); next != free_list.end() && offset + n == next->first) {
      pos->second += next->second;
      free_list.erase(next);
    }
    if (pos != free_list.begin()) {
      if (auto prev = std::prev(pos); prev->first + prev->second == pos->first) {
        prev->second += pos->second;
        free_list.erase(pos);
      }
    }
  }
};

CodeArena::CodeArena() { enroll(); }
CodeArena::~CodeArena() { withdraw(); }  // then each Chunk unmaps both of its views

void CodeArena::fork_prepare() { mu_.lock(); }
void CodeArena::fork_parent() { mu_.unlock(); }

void CodeArena::fork_child() {
  // Only this thread runs, and no reservation of another thread will ever be committed here.
  for (auto& c : chunks_) {
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

std::unique_ptr<CodeArena::Chunk> CodeArena::new_chunk(std::size_t min_size) {
  static const bool aliasing_works = [] {  // once per process, before the first chunk
    bool ok = probe_aliasing();
    g_remap_on_commit.store(!ok);
    return ok;
  }();
  (void)aliasing_works;
  std::size_t size = round_up(min_size > kChunkSize ? min_size : kChunkSize, page_size());
  Views v = map_chunk(size, g_remap_on_commit.load());
  fill_with_traps(v.rw, size);
  return std::make_unique<Chunk>(v, size);
}

CodeArena::Reservation CodeArena::reserve(std::size_t size) {
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
  for (auto& c : chunks_)
    if (c->take(n, offset)) {
      chunk = c.get();
      break;
    }
  if (!chunk) {
    auto fresh = new_chunk(n);
    chunks_.push_back(std::move(fresh));  // on bad_alloc `fresh` still unmaps
    chunk = chunks_.back().get();
    stats_.chunks++;
    stats_.bytes_mapped += chunk->size;
    chunk->take(n, offset);
  }
  const std::uint8_t* exec = chunk->rx + offset;
  try {
    blocks_.emplace(reinterpret_cast<std::uintptr_t>(exec), Block{chunk, offset, n});
  } catch (...) {
    chunk->give_back(offset, n);
    throw;
  }
  stats_.bytes_in_use += n;
  stats_.live_blocks++;
  stats_.total_allocs++;
  return {chunk->rw + offset, exec, n};
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
  auto it = blocks_.find(reinterpret_cast<std::uintptr_t>(r.executable));
  if (it == blocks_.end()) return;
  const Chunk& c = *it->second.chunk;
  if (c.fd < 0) return;
  const std::size_t page = page_size();
  const std::size_t begin = it->second.offset / page * page;
  const std::size_t end = round_up(it->second.offset + it->second.size, page);
  // Failure leaves the old mapping in place: only an emulator's stale translation remains.
  mmap(c.rx + begin, end - begin, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, c.fd,
       static_cast<off_t>(begin));
}

const void* CodeArena::install(std::span<const std::uint8_t> code) {
  Reservation r = reserve(code.size());
  if (!code.empty()) std::memcpy(r.writable, code.data(), code.size());
  commit(r);
  return r.executable;
}

void CodeArena::free(const void* executable) {
  if (!executable) return;
  std::lock_guard lock(mu_);
  auto it = blocks_.find(reinterpret_cast<std::uintptr_t>(executable));
  if (it == blocks_.end()) return;  // not a live block of ours: ignoring it corrupts nothing
  if (!shared_with_parent_.empty()) return;  // the parent may still run it
  Block b = it->second;
  blocks_.erase(it);
  b.chunk->give_back(b.offset, b.size);
  stats_.bytes_in_use -= b.size;
  stats_.live_blocks--;
  // The first chunk stays so that a steady create/free pattern never maps and unmaps; a
  // later chunk goes back to the system once nothing lives on it.
  if (b.chunk->live == 0 && b.chunk != chunks_.front().get()) {
    for (auto c = chunks_.begin(); c != chunks_.end(); ++c)
      if (c->get() == b.chunk) {
        stats_.chunks--;
        stats_.bytes_mapped -= b.chunk->size;
        chunks_.erase(c);
        break;
      }
  }
}

ArenaStats CodeArena::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace tramp::jit
