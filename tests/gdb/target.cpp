// The program tests/gdb/check.cmake runs under `gdb -batch`: it goes through every kind of
// stub and thunk into a function of its own, in which gdb stops and prints the backtrace.
#include <cstdio>

#include "tramp/tramp.hpp"

namespace {
struct Page {
  unsigned char bytes[8192];
};
}  // namespace

extern "C" {
__attribute__((noinline)) int callee_call(int a, int b) { return a * b; }
__attribute__((noinline)) int callee_bound(int a, int b) { return a + b; }
__attribute__((noinline)) int callee_direct(int a, int b) { return a - b; }
__attribute__((noinline)) long callee_page(Page p) { return p.bytes[8191]; }
__attribute__((noinline)) void in_handler(void* ret, void* const* args, void*) {
  *static_cast<int*>(ret) = *static_cast<int*>(args[0]) * 2;
}
__attribute__((noinline)) int apply(int (*f)(int, int)) { return f(20, 1) + 1; }
#if defined(__x86_64__)
__attribute__((noinline, ms_abi)) int ms_apply(int (__attribute__((ms_abi)) * f)(int, int)) { return f(30, 1) + 1; }
#endif
}

int main() {
  tramp::Engine& e = tramp::Engine::global();
  tramp::Invoker inv = e.invoker(tramp::parse_signature("i32(i32, i32)"));
  int a = 6, b = 7, r = 0;
  void* args[] = {&a, &b};
  inv(reinterpret_cast<const void*>(&callee_call), &r, args);
  int sum = r;
  tramp::BoundCall bound = inv.bind(reinterpret_cast<const void*>(&callee_bound));
  bound(&r, args);
  sum += r;
  sum += e.invoker(tramp::parse_signature("i32(i32, i32) errno")).direct<int>()(reinterpret_cast<const void*>(&callee_direct), args);
  static Page page{};
  page.bytes[8191] = 5;
  void* page_args[] = {&page};
  long l = 0;
  e.invoker(tramp::parse_signature("i64({u8[8192]})"))(reinterpret_cast<const void*>(&callee_page), &l, page_args);
  sum += static_cast<int>(l);
  tramp::Callback cb = e.callback(tramp::parse_signature("i32(i32, i32)"), in_handler, nullptr);
  sum += apply(cb.as<int(int, int)>());
#if defined(__x86_64__)
  tramp::Callback ms = e.callback(tramp::parse_signature("win64:i32(i32, i32)"), in_handler, nullptr);
  sum += ms_apply(ms.as<int __attribute__((ms_abi))(int, int)>());
#endif
  std::printf("sum %d\n", sum);
  return 0;
}
