/* What the libffi face's C tests share: CHECK, which counts a failure and goes on. */
#ifndef TRAMP_TESTS_FFI_CHECK_H
#define TRAMP_TESTS_FFI_CHECK_H

#include <stdio.h>

static int failures;
/* An expression, not a block: a compound literal in `cond` (an ffi_type* array handed to
   ffi_prep_cif) lives as long as the enclosing block, as long as the cif that points at it. */
static void check_failed(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
  ++failures;
}
#define CHECK(cond) ((cond) ? (void)0 : check_failed(__FILE__, __LINE__, #cond))

#endif
