// The one nesting limit (tramp::kMaxTypeDepth) for every way a type is made, and
// classification in time linear in the type at that limit, for every ABI.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::ErrorCode;
using tramp::FieldSpec;
using tramp::Type;

namespace {

// Applies `wrap` until it throws (at most `tries` times); returns how deep the deepest type
// it made is, and that type in `deepest`.
std::size_t wrap_until_refused(const std::function<const Type*(const Type*)>& wrap, const Type*& deepest,
                               std::string& message, std::size_t tries = 100'000) {
  deepest = Type::i32();
  for (std::size_t i = 0; i < tries; ++i) {
    try {
      deepest = wrap(deepest);
    } catch (const tramp::Error& e) {
      CHECK(e.code() == ErrorCode::InvalidType);
      message = e.what();
      break;
    }
  }
  return deepest->depth();
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string r;
  for (std::size_t i = 0; i < n; ++i) r += s;
  return r;
}

}  // namespace

TEST_CASE("the C++ builders make types 64 levels deep and refuse the 65th", "[type][errors]") {
  const std::function<const Type*(const Type*)> wraps[] = {
      [](const Type* t) { return Type::struct_({{t}}); },
      [](const Type* t) { return Type::union_({{t}, {Type::f32()}}); },
      [](const Type* t) { return Type::array(t, 1); },
      [](const Type* t) { return t->kind() == tramp::TypeKind::Array ? Type::struct_({{t}}) : Type::array(t, 1); },
  };
  for (const auto& wrap : wraps) {
    const Type* deepest = nullptr;
    std::string message;
    CHECK(wrap_until_refused(wrap, deepest, message) == tramp::kMaxTypeDepth);
    CHECK_THAT(message, Catch::Contains("nested 65 levels deep: the limit is 64"));
    // Every walk over the deepest type is bounded: its text form parses back to it.
    CHECK(tramp::parse_type(deepest->str()) == deepest);
  }
  CHECK(Type::i32()->depth() == 0);
  CHECK(Type::struct_({{Type::i8()}, {Type::array(Type::i8(), 3)}})->depth() == 2);
  // The deepest member decides, wherever it is.
  const Type* deep = Type::i32();
  while (deep->depth() < tramp::kMaxTypeDepth) deep = Type::struct_({{deep}});
  CHECK_THROWS_WITH(Type::struct_({{Type::i8()}, {deep}}), Catch::Contains("struct nested 65 levels deep"));
  CHECK_THROWS_WITH(Type::union_({{deep}, {Type::i8()}}), Catch::Contains("union nested 65 levels deep"));
  CHECK_THROWS_WITH(Type::array(deep, 3), Catch::Contains("array nested 65 levels deep"));
}

TEST_CASE("the signature parser's nesting limit is Type's", "[signature][errors]") {
  const std::string records = repeat("{", 64) + "i32" + repeat("}", 64);
  CHECK(tramp::parse_type(records)->depth() == tramp::kMaxTypeDepth);
  CHECK_THROWS_WITH(tramp::parse_type("{" + records + "}"), Catch::Contains("64 levels"));
  const std::string arrays = "i32" + repeat("[1]", 64);
  CHECK(tramp::parse_type(arrays)->depth() == tramp::kMaxTypeDepth);
  CHECK_THROWS_WITH(tramp::parse_type(arrays + "[1]"), Catch::Contains("64 levels"));
}

TEST_CASE("the C declaration parser's nesting limit is Type's", "[cdecl][errors]") {
  // Nested record definitions.
  std::string nested = "struct s0 { int v; };";
  for (int i = 1; i < 64; ++i)
    nested = "struct s" + std::to_string(i) + " { " + nested.substr(0, nested.size() - 1) + " m; };";
  tramp::CScope scope;
  scope.parse(nested);
  CHECK(scope.type("struct s63")->depth() == tramp::kMaxTypeDepth);
  CHECK_THROWS_WITH(tramp::CScope().parse("struct t { " + nested.substr(0, nested.size() - 1) + " m; };"),
                    Catch::Contains("nesting deeper than 64"));
  // Depth built up by typedefs, one array level each: no parser nesting, Type refuses.
  std::string typedefs = "typedef int a0;";
  for (int i = 1; i <= 64; ++i)
    typedefs += " typedef a" + std::to_string(i - 1) + " a" + std::to_string(i) + "[1];";
  tramp::CScope arrays;
  arrays.parse(typedefs);
  CHECK(arrays.type("a64")->depth() == tramp::kMaxTypeDepth);
  try {
    arrays.parse("typedef a64 a65[1];");
    FAIL("a 65-level array was made");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == ErrorCode::InvalidType);
    CHECK_THAT(e.what(), Catch::Contains("array nested 65 levels deep: the limit is 64"));
  }
  CHECK_THROWS_WITH(arrays.parse("struct w { a64 m; };"), Catch::Contains("struct nested 65 levels deep"));
}

TEST_CASE("100,000 prefix operators in a C constant are no stack overflow", "[cdecl][errors]") {
  // An even number of each cancels out.
  tramp::CScope sizes;
  sizes.parse("typedef char t[" + std::string(100'000, '~') + "3];");
  CHECK(sizes.type("t")->size() == 3);
  sizes.parse("typedef char u[" + repeat("- ", 100'000) + "+ 5];");
  CHECK(sizes.type("u")->size() == 5);
  // An odd number: ~3 is -4, a size that is refused, not a crash.
  CHECK_THROWS_AS(tramp::CScope().parse("typedef char v[" + std::string(100'001, '~') + "3];"), tramp::Error);
  CHECK_THROWS_WITH(tramp::CScope().parse("typedef char w[" + repeat("- ", 99'999) + "(-9223372036854775807 - 1)];"),
                    Catch::Contains("overflows"));
}

TEST_CASE("every ABI classifies types at the nesting limit in linear time", "[abi][sysv][win64][aapcs64]") {
  auto nested = [](const std::string& open, const std::string& leaf, const std::string& close, std::size_t n) {
    return repeat(open, n) + leaf + repeat(close, n);
  };
  const std::string shapes[] = {
      nested("{", "i32", "}", 64),
      nested("{", "f64", "}", 64),
      nested("{", "longdouble", "}", 64),
      nested("union{", "f32", ", i32}", 64),
      nested("union{", "f64", ", f32}", 64),
      nested("{", "f32", "[1]}", 32),
      nested("{", "f64[1]", ", f64}", 32),
      nested("union{{", "f64", "}, longdouble}", 32),
      nested("{", "u8", ", u8}", 64),
  };
  const auto start = std::chrono::steady_clock::now();
  for (Abi abi : {Abi::SysV_X64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64}) {
    for (const std::string& t : shapes) {
      INFO(tramp::abi_name(abi) << " " << t);
      const tramp::Signature sig = tramp::parse_signature(t + "(i32, " + t + ", " + t + ")", abi);
      try {
        CHECK_THAT(tramp::plan_text(sig), Catch::Contains("arg 2"));
      } catch (const tramp::Error& e) {
        CHECK(e.code() == ErrorCode::Unsupported);  // long double on Apple arm64 and so on
      }
    }
  }
  // Exponential classification took 1.3 s at 28 levels and never ended at 40.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}
