// The two limits on a type's shape, for every way a type is made: its nesting
// (tramp::kMaxTypeDepth) and its expanded size (tramp::kMaxTypeNodes), and classification in
// time linear in the type at those limits, for every ABI.
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

// Not a speed check (timings are for benchmarks): the exponential walks these tests guard
// against never end, and this bound turns such a hang into a failure, even under
// sanitizers, qemu and a loaded CI machine, where the linear walks take well under it.
namespace {
constexpr double kNoHang = 60.0;
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

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
  CHECK(seconds_since(start) < kNoHang);
}

namespace {

// The signature-string text of `levels` levels of `union{T, T}` around `leaf`: the text holds
// every node, since the parser builds each member from its own text.
std::string doubling_text(const std::string& open, const std::string& leaf, std::size_t levels) {
  std::string t = leaf;
  for (std::size_t i = 0; i < levels; ++i) t = open + t + ", " + t + "}";
  return t;
}

// The plan text of `sig`, or "" when its ABI cannot express it (long double on AArch64).
std::string plan_or_unsupported(const tramp::Signature& sig) {
  try {
    return tramp::plan_text(sig);
  } catch (const tramp::Error& e) {
    CHECK(e.code() == ErrorCode::Unsupported);
    return "";
  }
}

// Every walk that visits members (str(), the parser, each classifier, the plan printer) over
// `t`; on a type of 2^64 leaves they would never end. As the return value, since a large
// argument would not fit the argument area.
void walk_everything(const Type* t) {
  // A record from C keeps its member names, which the text form does not write: the parse is
  // the layout-equal unnamed type, itself when t has no names.
  const Type* parsed = tramp::parse_type(t->str());
  CHECK(parsed->str() == t->str());
  CHECK(parsed->size() == t->size());
  CHECK(parsed->node_count() == t->node_count());
  for (Abi abi : {Abi::SysV_X64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64}) {
    INFO(tramp::abi_name(abi));
    const std::string plan = plan_or_unsupported(tramp::Signature(t, {Type::i32()}, abi));
    CHECK((plan.empty() || plan.find("ret") != std::string::npos));
  }
}

}  // namespace

TEST_CASE("a member used twice per level is refused past kMaxTypeNodes instead of making 2^64 leaves", "[type][errors]") {
  CHECK(Type::i32()->node_count() == 1);
  CHECK(Type::array(Type::i32(), 1000)->node_count() == 2);  // walks visit the element once
  CHECK(Type::struct_({{Type::i8()}, {Type::array(Type::i8(), 3)}})->node_count() == 4);
  const Type* pair = Type::struct_({{Type::f64()}, {Type::f64()}});
  CHECK(Type::union_({{pair}, {pair}, {Type::i8()}})->node_count() == 1 + 3 + 3 + 1);

  const std::function<const Type*(const Type*)> doublings[] = {
      [](const Type* t) { return Type::union_({{t}, {t}}); },
      [](const Type* t) { return Type::struct_({{t}, {t}}); },
      [](const Type* t) { return Type::struct_({{Type::array(t, 2)}, {t}}); },
  };
  for (const auto& doubling : doublings) {
    const auto start = std::chrono::steady_clock::now();
    const Type* deepest = nullptr;
    std::string message;
    // Without the limit this makes 64 levels: 64 interned types of 2^64 leaves.
    CHECK(wrap_until_refused(doubling, deepest, message, 100) < tramp::kMaxTypeDepth);
    CHECK(deepest->node_count() <= tramp::kMaxTypeNodes);
    CHECK(deepest->node_count() * 2 + 1 > tramp::kMaxTypeNodes);
    CHECK_THAT(message, Catch::Contains("nodes (a member counted each time it is used): the limit is 65536 "
                                        "(tramp::kMaxTypeNodes)"));
    walk_everything(deepest);
    CHECK(seconds_since(start) < kNoHang);
  }

  // The limit is inclusive, whatever the record's shape; an array counts its element once.
  const std::vector<FieldSpec> wide(tramp::kMaxTypeNodes - 1, FieldSpec{Type::i8()});
  const Type* widest = Type::struct_(wide);
  CHECK(widest->node_count() == tramp::kMaxTypeNodes);
  std::vector<FieldSpec> wider = wide;
  wider.push_back({Type::i8()});
  CHECK_THROWS_WITH(Type::struct_(wider), Catch::Contains("struct expands to 65537 nodes"));
  CHECK_THROWS_WITH(Type::union_(wider), Catch::Contains("union expands to 65537 nodes"));
  CHECK_THROWS_WITH(Type::array(widest, 2), Catch::Contains("array expands to 65537 nodes"));
  CHECK_THROWS_WITH(Type::struct_({{widest}}), Catch::Contains("struct expands to 65537 nodes"));
}

TEST_CASE("the signature parser can spell a shared member only by writing it out", "[signature][errors]") {
  // Interning makes the two halves of each level one type, but the text doubles with them: a
  // text input pays for every node it makes, and the largest one parses back.
  const auto start = std::chrono::steady_clock::now();
  const std::string largest = doubling_text("union{", "i32", 15);
  const Type* t = tramp::parse_type(largest);
  CHECK(t->node_count() == 65535);
  CHECK(t->str() == largest);
  try {
    tramp::parse_type(doubling_text("union{", "i32", 16));
    FAIL_CHECK("a type of 131071 nodes was made");
  } catch (const tramp::Error& e) {
    CHECK(e.code() == ErrorCode::InvalidType);
    CHECK(e.position() == 0);
    CHECK_THAT(e.what(), Catch::StartsWith("at 0: union expands to 131071 nodes") &&
                             Catch::Contains("the limit is 65536 (tramp::kMaxTypeNodes)"));
  }
  CHECK_THROWS_WITH(tramp::parse_type("{" + repeat("u8, ", 65536) + "u8}"),
                    Catch::Contains("struct expands to 65538 nodes"));
  CHECK(seconds_since(start) < kNoHang);
}

TEST_CASE("the C declaration parser refuses typedefs and tags used twice per level past kMaxTypeNodes",
          "[cdecl][errors]") {
  // Each line is one level, each level uses the one below twice: 64 lines of text, 2^64
  // leaves without the limit.
  auto level = [](bool tags, int i) {
    const std::string below = i == 0 ? "int" : tags ? "struct s" + std::to_string(i - 1) : "u" + std::to_string(i - 1);
    return tags ? "struct s" + std::to_string(i) + " { " + below + " a, b; };"
                : "typedef union { " + below + " a, b; } u" + std::to_string(i) + ";";
  };
  for (bool tags : {false, true}) {
    INFO((tags ? "struct tags" : "typedefs"));
    const auto start = std::chrono::steady_clock::now();
    std::string all;
    for (int i = 0; i < 64; ++i) all += level(tags, i) + "\n";
    try {
      tramp::CScope().parse(all);
      FAIL_CHECK("64 levels of doubling were made");
    } catch (const tramp::Error& e) {
      CHECK(e.code() == ErrorCode::InvalidType);
      CHECK_THAT(e.what(), Catch::StartsWith("line 16,") && Catch::Contains("expands to 131071 nodes") &&
                               Catch::Contains("the limit is 65536 (tramp::kMaxTypeNodes)"));
    }
    // One level per parse(): the largest type made is walked in full.
    tramp::CScope scope;
    int made = 0;
    for (; made < 64; ++made) {
      try {
        scope.parse(level(tags, made));
      } catch (const tramp::Error& e) {
        CHECK(e.code() == ErrorCode::InvalidType);
        break;
      }
    }
    CHECK(made == 15);
    const Type* largest = scope.type((tags ? "struct s" : "u") + std::to_string(made - 1));
    REQUIRE(largest != nullptr);
    CHECK(largest->node_count() == 65535);
    walk_everything(largest);
    CHECK(seconds_since(start) < kNoHang);
  }
}

TEST_CASE("every ABI classifies and prints types just under kMaxTypeNodes fast", "[abi][sysv][win64][aapcs64]") {
  // The largest doubling of `leaf` (of `nodes` nodes) under the limit, counted here rather
  // than by node_count(), which is what is being tested.
  auto doubled = [](const Type* leaf, std::size_t nodes, bool is_union) {
    const Type* t = leaf;
    for (; nodes * 2 + 1 <= tramp::kMaxTypeNodes; nodes = nodes * 2 + 1) {
      const std::initializer_list<FieldSpec> halves{{t}, {t}};
      t = is_union ? Type::union_(halves) : Type::struct_(halves);
    }
    CHECK(t->node_count() == nodes);
    return t;
  };
  const Type* shapes[] = {
      doubled(Type::i32(), 1, true),
      doubled(Type::f64(), 1, true),                  // an HFA of one double on AArch64
      doubled(Type::f32(), 1, false),                 // an HFA until it has five floats
      doubled(Type::f80(), 1, true),                  // x87 on SysV; refused on AArch64
      doubled(Type::array(Type::u8(), 16), 2, true),  // SysV repeats each element: 16 x the nodes
      doubled(Type::array(Type::f32(), 4), 2, true),  // ... and as an HFA of four floats
      doubled(Type::struct_({{Type::f32()}, {Type::array(Type::i8(), 4)}}), 4, true),
      Type::struct_(std::vector<FieldSpec>(tramp::kMaxTypeNodes - 1, FieldSpec{Type::i8()})),
      Type::union_(std::vector<FieldSpec>(tramp::kMaxTypeNodes - 1, FieldSpec{Type::f32()})),
  };
  const auto start = std::chrono::steady_clock::now();
  for (Abi abi : {Abi::SysV_X64, Abi::Win64, Abi::Aapcs64, Abi::AppleArm64}) {
    for (std::size_t i = 0; i < std::size(shapes); ++i) {
      INFO(tramp::abi_name(abi) << " shape " << i);
      CHECK(shapes[i]->node_count() * 2 > tramp::kMaxTypeNodes);
      const std::string plan = plan_or_unsupported(tramp::Signature(shapes[i], {Type::i32(), shapes[i]}, abi));
      CHECK((plan.empty() || plan.find("arg 1") != std::string::npos));
    }
  }
  // About 10 ms a plan: each prints the type twice (400 kB of text each) and walks it a few times.
  CHECK(seconds_since(start) < kNoHang);
}
