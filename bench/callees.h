/* The benchmarks' callees and the C callers of their callback rows (bench/callees.c), one set
   per placement: one copy is linked into the benchmark program itself, another is built as a
   shared library (libtramp_bench_callees.so), which the program carries inside it and loads
   (bench/rows.cpp). Each copy hands out its functions through one accessor, so the two never
   clash and a row calls the copy it means. */
#ifndef TRAMP_BENCH_CALLEES_H
#define TRAMP_BENCH_CALLEES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double a, b;
} BenchPair;
typedef struct {
  long a, b, c;
} BenchTriple;
typedef int BenchInt12(int, int, int, int, int, int, int, int, int, int, int, int);

#if defined(__x86_64__)
#define BENCH_MS_ABI __attribute__((ms_abi))
#define BENCH_HAS_WIN64 1
#else
#define BENCH_MS_ABI
#define BENCH_HAS_WIN64 0
#endif

typedef struct {
  /* call rows */
  int (*add)(int, int);
  double (*sum4)(double, double, double, double);
  int (*ptr4)(const void*, const void*, const void*, const void*);
  double (*mixed8)(int, double, long, float, void*, short, double, unsigned char);
  BenchInt12* int12;
  BenchPair (*pair)(double, double);
  long (*triple)(BenchTriple);
  int (*printf_like)(const char*, ...);
  BENCH_MS_ABI int (*w_add)(int, int); /* Win64 rows (x86-64 only) */
  BENCH_MS_ABI double (*w_sum4)(double, double, double, double);
  BENCH_MS_ABI long (*w_triple)(BenchTriple);
  /* callback rows: C functions that call the function pointer they are given, and the
     plain functions a direct callback row gives them */
  int (*call_add)(int (*)(int, int), int, int);
  double (*call_sum4)(double (*)(double, double, double, double), double);
  BenchPair (*call_pair)(BenchPair (*)(double, double), double);
  int (*call_int12)(BenchInt12*, int);
  int (*call_w_add)(BENCH_MS_ABI int (*)(int, int), int, int);
  double (*call_w_sum4)(BENCH_MS_ABI double (*)(double, double, double, double), double);
  int (*h_add)(int, int);
  double (*h_sum4)(double, double, double, double);
  BenchPair (*h_pair)(double, double);
  BenchInt12* h_int12;
  BENCH_MS_ABI int (*h_w_add)(int, int);
  BENCH_MS_ABI double (*h_w_sum4)(double, double, double, double);
  /* the scaling run's target: callers pass arguments it does not read (SysV and AAPCS64
     allow it) */
  long (*scaling_target)(void);
} BenchCallees;

/* The copy in the program (callees.c compiled into it) and the shared library's copy. */
const BenchCallees* tramp_bench_callees_here(void);
const BenchCallees* tramp_bench_callees_shared(void);

#ifdef __cplusplus
}
#endif

#endif
