/* The C API from a C99 program: every handle kind, calls, callbacks, errors. Exits 0 only if
 * every check held; each failed check prints its line. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "tramp/tramp.h"

/* An ABI of the other architecture: plans exist on this host, code does not run. */
#if defined(__x86_64__)
#define FOREIGN_ABI "aapcs64"
#elif defined(__aarch64__)
#define FOREIGN_ABI "sysv"
#else
#error "the C API test knows x86-64 and AArch64 hosts"
#endif

static int failures = 0;
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n",     \
              __FILE__, __LINE__, #cond, tramp_last_error());          \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

typedef struct {
  char c;
  double d;
  int i[3];
} Rec;
typedef struct {
  char c;
  Rec r;
} AlignOfRec; /* offsetof(AlignOfRec, r) is Rec's alignment (C99 has no _Alignof) */

static void compare_ints(void* ret, void* const* args, void* user) {
  int a = **(const int* const*)args[0];
  int b = **(const int* const*)args[1];
  ++*(int*)user;
  *(int*)ret = (a > b) - (a < b);
}

static int sum_pair(int a, int b) { return a + b; }

static int set_errno_to(int v) {
  errno = v;
  return -v;
}
static int read_errno(void) { return errno; }

/* Under an errno mode the handler's choice, not what its own calls left, is the caller's errno. */
static void errno_handler(void* ret, void* const* args, void* user) {
  (void)user;
  *(int*)ret = tramp_last_errno(); /* the caller's errno, saved by the thunk */
  errno = 999;
  tramp_set_last_errno(*(int*)args[0]);
}

/* Wraps `t` again and again, up to 100,000 times, with one of the builders; returns how deep
 * the deepest type it made is (stopping at the first refusal, whose status is in *status) and
 * leaves that type in *deepest. */
enum { kWrapStruct, kWrapUnion, kWrapArray, kWrapArrayInStruct };
static size_t wrap_deeply(int how, const tramp_type** deepest, tramp_status* status) {
  const tramp_type* t = tramp_type_scalar(TRAMP_I32);
  size_t depth = 0;
  *status = TRAMP_OK;
  while (depth < 100000) {
    const tramp_type* next = NULL;
    switch (how) {
      case kWrapStruct: *status = tramp_type_struct(&t, NULL, 1, 0, 0, &next); break;
      case kWrapUnion: *status = tramp_type_union(&t, NULL, 1, 0, 0, &next); break;
      case kWrapArray: *status = tramp_type_array(t, 1, &next); break;
      default: {
        const tramp_type* array = NULL;
        *status = tramp_type_array(t, 1, &array);
        if (*status == TRAMP_OK) {
          ++depth;
          t = array;
          *status = tramp_type_struct(&array, NULL, 1, 0, 0, &next);
        }
        break;
      }
    }
    if (*status != TRAMP_OK) break;
    ++depth;
    t = next;
  }
  *deepest = t;
  return depth;
}

/* Describing what the API makes: type kinds, members with names, arrays, signatures, parsed
 * declarations, variadic calls; every NULL and out-of-range index an argument error. */
/* _Float16, complex and vector types and bit-fields: made, described, parsed as values and
 * passed to libm. */
static void test_complex_vectors_bit_fields(tramp_library* libm) {
  const tramp_type *cd = NULL, *v = NULL, *elem = NULL, *r = NULL, *f16 = tramp_type_scalar(TRAMP_F16);
  tramp_type_kind kind;
  tramp_scalar scalar;
  size_t n = 0, width = 0, bit = 0;
  int unnamed = -1;
  char text[64];
  tramp_member members[4];

  CHECK(f16 != NULL && tramp_type_size(f16) == 2);
  CHECK(tramp_type_kind_of(f16, &kind) == TRAMP_OK && kind == TRAMP_KIND_F16);
  CHECK(tramp_type_scalar_kind(f16, &scalar) == TRAMP_OK && scalar == TRAMP_F16);

  CHECK(tramp_type_complex(tramp_type_scalar(TRAMP_F64), &cd) == TRAMP_OK);
  CHECK(tramp_type_kind_of(cd, &kind) == TRAMP_OK && kind == TRAMP_KIND_COMPLEX);
  CHECK(tramp_type_element(cd, &elem, &n) == TRAMP_OK && elem == tramp_type_scalar(TRAMP_F64) && n == 2);
  CHECK(tramp_type_size(cd) == 16 && tramp_type_align(cd) == 8);
  CHECK(tramp_type_complex(tramp_type_scalar(TRAMP_I32), &cd) == TRAMP_ERR_INVALID_TYPE);
  CHECK(strstr(tramp_last_error(), "a complex type's element must be a floating type") != NULL);

  CHECK(tramp_type_vector(tramp_type_scalar(TRAMP_F32), 8, 0, &v) == TRAMP_OK);
  CHECK(tramp_type_size(v) == 32 && tramp_type_align(v) == 32);
  CHECK(tramp_type_format(v, text, sizeof text) == 5 && strcmp(text, "f32x8") == 0);
  CHECK(tramp_type_kind_of(v, &kind) == TRAMP_OK && kind == TRAMP_KIND_VECTOR);
  CHECK(tramp_type_vector(tramp_type_scalar(TRAMP_F32), 8, 16, &v) == TRAMP_OK && tramp_type_align(v) == 16);
  CHECK(tramp_type_vector(tramp_type_scalar(TRAMP_F32), 3, 0, &v) == TRAMP_ERR_INVALID_TYPE);
  CHECK(strstr(tramp_last_error(), "a power of two") != NULL);

  /* struct { char c; int x : 3; unsigned : 5; _Bool b : 1; } */
  memset(members, 0, sizeof members);
  members[0].type = tramp_type_scalar(TRAMP_I8);
  members[0].bit_width = TRAMP_NOT_BIT_FIELD;
  members[1].type = tramp_type_scalar(TRAMP_I32);
  members[1].name = "x";
  members[1].bit_width = 3;
  members[2].type = tramp_type_scalar(TRAMP_U32);
  members[2].bit_width = 5;
  members[2].unnamed = 1;
  members[3].type = tramp_type_scalar(TRAMP_BOOL);
  members[3].bit_width = 1;
  CHECK(tramp_type_record(0, members, 4, 0, 0, &r) == TRAMP_OK);
  CHECK(tramp_type_size(r) == 4 && tramp_type_align(r) == 4);
  CHECK(tramp_type_field_bits(r, 1, &width, &bit, &unnamed) == TRAMP_OK && width == 3 && bit == 0 && unnamed == 0);
  CHECK(tramp_type_field_offset(r, 1) == 1);
  CHECK(tramp_type_field_bits(r, 2, &width, &bit, &unnamed) == TRAMP_OK && width == 5 && bit == 3 && unnamed == 1);
  CHECK(tramp_type_field_bits(r, 3, &width, &bit, NULL) == TRAMP_OK && width == 1 && bit == 0);
  CHECK(tramp_type_field_offset(r, 3) == 2);
  CHECK(tramp_type_field_bits(r, 0, &width, NULL, NULL) == TRAMP_OK && width == TRAMP_NOT_BIT_FIELD);
  CHECK(tramp_type_field_bits(r, 4, NULL, NULL, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_type_format(r, text, sizeof text) > 0 && strcmp(text, "{i8, i32:3, unnamed u32:5, bool:1}") == 0);
  {
    unsigned char bytes[4] = {0};
    CHECK(tramp_value_parse(r, "{7, -3, true}", bytes, NULL) == TRAMP_OK);
    CHECK(bytes[0] == 7 && (bytes[1] & 7) == 5 && (bytes[2] & 1) == 1);
    CHECK(tramp_value_format(r, bytes, text, sizeof text, NULL) == TRAMP_OK && strcmp(text, "{7, -3, true}") == 0);
    CHECK(tramp_value_parse(r, "{7, 4, true}", bytes, NULL) == TRAMP_ERR_SYNTAX);
    CHECK(strstr(tramp_last_error(), "4 is out of range for i32:3 (-4 to 3)") != NULL);
  }
  members[1].bit_width = 33;
  CHECK(tramp_type_record(0, members, 2, 0, 0, &r) == TRAMP_ERR_INVALID_TYPE);
  CHECK(strstr(tramp_last_error(), "wider than its type i32") != NULL);
  members[1].bit_width = 1000;
  CHECK(tramp_type_record(0, members, 2, 0, 0, &r) == TRAMP_ERR_ARGUMENT);

  /* double cabs(double _Complex) through the invoker: a complex argument is its two parts */
  {
    tramp_signature* sig = NULL;
    tramp_invoke_fn call = NULL;
    void* fn = NULL;
    double z[2] = {0, 0}, result = 0;
    void* args[1];
    CHECK(tramp_type_complex(tramp_type_scalar(TRAMP_F64), &cd) == TRAMP_OK);
    CHECK(tramp_value_parse(cd, "{3, 4}", z, NULL) == TRAMP_OK && z[0] == 3 && z[1] == 4);
    args[0] = z;
    CHECK(tramp_library_symbol(libm, "cabs", &fn) == TRAMP_OK);
    CHECK(tramp_signature_parse("f64(complex f64)", &sig) == TRAMP_OK);
    CHECK(tramp_invoker(sig, &call) == TRAMP_OK);
    if (call) call(fn, &result, args);
    CHECK(result == 5.0);
    tramp_signature_free(sig);
  }
}

static void test_describe(void) {
  tramp_scope* scope = NULL;
  tramp_cfunction* f = NULL;
  tramp_signature* sig = NULL;
  tramp_signature* call = NULL;
  const tramp_type* t = NULL;
  const tramp_type* member = NULL;
  const char* name = NULL;
  size_t n = 0, offset = 0;
  int flag = -1;
  tramp_type_kind kind;
  tramp_scalar scalar;
  tramp_abi abi;

  /* kinds and scalar kinds */
  CHECK(tramp_type_kind_of(tramp_type_scalar(TRAMP_F64), &kind) == TRAMP_OK && kind == TRAMP_KIND_F64);
  CHECK(tramp_type_scalar_kind(tramp_type_scalar(TRAMP_U16), &scalar) == TRAMP_OK && scalar == TRAMP_U16);
  CHECK(tramp_type_scalar_kind(tramp_type_scalar(TRAMP_VOID), &scalar) == TRAMP_OK && scalar == TRAMP_VOID);
  CHECK(tramp_type_kind_of(NULL, &kind) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "tramp_type_kind_of") != NULL);
  CHECK(tramp_type_kind_of(tramp_type_scalar(TRAMP_I8), NULL) == TRAMP_ERR_ARGUMENT);

  /* a C declaration's record keeps its member names */
  CHECK(tramp_scope_new(TRAMP_ABI_HOST, &scope) == TRAMP_OK);
  CHECK(tramp_scope_parse(scope,
                          "struct point { double x, y; char tag[4]; union { int i; float f; }; };"
                          "char* label(struct point p, int n);"
                          "int logf_(const char* fmt, ...);") == TRAMP_OK);
  t = tramp_scope_type(scope, "struct point");
  CHECK(t != NULL);
  CHECK(tramp_type_kind_of(t, &kind) == TRAMP_OK && kind == TRAMP_KIND_STRUCT);
  CHECK(tramp_type_scalar_kind(t, &scalar) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "is not a scalar type") != NULL);
  CHECK(tramp_type_field_count(t) == 4);
  CHECK(tramp_type_field(t, 1, &member, &offset, &name) == TRAMP_OK);
  CHECK(member == tramp_type_scalar(TRAMP_F64) && offset == 8 && name && strcmp(name, "y") == 0);
  CHECK(tramp_type_field(t, 2, &member, &offset, &name) == TRAMP_OK);
  CHECK(offset == 16 && name && strcmp(name, "tag") == 0);
  CHECK(tramp_type_kind_of(member, &kind) == TRAMP_OK && kind == TRAMP_KIND_ARRAY);
  CHECK(tramp_type_element(member, &member, &n) == TRAMP_OK && n == 4);
  /* C's char: signed on x86-64, unsigned on AArch64 Linux */
  CHECK(tramp_type_kind_of(member, &kind) == TRAMP_OK && kind == (CHAR_MIN < 0 ? TRAMP_KIND_I8 : TRAMP_KIND_U8));
  CHECK(tramp_type_field(t, 3, &member, NULL, &name) == TRAMP_OK && name == NULL); /* anonymous */
  CHECK(tramp_type_kind_of(member, &kind) == TRAMP_OK && kind == TRAMP_KIND_UNION);
  CHECK(tramp_type_field(member, 1, NULL, NULL, &name) == TRAMP_OK && name && strcmp(name, "f") == 0);
  CHECK(tramp_type_field(t, 0, NULL, NULL, NULL) == TRAMP_OK); /* every out optional */
  name = "unchanged";
  CHECK(tramp_type_field(t, 4, NULL, NULL, &name) == TRAMP_ERR_ARGUMENT && strcmp(name, "unchanged") == 0);
  CHECK(strstr(tramp_last_error(), "tramp_type_field: index 4 out of range") != NULL);
  CHECK(strstr(tramp_last_error(), "4 member(s)") != NULL);
  CHECK(tramp_type_field(tramp_type_scalar(TRAMP_I32), 0, NULL, NULL, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_type_field(NULL, 0, NULL, NULL, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_type_element(t, NULL, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "is not an array") != NULL);
  CHECK(tramp_type_element(NULL, NULL, NULL) == TRAMP_ERR_ARGUMENT);

  /* names are part of identity; unnamed records (the syntax, tramp_type_struct) stay as they were */
  {
    const tramp_type* members[2];
    const char* xy[2] = {"x", "y"};
    const char* wh[2] = {"w", "h"};
    const char* none[2] = {NULL, ""};
    const tramp_type *a = NULL, *b = NULL, *c = NULL, *plain = NULL, *parsed = NULL;
    members[0] = members[1] = tramp_type_scalar(TRAMP_I32);
    CHECK(tramp_type_struct_named(members, NULL, xy, 2, 0, 0, &a) == TRAMP_OK);
    CHECK(tramp_type_struct_named(members, NULL, wh, 2, 0, 0, &b) == TRAMP_OK);
    CHECK(tramp_type_struct_named(members, NULL, none, 2, 0, 0, &c) == TRAMP_OK);
    CHECK(tramp_type_struct(members, NULL, 2, 0, 0, &plain) == TRAMP_OK);
    CHECK(tramp_type_parse("{i32, i32}", TRAMP_ABI_HOST, &parsed) == TRAMP_OK);
    CHECK(a != b && a != plain && c == plain && parsed == plain);
    CHECK(tramp_type_size(a) == tramp_type_size(b));
    CHECK(tramp_type_field(b, 1, NULL, NULL, &name) == TRAMP_OK && strcmp(name, "h") == 0);
    CHECK(tramp_type_field(plain, 1, NULL, NULL, &name) == TRAMP_OK && name == NULL);
    CHECK(tramp_type_union_named(members, NULL, xy, 2, 0, 0, &a) == TRAMP_OK);
    CHECK(tramp_type_kind_of(a, &kind) == TRAMP_OK && kind == TRAMP_KIND_UNION);
    CHECK(tramp_type_struct_named(NULL, NULL, xy, 2, 0, 0, &a) == TRAMP_ERR_ARGUMENT);
  }

  /* a parsed function: name, signature, C string, and its parts */
  CHECK(tramp_scope_function_count(scope, &n) == TRAMP_OK && n == 2);
  CHECK(tramp_scope_function_at(scope, 0, &f) == TRAMP_OK);
  CHECK(tramp_cfunction_name(f, &name) == TRAMP_OK && strcmp(name, "label") == 0);
  CHECK(tramp_cfunction_returns_c_string(f, &flag) == TRAMP_OK && flag == 1);
  CHECK(tramp_cfunction_signature(f, &sig) == TRAMP_OK);
  CHECK(tramp_signature_return(sig, &t) == TRAMP_OK && t == tramp_type_scalar(TRAMP_POINTER));
  CHECK(tramp_signature_arg_count(sig, &n) == TRAMP_OK && n == 2);
  CHECK(tramp_signature_arg(sig, 0, &t) == TRAMP_OK && t == tramp_scope_type(scope, "struct point"));
  CHECK(tramp_signature_arg(sig, 1, &t) == TRAMP_OK && t == tramp_type_scalar(TRAMP_I32));
  CHECK(tramp_signature_arg(sig, 2, &t) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "tramp_signature_arg: index 2 out of range") != NULL);
  CHECK(tramp_signature_fixed_count(sig, &n) == TRAMP_OK && n == 2);
  CHECK(tramp_signature_is_variadic(sig, &flag) == TRAMP_OK && flag == 0);
  CHECK(tramp_signature_abi(sig, &abi) == TRAMP_OK && abi != TRAMP_ABI_HOST);
  CHECK(tramp_signature_with_variadic(sig, NULL, 0, &call) == TRAMP_ERR_INVALID_TYPE);
  CHECK(strstr(tramp_last_error(), "is not variadic") != NULL);
  tramp_signature_free(sig);
  tramp_cfunction_free(f);
  f = NULL;
  CHECK(tramp_scope_function_at(scope, 2, &f) == TRAMP_ERR_ARGUMENT && f == NULL);
  CHECK(strstr(tramp_last_error(), "has 2 function(s)") != NULL);
  CHECK(tramp_scope_cfunction(scope, "nothing", &f) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "no function 'nothing'") != NULL);

  /* a variadic declaration completed for one call */
  CHECK(tramp_scope_cfunction(scope, "logf_", &f) == TRAMP_OK);
  CHECK(tramp_cfunction_returns_c_string(f, &flag) == TRAMP_OK && flag == 0);
  CHECK(tramp_cfunction_signature(f, &sig) == TRAMP_OK);
  CHECK(tramp_signature_is_variadic(sig, &flag) == TRAMP_OK && flag == 1);
  CHECK(tramp_signature_fixed_count(sig, &n) == TRAMP_OK && n == 1);
  {
    const tramp_type* extra[3];
    char text[64];
    extra[0] = tramp_type_scalar(TRAMP_F64);
    extra[1] = tramp_type_scalar(TRAMP_I32);
    extra[2] = tramp_type_scalar(TRAMP_POINTER);
    CHECK(tramp_signature_with_variadic(sig, extra, 3, &call) == TRAMP_OK);
    CHECK(tramp_signature_format(call, text, sizeof text) > 0 && strcmp(text, "i32(ptr, ...f64, i32, ptr)") == 0);
    CHECK(tramp_signature_arg_count(call, &n) == TRAMP_OK && n == 4);
    CHECK(tramp_signature_fixed_count(call, &n) == TRAMP_OK && n == 1);
    tramp_signature_free(call);
    call = NULL;
    extra[1] = tramp_type_scalar(TRAMP_F32);
    CHECK(tramp_signature_with_variadic(sig, extra, 2, &call) == TRAMP_ERR_UNSUPPORTED && call == NULL);
    CHECK(strstr(tramp_last_error(), "argument 2 (f32)") != NULL);
    CHECK(strstr(tramp_last_error(), "pass f64") != NULL);
    extra[1] = tramp_type_scalar(TRAMP_U16);
    CHECK(tramp_signature_with_variadic(sig, extra, 2, &call) == TRAMP_ERR_UNSUPPORTED);
    CHECK(strstr(tramp_last_error(), "argument 2 (u16)") != NULL && strstr(tramp_last_error(), "pass i32") != NULL);
    extra[1] = tramp_type_scalar(TRAMP_BOOL);
    CHECK(tramp_signature_with_variadic(sig, extra, 2, &call) == TRAMP_ERR_UNSUPPORTED);
    extra[1] = NULL;
    CHECK(tramp_signature_with_variadic(sig, extra, 2, &call) == TRAMP_ERR_INVALID_TYPE);
    CHECK(strstr(tramp_last_error(), "argument 2: null type") != NULL);
    CHECK(tramp_signature_with_variadic(sig, NULL, 1, &call) == TRAMP_ERR_ARGUMENT);
    CHECK(tramp_signature_with_variadic(NULL, extra, 0, &call) == TRAMP_ERR_ARGUMENT);
    CHECK(tramp_signature_with_variadic(sig, extra, 0, NULL) == TRAMP_ERR_ARGUMENT);
  }
  tramp_signature_free(sig);
  tramp_cfunction_free(f);

  /* a single prototype, and NULLs everywhere */
  CHECK(tramp_cfunction_parse("const char* strerror(int);", TRAMP_ABI_HOST, &f) == TRAMP_OK);
  CHECK(tramp_cfunction_name(f, &name) == TRAMP_OK && strcmp(name, "strerror") == 0);
  CHECK(tramp_cfunction_returns_c_string(f, &flag) == TRAMP_OK && flag == 1);
  tramp_cfunction_free(f);
  CHECK(tramp_cfunction_parse("double hypot(double, double", TRAMP_ABI_HOST, &f) == TRAMP_ERR_SYNTAX);
  CHECK(strstr(tramp_last_error(), "line 1, column 28") != NULL);
  CHECK(tramp_cfunction_parse(NULL, TRAMP_ABI_HOST, &f) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_cfunction_parse("int f(void);", (tramp_abi)99, &f) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_cfunction_name(NULL, &name) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_cfunction_signature(NULL, &sig) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_cfunction_returns_c_string(NULL, &flag) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_function_count(NULL, &n) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_function_at(NULL, 0, &f) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_cfunction(scope, NULL, &f) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_signature_abi(NULL, &abi) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_signature_return(NULL, &t) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_signature_arg_count(NULL, &n) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_signature_arg(NULL, 0, &t) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_signature_fixed_count(NULL, &n) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_signature_is_variadic(NULL, &flag) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "tramp_signature_is_variadic") != NULL);
  tramp_cfunction_free(NULL);
  tramp_scope_free(scope);
}

/* Values as text: literals to C bytes and back, promoted types, C or signature syntax. */
static void test_values(void) {
  tramp_strings* strings = NULL;
  const tramp_type* t = NULL;
  char text[128];
  size_t length = 0;
  int flag = -1;

  CHECK(tramp_strings_new(&strings) == TRAMP_OK);
  {
    struct {
      signed char c;
      double d;
      unsigned short u[3];
    } v;
    memset(&v, 0, sizeof v);
    CHECK(tramp_type_parse("{i8, f64, u16[3]}", TRAMP_ABI_HOST, &t) == TRAMP_OK);
    CHECK(tramp_value_parse(t, "{-3, 2.5, [1, 0x10, 65535]}", &v, NULL) == TRAMP_OK);
    CHECK(v.c == -3 && v.d == 2.5 && v.u[0] == 1 && v.u[1] == 16 && v.u[2] == 65535);
    CHECK(tramp_value_format(t, &v, text, sizeof text, &length) == TRAMP_OK);
    CHECK(strcmp(text, "{-3, 2.5, [1, 16, 65535]}") == 0 && length == strlen(text));
    CHECK(tramp_value_format(t, &v, NULL, 0, &length) == TRAMP_OK && length == strlen(text));
    CHECK(tramp_value_format(t, &v, text, 4, NULL) == TRAMP_OK && strcmp(text, "{-3") == 0);
    /* range: refused, nothing written */
    CHECK(tramp_value_parse(t, "{-3, 2.5, [1, 2, 65536]}", &v, NULL) == TRAMP_ERR_SYNTAX);
    CHECK(strstr(tramp_last_error(), "65536 is out of range for u16 (0 to 65535)") != NULL);
    CHECK(v.u[1] == 16);
    CHECK(tramp_value_parse(t, "{1, 2}", &v, NULL) == TRAMP_ERR_SYNTAX);
    CHECK(strstr(tramp_last_error(), "expected ','") != NULL && tramp_last_error_position() == 5);
  }
  {
    const char* p = NULL;
    const tramp_type* ptr = tramp_type_scalar(TRAMP_POINTER);
    CHECK(tramp_value_parse(ptr, "\"a\\tb\"", &p, strings) == TRAMP_OK);
    CHECK(p != NULL && strcmp(p, "a\tb") == 0);
    p = NULL;
    CHECK(tramp_value_parse(ptr, "\"x\"", &p, NULL) == TRAMP_ERR_ARGUMENT && p == NULL);
    CHECK(strstr(tramp_last_error(), "strings is NULL") != NULL);
    CHECK(tramp_value_parse(ptr, "null", &p, NULL) == TRAMP_OK && p == NULL);
  }
  {
    float f = 0;
    CHECK(tramp_value_parse(tramp_type_scalar(TRAMP_F32), "1e39", &f, NULL) == TRAMP_ERR_SYNTAX);
    CHECK(strstr(tramp_last_error(), "1e39 is out of range for f32") != NULL);
    CHECK(tramp_value_parse(tramp_type_scalar(TRAMP_F32), "0.1", &f, NULL) == TRAMP_OK);
    CHECK(tramp_value_format(tramp_type_scalar(TRAMP_F32), &f, text, sizeof text, NULL) == TRAMP_OK);
    CHECK(strcmp(text, "0.100000001") == 0);
  }
  CHECK(tramp_value_promoted_type("2.5", &t) == TRAMP_OK && t == tramp_type_scalar(TRAMP_F64));
  CHECK(tramp_value_promoted_type("7", &t) == TRAMP_OK && t == tramp_type_scalar(TRAMP_I32));
  CHECK(tramp_value_promoted_type("\"s\"", &t) == TRAMP_OK && t == tramp_type_scalar(TRAMP_POINTER));
  CHECK(tramp_value_promoted_type("{1}", &t) == TRAMP_ERR_SYNTAX);
  CHECK(tramp_text_is_c_declaration("double hypot(double, double)", &flag) == TRAMP_OK && flag == 1);
  CHECK(tramp_text_is_c_declaration("f64(f64, f64)", &flag) == TRAMP_OK && flag == 0);

  /* NULLs */
  CHECK(tramp_strings_new(NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_parse(NULL, "1", text, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_parse(tramp_type_scalar(TRAMP_I32), NULL, text, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_parse(tramp_type_scalar(TRAMP_I32), "1", NULL, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_parse(tramp_type_scalar(TRAMP_VOID), "1", text, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_format(NULL, text, text, sizeof text, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_format(tramp_type_scalar(TRAMP_I32), NULL, text, sizeof text, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_format(tramp_type_scalar(TRAMP_I32), text, NULL, 8, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_promoted_type(NULL, &t) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_value_promoted_type("1", NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_text_is_c_declaration(NULL, &flag) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_text_is_c_declaration("f64()", NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "tramp_text_is_c_declaration") != NULL);
  tramp_strings_free(strings);
  tramp_strings_free(NULL);
}

/* Functions from C declarations: library + declaration -> target + cached stub. */
static void test_function(void) {
  tramp_library* libm = NULL;
  tramp_library* libc = NULL;
  tramp_function* hyp = NULL;
  tramp_function* again = NULL;
  tramp_function* len = NULL;
  tramp_function* missing = (tramp_function*)&failures; /* must stay untouched */
  tramp_cfunction* decl = NULL;
  tramp_signature* sig = NULL;
  tramp_scope* scope = NULL;
  tramp_invoke_fn call = NULL, call2 = NULL;
  void* target = NULL;
  void* target2 = NULL;
  const char* name = NULL;
  char text[64];
  int c_string = -1;
  double a = 3, b = 4, r = 0;
  void* args[2];
  args[0] = &a;
  args[1] = &b;

  CHECK(tramp_library_open("libm.so.6", &libm) == TRAMP_OK);
  CHECK(tramp_library_open(NULL, &libc) == TRAMP_OK);
  CHECK(tramp_function_new(libm, "double hypot(double x, double y);", &hyp) == TRAMP_OK);
  CHECK(tramp_function_call(hyp, &r, args) == TRAMP_OK && r == 5.0);
  CHECK(tramp_function_name(hyp, &name) == TRAMP_OK && strcmp(name, "hypot") == 0);
  CHECK(tramp_function_signature(hyp, &sig) == TRAMP_OK);
  tramp_signature_format(sig, text, sizeof text);
  CHECK(strcmp(text, "f64(f64, f64)") == 0);
  CHECK(tramp_function_target(hyp, &target) == TRAMP_OK && target != NULL);
  CHECK(tramp_function_invoker(hyp, &call) == TRAMP_OK && call != NULL);
  r = 0;
  call(target, &r, args);
  CHECK(r == 5.0);
  /* the same declaration again: the same target and the same (cached) stub */
  CHECK(tramp_function_new(libm, "double hypot(double, double)", &again) == TRAMP_OK);
  CHECK(tramp_function_target(again, &target2) == TRAMP_OK && target2 == target);
  CHECK(tramp_function_invoker(again, &call2) == TRAMP_OK && call2 == call);
  {
    tramp_invoke_fn by_sig = NULL;
    CHECK(tramp_invoker(sig, &by_sig) == TRAMP_OK && by_sig == call);
  }
  tramp_signature_free(sig);

  /* strlen, with the parsed declaration read back */
  CHECK(tramp_function_new(libc, "size_t strlen(const char* s);", &len) == TRAMP_OK);
  {
    const char* s = "tramp";
    size_t n = 0;
    void* sargs[1];
    sargs[0] = &s;
    CHECK(tramp_function_call(len, &n, sargs) == TRAMP_OK && n == 5);
  }
  CHECK(tramp_function_cfunction(len, &decl) == TRAMP_OK);
  CHECK(tramp_cfunction_returns_c_string(decl, &c_string) == TRAMP_OK && c_string == 0);
  CHECK(tramp_cfunction_name(decl, &name) == TRAMP_OK && strcmp(name, "strlen") == 0);
  tramp_cfunction_free(decl);

  /* from a scope, with a typedef */
  CHECK(tramp_scope_new(TRAMP_ABI_HOST, &scope) == TRAMP_OK);
  CHECK(tramp_scope_parse(scope, "typedef double real; real hypot(real, real);") == TRAMP_OK);
  tramp_function_free(again);
  again = NULL;
  CHECK(tramp_function_from_scope(libm, scope, "hypot", &again) == TRAMP_OK);
  r = 0;
  CHECK(tramp_function_call(again, &r, args) == TRAMP_OK && r == 5.0);
  CHECK(tramp_function_invoker(again, &call2) == TRAMP_OK && call2 == call);
  CHECK(tramp_function_from_scope(libm, scope, "cbrt", &missing) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "cbrt") != NULL);

  /* errors: nothing is written to out */
  CHECK(tramp_function_new(libm, "int no_such_function_here(int);", &missing) == TRAMP_ERR_LIBRARY);
  CHECK(strstr(tramp_last_error(), "no_such_function_here") != NULL);
  CHECK(strstr(tramp_last_error(), "libm.so.6") != NULL);
  CHECK(tramp_function_new(libm, "double hypot(double, double", &missing) == TRAMP_ERR_SYNTAX);
  CHECK(tramp_function_new(NULL, "double hypot(double, double);", &missing) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "tramp_function_new") != NULL);
  CHECK(tramp_function_new(libm, NULL, &missing) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_function_new(libm, "double hypot(double, double);", NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_function_from_scope(libm, NULL, "hypot", &missing) == TRAMP_ERR_ARGUMENT);
  CHECK(missing == (tramp_function*)&failures);
  CHECK(tramp_function_call(NULL, &r, args) == TRAMP_ERR_ARGUMENT);
  CHECK(strstr(tramp_last_error(), "tramp_function_call") != NULL);
  CHECK(tramp_function_name(NULL, &name) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_function_target(hyp, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_function_invoker(NULL, &call) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_function_signature(NULL, &sig) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_function_cfunction(hyp, NULL) == TRAMP_ERR_ARGUMENT);

  /* the handle keeps its library loaded */
  test_complex_vectors_bit_fields(libm);
  tramp_library_close(libm);
  r = 0;
  CHECK(tramp_function_call(hyp, &r, args) == TRAMP_OK && r == 5.0);
  tramp_function_free(NULL);
  tramp_function_free(hyp);
  tramp_function_free(again);
  tramp_function_free(len);
  tramp_scope_free(scope);
  tramp_library_close(libc);
}

/* Lenient parsing, constants, callback signatures and (native builds) a header read through
 * the C preprocessor. */
static void test_headers(void) {
  tramp_scope* scope = NULL;
  tramp_constant c;
  tramp_signature* sig = NULL;
  tramp_cfunction* f = NULL;
  const char* message = NULL;
  const char* name = NULL;
  size_t n = 0, line = 0;
  char buf[128];
  CHECK(tramp_scope_new(TRAMP_ABI_HOST, &scope) == TRAMP_OK);
  CHECK(tramp_scope_parse_lenient(scope,
                                  "enum { A = 1 << 4, B = 'x' };\n"
                                  "struct b { _Decimal32 x; };\n"
                                  "typedef void (*handler)(void*, const char*);\n"
                                  "int run(int (*cb)(void*, int), handler h);") == TRAMP_OK);
  CHECK(tramp_scope_declaration_count(scope) == 4);
  CHECK(tramp_scope_skipped_count(scope) == 1);
  CHECK(tramp_scope_skipped_at(scope, 0, &message, &name, NULL, &line) == TRAMP_OK);
  CHECK(strstr(message, "line 2, column") == message && strcmp(name, "struct b") == 0 && line == 2);
  CHECK(tramp_scope_skipped_at(scope, 1, &message, NULL, NULL, NULL) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_constant(scope, "A", &c) == TRAMP_OK);
  CHECK(c.kind == TRAMP_CONSTANT_INTEGER && c.integer == 16 && c.type == tramp_type_scalar(TRAMP_I32));
  CHECK(strcmp(c.name, "A") == 0);
  CHECK(tramp_scope_constant(scope, "Z", &c) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_constant_count(scope, &n) == TRAMP_OK && n == 2);
  CHECK(tramp_scope_constant_at(scope, 1, &c) == TRAMP_OK && c.integer == 'x');
  CHECK(tramp_scope_constant_at(scope, 2, &c) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_function_type(scope, "handler", &sig) == TRAMP_OK);
  tramp_signature_format(sig, buf, sizeof buf);
  CHECK(strcmp(buf, "void(ptr, ptr)") == 0);
  tramp_signature_free(sig);
  CHECK(tramp_scope_function_type(scope, "A", &sig) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_scope_cfunction(scope, "run", &f) == TRAMP_OK);
  CHECK(tramp_cfunction_callback(f, 0, &sig) == TRAMP_OK);
  tramp_signature_format(sig, buf, sizeof buf);
  CHECK(strcmp(buf, "i32(ptr, i32)") == 0);
  tramp_signature_free(sig);
  CHECK(tramp_cfunction_callback(f, 1, &sig) == TRAMP_OK);
  tramp_signature_free(sig);
  CHECK(tramp_cfunction_callback(f, 2, &sig) == TRAMP_ERR_ARGUMENT);
  tramp_cfunction_free(f);
  CHECK(tramp_scope_parse(scope, "struct c { _Decimal128 y; };") == TRAMP_ERR_UNSUPPORTED);
  tramp_scope_free(scope);
#ifdef TRAMP_TEST_HEADER
  {
    const char* dirs[] = {TRAMP_TEST_HEADER_DIR};
    const char* defines[] = {"TEST_EXTRA=1"};
    const char* no_cc[] = {"tramp-no-such-preprocessor"};
    tramp_include_options options;
    memset(&options, 0, sizeof options);
    CHECK(tramp_scope_new(TRAMP_ABI_HOST, &scope) == TRAMP_OK);
    options.preprocessor = no_cc;
    options.preprocessor_count = 1;
    CHECK(tramp_scope_include(scope, "test_header.h", &options) == TRAMP_ERR_LIBRARY);
    CHECK(strstr(tramp_last_error(), "no C preprocessor: 'tramp-no-such-preprocessor' was not found") != NULL);
    CHECK(tramp_scope_include(scope, "test_header.h", NULL) == TRAMP_ERR_LIBRARY); /* not on the path */
    CHECK(strstr(tramp_last_error(), "test_header.h") != NULL);
    memset(&options, 0, sizeof options);
    options.include_dirs = dirs;
    options.include_dir_count = 1;
    options.defines = defines;
    options.define_count = 1;
    options.strict = 1;
    CHECK(tramp_scope_include(scope, "test_header.h", &options) == TRAMP_ERR_UNSUPPORTED); /* _Decimal64 */
    CHECK(strstr(tramp_last_error(), "test_header.h: '_Decimal64' types are not supported") != NULL);
    options.strict = 0;
    CHECK(tramp_scope_include(scope, "test_header.h", &options) == TRAMP_OK);
    CHECK(tramp_scope_skipped_count(scope) == 1);
    CHECK(tramp_scope_constant(scope, "TEST_ANSWER", &c) == TRAMP_OK && c.integer == 42);
    CHECK(tramp_scope_constant(scope, "TEST_GREEN", &c) == TRAMP_OK && c.integer == 42);
    CHECK(tramp_scope_constant(scope, "TEST_MASK", &c) == TRAMP_OK && c.integer == 0x80000000LL &&
          c.type == tramp_type_scalar(TRAMP_U32));
    CHECK(tramp_scope_constant(scope, "TEST_HALF", &c) == TRAMP_OK && c.kind == TRAMP_CONSTANT_FLOAT &&
          c.floating == 0.5L && c.type == tramp_type_scalar(TRAMP_F32));
    CHECK(tramp_scope_constant(scope, "TEST_NAME", &c) == TRAMP_OK && c.kind == TRAMP_CONSTANT_STRING &&
          strcmp(c.string, "tramp-test") == 0 && c.string_length == 10);
    CHECK(tramp_scope_constant(scope, "TEST_WRAPPED", &c) == TRAMP_OK && c.integer == 42);
    CHECK(tramp_scope_constant(scope, "TEST_NOT_A_CONSTANT", &c) == TRAMP_ERR_ARGUMENT);
    /* A define given to the preprocessor is the caller's, not one of the header's constants;
     * the header sees it. */
    CHECK(tramp_scope_constant(scope, "TEST_EXTRA", &c) == TRAMP_ERR_ARGUMENT);
    CHECK(tramp_scope_cfunction(scope, "test_extra", &f) == TRAMP_OK);
    tramp_cfunction_free(f);
    CHECK(tramp_scope_cfunction(scope, "test_each", &f) == TRAMP_OK);
    CHECK(tramp_cfunction_callback(f, 2, &sig) == TRAMP_OK);
    tramp_signature_format(sig, buf, sizeof buf);
    CHECK(strcmp(buf, "i32(ptr, i32)") == 0);
    tramp_signature_free(sig);
    tramp_cfunction_free(f);
    tramp_scope_free(scope);
  }
#endif
}

int main(void) {
  tramp_library* libm = NULL;
  tramp_library* libc = NULL;
  tramp_signature* sig = NULL;
  tramp_invoke_fn call = NULL;
  void* fn = NULL;

  /* hypot through an invoker and a bound stub */
  CHECK(tramp_library_open("libm.so.6", &libm) == TRAMP_OK);
  CHECK(tramp_library_symbol(libm, "hypot", &fn) == TRAMP_OK);
  CHECK(tramp_signature_parse("f64(f64, f64)", &sig) == TRAMP_OK);
  CHECK(tramp_invoker(sig, &call) == TRAMP_OK);
  {
    double a = 3, b = 4, r = 0;
    void* args[2];
    tramp_bound* bound = NULL;
    args[0] = &a;
    args[1] = &b;
    call(fn, &r, args);
    CHECK(r == 5.0);
    {
      void* entry = NULL;
      double (*direct)(const void*, void* const*);
      CHECK(tramp_invoker_direct(sig, &entry) == TRAMP_OK);
      memcpy(&direct, &entry, sizeof direct);
      CHECK(direct(fn, args) == 5.0);
    }
    {
      /* The widened stub stores a double as the invoke stub does. */
      tramp_invoke_fn widened = NULL;
      CHECK(tramp_invoker_widened(sig, &widened) == TRAMP_OK);
      r = 0;
      widened(fn, &r, args);
      CHECK(r == 5.0);
      CHECK(tramp_invoker_widened(NULL, &widened) == TRAMP_ERR_ARGUMENT);
    }
    CHECK(tramp_bind(sig, fn, &bound) == TRAMP_OK);
    r = 0;
    tramp_bound_entry(bound)(&r, args);
    CHECK(r == 5.0);
    tramp_bound_free(bound);
  }
  tramp_signature_free(sig);

  /* a struct return (div) and a variadic call (snprintf) from libc */
  CHECK(tramp_library_open("libc.so.6", &libc) == TRAMP_OK);
  CHECK(tramp_library_symbol(libc, "div", &fn) == TRAMP_OK);
  CHECK(tramp_signature_parse("{i32, i32}(i32, i32)", &sig) == TRAMP_OK);
  CHECK(tramp_invoker(sig, &call) == TRAMP_OK);
  {
    int n = 47, d = 5, r[2] = {0, 0};
    void* args[2];
    args[0] = &n;
    args[1] = &d;
    call(fn, r, args);
    CHECK(r[0] == 9 && r[1] == 2);
  }
  tramp_signature_free(sig);
  CHECK(tramp_library_symbol(libc, "snprintf", &fn) == TRAMP_OK);
  CHECK(tramp_signature_parse("i32(ptr, u64, ptr, ...f64, i32)", &sig) == TRAMP_OK);
  CHECK(tramp_invoker(sig, &call) == TRAMP_OK);
  {
    char buf[64];
    char* p = buf;
    unsigned long cap = sizeof buf;
    const char* fmt = "%.2f %d";
    double x = 2.5;
    int k = 7, r = 0;
    void* args[5];
    args[0] = &p;
    args[1] = &cap;
    args[2] = &fmt;
    args[3] = &x;
    args[4] = &k;
    call(fn, &r, args);
    CHECK(r == 6 && strcmp(buf, "2.50 7") == 0);
  }
  tramp_signature_free(sig);

  /* a callback through qsort */
  {
    tramp_callback* cb = NULL;
    int calls = 0, v[6] = {5, -2, 9, 0, 3, -7};
    void* qsort_fn = NULL;
    CHECK(tramp_signature_parse("i32(ptr, ptr)", &sig) == TRAMP_OK);
    CHECK(tramp_callback_new(sig, compare_ints, &calls, &cb) == TRAMP_OK);
    CHECK(tramp_library_symbol(libc, "qsort", &qsort_fn) == TRAMP_OK);
    {
      /* POSIX lets a data pointer hold a function's address; ISO C needs the copy. */
      int (*cmp)(const void*, const void*);
      void* code = tramp_callback_code(cb);
      memcpy(&cmp, &code, sizeof cmp);
      qsort(v, 6, sizeof v[0], cmp);
    }
    CHECK(v[0] == -7 && v[1] == -2 && v[2] == 0 && v[3] == 3 && v[4] == 5 && v[5] == 9);
    CHECK(calls > 0);
    tramp_callback_free(cb);
    tramp_signature_free(sig);
  }

  /* types built by hand agree with the C compiler's layout */
  {
    const tramp_type* members[3];
    const tramp_type* rec = NULL;
    const tramp_type* parsed = NULL;
    char text[64];
    CHECK(tramp_type_array(tramp_type_scalar(TRAMP_I32), 3, &members[2]) == TRAMP_OK);
    members[0] = tramp_type_scalar(TRAMP_I8);
    members[1] = tramp_type_scalar(TRAMP_F64);
    CHECK(tramp_type_struct(members, NULL, 3, 0, 0, &rec) == TRAMP_OK);
    CHECK(tramp_type_size(rec) == sizeof(Rec));
    CHECK(tramp_type_align(rec) == offsetof(AlignOfRec, r));
    CHECK(tramp_type_field_count(rec) == 3);
    CHECK(tramp_type_field_offset(rec, 1) == offsetof(Rec, d));
    CHECK(tramp_type_field_offset(rec, 2) == offsetof(Rec, i));
    CHECK(tramp_type_field_offset(rec, 3) == (size_t)-1);
    CHECK(tramp_type_format(rec, text, sizeof text) == strlen("{i8, f64, i32[3]}"));
    CHECK(strcmp(text, "{i8, f64, i32[3]}") == 0);
    CHECK(tramp_type_parse("{i8, f64, i32[3]}", TRAMP_ABI_HOST, &parsed) == TRAMP_OK);
    CHECK(parsed == rec); /* interned */
  }

  /* a signature from types, called with a C function of our own */
  {
    const tramp_type* args_t[2];
    int a = 20, b = 22, r = 0;
    void* args[2];
    char text[64];
    args_t[0] = args_t[1] = tramp_type_scalar(TRAMP_I32);
    CHECK(tramp_signature_new(TRAMP_ABI_HOST, tramp_type_scalar(TRAMP_I32), args_t, 2,
                              TRAMP_NOT_VARIADIC, &sig) == TRAMP_OK);
    CHECK(tramp_signature_format(sig, text, sizeof text) > 0 && strcmp(text, "i32(i32, i32)") == 0);
    CHECK(tramp_invoker(sig, &call) == TRAMP_OK);
    args[0] = &a;
    args[1] = &b;
    {
      int (*f)(int, int) = sum_pair;
      const void* target;
      memcpy(&target, &f, sizeof target);
      call(target, &r, args);
    }
    CHECK(r == 42);
    tramp_signature_free(sig);
  }

  /* C declarations: a scope, a function from it, called */
  {
    tramp_scope* scope = NULL;
    void* div_fn = NULL;
    int n = 47, d = 5, r[2] = {0, 0};
    void* args[2];
    CHECK(tramp_scope_new(TRAMP_ABI_HOST, &scope) == TRAMP_OK);
    CHECK(tramp_scope_parse(scope, "typedef struct { int quot, rem; } div_t;") == TRAMP_OK);
    CHECK(tramp_scope_parse(scope, "div_t div(int numer, int denom);") == TRAMP_OK);
    CHECK(tramp_scope_type(scope, "div_t") != NULL && tramp_type_size(tramp_scope_type(scope, "div_t")) == 8);
    CHECK(tramp_scope_type(scope, "nothing") == NULL);
    CHECK(tramp_scope_function(scope, "div", &sig) == TRAMP_OK);
    CHECK(tramp_invoker(sig, &call) == TRAMP_OK);
    CHECK(tramp_library_symbol(libc, "div", &div_fn) == TRAMP_OK);
    args[0] = &n;
    args[1] = &d;
    call(div_fn, r, args);
    CHECK(r[0] == 9 && r[1] == 2);
    tramp_signature_free(sig);
    CHECK(tramp_scope_parse(scope, "int f(void);\nstruct b { float a : 3; };") == TRAMP_ERR_INVALID_TYPE);
    CHECK(strstr(tramp_last_error(), "line 2, column 18") != NULL);
    CHECK(tramp_scope_function(scope, "f", &sig) == TRAMP_ERR_ARGUMENT); /* all or nothing */
    tramp_scope_free(scope);
  }

  /* plans for other ABIs, on any host */
  {
    char plan[1024];
    size_t length = 0;
    CHECK(tramp_signature_parse("win64:{i64, i64, i64}(f64, i32)", &sig) == TRAMP_OK);
    CHECK(tramp_plan_format(sig, plan, sizeof plan, &length) == TRAMP_OK);
    CHECK(length > 0 && strstr(plan, "sret address in rcx") != NULL);
    CHECK(strstr(plan, "arg 0 f64: xmm1") != NULL);
    tramp_signature_free(sig);
  }

  /* errors: status, message, position; nothing crashes on NULL */
  CHECK(tramp_signature_parse("f64(f64, f64", &sig) == TRAMP_ERR_SYNTAX);
  CHECK(tramp_last_error_position() == 12);
  CHECK(strstr(tramp_last_error(), "expected") != NULL);
  CHECK(tramp_signature_parse("i32(ptr, ...f32)", &sig) == TRAMP_OK);
  CHECK(tramp_invoker(sig, &call) == TRAMP_ERR_UNSUPPORTED);
  CHECK(strstr(tramp_last_error(), "pass f64") != NULL);
  tramp_signature_free(sig);
  CHECK(tramp_signature_parse("{i64, i64}(i64)", &sig) == TRAMP_OK);
  {
    void* entry = NULL;
    CHECK(tramp_invoker_direct(sig, &entry) == TRAMP_ERR_UNSUPPORTED);
    CHECK(entry == NULL);
  }
  tramp_signature_free(sig);
  CHECK(tramp_signature_parse(FOREIGN_ABI ":i32(i32)", &sig) == TRAMP_OK);
  CHECK(tramp_invoker(sig, &call) == TRAMP_ERR_HOST_ABI);
  CHECK(strstr(tramp_last_error(), FOREIGN_ABI) != NULL);
  tramp_signature_free(sig);
  {
    tramp_library* none = NULL;
    CHECK(tramp_library_open("libdoes-not-exist.so.9", &none) == TRAMP_ERR_LIBRARY);
    CHECK(strstr(tramp_last_error(), "libdoes-not-exist.so.9") != NULL);
    CHECK(none == NULL);
  }
  CHECK(tramp_library_symbol(libm, "no_such_function_here", &fn) == TRAMP_ERR_LIBRARY);
  CHECK(strstr(tramp_last_error(), "no_such_function_here") != NULL);
  CHECK(tramp_signature_parse(NULL, &sig) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_invoker(NULL, &call) == TRAMP_ERR_ARGUMENT);
  CHECK(tramp_type_scalar((tramp_scalar)99) == NULL);
  {
    const tramp_type* bad = NULL;
    const tramp_type* m[1];
    m[0] = tramp_type_scalar(TRAMP_VOID);
    CHECK(tramp_type_struct(m, NULL, 1, 0, 0, &bad) == TRAMP_ERR_INVALID_TYPE);
    CHECK(tramp_type_array(tramp_type_scalar(TRAMP_I32), 0, &bad) == TRAMP_ERR_INVALID_TYPE);
  }
  tramp_signature_free(NULL);
  tramp_bound_free(NULL);
  tramp_callback_free(NULL);
  tramp_library_close(NULL);

  /* errno: captured by the stub right after the call, per thread */
  {
    tramp_signature* es = NULL;
    tramp_signature* plain = NULL;
    tramp_callback* cb = NULL;
    tramp_bound* bound = NULL;
    void* strtol_fn = NULL;
    void* entry = NULL;
    const char* big = "99999999999999999999999";
    void* end = NULL;
    int base = 10, v = 42, r = 0, err = 0;
    long lr = 0;
    void* sargs[3];
    void* args[1];
    char text[64];
    sargs[0] = (void*)&big;
    sargs[1] = &end;
    sargs[2] = &base;
    const void* set_fn = NULL;
    const void* read_fn = NULL;
    {
      int (*f)(int) = set_errno_to;
      int (*g)(void) = read_errno;
      memcpy(&set_fn, &f, sizeof set_fn); /* C99 has no function-to-object pointer cast */
      memcpy(&read_fn, &g, sizeof read_fn);
    }
    args[0] = &v;
    CHECK(tramp_signature_parse("i64(ptr, ptr, i32) errno", &es) == TRAMP_OK);
    CHECK(tramp_signature_errno(es) == TRAMP_ERRNO_CAPTURE);
    CHECK(tramp_library_symbol(libc, "strtol", &strtol_fn) == TRAMP_OK);
    CHECK(tramp_invoker(es, &call) == TRAMP_OK);
    tramp_set_last_errno(0);
    errno = 0;
    call(strtol_fn, &lr, sargs);
    CHECK(lr == LONG_MAX && tramp_last_errno() == ERANGE);
    tramp_signature_free(es);

    /* set from C: the same signature as the text form, through every stub */
    {
      const tramp_type* i32 = tramp_type_scalar(TRAMP_I32);
      CHECK(tramp_signature_new(TRAMP_ABI_HOST, i32, &i32, 1, TRAMP_NOT_VARIADIC, &es) == TRAMP_OK);
    }
    CHECK(tramp_signature_parse("i32(i32)", &plain) == TRAMP_OK);
    CHECK(tramp_signature_errno(es) == TRAMP_ERRNO_NONE);
    CHECK(tramp_signature_set_errno(es, TRAMP_ERRNO_CAPTURE) == TRAMP_OK);
    CHECK(tramp_signature_set_errno(es, (tramp_errno_mode)9) == TRAMP_ERR_ARGUMENT);
    CHECK(tramp_signature_set_errno(NULL, TRAMP_ERRNO_CAPTURE) == TRAMP_ERR_ARGUMENT);
    CHECK(tramp_signature_format(es, text, sizeof text) == strlen("i32(i32) errno"));
    CHECK(strcmp(text, "i32(i32) errno") == 0);
    /* a static chain: set, read back, in the text form, and off again */
    CHECK(tramp_signature_static_chain(es) == 0 && tramp_signature_static_chain(NULL) == 0);
    CHECK(tramp_signature_set_static_chain(NULL, 1) == TRAMP_ERR_ARGUMENT);
    CHECK(tramp_signature_set_static_chain(es, 1) == TRAMP_OK && tramp_signature_static_chain(es) == 1);
    CHECK(tramp_signature_format(es, text, sizeof text) == strlen("i32(i32) errno static_chain"));
    CHECK(strcmp(text, "i32(i32) errno static_chain") == 0);
    CHECK(tramp_signature_set_static_chain(es, 0) == TRAMP_OK && tramp_signature_static_chain(es) == 0);
    CHECK(tramp_invoker(es, &call) == TRAMP_OK);
    call(set_fn, &r, args);
    CHECK(r == -42 && tramp_last_errno() == 42);
    v = 43;
    CHECK(tramp_invoker_direct(es, &entry) == TRAMP_OK);
    {
      int (*direct)(const void*, void* const*);
      memcpy(&direct, &entry, sizeof direct);
      CHECK(direct(set_fn, args) == -43 && tramp_last_errno() == 43);
    }
    v = 44;
    CHECK(tramp_bind(es, set_fn, &bound) == TRAMP_OK);
    tramp_bound_entry(bound)(&r, args);
    CHECK(r == -44 && tramp_last_errno() == 44);
    tramp_bound_free(bound);
    /* without the mode the slot stays as it was */
    CHECK(tramp_invoker(plain, &call) == TRAMP_OK);
    v = 45;
    call(set_fn, &r, args);
    CHECK(r == -45 && tramp_last_errno() == 44);

    /* the set flag: errno = slot right before the call */
    tramp_signature_free(es);
    CHECK(tramp_signature_parse("i32() errno(set)", &es) == TRAMP_OK);
    CHECK(tramp_signature_errno(es) == TRAMP_ERRNO_SET_AND_CAPTURE);
    CHECK(tramp_invoker(es, &call) == TRAMP_OK);
    tramp_set_last_errno(46);
    errno = 0;
    call(read_fn, &r, NULL);
    CHECK(r == 46);
    tramp_signature_free(es);

    /* a callback: the handler sets the errno its native caller sees */
    CHECK(tramp_signature_parse("i32(i32) errno", &es) == TRAMP_OK);
    CHECK(tramp_callback_new(es, errno_handler, NULL, &cb) == TRAMP_OK);
    {
      int (*f)(int);
      void* code = tramp_callback_code(cb);
      memcpy(&f, &code, sizeof f);
      errno = 5;
      r = f(47);
      err = errno;
      CHECK(r == 5 && err == 47);
    }
    tramp_callback_free(cb);
    tramp_signature_free(es);
    tramp_signature_free(plain);
  }

  tramp_library_close(libc);
  tramp_library_close(libm);
  /* a member used twice per level doubles the expanded size: refused past
   * TRAMP_MAX_TYPE_NODES long before 64 levels (2^64 leaves), quickly, and the largest type
   * made formats and plans for every ABI */
  {
    const clock_t start = clock();
    const tramp_type* t = tramp_type_scalar(TRAMP_I32);
    const tramp_type* next = NULL;
    tramp_status status = TRAMP_OK;
    size_t levels = 0, length = 0;
    int abi;
    while (levels < TRAMP_MAX_TYPE_DEPTH) {
      const tramp_type* halves[2];
      halves[0] = halves[1] = t;
      status = tramp_type_union(halves, NULL, 2, 0, 0, &next);
      if (status != TRAMP_OK) break;
      ++levels;
      t = next;
    }
    CHECK(levels == 15); /* 2^16 - 1 nodes; the 16th level would have 2^17 - 1 */
    CHECK(status == TRAMP_ERR_INVALID_TYPE);
    CHECK(strstr(tramp_last_error(), "union expands to 131071 nodes") != NULL &&
          strstr(tramp_last_error(), "the limit is 65536") != NULL);
    CHECK(tramp_type_format(t, NULL, 0) > 65536);
    for (abi = TRAMP_ABI_SYSV_X64; abi <= TRAMP_ABI_APPLE_ARM64; ++abi) {
      CHECK(tramp_signature_new((tramp_abi)abi, t, &t, 1, TRAMP_NOT_VARIADIC, &sig) == TRAMP_OK);
      CHECK(tramp_plan_format(sig, NULL, 0, &length) == TRAMP_OK && length > 65536);
      tramp_signature_free(sig);
    }
    /* Not a speed check: the exponential walk this guards against never ends; 60 s turns such
       a hang into a failure even under sanitizers and qemu. */
    CHECK((double)(clock() - start) / CLOCKS_PER_SEC < 60.0);
  }

  /* one nesting limit for every builder: 64 levels are made, the 65th is refused with a
   * message naming the limit, and the deepest type formats and classifies */
  {
    int how;
    for (how = kWrapStruct; how <= kWrapArrayInStruct; ++how) {
      const tramp_type* deepest = NULL;
      tramp_status status;
      char text[16];
      size_t depth = wrap_deeply(how, &deepest, &status);
      CHECK(depth == TRAMP_MAX_TYPE_DEPTH);
      CHECK(status == TRAMP_ERR_INVALID_TYPE);
      CHECK(strstr(tramp_last_error(), "65 levels deep") != NULL &&
            strstr(tramp_last_error(), "limit is 64") != NULL);
      CHECK(tramp_type_format(deepest, text, sizeof text) > 64);
      if (tramp_type_size(deepest) > 0 && how != kWrapArray) {
        size_t length = 0;
        CHECK(tramp_signature_new(TRAMP_ABI_SYSV_X64, deepest, &deepest, 1, TRAMP_NOT_VARIADIC, &sig) ==
              TRAMP_OK);
        CHECK(tramp_plan_format(sig, NULL, 0, &length) == TRAMP_OK && length > 0);
        tramp_signature_free(sig);
      }
    }
  }

  /* counts no array of the caller's can hold are argument errors that name the parameter */
  {
    const size_t huge[2] = {(size_t)-1, (size_t)1 << 40};
    const tramp_type* members[2];
    const tramp_type* t = NULL;
    size_t k;
    members[0] = members[1] = tramp_type_scalar(TRAMP_I32);
    for (k = 0; k < 2; ++k) {
      CHECK(tramp_type_struct(members, NULL, huge[k], 0, 0, &t) == TRAMP_ERR_ARGUMENT);
      CHECK(strstr(tramp_last_error(), "tramp_type_struct: count") != NULL);
      CHECK(tramp_type_union(members, NULL, huge[k], 0, 0, &t) == TRAMP_ERR_ARGUMENT);
      CHECK(strstr(tramp_last_error(), "tramp_type_union: count") != NULL);
      CHECK(tramp_type_array(members[0], huge[k], &t) == TRAMP_ERR_ARGUMENT);
      CHECK(strstr(tramp_last_error(), "tramp_type_array: count") != NULL);
      CHECK(tramp_signature_new(TRAMP_ABI_HOST, members[0], members, huge[k], TRAMP_NOT_VARIADIC, &sig) ==
            TRAMP_ERR_ARGUMENT);
      CHECK(strstr(tramp_last_error(), "tramp_signature_new: count") != NULL);
    }
    CHECK(tramp_signature_new(TRAMP_ABI_HOST, members[0], members, 2, huge[1], &sig) == TRAMP_ERR_ARGUMENT);
    CHECK(strstr(tramp_last_error(), "tramp_signature_new: fixed") != NULL);
    CHECK(tramp_signature_new(TRAMP_ABI_HOST, members[0], members, 2, 2, &sig) == TRAMP_OK);
    tramp_signature_free(sig);
  }

  /* tramp_invoker_direct refuses in the C caller's words, not C++ template parameters */
  {
    void* entry = NULL;
    CHECK(tramp_signature_parse("{i64, i64, i64}(i32)", &sig) == TRAMP_OK);
    CHECK(tramp_invoker_direct(sig, &entry) == TRAMP_ERR_UNSUPPORTED);
    CHECK(strstr(tramp_last_error(), "tramp_invoker_direct: the return type {i64, i64, i64}") != NULL);
    CHECK(strstr(tramp_last_error(), "<R>") == NULL && strstr(tramp_last_error(), " R ") == NULL);
    tramp_signature_free(sig);
  }

  /* perf output: the map gets a line for code made while it is on */
  {
    char path[64], line[256];
    FILE* map = NULL;
    int named = 0;
    tramp_invoke_fn f = NULL;
    snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
    remove(path);
    CHECK(tramp_set_perf_output((tramp_perf_output)7) == TRAMP_ERR_ARGUMENT);
    CHECK(strstr(tramp_last_error(), "tramp_set_perf_output") != NULL);
    CHECK(tramp_set_perf_output(TRAMP_PERF_MAP) == TRAMP_OK);
    CHECK(tramp_signature_parse("u16(u16, i8)", &sig) == TRAMP_OK);
    CHECK(tramp_invoker(sig, &f) == TRAMP_OK);
    CHECK(tramp_set_perf_output(TRAMP_PERF_NONE) == TRAMP_OK);
    map = fopen(path, "r");
    CHECK(map != NULL);
    while (map && fgets(line, sizeof line, map))
      if (strstr(line, " tramp.call ") && strstr(line, ":u16(u16, i8)\n")) named = 1;
    if (map) fclose(map);
    CHECK(named);
    remove(path);
    tramp_signature_free(sig);
  }

  test_describe();
  test_function();
  test_values();
  test_headers();
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("C API: all checks passed\n");
  return failures ? 1 : 0;
}
