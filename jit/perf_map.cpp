// The perf map and jitdump formats are those of Linux's tools/perf/Documentation
// (jit-interface.txt, jitdump-specification.txt).
#include "jit/perf_map.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "tramp/error.hpp"

namespace tramp::jit {
namespace {

// Writes all of `n` bytes (a short write on a regular file happens only on a full disk, when
// the rest is dropped: a profile's names must never stop a program).
void write_all(int fd, const void* p, std::size_t n) noexcept {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    b += w;
    n -= static_cast<std::size_t>(w);
  }
}

// writev of all the parts, finishing a short write with write_all.
void write_parts(int fd, iovec* parts, int count) noexcept {
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) total += parts[i].iov_len;
  ssize_t w;
  do w = ::writev(fd, parts, count);
  while (w < 0 && errno == EINTR);
  if (w < 0 || static_cast<std::size_t>(w) == total) return;
  std::size_t done = static_cast<std::size_t>(w);
  for (int i = 0; i < count; ++i) {
    if (done >= parts[i].iov_len) {
      done -= parts[i].iov_len;
      continue;
    }
    write_all(fd, static_cast<const char*>(parts[i].iov_base) + done, parts[i].iov_len - done);
    done = 0;
  }
}

int open_file(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error(ErrorCode::Jit, "perf output: cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

class PerfMap final : public PerfWriter {
 public:
  PerfMap() : path_("/tmp/perf-" + std::to_string(getpid()) + ".map"), fd_(open_file(path_, O_WRONLY | O_CREAT | O_APPEND)) {}
  ~PerfMap() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void abandon() noexcept override {
    ::close(fd_);
    fd_ = -1;
  }

  void code_loaded(const void* code, std::size_t size, std::string_view name) noexcept override {
    char head[48];
    const int n = std::snprintf(head, sizeof head, "%" PRIxPTR " %zx ", reinterpret_cast<std::uintptr_t>(code), size);
    char newline = '\n';
    iovec parts[3] = {{head, static_cast<std::size_t>(n)},
                      {const_cast<char*>(name.data()), name.size()},
                      {&newline, 1}};
    write_parts(fd_, parts, 3);  // O_APPEND: one whole line per write
  }
  const char* path() const noexcept override { return path_.c_str(); }

 private:
  std::string path_;
  int fd_;
};

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // what `perf record -k mono` stamps its samples with
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// The jitdump records (jitdump-specification.txt): all fields in the host's byte order.
struct Header {
  std::uint32_t magic = 0x4A695444;  // "JiTD"
  std::uint32_t version = 1;
  std::uint32_t total_size = sizeof(Header);
  std::uint32_t elf_mach = 0;
  std::uint32_t pad1 = 0;
  std::uint32_t pid = 0;
  std::uint64_t timestamp = 0;
  std::uint64_t flags = 0;
};
struct RecordPrefix {
  std::uint32_t id;  // 0 JIT_CODE_LOAD, 3 JIT_CODE_CLOSE
  std::uint32_t total_size;
  std::uint64_t timestamp;
};
struct CodeLoad {
  RecordPrefix p;
  std::uint32_t pid;
  std::uint32_t tid;
  std::uint64_t vma;
  std::uint64_t code_addr;
  std::uint64_t code_size;
  std::uint64_t code_index;
  // then the name, NUL-terminated, and the code's bytes
};
static_assert(sizeof(Header) == 40 && sizeof(RecordPrefix) == 16 && sizeof(CodeLoad) == 56);

class JitDump final : public PerfWriter {
 public:
  explicit JitDump(abi::Arch arch)
      : path_("/tmp/jit-" + std::to_string(getpid()) + ".dump"), fd_(open_file(path_, O_RDWR | O_CREAT | O_TRUNC)) {
    Header h;
    h.elf_mach = arch == abi::Arch::X64 ? EM_X86_64 : EM_AARCH64;
    h.pid = static_cast<std::uint32_t>(getpid());
    h.timestamp = monotonic_ns();
    write_all(fd_, &h, sizeof h);
    // perf record notes files mapped executable; perf inject -j finds the dump by that mark.
    const long page = sysconf(_SC_PAGESIZE);
    mark_size_ = page > 0 ? static_cast<std::size_t>(page) : 4096;
    mark_ = ::mmap(nullptr, mark_size_, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd_, 0);
    if (mark_ == MAP_FAILED) {
      const int err = errno;
      ::close(fd_);
      throw Error(ErrorCode::Jit, "perf output: cannot map " + path_ + ": " + std::strerror(err));
    }
  }
  ~JitDump() override {
    if (fd_ < 0) return;
    const RecordPrefix close{3, sizeof(RecordPrefix), monotonic_ns()};
    write_all(fd_, &close, sizeof close);
    ::munmap(mark_, mark_size_);
    ::close(fd_);
  }
  void abandon() noexcept override {
    ::munmap(mark_, mark_size_);
    ::close(fd_);
    fd_ = -1;
  }

  void code_loaded(const void* code, std::size_t size, std::string_view name) noexcept override {
    CodeLoad r{};
    r.p.id = 0;
    r.p.total_size = static_cast<std::uint32_t>(sizeof r + name.size() + 1 + size);
    r.p.timestamp = monotonic_ns();
    r.pid = static_cast<std::uint32_t>(getpid());
    r.tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
    r.vma = r.code_addr = reinterpret_cast<std::uintptr_t>(code);
    r.code_size = size;
    r.code_index = next_index_++;
    char nul = '\0';
    iovec parts[4] = {{&r, sizeof r},
                      {const_cast<char*>(name.data()), name.size()},
                      {&nul, 1},
                      {const_cast<void*>(code), size}};
    write_parts(fd_, parts, 4);
  }
  const char* path() const noexcept override { return path_.c_str(); }

 private:
  std::string path_;
  int fd_;
  void* mark_ = nullptr;
  std::size_t mark_size_ = 0;
  std::uint64_t next_index_ = 0;
};

}  // namespace

std::unique_ptr<PerfWriter> open_perf_map() { return std::make_unique<PerfMap>(); }
std::unique_ptr<PerfWriter> open_jitdump(abi::Arch arch) { return std::make_unique<JitDump>(arch); }

}  // namespace tramp::jit
