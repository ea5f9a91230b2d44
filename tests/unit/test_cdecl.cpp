// C declarations as signature input (core/cdecl.cpp): what they mean, checked against the
// compiler's own layout of the same declarations, and every error with its line and column.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::CScope;
using tramp::parse_c_function;
using tramp::parse_signature;

namespace {

std::string sig_of(const char* decl, Abi abi = Abi::SysV_X64) {
  return parse_c_function(decl, abi).signature.str(true);
}

// The same declarations as the C text in the layout test below, compiled by this compiler.
struct S1 {
  char c;
  int a[3];
  union {
    float f;
    int i;
  } u;
  struct {
    short s;
  } inner;
  long double ld;
};
struct __attribute__((packed)) P1 {
  char c;
  int i;
  double d;
};
struct A1 {
  char c;
  int x __attribute__((aligned(16)));
};
enum Color { RED, GREEN = 5, BLUE };
struct E1 {
  enum Color c;
  int v[BLUE * 2];
};

}  // namespace

TEST_CASE("prototypes become signatures", "[cdecl]") {
  CHECK(sig_of("double hypot(double, double);") == "sysv:f64(f64, f64)");
  CHECK(sig_of("double hypot(double x, double y)") == "sysv:f64(f64, f64)");  // ';' optional at the end
  CHECK(sig_of("int printf(const char * restrict fmt, ...);") == "sysv:i32(ptr, ...)");
  CHECK(sig_of("void f(void);") == "sysv:void()");
  CHECK(sig_of("unsigned long long f(signed char, unsigned short, long, unsigned, _Bool);") ==
        "sysv:u64(i8, u16, i64, u32, bool)");
  CHECK(sig_of("long double f(float, unsigned __int128, __int128, _Float128);") == "sysv:f80(f32, u128, i128, f128)");
  CHECK(sig_of("size_t f(int8_t, uint16_t, int32_t, uint64_t, ssize_t, intptr_t);") ==
        "sysv:u64(i8, u16, i32, u64, i64, i64)");
  CHECK(sig_of("void qsort(void* base, size_t n, size_t size, int (*cmp)(const void*, const void*));") ==
        "sysv:void(ptr, u64, u64, ptr)");
  CHECK(sig_of("void (*signal(int sig, void (*func)(int)))(int);") == "sysv:ptr(i32, ptr)");
  CHECK(sig_of("int k(int m[3][4], char* argv[], int a[]);") == "sysv:i32(ptr, ptr, ptr)");
  CHECK(sig_of("FILE* fopen(const char*, const char*);") == "sysv:ptr(ptr, ptr)");
  CHECK(sig_of("int x(int (*)[4], char (*(*)(void))[2]);") == "sysv:i32(ptr, ptr)");
  // A char* result is flagged (the tool prints it as a string); other pointers are not.
  CHECK(parse_c_function("const char* strerror(int);").returns_c_string);
  CHECK(parse_c_function("unsigned char* f(void);").returns_c_string);
  CHECK_FALSE(parse_c_function("char** f(void);").returns_c_string);
  CHECK_FALSE(parse_c_function("void* f(void);").returns_c_string);
  CHECK_FALSE(parse_c_function("char f(char*);").returns_c_string);
  // Comments and preprocessor lines are skipped.
  CHECK(sig_of("#include <math.h>\n/* a */ double // b\n cbrt(double);") == "sysv:f64(f64)");
}

TEST_CASE("calling-convention attributes and the ABI's own types", "[cdecl]") {
  CHECK(sig_of("__attribute__((ms_abi)) int w(int, double);") == "win64:i32(i32, f64)");
  CHECK(sig_of("int __attribute__((ms_abi)) w(int);") == "win64:i32(i32)");
  CHECK(sig_of("int w(int) __attribute__((__ms_abi__));") == "win64:i32(i32)");
  CHECK(sig_of("int __attribute__((sysv_abi)) v(int);", Abi::Win64) == "sysv:i32(i32)");
  CHECK(sig_of("int v(int) __attribute__((nonnull(1), format(printf, 1, 2)));") == "sysv:i32(i32)");
  // long double and plain char follow the ABI; long stays 64-bit (LP64, as gcc on Linux).
  CHECK(sig_of("long double f(char, long);", Abi::Win64) == "win64:f80(i8, i64)");
  CHECK(sig_of("long double f(char, long);", Abi::Aapcs64) == "aapcs64:f128(u8, i64)");
  CHECK(sig_of("long double f(char, long);", Abi::AppleArm64) == "apple-arm64:f64(i8, i64)");
}

TEST_CASE("records, enums and typedefs have the compiler's layout", "[cdecl]") {
  CScope scope;
  scope.parse(R"(
    struct S1 {
      char c;
      int a[3];
      union { float f; int i; } u;
      struct { short s; } inner;
      long double ld;
    };
    struct __attribute__((packed)) P1 { char c; int i; double d; };
    struct A1 { char c; int x __attribute__((aligned(16))); };
    enum Color { RED, GREEN = 5, BLUE };
    struct E1 { enum Color c; int v[BLUE * 2]; };
    typedef struct S1 s1_t;
    typedef s1_t* s1_ptr;
  )");
  const tramp::Type* s1 = scope.type("struct S1");
  REQUIRE(s1 != nullptr);
  CHECK(s1->size() == sizeof(S1));
  CHECK(s1->align() == alignof(S1));
  CHECK(s1->fields()[1].offset == offsetof(S1, a));
  CHECK(s1->fields()[2].offset == offsetof(S1, u));
  CHECK(s1->fields()[3].offset == offsetof(S1, inner));
  CHECK(s1->fields()[4].offset == offsetof(S1, ld));
  CHECK(scope.type("s1_t") == s1);
  CHECK(scope.type("s1_ptr") == tramp::Type::pointer());
  const tramp::Type* p1 = scope.type("struct P1");
  REQUIRE(p1 != nullptr);
  CHECK(p1->size() == sizeof(P1));
  CHECK(p1->align() == alignof(P1));
  CHECK(p1->fields()[2].offset == offsetof(P1, d));
  const tramp::Type* a1 = scope.type("struct A1");
  REQUIRE(a1 != nullptr);
  CHECK(a1->size() == sizeof(A1));
  CHECK(a1->fields()[1].offset == offsetof(A1, x));
  const tramp::Type* e1 = scope.type("struct E1");
  REQUIRE(e1 != nullptr);
  CHECK(e1->size() == sizeof(E1));
  CHECK(scope.type("enum Color")->size() == sizeof(Color));
  CHECK(scope.type("enum Color") == tramp::Type::u32());  // gcc: unsigned when no value is negative
}

TEST_CASE("a scope carries declarations into later parses", "[cdecl]") {
  CScope scope;
  scope.parse("typedef struct { double x, y; } point; enum { N = 4 };");
  scope.parse("point mid(point a, const point* b); int sum(int v[N]); struct q { int a[N]; } make(void);");
  REQUIRE(scope.functions().size() == 3);
  CHECK(scope.function("mid")->signature.str() == "{f64, f64}({f64, f64}, ptr)");
  CHECK(scope.function("make")->signature.str() == "{i32[4]}()");
  CHECK(scope.function("nope") == nullptr);
  // A forward-declared struct works behind a pointer and becomes usable once defined.
  scope.parse("struct node; struct node* next(struct node*);");
  CHECK_THROWS_WITH(scope.parse("struct node by_value(void);"), Catch::Contains("struct node is incomplete"));
  scope.parse("typedef struct node node_t;");
  CHECK_THROWS_WITH(scope.parse("node_t early(void);"), Catch::Contains("struct node is incomplete"));
  scope.parse("struct node { struct node* next; int v; }; struct node by_value(void);");
  CHECK(scope.function("by_value")->signature.str() == "{ptr, i32}()");
  scope.parse("node_t late(node_t);");  // the typedef made before the definition completes with it
  CHECK(scope.function("late")->signature.str() == "{ptr, i32}({ptr, i32})");
  // A failing parse adds nothing, not even the declarations before the error.
  const std::size_t before = scope.functions().size();
  CHECK_THROWS(scope.parse("int good(int); int bad(int"));
  CHECK(scope.functions().size() == before);
  CHECK(scope.function("good") == nullptr);
  // The scope is a value: copies are independent.
  CScope copy = scope;
  copy.parse("int only_in_copy(void);");
  CHECK(copy.function("only_in_copy") != nullptr);
  CHECK(scope.function("only_in_copy") == nullptr);
}

TEST_CASE("parsed declarations call real functions", "[cdecl]") {
  tramp::Library libc = tramp::Library::open("libc.so.6");
  tramp::CFunction f = parse_c_function("typedef struct { int quot, rem; } div_t; div_t div(int, int);");
  tramp::Invoker call = tramp::Engine::global().invoker(f.signature);
  int n = 47, d = 5, r[2] = {0, 0};
  void* args[] = {&n, &d};
  call(libc.symbol(f.name), r, args);
  CHECK((r[0] == 9 && r[1] == 2));
}

namespace {
// The message a C declaration parse fails with, or "no error".
std::string error_of(const std::string& text) {
  try {
    CScope().parse(text);
  } catch (const tramp::Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("C declaration errors give line, column and what was expected", "[cdecl][errors]") {
  CHECK(error_of("int f(int") == "line 1, column 10: expected ',' or ')' in the parameter list, found end of input");
  CHECK(error_of("int f(int);\nstruct b { float a : 3; };") ==
        "line 2, column 18: struct member 0 ('a'): a bit-field of type f32: a bit-field's type must be an integer "
        "type (bool, i8 ... u128)");
  CHECK(error_of("int main(void) { return 0; }") == "line 1, column 16: a function body: only declarations are read");
  CHECK(error_of("int x = 3;") == "line 1, column 7: an initializer: only declarations are read");
  CHECK(error_of("struct s { int n; int d[]; };").find("an array without a size") != std::string::npos);
  CHECK(error_of("unsigned float f(void);") == "line 1, column 10: two types in one declaration (float)");
  CHECK(error_of("short double f(void);").find("an invalid combination of type words") != std::string::npos);
  CHECK(error_of("int int f(void);").find("an invalid combination") != std::string::npos);
  CHECK(error_of("foo f(void);") == "line 1, column 1: expected a type, found 'foo'");
  CHECK(error_of("int f(void) __attribute__((aligned(3)));").find("not a power of two") != std::string::npos);
  CHECK(error_of("struct e {};").find("has no members") != std::string::npos);
  CHECK(error_of("int a[1 << 63];").find("shift out of range") != std::string::npos);
  CHECK(error_of("int a[10 / 0];").find("division by zero") != std::string::npos);
  CHECK(error_of("int a[UNKNOWN];").find("'UNKNOWN' is not a constant") != std::string::npos);
  CHECK(error_of("void f(void v);").find("a parameter of type void") != std::string::npos);
  CHECK(error_of("int f(void)[3];").find("a function returning an array") != std::string::npos);
  CHECK(error_of("/* open").find("'*/' closing this comment") != std::string::npos);
  // The position is the byte offset of the problem.
  try {
    CScope().parse("int f(int;");
  } catch (const tramp::Error& e) {
    CHECK(e.position() == 9);
    CHECK(e.code() == tramp::ErrorCode::Syntax);
  }
  CHECK_THROWS_WITH(parse_c_function("int a; int b;"), Catch::Contains("found none"));
  CHECK_THROWS_WITH(parse_c_function("int a(void); int b(void);"), Catch::Contains("found 2"));
  // Types the ABI refuses are refused by the engine, not the parser.
  tramp::CFunction v = parse_c_function("int v(const char*, ...);");
  CHECK(v.signature.variadic());
  CHECK(v.signature.fixed_count() == 1);
}

TEST_CASE("skipped strings, attributes and asm labels must be closed", "[cdecl][errors]") {
  // An unclosed string is reported where it starts, and swallows nothing after it.
  CHECK(error_of("int f(void) __asm__(\"abc);") ==
        "line 1, column 21: expected '\"' closing this literal, found end of input");
  CHECK(error_of("int f(void) __attribute__((section(\"abc)") ==
        "line 1, column 36: expected '\"' closing this literal, found end of input");
  CHECK(error_of("int f(void) __asm__(\"abc);\nint g(void);") ==
        "line 1, column 21: expected '\"' closing this literal, found end of line");
  CHECK(error_of("int f(void) __attribute__((x('a)));") ==
        "line 1, column 30: expected \"'\" closing this literal, found end of input");
  // Unbalanced parentheses in what is skipped, at end of input.
  CHECK(error_of("int f(void) __asm__(\"f\"") == "line 1, column 20: expected ')' closing this '(', found end of input");
  CHECK(error_of("int f(void) __attribute__((nonnull(1") ==
        "line 1, column 35: expected ')' closing this '(', found end of input");
  CHECK(error_of("int f(void) __attribute__((nonnull(1))") ==
        "line 1, column 39: expected '))' closing __attribute__, found end of input");
  // A closed string holds any text, parentheses and escaped quotes included.
  CScope scope;
  scope.parse("int f(void) __asm__(\"f)(\\\"\"); int g(void) __attribute__((section(\")\"), cold));");
  CHECK(scope.function("f") != nullptr);
  CHECK(scope.function("g") != nullptr);
}

TEST_CASE("C declaration errors show bytes that are not printable ASCII as byte 0xNN", "[cdecl][errors]") {
  CHECK(error_of("int f(\xff);") == "line 1, column 7: expected a type, found byte 0xff");
  CHECK(error_of("\x01 f(void);") == "line 1, column 1: expected a type, found byte 0x01");
  CHECK(error_of("int f(void) \"a\xff" "b\";") ==
        "line 1, column 13: expected ';' after the declaration, found '\"a\\xffb\"'");
  // The signature parser words it the same way (one helper, core/quote.hpp).
  CHECK_THROWS_WITH(parse_signature("i32(\xc3\xa9)"), Catch::EndsWith("found byte 0xc3"));
}

TEST_CASE("nesting is bounded and random input only ever raises tramp::Error", "[cdecl][errors]") {
  std::string deep = "int f(" + std::string(5000, '(') + ");";
  CHECK_THROWS_AS(CScope().parse(deep), tramp::Error);
  std::string deep_struct;
  for (int i = 0; i < 200; ++i) deep_struct += "struct { ";
  CHECK_THROWS_WITH(CScope().parse(deep_struct), Catch::Contains("nesting deeper than 64"));
  std::string deep_expr = "int a[" + std::string(5000, '(') + "1];";
  CHECK_THROWS_AS(CScope().parse(deep_expr), tramp::Error);

  // Mutations of valid declarations: any outcome but a crash or a non-tramp exception.
  const std::string seeds[] = {
      "typedef struct { double x, y; } point; point mid(point a, const point* b);",
      "void (*signal(int sig, void (*func)(int)))(int);",
      "enum e { A = 1 << 3, B }; struct s { int v[B]; char c; } __attribute__((packed)) f(struct s, ...);",
      "__attribute__((ms_abi)) long double g(unsigned __int128, int (*)[4]);",
  };
  const char alphabet[] = "(){}[];,*=.:<>+-/ 0123456789abcxyz_#\n\"'";
  std::mt19937 rng(20261125);
  int errors = 0, parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[i % 4];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      std::size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0: text.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
        case 1: if (at < text.size()) text.erase(at, 1); break;
        default: if (at < text.size()) text[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
      }
    }
    try {
      CScope().parse(text);
      ++parsed;
    } catch (const tramp::Error&) {
      ++errors;
    }
  }
  CHECK(errors > 0);
  CHECK(parsed > 0);
}
