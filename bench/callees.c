/* The benchmarks' callees and the C callers of the callback rows (callees.h). Compiled twice:
   into the benchmark program (the accessor tramp_bench_callees_here) and, with
   TRAMP_BENCH_CALLEES_SHARED, as a shared library (tramp_bench_callees_shared). Every
   function is static, never inlined and (gcc's noipa) never analysed across a call, so a
   call timed through it is a real call of a function whose result the compiler does not
   know. */
#include "callees.h"

#if defined(__clang__)
#define CALLEE static __attribute__((noinline, used))
#else
#define CALLEE static __attribute__((noinline, noipa, used))
#endif
#define MS BENCH_MS_ABI

CALLEE int add(int a, int b) { return a + b; }
CALLEE double sum4(double a, double b, double c, double d) { return a + b + c + d; }
CALLEE int ptr4(const void* a, const void* b, const void* c, const void* d) {
  return (a != 0) + (b != 0) + (c != 0) + (d != 0);
}
CALLEE double mixed8(int a, double b, long c, float d, void* e, short f, double g, unsigned char h) {
  return a + b + (double)c + d + (e ? 1 : 0) + f + g + h;
}
CALLEE int int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
CALLEE BenchPair pair(double a, double b) {
  BenchPair p = {a, b};
  return p;
}
CALLEE long triple(BenchTriple t) { return t.a + t.b + t.c; }
CALLEE int printf_like(const char* fmt, ...) { return fmt[0]; } /* a no-op printf */
CALLEE MS int w_add(int a, int b) { return a + b; }
CALLEE MS double w_sum4(double a, double b, double c, double d) { return a + b + c + d; }
CALLEE MS long w_triple(BenchTriple t) { return t.a + t.b + t.c; }

CALLEE int call_add(int (*f)(int, int), int a, int b) { return f(a, b); }
CALLEE double call_sum4(double (*f)(double, double, double, double), double a) { return f(a, a, a, a); }
CALLEE BenchPair call_pair(BenchPair (*f)(double, double), double a) { return f(a, a); }
CALLEE int call_int12(BenchInt12* f, int a) { return f(a, a, a, a, a, a, a, a, a, a, a, a); }
CALLEE int call_w_add(MS int (*f)(int, int), int a, int b) { return f(a, b); }
CALLEE double call_w_sum4(MS double (*f)(double, double, double, double), double a) { return f(a, a, a, a); }
CALLEE int h_add(int a, int b) { return a + b; }
CALLEE double h_sum4(double a, double b, double c, double d) { return a + b + c + d; }
CALLEE BenchPair h_pair(double a, double b) {
  BenchPair p = {a, b};
  return p;
}
CALLEE int h_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
CALLEE MS int h_w_add(int a, int b) { return a + b; }
CALLEE MS double h_w_sum4(double a, double b, double c, double d) { return a + b + c + d; }
CALLEE long scaling_target(void) { return 7; }

#ifdef TRAMP_BENCH_CALLEES_SHARED
#define ACCESSOR tramp_bench_callees_shared
#else
#define ACCESSOR tramp_bench_callees_here
#endif

const BenchCallees* ACCESSOR(void) {
  static const BenchCallees callees = {
      add,       sum4,      ptr4,       mixed8,      int12,      pair,   triple,  printf_like, w_add, w_sum4,
      w_triple,  call_add,  call_sum4,  call_pair,   call_int12, call_w_add, call_w_sum4, h_add, h_sum4,
      h_pair,    h_int12,   h_w_add,    h_w_sum4,    scaling_target};
  return &callees;
}
