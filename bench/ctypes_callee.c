/* The C side of bench/ctypes_bench.py: a 6-argument function that Python calls through
   ctypes, and a C loop that calls a ctypes callback (CFUNCTYPE) n times. A shared library of
   its own, loaded by ctypes.CDLL. */

/* Every argument counts in the result, so a misplaced one shows in the script's check. */
double six(int a, double b, void* c, long d, float e, int f) {
  return a + b + (c ? 1.0 : 0.0) + (double)d + e + f;
}

/* Calls cb(0) .. cb(n - 1), as native code calls a callback, and returns the sum. */
long call_n(long (*cb)(long), long n) {
  long sum = 0;
  for (long i = 0; i < n; i++) sum += cb(i);
  return sum;
}
