// Types: layout against the C++ compiler's own sizeof/alignof/offsetof, interning, the text
// form, and refusal of impossible descriptions.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tramp/tramp.hpp"
#include "host_arch.hpp"

using tramp::FieldSpec;
using tramp::RecordOptions;
using tramp::Type;
using tramp::TypeKind;

namespace {

// tramp's f80 and f128 as this compiler lays them out. x86-64: long double is the x87 type,
// gcc's __float128 binary128. AArch64 Linux has no x87 type (a 16-byte, 16-aligned stand-in
// has the x86-64 psABI's layout), and its long double is binary128.
#if defined(__x86_64__)
using X87 = long double;
using Binary128 = __float128;
#else
struct alignas(16) X87 { unsigned char bytes[16]; };
using Binary128 = long double;
#endif

// The same shapes the tests describe in text, declared for the compiler to lay out.
struct S1 { char a; double b; int c; };
struct S2 { short a; char b; };
struct S3 { char a; short b; int c; long d; };
struct S4 { float x[3]; };
struct S5 { char a; S1 inner; short s[5]; };
struct S6 { bool b; __int128 v; char c; };
struct S7 { char c; X87 x; };
struct S7L { char c; long double x; };  // "longdouble": the host's own
struct S8 { char c; Binary128 q; };
struct S9 { char a; void* p; unsigned char b; };
struct S10 { int a[2][3]; char c; };
struct S11 { char c; struct { char a; double b; } arr[2]; };
struct S12 { float a, b; };
struct S13 { char a; unsigned __int128 b[2]; short c; };
struct S14 { double d; char c[9]; };
struct S15 { char a; union { char c; double d; } u; char b; };
struct __attribute__((packed)) P1 { char a; int b; double c; };
struct __attribute__((packed)) P2 { char a; X87 b; __int128 c; };
struct __attribute__((packed, aligned(4))) P3 { char a; int b; char c; };
struct __attribute__((packed)) P4 { char a; int b __attribute__((aligned(8))); char c; };
struct __attribute__((packed)) P5 { char a; int b __attribute__((aligned(2))); char c; };
struct alignas(32) A32 { char a; };
// gcc warns that b is under-aligned; that under-alignment is what this case checks.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpacked-not-aligned"
#endif
struct __attribute__((packed)) P6 { char a; A32 b; };
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
struct S16 { char c; P1 p; };
struct __attribute__((packed)) P7 { short a[3]; double d; };
struct M1 { char a; int b __attribute__((aligned(16))); char c; };
struct M2 { char a; A32 b __attribute__((aligned(8))); };  // smaller than natural: ignored
struct __attribute__((aligned(2))) M3 { int a; char b; };    // smaller than natural: ignored
struct __attribute__((aligned(64))) M4 { double d; int i; };
struct M5 { char a; S2 s __attribute__((aligned(32))); };
struct M6 { char a; A32 b[2]; char c; };
union U1 { char c[5]; double d; int i; };
union __attribute__((packed)) U2 { char a; int b; double c[3]; };
union __attribute__((aligned(16))) U3 { char c; };
union U4 { char c; int i __attribute__((aligned(8))); };
union U5 { S1 s; X87 x; char c[33]; };
union __attribute__((packed)) U6 { char a; int b __attribute__((aligned(4))); short c[3]; };

struct Layout {
  std::size_t size;
  std::size_t align;
  std::vector<std::size_t> offsets;
};

#define LAYOUT(T, ...) Layout{sizeof(T), alignof(T), {__VA_ARGS__}}

void check_layout(const char* text, const Layout& want) {
  INFO(text);
  const Type* t = tramp::parse_type(text);
  CHECK(t->size() == want.size);
  CHECK(t->align() == want.align);
  REQUIRE(t->fields().size() == want.offsets.size());
  for (std::size_t i = 0; i < want.offsets.size(); ++i) {
    INFO("member " << i);
    CHECK(t->fields()[i].offset == want.offsets[i]);
  }
}

const Type* f(std::string_view s) { return tramp::parse_type(s); }

}  // namespace

TEST_CASE("struct layout matches the compiler", "[type]") {
  check_layout("{i8, f64, i32}", LAYOUT(S1, offsetof(S1, a), offsetof(S1, b), offsetof(S1, c)));
  check_layout("{i16, i8}", LAYOUT(S2, offsetof(S2, a), offsetof(S2, b)));
  check_layout("{char, short, int, long}", LAYOUT(S3, 0, offsetof(S3, b), offsetof(S3, c), offsetof(S3, d)));
  check_layout("{f32[3]}", LAYOUT(S4, 0));
  check_layout("{i8, {i8, f64, i32}, i16[5]}", LAYOUT(S5, 0, offsetof(S5, inner), offsetof(S5, s)));
  check_layout("{bool, i128, i8}", LAYOUT(S6, 0, offsetof(S6, v), offsetof(S6, c)));
  check_layout("{i8, f80}", LAYOUT(S7, 0, offsetof(S7, x)));
  check_layout("{i8, longdouble}", LAYOUT(S7L, 0, offsetof(S7L, x)));
  check_layout("{i8, f128}", LAYOUT(S8, 0, offsetof(S8, q)));
  check_layout("{i8, ptr, u8}", LAYOUT(S9, 0, offsetof(S9, p), offsetof(S9, b)));
  check_layout("{i8, void*, uchar}", LAYOUT(S9, 0, offsetof(S9, p), offsetof(S9, b)));
  check_layout("{i32[2][3], i8}", LAYOUT(S10, 0, offsetof(S10, c)));
  check_layout("{i8, {i8, f64}[2]}", LAYOUT(S11, 0, offsetof(S11, arr)));
  check_layout("{float, float}", LAYOUT(S12, 0, offsetof(S12, b)));
  check_layout("{i8, u128[2], i16}", LAYOUT(S13, 0, offsetof(S13, b), offsetof(S13, c)));
  check_layout("{f64, i8[9]}", LAYOUT(S14, 0, offsetof(S14, c)));
  check_layout("{i8, union{i8, f64}, i8}", LAYOUT(S15, 0, offsetof(S15, u), offsetof(S15, b)));
  check_layout("{i8, packed {i8, i32, f64}}", LAYOUT(S16, 0, offsetof(S16, p)));
  check_layout("{i8, {i8} align(32)[2], i8}", LAYOUT(M6, 0, offsetof(M6, b), offsetof(M6, c)));
}

TEST_CASE("packed and explicitly aligned layout matches gcc", "[type]") {
  check_layout("packed {i8, i32, f64}", LAYOUT(P1, 0, offsetof(P1, b), offsetof(P1, c)));
  check_layout("packed {i8, f80, i128}", LAYOUT(P2, 0, offsetof(P2, b), offsetof(P2, c)));
  check_layout("packed {i8, i32, i8} align(4)", LAYOUT(P3, 0, offsetof(P3, b), offsetof(P3, c)));
  // gcc: aligned(N) on a member of a packed struct still gives the member alignment N.
  check_layout("packed {i8, alignas(8) i32, i8}", LAYOUT(P4, 0, offsetof(P4, b), offsetof(P4, c)));
  check_layout("packed {i8, alignas(2) i32, i8}", LAYOUT(P5, 0, offsetof(P5, b), offsetof(P5, c)));
  // packed drops even an over-aligned member type to byte alignment.
  check_layout("packed {i8, {i8} align(32)}", LAYOUT(P6, 0, offsetof(P6, b)));
  check_layout("packed {i16[3], f64}", LAYOUT(P7, 0, offsetof(P7, d)));
  check_layout("{i8} align(32)", LAYOUT(A32, 0));
  check_layout("{i8, alignas(16) i32, i8}", LAYOUT(M1, 0, offsetof(M1, b), offsetof(M1, c)));
  // The trailing member form means the same as alignas.
  check_layout("{i8, i32 align(16), i8}", LAYOUT(M1, 0, offsetof(M1, b), offsetof(M1, c)));
  // An explicit alignment below the natural one is ignored, on a member and on a record.
  check_layout("{i8, alignas(8) {i8} align(32)}", LAYOUT(M2, 0, offsetof(M2, b)));
  check_layout("{i32, i8} align(2)", LAYOUT(M3, 0, offsetof(M3, b)));
  check_layout("{f64, i32} align(64)", LAYOUT(M4, 0, offsetof(M4, i)));
  check_layout("{i8, alignas(32) {i16, i8}}", LAYOUT(M5, 0, offsetof(M5, s)));
  check_layout("{i8, {i16, i8} align(32)}", Layout{64, 32, {0, 32}});  // record align, not member
}

TEST_CASE("union layout matches the compiler", "[type]") {
  check_layout("union {i8[5], f64, i32}", LAYOUT(U1, 0, 0, 0));
  check_layout("packed union {i8, i32, f64[3]}", LAYOUT(U2, 0, 0, 0));
  check_layout("union {i8} align(16)", LAYOUT(U3, 0));
  check_layout("union {i8, alignas(8) i32}", LAYOUT(U4, 0, 0));
  check_layout("union {{i8, f64, i32}, f80, i8[33]}", LAYOUT(U5, 0, 0, 0));
  check_layout("packed union {i8, alignas(4) i32, i16[3]}", LAYOUT(U6, 0, 0, 0));
}

TEST_CASE("the builder API lays out the same types as the text", "[type]") {
  const Type* s1 = Type::struct_({{Type::i8()}, {Type::f64()}, {Type::i32()}});
  CHECK(s1 == f("{i8, f64, i32}"));
  CHECK(s1->fields()[1].offset == offsetof(S1, b));
  const Type* p4 = Type::struct_({{Type::i8()}, {Type::i32(), 8}, {Type::i8()}}, RecordOptions{true, 0});
  CHECK(p4 == f("packed {i8, alignas(8) i32, i8}"));
  CHECK(p4->size() == sizeof(P4));
  CHECK(p4->packed());
  CHECK(p4->fields()[1].align == 8);
  const Type* u3 = Type::union_({{Type::i8()}}, RecordOptions{false, 16});
  CHECK(u3 == f("union{i8} align(16)"));
  CHECK(u3->declared_align() == 16);
  CHECK(u3->kind() == TypeKind::Union);
  const Type* a = Type::array(Type::array(Type::i32(), 3), 2);
  CHECK(a == f("i32[2][3]"));
  CHECK(a->size() == sizeof(int[2][3]));
  CHECK(a->align() == alignof(int[2][3]));
  CHECK(a->count() == 2);
  CHECK(a->element()->count() == 3);
  CHECK(a->element()->element() == Type::i32());
  CHECK(a->kind() == TypeKind::Array);
  CHECK(a->fields().empty());
  CHECK(s1->element() == nullptr);
  CHECK(s1->count() == 0);
  FieldSpec specs[] = {{Type::f32()}, {Type::f32()}};
  CHECK(Type::struct_(std::span<const FieldSpec>(specs)) == f("{f32, f32}"));
  CHECK(Type::union_(std::span<const FieldSpec>(specs)) == f("union{f32, f32}"));
}

TEST_CASE("scalars have their LP64 sizes and classifications", "[type]") {
  struct Row {
    const Type* t;
    TypeKind kind;
    std::size_t size, align;
    bool integer, is_signed, is_float;
    const char* name;
  };
  const Row rows[] = {
      {Type::void_(), TypeKind::Void, 0, 1, false, false, false, "void"},
      {Type::bool_(), TypeKind::Bool, sizeof(bool), alignof(bool), true, false, false, "bool"},
      {Type::i8(), TypeKind::I8, 1, 1, true, true, false, "i8"},
      {Type::u8(), TypeKind::U8, 1, 1, true, false, false, "u8"},
      {Type::i16(), TypeKind::I16, sizeof(short), alignof(short), true, true, false, "i16"},
      {Type::u16(), TypeKind::U16, 2, 2, true, false, false, "u16"},
      {Type::i32(), TypeKind::I32, sizeof(int), alignof(int), true, true, false, "i32"},
      {Type::u32(), TypeKind::U32, 4, 4, true, false, false, "u32"},
      {Type::i64(), TypeKind::I64, sizeof(long), alignof(long), true, true, false, "i64"},
      {Type::u64(), TypeKind::U64, 8, 8, true, false, false, "u64"},
      {Type::i128(), TypeKind::I128, sizeof(__int128), alignof(__int128), true, true, false, "i128"},
      {Type::u128(), TypeKind::U128, 16, 16, true, false, false, "u128"},
      {Type::f32(), TypeKind::F32, sizeof(float), alignof(float), false, false, true, "f32"},
      {Type::f64(), TypeKind::F64, sizeof(double), alignof(double), false, false, true, "f64"},
      {Type::f80(), TypeKind::F80, sizeof(X87), alignof(X87), false, false, true, "f80"},
      {Type::f128(), TypeKind::F128, sizeof(Binary128), alignof(Binary128), false, false, true, "f128"},
      {Type::pointer(), TypeKind::Pointer, sizeof(void*), alignof(void*), false, false, false, "ptr"},
  };
  for (const Row& r : rows) {
    INFO(r.name);
    CHECK(r.t->kind() == r.kind);
    CHECK(r.t->size() == r.size);
    CHECK(r.t->align() == r.align);
    CHECK(r.t->is_integer() == r.integer);
    CHECK(r.t->is_signed() == r.is_signed);
    CHECK(r.t->is_float() == r.is_float);
    CHECK(r.t->is_scalar() == (r.kind != TypeKind::Void));
    CHECK(r.t->is_void() == (r.kind == TypeKind::Void));
    CHECK_FALSE(r.t->is_record());
    CHECK(r.t->str() == r.name);
    CHECK(Type::scalar(r.kind) == r.t);
    CHECK(f(r.name) == r.t);
  }
  CHECK_FALSE(f("{i32}")->is_scalar());
  CHECK(f("{i32}")->is_record());
  CHECK(f("union{i32}")->is_record());
  CHECK_FALSE(f("i32[2]")->is_scalar());
  CHECK_FALSE(f("i32[2]")->is_integer());
  CHECK_THROWS_AS(Type::scalar(TypeKind::Struct), tramp::Error);
  CHECK_THROWS_AS(Type::scalar(TypeKind::Array), tramp::Error);
}

TEST_CASE("C spellings are aliases of the canonical scalars", "[type]") {
  const std::pair<const char*, const Type*> aliases[] = {
      {"char", Type::i8()},       {"schar", Type::i8()},      {"uchar", Type::u8()},
      {"short", Type::i16()},     {"ushort", Type::u16()},    {"int", Type::i32()},
      {"uint", Type::u32()},      {"long", Type::i64()},      {"ulong", Type::u64()},
      {"longlong", Type::i64()},  {"ulonglong", Type::u64()}, {"size_t", Type::u64()},
      {"ssize_t", Type::i64()},   {"ptrdiff_t", Type::i64()}, {"intptr_t", Type::i64()},
      {"uintptr_t", Type::u64()}, {"float", Type::f32()},     {"double", Type::f64()},
      {"i8*", Type::pointer()},   {"void*", Type::pointer()}, {"{i32, f64}*", Type::pointer()},
      {"i32**", Type::pointer()}, {"f64[4]*", Type::pointer()},
  };
  for (const auto& [text, t] : aliases) {
    INFO(text);
    CHECK(f(text) == t);
  }
  CHECK(f("ptr[4]") == f("i32*[4]"));
  CHECK(f("i32[2]*[3]") == Type::array(Type::pointer(), 3));
  CHECK(tramp::parse_type("longdouble", tramp::Abi::SysV_X64) == Type::f80());
  CHECK(tramp::parse_type("longdouble", tramp::Abi::Win64) == Type::f80());
  CHECK(tramp::parse_type("longdouble", tramp::Abi::Aapcs64) == Type::f128());
  CHECK(tramp::parse_type("longdouble", tramp::Abi::AppleArm64) == Type::f64());
}

TEST_CASE("types are interned: equal descriptions give one Type", "[type]") {
  CHECK(f("{i32, f64}") == f("{ i32 ,f64 }"));
  CHECK(f("{i32, f64}") == f("\t{int,\n double}\r"));
  CHECK(f("{i32, f64}") == Type::struct_({{Type::i32()}, {Type::f64()}}));
  CHECK(f("{i32, f64}") != f("packed {i32, f64}"));
  CHECK(f("{i32, f64}") != f("union {i32, f64}"));
  CHECK(f("{i32, f64}") != f("{i32, f64} align(8)"));  // same layout, different description
  CHECK(f("{i32, f64}") != f("{f64, i32}"));
  CHECK(f("{i32, f64}") != f("{i32, alignas(8) f64}"));
  CHECK(f("{i32, alignas(8) f64}") == f("{i32, f64 align(8)}"));
  CHECK(f("{{i32}}") == Type::struct_({{f("{i32}")}}));
  CHECK(f("i32[4]") == Type::array(Type::i32(), 4));
  CHECK(f("i32[4]") != f("i32[5]"));
  CHECK(f("i32[4]") != f("u32[4]"));
}

TEST_CASE("interning is thread-safe", "[type]") {
  constexpr int kThreads = 8;
  std::vector<std::vector<const Type*>> seen(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      for (int k = 0; k < 200; ++k) {
        const Type* inner = Type::struct_({{Type::i8()}, {Type::array(Type::i32(), 1 + k)}});
        seen[i].push_back(Type::union_({{inner}, {Type::f64(), 16}}, RecordOptions{k % 2 == 0, 0}));
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  for (int i = 1; i < kThreads; ++i) CHECK(seen[i] == seen[0]);
}

namespace {

// A random well-formed type, for round trips through the text form.
const Type* random_type(std::mt19937_64& rng, int depth) {
  static const Type* const kScalars[] = {Type::bool_(), Type::i8(),  Type::u8(),   Type::i16(),  Type::u16(),
                                         Type::i32(),   Type::u32(), Type::i64(),  Type::u64(),  Type::i128(),
                                         Type::u128(),  Type::f32(), Type::f64(),  Type::f80(),  Type::f128(),
                                         Type::pointer()};
  const auto pick = rng() % 10;
  if (depth >= 4 || pick < 5) return kScalars[rng() % std::size(kScalars)];
  if (pick < 7) return Type::array(random_type(rng, depth + 1), 1 + rng() % 4);
  std::vector<FieldSpec> members(1 + rng() % 4);
  for (FieldSpec& m : members) {
    m.type = random_type(rng, depth + 1);
    m.align = rng() % 5 == 0 ? std::size_t{1} << (rng() % 7) : 0;
  }
  RecordOptions options;
  options.packed = rng() % 4 == 0;
  options.align = rng() % 5 == 0 ? std::size_t{1} << (rng() % 7) : 0;
  return pick < 9 ? Type::struct_(members, options) : Type::union_(members, options);
}

}  // namespace

TEST_CASE("str() is the canonical text form and parses back to the same type", "[type]") {
  const char* texts[] = {"{i32, f64}",
                         "packed {i8, alignas(8) i32, i8}",
                         "union{i8[5], f64} align(16)",
                         "{{f32, f32}[2], ptr}",
                         "i32[2][3]",
                         "{i128, u128, f80, f128, bool}",
                         "packed union{i8, {i16} align(8)[2]} align(4)",
                         "{alignas(16) {i32} align(8)}",
                         "{alignas(4) i8[3][2]}",
                         "{i8} align(268435456)"};
  for (const char* t : texts) {
    INFO(t);
    const Type* a = f(t);
    CHECK(a->str() == t);
    CHECK(f(a->str()) == a);
  }
  CHECK(f("{i32,f64}")->str() == "{i32, f64}");
  CHECK(f("union {int, double}")->str() == "union{i32, f64}");
  CHECK(f("{i8, i32 align(16)}")->str() == "{i8, alignas(16) i32}");
  CHECK(f("{{i32} align(8) align(16)}")->str() == "{alignas(16) {i32} align(8)}");
  CHECK(f("{longdouble}")->str() == std::string("{") + tramp::test::kLongDouble + "}");
  CHECK(tramp::parse_type("{longdouble}", tramp::Abi::SysV_X64)->str() == "{f80}");

  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    const Type* t = random_type(rng, 0);
    INFO(t->str());
    REQUIRE(f(t->str()) == t);
  }
}

TEST_CASE("impossible types are refused with the member named", "[type][errors]") {
  using Catch::Contains;
  auto code_of = [](auto&& make) {
    try {
      make();
    } catch (const tramp::Error& e) {
      return e.code();
    }
    return tramp::ErrorCode::Syntax;  // never: every call below throws
  };
  CHECK_THROWS_WITH(Type::struct_(std::initializer_list<FieldSpec>{}), Contains("struct has no members"));
  CHECK_THROWS_WITH(Type::union_(std::initializer_list<FieldSpec>{}), Contains("union has no members"));
  CHECK_THROWS_WITH(Type::struct_({{Type::i32()}, {Type::void_()}}),
                    "struct member 1: void is not an object type");
  CHECK_THROWS_WITH(Type::union_({{Type::void_()}}), "union member 0: void is not an object type");
  CHECK_THROWS_WITH(Type::struct_({{Type::i32()}, {Type::i32()}, {nullptr}}), "struct member 2: null type");
  CHECK_THROWS_WITH(Type::struct_({{Type::i32(), 3}}), "struct member 0: alignment 3 is not a power of two");
  CHECK_THROWS_WITH(Type::struct_({{Type::i32(), std::size_t{1} << 29}}),
                    Contains("member 0") && Contains("exceeds the maximum 268435456"));
  CHECK_THROWS_WITH(Type::struct_({{Type::i32()}}, RecordOptions{false, 12}),
                    "struct: alignment 12 is not a power of two");
  CHECK_THROWS_WITH(Type::union_({{Type::i32()}}, RecordOptions{true, std::size_t{1} << 40}),
                    Contains("exceeds the maximum"));
  CHECK_THROWS_WITH(Type::array(Type::i32(), 0), Contains("array length 0"));
  CHECK_THROWS_WITH(Type::array(Type::void_(), 2), "array element: void is not an object type");
  CHECK_THROWS_WITH(Type::array(nullptr, 2), "array element: null type");
  CHECK_THROWS_WITH(Type::array(Type::i64(), std::size_t{1} << 40), Contains("larger than 2 GiB"));
  CHECK_THROWS_WITH(Type::array(Type::i64(), SIZE_MAX), Contains("larger than 2 GiB"));
  CHECK_NOTHROW(Type::array(Type::i8(), std::size_t{1} << 31));  // exactly 2 GiB is allowed
  CHECK_THROWS_AS(Type::array(Type::i8(), (std::size_t{1} << 31) + 1), tramp::Error);
  const Type* big = Type::array(Type::i8(), std::size_t{1} << 30);
  CHECK_THROWS_WITH(Type::struct_({{big}, {big}, {Type::i8()}}), Contains("struct is larger than 2 GiB"));
  CHECK_NOTHROW(Type::union_({{big}, {big}}));
  CHECK(code_of([] { Type::array(Type::void_(), 1); }) == tramp::ErrorCode::InvalidType);
  CHECK(code_of([] { Type::struct_({{Type::i8(), 6}}); }) == tramp::ErrorCode::InvalidType);
}
