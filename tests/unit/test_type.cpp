// Type layout against the C++ compiler's own sizeof/alignof/offsetof, and interning.
#include <catch2/catch.hpp>

#include <cstddef>

#include "tramp/tramp.hpp"

using tramp::Type;

namespace {

struct S1 { char a; double b; int c; };
struct S2 { float x[3]; };
struct S3 { char a; S1 inner; short s[5]; };
struct __attribute__((packed)) P1 { char a; int b; double c; };
struct __attribute__((aligned(32))) A1 { char a; };
struct M1 { char a; int b __attribute__((aligned(16))); char c; };
struct __attribute__((packed)) PM { char a; int b __attribute__((aligned(8))); char c; };
union U1 { char c[5]; double d; int i; };
struct LD { char c; long double x; };
struct I128 { char c; __int128 v; };

const Type* f(std::string_view s) { return tramp::parse_type(s); }

}  // namespace

TEST_CASE("record layout matches the compiler", "[type]") {
  const Type* s1 = f("{i8, f64, i32}");
  CHECK(s1->size() == sizeof(S1));
  CHECK(s1->align() == alignof(S1));
  CHECK(s1->fields()[1].offset == offsetof(S1, b));
  CHECK(s1->fields()[2].offset == offsetof(S1, c));

  CHECK(f("{f32[3]}")->size() == sizeof(S2));

  const Type* s3 = f("{i8, {i8, f64, i32}, i16[5]}");
  CHECK(s3->size() == sizeof(S3));
  CHECK(s3->fields()[1].offset == offsetof(S3, inner));
  CHECK(s3->fields()[2].offset == offsetof(S3, s));

  const Type* p1 = f("packed {i8, i32, f64}");
  CHECK(p1->size() == sizeof(P1));
  CHECK(p1->align() == alignof(P1));
  CHECK(p1->fields()[2].offset == offsetof(P1, c));

  const Type* a1 = f("{i8} align(32)");
  CHECK(a1->size() == sizeof(A1));
  CHECK(a1->align() == alignof(A1));

  const Type* m1 = f("{i8, alignas(16) i32, i8}");
  CHECK(m1->size() == sizeof(M1));
  CHECK(m1->align() == alignof(M1));
  CHECK(m1->fields()[1].offset == offsetof(M1, b));
  CHECK(m1->fields()[2].offset == offsetof(M1, c));

  const Type* pm = f("packed {i8, alignas(8) i32, i8}");
  CHECK(pm->size() == sizeof(PM));
  CHECK(pm->align() == alignof(PM));
  CHECK(pm->fields()[1].offset == offsetof(PM, b));

  const Type* u1 = f("union {i8[5], f64, i32}");
  CHECK(u1->size() == sizeof(U1));
  CHECK(u1->align() == alignof(U1));

  CHECK(f("{i8, f80}")->size() == sizeof(LD));
  CHECK(f("{i8, f80}")->fields()[1].offset == offsetof(LD, x));
  CHECK(f("{i8, i128}")->size() == sizeof(I128));
  CHECK(f("{i8, i128}")->align() == alignof(I128));
}

TEST_CASE("scalars have their LP64 sizes", "[type]") {
  CHECK(Type::bool_()->size() == sizeof(bool));
  CHECK(Type::i16()->size() == 2);
  CHECK(Type::f80()->size() == sizeof(long double));
  CHECK(Type::f80()->align() == alignof(long double));
  CHECK(Type::pointer()->size() == sizeof(void*));
  CHECK(Type::i128()->align() == alignof(__int128));
  CHECK(Type::i8()->is_signed());
  CHECK_FALSE(Type::u8()->is_signed());
  CHECK(Type::f64()->is_float());
  CHECK(Type::pointer()->is_scalar());
  CHECK_FALSE(f("{i32}")->is_scalar());
}

TEST_CASE("types are interned: equal descriptions give one Type", "[type]") {
  CHECK(f("{i32, f64}") == f("{ i32 ,f64 }"));
  CHECK(f("{i32, f64}") == Type::struct_({{Type::i32()}, {Type::f64()}}));
  CHECK(f("{i32, f64}") != f("packed {i32, f64}"));
  CHECK(f("{i32, f64}") != f("union {i32, f64}"));
  CHECK(f("i32[4]") == Type::array(Type::i32(), 4));
  CHECK(f("i32[2][3]")->count() == 2);
  CHECK(f("i32[2][3]")->element()->count() == 3);
  CHECK(f("i32*") == Type::pointer());
  CHECK(f("int") == Type::i32());
  CHECK(f("longdouble") == Type::f80());
  CHECK(tramp::parse_type("longdouble", tramp::Abi::Aapcs64) == Type::f128());
  CHECK(tramp::parse_type("longdouble", tramp::Abi::AppleArm64) == Type::f64());
}

TEST_CASE("str() is the canonical text form and parses back to the same type", "[type]") {
  const char* texts[] = {"{i32, f64}", "packed {i8, alignas(8) i32, i8}", "union{i8[5], f64} align(16)",
                         "{{f32, f32}[2], ptr}", "i32[2][3]", "{i128, u128, f80, f128, bool}"};
  for (const char* t : texts) {
    INFO(t);
    const Type* a = f(t);
    CHECK(f(a->str()) == a);
  }
  CHECK(f("{i32,f64}")->str() == "{i32, f64}");
}

TEST_CASE("impossible types are refused", "[type][errors]") {
  CHECK_THROWS_AS(Type::struct_(std::initializer_list<tramp::FieldSpec>{}), tramp::Error);
  CHECK_THROWS_WITH(Type::struct_({{Type::i32()}, {Type::void_()}}), Catch::Contains("member 1"));
  CHECK_THROWS_WITH(Type::struct_({{Type::i32(), 3}}), Catch::Contains("power of two"));
  CHECK_THROWS_AS(Type::array(Type::i32(), 0), tramp::Error);
  CHECK_THROWS_AS(Type::array(Type::void_(), 2), tramp::Error);
  CHECK_THROWS_AS(Type::array(Type::i64(), std::size_t{1} << 40), tramp::Error);
}
