// A dlopen'ed module built on tramp, as an interpreter's extension would be: built once
// against libtramp.so and once against the static, position-independent libtramp.a
// (tests/CMakeLists.txt). host.c loads it with dlopen and calls plugin_run().
#include <tramp/tramp.h>
#include <tramp/tramp.hpp>

#include <cstdlib>

namespace {

double scale(double x, int k) { return x * k; }

int compare_ints(const void* a, const void* b) {
  int x = *static_cast<const int*>(a), y = *static_cast<const int*>(b);
  return (x > y) - (x < y);
}

void compare_handler(void* ret, void* const* args, void* user) {
  ++*static_cast<int*>(user);
  const void* a = *static_cast<const void* const*>(args[0]);
  const void* b = *static_cast<const void* const*>(args[1]);
  *static_cast<int*>(ret) = compare_ints(a, b);
}

}  // namespace

// 0 when every step works; otherwise the number of the step that failed.
extern "C" __attribute__((visibility("default"))) int plugin_run() {
  try {
    // A call stub (C++ API).
    tramp::Invoker call = tramp::Engine::global().invoker("f64(f64, i32)");
    double x = 2.5, r = 0;
    int k = 4;
    void* args[] = {&x, &k};
    call(reinterpret_cast<const void*>(&scale), &r, args);
    if (r != 10) return 1;

    // A callback (C++ API): qsort calls into a thunk.
    int calls = 0;
    tramp::Callback cmp = tramp::Engine::global().callback(tramp::parse_signature("i32(ptr, ptr)"),
                                                           compare_handler, &calls);
    int values[] = {42, 7, 19, 3};
    std::qsort(values, 4, sizeof(int), cmp.as<int(const void*, const void*)>());
    if (values[0] != 3 || values[3] != 42 || calls == 0) return 2;

    // An error crosses the library boundary as tramp::Error.
    try {
      tramp::parse_signature("f64(f64");
      return 3;
    } catch (const tramp::Error& e) {
      if (e.code() != tramp::ErrorCode::Syntax) return 3;
    }
  } catch (...) {
    return 4;
  }

  // The C API: a stub and a callback.
  tramp_signature* sig = nullptr;
  tramp_invoke_fn invoke = nullptr;
  if (tramp_signature_parse("f64(f64, i32)", &sig) != TRAMP_OK || tramp_invoker(sig, &invoke) != TRAMP_OK)
    return 5;
  double x = 1.5, r = 0;
  int k = 2;
  void* args[] = {&x, &k};
  invoke(reinterpret_cast<const void*>(&scale), &r, args);
  tramp_signature_free(sig);
  if (r != 3) return 6;

  tramp_signature* cmp_sig = nullptr;
  tramp_callback* cb = nullptr;
  int calls = 0;
  if (tramp_signature_parse("i32(ptr, ptr)", &cmp_sig) != TRAMP_OK ||
      tramp_callback_new(cmp_sig, compare_handler, &calls, &cb) != TRAMP_OK)
    return 7;
  int values[] = {5, 1, 4};
  std::qsort(values, 3, sizeof(int), reinterpret_cast<int (*)(const void*, const void*)>(tramp_callback_code(cb)));
  tramp_callback_free(cb);
  tramp_signature_free(cmp_sig);
  if (values[0] != 1 || values[2] != 5 || calls == 0) return 8;
  return 0;
}
