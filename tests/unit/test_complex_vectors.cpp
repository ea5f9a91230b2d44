// _Float16, complex and vector types: layout against the compiler, the text form, the C
// declaration parser (spellings, vector_size, the intrinsics headers' typedefs), values as
// text, and every refusal with its message.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>

#include "abi/call_plan.hpp"
#include "jit/emitter.hpp"
#include "tramp/tramp.hpp"
#include "tramp/values.hpp"

using tramp::Abi;
using tramp::Type;
using tramp::TypeKind;

namespace {

std::string error_of(const auto& f) {
  try {
    f();
  } catch (const tramp::Error& e) {
    return e.what();
  }
  return "no error";
}

typedef float V4f __attribute__((vector_size(16)));
typedef float V8f __attribute__((vector_size(32)));
typedef short V2s __attribute__((vector_size(4)));
typedef double V8d __attribute__((vector_size(64)));
struct CV {
  char c;
  V8f v;
  __complex__ float z;
  V2s s;
};

}  // namespace

TEST_CASE("_Float16, complex and vector types have gcc's sizes and alignments", "[type]") {
  CHECK(Type::f16()->size() == 2);
  CHECK(Type::f16()->align() == 2);
  CHECK(Type::f16()->is_float());
  CHECK(Type::f16()->is_scalar());
  CHECK(Type::scalar(TypeKind::F16) == Type::f16());
  CHECK(Type::f16()->str() == "f16");

  const Type* cf = Type::complex(Type::f32());
  CHECK(cf->kind() == TypeKind::Complex);
  CHECK(cf->size() == sizeof(__complex__ float));
  CHECK(cf->align() == alignof(__complex__ float));
  CHECK(cf->element() == Type::f32());
  CHECK(cf->count() == 2);
  CHECK(Type::complex(Type::f64())->size() == sizeof(__complex__ double));
  CHECK(Type::complex(Type::f80())->size() == 32);
  CHECK(Type::complex(Type::f80())->align() == 16);
  CHECK(Type::complex(Type::f16())->size() == 4);
  CHECK(Type::complex(Type::f128())->size() == 32);
  CHECK(Type::complex(Type::f32()) == cf);  // interned
  CHECK(cf->str() == "complex f32");

  const Type* v4 = Type::vector(Type::f32(), 4);
  CHECK(v4->kind() == TypeKind::Vector);
  CHECK(v4->size() == sizeof(V4f));
  CHECK(v4->align() == alignof(V4f));
  CHECK(v4->element() == Type::f32());
  CHECK(v4->count() == 4);
  CHECK(v4->str() == "f32x4");
  // gcc aligns a vector to its size (__alignof__), whatever C11's _Alignof says without AVX;
  // on AArch64 to at most 16, which the signature syntax writes out (a C declaration there
  // says it by itself: the ABI table's vector_align_cap).
#if defined(__x86_64__)
  CHECK(Type::vector(Type::f32(), 8)->align() == __alignof__(V8f));
  CHECK(Type::vector(Type::f64(), 8)->align() == __alignof__(V8d));
  const char* const cv = "{i8, f32x8, complex f32, i16x2}";
#else
  CHECK(Type::vector(Type::f32(), 8, 16)->align() == __alignof__(V8f));
  CHECK(Type::vector(Type::f64(), 8, 16)->align() == __alignof__(V8d));
  const char* const cv = "{i8, f32x8 align(16), complex f32, i16x2}";
#endif
  CHECK(Type::vector(Type::i16(), 2)->align() == __alignof__(V2s));
  CHECK(Type::vector(Type::f32(), 8, 16)->align() == 16);
  CHECK(Type::vector(Type::f32(), 8, 16)->str() == "f32x8 align(16)");
  CHECK(Type::vector(Type::f32(), 8, 16) != Type::vector(Type::f32(), 8));
  CHECK(Type::vector(Type::f32(), 8, 32) == Type::vector(Type::f32(), 8));  // the natural one

  const Type* s = tramp::parse_type(cv);
  CHECK(s->size() == sizeof(CV));
  CHECK(s->align() == __alignof__(CV));
  CHECK(s->fields()[1].offset == offsetof(CV, v));
  CHECK(s->fields()[2].offset == offsetof(CV, z));
  CHECK(s->fields()[3].offset == offsetof(CV, s));
}

TEST_CASE("the text form of _Float16, complex and vector types round-trips", "[type]") {
  for (const char* text : {"f16", "complex f16", "complex f32", "complex f64", "complex f80", "complex f128",
                           "i8x1", "u8x16", "i16x2", "u16x8", "i32x4", "u32x2", "i64x8", "u64x2", "f16x8",
                           "f32x16", "f64x1", "u8x128", "f32x8 align(16)", "i8x4 align(1)", "f32x4[3]",
                           "{f32x8 align(16), complex f64[2], alignas(64) f32x4 align(8)}"}) {
    INFO(text);
    const Type* t = tramp::parse_type(text);
    CHECK(t->str() == text);
    CHECK(tramp::parse_type(t->str()) == t);
  }
  // `complex longdouble` follows the ABI like `longdouble`; `complex double` is an alias.
  CHECK(tramp::parse_type("complex longdouble", Abi::SysV_X64)->str() == "complex f80");
  CHECK(tramp::parse_type("complex longdouble", Abi::Aapcs64)->str() == "complex f128");
  CHECK(tramp::parse_type("complex double") == Type::complex(Type::f64()));
  // align(N) right after a vector is the vector's, as after a record's `}`; a second one is
  // the member's.
  const Type* r = tramp::parse_type("{i8, f32x4 align(4) align(32)}");
  CHECK(r->fields()[1].type == Type::vector(Type::f32(), 4, 4));
  CHECK(r->fields()[1].align == 32);
  CHECK(r->fields()[1].offset == 32);
  const tramp::Signature sig = tramp::parse_signature("complex f64(f32x8 align(16), ...complex f32, f16)");
  CHECK(sig.str() == "complex f64(f32x8 align(16), ...complex f32, f16)");
  CHECK(tramp::parse_signature(sig.str(true)) == sig);
}

TEST_CASE("impossible complex and vector types are refused with a reason", "[type][errors]") {
  auto parse = [](const char* text) { return error_of([&] { tramp::parse_type(text); }); };
  CHECK(parse("complex i32") ==
        "at 8: complex i32: a complex type's element must be a floating type (f16, f32, f64, f80, f128)");
  CHECK(parse("complex") == "at 7: expected a floating type after complex, found end of input");
  CHECK(parse("complex {f32}") == "at 8: expected a floating type after complex, found '{'");
  CHECK(parse("f32x3") == "at 0: a vector of 3 x f32: the number of elements must be a power of two (gcc's "
                          "vector_size rule)");
  CHECK(parse("u8x0").find("a vector of 0 x u8") != std::string::npos);
  CHECK(parse("f32x4294967296") == "at 4: expected a vector length of at most 2147483648, found '4294967296'");
  CHECK(parse("u16x2147483648") == "at 0: a vector of 2147483648 x u16 is larger than 2 GiB");
  CHECK(tramp::parse_type("u8x2147483648")->size() == tramp::kMaxTypeSize);  // 2 GiB itself is fine
  CHECK(parse("f32x4 align(3)") == "at 12: expected a power-of-two alignment, found 3");
  CHECK(parse("boolx4") == "at 0: expected a type, found 'boolx4'");
  CHECK(parse("f80x2") == "at 0: expected a type, found 'f80x2'");
  CHECK(parse("ptrx2") == "at 0: expected a type, found 'ptrx2'");
  CHECK(error_of([] { Type::vector(Type::f80(), 2); }).find("a vector's elements are i8 ... u64, f16, f32 or f64") !=
        std::string::npos);
  CHECK(error_of([] { Type::vector(Type::i128(), 2); }).find("a vector of i128") != std::string::npos);
  CHECK(error_of([] { Type::vector(Type::pointer(), 2); }).find("a vector of ptr") != std::string::npos);
  CHECK(error_of([] { Type::complex(Type::bool_()); }) ==
        "complex bool: a complex type's element must be a floating type (f16, f32, f64, f80, f128)");
  CHECK(error_of([] { Type::complex(nullptr); }) == "complex element: null type");
}

TEST_CASE("C declarations: _Complex, _Float16, vector_size and the intrinsics headers' types", "[cdecl]") {
  // With the ABI written out: on an AArch64 host a SysV signature prints its prefix.
  auto sig = [](const char* decl, Abi abi = Abi::SysV_X64) {
    return tramp::parse_c_function(decl, abi).signature.str(true);
  };
  CHECK(sig("double cabs(double _Complex z);") == "sysv:f64(complex f64)");
  CHECK(sig("double complex csqrt(double complex);") == "sysv:complex f64(complex f64)");  // <complex.h>'s macro
  CHECK(sig("_Complex float f(__complex__ double, long double _Complex, _Complex);") ==
        "sysv:complex f32(complex f64, complex f80, complex f64)");
  CHECK(sig("_Float16 f(_Float16 _Complex, _Complex _Float128);") == "sysv:f16(complex f16, complex f128)");
  // vector_size on a parameter's declaration, before or after its declarator.
  CHECK(sig("void g(float __attribute__((vector_size(16))) v, int w __attribute__((vector_size(8))));") ==
        "sysv:void(f32x4, i32x2)");
  CHECK(sig("__fp16 f(__fp16);", Abi::Aapcs64) == "aapcs64:f16(f16)");
  CHECK(sig("long double _Complex f(void);", Abi::Aapcs64) == "aapcs64:complex f128()");

  tramp::CScope x86(Abi::SysV_X64);
  x86.parse("typedef float v4sf __attribute__((vector_size(16)));"
            "typedef int v8si __attribute__((__vector_size__(32)));"
            "typedef float m256_u __attribute__((vector_size(32), aligned(1)));"
            "typedef char v2c __attribute__((vector_size(sizeof(short))));"
            "__m256 f(__m128, __m128i, __m128d, __m512, __m64, v4sf, v8si, m256_u, v2c, __m256h);");
  CHECK(x86.function("f")->signature.str(true) ==
        "sysv:f32x8(f32x4, i64x2, f64x2, f32x16, i32x2, f32x4, i32x8, f32x8 align(1), i8x2, f16x16)");
  CHECK(x86.type("v8si") == Type::vector(Type::i32(), 8));
  CHECK(x86.type("float32x4_t") == nullptr);  // NEON types only for AArch64

  // gcc on AArch64 aligns vectors to at most 16; NEON's types and tuples are predefined.
  tramp::CScope a64(Abi::Aapcs64);
  a64.parse("typedef float v8sf __attribute__((vector_size(32)));"
            "float32x4_t f(v8sf, int8x16_t, float64x1_t, uint16x4_t, float16x8_t, float32x4x2_t, poly8x8x4_t);");
  CHECK(a64.function("f")->signature.str(true) ==
        "aapcs64:f32x4(f32x8 align(16), i8x16, f64x1, u16x4, f16x8, {f32x4[2]}, {u8x8[4]})");
  CHECK(a64.type("float32x4x3_t")->fields()[0].name == "val");
  CHECK(a64.type("__m128") == nullptr);

  // Under SysV, where long double is f80, on any host.
  auto error = [](const char* decl) { return error_of([&] { tramp::CScope(Abi::SysV_X64).parse(decl); }); };
  CHECK(error("int _Complex f(void);") ==
        "line 1, column 5: _Complex i32: only complex floating types (float, double, long double, _Float16, "
        "_Float128) are supported, not GNU complex integers");
  CHECK(error("typedef int v3si __attribute__((vector_size(12)));") ==
        "line 1, column 45: a vector of 3 x i32: the number of elements must be a power of two (gcc's vector_size "
        "rule)");
  CHECK(error("typedef int v __attribute__((vector_size(6)));") ==
        "line 1, column 42: vector_size(6) is not a multiple of the size of i32 (4)");
  CHECK(error("typedef double v __attribute__((vector_size(0)));").find("a vector has 1 to 2^31 bytes") !=
        std::string::npos);
  CHECK(error("typedef long double v __attribute__((vector_size(32)));").find("a vector of f80") != std::string::npos);
  CHECK(error("typedef _Bool v __attribute__((vector_size(4)));").find("a vector of bool") != std::string::npos);
}

TEST_CASE("values: complex, _Float16, vectors and bit-fields as text", "[values]") {
  auto round_trip = [](const char* type, const char* text) {
    const Type* t = tramp::parse_type(type);
    std::deque<std::string> strings;
    alignas(64) unsigned char buf[256] = {};
    tramp::parse_value(text, t, buf, strings);
    return tramp::format_value(t, buf);
  };
  CHECK(round_trip("complex f64", "{3, 4}") == "{3, 4}");
  CHECK(round_trip("complex f32", "{-1.5, 2.25}") == "{-1.5, 2.25}");
  CHECK(round_trip("complex f16", "{0.5, -2}") == "{0.5, -2}");
  CHECK(round_trip("f16", "1.5") == "1.5");
  CHECK(round_trip("f16", "65504") == "65504");
  CHECK(round_trip("f16", "-inf") == "-inf");
  CHECK(round_trip("f16", "0.1") == "0.099976");   // the nearest binary16
  CHECK(round_trip("f16", "5.96046448e-08") == "5.9605e-08");  // the smallest subnormal
  CHECK(round_trip("f32x4", "[1, 2.5, -3, 4]") == "[1, 2.5, -3, 4]");
  CHECK(round_trip("i8x4", "[-128, 127, 0, 1]") == "[-128, 127, 0, 1]");
  CHECK(round_trip("{i8, i32:3, unnamed i32:5, u8:2, bool:1}", "{7, -4, 3, true}") == "{7, -4, 3, true}");
  CHECK(round_trip("{i64:40, u64:24}", "{-549755813888, 16777215}") == "{-549755813888, 16777215}");
  CHECK(round_trip("{i128:100, i8}", "{-633825300114114700748351602688, -1}") ==
        "{-633825300114114700748351602688, -1}");
  CHECK(round_trip("union{i32:3, f32}", "{-1}") == "{-1}");

  // The bits a bit-field has, and only those, are written.
  const Type* t = tramp::parse_type("{u8:3, u8:5}");
  unsigned char byte = 0;
  std::deque<std::string> strings;
  tramp::parse_value("{5, 17}", t, &byte, strings);
  CHECK(byte == (5 | 17 << 3));
  std::uint16_t half = 0;
  tramp::parse_value("1", Type::f16(), &half, strings);
  CHECK(half == 0x3c00);
  tramp::parse_value("-2", Type::f16(), &half, strings);
  CHECK(half == 0xc000);

  auto error = [](const char* type, const char* text) {
    return error_of([&] {
      std::deque<std::string> strings;
      alignas(16) unsigned char buf[64];
      tramp::parse_value(text, tramp::parse_type(type), buf, strings);
    });
  };
  CHECK(error("{i32:3}", "{4}") == "4 is out of range for i32:3 (-4 to 3)");
  CHECK(error("{u8:2}", "{-1}") == "-1 is out of range for u8:2 (0 to 3)");
  CHECK(error("{bool:1}", "{2}") == "2 is out of range for bool:1 (0 to 1)");
  CHECK(error("f16", "65520") == "65520 is out of range for f16 (largest finite magnitude 65504)");
  CHECK(error("complex f64", "{1}") == "expected ',' at offset 2");
  CHECK(error("f32x2", "[1, 2, 3]") == "expected ']' at offset 5");
}

TEST_CASE("a plan that needs ymm or zmm registers runs only where the CPU has them", "[cpu]") {
  using tramp::abi::VectorIsa;
  const tramp::Signature m256 = tramp::parse_signature("sysv:f32x8(i32, f32x8)");
  const tramp::Signature m512 = tramp::parse_signature("sysv:void(f32x16)");
  CHECK(tramp::abi::classify(m256).value().vector_isa == VectorIsa::Avx);
  CHECK(tramp::abi::classify(m512).value().vector_isa == VectorIsa::Avx512f);
  CHECK(tramp::plan_text(m512).find("  needs avx512f\n") != std::string::npos);
  // Machine code is made on every host; the plan of a vector in memory needs nothing.
  CHECK_FALSE(tramp::machine_code(m512, tramp::CodeKind::Invoke).empty());
  CHECK(tramp::abi::classify(tramp::parse_signature("sysv:void(i32, ...f32x8)")).value().vector_isa == VectorIsa::Base);
  if (!tramp::host_can_run(tramp::Abi::SysV_X64)) return;
  // TRAMP_HOST_VECTOR_ISA=base or avx (ctest cpu_without_avx, cpu_without_avx512f) lowers
  // what the engine believes, so both outcomes are checked on this machine.
  const VectorIsa host = tramp::jit::host_vector_isa();
  auto message = [](const tramp::Signature& sig) -> std::string {
    try {
      tramp::Engine::global().invoker(sig);
    } catch (const tramp::Error& e) {
      CHECK(e.code() == tramp::ErrorCode::HostAbi);
      return e.what();
    }
    return "made";
  };
  if (host >= VectorIsa::Avx) {
    CHECK(message(m256) == "made");
  } else {
    CHECK(message(m256) == "argument 1 (f32x8) of sysv:f32x8(i32, f32x8) travels in a ymm register, which needs avx: "
                           "this CPU lacks it (plans and machine code are still available)");
    CHECK(message(tramp::parse_signature("sysv:f32x8()")).starts_with("the return value (f32x8) of sysv:f32x8()"));
  }
  if (host >= VectorIsa::Avx512f) CHECK(message(m512) == "made");
  else CHECK(message(m512).find("argument 0 (f32x16) of sysv:void(f32x16) travels in a zmm register, which needs "
                                "avx512f") != std::string::npos);
}
