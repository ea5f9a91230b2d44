// The floor of the uniform interface on this machine: tramp's invoke and callback thunk for
// int(int, int) beside the least any code can do in the same shape (uniform_floor.S, written
// by hand), a direct call and Debian's libffi, in one run. Issue 15's targets for invoke
// (<= 1.6x a direct call) and for the thunk (>= 6x faster than a libffi closure) are judged
// against these figures in docs/performance.md.
//
//   tramp_uniform_floor
#include <ffi.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "floor.hpp"
#include "tramp/tramp.hpp"

extern "C" {
void tramp_floor_invoke(const void* fn, void* ret, void* const* args);
int tramp_floor_register_return(const void* fn, void* const* args);
int tramp_floor_jump(int, int);
int tramp_floor_call_return(int, int);
int tramp_floor_thunk(int, int);
extern const void* tramp_floor_target;
}

namespace {

using namespace tramp_floor;

using IntFn = int (*)(int, int);

__attribute__((noipa)) int add(int a, int b) { return a + b; }
// Native code calling a callback (bench/callees.c's call_add: a tail jump).
__attribute__((noipa)) int call_add(IntFn f, int a, int b) { return f(a, b); }

void handler(void* ret, void* const* args, void*) {
  *static_cast<int*>(ret) = *static_cast<const int*>(args[0]) + *static_cast<const int*>(args[1]);
}
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "tramp_uniform_floor: %s\n", what);
  std::exit(1);
}

}  // namespace

int main() {
  // The engine's code next to this program's, as the bench's callees in the executable.
  tramp::Engine engine(tramp::EngineOptions{reinterpret_cast<const void*>(&add)});
  const tramp::Signature sig = tramp::parse_signature("i32(i32, i32)");
  const tramp::Invoker inv = engine.invoker(sig);
  const tramp::Callback cb = engine.callback(sig, handler);

  int a = 3, b = 4, result = 0;
  void* args[] = {&a, &b};
  volatile IntFn direct = add;
  const void* fn = reinterpret_cast<const void*>(&add);
  auto* volatile tramp_invoke = inv.entry();
  auto* volatile floor_invoke = &tramp_floor_invoke;
  auto* volatile tramp_register_return = inv.direct<int>();
  auto* volatile floor_register_return = &tramp_floor_register_return;
  ffi_type* arg_types[] = {&ffi_type_sint32, &ffi_type_sint32};
  ffi_cif cif;
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint32, arg_types) != FFI_OK) fail("ffi_prep_cif");

  std::vector<Row> calls;
  auto time_call = [&](const char* what, auto call) {
    result = 0;
    calls.push_back({what, median_ns([&] {
                       call();
                       asm volatile("" ::: "memory");
                     }), result});
  };
  time_call("direct", [&] { result = direct(a, b); });
  time_call("register-return, floor (by hand)", [&] { result = floor_register_return(fn, args); });
  time_call("register-return, tramp", [&] { result = tramp_register_return(fn, args); });
  time_call("invoke, floor (by hand)", [&] { floor_invoke(fn, &result, args); });
  time_call("invoke, tramp", [&] { tramp_invoke(fn, &result, args); });
  time_call("Debian's libffi ffi_call", [&] {
    ffi_arg r;
    ffi_call(&cif, FFI_FN(add), &r, args);
    result = static_cast<int>(r);
  });

  std::vector<Row> callbacks;
  volatile int sink = 0;
  volatile auto caller = call_add;
  auto time_callback = [&](const char* what, IntFn f, const void* target) {
    tramp_floor_target = target;
    callbacks.push_back({what, median_ns([&] { sink = caller(f, a, b); }), sink});
  };
  const auto* native = reinterpret_cast<const void*>(&add);
  const auto* uniform = reinterpret_cast<const void*>(&handler);
  time_callback("direct", add, nullptr);
  time_callback("a jump to a native function (floor of any entry point)", tramp_floor_jump, native);
  time_callback("a call of a native function and return (floor of any thunk)", tramp_floor_call_return, native);
  time_callback("uniform thunk, floor (by hand)", tramp_floor_thunk, uniform);
  time_callback("uniform thunk, tramp", cb.as<int(int, int)>(), nullptr);
  void* code = nullptr;
  auto* closure = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &code));
  if (!closure || ffi_prep_closure_loc(closure, &cif, add_closure_fun, nullptr, code) != FFI_OK)
    fail("ffi_prep_closure_loc");
  time_callback("Debian's libffi closure", reinterpret_cast<IntFn>(code), nullptr);
  ffi_closure_free(closure);

  std::printf("SysV int(int, int), median of 11 batches of 5,000,000 calls, one run:\n\n");
  if (!print_table("call", calls)) fail("a call computed the wrong value");
  std::printf("\n");
  if (!print_table("callback, called from a C caller", callbacks)) fail("a call computed the wrong value");
  return 0;
}
