/* A C program built with nothing but `pkg-config --cflags --libs tramp`
 * (tests/consumers/pkgconfig_c/build.sh): a call stub and a callback through the C API. */
#include <tramp/tramp.h>

#include <stdio.h>
#include <stdlib.h>

static int add(int a, int b) { return a + b; }

static void compare(void* ret, void* const* args, void* user) {
  int x = **(int* const*)args[0], y = **(int* const*)args[1];
  (void)user;
  *(int*)ret = (x > y) - (x < y);
}

int main(void) {
  tramp_signature* sig = NULL;
  tramp_signature* cmp_sig = NULL;
  tramp_invoke_fn call = NULL;
  tramp_callback* cb = NULL;
  if (tramp_signature_parse("i32(i32, i32)", &sig) != TRAMP_OK || tramp_invoker(sig, &call) != TRAMP_OK ||
      tramp_signature_parse("i32(ptr, ptr)", &cmp_sig) != TRAMP_OK ||
      tramp_callback_new(cmp_sig, compare, NULL, &cb) != TRAMP_OK) {
    fprintf(stderr, "tramp: %s\n", tramp_last_error());
    return 1;
  }
  int a = 40, b = 2, r = 0;
  void* args[] = {&a, &b};
  call((const void*)&add, &r, args);
  int values[] = {42, 7, 19};
  qsort(values, 3, sizeof(int), (int (*)(const void*, const void*))tramp_callback_code(cb));
  printf("%d %d %d %d\n", r, values[0], values[1], values[2]);
  tramp_callback_free(cb);
  tramp_signature_free(cmp_sig);
  tramp_signature_free(sig);
  return r == 42 && values[0] == 7 && values[2] == 42 ? 0 : 1;
}
