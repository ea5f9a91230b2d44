// The floor under the libffi face's Win64 rows: the least any libffi.so.8 can do for a Win64
// int(int, int) call and closure (face_floor_lib.S, written by hand), measured in one run
// beside a direct call, Debian's libffi and the face. The face's Win64 targets (issue
// "libffi face": ffi_call >= 5x and closures >= 3x faster than Debian's libffi) are judged
// against these figures in docs/performance.md.
//
//   face_floor [path/to/the/face/libffi.so.8]
#include <dlfcn.h>
#include <ffi.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "floor.hpp"

extern "C" {
void tramp_floor_ffi_call(void* cif, void* fn, void* rvalue, void** avalue);
void tramp_floor_win64_ii_stub();
void tramp_floor_win64_ii_closure();
void tramp_floor_set_closure_fun(void* fun);
}

#ifndef TRAMP_FFI_FACE_PATH
#define TRAMP_FFI_FACE_PATH ""
#endif

namespace {

using namespace tramp_floor;

using Win64Fn = int(__attribute__((ms_abi)) *)(int, int);

__attribute__((ms_abi, noipa)) int add(int a, int b) { return a + b; }
// Native code calling a callback: a Win64 caller of a Win64 function pointer.
__attribute__((ms_abi, noipa)) int call_twice(Win64Fn f, int a, int b) { return f(a, b) + 1; }

struct Libffi {
  decltype(&ffi_prep_cif) prep_cif;
  decltype(&ffi_call) call;
  decltype(&ffi_closure_alloc) closure_alloc;
  decltype(&ffi_prep_closure_loc) prep_closure_loc;
};

template <class T>
T sym(void* h, const char* name) {
  void* p = dlsym(h, name);
  if (!p) {
    std::fprintf(stderr, "face_floor: %s: no %s\n", TRAMP_FFI_FACE_PATH, name);
    std::exit(1);
  }
  return reinterpret_cast<T>(p);
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "face_floor: %s\n", what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  const char* face_path = argc > 1 ? argv[1] : TRAMP_FFI_FACE_PATH;
  void* h = dlopen(face_path, RTLD_NOW | RTLD_LOCAL);
  if (!h) fail(dlerror());
  const Libffi face{sym<decltype(&ffi_prep_cif)>(h, "ffi_prep_cif"), sym<decltype(&ffi_call)>(h, "ffi_call"),
                    sym<decltype(&ffi_closure_alloc)>(h, "ffi_closure_alloc"),
                    sym<decltype(&ffi_prep_closure_loc)>(h, "ffi_prep_closure_loc")};
  const Libffi debian{&ffi_prep_cif, &ffi_call, &ffi_closure_alloc, &ffi_prep_closure_loc};

  int a = 3, b = 4;
  void* args[] = {&a, &b};
  ffi_type* arg_types[] = {&ffi_type_sint32, &ffi_type_sint32};
  ffi_arg result = 0;
  volatile Win64Fn direct = add;
  void* floor_cif[] = {reinterpret_cast<void*>(&tramp_floor_win64_ii_stub)};
  void (*volatile floor_call)(void*, void*, void*, void**) = tramp_floor_ffi_call;

  std::vector<Row> calls, closures;
  calls.push_back({"direct", median_ns([&] {
                     result = static_cast<ffi_arg>(direct(a, b));
                     asm volatile("" ::: "memory");
                   }), static_cast<int>(result)});
  calls.push_back({"floor (by hand)", median_ns([&] {
                     floor_call(floor_cif, reinterpret_cast<void*>(&add), &result, args);
                     asm volatile("" ::: "memory");
                   }), static_cast<int>(result)});
  for (const auto& [name, lib] : {std::pair{"libffi face", face}, std::pair{"Debian's libffi", debian}}) {
    ffi_cif cif;
    if (lib.prep_cif(&cif, FFI_GNUW64, 2, &ffi_type_sint32, arg_types) != FFI_OK) fail("ffi_prep_cif");
    result = 0;
    calls.push_back({name, median_ns([&] {
                       lib.call(&cif, FFI_FN(add), &result, args);
                       asm volatile("" ::: "memory");
                     }), static_cast<int>(result)});
  }

  volatile int sink = 0;
  volatile auto caller = call_twice;
  auto time_callback = [&](const char* what, Win64Fn f) {
    closures.push_back({what, median_ns([&] { sink = caller(f, a, b); }), sink - 1});
  };
  time_callback("direct", add);
  tramp_floor_set_closure_fun(reinterpret_cast<void*>(&add_closure_fun));
  time_callback("floor (by hand)", reinterpret_cast<Win64Fn>(&tramp_floor_win64_ii_closure));
  for (const auto& [name, lib] : {std::pair{"libffi face", face}, std::pair{"Debian's libffi", debian}}) {
    static ffi_cif cif;  // a closure keeps its cif's address
    if (lib.prep_cif(&cif, FFI_GNUW64, 2, &ffi_type_sint32, arg_types) != FFI_OK) fail("ffi_prep_cif");
    void* code = nullptr;
    auto* closure = static_cast<ffi_closure*>(lib.closure_alloc(sizeof(ffi_closure), &code));
    if (!closure || lib.prep_closure_loc(closure, &cif, add_closure_fun, nullptr, code) != FFI_OK)
      fail("ffi_prep_closure_loc");
    time_callback(name, reinterpret_cast<Win64Fn>(code));  // (not freed: the process ends)
  }

  std::printf("Win64 int(int, int), median of 11 batches of 5,000,000 calls, one run:\n\n");
  if (!print_table("ffi_call", calls)) fail("a call computed the wrong value");
  std::printf("\n");
  if (!print_table("closure called from a Win64 caller", closures)) fail("a call computed the wrong value");
  return 0;
}
