/* C callers for tests/unit/test_static_chain.cpp: gcc's __builtin_call_with_static_chain
   (C only) sets the static chain register the way gcc's own code does. */
#include <stdint.h>

typedef int64_t (*sysv_fn)(int64_t);

__attribute__((noipa)) int64_t tramp_test_call_with_chain(sysv_fn f, void* chain) {
  return __builtin_call_with_static_chain(f(40), chain);
}

#if defined(__x86_64__)
typedef int64_t(__attribute__((ms_abi)) * win64_fn)(int64_t);
__attribute__((noipa)) int64_t tramp_test_call_with_chain_win64(win64_fn f, void* chain) {
  return __builtin_call_with_static_chain(f(40), chain);
}
#else
int64_t tramp_test_call_with_chain_win64(void* f, void* chain) {
  (void)f, (void)chain;
  return -1;
}
#endif
