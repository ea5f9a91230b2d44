/* libffi's documented behaviour, checked the same way against any libffi.so.8: ctest builds
   this file against Debian's ffi.h and against the face's, and runs each build with each
   library (docs/libffi.md, "Binary compatibility"). Only what libffi 3.4.4 promises is here;
   what the face adds is in test_face.c. */
#define _GNU_SOURCE
#include <ffi.h>

#include <complex.h>
#include <float.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "libffi_loaded.h"

/* ---- callees ---- */
static int calls;
static int add2(int a, int b) { ++calls; return a + b; }
static signed char neg_char(signed char c) { return (signed char)-c; }
static unsigned short max_ushort(void) { return 0xFFFF; }
static unsigned int max_uint(void) { return 0xFFFFFFFFu; }
static short minus_short(void) { return -2; }
static float halve(float f) { return f / 2; }
static long double ld_mul(long double a, int b) { return a * b; }

struct pair { int a, b; };
struct pair make_pair(int a, int b) { struct pair p = {a, b}; ++calls; return p; }
struct quad { double w, x, y, z; };
static struct quad scale_quad(struct quad q, double k) {
  struct quad r = {q.w * k, q.x * k, q.y * k, q.z * k};
  ++calls;
  return r;
}
struct mixed { char c; float f; short s; };
static struct mixed bump_mixed(struct mixed m) { m.c += 1; m.f += 1; m.s += 1; return m; }

static double sum_var(int n, ...) {
  va_list ap;
  double s = 0;
  va_start(ap, n);
  for (int i = 0; i < n; ++i) s += va_arg(ap, double);
  va_end(ap);
  return s;
}

static long many(int a0, double d0, int a1, double d1, int a2, double d2, int a3, double d3, int a4,
                 double d4, int a5, double d5, int a6, double d6, int a7, double d7, int a8, double d8,
                 char c, struct pair p) {
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + (long)(d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8) + c +
         p.a * 1000 + p.b * 100000;
}


#if defined(__x86_64__)
static double __attribute__((ms_abi)) win_mix(int a, double b, struct pair p, char c, double e) {
  return a + b + p.a + p.b + c + e;
}
#endif

/* ---- helpers ---- */
static ffi_type pair_type, quad_type, mixed_type;
static ffi_type *pair_elems[] = {&ffi_type_sint, &ffi_type_sint, NULL};
static ffi_type *quad_elems[] = {&ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double, NULL};
static ffi_type *mixed_elems[] = {&ffi_type_schar, &ffi_type_float, &ffi_type_sshort, NULL};

static void init_types(void) {
  pair_type.size = 0; pair_type.alignment = 0; pair_type.type = FFI_TYPE_STRUCT; pair_type.elements = pair_elems;
  quad_type.size = 0; quad_type.alignment = 0; quad_type.type = FFI_TYPE_STRUCT; quad_type.elements = quad_elems;
  mixed_type.size = 0; mixed_type.alignment = 0; mixed_type.type = FFI_TYPE_STRUCT; mixed_type.elements = mixed_elems;
}

static void test_layout(void) {
  ffi_type *e1[] = {&ffi_type_schar, &ffi_type_sint, &ffi_type_double, NULL};
  ffi_type s1 = {0, 0, FFI_TYPE_STRUCT, e1};
  ffi_cif cif;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&s1}) == FFI_OK);
  CHECK(s1.size == 16 && s1.alignment == 8);
  size_t off[3] = {99, 99, 99};
  CHECK(ffi_get_struct_offsets(FFI_DEFAULT_ABI, &s1, off) == FFI_OK);
  CHECK(off[0] == 0 && off[1] == 4 && off[2] == 8);

  /* struct A { long a; char b; }; struct B { struct A x; char y; }: y at 16, size 24 */
  ffi_type *ea[] = {&ffi_type_slong, &ffi_type_schar, NULL};
  ffi_type a = {0, 0, FFI_TYPE_STRUCT, ea};
  ffi_type *eb[] = {&a, &ffi_type_schar, NULL};
  ffi_type b = {0, 0, FFI_TYPE_STRUCT, eb};
  size_t offb[2];
  CHECK(ffi_get_struct_offsets(FFI_DEFAULT_ABI, &b, offb) == FFI_OK);
  CHECK(offb[1] == 16 && b.size == 24 && b.alignment == 8 && a.size == 16);
  CHECK(ffi_get_struct_offsets(FFI_DEFAULT_ABI, &ffi_type_sint, offb) == FFI_BAD_TYPEDEF);
  CHECK(ffi_get_struct_offsets(FFI_LAST_ABI, &b, offb) == FFI_BAD_ABI);
}

static void test_errors(void) {
  ffi_cif cif;
  CHECK(ffi_prep_cif(&cif, FFI_LAST_ABI, 0, &ffi_type_void, NULL) == FFI_BAD_ABI);
  CHECK(ffi_prep_cif(&cif, FFI_FIRST_ABI, 0, &ffi_type_void, NULL) == FFI_BAD_ABI);
  ffi_type no_elems = {0, 0, FFI_TYPE_STRUCT, NULL};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &no_elems, NULL) == FFI_BAD_TYPEDEF);
  ffi_type *none[] = {NULL};
  ffi_type empty = {0, 0, FFI_TYPE_STRUCT, none};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&empty}) == FFI_BAD_TYPEDEF);
  /* what follows `...` is promoted in C: no float, nothing narrower than int */
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2, &ffi_type_void,
                         (ffi_type *[]){&ffi_type_sint, &ffi_type_float}) == FFI_BAD_ARGTYPE);
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2, &ffi_type_void,
                         (ffi_type *[]){&ffi_type_sint, &ffi_type_sshort}) == FFI_BAD_ARGTYPE);
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2, &ffi_type_void,
                         (ffi_type *[]){&ffi_type_sint, &pair_type}) == FFI_OK);
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 3, &ffi_type_double,
                         (ffi_type *[]){&ffi_type_sint, &ffi_type_double, &ffi_type_slong}) == FFI_OK);
}

static void test_calls(void) {
  ffi_cif cif;
  ffi_arg r = 0;
  int a = 40, b = 2;
  void *args[] = {&a, &b};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) ==
        FFI_OK);
  CHECK(cif.nargs == 2 && cif.rtype == &ffi_type_sint && cif.abi == FFI_DEFAULT_ABI);
  ffi_call(&cif, FFI_FN(add2), &r, args);
  CHECK((int)r == 42);
  int before = calls;
  ffi_call(&cif, FFI_FN(add2), NULL, args); /* rvalue may be NULL */
  CHECK(calls == before + 1);

  /* integers narrower than a word come back widened to ffi_arg */
  signed char c = 5;
  memset(&r, 0xAB, sizeof r);
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_schar, (ffi_type *[]){&ffi_type_schar}) == FFI_OK);
  ffi_call(&cif, FFI_FN(neg_char), &r, (void *[]){&c});
  CHECK((ffi_sarg)r == -5);
  memset(&r, 0xAB, sizeof r);
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_ushort, NULL) == FFI_OK);
  ffi_call(&cif, FFI_FN(max_ushort), &r, NULL);
  CHECK(r == 0xFFFF);
  memset(&r, 0xAB, sizeof r);
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_uint, NULL) == FFI_OK);
  ffi_call(&cif, FFI_FN(max_uint), &r, NULL);
  CHECK(r == 0xFFFFFFFFu);
  memset(&r, 0xAB, sizeof r);
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_sshort, NULL) == FFI_OK);
  ffi_call(&cif, FFI_FN(minus_short), &r, NULL);
  CHECK((ffi_sarg)r == -2);

  float f = 5, fr = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_float, (ffi_type *[]){&ffi_type_float}) == FFI_OK);
  ffi_call(&cif, FFI_FN(halve), &fr, (void *[]){&f});
  CHECK(fr == 2.5f);

  long double ld = 1.25L, ldr = 0;
  int k = 3;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_longdouble,
                     (ffi_type *[]){&ffi_type_longdouble, &ffi_type_sint}) == FFI_OK);
  ffi_call(&cif, FFI_FN(ld_mul), &ldr, (void *[]){&ld, &k});
  CHECK(ldr == 3.75L);

  /* structs both ways */
  struct pair p = {0, 0};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &pair_type, (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) == FFI_OK);
  CHECK(pair_type.size == sizeof(struct pair) && pair_type.alignment == 4);
  ffi_call(&cif, FFI_FN(make_pair), &p, args);
  CHECK(p.a == 40 && p.b == 2);
  before = calls;
  ffi_call(&cif, FFI_FN(make_pair), NULL, args);
  CHECK(calls == before + 1);

  struct quad q = {1, 2, 3, 4}, qr = {0, 0, 0, 0};
  double factor = 0.5;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &quad_type, (ffi_type *[]){&quad_type, &ffi_type_double}) == FFI_OK);
  ffi_call(&cif, FFI_FN(scale_quad), &qr, (void *[]){&q, &factor});
  CHECK(qr.w == 0.5 && qr.x == 1 && qr.y == 1.5 && qr.z == 2);
  CHECK(q.w == 1 && q.z == 4); /* the caller's struct is not changed */
  before = calls;
  ffi_call(&cif, FFI_FN(scale_quad), NULL, (void *[]){&q, &factor}); /* memory result, NULL rvalue */
  CHECK(calls == before + 1);

  struct mixed m = {'a', 1.5f, 7}, mr;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &mixed_type, (ffi_type *[]){&mixed_type}) == FFI_OK);
  ffi_call(&cif, FFI_FN(bump_mixed), &mr, (void *[]){&m});
  CHECK(mr.c == 'b' && mr.f == 2.5f && mr.s == 8);

  /* a variadic callee, through ffi_prep_cif_var and through a plain cif (libffi sets %al) */
  int n = 3;
  double d1 = 1.5, d2 = 2.25, d3 = 4, dr = 0;
  void *vargs[] = {&n, &d1, &d2, &d3};
  ffi_type *vtypes[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_double, &ffi_type_double};
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 4, &ffi_type_double, vtypes) == FFI_OK);
  ffi_call(&cif, FFI_FN(sum_var), &dr, vargs);
  CHECK(dr == 7.75);
  dr = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 4, &ffi_type_double, vtypes) == FFI_OK);
  ffi_call(&cif, FFI_FN(sum_var), &dr, vargs);
  CHECK(dr == 7.75);

  /* more arguments than registers, a struct among the stack ones */
  int iv[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  double dv[9] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1};
  char ch = 3;
  struct pair sp = {4, 5};
  ffi_type *mt[20];
  void *mv[20];
  for (int i = 0; i < 9; ++i) {
    mt[2 * i] = &ffi_type_sint; mv[2 * i] = &iv[i];
    mt[2 * i + 1] = &ffi_type_double; mv[2 * i + 1] = &dv[i];
  }
  mt[18] = &ffi_type_schar; mv[18] = &ch;
  mt[19] = &pair_type; mv[19] = &sp;
  ffi_arg lr = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 20, &ffi_type_slong, mt) == FFI_OK);
  ffi_call(&cif, FFI_FN(many), &lr, mv);
  CHECK((long)lr == many(1, 0.5, 2, 0.5, 3, 0.5, 4, 0.5, 5, 0.5, 6, 0.5, 7, 0.5, 8, 0.5, 9, 1, 3, sp));

#if defined(__x86_64__)
  /* Microsoft x64 from Linux, under both of libffi's names for it */
  ffi_abi win[] = {FFI_WIN64, FFI_GNUW64};
  for (int w = 0; w < 2; ++w) {
    int wa = 1;
    double wb = 2, we = 5, wr = 0;
    char wc = 4;
    struct pair wp = {10, 20};
    ffi_type *wt[] = {&ffi_type_sint, &ffi_type_double, &pair_type, &ffi_type_schar, &ffi_type_double};
    CHECK(ffi_prep_cif(&cif, win[w], 5, &ffi_type_double, wt) == FFI_OK);
    ffi_call(&cif, FFI_FN(win_mix), &wr, (void *[]){&wa, &wb, &wp, &wc, &we});
    CHECK(wr == 42);
  }
#endif
}

/* ---- closures ---- */
static void add_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  CHECK(cif->nargs == 2);
  *(ffi_arg *)ret = (ffi_arg)(*(int *)args[0] + *(int *)args[1] + *(int *)user);
}
static void char_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif; (void)user;
  *(ffi_sarg *)ret = -*(signed char *)args[0]; /* libffi: a narrow result is written as a word */
}
static void quad_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif; (void)user;
  struct quad q = *(struct quad *)args[0];
  double k = *(double *)args[1];
  struct quad r = {q.w * k, q.x * k, q.y * k, q.z * k};
  *(struct quad *)ret = r;
}
static void float_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif; (void)user;
  *(float *)ret = *(float *)args[0] * 4;
}
static void many_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif; (void)user;
  long s = 0;
  for (int i = 0; i < 9; ++i) s += *(int *)args[2 * i];
  double d = 0;
  for (int i = 0; i < 9; ++i) d += *(double *)args[2 * i + 1];
  struct pair p = *(struct pair *)args[19];
  *(ffi_sarg *)ret = s + (long)d + *(char *)args[18] + p.a * 1000 + p.b * 100000;
}

typedef long many_fn(int, double, int, double, int, double, int, double, int, double, int, double, int, double,
                     int, double, int, double, char, struct pair);

static void test_closures(void) {
  ffi_cif cif;
  void *code = NULL;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(cl != NULL && code != NULL);
  int bias = 100;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) ==
        FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &cif, add_handler, &bias, code) == FFI_OK);
  CHECK(cl->cif == &cif && cl->user_data == &bias && cl->fun == add_handler);
  int (*f)(int, int) = (int (*)(int, int))code;
  CHECK(f(1, 2) == 103);
  bias = 0;
  CHECK(f(-5, 2) == -3);
  /* a closure's code also goes through ffi_call */
  int a = 20, b = 22;
  ffi_arg r = 0;
  ffi_call(&cif, FFI_FN(code), &r, (void *[]){&a, &b});
  CHECK((int)r == 42);
  ffi_closure_free(cl);

  ffi_cif cc;
  cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(ffi_prep_cif(&cc, FFI_DEFAULT_ABI, 1, &ffi_type_schar, (ffi_type *[]){&ffi_type_schar}) == FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &cc, char_handler, NULL, code) == FFI_OK);
  CHECK(((signed char (*)(signed char))code)(7) == -7);
  ffi_closure_free(cl);

  ffi_cif qc;
  cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(ffi_prep_cif(&qc, FFI_DEFAULT_ABI, 2, &quad_type, (ffi_type *[]){&quad_type, &ffi_type_double}) == FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &qc, quad_handler, NULL, code) == FFI_OK);
  struct quad q = {2, 4, 6, 8};
  struct quad qr = ((struct quad(*)(struct quad, double))code)(q, 0.5);
  CHECK(qr.w == 1 && qr.x == 2 && qr.y == 3 && qr.z == 4);
  ffi_closure_free(cl);

  ffi_cif fc;
  cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(ffi_prep_cif(&fc, FFI_DEFAULT_ABI, 1, &ffi_type_float, (ffi_type *[]){&ffi_type_float}) == FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &fc, float_handler, NULL, code) == FFI_OK);
  CHECK(((float (*)(float))code)(1.5f) == 6.0f);
  ffi_closure_free(cl);

  ffi_cif mc;
  ffi_type *mt[20];
  for (int i = 0; i < 9; ++i) { mt[2 * i] = &ffi_type_sint; mt[2 * i + 1] = &ffi_type_double; }
  mt[18] = &ffi_type_schar; mt[19] = &pair_type;
  cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(ffi_prep_cif(&mc, FFI_DEFAULT_ABI, 20, &ffi_type_slong, mt) == FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &mc, many_handler, NULL, code) == FFI_OK);
  struct pair sp = {4, 5};
  CHECK(((many_fn *)code)(1, 0.5, 2, 0.5, 3, 0.5, 4, 0.5, 5, 0.5, 6, 0.5, 7, 0.5, 8, 0.5, 9, 1, 3, sp) ==
        many(1, 0.5, 2, 0.5, 3, 0.5, 4, 0.5, 5, 0.5, 6, 0.5, 7, 0.5, 8, 0.5, 9, 1, 3, sp));
  ffi_closure_free(cl);

  /* a closure in memory the program mapped itself (cffi does this), prepared the old way */
  ffi_closure *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (own != MAP_FAILED) {
    int zero = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    CHECK(ffi_prep_closure(own, &cif, add_handler, &zero) == FFI_OK);
#pragma GCC diagnostic pop
    CHECK(((int (*)(int, int))(void *)own)(30, 12) == 42);
    munmap(own, 4096);
  }
}

/* ---- the raw API ---- */
static long raw_target(int a, double b, void *p, short s) { return a + (long)b + (p == &calls) + s; }

static void raw_handler(ffi_cif *cif, void *ret, ffi_raw *raw, void *user) {
  (void)cif; (void)user;
  double b;
  memcpy(&b, &raw[1], sizeof b);
  *(ffi_sarg *)ret = raw[0].sint + (long)b + (raw[2].ptr == &calls) + (short)raw[3].sint;
}

static void test_raw(void) {
  ffi_cif cif;
  ffi_type *t[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_pointer, &ffi_type_sshort};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 4, &ffi_type_slong, t) == FFI_OK);
  CHECK(ffi_raw_size(&cif) == 4 * sizeof(ffi_raw));
  int a = -3;
  double b = 10;
  void *p = &calls;
  short s = 7;
  void *args[] = {&a, &b, &p, &s};
  ffi_raw raw[4];
  ffi_ptrarray_to_raw(&cif, args, raw);
  CHECK(raw[0].sint == -3 && raw[2].ptr == &calls && raw[3].sint == 7);
  void *back[4];
  ffi_raw_to_ptrarray(&cif, raw, back);
  CHECK(*(int *)back[0] == -3 && *(double *)back[1] == 10 && *(void **)back[2] == &calls && *(short *)back[3] == 7);
  ffi_arg r = 0;
  ffi_raw_call(&cif, FFI_FN(raw_target), &r, raw);
  CHECK((long)r == 15);

  void *code;
  ffi_raw_closure *rc = ffi_closure_alloc(sizeof(ffi_raw_closure), &code);
  CHECK(rc != NULL);
  CHECK(ffi_prep_raw_closure_loc(rc, &cif, raw_handler, NULL, code) == FFI_OK);
  CHECK(((long (*)(int, double, void *, short))code)(1, 2, &calls, 3) == 7);
  ffi_closure_free(rc);
}

/* ---- the Java raw API (deprecated in libffi's header) ---- */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/* Java's stack slots: one ffi_java_raw each, and two for a long or a double (only the first
   is used); a pointer takes one. */
static double java_target(int a, double b, void *p, long long l, float f) {
  return a + b + (p == &calls) + (double)l + f;
}

static void java_handler(ffi_cif *cif, void *ret, ffi_java_raw *raw, void *user) {
  (void)cif; (void)user;
  double b;
  long long l;
  memcpy(&b, &raw[1], sizeof b);
  memcpy(&l, &raw[4], sizeof l);
  *(double *)ret = raw[0].sint + b + (raw[3].ptr == &calls) + (double)l + raw[6].flt;
}

static void test_java_raw(void) {
  ffi_cif cif;
  ffi_type *t[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_pointer, &ffi_type_sint64, &ffi_type_float};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 5, &ffi_type_double, t) == FFI_OK);
  CHECK(ffi_java_raw_size(&cif) == 7 * sizeof(ffi_java_raw));
  int a = -3;
  double b = 10.5;
  void *p = &calls;
  long long l = 1000;
  float f = 0.25f;
  void *args[] = {&a, &b, &p, &l, &f};
  ffi_java_raw raw[7];
  memset(raw, 0, sizeof raw);
  ffi_java_ptrarray_to_raw(&cif, args, raw);
  double b_back;
  long long l_back;
  memcpy(&b_back, &raw[1], sizeof b_back);
  memcpy(&l_back, &raw[4], sizeof l_back);
  CHECK(raw[0].sint == -3 && b_back == 10.5 && raw[3].ptr == &calls && l_back == 1000 && raw[6].flt == 0.25f);
  void *back[5];
  ffi_java_raw_to_ptrarray(&cif, raw, back);
  CHECK(back[0] == &raw[0] && back[1] == &raw[1] && back[2] == &raw[3] && back[3] == &raw[4] && back[4] == &raw[6]);
  double r = 0;
  ffi_java_raw_call(&cif, FFI_FN(java_target), &r, raw);
  CHECK(r == -3 + 10.5 + 1 + 1000 + 0.25);

  void *code;
  ffi_java_raw_closure *jc = ffi_closure_alloc(sizeof(ffi_java_raw_closure), &code);
  CHECK(jc != NULL);
  CHECK(ffi_prep_java_raw_closure_loc(jc, &cif, java_handler, NULL, code) == FFI_OK);
  CHECK(((double (*)(int, double, void *, long long, float))code)(1, 2.5, &calls, 40, 0.5f) == 1 + 2.5 + 1 + 40 + 0.5);
  ffi_closure_free(jc);
}
#pragma GCC diagnostic pop

/* ---- threads and fork ---- */
static void *thread_main(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 200; ++i) {
    ffi_cif cif;
    ffi_type *t[] = {&ffi_type_sint, &ffi_type_sint};
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, t) != FFI_OK) return (void *)1;
    void *code;
    ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
    int bias = (int)id;
    if (!cl || ffi_prep_closure_loc(cl, &cif, add_handler, &bias, code) != FFI_OK) return (void *)1;
    int a = i, b = 1;
    ffi_arg r = 0;
    ffi_call(&cif, FFI_FN(code), &r, (void *[]){&a, &b});
    ffi_closure_free(cl);
    if ((int)r != i + 1 + (int)id) return (void *)1;
  }
  return NULL;
}

static void test_threads_and_fork(void) {
  pthread_t th[4];
  for (long i = 0; i < 4; ++i) pthread_create(&th[i], NULL, thread_main, (void *)i);
  for (int i = 0; i < 4; ++i) {
    void *res;
    pthread_join(th[i], &res);
    CHECK(res == NULL);
  }
  ffi_cif cif;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) ==
        FFI_OK);
  void *code;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  int bias = 1;
  CHECK(ffi_prep_closure_loc(cl, &cif, add_handler, &bias, code) == FFI_OK);
  pid_t pid = fork();
  if (pid == 0) {
    /* the child calls what the parent made, and makes its own */
    int ok = ((int (*)(int, int))code)(2, 3) == 6;
    void *code2;
    ffi_closure *c2 = ffi_closure_alloc(sizeof(ffi_closure), &code2);
    ok = ok && c2 && ffi_prep_closure_loc(c2, &cif, add_handler, &bias, code2) == FFI_OK &&
         ((int (*)(int, int))code2)(4, 5) == 10;
    _exit(ok ? 0 : 1);
  }
  int status = -1;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(((int (*)(int, int))code)(2, 3) == 6);
  ffi_closure_free(cl);
}

/* ---- every narrow integer result, both ways ---- */
static signed char ret_s8(void) { return -3; }
static unsigned char ret_u8(void) { return 0xF0; }
static short ret_s16(void) { return -300; }
static unsigned short ret_u16(void) { return 0xF00F; }
static int ret_s32(void) { return -70000; }
static unsigned int ret_u32(void) { return 0xF000000Fu; }
/* The same results with nine arguments, the last on the stack (SysV passes six integers in
   registers, AAPCS64 eight), and under Win64: stubs that call the target rather than jump to
   it must widen too. The result is the sum of the arguments, narrowed. */
#define NARROW_WIDE(name, T, attr)                                                                \
  static attr T name(long a, long b, long c, long d, long e, long f, long g, long h, long i) { \
    return (T)(a + b + c + d + e + f + g + h + i);                                            \
  }
#define NARROW_PLAIN(name, T, attr, v) static attr T name(void) { return (T)(v); }
#if defined(__x86_64__)
#define MS_ABI __attribute__((ms_abi))
#else
#define MS_ABI
#endif
#define NARROW_SET(suffix, T, v)          \
  NARROW_WIDE(stack_##suffix, T, )        \
  NARROW_PLAIN(win_##suffix, T, MS_ABI, v) \
  NARROW_WIDE(win_stack_##suffix, T, MS_ABI)
NARROW_SET(s8, signed char, -3)
NARROW_SET(u8, unsigned char, 0xF0)
NARROW_SET(s16, short, -300)
NARROW_SET(u16, unsigned short, 0xF00F)
NARROW_SET(s32, int, -70000)
NARROW_SET(u32, unsigned int, 0xF000000Fu)

struct narrow {
  ffi_type *type;
  void (*fn)(void), (*stack)(void), (*win)(void), (*win_stack)(void);
  ffi_sarg want;
};
#define NARROW(suffix, type, want) \
  {&type, FFI_FN(ret_##suffix), FFI_FN(stack_##suffix), FFI_FN(win_##suffix), FFI_FN(win_stack_##suffix), want}
static const struct narrow narrows[] = {
    NARROW(s8, ffi_type_sint8, -3),       NARROW(u8, ffi_type_uint8, 0xF0),
    NARROW(s16, ffi_type_sint16, -300),   NARROW(u16, ffi_type_uint16, 0xF00F),
    NARROW(s32, ffi_type_sint32, -70000), NARROW(u32, ffi_type_uint32, 0xF000000F),
};

/* A closure function writes a narrow result as a whole word (libffi's rule): the value is
   the `want` of the narrow kind in user_data. */
static void narrow_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif; (void)args;
  *(ffi_sarg *)ret = ((const struct narrow *)user)->want;
}

static void test_widening(void) {
  ffi_type *longs[9];
  long zero = 0, values[9];
  void *avalues[9];
  for (int k = 0; k < 9; ++k) longs[k] = &ffi_type_slong, avalues[k] = &values[k];
  for (size_t i = 0; i < sizeof narrows / sizeof narrows[0]; ++i) {
    const struct narrow *n = &narrows[i];
    for (int k = 0; k < 9; ++k) values[k] = k < 8 ? zero : (long)n->want;
    struct {
      ffi_abi abi;
      unsigned nargs;
      void (*fn)(void);
    } variants[] = {
      {FFI_DEFAULT_ABI, 0, n->fn}, {FFI_DEFAULT_ABI, 9, n->stack},
#if defined(__x86_64__)
      {FFI_GNUW64, 0, n->win}, {FFI_GNUW64, 9, n->win_stack},
#endif
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; ++v) {
      ffi_cif vcif;
      CHECK(ffi_prep_cif(&vcif, variants[v].abi, variants[v].nargs, n->type, longs) == FFI_OK);
      ffi_arg r = (ffi_arg)0xA5A5A5A5A5A5A5A5ull; /* every byte must be written */
      ffi_call(&vcif, variants[v].fn, &r, avalues);
      CHECK((ffi_sarg)r == n->want);
      ffi_call(&vcif, variants[v].fn, NULL, avalues); /* the result may be dropped */
    }
    ffi_cif cif;
    CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, n->type, NULL) == FFI_OK);

    void *code = NULL;
    ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
    CHECK(cl && ffi_prep_closure_loc(cl, &cif, narrow_handler, (void *)n, code) == FFI_OK);
    if (!cl) continue;
    switch (n->type->type) {
      case FFI_TYPE_SINT8: CHECK(((signed char (*)(void))code)() == -3); break;
      case FFI_TYPE_UINT8: CHECK(((unsigned char (*)(void))code)() == 0xF0); break;
      case FFI_TYPE_SINT16: CHECK(((short (*)(void))code)() == -300); break;
      case FFI_TYPE_UINT16: CHECK(((unsigned short (*)(void))code)() == 0xF00F); break;
      case FFI_TYPE_SINT32: CHECK(((int (*)(void))code)() == -70000); break;
      default: CHECK(((unsigned (*)(void))code)() == 0xF000000Fu); break;
    }
    ffi_closure_free(cl);
  }
}

/* ---- a struct whose given size is larger than its members make ---- */
/* CPython's ctypes describes an array member of a struct over 16 bytes as one pointer and
   gives the struct its real size; libffi passes it by that size. */
struct five_longs { long x[5]; };
static long sum_five(struct five_longs b, int k) { return (b.x[0] + b.x[1] + b.x[2] + b.x[3] + b.x[4]) * k; }
static struct five_longs shift_five(struct five_longs b) {
  for (int i = 0; i < 5; ++i) b.x[i] += 100;
  return b;
}

static void test_presized_struct(void) {
  ffi_type *el[] = {&ffi_type_pointer, NULL};
  ffi_type big = {sizeof(struct five_longs), 8, FFI_TYPE_STRUCT, el};
  ffi_cif cif;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_slong, (ffi_type *[]){&big, &ffi_type_sint}) == FFI_OK);
  struct five_longs b = {{1, 2, 3, 4, 5}};
  int k = 10;
  ffi_arg r = 0;
  ffi_call(&cif, FFI_FN(sum_five), &r, (void *[]){&b, &k});
  CHECK((long)r == 150);
  CHECK(big.size == sizeof(struct five_longs)); /* left as given */
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &big, (ffi_type *[]){&big}) == FFI_OK);
  struct five_longs out = {{0}};
  ffi_call(&cif, FFI_FN(shift_five), &out, (void *[]){&b});
  CHECK(out.x[0] == 101 && out.x[4] == 105);
}

/* ---- a struct ffi_type changed after it was prepared ---- */
struct two_doubles { double a, b; };
static double sum_two_doubles(struct two_doubles t) { return t.a + t.b; }
static int sum_pair(struct pair p) { return p.a + p.b; }

static void test_struct_type_changed(void) {
  /* The same ffi_type (same address), its elements changed in place and size reset: libffi
     lays it out again, and the call follows the new layout. */
  ffi_type *elems[] = {&ffi_type_sint, &ffi_type_sint, NULL};
  ffi_type t = {0, 0, FFI_TYPE_STRUCT, elems};
  ffi_cif cif;
  ffi_type *args[] = {&t};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, args) == FFI_OK);
  CHECK(t.size == 8 && t.alignment == 4);
  struct pair p = {2, 5};
  ffi_arg r = 0;
  ffi_call(&cif, FFI_FN(sum_pair), &r, (void *[]){&p});
  CHECK((int)r == 7);
  for (int round = 0; round < 3; ++round) {
    elems[0] = &ffi_type_double;
    elems[1] = &ffi_type_double;
    t.size = 0;
    t.alignment = 0;
    CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_double, args) == FFI_OK);
    CHECK(t.size == 16 && t.alignment == 8);
    struct two_doubles d = {1.5, 2.25};
    double dr = 0;
    ffi_call(&cif, FFI_FN(sum_two_doubles), &dr, (void *[]){&d});
    CHECK(dr == 3.75);
    /* and back, through a new elements array at the same ffi_type */
    ffi_type *ints[] = {&ffi_type_sint, &ffi_type_sint, NULL};
    t.elements = ints;
    t.size = 0;
    t.alignment = 0;
    CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, args) == FFI_OK);
    CHECK(t.size == 8);
    r = 0;
    ffi_call(&cif, FFI_FN(sum_pair), &r, (void *[]){&p});
    CHECK((int)r == 7);
    t.elements = elems;
  }
}

/* ---- Go closures ---- */
/* gccgo's convention: a closure's code is called with the closure in the static chain
   register (r10 on x86-64, x18 on AArch64), and the closure function gets the closure as its
   user_data. A Go closure object starts with its ffi_go_closure. */
struct go_closure {
  ffi_go_closure c;
  long bias;
};

static void go_handler(ffi_cif *cif, void *ret, void **args, void *closure) {
  (void)cif;
  *(ffi_sarg *)ret = *(int *)args[0] + ((struct go_closure *)closure)->bias;
}

/* long chain_plus_first(long a): a + the static chain, in assembly (C cannot read it). */
long tramp_test_chain_plus_first(long a);
#if defined(__x86_64__)
long __attribute__((ms_abi)) tramp_test_chain_plus_first_win64(long a);
__asm__(".text\n"
        ".globl tramp_test_chain_plus_first\n"
        "tramp_test_chain_plus_first:\n"
        "  lea (%r10,%rdi), %rax\n"
        "  ret\n"
        ".globl tramp_test_chain_plus_first_win64\n"
        "tramp_test_chain_plus_first_win64:\n"
        "  lea (%r10,%rcx), %rax\n"
        "  ret\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl tramp_test_chain_plus_first\n"
        ".p2align 2\n"
        "tramp_test_chain_plus_first:\n"
        "  add x0, x0, x18\n"
        "  ret\n");
#endif

static void test_go_closures(void) {
  struct {
    ffi_abi abi;
    void (*echo)(void);
  } abis[] = {
    {FFI_DEFAULT_ABI, FFI_FN(tramp_test_chain_plus_first)},
#if defined(__x86_64__)
    {FFI_GNUW64, FFI_FN(tramp_test_chain_plus_first_win64)},
#endif
  };
  for (size_t k = 0; k < sizeof abis / sizeof abis[0]; ++k) {
    ffi_cif cif;
    ffi_type *t[] = {&ffi_type_sint};
    CHECK(ffi_prep_cif(&cif, abis[k].abi, 1, &ffi_type_sint, t) == FFI_OK);
    struct go_closure g = {{0}, 1000};
    CHECK(ffi_prep_go_closure(&g.c, &cif, go_handler) == FFI_OK);
    CHECK(g.c.cif == &cif && g.c.fun == go_handler && g.c.tramp != NULL);
    int a = 5;
    void *args[] = {&a};
    ffi_arg r = 0;
    /* ffi_call_go into the closure: the chain reaches the closure function as user_data */
    ffi_call_go(&cif, FFI_FN(g.c.tramp), &r, args, &g);
    CHECK((int)r == 1005);
    /* called as gcc calls with a static chain */
    if (abis[k].abi == FFI_DEFAULT_ABI) {
      CHECK(__builtin_call_with_static_chain(((int (*)(int))g.c.tramp)(7), &g) == 1007);
    }
#if defined(__x86_64__)
    else {
      CHECK(__builtin_call_with_static_chain(((int(__attribute__((ms_abi)) *)(int))g.c.tramp)(7), &g) == 1007);
    }
#endif
    /* ffi_call_go into a function that reads the register */
    ffi_cif lcif;
    ffi_type *lt[] = {&ffi_type_slong};
    CHECK(ffi_prep_cif(&lcif, abis[k].abi, 1, &ffi_type_slong, lt) == FFI_OK);
    long la = 3;
    void *largs[] = {&la};
    ffi_arg lr = 0;
    ffi_call_go(&lcif, abis[k].echo, &lr, largs, (void *)0x4000);
    CHECK((long)lr == 0x4003);
  }
}

/* Complex types (LIBFFI_COMPLEX_8.0): as arguments and results, through ffi_call and closures.
   Under SysV a long double _Complex goes in memory and comes back in st(0) and st(1). */
static double _Complex c_mul(double _Complex a, double _Complex b) { return a * b; }
static float _Complex c_conj_scale(float _Complex a, float k) { return conjf(a) * k; }
static long double _Complex c_ld_add(long double _Complex a, int n, long double _Complex b) { return a + b * n; }

static void complex_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif;
  *(double _Complex *)ret = *(double _Complex *)args[0] * *(double _Complex *)args[1] + *(double *)user;
}

static void test_complex(void) {
  ffi_cif cif;
  double _Complex a = 1.0 + 2.0 * I, b = 3.0 - 1.0 * I, r = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_complex_double,
                     (ffi_type *[]){&ffi_type_complex_double, &ffi_type_complex_double}) == FFI_OK);
  ffi_call(&cif, FFI_FN(c_mul), &r, (void *[]){&a, &b});
  CHECK(creal(r) == 5.0 && cimag(r) == 5.0);

  float _Complex fa = 2.0f + 4.0f * I, fr = 0;
  float k = 0.5f;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_complex_float,
                     (ffi_type *[]){&ffi_type_complex_float, &ffi_type_float}) == FFI_OK);
  ffi_call(&cif, FFI_FN(c_conj_scale), &fr, (void *[]){&fa, &k});
  CHECK(crealf(fr) == 1.0f && cimagf(fr) == -2.0f);

  long double _Complex la = 1.5L + 0.25L * I, lb = -2.0L + 8.0L * I, lr = 0;
  int n = 3;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &ffi_type_complex_longdouble,
                     (ffi_type *[]){&ffi_type_complex_longdouble, &ffi_type_sint, &ffi_type_complex_longdouble}) ==
        FFI_OK);
  ffi_call(&cif, FFI_FN(c_ld_add), &lr, (void *[]){&la, &n, &lb});
  CHECK(creall(lr) == -4.5L && cimagl(lr) == 24.25L);

  void *code = NULL;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  double bias = 10.0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_complex_double,
                     (ffi_type *[]){&ffi_type_complex_double, &ffi_type_complex_double}) == FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &cif, complex_handler, &bias, code) == FFI_OK);
  r = ((double _Complex(*)(double _Complex, double _Complex))code)(a, b);
  CHECK(creal(r) == 15.0 && cimag(r) == 5.0);
  ffi_closure_free(cl);
}

int main(int argc, char **argv) {
  /* with an argument: the directory the libffi.so.8 in this process must come from */
  if (argc > 1 && !libffi_loaded_from(argv[1])) return 1;
  init_types();
  test_layout();
  test_errors();
  test_calls();
  test_complex();
  test_widening();
  test_struct_type_changed();
  test_presized_struct();
  test_closures();
  test_raw();
  test_java_raw();
  test_go_closures();
  test_threads_and_fork();
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
