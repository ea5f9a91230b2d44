// Engine::function: a library and a C declaration -> target + cached call stub (tramp::Function).
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

#include "tramp/tramp.hpp"

TEST_CASE("function: hypot from libm by its declaration", "[function]") {
  tramp::Engine engine;
  tramp::Library m = tramp::Library::open("libm.so.6");
  tramp::Function hypot = engine.function(m, "double hypot(double x, double y);");
  double x = 3, y = 4, r = 0;
  void* args[] = {&x, &y};
  hypot(&r, args);
  CHECK(r == 5);
  CHECK(hypot.name() == "hypot");
  CHECK(hypot.signature().str() == "f64(f64, f64)");
  CHECK(hypot.declaration().name == "hypot");
  CHECK_FALSE(hypot.returns_c_string());
  CHECK(hypot.target() == m.symbol("hypot"));
  CHECK(hypot.invoker().signature() == hypot.signature());
  CHECK(hypot.library().name() == "libm.so.6");
}

TEST_CASE("function: strlen and strerror from the running program", "[function]") {
  tramp::Engine engine;
  tramp::Library self = tramp::Library::self();
  tramp::Function strlen_fn = engine.function(self, "size_t strlen(const char* s)");
  const char* s = "tramp";
  std::size_t n = 0;
  void* args[] = {&s};
  strlen_fn(&n, args);
  CHECK(n == 5);
  CHECK(strlen_fn.signature().str() == "u64(ptr)");

  tramp::Function strerror_fn = engine.function(self, "char* strerror(int errnum);");
  CHECK(strerror_fn.returns_c_string());
}

TEST_CASE("function: a missing symbol names the symbol and the library", "[function]") {
  tramp::Engine engine;
  tramp::Library m = tramp::Library::open("libm.so.6");
  const std::size_t stubs = engine.cached_stubs();
  CHECK_THROWS_WITH(engine.function(m, "int no_such_function_here(int);"),
                    Catch::Contains("no_such_function_here") && Catch::Contains("libm.so.6"));
  try {
    engine.function(m, "int no_such_function_here(int);");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == tramp::ErrorCode::Library);
  }
  CHECK(engine.cached_stubs() == stubs);  // nothing made for a function that is not there
  CHECK_THROWS_AS(engine.function(m, "double hypot(double, double"), tramp::Error);
  CHECK_THROWS_WITH(engine.function(m, "int a(void); int b(void);"), Catch::Contains("expected one function declaration, found 2"));
}

TEST_CASE("function: the same declaration twice gives the same target and the same invoker", "[function]") {
  tramp::Engine engine;
  tramp::Library m = tramp::Library::open("libm.so.6");
  tramp::Function a = engine.function(m, "double hypot(double, double);");
  const std::size_t stubs = engine.cached_stubs();
  const std::size_t allocs = engine.code_stats().total_allocs;
  tramp::Function b = engine.function(m, "double hypot(double, double);");
  // Another function with the same signature shares the stub too.
  tramp::Function pow_fn = engine.function(m, "double pow(double base, double exp)");
  CHECK(b.target() == a.target());
  CHECK(b.invoker().entry() == a.invoker().entry());
  CHECK(pow_fn.invoker().entry() == a.invoker().entry());
  CHECK(pow_fn.target() != a.target());
  CHECK(engine.cached_stubs() == stubs);                // the stub was not made twice
  CHECK(engine.code_stats().total_allocs == allocs);    // no code emitted at all
  CHECK(engine.invoker("f64(f64, f64)").entry() == a.invoker().entry());
  double x = 2, y = 10, r = 0;
  void* args[] = {&x, &y};
  pow_fn(&r, args);
  CHECK(r == 1024);
}

TEST_CASE("function: from a scope, with its typedefs", "[function]") {
  tramp::Engine engine;
  tramp::Library m = tramp::Library::open("libm.so.6");
  tramp::CScope scope;
  scope.parse("typedef double real; real hypot(real, real); real fabs(real);");
  tramp::Function hypot = engine.function(m, scope, "hypot");
  tramp::Function fabs_fn = engine.function(m, scope, "fabs");
  double x = 3, y = 4, r = 0;
  void* args[] = {&x, &y};
  hypot(&r, args);
  CHECK(r == 5);
  double c = -3;
  void* cargs[] = {&c};
  fabs_fn(&r, cargs);
  CHECK(r == 3);
  CHECK(hypot.invoker().entry() == engine.function(m, "double hypot(double, double)").invoker().entry());
  CHECK_THROWS_WITH(engine.function(m, scope, "sqrt"), Catch::Contains("sqrt"));
}

TEST_CASE("function: keeps its library loaded", "[function]") {
  tramp::Engine engine;
  tramp::Function hypot = [&] {
    tramp::Library m = tramp::Library::open("libm.so.6");
    return engine.function(m, "double hypot(double, double)");
  }();
  tramp::Function copy = hypot;
  double x = 5, y = 12, r = 0;
  void* args[] = {&x, &y};
  copy(&r, args);
  CHECK(r == 13);
}
