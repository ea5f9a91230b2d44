/* tramp's C API: everything the C++ API offers, for C99 and for other languages' FFIs.
 *
 * Handles are opaque. Types are interned and live for the whole process (never freed);
 * signatures, bound calls, callbacks and libraries are owned by the caller and freed with
 * their *_free / *_close function (each accepts NULL). Functions that can fail return a
 * tramp_status; on failure tramp_last_error() describes what and where, for the calling
 * thread, until its next failing call. No function here lets a C++ exception escape.
 *
 *   tramp_signature* sig;
 *   tramp_library* m;
 *   void* hypot_fn;
 *   tramp_invoke_fn call;
 *   if (tramp_signature_parse("f64(f64, f64)", &sig) != TRAMP_OK ||
 *       tramp_library_open("libm.so.6", &m) != TRAMP_OK ||
 *       tramp_library_symbol(m, "hypot", &hypot_fn) != TRAMP_OK ||
 *       tramp_invoker(sig, &call) != TRAMP_OK)
 *     fprintf(stderr, "%s\n", tramp_last_error());
 *   double a = 3, b = 4, r;
 *   void* args[] = {&a, &b};
 *   call(hypot_fn, &r, args);   (r == 5)
 */
#ifndef TRAMP_TRAMP_H
#define TRAMP_TRAMP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tramp_status {
  TRAMP_OK = 0,
  TRAMP_ERR_SYNTAX = 1,        /* malformed signature or type text (see the error position) */
  TRAMP_ERR_INVALID_TYPE = 2,  /* a type that cannot exist */
  TRAMP_ERR_UNSUPPORTED = 3,   /* a valid type the ABI cannot pass or return */
  TRAMP_ERR_HOST_ABI = 4,      /* this host cannot run code for that ABI */
  TRAMP_ERR_LIBRARY = 5,       /* dlopen/dlsym failed */
  TRAMP_ERR_JIT = 6,           /* executable memory could not be obtained */
  TRAMP_ERR_ARGUMENT = 7,      /* a NULL or out-of-range argument to this API */
  TRAMP_ERR_INTERNAL = 8       /* anything else (out of memory) */
} tramp_status;

typedef enum tramp_abi {
  TRAMP_ABI_HOST = 0, /* the host's own convention */
  TRAMP_ABI_SYSV_X64 = 1,
  TRAMP_ABI_WIN64 = 2,
  TRAMP_ABI_AAPCS64 = 3,
  TRAMP_ABI_APPLE_ARM64 = 4
} tramp_abi;

typedef enum tramp_scalar {
  TRAMP_VOID, TRAMP_BOOL,
  TRAMP_I8, TRAMP_U8, TRAMP_I16, TRAMP_U16, TRAMP_I32, TRAMP_U32, TRAMP_I64, TRAMP_U64,
  TRAMP_I128, TRAMP_U128,
  TRAMP_F32, TRAMP_F64, TRAMP_F80, TRAMP_F128,
  TRAMP_POINTER,
  TRAMP_F16 /* _Float16 (added later, so the values above keep their numbers) */
} tramp_scalar;

typedef struct tramp_type tramp_type;
typedef struct tramp_signature tramp_signature;
typedef struct tramp_bound tramp_bound;
typedef struct tramp_callback tramp_callback;
typedef struct tramp_library tramp_library;
typedef struct tramp_scope tramp_scope;

/* The uniform shapes: a call stub, a bound stub (target baked in), a callback handler. */
typedef void (*tramp_invoke_fn)(const void* fn, void* ret, void* const* args);
typedef void (*tramp_bound_fn)(void* ret, void* const* args);
typedef void (*tramp_handler)(void* ret, void* const* args, void* user);

/* The calling thread's last failure: a message naming what and where, and for text input the
 * byte offset of the problem ((size_t)-1 when there is none). "" before any failure. */
const char* tramp_last_error(void);
size_t tramp_last_error_position(void);

/* ---- types (interned; never freed) ---- */
/* Records and arrays nest at most this deep (a scalar is depth 0, a record or array 1 + its
 * deepest part), however the type is made; a deeper one is TRAMP_ERR_INVALID_TYPE. */
#define TRAMP_MAX_TYPE_DEPTH 64
/* And expand to at most this many nodes: a scalar is 1, a record 1 + the sum over its members
 * (a member type used twice counts twice), an array 1 + its element's count. The same member
 * used again at every level doubles the count; a larger type is TRAMP_ERR_INVALID_TYPE. */
#define TRAMP_MAX_TYPE_NODES 65536
const tramp_type* tramp_type_scalar(tramp_scalar kind); /* NULL for an unknown kind */
/* A type in the signature syntax ("{i32, f64[2]}", "packed {u8, i32}"); `abi` decides what
 * "longdouble" means. */
tramp_status tramp_type_parse(const char* text, tramp_abi abi, const tramp_type** out);
/* Records: `aligns` may be NULL (natural member alignment) or give an explicit alignment per
 * member (0 = natural); `align` is the record's own explicit alignment (0 = natural). A
 * `count` (of members, or an array's length) above 2^31 is TRAMP_ERR_ARGUMENT. */
tramp_status tramp_type_struct(const tramp_type* const* members, const size_t* aligns, size_t count,
                               int packed, size_t align, const tramp_type** out);
tramp_status tramp_type_union(const tramp_type* const* members, const size_t* aligns, size_t count,
                              int packed, size_t align, const tramp_type** out);
tramp_status tramp_type_array(const tramp_type* element, size_t count, const tramp_type** out);
/* `_Complex T` of a floating `element` (f16, f32, f64, f80, f128): TRAMP_ERR_INVALID_TYPE for
 * any other. */
tramp_status tramp_type_complex(const tramp_type* element, const tramp_type** out);
/* `T __attribute__((vector_size(count * sizeof(T))))` of an `element` i8 ... u64, f16, f32 or
 * f64, `count` a power of two; `align` 0 is the natural alignment (the vector's size, as gcc
 * has it on x86-64), any other power of two replaces it (gcc on AArch64 aligns vectors to at
 * most 16). The text form is "f32x4", "f32x8 align(16)". TRAMP_ERR_INVALID_TYPE names what
 * is wrong. */
tramp_status tramp_type_vector(const tramp_type* element, size_t count, size_t align, const tramp_type** out);
/* A member of a record for tramp_type_record: its type, an explicit alignment (0 = natural),
 * a name (NULL or "" for none) and, for a bit-field, its width in bits; `unnamed` makes a
 * bit-field padding (C's `int : 3`; a zero-width one always is). */
#define TRAMP_NOT_BIT_FIELD ((size_t)-1)
typedef struct tramp_member {
  const tramp_type* type;
  size_t align;
  const char* name;
  size_t bit_width; /* TRAMP_NOT_BIT_FIELD for an ordinary member; a bit-field's type is an integer */
  int unnamed;
} tramp_member;
/* A struct (is_union 0) or union of `count` members, bit-fields among them, laid out as gcc
 * does (docs/signatures.md, "Layout"). */
tramp_status tramp_type_record(int is_union, const tramp_member* members, size_t count, int packed, size_t align,
                               const tramp_type** out);
size_t tramp_type_size(const tramp_type* t);
size_t tramp_type_align(const tramp_type* t);
size_t tramp_type_field_count(const tramp_type* t);          /* 0 unless a struct or union */
size_t tramp_type_field_offset(const tramp_type* t, size_t i); /* (size_t)-1 if out of range */
/* The type's text form into buf (NUL-terminated, truncated to cap); returns its full length. */
size_t tramp_type_format(const tramp_type* t, char* buf, size_t cap);

/* ---- signatures ---- */
#define TRAMP_NOT_VARIADIC ((size_t)-1)
/* "[abi:]ret(args)", e.g. "win64:i32(ptr, ...f64)"; without a prefix the host's ABI. */
tramp_status tramp_signature_parse(const char* text, tramp_signature** out);
/* `fixed` = number of arguments before `...` (at most `count`), or TRAMP_NOT_VARIADIC. A
 * `count` above 2^20 is TRAMP_ERR_ARGUMENT. */
tramp_status tramp_signature_new(tramp_abi abi, const tramp_type* ret, const tramp_type* const* args,
                                 size_t count, size_t fixed, tramp_signature** out);
void tramp_signature_free(tramp_signature* sig);
/* What a call through the signature's stubs does with errno (docs/c-api.md, "errno"); also
 * written as the suffix " errno" or " errno(set)" of the text form. */
typedef enum tramp_errno_mode {
  TRAMP_ERRNO_NONE = 0,            /* errno is not touched */
  TRAMP_ERRNO_CAPTURE = 1,         /* right after the call, errno is saved: tramp_last_errno() */
  TRAMP_ERRNO_SET_AND_CAPTURE = 2  /* also, right before the call, errno = tramp_last_errno() */
} tramp_errno_mode;
tramp_status tramp_signature_set_errno(tramp_signature* sig, tramp_errno_mode mode);
tramp_errno_mode tramp_signature_errno(const tramp_signature* sig); /* NONE for NULL */
/* Whether a call passes a static chain (C++ Signature::static_chain): r10 on x86-64, x18
 * under AAPCS64, its value one more argument after the others (args[nargs] points at a
 * void*) in calls and in callback handlers; also written as the suffix " static_chain" of the
 * text form. A signature for apple-arm64 with one is refused when it is classified. */
tramp_status tramp_signature_set_static_chain(tramp_signature* sig, int on);
int tramp_signature_static_chain(const tramp_signature* sig); /* 0 for NULL */
size_t tramp_signature_format(const tramp_signature* sig, char* buf, size_t cap);
/* The CallPlan text: where every byte goes under the signature's ABI. Works for every ABI
 * that has a classifier, on every host. */
tramp_status tramp_plan_format(const tramp_signature* sig, char* buf, size_t cap, size_t* length);

/* ---- C declarations (docs: include/tramp/cdecl.hpp) ---- */
/* A scope of C declarations; `abi` is the default for functions without ms_abi/sysv_abi. */
tramp_status tramp_scope_new(tramp_abi abi, tramp_scope** out);
/* Adds the declarations in `source` (all of them, or none when it fails: the error message
 * starts with "line L, column C:"). */
tramp_status tramp_scope_parse(tramp_scope* scope, const char* source);
/* The signature of the function declared as `name` (a new handle: free it). */
tramp_status tramp_scope_function(const tramp_scope* scope, const char* name, tramp_signature** out);
/* A typedef name or a tag ("struct point"); NULL when unknown or incomplete. */
const tramp_type* tramp_scope_type(const tramp_scope* scope, const char* name);
void tramp_scope_free(tramp_scope* scope);

/* ---- headers (docs: docs/c-declarations.md, "Headers") ----
 * How tramp_scope_include runs the C preprocessor; each string is one argument (no shell).
 * A zeroed struct (or NULL) is the default: `cc`, lenient, with constants. */
typedef struct tramp_include_options {
  const char* const* include_dirs; /* -I */
  size_t include_dir_count;
  const char* const* defines; /* -D: "NAME" or "NAME=VALUE" */
  size_t define_count;
  const char* const* preprocessor; /* the command and its first arguments; 0 of them: "cc" */
  size_t preprocessor_count;
  int strict;       /* nonzero: the first declaration not understood fails the call (and
                       nothing is added); zero: it is skipped and listed (tramp_scope_skipped) */
  int no_constants; /* nonzero: do not read the header's #define constants */
} tramp_include_options;
/* `#include <header>` (or "header" for an existing path with a '/'; a name in <> or "" as
 * it is) preprocessed by the system C preprocessor and parsed into the scope, with the
 * header's object-like #defines as constants. TRAMP_ERR_LIBRARY when the preprocessor cannot
 * be run or fails (its message included). */
tramp_status tramp_scope_include(tramp_scope* scope, const char* header, const tramp_include_options* options);
/* tramp_scope_parse that skips, and lists, the declarations it does not understand. */
tramp_status tramp_scope_parse_lenient(tramp_scope* scope, const char* source);
/* Top-level declarations read so far, skipped ones included; of those, the skipped ones. */
size_t tramp_scope_declaration_count(const tramp_scope* scope);
size_t tramp_scope_skipped_count(const tramp_scope* scope);
/* The i-th skipped declaration: its error message ("line L, column C of FILE: ..."), the
 * name it declares ("" when unknown), its file ("" without line markers) and line; each
 * out pointer may be NULL. The strings live as long as the scope is not changed. */
tramp_status tramp_scope_skipped_at(const tramp_scope* scope, size_t i, const char** message, const char** name,
                                    const char** file, size_t* line);

/* A named constant: an enumerator or a #define (C++ tramp::CConstant). */
typedef enum tramp_constant_kind {
  TRAMP_CONSTANT_INTEGER = 0, /* `integer`; `type` is i32, u32, i64, u64 or ptr */
  TRAMP_CONSTANT_FLOAT = 1,   /* `floating`; `type` is f32, f64 or the ABI's long double */
  TRAMP_CONSTANT_STRING = 2   /* `string`, `string_length` bytes (NUL-terminated too); `type` ptr */
} tramp_constant_kind;
typedef struct tramp_constant {
  const char* name;
  tramp_constant_kind kind;
  const tramp_type* type;
  long long integer; /* u64 and ptr values: read as unsigned long long */
  long double floating;
  const char* string;
  size_t string_length;
} tramp_constant;
/* The constant called `name` (TRAMP_ERR_ARGUMENT when there is none), or the i-th in the
 * order read. The strings live as long as the scope is not changed. */
tramp_status tramp_scope_constant(const tramp_scope* scope, const char* name, tramp_constant* out);
tramp_status tramp_scope_constant_count(const tramp_scope* scope, size_t* out);
tramp_status tramp_scope_constant_at(const tramp_scope* scope, size_t i, tramp_constant* out);
/* The signature of the function a typedef names or points to (`typedef void (*handler)(void*,
 * const char*);`), for tramp_callback_new (a new handle: free it); TRAMP_ERR_ARGUMENT when
 * the typedef is not one. */
tramp_status tramp_scope_function_type(const tramp_scope* scope, const char* typedef_name, tramp_signature** out);

/* ---- describing types, signatures and C declarations ----
 * What a type, a signature or a parsed declaration means, for a binding to convert values.
 * Each returns TRAMP_ERR_ARGUMENT, with a message, for a NULL handle or out pointer and for
 * an index out of range; nothing is written to the out pointers then. */
typedef enum tramp_type_kind { /* mirrors tramp::TypeKind */
  TRAMP_KIND_VOID, TRAMP_KIND_BOOL,
  TRAMP_KIND_I8, TRAMP_KIND_U8, TRAMP_KIND_I16, TRAMP_KIND_U16, TRAMP_KIND_I32, TRAMP_KIND_U32,
  TRAMP_KIND_I64, TRAMP_KIND_U64, TRAMP_KIND_I128, TRAMP_KIND_U128,
  TRAMP_KIND_F32, TRAMP_KIND_F64, TRAMP_KIND_F80, TRAMP_KIND_F128,
  TRAMP_KIND_POINTER,
  TRAMP_KIND_STRUCT, TRAMP_KIND_UNION, TRAMP_KIND_ARRAY,
  TRAMP_KIND_F16, TRAMP_KIND_COMPLEX, TRAMP_KIND_VECTOR
} tramp_type_kind;
typedef struct tramp_cfunction tramp_cfunction;

tramp_status tramp_type_kind_of(const tramp_type* t, tramp_type_kind* out);
/* The tramp_scalar of void or a scalar type (tramp_type_scalar(*out) == t); TRAMP_ERR_ARGUMENT
 * for a struct, union, array, complex or vector type. */
tramp_status tramp_type_scalar_kind(const tramp_type* t, tramp_scalar* out);
/* The i-th member (i < tramp_type_field_count(t)) of a struct or union: any of type, offset
 * and name may be NULL when not wanted. *name is the member's name, or NULL for an unnamed
 * member (types from the signature syntax, tramp_type_struct, C11 anonymous members); it
 * lives as long as the type (for ever). */
tramp_status tramp_type_field(const tramp_type* t, size_t i, const tramp_type** type, size_t* offset,
                              const char** name);
/* An array's, vector's or complex type's element type and how many (a complex type has 2: the
 * real part, then the imaginary); either out may be NULL; TRAMP_ERR_ARGUMENT for another kind. */
tramp_status tramp_type_element(const tramp_type* t, const tramp_type** element, size_t* count);
/* The i-th member's bit-field facts (any out may be NULL): its width (TRAMP_NOT_BIT_FIELD for
 * an ordinary member), its first bit within the byte at its offset (0 = least significant;
 * the value is the width's bits from there up, little-endian), and whether it is unnamed
 * padding. */
tramp_status tramp_type_field_bits(const tramp_type* t, size_t i, size_t* bit_width, size_t* bit_offset,
                                   int* unnamed);
/* tramp_type_struct / tramp_type_union with member names: `names` may be NULL (no names) or
 * give one per member, each NULL or "" for an unnamed member. Names are part of a record's
 * identity: {x, y} and {w, h} of the same types are two types (same layout). */
tramp_status tramp_type_struct_named(const tramp_type* const* members, const size_t* aligns,
                                     const char* const* names, size_t count, int packed, size_t align,
                                     const tramp_type** out);
tramp_status tramp_type_union_named(const tramp_type* const* members, const size_t* aligns,
                                    const char* const* names, size_t count, int packed, size_t align,
                                    const tramp_type** out);

/* The signature's ABI (never TRAMP_ABI_HOST: the convention it resolved to). */
tramp_status tramp_signature_abi(const tramp_signature* sig, tramp_abi* out);
tramp_status tramp_signature_return(const tramp_signature* sig, const tramp_type** out);
tramp_status tramp_signature_arg_count(const tramp_signature* sig, size_t* out);
tramp_status tramp_signature_arg(const tramp_signature* sig, size_t i, const tramp_type** out);
/* Arguments before `...` (all of them when not variadic), and whether there is a `...`. */
tramp_status tramp_signature_fixed_count(const tramp_signature* sig, size_t* out);
tramp_status tramp_signature_is_variadic(const tramp_signature* sig, int* out);
/* One call of a variadic function: `declared`'s fixed arguments, then the `n` types that
 * call passes after `...`, replacing any variadic ones `declared` lists (a new handle: free
 * it). C's default argument promotions decide those: f32, bool and integers narrower than
 * int are TRAMP_ERR_UNSUPPORTED with a message naming the argument and what to pass ("pass
 * f64", "pass i32"); a NULL type in `extra`, void, an array, or a `declared` that is not
 * variadic are TRAMP_ERR_INVALID_TYPE. */
tramp_status tramp_signature_with_variadic(const tramp_signature* declared, const tramp_type* const* extra,
                                           size_t n, tramp_signature** out);

/* A parsed C function declaration (C++ tramp::CFunction): each handle is the caller's own
 * copy, freed with tramp_cfunction_free (NULL accepted). */
/* A single prototype ("double hypot(double, double)"); errors as for tramp_scope_parse. */
tramp_status tramp_cfunction_parse(const char* source, tramp_abi abi, tramp_cfunction** out);
/* The function declared as `name` in the scope (the latest), or the i-th in source order. */
tramp_status tramp_scope_cfunction(const tramp_scope* scope, const char* name, tramp_cfunction** out);
tramp_status tramp_scope_function_count(const tramp_scope* scope, size_t* out);
tramp_status tramp_scope_function_at(const tramp_scope* scope, size_t i, tramp_cfunction** out);
/* The declared name; it lives as long as the handle. */
tramp_status tramp_cfunction_name(const tramp_cfunction* f, const char** out);
/* The declared signature (a new handle: free it); for a variadic declaration the fixed
 * arguments only: complete it per call with tramp_signature_with_variadic. */
tramp_status tramp_cfunction_signature(const tramp_cfunction* f, tramp_signature** out);
/* 1 when the declared return type is a pointer to char (`char*`, `const char*`, `unsigned
 * char*`): a C string as far as the declaration says; 0 otherwise. */
tramp_status tramp_cfunction_returns_c_string(const tramp_cfunction* f, int* out);
/* Parameter i declared as a pointer to a function (`int (*cb)(void*, int)`, or through a
 * typedef of one): that function's signature, for tramp_callback_new (a new handle: free it).
 * TRAMP_ERR_ARGUMENT when it is not one or i is out of range. */
tramp_status tramp_cfunction_callback(const tramp_cfunction* f, size_t i, tramp_signature** out);
void tramp_cfunction_free(tramp_cfunction* f);

/* ---- C values as text (C++ include/tramp/values.hpp) ----
 * The `tramp call` literal syntax: integers (42, -7, 0x1f), bool (true, false, 0, 1),
 * floating (2.5, -1e-3, inf, nan), pointers ("text" with \n \t \r \0 \\ \" \xHH escapes,
 * 0x7f00..., null), records {1, 2.5, {3, 4}} (a union: its first member; a bit-field is a
 * member, an unnamed one is skipped), arrays [1, 2, 3], vectors [1, 2, 3, 4], complex values
 * {re, im}, _Float16 as floating values.
 * A literal outside its type's range is refused, never cut to size. */
typedef struct tramp_strings tramp_strings;
/* Holds the copies of string literals that parsed pointer values point to: keep it while the
 * values are used; tramp_strings_free (NULL accepted) frees every copy. */
tramp_status tramp_strings_new(tramp_strings** out);
void tramp_strings_free(tramp_strings* strings);
/* Writes the value `text` spells for `t` at `dst` (tramp_type_size(t) bytes, C's
 * representation); nothing is written on failure. A string literal is copied into `strings`
 * (NULL: a string literal is TRAMP_ERR_ARGUMENT). A malformed or out-of-range literal is
 * TRAMP_ERR_SYNTAX: the message says what ("256 is out of range for u8 (0 to 255)") and
 * tramp_last_error_position() where. */
tramp_status tramp_value_parse(const tramp_type* t, const char* text, void* dst, tramp_strings* strings);
/* The value at `src` as a literal tramp_value_parse reads back, into buf (NUL-terminated,
 * truncated to cap; buf may be NULL with cap 0); *length (if not NULL) its full length. */
tramp_status tramp_value_format(const tramp_type* t, const void* src, char* buf, size_t cap, size_t* length);
/* The type a literal passed after `...` has under C's default argument promotions: ptr for a
 * string or null, f64 for a number with '.', 'e', inf or nan, i32 for an integer (i64 when it
 * does not fit); TRAMP_ERR_SYNTAX for an empty, record, array or other literal. */
tramp_status tramp_value_promoted_type(const char* literal, const tramp_type** out);
/* 1 when `text` reads as a C declaration ("double hypot(double, double)"), 0 when as the
 * signature syntax ("f64(f64, f64)"): the `tramp` tool's heuristic, for inputs that may be
 * either; the chosen parser has the last word. */
tramp_status tramp_text_is_c_declaration(const char* text, int* out);

/* ---- calls and callbacks (the process-wide engine) ---- */
/* The signature's call stub, cached; valid until the process ends. */
tramp_status tramp_invoker(const tramp_signature* sig, tramp_invoke_fn* out);
/* The register-return variant (C++ Invoker::direct): for a signature returning bool, an
 * integer up to 64 bits, a pointer, f32 or f64, a function `R f(const void* fn, void* const*
 * args)` that returns the value itself. `*out` is its address: convert it to that function
 * type with R matching the return type. TRAMP_ERR_UNSUPPORTED for other return types. */
tramp_status tramp_invoker_direct(const tramp_signature* sig, void** out);
/* The call stub for results kept in whole words (C++ Invoker::widened), as libffi keeps them
 * in an ffi_arg: an integer result narrower than 64 bits (bool, 8, 16 and 32-bit integers)
 * is stored through `ret` as 8 bytes, sign- or zero-extended as its type says, so `ret` must
 * point at 8 bytes or more; other results are stored as by tramp_invoker's stub. */
tramp_status tramp_invoker_widened(const tramp_signature* sig, tramp_invoke_fn* out);
/* A stub with `fn` baked in; call it through tramp_bound_entry(). */
tramp_status tramp_bind(const tramp_signature* sig, const void* fn, tramp_bound** out);
tramp_bound_fn tramp_bound_entry(const tramp_bound* bound);
void tramp_bound_free(tramp_bound* bound);
/* A native function with the signature that calls handler(ret, args, user). The thunk has
 * unwind information: a handler written in C++ may throw into a native caller that can unwind
 * (docs/debugging.md), and one may longjmp out of it if its caller allows that. */
tramp_status tramp_callback_new(const tramp_signature* sig, tramp_handler handler, void* user,
                                tramp_callback** out);
void* tramp_callback_code(const tramp_callback* cb);
void tramp_callback_free(tramp_callback* cb);

/* The calling thread's errno slot: what the last errno-capturing call on this thread found in
 * errno right after its callee returned, or what tramp_set_last_errno() put there (0 in a new
 * thread). A callback with an errno mode saves its caller's errno here on entry and hands the
 * slot back to its caller as errno when the handler returns. */
int tramp_last_errno(void);
void tramp_set_last_errno(int value);

/* ---- profilers (C++ tramp::set_perf_output, docs/debugging.md) ---- */
typedef enum tramp_perf_output {
  TRAMP_PERF_NONE = 0,    /* the default */
  TRAMP_PERF_MAP = 1,     /* a line "START SIZE name" in /tmp/perf-<pid>.map per piece of code */
  TRAMP_PERF_JITDUMP = 2  /* a record per piece of code in /tmp/jit-<pid>.dump (perf inject -j) */
} tramp_perf_output;
/* Switches what the process tells perf about tramp's code; the code that lives already is
 * written at once. TRAMP_PERF_MAP=1 or =jitdump in the environment does it at the first
 * engine. An unknown value is TRAMP_ERR_ARGUMENT, a file that cannot be made TRAMP_ERR_JIT. */
tramp_status tramp_set_perf_output(tramp_perf_output output);

/* ---- libraries ---- */
/* name NULL: the running program and what it has loaded. */
tramp_status tramp_library_open(const char* name, tramp_library** out);
tramp_status tramp_library_symbol(const tramp_library* lib, const char* name, void** out);
void tramp_library_close(tramp_library* lib);

/* ---- functions from C declarations (C++ tramp::Engine::function) ----
 * A library, a declaration and the process-wide engine's call stub in one handle: the target
 * is the declared name's address in `lib`, the stub the cached one for its signature (the same
 * declaration again gives the same target and the same stub; nothing new is emitted). The
 * handle keeps its library loaded (closing `lib` first is fine); free it with
 * tramp_function_free (NULL accepted). A NULL argument is TRAMP_ERR_ARGUMENT, a malformed
 * declaration TRAMP_ERR_SYNTAX, a missing symbol TRAMP_ERR_LIBRARY (the message names the
 * symbol and the library). */
typedef struct tramp_function tramp_function;
/* One prototype, e.g. "double hypot(double, double)", with the host's ABI. */
tramp_status tramp_function_new(const tramp_library* lib, const char* declaration, tramp_function** out);
/* The function declared as `name` in `scope` (declarations parsed earlier, with their
 * typedefs); TRAMP_ERR_ARGUMENT when the scope declares none. */
tramp_status tramp_function_from_scope(const tramp_library* lib, const tramp_scope* scope, const char* name,
                                       tramp_function** out);
/* Calls it: args[i] points at argument i, ret at storage for the return value (NULL for void). */
tramp_status tramp_function_call(const tramp_function* f, void* ret, void* const* args);
/* The declared name; it lives as long as the handle. */
tramp_status tramp_function_name(const tramp_function* f, const char** out);
/* The parsed declaration and its signature (new handles: free them). */
tramp_status tramp_function_cfunction(const tramp_function* f, tramp_cfunction** out);
tramp_status tramp_function_signature(const tramp_function* f, tramp_signature** out);
/* The target's address and the call stub: (*invoker)(target, ret, args) is the call. */
tramp_status tramp_function_target(const tramp_function* f, void** out);
tramp_status tramp_function_invoker(const tramp_function* f, tramp_invoke_fn* out);
void tramp_function_free(tramp_function* f);

#ifdef __cplusplus
}
#endif

#endif /* TRAMP_TRAMP_H */
