// Instruction counts per call, for callgrind (bench/callgrind.sh): runs N calls of one kind,
//   count_instructions direct|invoke|invoke_direct|bound|libffi|cbdirect|thunk|closure N
// and callgrind counts the whole run; the per-call cost is the difference between two runs
// of different N divided by the difference of N, so start-up and set-up cancel out. Each
// loop iteration includes the loop itself and the callee (an int add), as in the benchmarks.
#include <tramp/tramp.hpp>
#include <ffi.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
extern "C" __attribute__((noinline)) int cg_add(int a, int b) { return a + b; }
int (*volatile p_add)(int, int) = cg_add;
int main(int argc, char** argv) {
  const char* kind = argv[1];
  long n = std::atol(argv[2]);
  int a = 1, b = 2, r = 0;
  void* args[] = {&a, &b};
  long sum = 0;
  if (!std::strcmp(kind, "direct")) {
    for (long i = 0; i < n; ++i) sum += p_add(a, b);
  } else if (!std::strcmp(kind, "invoke")) {
    tramp::Invoker inv = tramp::Engine::global().invoker("i32(i32, i32)");
    for (long i = 0; i < n; ++i) { inv(reinterpret_cast<void*>(&cg_add), &r, args); sum += r; }
  } else if (!std::strcmp(kind, "invoke_direct")) {  // Invoker::direct<int>()
    auto f = tramp::Engine::global().invoker("i32(i32, i32)").direct<int>();
    for (long i = 0; i < n; ++i) sum += f(reinterpret_cast<void*>(&cg_add), args);
  } else if (!std::strcmp(kind, "bound")) {
    tramp::BoundCall bc = tramp::Engine::global().invoker("i32(i32, i32)").bind(reinterpret_cast<void*>(&cg_add));
    for (long i = 0; i < n; ++i) { bc(&r, args); sum += r; }
  } else if (!std::strcmp(kind, "libffi")) {  // calls
    ffi_cif cif; ffi_type* t[] = {&ffi_type_sint32, &ffi_type_sint32};
    ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, t);
    ffi_arg fr;
    for (long i = 0; i < n; ++i) { ffi_call(&cif, FFI_FN(cg_add), &fr, args); sum += static_cast<int>(fr); }
  }
  else {
    int (*f)(int, int) = cg_add;
    tramp::Callback cb;
    ffi_cif cif; ffi_type* t[] = {&ffi_type_sint32, &ffi_type_sint32};
    void* code = nullptr;
    ffi_closure* cl = nullptr;
    // callbacks: a C loop calls f, which is cg_add (cbdirect), a tramp thunk or a libffi closure
    if (!std::strcmp(kind, "thunk")) {
      cb = tramp::Engine::global().callback(tramp::parse_signature("i32(i32, i32)"),
          +[](void* ret, void* const* a, void*) { *static_cast<int*>(ret) = *static_cast<int*>(a[0]) + *static_cast<int*>(a[1]); });
      f = cb.as<int(int, int)>();
    } else if (!std::strcmp(kind, "closure")) {
      cl = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &code));
      ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, t);
      ffi_prep_closure_loc(cl, &cif, +[](ffi_cif*, void* ret, void** a, void*) { *static_cast<ffi_arg*>(ret) = *static_cast<int*>(a[0]) + *static_cast<int*>(a[1]); }, nullptr, code);
      f = reinterpret_cast<int (*)(int, int)>(code);
    }
    int (*volatile vf)(int, int) = f;
    for (long i = 0; i < n; ++i) sum += vf(a, b);
    if (cl) ffi_closure_free(cl);
  }
  std::printf("%ld\n", sum);
}
