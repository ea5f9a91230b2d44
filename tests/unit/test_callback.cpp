// Callback thunks: native callers (libc and compiled C++) calling into handlers.
// (The generated conformance suite checks every byte for random signatures.)
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tramp/tramp.hpp"
#include "host_arch.hpp"

using tramp::Engine;
using tramp::parse_signature;

namespace {

struct Pair { double a, b; };
struct Big { long a, b, c; };
struct Mixed { char c; double d; };


void compare_handler(void* ret, void* const* args, void* user) {
  ++*static_cast<int*>(user);
  int a = **static_cast<const int* const*>(args[0]);
  int b = **static_cast<const int* const*>(args[1]);
  *static_cast<int*>(ret) = (a > b) - (a < b);
}

// A raw handler that records the stack pointer mod 16 as it was on entry (kEntrySpMod16 when
// the thunk called it with the ABI's 16-byte alignment). Written in assembly: a compiler may
// assume the alignment and fold any check of it written in C++.
extern "C" void tramp_test_record_entry_sp(void*, void* const*, void*);
extern "C" { long tramp_test_entry_sp_mod16 = -1; }
#if defined(__x86_64__)
asm(R"(
  .text
  .globl tramp_test_record_entry_sp
  .type tramp_test_record_entry_sp, @function
tramp_test_record_entry_sp:
  endbr64
  mov %rsp, %rax
  and $15, %rax
  mov %rax, tramp_test_entry_sp_mod16(%rip)
  ret
  .size tramp_test_record_entry_sp, .-tramp_test_record_entry_sp
)");
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl tramp_test_record_entry_sp
  .type tramp_test_record_entry_sp, %function
  .p2align 2
tramp_test_record_entry_sp:
  hint #34
  mov x9, sp
  and x9, x9, #15
  adrp x10, tramp_test_entry_sp_mod16
  str x9, [x10, :lo12:tramp_test_entry_sp_mod16]
  ret
  .size tramp_test_record_entry_sp, .-tramp_test_record_entry_sp
)");
#endif

}  // namespace

TEST_CASE("qsort and bsearch call a thunk as their comparator", "[callback]") {
  int calls = 0;
  tramp::Callback cb = Engine::global().callback(parse_signature("i32(ptr, ptr)"), compare_handler, &calls);
  std::vector<int> v = {5, -3, 9, 0, 12, 7, -8, 1};
  auto cmp = cb.as<int(const void*, const void*)>();
  std::qsort(v.data(), v.size(), sizeof(int), cmp);
  CHECK(v == std::vector<int>{-8, -3, 0, 1, 5, 7, 9, 12});
  CHECK(calls > 0);
  int key = 7;
  void* hit = std::bsearch(&key, v.data(), v.size(), sizeof(int), cmp);
  REQUIRE(hit != nullptr);
  CHECK(static_cast<int*>(hit) - v.data() == 5);
  key = 4;
  CHECK(std::bsearch(&key, v.data(), v.size(), sizeof(int), cmp) == nullptr);
}

TEST_CASE("callable handlers, struct arguments and returns", "[callback]") {
  auto& e = Engine::global();
  tramp::Callback pair = e.callback(parse_signature("{f64, f64}(f64, {f64, f64})"), [](void* ret, void* const* args) {
    double k = *static_cast<double*>(args[0]);
    Pair p = *static_cast<Pair*>(args[1]);
    *static_cast<Pair*>(ret) = {p.a * k, p.b * k};
  });
  Pair r = pair.as<Pair(double, Pair)>()(2.0, Pair{1.5, -4});
  CHECK(r.a == 3.0);
  CHECK(r.b == -8.0);

  tramp::Callback big = e.callback(parse_signature("{i64, i64, i64}(i64, {i64, i64, i64}, {i8, f64})"),
                                   [](void* ret, void* const* args) {
                                     long k = *static_cast<long*>(args[0]);
                                     Big b = *static_cast<Big*>(args[1]);
                                     Mixed m = *static_cast<Mixed*>(args[2]);
                                     *static_cast<Big*>(ret) = {b.a + k, b.b + m.c, b.c + static_cast<long>(m.d)};
                                   });
  Big rb = big.as<Big(long, Big, Mixed)>()(100, Big{1, 2, 3}, Mixed{20, 30.0});
  CHECK(rb.a == 101);
  CHECK(rb.b == 22);
  CHECK(rb.c == 33);

  tramp::Callback ld = e.callback(parse_signature("longdouble(i32, longdouble, longdouble)"), [](void* ret, void* const* args) {
    *static_cast<long double*>(ret) =
        *static_cast<int*>(args[0]) * *static_cast<long double*>(args[1]) + *static_cast<long double*>(args[2]);
  });
  CHECK(ld.as<long double(int, long double, long double)>()(3, 1.25L, 0.5L) == 4.25L);

  tramp::Callback small = e.callback(parse_signature("i8(i8, u16, bool)"), [](void* ret, void* const* args) {
    signed char a = *static_cast<signed char*>(args[0]);
    unsigned short b = *static_cast<unsigned short*>(args[1]);
    bool c = *static_cast<bool*>(args[2]);
    *static_cast<signed char*>(ret) = static_cast<signed char>(c ? a - static_cast<int>(b) : a);
  });
  CHECK(small.as<signed char(signed char, unsigned short, bool)>()(-5, 3, true) == -8);
}

TEST_CASE("stack arguments reach the handler", "[callback]") {
  auto sig = parse_signature("f64(i64, i64, i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64, f64, longdouble)");
  tramp::Callback cb = Engine::global().callback(sig, [](void* ret, void* const* args) {
    double sum = 0;
    for (int i = 0; i < 8; ++i) sum += static_cast<double>(*static_cast<long*>(args[i])) * (i + 1);
    for (int i = 8; i < 17; ++i) sum += *static_cast<double*>(args[i]) * (i + 1);
    sum += static_cast<double>(*static_cast<long double*>(args[17]));
    *static_cast<double*>(ret) = sum;
  });
  auto f = cb.as<double(long, long, long, long, long, long, long, long, double, double, double, double, double,
                        double, double, double, double, long double)>();
  double expect = 0;
  for (int i = 0; i < 8; ++i) expect += (i + 1.0) * (i + 1);
  for (int i = 8; i < 17; ++i) expect += (i + 0.5) * (i + 1);
  expect += 1000;
  CHECK(f(1, 2, 3, 4, 5, 6, 7, 8, 8.5, 9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5, 16.5, 1000.0L) == expect);
}

TEST_CASE("a handler may call back into a tramp call stub (re-entrancy)", "[callback]") {
  tramp::Library m = tramp::Library::open("libm.so.6");
  void* hypot_fn = m.symbol("hypot");
  tramp::Invoker hyp = Engine::global().invoker("f64(f64, f64)");
  tramp::Callback cb = Engine::global().callback(parse_signature("f64(f64, f64)"), [&](void* ret, void* const* args) {
    hyp(hypot_fn, ret, args);
  });
  tramp::Invoker call = Engine::global().invoker("f64(f64, f64)");
  double a = 6, b = 8, r = 0;
  void* args[] = {&a, &b};
  call(cb.code(), &r, args);  // tramp stub -> thunk -> handler -> tramp stub -> hypot
  CHECK(r == 10.0);
}

TEST_CASE("a throwing callable returns zero and parks the exception", "[callback]") {
  tramp::Callback cb = Engine::global().callback(parse_signature("i32(ptr, ptr)"), [](void*, void* const*) {
    throw std::runtime_error("comparator failed");
  });
  int v[] = {3, 1, 2};
  std::qsort(v, 3, sizeof(int), cb.as<int(const void*, const void*)>());
  std::exception_ptr e = tramp::take_callback_exception();
  REQUIRE(e);
  CHECK_THROWS_WITH(std::rethrow_exception(e), "comparator failed");
  CHECK_FALSE(tramp::take_callback_exception());
}

TEST_CASE("one thunk called from many threads at once", "[callback][threads]") {
  std::atomic<long> total{0};
  tramp::Callback cb = Engine::global().callback(parse_signature("i64(i64, i64)"), [&](void* ret, void* const* args) {
    long s = *static_cast<long*>(args[0]) + *static_cast<long*>(args[1]);
    total += s;
    *static_cast<long*>(ret) = s;
  });
  auto f = cb.as<long(long, long)>();
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (long i = 0; i < 20000; ++i)
        if (f(i, t) != i + t) ++bad;
    });
  for (auto& t : threads) t.join();
  CHECK(bad == 0);
  CHECK(total == 4 * (20000L * 19999 / 2) + 20000L * (0 + 1 + 2 + 3));
}

TEST_CASE("callbacks free their code for reuse", "[callback]") {
  tramp::Engine engine;
  const void* first = nullptr;
  for (int i = 0; i < 1000; ++i) {
    tramp::Callback cb = engine.callback(parse_signature("i32(i32)"), [i](void* ret, void* const* args) {
      *static_cast<int*>(ret) = *static_cast<int*>(args[0]) + i;
    });
    CHECK(cb.as<int(int)>()(1) == i + 1);
    if (i == 0) first = cb.code();
    else REQUIRE(cb.code() == first);  // the freed block is handed out again
  }
}

TEST_CASE("callback errors", "[callback][errors]") {
  CHECK_THROWS_AS(Engine::global().callback(parse_signature("i32(i32)"), tramp::Handler{nullptr}), tramp::Error);
  CHECK_THROWS_AS(Engine::global().callback(parse_signature("i32(i32)", tramp::test::kForeignAbi), compare_handler),
                  tramp::Error);
}

// The thunk's frame size depends on the signature: register arguments get slots, stack ones
// are used in place, sret and direct returns add their own, and a caller may have realigned
// its stack for over-aligned arguments. The handler must always see an aligned stack.
TEST_CASE("the handler is called with a 16-byte aligned stack", "[callback]") {
  const char* sigs[] = {
      "void()",
      "i32(i32)",
      "i32(i32, i32)",
      "i32(i32, i32, i32)",
      "f64(f64, f64, f64, f64, f64, f64, f64, f64, f64, f64)",
      "{i64, i64, i64}(i64)",
      "{i64, i64, i64}(i64, i64, i64, i64, i64, i64, i64, i64)",
      "{f64, f64}({i8, f64}, f32, {i64, i64} align(32))",
      "longdouble(longdouble, i128, u8)",
      "void(i64, ...f64, i64, {i64, i64, i64})",
  };
  for (const char* text : sigs) {
    INFO(text);
    tramp::Signature sig = parse_signature(text);
    tramp::Callback cb = Engine::global().callback(sig, &tramp_test_record_entry_sp);
    // Called through a tramp stub, which gives the thunk exactly the ABI's alignment.
    std::vector<unsigned char> storage(sig.arg_count() * 64 + 64, 0);
    std::vector<void*> args(sig.arg_count());
    for (std::size_t i = 0; i < args.size(); ++i) args[i] = storage.data() + 64 + i * 64;
    alignas(16) unsigned char ret[64] = {};
    tramp_test_entry_sp_mod16 = -1;
    Engine::global().invoker(sig)(cb.code(), ret, args.data());
    CHECK(tramp_test_entry_sp_mod16 == tramp::test::kEntrySpMod16);
  }
}

namespace {
// What ret_word_handler checks: the argument sizes, and what the handler saw.
struct RetWordProbe {
  std::vector<std::size_t> arg_sizes;
  bool aligned = false, apart = false;
};

// Writes a whole 8-byte word at `ret` (as libffi's closure functions write a narrow integer
// result), after checking that the word is 8-aligned and overlaps neither the argument array
// nor any argument: the promise of docs/api.md for a value returned in registers.
void ret_word_handler(void* ret, void* const* args, void* user) {
  auto* probe = static_cast<RetWordProbe*>(user);
  const auto r = reinterpret_cast<std::uintptr_t>(ret);
  probe->aligned = r % 8 == 0;
  auto disjoint = [r](const void* p, std::size_t n) {
    const auto q = reinterpret_cast<std::uintptr_t>(p);
    return r + 8 <= q || q + n <= r;
  };
  probe->apart = disjoint(args, probe->arg_sizes.size() * sizeof(void*));
  for (std::size_t i = 0; i < probe->arg_sizes.size(); ++i) probe->apart &= disjoint(args[i], probe->arg_sizes[i]);
  const std::uint64_t word = 0x1122334455667788ull;
  std::memcpy(ret, &word, 8);
}
}  // namespace

TEST_CASE("a handler's result storage holds a whole word for a value returned in registers", "[callback]") {
  auto& e = Engine::global();
  std::vector<std::string> sigs = {"i8()", "u8(i8, i8, i8)", "i16(u16, f64)", "u32(i32, i32, i32, i32, i32, i32, i32, i32)",
                                   "f32(f32, i8)", "i32({u8, u8}, i8)", "{u8, u8, u8}(i8)", "bool(bool, bool)"};
#if defined(__x86_64__)
  for (std::string s : {"i8(i8, i8, i8, i8, i8, i8)", "u16(f32, i8)", "f32(i8)", "{u8, u8}(i8, i8)"})
    sigs.push_back("win64:" + s);
#endif
  for (const std::string& text : sigs) {
    INFO(text);
    const tramp::Signature sig = parse_signature(text);
    RetWordProbe probe;
    for (const tramp::Type* t : sig.args()) probe.arg_sizes.push_back(t->size());
    tramp::Callback cb = e.callback(sig, ret_word_handler, &probe);
    std::vector<std::uint64_t> storage(sig.args().size() + 1, 0);
    std::vector<void*> args;
    for (std::size_t i = 0; i < sig.args().size(); ++i) args.push_back(&storage[i]);
    std::uint64_t ret = 0;
    e.invoker(sig)(cb.code(), &ret, args.data());
    CHECK(probe.aligned);
    CHECK(probe.apart);
    // The caller sees the word's low bytes (little-endian), as many as the type has.
    const std::uint64_t want = 0x1122334455667788ull;
    CHECK(std::memcmp(&ret, &want, sig.ret()->size()) == 0);
  }
}

TEST_CASE("a call through a destroyed callback aborts with a message", "[callback]") {
  int err[2];
  REQUIRE(pipe(err) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(err[1], 2);
    int (*code)(int) = nullptr;
    {
      tramp::Callback cb = Engine::global().callback(parse_signature("i32(i32)"), [](void* ret, void* const* args) {
        *static_cast<int*>(ret) = *static_cast<int*>(args[0]);
      });
      code = cb.as<int(int)>();
      if (code(7) != 7) _exit(3);
    }
    code(1);
    _exit(0);  // not reached
  }
  close(err[1]);
  std::string message;
  char buf[256];
  for (ssize_t n; (n = read(err[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<std::size_t>(n));
  close(err[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(message.find("tramp: a Callback or Veneer was called after it was destroyed") != std::string::npos);
}
