// Bit-fields: tramp's layout of each one (its byte, first bit and width), of the members around
// it and of the record, against the compiler's layout of the same declaration; the text form;
// the C declaration parser (including gcc's AArch64 rule for unnamed ones); and every refusal.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "tramp/tramp.hpp"

using tramp::Abi;
using tramp::FieldSpec;
using tramp::RecordOptions;
using tramp::Type;

namespace {

// The first bit and the width of a bit-field member, found as the generated conformance
// cases find them: all ones stored into a zeroed record, then the set bits counted.
struct Bits {
  std::size_t first = ~std::size_t{0};
  std::size_t width = 0;
};

Bits scan(const unsigned char* bytes, std::size_t n) {
  Bits b;
  for (std::size_t i = 0; i < 8 * n; ++i)
    if (bytes[i / 8] >> (i % 8) & 1) {
      if (b.first == ~std::size_t{0}) b.first = i;
      ++b.width;
    }
  return b;
}

// (A run-time -1, so that no narrowing of a constant is diagnosed.)
volatile long long g_ones = -1;
#define BITS_OF(T, member)        \
  [] {                            \
    union {                       \
      T r;                        \
      unsigned char b[sizeof(T)]; \
    } u;                          \
    std::memset(&u, 0, sizeof u); \
    u.r.member = g_ones;          \
    return scan(u.b, sizeof u.b); \
  }()

// What the compiler says about a record: size, alignment, and per member either its offset
// (an ordinary member) or its bits (a named bit-field); unnamed bit-fields have neither.
struct Member {
  bool bit_field;
  std::size_t offset;
  Bits bits;
};
struct Layout {
  std::size_t size, align;
  std::vector<Member> members;
};
Member at(std::size_t offset) { return {false, offset, {}}; }
Member bits(Bits b) { return {true, 0, b}; }
Member unnamed() { return {true, ~std::size_t{0}, {}}; }

void check_layout(const Type* t, const Layout& want) {
  INFO(t->str());
  CHECK(t->size() == want.size);
  CHECK(t->align() == want.align);
  REQUIRE(t->fields().size() == want.members.size());
  for (std::size_t i = 0; i < want.members.size(); ++i) {
    INFO("member " << i);
    const tramp::Field& f = t->fields()[i];
    const Member& m = want.members[i];
    CHECK(f.is_bit_field() == m.bit_field);
    if (!m.bit_field) {
      CHECK(f.offset == m.offset);
    } else if (m.offset != ~std::size_t{0}) {
      CHECK(8 * f.offset + f.bit_offset == m.bits.first);
      CHECK(f.bit_width == m.bits.width);
      CHECK_FALSE(f.unnamed);
    } else {
      CHECK(f.unnamed);
    }
  }
}

// The shapes the checks use, laid out by this compiler (gcc's rules, also for C++ here).
struct B1 { char a; int x : 3; char b; };
struct B2 { int a : 31; int b : 2; };
struct B3 { char a; long x : 40; };
struct __attribute__((packed)) B4 { char a; int x : 31; char c; };
struct B5 { bool a : 1; unsigned short b : 9; unsigned char c : 7; };
struct B6 { __int128 x : 100; char c; };
struct B7 { char a; int x : 3 __attribute__((aligned(8))); };
struct B8 { char c; short s : 9; short t : 9; };
struct B9 { unsigned long long a : 64; unsigned b : 32; int c : 1; };
union U1 { int a : 3; char c; };
// gcc warns that these records have no (named) use for their unnamed bit-fields' types.
struct B10 { char a; int : 0; char b; };
struct B11 { float f; int : 0; float g; };
struct __attribute__((packed)) B12 { char a; int : 0; char c; };
struct B13 { char a; long : 0; char c; };

}  // namespace

TEST_CASE("bit-fields are laid out as the compiler lays them out", "[type][bit-field]") {
  auto f = [](const char* text) { return tramp::parse_type(text); };
  check_layout(f("{i8, i32:3, i8}"), {sizeof(B1), alignof(B1), {at(0), bits(BITS_OF(B1, x)), at(offsetof(B1, b))}});
  check_layout(f("{i32:31, i32:2}"), {sizeof(B2), alignof(B2), {bits(BITS_OF(B2, a)), bits(BITS_OF(B2, b))}});
  check_layout(f("{i8, i64:40}"), {sizeof(B3), alignof(B3), {at(0), bits(BITS_OF(B3, x))}});
  check_layout(f("packed {i8, i32:31, i8}"),
               {sizeof(B4), alignof(B4), {at(0), bits(BITS_OF(B4, x)), at(offsetof(B4, c))}});
  check_layout(f("{bool:1, u16:9, u8:7}"),
               {sizeof(B5), alignof(B5), {bits(BITS_OF(B5, a)), bits(BITS_OF(B5, b)), bits(BITS_OF(B5, c))}});
  check_layout(f("{i128:100, i8}"), {sizeof(B6), alignof(B6), {bits(BITS_OF(B6, x)), at(offsetof(B6, c))}});
  check_layout(f("{i8, alignas(8) i32:3}"), {sizeof(B7), alignof(B7), {at(0), bits(BITS_OF(B7, x))}});
  check_layout(f("{i8, i16:9, i16:9}"),
               {sizeof(B8), alignof(B8), {at(0), bits(BITS_OF(B8, s)), bits(BITS_OF(B8, t))}});
  check_layout(f("{u64:64, u32:32, i32:1}"),
               {sizeof(B9), alignof(B9), {bits(BITS_OF(B9, a)), bits(BITS_OF(B9, b)), bits(BITS_OF(B9, c))}});
  check_layout(f("union{i32:3, i8}"), {sizeof(U1), alignof(U1), {bits(BITS_OF(U1, a)), at(0)}});
#if defined(__x86_64__)
  // Unnamed bit-fields align nothing on x86-64 (psABI 3.1.2); gcc on AArch64 differs (below).
  check_layout(f("{i8, i32:0, i8}"), {sizeof(B10), alignof(B10), {at(0), unnamed(), at(offsetof(B10, b))}});
  check_layout(f("{f32, i32:0, f32}"), {sizeof(B11), alignof(B11), {at(0), unnamed(), at(offsetof(B11, g))}});
  check_layout(f("packed {i8, i32:0, i8}"), {sizeof(B12), alignof(B12), {at(0), unnamed(), at(offsetof(B12, c))}});
  check_layout(f("{i8, i64:0, i8}"), {sizeof(B13), alignof(B13), {at(0), unnamed(), at(offsetof(B13, c))}});
#endif
}

TEST_CASE("C declarations of bit-fields have the compiler's layout and gcc's AArch64 rule", "[cdecl][bit-field]") {
  tramp::CScope host;
  host.parse(R"(
    struct B1 { char a; int x : 3; char b; };
    struct B4 { char a; int x : 31; char c; } __attribute__((packed));
    struct B5 { _Bool a : 1; unsigned short b : 9; unsigned char c : 7; };
    struct B7 { char a; int x : 3 __attribute__((aligned(8))); };
    struct B8 { char c; short s : 9, t : 9; };
    union U1 { int a : 3; char c; };
  )");
  check_layout(host.type("struct B1"),
               {sizeof(B1), alignof(B1), {at(0), bits(BITS_OF(B1, x)), at(offsetof(B1, b))}});
  check_layout(host.type("struct B4"),
               {sizeof(B4), alignof(B4), {at(0), bits(BITS_OF(B4, x)), at(offsetof(B4, c))}});
  check_layout(host.type("struct B5"),
               {sizeof(B5), alignof(B5), {bits(BITS_OF(B5, a)), bits(BITS_OF(B5, b)), bits(BITS_OF(B5, c))}});
  check_layout(host.type("struct B7"), {sizeof(B7), alignof(B7), {at(0), bits(BITS_OF(B7, x))}});
  check_layout(host.type("struct B8"),
               {sizeof(B8), alignof(B8), {at(0), bits(BITS_OF(B8, s)), bits(BITS_OF(B8, t))}});
  check_layout(host.type("union U1"), {sizeof(U1), alignof(U1), {bits(BITS_OF(U1, a)), at(0)}});
  CHECK(host.type("struct B1")->fields()[1].name == "x");

  // Unnamed bit-fields: padding, as the text's `unnamed`; the compiler's layout is the host's.
  host.parse("struct B10 { char a; int : 0; char b; }; struct B13 { char a; long : 0; char c; };"
             "struct B12 { char a; int : 0; char c; } __attribute__((packed));");
  check_layout(host.type("struct B10"), {sizeof(B10), alignof(B10), {at(0), unnamed(), at(offsetof(B10, b))}});
  check_layout(host.type("struct B12"), {sizeof(B12), alignof(B12), {at(0), unnamed(), at(offsetof(B12, c))}});
  check_layout(host.type("struct B13"), {sizeof(B13), alignof(B13), {at(0), unnamed(), at(offsetof(B13, c))}});

  // gcc on AArch64 aligns a record to each unnamed bit-field's type too (a zero-width one even
  // in a packed record): the record's own alignment says so. gcc for x86-64 and clang for
  // Apple do not.
  const char* decls = "struct a { char a; int : 3; char b; };"
                      "struct z { char a; long : 0; char c; };"
                      "struct p { char a; int : 0; char c; } __attribute__((packed));"
                      "struct q { char a; int : 7; } __attribute__((packed));";
  tramp::CScope a64(Abi::Aapcs64), sysv(Abi::SysV_X64), apple(Abi::AppleArm64);
  a64.parse(decls);
  sysv.parse(decls);
  apple.parse(decls);
  CHECK(a64.type("struct a")->str() == "{u8, unnamed i32:3, u8} align(4)");  // plain char: unsigned
  CHECK(a64.type("struct a")->size() == 4);
  CHECK(a64.type("struct z")->str() == "{u8, i64:0, u8} align(8)");
  CHECK(a64.type("struct z")->size() == 16);
  CHECK(a64.type("struct p")->str() == "packed {u8, i32:0, u8} align(4)");
  CHECK(a64.type("struct p")->size() == 8);
  CHECK(a64.type("struct q")->str() == "packed {u8, unnamed i32:7}");
  CHECK(sysv.type("struct a")->str() == "{i8, unnamed i32:3, i8}");
  CHECK(sysv.type("struct a")->size() == 3);
  CHECK(sysv.type("struct z")->size() == 9);
  CHECK(apple.type("struct z")->size() == 9);
}

TEST_CASE("bit-fields in the text form, the builder and the C API describe the same types", "[type][bit-field]") {
  const Type* t = tramp::parse_type("{i8, i32:3, unnamed i32:5, u64:0, bool:1}");
  CHECK(t->str() == "{i8, i32:3, unnamed i32:5, u64:0, bool:1}");
  CHECK(tramp::parse_type(t->str()) == t);
  CHECK(t->has_bit_fields());
  CHECK_FALSE(tramp::parse_type("{i8, i32}")->has_bit_fields());
  // `i32:0` is always unnamed; `unnamed` may be written, the canonical form leaves it out.
  CHECK(tramp::parse_type("{i8, unnamed i32:0, i8}") == tramp::parse_type("{i8, i32:0, i8}"));
  const FieldSpec specs[] = {{Type::i8()},
                             {Type::i32(), 0, "", 3},
                             {Type::i32(), 0, "", 5, true},
                             {Type::u64(), 0, "", 0, true},
                             {Type::bool_(), 0, "", 1}};
  const Type* built = Type::struct_(specs);
  CHECK(built == t);
  const FieldSpec named[] = {{Type::i8()}, {Type::i32(), 0, "x", 3}};
  CHECK(Type::struct_(named)->fields()[1].name == "x");
  CHECK(Type::struct_(named) != tramp::parse_type("{i8, i32:3}"));  // names are part of a record
  CHECK(built->fields()[1].bit_width == 3);
  CHECK(built->fields()[1].offset == 1);
  CHECK(built->fields()[1].bit_offset == 0);
  CHECK(built->fields()[2].unnamed);
  CHECK_FALSE(built->fields()[0].is_bit_field());
  // Named and unnamed, wide and narrow, bit-field and plain member: all different types.
  CHECK(tramp::parse_type("{i32:3}") != tramp::parse_type("{unnamed i32:3, i8}"));
  CHECK(tramp::parse_type("{i32:32}") != tramp::parse_type("{i32}"));
  CHECK(tramp::parse_type("{i32:3}") != tramp::parse_type("{i32:4}"));
}

TEST_CASE("impossible bit-fields are refused naming the member", "[type][bit-field][errors]") {
  auto error = [](const char* text) -> std::string {
    try {
      tramp::parse_type(text);
    } catch (const tramp::Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error("{i8, f32:3}") ==
        "at 5: struct member 1: a bit-field of type f32: a bit-field's type must be an integer type (bool, i8 ... u128)");
  CHECK(error("{ptr:3}").find("a bit-field of type ptr") != std::string::npos);
  CHECK(error("{{i32}:3}").find("a bit-field of type {i32}") != std::string::npos);
  CHECK(error("{i32:33}") == "at 1: struct member 0: a bit-field of 33 bits is wider than its type i32 (32 bits)");
  CHECK(error("{bool:2}") == "at 1: struct member 0: a bit-field of 2 bits is wider than its type bool (1 bit)");
  CHECK(error("{u8:9}").find("wider than its type u8 (8 bits)") != std::string::npos);
  CHECK(error("{i32:129}") == "at 5: expected a bit-field width of at most 128, found '129'");
  CHECK(error("{unnamed i32}") == "at 12: expected ':' and a bit-field width after an unnamed member's type, found '}'");
  CHECK(error("{i32:0}") == "at 0: struct has size 0: its only members are zero-width bit-fields");
  CHECK(error("union{i32:0, u8:0}").find("union has size 0") != std::string::npos);
  // What the text cannot say, the builder refuses too.
  auto build_error = [](std::initializer_list<FieldSpec> specs) -> std::string {
    try {
      Type::struct_(specs);
    } catch (const tramp::Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(build_error({{Type::i8()}, {Type::i32(), 0, "x", 0}}) == "struct member 1: a zero-width bit-field must be unnamed");
  CHECK(build_error({{Type::i32(), 0, "x", 3, true}}) == "struct member 0: an unnamed bit-field has the name 'x'");
  CHECK(build_error({{Type::i32(), 0, "", tramp::kNotBitField, true}}) ==
        "struct member 0: only a bit-field can be unnamed padding (give it a width)");
}

TEST_CASE("C declaration errors name the bit-field", "[cdecl][bit-field][errors]") {
  auto error = [](const char* text) -> std::string {
    try {
      tramp::CScope().parse(text);
    } catch (const tramp::Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error("struct s { char c;\n  float f : 3; };") ==
        "line 2, column 9: struct member 1 ('f'): a bit-field of type f32: a bit-field's type must be an integer "
        "type (bool, i8 ... u128)");
  CHECK(error("struct s { int x : 33; };") ==
        "line 1, column 16: struct member 0 ('x'): a bit-field of 33 bits is wider than its type i32 (32 bits)");
  CHECK(error("struct s { int x : 0; };") ==
        "line 1, column 16: struct member 0 ('x'): a zero-width bit-field must be unnamed");
  CHECK(error("struct s { int x : -1; };") ==
        "line 1, column 19: bit-field 'x' of width -1: a width is 0 up to its type's bits");
  CHECK(error("struct s { int : 0; };").find("struct has size 0") != std::string::npos);
  CHECK(error("struct s { int x[2] : 3; };").find("a bit-field of type i32[2]") != std::string::npos);
}
