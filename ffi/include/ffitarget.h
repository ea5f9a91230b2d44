/* tramp's libffi face: the target half of ffi.h, for x86-64 and AArch64 (docs/libffi.md).
   The ABI numbers, ffi_arg and the closure sizes are libffi's for these targets, so a
   program built against either header runs on either library. Include ffi.h, not this. */
#ifndef LIBFFI_TARGET_H
#define LIBFFI_TARGET_H

#ifndef LIBFFI_H
#error "include <ffi.h>, not <ffitarget.h>"
#endif

#if defined(__x86_64__) && !defined(__ILP32__) && !defined(_WIN32)
#ifndef X86_64
#define X86_64
#endif
#define X86_ANY
#elif defined(__aarch64__) && !defined(_WIN32) && !defined(__APPLE__)
#ifndef AARCH64
#define AARCH64
#endif
#else
#error "tramp's libffi face describes x86-64 and AArch64 Linux only"
#endif

#ifndef LIBFFI_ASM
typedef unsigned long ffi_arg;
typedef signed long ffi_sarg;

typedef enum ffi_abi {
#if defined(X86_64)
  FFI_FIRST_ABI = 1,
  FFI_UNIX64,            /* System V AMD64 psABI: tramp's sysv */
  FFI_WIN64,             /* Microsoft x64: tramp's win64 */
  FFI_EFI64 = FFI_WIN64,
  FFI_GNUW64,            /* Microsoft x64 as GNU compilers use it: also tramp's win64 */
  FFI_LAST_ABI,
  FFI_DEFAULT_ABI = FFI_UNIX64
#else
  FFI_FIRST_ABI = 0,
  FFI_SYSV,              /* AAPCS64: tramp's aapcs64 */
  FFI_WIN64,             /* Windows on Arm: refused (FFI_BAD_ABI) */
  FFI_LAST_ABI,
  FFI_DEFAULT_ABI = FFI_SYSV
#endif
} ffi_abi;
#endif

#define FFI_CLOSURES 1
#define FFI_GO_CLOSURES 1
#define FFI_NATIVE_RAW_API 0
#define FFI_TARGET_HAS_COMPLEX_TYPE
#define FFI_TARGET_HAS_INT128

#if defined(X86_64)
#define FFI_TRAMPOLINE_SIZE 32
#define FFI_TARGET_SPECIFIC_STACK_SPACE_ALLOCATION
#else
#define FFI_TRAMPOLINE_SIZE 24
#define FFI_TRAMPOLINE_CLOSURE_OFFSET FFI_TRAMPOLINE_SIZE
#define FFI_TARGET_SPECIFIC_VARIADIC
#endif


#endif
