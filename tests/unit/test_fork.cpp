// fork() and the faults a process meets: code made before a fork keeps working in parent and
// child, and nothing either makes or frees afterwards reaches the other (checked by calling
// and by comparing the bytes, since an emulator's translation cache can hide a rewrite);
// locks held by other threads at the fork do not deadlock the child; tramp works under
// PR_SET_MDWE; without any source of executable memory, or over RLIMIT_AS, it reports
// Error(Jit) and old code keeps working.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tramp/tramp.h"
#include "tramp/tramp.hpp"
#include "sandbox.hpp"

namespace {

using tramp::Callback;
using tramp::CodeKind;
using tramp::Engine;
using tramp::Signature;

// The callbacks' handler: i32(i32) returning its argument plus the user value.
void add_user(void* ret, void* const* args, void* user) {
  *static_cast<std::int32_t*>(ret) =
      *static_cast<const std::int32_t*>(args[0]) + static_cast<std::int32_t>(reinterpret_cast<std::intptr_t>(user));
}
extern "C" int add2(int a, int b) { return a + b; }
extern "C" int sub2(int a, int b) { return a - b; }

const Signature& cb_sig() {
  static const Signature s = tramp::parse_signature("i32(i32)");
  return s;
}
const Signature& call_sig() {
  static const Signature s = tramp::parse_signature("i32(i32, i32)");
  return s;
}

void* user_value(int v) { return reinterpret_cast<void*>(static_cast<std::intptr_t>(v)); }

bool bytes_are(const void* code, const std::vector<std::uint8_t>& expected) {
  return code && std::memcmp(code, expected.data(), expected.size()) == 0;
}

// A callback's code (its veneer) as it was made, by address: a later check compares the bytes
// there first, so a trap-filled or rewritten entry fails the check instead of the process.
constexpr std::size_t kEntryBytes = 16;  // within the veneer on both architectures
std::map<const void*, std::vector<std::uint8_t>>& made_code() {
  static std::map<const void*, std::vector<std::uint8_t>> m;
  return m;
}
const Callback& remember(const Callback& cb) {
  const auto* p = static_cast<const std::uint8_t*>(cb.code());
  made_code()[cb.code()].assign(p, p + kEntryBytes);
  return cb;
}

// A callback whose code is as made and that returns 1 + user when called.
bool callback_ok(const Callback& cb, int user) {
  auto it = made_code().find(cb.code());
  if (it == made_code().end() || !bytes_are(cb.code(), it->second)) return false;
  return cb.as<int(int)>()(1) == 1 + user;
}

// What one process made: a callback, an invoker and a bound stub, each checked by its bytes
// and by a call. `tag` differs between the processes so that their code differs.
struct Made {
  Callback cb;
  tramp::Invoker inv;
  tramp::BoundCall bound;
  int user = 0;
  int (*target)(int, int) = nullptr;

  Made(Engine& e, int tag)
      : cb(e.callback(cb_sig(), &add_user, user_value(tag))),
        inv(e.invoker(tramp::parse_signature(tag % 2 ? "i32(i32, i32, ptr)" : "i32(i32, i32, i64)"))),
        user(tag),
        target(tag % 2 ? &sub2 : &add2) {
    bound = e.invoker(call_sig()).bind(reinterpret_cast<const void*>(target));
    remember(cb);
  }
  bool ok() const {
    if (!callback_ok(cb, user)) return false;
    if (!bytes_are(reinterpret_cast<const void*>(inv.entry()),
                   tramp::machine_code(inv.signature(), CodeKind::Invoke)))
      return false;
    if (!bytes_are(reinterpret_cast<const void*>(bound.entry()),
                   tramp::machine_code(call_sig(), CodeKind::Bound, reinterpret_cast<const void*>(target))))
      return false;
    int a = 9, b = 4, r = 0;
    std::int64_t unused = 0;
    void* args[] = {&a, &b, &unused};
    bound(&r, args);
    if (r != target(9, 4)) return false;
    r = 0;
    inv(reinterpret_cast<const void*>(target), &r, args);  // the third argument is ignored
    return r == target(9, 4);
  }
};

// One byte through a pipe: the other process has done its part.
void signal_fd(int fd) {
  char c = 1;
  if (write(fd, &c, 1) != 1) _exit(120);
}
void wait_fd(int fd) {
  char c;
  if (read(fd, &c, 1) != 1) _exit(121);
}

int wait_child(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

// What both fork tests make before the fork: an engine, a callback that lives on, one that
// one process frees after the fork, a callback, invoker and bound stub, and a pipe.
struct BeforeFork {
  Engine e;
  Callback keep = e.callback(cb_sig(), &add_user, user_value(5000));
  Callback inherited = e.callback(cb_sig(), &add_user, user_value(6000));
  Made before{e, 10};
  int to_child[2] = {-1, -1};

  BeforeFork() {
    remember(keep);
    remember(inherited);
    REQUIRE(pipe(to_child) == 0);
    // Placed code goes through fork like any other (docs/code-arena.md, "Placement"): the
    // bound stub lies next to its target, the callbacks next to their handler, in chunks
    // the arena placed itself, wherever this program's block had room (an ASan build's code
    // and data may fill it).
    CHECK((e.code_stats().placed > 0 || e.code_stats().not_placed > 0));
    if (e.code_stats().not_placed == 0) {
      CHECK(same_block(reinterpret_cast<const void*>(before.bound.entry()), reinterpret_cast<const void*>(before.target)));
      CHECK(same_block(keep.code(), reinterpret_cast<const void*>(&add_user)));
    }
  }
  static bool same_block(const void* a, const void* b) {
    return reinterpret_cast<std::uintptr_t>(a) >> 24 == reinterpret_cast<std::uintptr_t>(b) >> 24;
  }
  ~BeforeFork() {
    close(to_child[0]);
    close(to_child[1]);
  }
  bool kept_ok() const { return before.ok() && callback_ok(keep, 5000); }
};

}  // namespace

TEST_CASE("fork: what the child frees or makes does not reach the parent", "[fork]") {
  BeforeFork f;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(60);  // a deadlock fails the test instead of holding it
    wait_fd(f.to_child[0]);
    int status = 0;
    if (!callback_ok(f.inherited, 6000)) status |= 1;  // inherited code runs in the child
    f.inherited = Callback();                           // freed here: the child's copy traps
    Made mine(f.e, 21);                                 // may take the blocks the parent took
    if (!mine.ok()) status |= 2;
    if (!f.kept_ok()) status |= 4;
    _exit(status);
  }
  // The parent makes its own code after the fork, then lets the child free and make.
  Made mine(f.e, 30);
  signal_fd(f.to_child[1]);
  CHECK(wait_child(pid) == 0);
  CHECK(callback_ok(f.inherited, 6000));  // the child's free did not fill it with traps
  CHECK(mine.ok());                       // the child's new code did not overwrite it
  CHECK(f.kept_ok());
}

TEST_CASE("fork: what the parent frees or makes does not reach the child", "[fork]") {
  BeforeFork f;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(60);
    Made mine(f.e, 21);  // made before the parent makes its own
    wait_fd(f.to_child[0]);
    int status = 0;
    if (!callback_ok(f.inherited, 6000)) status |= 1;  // the parent's free did not reach us
    if (!mine.ok()) status |= 2;                       // nor did its new code
    if (!f.kept_ok()) status |= 4;
    Made later(f.e, 41);
    if (!later.ok()) status |= 8;
    _exit(status);
  }
  f.inherited = Callback();
  Made mine(f.e, 30);
  signal_fd(f.to_child[1]);
  CHECK(wait_child(pid) == 0);
  CHECK(mine.ok());
  CHECK(f.kept_ok());
}

TEST_CASE("fork: a grandchild still runs and makes code", "[fork]") {
  Engine e;
  Made before(e, 10);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(60);
    pid_t grandchild = fork();
    if (grandchild < 0) _exit(100);
    if (grandchild == 0) {
      Made mine(e, 51);
      _exit(before.ok() && mine.ok() ? 0 : 1);
    }
    Made mine(e, 61);
    int status = before.ok() && mine.ok() ? 0 : 2;
    _exit(status | wait_child(grandchild));
  }
  CHECK(wait_child(pid) == 0);
  CHECK(before.ok());
}

// A thread keeps the engine's and the arena's locks busy while the main thread forks: a lock
// inherited as taken would deadlock the child (the alarm then kills it).
TEST_CASE("fork: a child forked while another thread makes code does not deadlock", "[fork]") {
  Engine e;
  // First uses first: a function-local static that another thread is initialising at the
  // fork is a lock the child cannot take (a C++ guard, not tramp's), docs/code-arena.md.
  { Made warm_up(e, 1); }
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; !stop.load(); ++i) {
      Callback cb = e.callback(cb_sig(), &add_user, user_value(i));
      e.invoker(tramp::parse_signature("i32(i32" + std::string(", i8") + ")"));
      (void)e.invoker(call_sig()).direct<int>();
    }
  });
  int failures = 0;
  for (int round = 0; round < 20; ++round) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      alarm(20);
      Made mine(e, 70 + round);
      _exit(mine.ok() ? 0 : 1);
    }
    if (wait_child(pid) != 0) ++failures;
  }
  stop = true;
  churn.join();
  CHECK(failures == 0);
}

#if defined(__linux__)
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

// Memory-deny-write-execute (Linux 6.3): no mapping may become executable after it was
// writable, and none may be both. The arena never asks for either.
TEST_CASE("faults: tramp works under prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)", "[fork][faults]") {
  constexpr int kNoMdwe = 77;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(60);
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0) _exit(kNoMdwe);
    int status = 0;
    try {
      Engine fresh;  // new chunks, mapped under the rule
      Made mine(fresh, 81);
      if (!mine.ok()) status |= 1;
      pid_t grandchild = fork();  // the child's own copy of the chunks, made under the rule
      if (grandchild == 0) _exit(mine.ok() ? 0 : 1);
      if (wait_child(grandchild) != 0) status |= 2;
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "under MDWE: %s\n", ex.what());
      status |= 4;
    }
    _exit(status);
  }
  const int status = wait_child(pid);
  if (status == kNoMdwe) {
    WARN("prctl(PR_SET_MDWE) is not available on this kernel (before Linux 6.3 or under qemu-user): not exercised");
    return;
  }
  CHECK(status == 0);
}

namespace {
std::set<std::string> arena_files() {
  std::set<std::string> out;
  for (const char* dir : {"/dev/shm", "/tmp"}) {
    if (DIR* d = opendir(dir)) {
      while (dirent* ent = readdir(d))
        if (std::strncmp(ent->d_name, "tramp-code-", 11) == 0) out.insert(std::string(dir) + "/" + ent->d_name);
      closedir(d);
    }
  }
  return out;
}
}  // namespace

#if defined(SYS_memfd_create) && defined(SECCOMP_MODE_FILTER)  // as sandbox.hpp
// A sandbox that denies memfd_create and the creation of files: every source fails, the
// error names each one, nothing is left behind, and code made before still runs.
TEST_CASE("faults: with no memfd and no file creation, Error(Jit) names every source", "[fork][faults]") {
  constexpr int kNoSeccomp = 77;
  Engine e;
  Made before(e, 10);
  const std::set<std::string> files_before = arena_files();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(60);
    if (!tramp::test::deny_code_memory(EPERM, /*deny_file_creation=*/true)) _exit(kNoSeccomp);
    int status = 0;
    try {
      Engine fresh;
      fresh.invoker(call_sig());
      status |= 1;  // made code with no source of memory
    } catch (const tramp::Error& ex) {
      const std::string what = ex.what();
      if (ex.code() != tramp::ErrorCode::Jit) status |= 2;
      for (const char* part : {"memfd_create", "/dev/shm", "/tmp", "temporary file"})
        if (what.find(part) == std::string::npos) status |= 4;
    }
    if (!before.ok()) status |= 8;
    // The C API says the same with its status: the process-wide engine's chunks fill, then
    // TRAMP_ERR_JIT with the arena's message.
    tramp_signature* c_sig = nullptr;
    tramp_status c_status = tramp_signature_parse("i32(i32, i32)", &c_sig);
    std::vector<tramp_bound*> c_stubs;
    while (c_status == TRAMP_OK && c_stubs.size() < 100000) {
      tramp_bound* b = nullptr;
      c_status = tramp_bind(c_sig, reinterpret_cast<const void*>(&add2), &b);
      if (c_status == TRAMP_OK) c_stubs.push_back(b);
    }
    if (c_status != TRAMP_ERR_JIT || std::strstr(tramp_last_error(), "memfd_create") == nullptr) status |= 16;
    for (tramp_bound* b : c_stubs) tramp_bound_free(b);
    tramp_signature_free(c_sig);
    _exit(status);
  }
  const int status = wait_child(pid);
  if (status == kNoSeccomp) {
    WARN("seccomp filters are unavailable here (qemu-user, some containers): not exercised");
    return;
  }
  CHECK(status == 0);
  CHECK(arena_files() == files_before);
}
#endif

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {
rlim_t address_space_now() {
  std::ifstream statm("/proc/self/statm");
  unsigned long pages = 0;
  statm >> pages;
  return static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE));
}
}  // namespace

// (Not under the sanitizers, whose runtimes reserve terabytes and fail on their own first.)
TEST_CASE("faults: RLIMIT_AS too small for a new chunk gives Error(Jit); old code runs; recovery",
          "[fork][faults]") {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(60);
    int status = 0;
    Engine e;
    Made before(e, 10);
    std::vector<tramp::BoundCall> stubs;
    stubs.reserve(200000);
    tramp::Invoker inv = e.invoker(call_sig());
    // Fill the chunk the bound stubs go to (next to add2, a chunk of their own) first, so
    // that the stubs made under the limit need little heap before one needs a new chunk.
    // Bind until a new chunk appears, then until it is nearly full: the other chunks' free
    // bytes stay what they were when it appeared.
    auto free_bytes = [&] { return e.code_stats().bytes_mapped - e.code_stats().bytes_in_use; };
    const std::size_t chunks_before = e.code_stats().chunks;
    while (e.code_stats().chunks == chunks_before && stubs.size() < 100000)
      stubs.push_back(inv.bind(reinterpret_cast<const void*>(&add2)));
    const std::size_t stub_bytes =
        (tramp::machine_code(call_sig(), CodeKind::Bound, reinterpret_cast<const void*>(&add2)).size() + 15) / 16 * 16;
    const std::size_t chunk_bytes = 64 * 1024;
    const std::size_t others_free = free_bytes() - (chunk_bytes - stub_bytes);
    while (free_bytes() - others_free > 512 && stubs.size() < 100000)
      stubs.push_back(inv.bind(reinterpret_cast<const void*>(&add2)));
    if (e.code_stats().chunks != chunks_before + 1) _exit(102);
    rlimit old{};
    getrlimit(RLIMIT_AS, &old);
    // Room for a few pages of heap, not for a chunk (two views of 64 KiB).
    rlimit tight = old;
    tight.rlim_cur = address_space_now() + 64 * 1024;
    if (setrlimit(RLIMIT_AS, &tight) != 0) _exit(100);
    bool refused = false;
    try {
      for (int i = 0; i < 200000; ++i) stubs.push_back(inv.bind(reinterpret_cast<const void*>(&add2)));
    } catch (const tramp::Error& ex) {
      refused = true;
      if (ex.code() != tramp::ErrorCode::Jit) status |= 1;
      if (std::string(ex.what()).find("cannot map") == std::string::npos) status |= 2;
    } catch (const std::bad_alloc&) {
      status |= 4;  // the heap ran out before the arena
    }
    if (!refused) status |= 8;
    if (!before.ok()) status |= 16;
    int a = 2, b = 3, r = 0;
    void* args[] = {&a, &b};
    for (const tramp::BoundCall& s : stubs) {
      r = 0;
      s(&r, args);
      if (r != 5) status |= 32;
    }
    if (setrlimit(RLIMIT_AS, &old) != 0) _exit(101);
    try {
      Made after(e, 21);  // a new chunk now that the limit has risen
      if (!after.ok()) status |= 64;
    } catch (...) {
      status |= 128;
    }
    _exit(status);
  }
  CHECK(wait_child(pid) == 0);
}
#endif
#endif  // __linux__
