/* Targets for the tour's overhead table, in their own translation unit so the direct call
   is a real call. */
int tour_add(int a, int b) { return a + b; }
double tour_sum4(double a, double b, double c, double d) { return a + b + c + d; }
