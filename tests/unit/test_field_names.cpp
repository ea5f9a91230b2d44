// Member names (Field::name) from C declarations and builders, their part in a record's
// identity, and Signature::with_variadic's default argument promotions.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::FieldSpec;
using tramp::Signature;
using tramp::Type;

TEST_CASE("C declarations keep member names", "[type][cdecl]") {
  tramp::CScope scope(Abi::SysV_X64);
  scope.parse("typedef struct { double x, y; int v[2]; struct { char a; } in; union { int i; float f; }; } rec;"
              "rec f(rec);");
  const Type* rec = scope.type("rec");
  REQUIRE(rec != nullptr);
  REQUIRE(rec->fields().size() == 5);
  CHECK(rec->fields()[0].name == "x");
  CHECK(rec->fields()[1].name == "y");
  CHECK(rec->fields()[2].name == "v");
  CHECK(rec->fields()[3].name == "in");
  CHECK(rec->fields()[3].type->fields()[0].name == "a");
  CHECK(rec->fields()[4].name.empty());  // C11 anonymous member
  CHECK(rec->fields()[4].type->fields()[1].name == "f");
  // str() and the signature text are unchanged: the syntax has no names.
  // (The scope is SysV's, where char is signed, on every host; str() names a foreign ABI.)
  const std::string text = "{f64, f64, i32[2], {i8}, union{i32, f32}}";
  const std::string abi = tramp::host_abi() == Abi::SysV_X64 ? "" : "sysv:";
  CHECK(rec->str() == text);
  CHECK(scope.function("f")->signature.str() == abi + text + "(" + text + ")");
  CHECK(scope.function("f")->signature.args()[0] == rec);
}

TEST_CASE("builders take optional member names; names are part of identity", "[type]") {
  const Type* xy = Type::struct_({{Type::i32(), 0, "x"}, {Type::i32(), 0, "y"}});
  const Type* wh = Type::struct_({{Type::i32(), 0, "w"}, {Type::i32(), 0, "h"}});
  const Type* plain = Type::struct_({{Type::i32()}, {Type::i32()}});
  CHECK(xy == Type::struct_({{Type::i32(), 0, "x"}, {Type::i32(), 0, "y"}}));  // still interned
  CHECK(xy != wh);
  CHECK(xy != plain);
  CHECK(plain == tramp::parse_type("{i32, i32}"));
  CHECK(xy->fields()[1].name == "y");
  CHECK(wh->fields()[1].name == "h");
  CHECK(plain->fields()[1].name.empty());
  CHECK(xy->size() == plain->size());
  CHECK(xy->fields()[1].offset == plain->fields()[1].offset);
  CHECK(xy->str() == plain->str());
  CHECK(tramp::parse_type(xy->str()) == plain);  // the text form drops names
  // A C declaration and a builder with the same names and layout are one type.
  tramp::CScope scope;
  scope.parse("struct p { int x; int y; };");
  CHECK(scope.type("struct p") == xy);
  // Signatures over named and unnamed records: distinct values, the same text.
  const Signature a(Type::void_(), {xy});
  const Signature b(Type::void_(), {plain});
  CHECK_FALSE(a == b);
  CHECK(a.str() == b.str());
  CHECK(Type::union_({{Type::f32(), 0, "f"}, {Type::i32(), 0, "i"}})->fields()[0].name == "f");
}

TEST_CASE("with_variadic completes a variadic declaration for one call", "[signature]") {
  const Signature printf_ = tramp::parse_c_function("int printf(const char*, ...);", Abi::SysV_X64).signature;
  const std::vector<const Type*> extra{Type::f64(), Type::i32(), Type::pointer(), Type::i64(), Type::u32(),
                                       tramp::parse_type("{i8, f64}"), Type::f80()};
  const Signature call = printf_.with_variadic(extra);
  CHECK(call.str(true) == "sysv:i32(ptr, ...f64, i32, ptr, i64, u32, {i8, f64}, f80)");
  CHECK(call.fixed_count() == 1);
  CHECK(call.variadic());
  CHECK(call == tramp::parse_signature("sysv:i32(ptr, ...f64, i32, ptr, i64, u32, {i8, f64}, f80)"));
  // Replaces the variadic arguments a signature already has; none is fine.
  CHECK(call.with_variadic(std::vector<const Type*>{Type::i32()}).str(true) == "sysv:i32(ptr, ...i32)");
  CHECK(call.with_variadic({}).str(true) == "sysv:i32(ptr, ...)");

  const auto refused = [&](const Type* t, tramp::ErrorCode code = tramp::ErrorCode::Unsupported) {
    const std::vector<const Type*> one{Type::f64(), t};
    try {
      printf_.with_variadic(one);
    } catch (const tramp::Error& e) {
      CHECK(e.code() == code);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // The classifiers' message for the same mistake in a signature string.
  CHECK(refused(Type::f32()) == "argument 2 (f32): a variadic argument is promoted to double; pass f64");
  for (const Type* t : {Type::bool_(), Type::i8(), Type::u8(), Type::i16(), Type::u16()})
    CHECK(refused(t) == "argument 2 (" + t->str() + "): a variadic argument is promoted to int; pass i32");
  const auto invalid = tramp::ErrorCode::InvalidType;
  CHECK(refused(nullptr, invalid) == "argument 2: null type");
  CHECK_THAT(refused(Type::void_(), invalid), Catch::StartsWith("with_variadic: argument 2: void"));
  CHECK_THAT(refused(Type::array(Type::i32(), 2), invalid), Catch::StartsWith("with_variadic: argument 2: array"));
  CHECK_THROWS_WITH(tramp::parse_signature("f64(f64)").with_variadic({}), Catch::Contains("is not variadic"));
}
