/* A header that test_c_api.c reads with tramp_scope_include (through the C preprocessor). */
#ifndef TRAMP_TEST_HEADER_H
#define TRAMP_TEST_HEADER_H

#define TEST_BASE 40
#define TEST_ANSWER (TEST_BASE + 2)
#define TEST_MASK (1u << 31)
#define TEST_HALF 0.5f
#define TEST_NAME "tramp" "-test"
#define TEST_WRAP(x) ((x) * 2)
#define TEST_WRAPPED TEST_WRAP(21)
#define TEST_NOT_A_CONSTANT int

enum test_color { TEST_RED, TEST_GREEN = TEST_ANSWER };

typedef int (*test_visit)(void* user, int value);
int test_each(const int* values, int n, test_visit visit, void* user);
struct test_decimal { _Decimal64 d; }; /* a type tramp does not have */
#ifdef TEST_EXTRA
int test_extra(void);
#endif

#endif
