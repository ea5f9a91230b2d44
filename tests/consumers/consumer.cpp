// A C++ program using an installed tramp (tests/consumers/): a call stub and a callback.
#include <tramp/tramp.hpp>

#include <cstdlib>
#include <cstdio>

static int add(int a, int b) { return a + b; }

int main() {
  tramp::Invoker call = tramp::Engine::global().invoker("i32(i32, i32)");
  int a = 40, b = 2, r = 0;
  void* args[] = {&a, &b};
  call(reinterpret_cast<const void*>(&add), &r, args);
  tramp::Callback cmp = tramp::Engine::global().callback(
      tramp::parse_signature("i32(ptr, ptr)"), [](void* ret, void* const* argv) {
        int x = **static_cast<int* const*>(argv[0]), y = **static_cast<int* const*>(argv[1]);
        *static_cast<int*>(ret) = (x > y) - (x < y);
      });
  int values[] = {42, 7, 19};
  std::qsort(values, 3, sizeof(int), cmp.as<int(const void*, const void*)>());
  std::printf("%d %d %d %d\n", r, values[0], values[1], values[2]);
  return r == 42 && values[0] == 7 && values[2] == 42 ? 0 : 1;
}
