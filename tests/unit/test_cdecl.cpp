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
  // ... nor typedefs, tags, enumerators or definitions of incomplete tags: each is undone,
  // and what it replaced comes back.
  scope.parse("struct later; typedef int kept_t; enum { K = 1 };");
  CHECK_THROWS(scope.parse("typedef long new_t; struct later { int x; }; enum { K2 = 2 }; enum e { E = 3 }; "
                           "typedef struct fresh { int y; } fresh_t; int bad(int"));
  CHECK(scope.type("new_t") == nullptr);
  CHECK(scope.type("fresh_t") == nullptr);
  CHECK(scope.constant("K2") == nullptr);
  CHECK(scope.constant("E") == nullptr);
  CHECK(scope.constant("K")->integer == 1);
  CHECK(scope.type("kept_t") == tramp::Type::i32());
  CHECK_THROWS_WITH(scope.parse("struct later by_value(void);"), Catch::Contains("struct later is incomplete"));
  scope.parse("typedef long new_t; struct later { int x; }; struct later by_value2(void);");
  CHECK(scope.type("new_t") == tramp::Type::i64());
  CHECK(scope.function("by_value2")->signature.str() == "{i32}()");
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
  CHECK(error_of("int f(int a[]);\nint b[];\nstruct s { int d[]; int n; };") ==
        "line 3, column 16: flexible array member 'd' is not the last member");
  CHECK(error_of("int f(int a[][]);").find("an array without a size") != std::string::npos);
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

// ---- what preprocessed system headers contain (docs/c-declarations.md, "Headers") ----

namespace {
struct Fam {
  int n;
  double d[];
};
const tramp::CConstant& constant_of(const CScope& s, const char* name) {
  const tramp::CConstant* c = s.constant(name);
  REQUIRE(c != nullptr);
  return *c;
}
}  // namespace

TEST_CASE("function bodies, initializers, asm and static assertions are skipped", "[cdecl][headers]") {
  CScope s;
  s.parse(R"(
    static __inline unsigned short swap16(unsigned short x) { return (x >> 8) | (x << 8); }
    extern __inline __attribute__((__gnu_inline__)) int atoi_(const char* p) { { if (*p) {} } return '}'; }
    int after(int);
    static const int table[3] = {1, (2), 3}, other = 4;
    __asm__(".symver a, b@V1");
    _Static_assert(sizeof(int) == 4, "int");
    __extension__ _Static_assert(1, "again");;
    struct with_assert { int a; _Static_assert(1, "member"); };
    int g(void) __asm__("" "g_v2") __attribute__((__nothrow__, __leaf__)) __attribute__((__nonnull__(1)));
    [[deprecated("use h2")]] int h(void);
  )");
  CHECK(s.function("swap16") == nullptr);  // static: no library has it
  REQUIRE(s.function("atoi_") != nullptr);
  CHECK(s.function("after")->signature.str(true) == parse_signature("i32(i32)").str(true));
  CHECK(s.function("g") != nullptr);
  CHECK(s.function("h") != nullptr);
  CHECK(s.type("struct with_assert")->size() == 4);
  CHECK(s.declaration_count() == 10);
  CHECK(s.skipped().empty());
  CHECK(error_of("int f(void) { {;") == "line 1, column 13: expected '}' closing this function body, found end of input");
  CHECK(error_of("int v { 1 };") == "line 1, column 7: expected ';' after the declaration, found '{'");
}

TEST_CASE("typedefs may be repeated; a different redefinition names both places", "[cdecl][headers]") {
  CScope s;
  s.parse("typedef unsigned long size_t; typedef struct s s_t; typedef struct s s_t; typedef int T;\ntypedef int T;");
  CHECK(s.type("size_t") == tramp::Type::u64());
  // Made before the tag's definition and repeated after it: the same type (glibc's FILE).
  s.parse("struct s { int x; }; typedef struct s s_t;");
  s.parse("typedef int (fn_t)(int); typedef int (fn_t)(int);");
  CHECK_THROWS_WITH(s.parse("\n\ntypedef long T;"),
                    "line 3, column 14: typedef 'T' redefined as a different type (i64; first defined at line 1, "
                    "column 87 as i32)");
  // A predefined name gives way to a header's own definition.
  s.parse("typedef int wchar_t; typedef unsigned int off_t;");
  CHECK(s.type("off_t") == tramp::Type::u32());
  // Once a type is given, a typedef name is the name being declared.
  s.parse("struct m { T T; }; int uses(T);");
  CHECK(s.type("struct m")->size() == 4);
}

TEST_CASE("line markers give positions in the original header", "[cdecl][headers]") {
  const char* text = "# 1 \"x.c\"\n# 40 \"/usr/include/lib.h\" 1 3 4\nint ok(int);\n\nint bad(int;\n# 7 \"x.c\" 2\nint z(";
  CHECK(error_of(text) == "line 42, column 12 of /usr/include/lib.h: expected ',' or ')' in the parameter list, found ';'");
  CScope s;
  s.parse(text, tramp::CParseOptions{true});
  CHECK(s.function("ok") != nullptr);
  REQUIRE(s.skipped().size() == 2);
  CHECK(s.skipped()[0].name == "bad");
  CHECK(s.skipped()[0].file == "/usr/include/lib.h");
  CHECK(s.skipped()[0].line == 42);
  CHECK(s.skipped()[0].column == 12);
  CHECK(s.skipped()[1].file == "x.c");
  CHECK(s.skipped()[1].line == 7);
  CHECK(s.skipped()[1].message == "line 7, column 7 of x.c: expected a type, found end of input");
}

TEST_CASE("a lenient parse skips what it does not understand, each with its position", "[cdecl][headers]") {
  CScope s;
  s.parse(R"(int a(int);
struct dec { _Decimal64 x; } var;
int b(_Decimal32);
typedef int broken(int;
int c(void) { return sizeof(struct { _Decimal128 q; }); }
__auto_type z = 1;
int d(void);)",
          tramp::CParseOptions{true});
  CHECK(s.function("a") != nullptr);
  CHECK(s.function("c") != nullptr);  // the body is skipped unread
  CHECK(s.function("d") != nullptr);
  CHECK(s.function("b") == nullptr);
  CHECK(s.declaration_count() == 7);
  REQUIRE(s.skipped().size() == 4);
  CHECK(s.skipped()[0].name == "struct dec");
  CHECK(s.skipped()[0].line == 2);
  CHECK(s.skipped()[1].name == "b");
  CHECK(s.skipped()[1].message == "line 3, column 7: '_Decimal32' types are not supported");
  CHECK(s.skipped()[2].name == "broken");
  CHECK(s.skipped()[2].message == "line 4, column 23: expected ',' or ')' in the parameter list, found ';'");
  CHECK(s.skipped()[3].line == 6);
  // Strict, the first one throws and nothing is added.
  CScope strict;
  CHECK_THROWS_WITH(strict.parse("int a(int);\nint b(_Decimal32);"), "line 2, column 7: '_Decimal32' types are not supported");
  CHECK(strict.function("a") == nullptr);
  // Whatever is skipped, the parse goes on after it: a stray '}' or ')' too.
  CScope odd;
  odd.parse("} int p(void); ) int q(void); struct { _Decimal64 y; } r(void) { } int t(void);", tramp::CParseOptions{true});
  CHECK(odd.function("p") != nullptr);
  CHECK(odd.function("t") != nullptr);
}

TEST_CASE("gcc's types: va_list, _FloatN, __int128, mode, typeof, transparent unions", "[cdecl][headers]") {
  const char* decls = R"(typedef __builtin_va_list va;
    int vf(const char*, va);
    _Float32 fl(_Float64, _Float32x, _Float128);
    __extension__ typedef unsigned __int128 u128_t;
    u128_t w(__int128);
    typedef int reg_t __attribute__((__mode__(__word__)));
    typedef unsigned int u8_t __attribute__((mode(QI)));
    reg_t r(u8_t);
    typeof(int*) tp(__typeof__(1L), typeof(2u));
    typedef union { int* a; long* b; } arg_t __attribute__((__transparent_union__));
    int bind(arg_t);
    struct al { char c; _Alignas(8) char d; };)";
  auto sig = [&](Abi abi, const char* name) {
    CScope s(abi);
    s.parse(decls);
    return s.function(name)->signature.str(true);
  };
  CHECK(sig(Abi::SysV_X64, "vf") == "sysv:i32(ptr, ptr)");  // an array of one record: a pointer
  CHECK(sig(Abi::Aapcs64, "vf") == "aapcs64:i32(ptr, {ptr, ptr, ptr, i32, i32})");
  CHECK(sig(Abi::Win64, "vf") == "win64:i32(ptr, ptr)");
  CHECK(sig(Abi::SysV_X64, "fl") == "sysv:f32(f64, f64, f128)");
  CHECK(sig(Abi::SysV_X64, "w") == "sysv:u128(i128)");
  CHECK(sig(Abi::SysV_X64, "r") == "sysv:i64(u8)");
  CHECK(sig(Abi::SysV_X64, "tp") == "sysv:ptr(i64, u32)");
  CHECK(sig(Abi::SysV_X64, "bind") == "sysv:i32(ptr)");
  CScope s;
  s.parse(decls);
  CHECK(s.type("struct al")->fields()[1].offset == 8);
  // _Float64x is the ABI's long double where that is wider than double.
  CHECK(parse_c_function("_Float64x f(void);", Abi::SysV_X64).signature.str(true) == "sysv:f80()");
  CHECK(parse_c_function("_Float64x f(void);", Abi::Aapcs64).signature.str(true) == "aapcs64:f128()");
  CHECK_THROWS_WITH(parse_c_function("_Float64x f(void);", Abi::AppleArm64),
                    "line 1, column 1: _Float64x: apple-arm64 has no type wider than double");
  CHECK_THROWS_WITH(parse_c_function("_Float128 f(void);", Abi::AppleArm64),
                    "line 1, column 1: _Float128: apple-arm64 has no 128-bit floating type");
}

TEST_CASE("flexible array members: through a pointer, not by value", "[cdecl][headers]") {
  CScope s;
  s.parse("struct fam { int n; double d[]; }; int use(struct fam*); typedef struct fam fam_t; extern const char v[];");
  CHECK(s.type("struct fam")->size() == sizeof(Fam));
  CHECK(s.type("struct fam")->align() == alignof(Fam));
  CHECK(s.function("use") != nullptr);
  CHECK_THROWS_WITH(CScope(s).parse("fam_t byval(void);"),
                    "line 1, column 7: struct fam ends in a flexible array member: use it through a pointer (by value "
                    "the member is lost)");
  s.parse("struct old { int n; char data[0]; }; int (*p)[];");
  CHECK(s.type("struct old")->size() == 4);
}

TEST_CASE("constant expressions have C's types", "[cdecl][headers]") {
  CScope s(Abi::SysV_X64);
  s.parse(R"(enum e {
    A = 1 << 31, B = 0xffffffffu, C = 'a', D = sizeof(long) * 2, E = (unsigned char)300,
    F = 5 > 3 ? 10 : 1 / 0, G = -1L, H = (signed char)0x80, I = !0 + (1 && 0) + (0 || 2),
    J = 0x7fffffffffffffff, K = ~0u, L = 10 % 3 - 9 / 2, M = (int)2.9 + '\n', N = 0b101,
  };
  enum small : unsigned char { X = 255 };
  enum small pick(enum small);
  enum fwd;
  enum fwd* fp(void);)");
  auto v = [&](const char* n) { return constant_of(s, n).integer; };
  CHECK(v("A") == INT32_MIN);
  CHECK(constant_of(s, "A").type == tramp::Type::i32());
  CHECK(v("B") == 0xffffffffLL);
  CHECK(constant_of(s, "B").type == tramp::Type::i64());  // int cannot hold it: the enum's type
  CHECK(v("C") == 'a');
  CHECK(v("D") == 16);
  CHECK(v("E") == 44);
  CHECK(v("F") == 10);
  CHECK(v("G") == -1);
  CHECK(v("H") == -128);
  CHECK(v("I") == 2);
  CHECK(v("J") == INT64_MAX);
  CHECK(v("K") == 0xffffffffLL);
  CHECK(v("L") == -3);
  CHECK(v("M") == 12);
  CHECK(v("N") == 5);
  CHECK(s.type("enum e") == tramp::Type::i64());
  CHECK(s.function("pick")->signature.str(true) == "sysv:u8(u8)");
  CHECK(s.function("fp") != nullptr);
  CHECK(error_of("enum { V = 1 << 32 };").find("a shift out of range") != std::string::npos);
  CHECK(error_of("enum { V = 3 << 31 };").find("a shift out of range") != std::string::npos);
  CHECK(error_of("enum { V = 2147483647 + 1 };").find("the constant overflows int") != std::string::npos);
  CHECK(error_of("enum { V = 9223372036854775807L + 1 };").find("the constant overflows 64 bits") != std::string::npos);
  CHECK(error_of("int a[1.5];").find("an integer constant is needed here") != std::string::npos);
  CHECK(error_of("enum t : float { Y };").find("underlying type must be an integer") != std::string::npos);
  CHECK(error_of("enum small2 : unsigned char { Z = 256 };").find("does not fit") != std::string::npos);
  CHECK(error_of("int a[(struct { int x; })1];").find("a cast to") != std::string::npos);
}

TEST_CASE("function pointers keep their signatures for callbacks", "[cdecl][headers]") {
  CScope s(Abi::SysV_X64);
  s.parse(R"(typedef int fn_t(const char*, ...);
    typedef void (*handler_t)(void* user, const char* name, const char** atts);
    typedef const char* name_t;
    extern fn_t logf_;
    int run(void* db, int (*cb)(void*, int, char**, char**), handler_t h, fn_t* f, int n);
    name_t version(void);)");
  REQUIRE(s.function("logf_") != nullptr);  // declared through the function type
  CHECK(s.function("logf_")->signature.str(true) == "sysv:i32(ptr, ...)");
  const tramp::CFunction* run = s.function("run");
  REQUIRE(run != nullptr);
  REQUIRE(run->callbacks.size() == 5);
  CHECK(run->callbacks[0] == nullptr);
  REQUIRE(run->callbacks[1] != nullptr);
  CHECK(run->callbacks[1]->str(true) == "sysv:i32(ptr, i32, ptr, ptr)");
  REQUIRE(run->callbacks[2] != nullptr);
  CHECK(run->callbacks[2]->str(true) == "sysv:void(ptr, ptr, ptr)");
  REQUIRE(run->callbacks[3] != nullptr);
  CHECK(run->callbacks[3]->variadic());
  CHECK(run->callbacks[4] == nullptr);
  REQUIRE(s.function_type("handler_t") != nullptr);
  CHECK(s.function_type("handler_t")->str(true) == "sysv:void(ptr, ptr, ptr)");
  CHECK(s.function_type("fn_t")->str(true) == "sysv:i32(ptr, ...)");
  CHECK(s.function_type("name_t") == nullptr);
  CHECK(s.function("version")->returns_c_string);  // a char* through a typedef
}

TEST_CASE("after an error, what the failed attempt read is skipped with it (linear time)", "[cdecl][headers]") {
  // Each "_Static_assert(" reads to the end of the input looking for its ')': were each ';'
  // the start of a new attempt, 20000 of them would take quadratic time.
  std::string text = "int before(void);\n";
  for (int i = 0; i < 20000; ++i) text += "_Static_assert( ; ";
  CScope s;
  s.parse(text, tramp::CParseOptions{true});
  CHECK(s.function("before") != nullptr);
  REQUIRE(s.skipped().size() == 1);
  CHECK(s.skipped()[0].message == "line 2, column 15: expected ')' closing this '(', found end of input");
}

TEST_CASE("a lenient parse never throws: an unclosed comment or literal is skipped", "[cdecl][headers]") {
  CScope s;
  s.parse("int f(void);\n/* open", tramp::CParseOptions{true});
  CHECK(s.function("f") != nullptr);
  CHECK(s.declaration_count() == 2);
  REQUIRE(s.skipped().size() == 1);
  CHECK(s.skipped()[0].message == "line 2, column 1: expected '*/' closing this comment, found end of input");
  CScope t;
  t.parse("int g(void);\n\"open; int h(void);", tramp::CParseOptions{true});  // a literal no declaration starts with
  CHECK(t.function("g") != nullptr);
  CHECK(t.function("h") == nullptr);  // a literal ends on its line: the rest of it is skipped with it
  REQUIRE(t.skipped().size() == 1);
  CHECK(t.skipped()[0].message == "line 2, column 1: expected '\"' closing this literal, found end of input");
}
