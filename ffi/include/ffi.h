/* tramp's libffi face: libffi's C interface (up to libffi 3.8) over tramp's engine.
   Binary compatible with libffi 3.4.4's ffi.h on x86-64 and AArch64 Linux: the same type
   layouts, codes, enums and symbol versions, so a program built against either header runs
   with either libffi.so.8. What differs (faster, refused, with which status): docs/libffi.md. */
#ifndef LIBFFI_H
#define LIBFFI_H

#ifdef __cplusplus
extern "C" {
#endif

/* ffi_type.type */
#define FFI_TYPE_VOID 0
#define FFI_TYPE_INT 1
#define FFI_TYPE_FLOAT 2
#define FFI_TYPE_DOUBLE 3
#define FFI_TYPE_LONGDOUBLE 4
#define FFI_TYPE_UINT8 5
#define FFI_TYPE_SINT8 6
#define FFI_TYPE_UINT16 7
#define FFI_TYPE_SINT16 8
#define FFI_TYPE_UINT32 9
#define FFI_TYPE_SINT32 10
#define FFI_TYPE_UINT64 11
#define FFI_TYPE_SINT64 12
#define FFI_TYPE_STRUCT 13
#define FFI_TYPE_POINTER 14
#define FFI_TYPE_COMPLEX 15
#define FFI_TYPE_UINT128 16
#define FFI_TYPE_SINT128 17
#define FFI_TYPE_VECTOR 18
#define FFI_TYPE_LAST FFI_TYPE_VECTOR

#include <ffitarget.h>

#ifndef LIBFFI_ASM

#include <limits.h>
#include <stddef.h>

#define FFI_VERSION_STRING "3.8.0"
#define FFI_VERSION_NUMBER 30800

#define FFI_API
#define FFI_EXTERN extern FFI_API
#define FFI_64_BIT_MAX 9223372036854775807
#define FFI_LONG_LONG_MAX LLONG_MAX
#define FFI_SIZEOF_ARG 8
#define FFI_SIZEOF_JAVA_RAW FFI_SIZEOF_ARG

/* A C type: size and alignment (ffi_prep_cif computes them for structs), a FFI_TYPE_ code,
   and for FFI_TYPE_STRUCT (and FFI_TYPE_COMPLEX) the NULL-terminated member types. */
typedef struct _ffi_type {
  size_t size;
  unsigned short alignment;
  unsigned short type;
  struct _ffi_type **elements;
} ffi_type;

#ifndef LIBFFI_HIDE_BASIC_TYPES
FFI_EXTERN ffi_type ffi_type_void;
FFI_EXTERN ffi_type ffi_type_uint8;
FFI_EXTERN ffi_type ffi_type_sint8;
FFI_EXTERN ffi_type ffi_type_uint16;
FFI_EXTERN ffi_type ffi_type_sint16;
FFI_EXTERN ffi_type ffi_type_uint32;
FFI_EXTERN ffi_type ffi_type_sint32;
FFI_EXTERN ffi_type ffi_type_uint64;
FFI_EXTERN ffi_type ffi_type_sint64;
FFI_EXTERN ffi_type ffi_type_float;
FFI_EXTERN ffi_type ffi_type_double;
FFI_EXTERN ffi_type ffi_type_longdouble;
FFI_EXTERN ffi_type ffi_type_pointer;
FFI_EXTERN ffi_type ffi_type_complex_float;
FFI_EXTERN ffi_type ffi_type_complex_double;
FFI_EXTERN ffi_type ffi_type_complex_longdouble;
FFI_EXTERN ffi_type ffi_type_uint128;
FFI_EXTERN ffi_type ffi_type_sint128;

/* C's named integer types on LP64 */
#define ffi_type_uchar ffi_type_uint8
#define ffi_type_schar ffi_type_sint8
#define ffi_type_ushort ffi_type_uint16
#define ffi_type_sshort ffi_type_sint16
#define ffi_type_uint ffi_type_uint32
#define ffi_type_sint ffi_type_sint32
#define ffi_type_ulong ffi_type_uint64
#define ffi_type_slong ffi_type_sint64
#endif

typedef enum {
  FFI_OK = 0,
  FFI_BAD_TYPEDEF,
  FFI_BAD_ABI,
  FFI_BAD_ARGTYPE
} ffi_status;

/* A call interface: what ffi_prep_cif was given. `bytes` is the stack the call uses;
   `flags` belongs to the library (the face keeps its stub's number there). */
typedef struct {
  ffi_abi abi;
  unsigned nargs;
  ffi_type **arg_types;
  ffi_type *rtype;
  unsigned bytes;
  unsigned flags;
} ffi_cif;

/* One argument slot of the raw API: every argument in FFI_SIZEOF_ARG-byte units. */
typedef union {
  ffi_sarg sint;
  ffi_arg uint;
  float flt;
  char data[FFI_SIZEOF_ARG];
  void *ptr;
} ffi_raw;
typedef ffi_raw ffi_java_raw;

FFI_API const char *ffi_get_version(void);
FFI_API unsigned long ffi_get_version_number(void);
FFI_API unsigned int ffi_get_default_abi(void);
FFI_API size_t ffi_get_closure_size(void);

FFI_API ffi_status ffi_prep_cif(ffi_cif *cif, ffi_abi abi, unsigned int nargs, ffi_type *rtype,
                                ffi_type **atypes);
FFI_API ffi_status ffi_prep_cif_var(ffi_cif *cif, ffi_abi abi, unsigned int nfixedargs,
                                    unsigned int ntotalargs, ffi_type *rtype, ffi_type **atypes);
FFI_API void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue);
FFI_API ffi_status ffi_get_struct_offsets(ffi_abi abi, ffi_type *struct_type, size_t *offsets);

/* Reusable call plans (libffi 3.7, ffi_call_plan_size 3.8). */
typedef struct ffi_call_plan ffi_call_plan;
FFI_API ffi_call_plan *ffi_call_plan_alloc(ffi_cif *cif);
FFI_API void ffi_call_plan_invoke(ffi_call_plan *plan, void (*fn)(void), void *rvalue, void **avalue);
FFI_API void ffi_call_plan_free(ffi_call_plan *plan);
FFI_API size_t ffi_call_plan_size(ffi_call_plan *plan);

FFI_API void ffi_raw_call(ffi_cif *cif, void (*fn)(void), void *rvalue, ffi_raw *avalue);
FFI_API void ffi_ptrarray_to_raw(ffi_cif *cif, void **args, ffi_raw *raw);
FFI_API void ffi_raw_to_ptrarray(ffi_cif *cif, ffi_raw *raw, void **args);
FFI_API size_t ffi_raw_size(ffi_cif *cif);
FFI_API void ffi_java_raw_call(ffi_cif *cif, void (*fn)(void), void *rvalue, ffi_java_raw *avalue)
    __attribute__((deprecated));
FFI_API void ffi_java_ptrarray_to_raw(ffi_cif *cif, void **args, ffi_java_raw *raw) __attribute__((deprecated));
FFI_API void ffi_java_raw_to_ptrarray(ffi_cif *cif, ffi_java_raw *raw, void **args) __attribute__((deprecated));
FFI_API size_t ffi_java_raw_size(ffi_cif *cif) __attribute__((deprecated));

/* A closure: ffi_closure_alloc hands out its writable address and its code address; once
   ffi_prep_closure_loc has installed cif, fun and user_data, a call of the code runs
   fun(cif, ret, args, user_data). `tramp` is the library's (the face keeps its state there). */
typedef struct {
  union {
    char tramp[FFI_TRAMPOLINE_SIZE];
    void *ftramp;
  };
  ffi_cif *cif;
  void (*fun)(ffi_cif *, void *, void **, void *);
  void *user_data;
} ffi_closure __attribute__((aligned(8)));

FFI_API void *ffi_closure_alloc(size_t size, void **code);
FFI_API void ffi_closure_free(void *closure);
FFI_API ffi_status ffi_prep_closure(ffi_closure *closure, ffi_cif *cif,
                                    void (*fun)(ffi_cif *, void *, void **, void *), void *user_data)
    __attribute__((deprecated("use ffi_prep_closure_loc instead")));
FFI_API ffi_status ffi_prep_closure_loc(ffi_closure *closure, ffi_cif *cif,
                                        void (*fun)(ffi_cif *, void *, void **, void *), void *user_data,
                                        void *codeloc);

/* Raw closures: same layout as ffi_closure, the handler gets the arguments as ffi_raw. */
typedef struct {
  char tramp[FFI_TRAMPOLINE_SIZE];
  ffi_cif *cif;
  void (*translate_args)(ffi_cif *, void *, void **, void *);
  void *this_closure;
  void (*fun)(ffi_cif *, void *, ffi_raw *, void *);
  void *user_data;
} ffi_raw_closure;

typedef struct {
  char tramp[FFI_TRAMPOLINE_SIZE];
  ffi_cif *cif;
  void (*translate_args)(ffi_cif *, void *, void **, void *);
  void *this_closure;
  void (*fun)(ffi_cif *, void *, ffi_java_raw *, void *);
  void *user_data;
} ffi_java_raw_closure;

FFI_API ffi_status ffi_prep_raw_closure(ffi_raw_closure *closure, ffi_cif *cif,
                                        void (*fun)(ffi_cif *, void *, ffi_raw *, void *), void *user_data);
FFI_API ffi_status ffi_prep_raw_closure_loc(ffi_raw_closure *closure, ffi_cif *cif,
                                            void (*fun)(ffi_cif *, void *, ffi_raw *, void *),
                                            void *user_data, void *codeloc);
FFI_API ffi_status ffi_prep_java_raw_closure(ffi_java_raw_closure *closure, ffi_cif *cif,
                                             void (*fun)(ffi_cif *, void *, ffi_java_raw *, void *),
                                             void *user_data) __attribute__((deprecated));
FFI_API ffi_status ffi_prep_java_raw_closure_loc(ffi_java_raw_closure *closure, ffi_cif *cif,
                                                 void (*fun)(ffi_cif *, void *, ffi_java_raw *, void *),
                                                 void *user_data, void *codeloc) __attribute__((deprecated));

/* Go closures: the code in `tramp` is called with the closure itself in the static chain
   register (r10 on x86-64, x18 on AArch64). */
typedef struct {
  void *tramp;
  ffi_cif *cif;
  void (*fun)(ffi_cif *, void *, void **, void *);
} ffi_go_closure;

FFI_API ffi_status ffi_prep_go_closure(ffi_go_closure *closure, ffi_cif *cif,
                                       void (*fun)(ffi_cif *, void *, void **, void *));
FFI_API void ffi_call_go(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue, void *closure);

#define FFI_FN(f) ((void (*)(void))(f))
#define FFI_CL(f) ((void *)(f))
#define FFI_CLOSURE_PTR(X) (X)
#define FFI_RESTORE_PTR(X) (X)

#endif /* LIBFFI_ASM */

#ifdef __cplusplus
}
#endif

#endif
