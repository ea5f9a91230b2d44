/* Targets for the tour's overhead table, in their own translation unit (and never inlined)
   so the direct call in the table is a real call. */
__attribute__((noinline)) int tour_add(int a, int b) { return a + b; }
__attribute__((noinline)) double tour_sum4(double a, double b, double c, double d) {
  return a + b + c + d;
}
