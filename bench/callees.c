/* Benchmark targets and C callers, in their own translation unit so every direct call is a
   real call through a pointer the optimiser cannot see through. */
typedef struct { double a, b; } Pair;
typedef struct { long a, b, c; } Triple;

int b_add(int a, int b) { return a + b; }
double b_sum4(double a, double b, double c, double d) { return a + b + c + d; }
double b_mixed8(int a, double b, long c, float d, void* e, short f, double g, unsigned char h) {
  return a + b + (double)c + d + (e ? 1 : 0) + f + g + h;
}
int b_int12(int a, int b, int c, int d, int e, int f, int g, int h, int i, int j, int k, int l) {
  return a + b + c + d + e + f + g + h + i + j + k + l;
}
Pair b_pair(double a, double b) { Pair p = {a, b}; return p; }
long b_triple(Triple t) { return t.a + t.b + t.c; }
int b_printf_like(const char* fmt, ...) { return fmt[0]; }

/* C callers for the callback rows: each calls its argument like native code would. */
int call_add(int (*f)(int, int), int a, int b) { return f(a, b); }
double call_sum4(double (*f)(double, double, double, double), double a) { return f(a, a, a, a); }
Pair call_pair(Pair (*f)(double, double), double a) { return f(a, a); }
int call_int12(int (*f)(int, int, int, int, int, int, int, int, int, int, int, int), int a) {
  return f(a, a, a, a, a, a, a, a, a, a, a, a);
}
