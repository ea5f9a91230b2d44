/* C callers for tests/unit/test_win64.cpp: a record that C++ cannot declare the same way, as
   gcc's ms_abi code passes it. x86-64 only. */
#if defined(__x86_64__)

/* gcc's "empty record" (unnamed bit-fields only), aligned to 32: an ms_abi function returns
   it as nothing, and a thunk's result buffer for it must still be 32-aligned. */
typedef union __attribute__((aligned(32))) {
  struct {
    signed char : 3;
  } s;
} EmptyAligned32;

__attribute__((noipa)) void tramp_test_call_ms_empty_aligned(void* fn, double x) {
  ((EmptyAligned32(__attribute__((ms_abi)) *)(double))fn)(x);
}

#endif
