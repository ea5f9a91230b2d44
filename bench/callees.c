/* Benchmark targets and the C callers of the callback rows. They live in their own
   translation unit and are never inlined, so every call the benchmarks time is a real call. */
#define CALLEE __attribute__((noinline))

typedef struct {
  double a, b;
} Pair;
typedef struct {
  long a, b, c;
} Triple;
typedef int Int12(int, int, int, int, int, int, int, int, int, int, int, int);

CALLEE int b_add(int a, int b) { return a + b; }
CALLEE double b_sum4(double a, double b, double c, double d) { return a + b + c + d; }
CALLEE double b_mixed8(int a, double b, long c, float d, void* e, short f, double g,
                       unsigned char h) {
  return a + b + (double)c + d + (e ? 1 : 0) + f + g + h;
}
CALLEE int b_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k,
                   int l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
CALLEE Pair b_pair(double a, double b) {
  Pair p = {a, b};
  return p;
}
CALLEE long b_triple(Triple t) { return t.a + t.b + t.c; }
CALLEE int b_printf_like(const char* fmt, ...) { return fmt[0]; }

/* The callback rows: each calls its argument the way native code calls a callback. */
CALLEE int call_add(int (*f)(int, int), int a, int b) { return f(a, b); }
CALLEE double call_sum4(double (*f)(double, double, double, double), double a) {
  return f(a, a, a, a);
}
CALLEE Pair call_pair(Pair (*f)(double, double), double a) { return f(a, a); }
CALLEE int call_int12(Int12* f, int a) { return f(a, a, a, a, a, a, a, a, a, a, a, a); }

/* Win64 (Microsoft x64) rows: the same work in ms_abi functions. */
#define MS __attribute__((ms_abi))
CALLEE MS int w_add(int a, int b) { return a + b; }
CALLEE MS double w_sum4(double a, double b, double c, double d) { return a + b + c + d; }
CALLEE MS long w_triple(Triple t) { return t.a + t.b + t.c; }
CALLEE int call_w_add(int (MS *f)(int, int), int a, int b) { return f(a, b); }
CALLEE double call_w_sum4(double (MS *f)(double, double, double, double), double a) {
  return f(a, a, a, a);
}
