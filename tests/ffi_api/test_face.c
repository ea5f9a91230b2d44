/* What the libffi face does beyond (or unlike) libffi 3.4.4: the later additions (version
   functions, call plans, __int128), Microsoft x64 calls, avalue left alone, the refusals and
   their statuses, closures that are never writable and executable, the plan cache
   (docs/libffi.md). Built against the face's ffi.h, run on the face. */
#define _GNU_SOURCE
#include <ffi.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"


static int add2(int a, int b) { return a + b; }
__extension__ typedef __int128 i128;
static i128 mul128(i128 a, int b) { return a * b; }

struct triple { long x, y, z; };
static long sum_triple(struct triple t, int k) { return (t.x + t.y + t.z) * k; }

#if defined(__x86_64__)
static long __attribute__((ms_abi)) win_triple(struct triple t, int k) { return (t.x + t.y + t.z) * k; }
#endif

struct __attribute__((packed)) packed5 { char c; int i; };
static int read_packed(struct packed5 p) { return p.c + p.i; }
union num { int i; double d; };
static double read_union(union num u, int is_double) { return is_double ? u.d : u.i; }

static ffi_type *triple_elems[] = {&ffi_type_slong, &ffi_type_slong, &ffi_type_slong, NULL};
static ffi_type triple_type = {0, 0, FFI_TYPE_STRUCT, triple_elems};

static void test_versions(void) {
  CHECK(strcmp(ffi_get_version(), FFI_VERSION_STRING) == 0);
  CHECK(ffi_get_version_number() == FFI_VERSION_NUMBER);
  CHECK(ffi_get_default_abi() == FFI_DEFAULT_ABI);
  CHECK(ffi_get_closure_size() == sizeof(ffi_closure));
}

static void test_plans_and_int128(void) {
  ffi_cif cif;
  ffi_type *t[] = {&ffi_type_sint, &ffi_type_sint};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, t) == FFI_OK);
  ffi_call_plan *plan = ffi_call_plan_alloc(&cif);
  CHECK(plan != NULL);
  CHECK(ffi_call_plan_size(plan) > 0 && ffi_call_plan_size(NULL) == 0);
  int a = 30, b = 12;
  ffi_arg r = 0;
  ffi_call_plan_invoke(plan, FFI_FN(add2), &r, (void *[]){&a, &b});
  CHECK((int)r == 42);
  ffi_call_plan_free(plan);
  ffi_call_plan_free(NULL);

  /* the same signature again is the same plan; another is another */
  ffi_cif again, other;
  CHECK(ffi_prep_cif(&again, FFI_DEFAULT_ABI, 2, &ffi_type_sint, t) == FFI_OK);
  CHECK(again.flags == cif.flags);
  CHECK(ffi_prep_cif(&other, FFI_DEFAULT_ABI, 2, &ffi_type_slong, t) == FFI_OK);
  CHECK(other.flags != cif.flags);
  ffi_cif copy = cif; /* a copied cif works: it holds a number, not a pointer */
  r = 0;
  ffi_call(&copy, FFI_FN(add2), &r, (void *[]){&a, &b});
  CHECK((int)r == 42);

  i128 big = (i128)1 << 100, big_r = 0;
  int k = -3;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint128, (ffi_type *[]){&ffi_type_sint128, &ffi_type_sint}) ==
        FFI_OK);
  ffi_call(&cif, FFI_FN(mul128), &big_r, (void *[]){&big, &k});
  CHECK(big_r == -(((i128)3) << 100));
}

static void test_avalue_untouched(void) {
  /* a struct passed by reference (AAPCS64: over 16 bytes; Win64: not 1, 2, 4 or 8) */
  struct triple tr = {1, 2, 3};
  int k = 2;
  void *args[] = {&tr, &k};
  ffi_cif cif;
  long r = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_slong, (ffi_type *[]){&triple_type, &ffi_type_sint}) == FFI_OK);
  ffi_call(&cif, FFI_FN(sum_triple), &r, args);
  CHECK(r == 12 && args[0] == &tr && args[1] == &k && tr.x == 1 && tr.z == 3);
#if defined(__x86_64__)
  ffi_abi win[] = {FFI_WIN64, FFI_GNUW64};
  for (int w = 0; w < 2; ++w) {
    r = 0;
    CHECK(ffi_prep_cif(&cif, win[w], 2, &ffi_type_slong, (ffi_type *[]){&triple_type, &ffi_type_sint}) == FFI_OK);
    ffi_call(&cif, FFI_FN(win_triple), &r, args);
    CHECK(r == 12 && args[0] == &tr && args[1] == &k && tr.y == 2);

  }
#endif
}

static void test_declared_layouts(void) {
  /* ctypes sets size and alignment itself: a packed struct, a union given as its members */
  ffi_type *pe[] = {&ffi_type_schar, &ffi_type_sint, NULL};
  ffi_type packed = {sizeof(struct packed5), 1, FFI_TYPE_STRUCT, pe};
  struct packed5 p = {2, 40};
  ffi_cif cif;
  ffi_arg r = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, (ffi_type *[]){&packed}) == FFI_OK);
  ffi_call(&cif, FFI_FN(read_packed), &r, (void *[]){&p});
  CHECK((int)r == 42);

  ffi_type *ue[] = {&ffi_type_sint, &ffi_type_double, NULL};
  ffi_type un = {sizeof(union num), _Alignof(union num), FFI_TYPE_STRUCT, ue};
  union num u;
  u.d = 2.5;
  int is_double = 1;
  double d = 0;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_double, (ffi_type *[]){&un, &ffi_type_sint}) == FFI_OK);
  ffi_call(&cif, FFI_FN(read_union), &d, (void *[]){&u, &is_double});
  CHECK(d == 2.5);

  /* a declared layout the members cannot make */
  ffi_type wrong = {3, 2, FFI_TYPE_STRUCT, pe};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint, (ffi_type *[]){&wrong}) == FFI_BAD_TYPEDEF);
}

static void go_sum_handler(ffi_cif *cif, void *ret, void **args, void *closure);

static void test_refusals(void) {
  ffi_cif cif;
  /* a complex of integers (a GNU extension libffi takes) and one of the wrong size */
  ffi_type *ints[] = {&ffi_type_sint, NULL};
  ffi_type complex_int = {2 * sizeof(int), sizeof(int), FFI_TYPE_COMPLEX, ints};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&complex_int}) == FFI_BAD_TYPEDEF);
  ffi_type *doubles[] = {&ffi_type_double, NULL};
  ffi_type complex_short = {8, 8, FFI_TYPE_COMPLEX, doubles};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &complex_short, NULL) == FFI_BAD_TYPEDEF);
  ffi_type *ve[] = {&ffi_type_float, &ffi_type_float, &ffi_type_float, &ffi_type_float, NULL};
  ffi_type vec = {16, 16, FFI_TYPE_VECTOR, ve};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&vec}) == FFI_BAD_TYPEDEF);
  ffi_type odd = {3, 1, FFI_TYPE_SINT32, NULL}; /* a scalar of the wrong size */
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&odd}) == FFI_BAD_TYPEDEF);
  ffi_type bad_code = {4, 4, 99, NULL};
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&bad_code}) == FFI_BAD_TYPEDEF);
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&ffi_type_void}) == FFI_BAD_TYPEDEF);
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){NULL}) == FFI_BAD_TYPEDEF);
  CHECK(ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 3, 2, &ffi_type_void,
                         (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) == FFI_BAD_ARGTYPE);

  /* a struct that contains itself, and one nested 1000 deep: refused, promptly */
  ffi_type self = {0, 0, FFI_TYPE_STRUCT, NULL};
  ffi_type *self_elems[] = {&ffi_type_sint, &self, NULL};
  self.elements = self_elems;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&self}) == FFI_BAD_TYPEDEF);
  enum { kDeep = 1000 };
  static ffi_type deep[kDeep];
  static ffi_type *deep_elems[kDeep][2];
  for (int i = 0; i < kDeep; ++i) {
    deep_elems[i][0] = i + 1 < kDeep ? &deep[i + 1] : &ffi_type_sint;
    deep_elems[i][1] = NULL;
    deep[i].size = 0;
    deep[i].alignment = 0;
    deep[i].type = FFI_TYPE_STRUCT;
    deep[i].elements = deep_elems[i];
  }
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&deep[0]}) == FFI_BAD_TYPEDEF);
  size_t off[1];
  CHECK(ffi_get_struct_offsets(FFI_DEFAULT_ABI, &deep[0], off) == FFI_BAD_TYPEDEF);

  /* a Go closure needs a function and a prepared cif */
  ffi_go_closure go;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 0, &ffi_type_void, NULL) == FFI_OK);
  CHECK(ffi_prep_go_closure(&go, &cif, NULL) == FFI_BAD_TYPEDEF);
  ffi_cif unprepared;
  memset(&unprepared, 0, sizeof unprepared);
  CHECK(ffi_prep_go_closure(&go, &unprepared, go_sum_handler) == FFI_BAD_ABI);
}

/* Go closures of a cif share one thunk, and pass records and stack arguments both ways. */
struct go_sum {
  ffi_go_closure c;
  long bias;
};
static void go_sum_handler(ffi_cif *cif, void *ret, void **args, void *closure) {
  struct triple t = {((struct go_sum *)closure)->bias, 0, 0};
  for (unsigned i = 0; i < cif->nargs - 1; ++i) t.y += *(long *)args[i];
  t.z = ((struct triple *)args[cif->nargs - 1])->z;
  *(struct triple *)ret = t;
}

static void test_go_closures(void) {
  ffi_type *el[] = {&ffi_type_slong, &ffi_type_slong, &ffi_type_slong, NULL};
  ffi_type triple_type = {0, 0, FFI_TYPE_STRUCT, el};
  ffi_type *t[10];
  long v[9];
  void *args[10];
  struct triple in = {0, 0, 77};
  for (int i = 0; i < 9; ++i) t[i] = &ffi_type_slong, v[i] = i + 1, args[i] = &v[i];
  t[9] = &triple_type;
  args[9] = &in;
  ffi_cif cif;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 10, &triple_type, t) == FFI_OK);
  struct go_sum g1 = {{0}, 100}, g2 = {{0}, 200};
  CHECK(ffi_prep_go_closure(&g1.c, &cif, go_sum_handler) == FFI_OK);
  CHECK(ffi_prep_go_closure(&g2.c, &cif, go_sum_handler) == FFI_OK);
  CHECK(g1.c.tramp == g2.c.tramp);
  struct triple r = {0, 0, 0};
  ffi_call_go(&cif, FFI_FN(g2.c.tramp), &r, args, &g2);
  CHECK(r.x == 200 && r.y == 45 && r.z == 77);
  ffi_call_go(&cif, FFI_FN(g1.c.tramp), NULL, args, &g1); /* the result may be dropped */
}

/* The permissions of the mapping holding `p`, from /proc/self/maps ("r-xp" etc.). */
static int perms_of(const void *p, char out[5]) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return 0;
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (unsigned long)p >= lo && (unsigned long)p < hi) {
      memcpy(out, perms, 5);
      found = 1;
      break;
    }
  }
  fclose(f);
  return found;
}

static void add_handler(ffi_cif *cif, void *ret, void **args, void *user) {
  (void)cif;
  *(ffi_arg *)ret = (ffi_arg)(*(int *)args[0] + *(int *)args[1] + *(int *)user);
}

static void test_closure_memory(void) {
  void *code = NULL;
  ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
  CHECK(cl != NULL && code != NULL && (void *)cl != code);
  char perms[5] = "";
  CHECK(perms_of(code, perms) && perms[1] == '-' && perms[2] == 'x'); /* code: not writable */
  CHECK(perms_of(cl, perms) && perms[1] == 'w' && perms[2] == '-');   /* closure: not executable */

  /* called before ffi_prep_closure_loc: a report and abort(), not a jump to nowhere */
  pid_t pid = fork();
  if (pid == 0) {
    close(2);
    ((void (*)(void))code)();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

  /* user_data is read at each call, as libffi's trampolines pass the closure */
  ffi_cif cif;
  CHECK(ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) ==
        FFI_OK);
  int one = 1, two = 2;
  CHECK(ffi_prep_closure_loc(cl, &cif, add_handler, &one, code) == FFI_OK);
  CHECK(((int (*)(int, int))code)(1, 1) == 3);
  cl->user_data = &two;
  CHECK(((int (*)(int, int))code)(1, 1) == 4);
  /* prepared again: same code address, new signature */
  ffi_cif cif2;
  CHECK(ffi_prep_cif(&cif2, FFI_DEFAULT_ABI, 2, &ffi_type_slong, (ffi_type *[]){&ffi_type_sint, &ffi_type_sint}) ==
        FFI_OK);
  CHECK(ffi_prep_closure_loc(cl, &cif2, add_handler, &one, code) == FFI_OK);
  CHECK(((long (*)(int, int))code)(-5, 1) == -3);
  ffi_closure_free(cl);
  ffi_closure_free(NULL);

  /* closure churn: made, called and freed many times */
  int ok = 1;
  for (int i = 0; i < 20000 && ok; ++i) {
    void *c2;
    ffi_closure *x = ffi_closure_alloc(sizeof(ffi_closure), &c2);
    ok = x && ffi_prep_closure_loc(x, &cif, add_handler, &one, c2) == FFI_OK && ((int (*)(int, int))c2)(i, 0) == i + 1;
    ffi_closure_free(x);
  }
  CHECK(ok);
}

/* A struct that uses another twice, 60 levels deep (2^60 members when expanded): prep
   finishes at once, refusing it at tramp's node limit, and one 12 levels deep (4,096) is
   accepted. The face translates each distinct ffi_type once per prep. */
static void test_shared_members(void) {
  static ffi_type levels[60];
  static ffi_type *elems[60][3];
  for (int depth = 12; depth <= 60; depth += 48) {
    for (int i = 0; i < depth; ++i) {
      ffi_type *next = i + 1 < depth ? &levels[i + 1] : &ffi_type_sint8;
      elems[i][0] = next;
      elems[i][1] = next;
      elems[i][2] = NULL;
      levels[i] = (ffi_type){0, 0, FFI_TYPE_STRUCT, elems[i]};
    }
    ffi_cif cif;
    const ffi_status s = ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_void, (ffi_type *[]){&levels[0]});
    if (depth == 12) CHECK(s == FFI_OK && levels[0].size == 4096);
    else CHECK(s == FFI_BAD_TYPEDEF);
  }
}

int main(void) {
  test_versions();
  test_plans_and_int128();
  test_avalue_untouched();
  test_declared_layouts();
  test_refusals();
  test_go_closures();
  test_closure_memory();
  test_shared_members();
  if (failures) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
