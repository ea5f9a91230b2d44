// C values as text (core/values.cpp): text -> bytes -> text for every scalar kind, records,
// unions and arrays; range and syntax errors; the promoted type of a literal after '...';
// telling a C declaration from the signature syntax.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

using tramp::Type;

namespace {

// text -> bytes -> text.
std::string round_trip(const Type* t, const std::string& text) {
  std::deque<std::string> strings;
  std::vector<unsigned char> buf(t->size() + 16, 0xAA);
  auto* dst = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(buf.data()) + 15) & ~std::uintptr_t{15});
  tramp::parse_value(text, t, dst, strings);
  return tramp::format_value(t, dst);
}

std::string error_of(const Type* t, const std::string& text) {
  std::deque<std::string> strings;
  alignas(16) unsigned char buf[256];
  try {
    tramp::parse_value(text, t, buf, strings);
  } catch (const tramp::Error& e) {
    CHECK(e.code() == tramp::ErrorCode::Syntax);
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("values: every scalar kind round-trips text -> bytes -> text", "[values]") {
  CHECK(round_trip(Type::bool_(), "true") == "true");
  CHECK(round_trip(Type::bool_(), "0") == "false");
  CHECK(round_trip(Type::i8(), "-128") == "-128");
  CHECK(round_trip(Type::u8(), "255") == "255");
  CHECK(round_trip(Type::i16(), "-32768") == "-32768");
  CHECK(round_trip(Type::u16(), "0xffff") == "65535");
  CHECK(round_trip(Type::i32(), "-2147483648") == "-2147483648");
  CHECK(round_trip(Type::u32(), "4294967295") == "4294967295");
  CHECK(round_trip(Type::i32(), "017") == "15");  // C's octal
  CHECK(round_trip(Type::i64(), "-9223372036854775808") == "-9223372036854775808");
  CHECK(round_trip(Type::u64(), "18446744073709551615") == "18446744073709551615");
  CHECK(round_trip(Type::i128(), "-170141183460469231731687303715884105728") ==
        "-170141183460469231731687303715884105728");
  CHECK(round_trip(Type::u128(), "340282366920938463463374607431768211455") ==
        "340282366920938463463374607431768211455");
  CHECK(round_trip(Type::f32(), "2.5") == "2.5");
  CHECK(round_trip(Type::f32(), "0.1") == "0.100000001");
  CHECK(round_trip(Type::f64(), "0.1") == "0.10000000000000001");
  CHECK(round_trip(Type::f64(), "-inf") == "-inf");
  CHECK(round_trip(Type::f64(), "nan") == "nan");
#if defined(__x86_64__)
  CHECK(round_trip(Type::f80(), "1.5") == "1.5");
#else
  CHECK_THROWS_AS(round_trip(Type::f80(), "1.5"), tramp::Error);  // no x87 long double here
#endif
  CHECK(round_trip(Type::f128(), "-3.25") == "-3.25");
  CHECK(round_trip(Type::pointer(), "0x7f0012345678") == "0x7f0012345678");
  CHECK(round_trip(Type::pointer(), "null") == "0x0");
  // And what format_value writes parses back to the same bytes.
  for (const char* text : {"0.10000000000000001", "1.7976931348623157e+308", "4.9406564584124654e-324"})
    CHECK(round_trip(Type::f64(), round_trip(Type::f64(), text)) == text);
}

TEST_CASE("values: records, unions, arrays and strings", "[values]") {
  const Type* rec = tramp::parse_type("{i8, f64, {u16, i32[3]}, bool}");
  CHECK(round_trip(rec, " { -1, 2.5, {7, [1, -2, 3]}, true } ") == "{-1, 2.5, {7, [1, -2, 3]}, true}");
  CHECK(round_trip(tramp::parse_type("union{i32, f32}"), "{-5}") == "{-5}");
  CHECK(round_trip(tramp::parse_type("{u8[2][2]}"), "{[[1, 2], [3, 4]]}") == "{[[1, 2], [3, 4]]}");
  // Named records read and print the same way.
  tramp::CScope scope;
  scope.parse("struct p { int x; double y; };");
  CHECK(round_trip(scope.type("struct p"), "{1, 2}") == "{1, 2}");

  std::deque<std::string> strings;
  const char* p = nullptr;
  tramp::parse_value(R"("a\tb\x41\"\\")", Type::pointer(), &p, strings);
  REQUIRE(strings.size() == 1);
  CHECK(p == strings.front().c_str());
  CHECK(std::string(p) == "a\tbA\"\\");
}

TEST_CASE("values: range and syntax errors say what and where", "[values][errors]") {
  CHECK(error_of(Type::i32(), "99999999999") == "99999999999 is out of range for i32 (-2147483648 to 2147483647)");
  CHECK(error_of(Type::u8(), "-1") == "-1 is out of range for u8 (0 to 255)");
  CHECK(error_of(Type::u8(), "0x100") == "0x100 is out of range for u8 (0 to 255)");
  CHECK(error_of(Type::bool_(), "2") == "2 is out of range for bool (0 to 1)");
  CHECK(error_of(Type::bool_(), "yes") == "'yes' is not a bool (true, false, 1, 0)");
  CHECK(error_of(Type::u64(), "18446744073709551616") ==
        "18446744073709551616 is out of range for u64 (0 to 18446744073709551615)");
  CHECK(error_of(Type::f64(), "1e999") == "1e999 is out of range for f64 (largest finite magnitude 1.7976931348623157e+308)");
  CHECK(error_of(Type::f32(), "1e39") == "1e39 is out of range for f32 (largest finite magnitude 3.40282347e+38)");
  CHECK(error_of(Type::f64(), "abc") == "'abc' is not a number for f64");
  CHECK(error_of(Type::i32(), "12x") == "'12x' is not an integer");
  CHECK(error_of(tramp::parse_type("{i32, i32}"), "{1 2}") == "expected ',' at offset 3");
  CHECK(error_of(tramp::parse_type("{i32}"), "{1} 2") == "unexpected '2' after the value");
  CHECK(error_of(Type::pointer(), "\"open") == "string literal without its closing quote");
  CHECK(error_of(Type::pointer(), R"("\q")") == "unknown escape \\q");
  std::deque<std::string> strings;
  alignas(16) unsigned char buf[16];
  try {
    tramp::parse_value("{1, x}", tramp::parse_type("{i32, i32}"), buf, strings);
    FAIL("accepted");
  } catch (const tramp::Error& e) {
    CHECK(e.position() == 5);
  }
  CHECK_THROWS_AS(tramp::parse_value("1", Type::void_(), buf, strings), tramp::Error);
}

TEST_CASE("values: the promoted type of a literal after '...'", "[values]") {
  CHECK(tramp::promoted_literal_type("\"s\"") == Type::pointer());
  CHECK(tramp::promoted_literal_type("null") == Type::pointer());
  CHECK(tramp::promoted_literal_type("2.5") == Type::f64());
  CHECK(tramp::promoted_literal_type("1e3") == Type::f64());
  CHECK(tramp::promoted_literal_type("-inf") == Type::f64());
  CHECK(tramp::promoted_literal_type("0xe") == Type::i32());  // hex: an integer despite the 'e'
  CHECK(tramp::promoted_literal_type(" 42") == Type::i32());
  CHECK(tramp::promoted_literal_type("2147483648") == Type::i64());
  CHECK(tramp::promoted_literal_type("99999999999999999999") == Type::i64());  // parse_value refuses it
  CHECK_THROWS_WITH(tramp::promoted_literal_type(""), "empty literal");
  CHECK_THROWS_WITH(tramp::promoted_literal_type("{1}"), Catch::Contains("no type of its own"));
  CHECK_THROWS_WITH(tramp::promoted_literal_type("abc"), "not a number, string or null");
}

TEST_CASE("values: a C declaration or the signature syntax", "[values]") {
  for (const char* c : {"double hypot(double, double)", "char* f(void)", "int f(void);", "typedef int t; t f(t)",
                        "struct s { int a; }; struct s f(void)", "const char* strerror(int)",
                        "__attribute__((ms_abi)) int f(int)", "int (*signal(int, void (*)(int)))(int);"})
    CHECK(tramp::looks_like_c_declaration(c));
  // A heuristic: a declarator in parentheses without a ';' reads as a signature (the C parser
  // is not asked).
  CHECK_FALSE(tramp::looks_like_c_declaration("int (*signal(int, void (*)(int)))(int)"));
  for (const char* sig : {"f64(f64, f64)", "{i32, i32}(i32)", "win64:i32(ptr, ...f64)", "void()", "ptr(ptr)", "f64"})
    CHECK_FALSE(tramp::looks_like_c_declaration(sig));
}
