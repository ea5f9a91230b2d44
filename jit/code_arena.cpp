#include "jit/code_arena.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "tramp/error.hpp"

namespace tramp::jit {

namespace {
constexpr std::size_t kChunkSize = 64 * 1024;

std::size_t round_up(std::size_t n, std::size_t a) { return (n + a - 1) / a * a; }

[[noreturn]] void fail(const char* what) {
  throw Error(ErrorCode::Jit, std::string("code arena: ") + what + ": " + std::strerror(errno));
}

// A file descriptor for shared memory: a memfd, or where that is unavailable an unlinked
// temporary file, which maps the same way.
int shared_memory_fd() {
  int fd = memfd_create("tramp-code", MFD_CLOEXEC);
  if (fd >= 0) return fd;
  const char* const dirs[] = {"/dev/shm", std::getenv("TMPDIR"), "/tmp"};
  for (const char* dir : dirs) {
    if (!dir) continue;
    std::string path = std::string(dir) + "/tramp-code-XXXXXX";
    fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) {
      unlink(path.c_str());
      return fd;
    }
  }
  fail("no memfd and no temporary file for executable memory");
}
}  // namespace

struct CodeArena::Chunk {
  std::uint8_t* rw = nullptr;        // the writable view
  const std::uint8_t* rx = nullptr;  // the executable view of the same pages
  std::size_t size = 0;
  std::map<std::size_t, std::size_t> free_blocks;  // offset -> size, coalesced
  std::map<std::size_t, std::size_t> live;          // offset -> size

  ~Chunk() {
    if (rw) munmap(rw, size);
    if (rx) munmap(const_cast<std::uint8_t*>(rx), size);
  }

  bool contains(const void* p) const {
    auto a = reinterpret_cast<std::uintptr_t>(p), b = reinterpret_cast<std::uintptr_t>(rx);
    return a >= b && a < b + size;
  }

  // First fit.
  bool take(std::size_t n, std::size_t& offset) {
    for (auto it = free_blocks.begin(); it != free_blocks.end(); ++it) {
      if (it->second < n) continue;
      offset = it->first;
      std::size_t rest = it->second - n;
      free_blocks.erase(it);
      if (rest) free_blocks.emplace(offset + n, rest);
      live.emplace(offset, n);
      return true;
    }
    return false;
  }

  std::size_t give_back(std::size_t offset) {
    auto it = live.find(offset);
    if (it == live.end()) return 0;
    std::size_t n = it->second;
    live.erase(it);
    auto [pos, ok] = free_blocks.emplace(offset, n);
    auto next = std::next(pos);
    if (next != free_blocks.end() && pos->first + pos->second == next->first) {
      pos->second += next->second;
      free_blocks.erase(next);
    }
    if (pos != free_blocks.begin()) {
      auto prev = std::prev(pos);
      if (prev->first + prev->second == pos->first) {
        prev->second += pos->second;
        free_blocks.erase(pos);
      }
    }
    return n;
  }
};

CodeArena::CodeArena() = default;
CodeArena::~CodeArena() = default;

std::unique_ptr<CodeArena::Chunk> CodeArena::new_chunk(std::size_t min_size) {
  std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::size_t size = round_up(min_size > kChunkSize ? min_size : kChunkSize, page);
  int fd = shared_memory_fd();
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    close(fd);
    fail("ftruncate");
  }
  auto c = std::make_unique<Chunk>();
  c->size = size;
  void* rw = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (rw == MAP_FAILED) {
    close(fd);
    fail("mmap (writable view)");
  }
  c->rw = static_cast<std::uint8_t*>(rw);
  void* rx = mmap(nullptr, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  close(fd);
  if (rx == MAP_FAILED) fail("mmap (executable view)");
  c->rx = static_cast<const std::uint8_t*>(rx);
  c->free_blocks.emplace(0, size);
  return c;
}

CodeArena::Reservation CodeArena::reserve(std::size_t size) {
  std::size_t n = round_up(size ? size : 1, kGranule);
  std::lock_guard lock(mu_);
  std::size_t offset = 0;
  Chunk* chunk = nullptr;
  for (auto& c : chunks_)
    if (c->take(n, offset)) {
      chunk = c.get();
      break;
    }
  if (!chunk) {
    chunks_.push_back(new_chunk(n));
    chunk = chunks_.back().get();
    stats_.chunks++;
    stats_.bytes_mapped += chunk->size;
    chunk->take(n, offset);
  }
  stats_.bytes_in_use += n;
  stats_.live_blocks++;
  stats_.total_allocs++;
  return {chunk->rw + offset, chunk->rx + offset, n};
}

void CodeArena::commit(const Reservation& r) {
  auto* p = static_cast<char*>(const_cast<void*>(r.executable));
  __builtin___clear_cache(p, p + r.size);
}

const void* CodeArena::install(std::span<const std::uint8_t> code) {
  Reservation r = reserve(code.size());
  std::memcpy(r.writable, code.data(), code.size());
  commit(r);
  return r.executable;
}

void CodeArena::free(const void* executable) {
  if (!executable) return;
  std::lock_guard lock(mu_);
  for (auto it = chunks_.begin(); it != chunks_.end(); ++it) {
    Chunk& c = **it;
    if (!c.contains(executable)) continue;
    std::size_t n = c.give_back(static_cast<std::size_t>(static_cast<const std::uint8_t*>(executable) - c.rx));
    if (!n) return;  // not a live block: ignore rather than corrupt the free list
    stats_.bytes_in_use -= n;
    stats_.live_blocks--;
    // Keep the first chunk mapped; return wholly free later chunks to the system.
    if (c.live.empty() && it != chunks_.begin()) {
      stats_.chunks--;
      stats_.bytes_mapped -= c.size;
      chunks_.erase(it);
    }
    return;
  }
}

ArenaStats CodeArena::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace tramp::jit
