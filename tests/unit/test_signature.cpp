// The signature text form: parsing, printing, errors with positions, robustness.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "tramp/tramp.hpp"

using tramp::parse_signature;

namespace {
std::size_t error_position(std::string_view text) {
  try {
    parse_signature(text);
  } catch (const tramp::Error& e) {
    return e.position();
  }
  return tramp::Error::kNoPosition;
}
}  // namespace

TEST_CASE("signatures parse into return type, arguments, variadic index and ABI", "[signature]") {
  auto s = parse_signature("f64(f64, f64)");
  CHECK(s.ret() == tramp::Type::f64());
  CHECK(s.arg_count() == 2);
  CHECK_FALSE(s.variadic());
  CHECK(s.abi() == tramp::host_abi());

  auto v = parse_signature("i32(ptr, ...f64, i32)");
  CHECK(v.variadic());
  CHECK(v.fixed_count() == 1);
  CHECK(v.is_variadic_arg(1));
  CHECK_FALSE(v.is_variadic_arg(0));

  auto v0 = parse_signature("i32(ptr, ...)");
  CHECK(v0.variadic());
  CHECK(v0.fixed_count() == 1);
  CHECK(v0.arg_count() == 1);

  auto w = parse_signature("win64:{f32, f32}(ptr, u8)");
  CHECK(w.abi() == tramp::Abi::Win64);
  CHECK(parse_signature("void(void)").arg_count() == 0);
  CHECK(parse_signature("void()").arg_count() == 0);
  CHECK(parse_signature("apple-arm64:i32(i32)").abi() == tramp::Abi::AppleArm64);
}

TEST_CASE("str() round-trips and equal signatures hash equally", "[signature]") {
  const char* texts[] = {"f64(f64, f64)", "i32(ptr, ...f64, i32)", "i32(ptr, ...)", "void()",
                         "{i8, f64}({i8, f64}, packed {i8, i32}, union{f32, i32} align(8))", "win64:i64(i32)"};
  for (const char* t : texts) {
    INFO(t);
    auto s = parse_signature(t);
    auto back = parse_signature(s.str());
    CHECK(back == s);
    CHECK(back.hash() == s.hash());
  }
  CHECK(parse_signature("f64(f64,f64)").str() == "f64(f64, f64)");
  CHECK(parse_signature("win64:i64(i32)").str() == "win64:i64(i32)");
  CHECK(parse_signature("i32(i32)").str(true) == "sysv:i32(i32)");
  CHECK_FALSE(parse_signature("i32(i32)") == parse_signature("win64:i32(i32)"));
  CHECK_FALSE(parse_signature("i32(ptr, ...i32)") == parse_signature("i32(ptr, i32)"));
}

TEST_CASE("the builder makes the same signature as the text", "[signature]") {
  using tramp::Type;
  auto b = tramp::SignatureBuilder(Type::i32()).arg(Type::pointer()).variadic().arg(Type::f64()).arg(Type::i32()).build();
  CHECK(b == parse_signature("i32(ptr, ...f64, i32)"));
}

TEST_CASE("malformed signatures report the position and what was expected", "[signature][errors]") {
  CHECK(error_position("f64(f64, f64") == 12);
  CHECK_THROWS_WITH(parse_signature("f64(f64, f64"), Catch::Contains("expected ',' or ')'") && Catch::Contains("end of input"));
  CHECK(error_position("f64(f64,, f64)") == 8);
  CHECK_THROWS_WITH(parse_signature("f64(dbl)"), Catch::Contains("expected a type") && Catch::Contains("'dbl'"));
  CHECK(error_position("f64(dbl)") == 4);
  CHECK_THROWS_WITH(parse_signature("mips:i32()"), Catch::Contains("ABI name"));
  CHECK_THROWS_WITH(parse_signature("i32(void, i32)"), Catch::Contains("argument 0") && Catch::Contains("void"));
  CHECK(error_position("i32(i32, void)") == 9);
  CHECK_THROWS_WITH(parse_signature("i32(i32[4])"), Catch::Contains("arrays cannot be passed by value"));
  CHECK_THROWS_WITH(parse_signature("i32({})"), Catch::Contains("expected a type"));
  CHECK_THROWS_WITH(parse_signature("i32({i32, void})"), Catch::Contains("member 1"));
  CHECK_THROWS_WITH(parse_signature("i32({i32} align(3))"), Catch::Contains("power-of-two"));
  CHECK_THROWS_WITH(parse_signature("i32(i32[0])"), Catch::Contains("at least 1"));
  CHECK_THROWS_WITH(parse_signature("i32(i32) trailing"), Catch::Contains("end of input"));
  CHECK_THROWS_WITH(parse_signature("i32(ptr, ...i32, ...i32)"), Catch::Contains("second '...'"));
  CHECK_THROWS_WITH(parse_signature("i32(i8[99999999999999999999])"), Catch::Contains("below 2^31"));
  std::string deep(100, '{');
  CHECK_THROWS_WITH(parse_signature("i32(" + deep + "i32" + std::string(100, '}') + ")"), Catch::Contains("64 levels"));
  try {
    parse_signature("f64(f64, f64");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == tramp::ErrorCode::Syntax);
  }
}

TEST_CASE("random and mutated input never escapes as anything but tramp::Error", "[signature][fuzz]") {
  std::mt19937_64 rng(99);
  const std::string seeds[] = {"i32(ptr, ...f64, i32)", "{i8, f64}(packed {i8, alignas(8) i32}, union{f32} align(16))",
                               "win64:f80(i32[2][3]*, {{f32}[2]})"};
  const std::string alphabet = "{}()[],.*:0123456789 abcdefilnoprstuvx";
  int parsed = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[rng() % 3];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      std::size_t at = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        default: if (at < s.size()) s[at] = static_cast<char>(rng() % 256); break;
      }
    }
    try {
      parse_signature(s);
      ++parsed;
    } catch (const tramp::Error& e) {
      ++refused;
      CHECK((e.position() <= s.size() || e.position() == tramp::Error::kNoPosition));
    }
  }
  CHECK(parsed > 0);
  CHECK(refused > 0);
}
