// tramp tests: a seccomp filter that takes away what the code arena maps its memory from, for
// a forked child to test the fallbacks and the errors. Header-only, no Catch2.
#pragma once

#if defined(__linux__)
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#endif

namespace tramp::test {

#if defined(__linux__) && defined(SYS_memfd_create) && defined(SECCOMP_MODE_FILTER)
inline constexpr bool kHaveSeccomp = true;

// Makes memfd_create fail with `memfd_errno` and, when `deny_file_creation`, every openat
// with O_CREAT fail with EACCES, for this process and its children. False when the system
// offers no seccomp (qemu-user, some containers): then nothing is denied.
inline bool deny_code_memory(int memfd_errno, bool deny_file_creation) {
  const unsigned short creation = deny_file_creation ? 0 : 4;  // jumps past the openat test
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(memfd_errno) & SECCOMP_RET_DATA)),
      BPF_JUMP(BPF_JMP | BPF_JA, creation, 0, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 3),
      // openat's flags, the low half of args[2] (little-endian hosts).
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args) + 2 * sizeof(std::uint64_t)),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_CREAT, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog = {static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}
#else
inline constexpr bool kHaveSeccomp = false;
inline bool deny_code_memory(int, bool) { return false; }
#endif

}  // namespace tramp::test
