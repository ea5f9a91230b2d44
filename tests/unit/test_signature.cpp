// Signatures and the text form: parsing, printing, hashing, errors with positions, and
// robustness against arbitrary input.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <unordered_set>

#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::ErrorCode;
using tramp::parse_signature;
using tramp::Signature;
using tramp::Type;

namespace {

struct Failure {
  ErrorCode code;
  std::size_t position;
  std::string message;
};

template <class F>
Failure failure_of(F&& parse) {
  try {
    parse();
  } catch (const tramp::Error& e) {
    return {e.code(), e.position(), e.what()};
  }
  FAIL("no error was thrown");
  return {};
}

Failure sig_failure(std::string_view text) {
  return failure_of([&] { parse_signature(text); });
}

}  // namespace

TEST_CASE("signatures parse into return type, arguments, variadic index and ABI", "[signature]") {
  auto s = parse_signature("f64(f64, f64)");
  CHECK(s.ret() == Type::f64());
  REQUIRE(s.arg_count() == 2);
  CHECK(s.args()[0] == Type::f64());
  CHECK_FALSE(s.variadic());
  CHECK(s.fixed_count() == 2);
  CHECK_FALSE(s.is_variadic_arg(1));
  CHECK(s.abi() == tramp::host_abi());

  auto v = parse_signature("i32(ptr, ...f64, i32)");
  CHECK(v.variadic());
  CHECK(v.fixed_count() == 1);
  CHECK(v.arg_count() == 3);
  CHECK_FALSE(v.is_variadic_arg(0));
  CHECK(v.is_variadic_arg(1));
  CHECK(v.is_variadic_arg(2));
  CHECK(parse_signature("i32(ptr, ... f64, i32)") == v);
  CHECK(parse_signature("i32(ptr, ..., f64, i32)") == v);
  CHECK(parse_signature("i32 ( ptr , ...f64 , i32 ) ") == v);

  auto v0 = parse_signature("i32(ptr, ...)");
  CHECK(v0.variadic());
  CHECK(v0.fixed_count() == 1);
  CHECK(v0.arg_count() == 1);

  auto only = parse_signature("void(...i32)");
  CHECK(only.variadic());
  CHECK(only.fixed_count() == 0);
  CHECK(only.is_variadic_arg(0));
  CHECK(parse_signature("void(...)").variadic());
  CHECK(parse_signature("void(...)").arg_count() == 0);

  auto w = parse_signature("win64:{f32, f32}(ptr, u8)");
  CHECK(w.abi() == Abi::Win64);
  CHECK(w.ret() == Type::struct_({{Type::f32()}, {Type::f32()}}));
  CHECK(parse_signature("void(void)").arg_count() == 0);
  CHECK(parse_signature("void( void )").arg_count() == 0);
  CHECK(parse_signature("void()").arg_count() == 0);
  CHECK(parse_signature("void(void*)").args()[0] == Type::pointer());
  CHECK(parse_signature("sysv:i32(i32)").abi() == Abi::SysV_X64);
  CHECK(parse_signature(" aapcs64 : i32(i32)").abi() == Abi::Aapcs64);
  CHECK(parse_signature("apple-arm64:i32(i32)").abi() == Abi::AppleArm64);
  CHECK(parse_signature("i32(i32)", Abi::Aapcs64).abi() == Abi::Aapcs64);
  CHECK(parse_signature("win64:i32(i32)", Abi::Aapcs64).abi() == Abi::Win64);
  // longdouble follows the signature's ABI, including one given by the prefix.
  CHECK(parse_signature("aapcs64:longdouble(longdouble)").ret() == Type::f128());
  CHECK(parse_signature("apple-arm64:longdouble()").ret() == Type::f64());
  CHECK(parse_signature("win64:longdouble()").ret() == Type::f80());
  CHECK(parse_signature("longdouble()", Abi::Aapcs64).ret() == Type::f128());
  CHECK(parse_signature("ptr(char*, size_t, {int, double}*)").args()[2] == Type::pointer());
}

TEST_CASE("str() round-trips and equal signatures hash equally", "[signature]") {
  const char* texts[] = {"f64(f64, f64)",
                         "i32(ptr, ...f64, i32)",
                         "i32(ptr, ...)",
                         "void()",
                         "void(...)",
                         "void(...i32)",
                         "{i8, f64}({i8, f64}, packed {i8, i32}, union{f32, i32} align(8))",
                         "win64:i64(i32)",
                         "aapcs64:f128(f128, {f32[4]})",
                         "apple-arm64:void(ptr, ...i64)",
                         "u128(i128, bool, {alignas(16) i8})"};
  for (const char* t : texts) {
    INFO(t);
    auto s = parse_signature(t);
    auto back = parse_signature(s.str());
    CHECK(back == s);
    CHECK(back.hash() == s.hash());
    CHECK(parse_signature(s.str(true)) == s);
    // Without a prefix the text takes the default ABI; with one, the prefix wins.
    const Abi other = s.abi() == Abi::Aapcs64 ? Abi::Win64 : Abi::Aapcs64;
    const bool has_prefix = s.str().find(':') != std::string::npos;
    CHECK((parse_signature(s.str(), other) == s) == has_prefix);
  }
  CHECK(parse_signature("f64(f64,f64)").str() == "f64(f64, f64)");
  CHECK(parse_signature("void(void)").str() == "void()");
  CHECK(parse_signature("i32(ptr, ..., f64)").str() == "i32(ptr, ...f64)");
  CHECK(parse_signature("i32(ptr,...)").str() == "i32(ptr, ...)");
  CHECK(parse_signature("i32(...)").str() == "i32(...)");
  CHECK(parse_signature("win64:i64(i32)").str() == "win64:i64(i32)");
  CHECK(parse_signature("i32(i32)", Abi::SysV_X64).str(true) == "sysv:i32(i32)");
  CHECK(parse_signature("i32(i32)", Abi::Aapcs64).str(true) == "aapcs64:i32(i32)");
  CHECK(parse_signature("apple-arm64:i32(i32)").str(true) == "apple-arm64:i32(i32)");
}

TEST_CASE("append_str appends what str() returns to the caller's string", "[signature]") {
  for (const char* t : {"f64(f64, f64)", "{i8, f64}({i8, f64}, packed {i8, i32}, union{f32, i32} align(8))",
                        "i32(ptr, ...f64, i32) errno", "win64:i64(i32)", "void(complex f64, f32x4, {i32[2][3], u8:3})"}) {
    INFO(t);
    const Signature sig = parse_signature(t);
    for (const bool with_abi : {false, true}) {
      std::string out = "before ";
      sig.append_str(out, with_abi);
      CHECK(out == "before " + sig.str(with_abi));
    }
    std::string ret = "ret ";
    sig.ret()->append_str(ret);
    CHECK(ret == "ret " + sig.ret()->str());
    for (const Type* arg : sig.args()) {
      std::string a = "arg ";
      arg->append_str(a);
      CHECK(a == "arg " + arg->str());
    }
  }
}

TEST_CASE("equality and hashing follow ret, args, ABI and the variadic split", "[signature]") {
  CHECK(parse_signature("i32(i32)") == parse_signature("int(int)"));
  CHECK(parse_signature("i32(i32)").hash() == parse_signature("int ( int )").hash());
  CHECK_FALSE(parse_signature("i32(i32)") == parse_signature("win64:i32(i32)"));
  CHECK_FALSE(parse_signature("i32(ptr, ...i32)") == parse_signature("i32(ptr, i32)"));
  CHECK_FALSE(parse_signature("i32(ptr, ...i32)") == parse_signature("i32(...ptr, i32)"));
  CHECK_FALSE(parse_signature("i32(ptr, ...)") == parse_signature("i32(ptr)"));
  CHECK_FALSE(parse_signature("i32(i32)") == parse_signature("u32(i32)"));
  CHECK_FALSE(parse_signature("i32(i32, i32)") == parse_signature("i32(i32)"));
  CHECK_FALSE(parse_signature("void({i32})") == parse_signature("void({i32} align(8))"));

  std::unordered_set<Signature> set;
  const char* texts[] = {"i32(i32)", "int(int)", "win64:i32(i32)", "i32(ptr, ...i32)", "i32(ptr, i32)",
                         "i32(ptr, ...)", "i32(ptr)", "void()", "void(void)", "f64(f64, f64)"};
  for (const char* t : texts) set.insert(parse_signature(t));
  CHECK(set.size() == 8);
  CHECK(set.count(parse_signature("double(double,double)")) == 1);
  CHECK(std::hash<Signature>{}(parse_signature("i32(i32)")) == parse_signature("i32(i32)").hash());

  // Distinct signatures rarely collide.
  std::unordered_set<std::size_t> hashes;
  const char* const kNames[] = {"i8", "i16", "i32", "i64", "f32", "f64", "ptr", "{i32}"};
  int n = 0;
  for (const char* a : kNames) {
    for (const char* b : kNames) {
      for (const char* c : kNames) {
        hashes.insert(parse_signature(std::string(a) + "(" + b + ", " + c + ")").hash());
        hashes.insert(parse_signature(std::string(a) + "(" + b + ", ..." + c + ")").hash());
        n += 2;
      }
    }
  }
  CHECK(hashes.size() == static_cast<std::size_t>(n));
}

TEST_CASE("the builder and the constructor make the same signature as the text", "[signature]") {
  auto b = tramp::SignatureBuilder(Type::i32()).arg(Type::pointer()).variadic().arg(Type::f64()).arg(Type::i32()).build();
  CHECK(b == parse_signature("i32(ptr, ...f64, i32)"));
  CHECK(tramp::SignatureBuilder(Type::void_()).build() == parse_signature("void()"));
  CHECK(tramp::SignatureBuilder(Type::void_()).variadic().build() == parse_signature("void(...)"));
  CHECK(tramp::SignatureBuilder(Type::f64()).abi(Abi::Win64).arg(Type::f64()).build() ==
        parse_signature("win64:f64(f64)"));
  CHECK(Signature(Type::i32(), {Type::pointer(), Type::i32()}, Abi::SysV_X64, 1) ==
        parse_signature("sysv:i32(ptr, ...i32)"));
  CHECK(Signature(Type::i32(), {Type::pointer()}, Abi::SysV_X64, 1).variadic());
}

TEST_CASE("impossible signatures are refused with the argument named", "[signature][errors]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(Signature(Type::i32(), {Type::i32(), Type::i32(), Type::void_()}),
                    "argument 2: void cannot be an argument type");
  CHECK_THROWS_WITH(Signature(Type::i32(), {Type::array(Type::i32(), 4)}),
                    "argument 0: array types cannot be passed by value; pass ptr");
  CHECK_THROWS_WITH(Signature(Type::array(Type::i32(), 4), {}), Contains("return type: array types"));
  CHECK_THROWS_WITH(Signature(nullptr, {}), "return type: null type");
  CHECK_THROWS_WITH(Signature(Type::i32(), {Type::i32(), nullptr}), "argument 1: null type");
  CHECK_THROWS_WITH(Signature(Type::i32(), {Type::i32()}, Abi::SysV_X64, 2),
                    "fixed_count 2 is larger than the argument count 1");
  auto f = failure_of([] { Signature(Type::i32(), {Type::void_()}); });
  CHECK(f.code == ErrorCode::InvalidType);
  CHECK(f.position == tramp::Error::kNoPosition);
}

TEST_CASE("ABI names and the host ABI", "[signature]") {
  for (Abi a : {Abi::SysV_X64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64}) {
    INFO(abi_name(a));
    CHECK(tramp::abi_from_name(tramp::abi_name(a)) == a);
  }
  CHECK(tramp::abi_name(Abi::SysV_X64) == "sysv");
  CHECK(tramp::abi_name(Abi::Win64) == "win64");
  CHECK(tramp::abi_name(Abi::Aapcs64) == "aapcs64");
  CHECK(tramp::abi_name(Abi::AppleArm64) == "apple-arm64");
  for (const char* bad : {"", "SYSV", "Win64", "ms_abi", "sysv64", "arm64", "aarch64", "apple", "sysv "})
    CHECK_FALSE(tramp::abi_from_name(bad).has_value());
  CHECK(tramp::host_can_run(tramp::host_abi()));
#if defined(__x86_64__) && defined(__linux__)
  CHECK(tramp::host_abi() == Abi::SysV_X64);
  CHECK(tramp::host_can_run(Abi::Win64));
  CHECK_FALSE(tramp::host_can_run(Abi::Aapcs64));
  CHECK_FALSE(tramp::host_can_run(Abi::AppleArm64));
#elif defined(__aarch64__) && defined(__linux__)
  CHECK(tramp::host_abi() == Abi::Aapcs64);
  CHECK_FALSE(tramp::host_can_run(Abi::SysV_X64));
  CHECK_FALSE(tramp::host_can_run(Abi::Win64));
  CHECK_FALSE(tramp::host_can_run(Abi::AppleArm64));
#endif
}

TEST_CASE("malformed signatures report the position and what was expected", "[signature][errors]") {
  struct Case {
    const char* text;
    std::size_t position;
    const char* expected;  // the part of the message after "at N: "
  };
  const Case cases[] = {
      {"", 0, "expected a type, found end of input"},
      {"   ", 3, "expected a type, found end of input"},
      {"i32", 3, "expected '(' after the return type, found end of input"},
      {"i32 i32()", 4, "expected '(' after the return type, found 'i32'"},
      {"f64(f64, f64", 12, "expected ',' or ')', found end of input"},
      {"f64(f64,, f64)", 8, "expected a type, found ','"},
      {"f64(dbl)", 4, "expected a type, found 'dbl'"},
      {"f64(f64 f64)", 8, "expected ',' or ')', found 'f64'"},
      {"i32(i32,)", 8, "expected a type, found ')'"},
      {"i32(,i32)", 4, "expected a type, found ','"},
      {"i32(i32) trailing", 9, "expected end of input, found 'trailing'"},
      {"i32(i32))", 8, "expected end of input, found ')'"},
      {"i32(\x01)", 4, "expected a type, found byte 0x01"},
      {"i32(\xff)", 4, "expected a type, found byte 0xff"},
      {"mips:i32()", 0, "expected an ABI name (sysv, win64, aapcs64, apple-arm64), found 'mips'"},
      {"  i32 : i32()", 2, "expected an ABI name (sysv, win64, aapcs64, apple-arm64), found 'i32'"},
      {"sysv i32()", 0, "expected a type, found 'sysv'"},
      {"sysv:", 5, "expected a type, found end of input"},
      {"sysv::i32()", 5, "expected a type, found ':'"},
      {"i32(ptr, ...i32, ...i32)", 17, "expected a type, found a second '...'"},
      {"i32(..., ...)", 9, "expected a type, found a second '...'"},
      {"i32(ptr, ..)", 9, "expected a type, found '.'"},
      {"i32(ptr, ....)", 12, "expected a type, found '.'"},
      {"i32(ptr, ...,)", 13, "expected a type, found ')'"},
      {"i32({})", 5, "expected a type, found '}'"},
      {"i32({i32,})", 9, "expected a type, found '}'"},
      {"i32({i32 i32})", 9, "expected ',' or '}', found 'i32'"},
      {"i32({i32)", 8, "expected ',' or '}', found ')'"},
      {"i32({i32", 8, "expected ',' or '}', found end of input"},
      {"i32(packed i32)", 11, "expected '{' or 'union' after packed, found 'i32'"},
      {"i32(union i32)", 10, "expected '{' after union, found 'i32'"},
      {"i32(union packed {i32})", 10, "expected '{' after union, found 'packed'"},
      {"i32({i32} align 8)", 16, "expected '(' after align, found '8'"},
      {"i32({i32} align(8)", 18, "expected ',' or ')', found end of input"},
      {"i32({i32} align(x))", 16, "expected an alignment, found 'x'"},
      {"i32({i32} align(-8))", 16, "expected an alignment, found '-'"},
      {"i32({i32} align(3))", 16, "expected a power-of-two alignment, found 3"},
      {"i32({i32} align(0))", 16, "expected a power-of-two alignment, found 0"},
      {"i32({i32} align(536870912))", 16, "expected an alignment of at most 268435456, found '536870912'"},
      {"i32({alignas(3) i32})", 13, "expected a power-of-two alignment, found 3"},
      {"i32({alignas 4 i32})", 13, "expected '(' after alignas, found '4'"},
      {"i32({alignas(4) i32 align(8)})", 20, "expected ',' or '}', found 'align'"},
      {"i32({i32 align(8) align(8)})", 18, "expected ',' or '}', found 'align'"},
      {"i32({i32[)", 9, "expected an array length, found ')'"},
      {"i32({i32[2})", 10, "expected ']', found '}'"},
      {"i32({i32[0]})", 9, "expected an array length of at least 1, found 0"},
      {"i32({i32[-1]})", 9, "expected an array length, found '-'"},
      {"i32({i32[1x10]})", 10, "expected ']', found 'x10'"},
      {"i32({i8[99999999999999999999]})", 8, "expected an array length of at most 2147483648, found '99999999999999999999'"},
      {"i32({i8[2147483649]})", 8, "expected an array length of at most 2147483648"},
      {"i32(i32[)", 8, "expected an array length, found ')'"},
      {"i32(i32*[2)", 10, "expected ']', found ')'"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const Failure f = sig_failure(c.text);
    CHECK(f.code == ErrorCode::Syntax);
    CHECK(f.position == c.position);
    CHECK_THAT(f.message, Catch::StartsWith("at " + std::to_string(c.position) + ": "));
    CHECK_THAT(f.message, Catch::Contains(c.expected));
    CHECK_THAT(f.message, Catch::Contains("expected") && Catch::Contains(", found "));
  }
}

TEST_CASE("impossible types in text report InvalidType at the offending type", "[signature][errors]") {
  struct Case {
    const char* text;
    std::size_t position;
    const char* message;  // after "at N: "
  };
  const Case cases[] = {
      {"i32(void, i32)", 4, "argument 0: void cannot be an argument type"},
      {"i32(i32, void)", 9, "argument 1: void cannot be an argument type"},
      {"i32(i32, f64,  void)", 15, "argument 2: void cannot be an argument type"},
      {"i32(ptr, ...void)", 12, "argument 1: void cannot be an argument type"},
      {"i32(i32[4])", 4, "argument 0: array types cannot be passed by value; pass ptr"},
      {"i32(i8, {i32}[2])", 8, "argument 1: array types cannot be passed by value; pass ptr"},
      {"i32[2](i32)", 0, "return type: array types cannot be returned by value"},
      {" win64 : i32[2](i32)", 9, "return type: array types"},
      {"i32({i32, void})", 10, "struct member 1: void is not an object type"},
      {"i32({i32,  alignas(8) void})", 11, "struct member 1: void is not an object type"},
      {"i32(union{i32, f64, void})", 20, "union member 2: void is not an object type"},
      {"i32({i32, {void}})", 11, "struct member 0: void is not an object type"},
      {"i32({void[2]})", 5, "array element: void is not an object type"},
      {"i32({i64[268435457]})", 5, "array of 268435457 x 8 bytes is larger than 2 GiB"},
      {"i32({f32[65536][65536]})", 5, "array of 65536 x 262144 bytes is larger than 2 GiB"},
      {"i32({i8[2147483648], i8})", 4, "struct is larger than 2 GiB"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const Failure f = sig_failure(c.text);
    CHECK(f.code == ErrorCode::InvalidType);
    CHECK(f.position == c.position);
    CHECK_THAT(f.message, Catch::StartsWith("at " + std::to_string(c.position) + ": " + c.message));
  }
  CHECK_NOTHROW(parse_signature("i32({i8[2147483648]}*)"));
}

TEST_CASE("parse_type reads exactly one type", "[type][signature]") {
  CHECK(tramp::parse_type("  {i32, f64[3]} align(16) ") ==
        Type::struct_({{Type::i32()}, {Type::array(Type::f64(), 3)}}, tramp::RecordOptions{false, 16}));
  const Failure trailing = failure_of([] { tramp::parse_type("i32 align(8)"); });
  CHECK(trailing.code == ErrorCode::Syntax);
  CHECK(trailing.position == 4);
  CHECK(trailing.message == "at 4: expected end of input, found 'align'");
  const Failure abi = failure_of([] { tramp::parse_type("sysv:i32"); });
  CHECK(abi.position == 0);
  CHECK(abi.message == "at 0: expected a type, found 'sysv'");
  CHECK(failure_of([] { tramp::parse_type("i32(i32)"); }).message == "at 3: expected end of input, found '('");
  CHECK(failure_of([] { tramp::parse_type(""); }).message == "at 0: expected a type, found end of input");
  CHECK(failure_of([] { tramp::parse_type("void[3]"); }).code == ErrorCode::InvalidType);
  CHECK(tramp::parse_type("void") == Type::void_());
}

TEST_CASE("nesting is bounded so no input can exhaust the parser", "[signature][errors]") {
  auto nested = [](int n) { return std::string(n, '{') + "i32" + std::string(n, '}'); };
  CHECK_NOTHROW(tramp::parse_type(nested(64)));
  const Failure deep = failure_of([&] { tramp::parse_type(nested(65)); });
  CHECK(deep.code == ErrorCode::Syntax);
  CHECK(deep.position == 65);
  CHECK_THAT(deep.message, Catch::Contains("64 levels"));
  // A huge input fails quickly at the limit rather than recursing through all of it.
  const Failure huge = failure_of([&] { parse_signature("i32(" + std::string(1'000'000, '{') + ")"); });
  CHECK(huge.position == 4 + 65);

  std::string dims;
  for (int i = 0; i < 64; ++i) dims += "[1]";
  CHECK(tramp::parse_type("i8" + dims)->size() == 1);
  const Failure too_many = failure_of([&] { tramp::parse_type("i8" + dims + "[1]"); });
  CHECK(too_many.position == 2 + 64 * 3);
  CHECK_THAT(too_many.message, Catch::Contains("64 levels"));
  // Records and dimensions count together.
  const Failure mixed = failure_of([&] { tramp::parse_type("{" + std::string("i8") + dims + "}"); });
  CHECK_THAT(mixed.message, Catch::Contains("64 levels"));
  CHECK_NOTHROW(tramp::parse_type(nested(32) + dims.substr(0, 32 * 3 - 3)));
  // A pointer hides what it points to: the depth starts over.
  CHECK(tramp::parse_type("{" + nested(60) + "*}" + dims.substr(0, 60)) != nullptr);
  // Long words and numbers are cut short in messages.
  const Failure word = failure_of([] { parse_signature("i32(" + std::string(100000, 'x') + ")"); });
  CHECK(word.message.size() < 200);
  const Failure number = failure_of([] { parse_signature("i32({i8[" + std::string(100000, '9') + "]})"); });
  CHECK(number.message.size() < 200);
}

namespace {

// Parses `text` both ways; anything but tramp::Error escaping fails the test. A signature
// that parses must survive its own round trip.
void parse_anything(const std::string& text, int& parsed, int& refused) {
  try {
    Signature s = parse_signature(text);
    ++parsed;
    CHECK(parse_signature(s.str(true)) == s);
  } catch (const tramp::Error& e) {
    ++refused;
    CHECK((e.position() <= text.size() || e.position() == tramp::Error::kNoPosition));
    CHECK(std::string(e.what()).find("at ") == 0);
  } catch (...) {
    FAIL("a non-tramp exception escaped for: " << text);
  }
  try {
    const Type* t = tramp::parse_type(text);
    CHECK(tramp::parse_type(t->str()) == t);
  } catch (const tramp::Error& e) {
    CHECK(e.position() <= text.size());
  } catch (...) {
    FAIL("a non-tramp exception escaped parse_type for: " << text);
  }
}

}  // namespace

TEST_CASE("random and mutated input never escapes as anything but tramp::Error", "[signature][fuzz]") {
  std::mt19937_64 rng(99);
  const std::string seeds[] = {
      "i32(ptr, ...f64, i32)",
      "{i8, f64}(packed {i8, alignas(8) i32}, union{f32} align(16))",
      "win64:f80(i32[2][3]*, {{f32}[2]})",
      "apple-arm64:longdouble(void)",
      "void({i8, i32 align(16)}, ...u128)",
      "aapcs64:{f64[4]}(i8[2147483648]*, {{{i8}[3]}[2]} align(64))",
  };
  const std::string alphabet = "{}()[],.*:0123456789 abcdefgilnoprstuvwx-_";
  int parsed = 0;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[rng() % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        case 2: if (at < s.size()) s[at] = static_cast<char>(rng() % 256); break;
        case 3: s.insert(at, seeds[rng() % std::size(seeds)].substr(0, rng() % 12)); break;
        default: s = s.substr(0, at); break;
      }
    }
    parse_anything(s, parsed, refused);
  }
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, ' ');
    const bool from_alphabet = i % 2 == 0;
    for (char& c : s) c = from_alphabet ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
    parse_anything(s, parsed, refused);
  }
  CHECK(parsed > 100);
  CHECK(refused > 100);
}
