// jit/x64_encode.hpp writes the bytes Xbyak writes: every form the x86-64 primitives encode
// directly, every register with every base register, and displacements across each encoding
// (none, disp8, disp32, and rbp/r13's and rsp/r12's special cases).
#include <catch2/catch.hpp>

#include <xbyak/xbyak.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jit/x64_encode.hpp"

namespace {

namespace enc = tramp::jit::x64_encoding;
using Xbyak::Reg64;
using Xbyak::Xmm;

std::vector<std::uint8_t> bytes_of(const enc::Encoded& e) { return {e.bytes, e.bytes + e.size}; }

struct Gen : Xbyak::CodeGenerator {
  Gen() : Xbyak::CodeGenerator(64, buffer) {}
  std::vector<std::uint8_t> bytes() const { return {getCode(), getCode() + getSize()}; }
  alignas(16) std::uint8_t buffer[64];
};

struct MemCase {
  const char* name;
  enc::Form form;
  std::function<void(Gen&, int reg, const Xbyak::RegExp& at)> xbyak;
};

}  // namespace

TEST_CASE("x64 encoding: register and [base + disp] forms match Xbyak's bytes", "[jit][x64]") {
  using R = Reg64;
  const std::vector<MemCase> cases = {
      {"mov r64, m64", {.rex_w = true, .opcode = 0x8B}, [](Gen& g, int r, auto& a) { g.mov(R(r), g.qword[a]); }},
      {"mov r32, m32", {.opcode = 0x8B}, [](Gen& g, int r, auto& a) { g.mov(R(r).cvt32(), g.dword[a]); }},
      {"mov r16, m16", {.prefix = 0x66, .opcode = 0x8B}, [](Gen& g, int r, auto& a) { g.mov(R(r).cvt16(), g.word[a]); }},
      {"mov r8, m8", {.byte_reg = true, .opcode = 0x8A}, [](Gen& g, int r, auto& a) { g.mov(R(r).cvt8(), g.byte[a]); }},
      {"mov m64, r64", {.rex_w = true, .opcode = 0x89}, [](Gen& g, int r, auto& a) { g.mov(g.qword[a], R(r)); }},
      {"mov m32, r32", {.opcode = 0x89}, [](Gen& g, int r, auto& a) { g.mov(g.dword[a], R(r).cvt32()); }},
      {"mov m16, r16", {.prefix = 0x66, .opcode = 0x89}, [](Gen& g, int r, auto& a) { g.mov(g.word[a], R(r).cvt16()); }},
      {"mov m8, r8", {.byte_reg = true, .opcode = 0x88}, [](Gen& g, int r, auto& a) { g.mov(g.byte[a], R(r).cvt8()); }},
      {"movzx r32, m8", {.escape = true, .opcode = 0xB6}, [](Gen& g, int r, auto& a) { g.movzx(R(r).cvt32(), g.byte[a]); }},
      {"movsx r32, m8", {.escape = true, .opcode = 0xBE}, [](Gen& g, int r, auto& a) { g.movsx(R(r).cvt32(), g.byte[a]); }},
      {"movzx r32, m16", {.escape = true, .opcode = 0xB7}, [](Gen& g, int r, auto& a) { g.movzx(R(r).cvt32(), g.word[a]); }},
      {"movsx r32, m16", {.escape = true, .opcode = 0xBF}, [](Gen& g, int r, auto& a) { g.movsx(R(r).cvt32(), g.word[a]); }},
      {"movd xmm, m32", {.prefix = 0x66, .escape = true, .opcode = 0x6E}, [](Gen& g, int r, auto& a) { g.movd(Xmm(r), g.dword[a]); }},
      {"movd m32, xmm", {.prefix = 0x66, .escape = true, .opcode = 0x7E}, [](Gen& g, int r, auto& a) { g.movd(g.dword[a], Xmm(r)); }},
      {"movq xmm, m64", {.prefix = 0xF3, .escape = true, .opcode = 0x7E}, [](Gen& g, int r, auto& a) { g.movq(Xmm(r), g.qword[a]); }},
      {"movq m64, xmm", {.prefix = 0x66, .escape = true, .opcode = 0xD6}, [](Gen& g, int r, auto& a) { g.movq(g.qword[a], Xmm(r)); }},
      {"movups xmm, m128", {.escape = true, .opcode = 0x10}, [](Gen& g, int r, auto& a) { g.movups(Xmm(r), g.xword[a]); }},
      {"movups m128, xmm", {.escape = true, .opcode = 0x11}, [](Gen& g, int r, auto& a) { g.movups(g.xword[a], Xmm(r)); }},
      {"lea r64, m", enc::kLea, [](Gen& g, int r, auto& a) { g.lea(R(r), g.ptr[a]); }},
  };
  const std::uint32_t disps[] = {0, 1, 8, 0x7F, 0x80, 0x1000, 0x7FFFFFFF};
  int compared = 0;
  for (const MemCase& c : cases)
    for (int reg = 0; reg < 16; ++reg)
      for (int base = 0; base < 16; ++base)
        for (std::uint32_t disp : disps) {
          Gen g;
          c.xbyak(g, reg, R(base) + disp);
          INFO(c.name << ", register " << reg << ", [r" << base << " + " << disp << "]");
          REQUIRE(bytes_of(enc::reg_mem(c.form, reg, base, disp)) == g.bytes());
          ++compared;
        }
  CHECK(compared == 19 * 16 * 16 * 7);
}

TEST_CASE("x64 encoding: register-to-register mov matches Xbyak's bytes", "[jit][x64]") {
  for (int dst = 0; dst < 16; ++dst)
    for (int src = 0; src < 16; ++src) {
      Gen g;
      g.mov(Reg64(dst), Reg64(src));
      INFO("mov r" << dst << ", r" << src);
      CHECK(bytes_of(enc::reg_reg({.rex_w = true, .opcode = 0x89}, src, dst)) == g.bytes());
    }
}

TEST_CASE("x64 encoding: a displacement past 32 signed bits is refused", "[jit][x64]") {
  CHECK_THROWS_WITH(enc::reg_mem({.opcode = 0x8B}, 0, 0, 0x80000000u),
                    Catch::Contains("displacement 2147483648 does not fit"));
}

TEST_CASE("x64 encoding: push, pop, call and jmp through a register match Xbyak's bytes", "[jit][x64]") {
  for (int r = 0; r < 16; ++r) {
    INFO("r" << r);
    Gen push, pop, call, jmp;
    push.push(Reg64(r));
    pop.pop(Reg64(r));
    call.call(Reg64(r));
    jmp.jmp(Reg64(r));
    CHECK(bytes_of(enc::opcode_reg(enc::kPush, r)) == push.bytes());
    CHECK(bytes_of(enc::opcode_reg(enc::kPop, r)) == pop.bytes());
    CHECK(bytes_of(enc::reg_reg(enc::kGroup5, enc::kCallExt, r)) == call.bytes());
    CHECK(bytes_of(enc::reg_reg(enc::kGroup5, enc::kJmpExt, r)) == jmp.bytes());
  }
}

TEST_CASE("x64 encoding: call through [base + disp] matches Xbyak's bytes", "[jit][x64]") {
  for (int base = 0; base < 16; ++base)
    for (std::uint32_t disp : {0u, 8u, 0x7Fu, 0x80u, 0x7FFFFFFFu}) {
      Gen g;
      g.call(g.qword[Reg64(base) + disp]);
      INFO("call [r" << base << " + " << disp << "]");
      CHECK(bytes_of(enc::reg_mem(enc::kGroup5, enc::kCallExt, base, disp)) == g.bytes());
    }
}

TEST_CASE("x64 encoding: add and sub of an immediate match Xbyak's bytes", "[jit][x64]") {
  for (int r = 0; r < 16; ++r)
    for (std::uint32_t imm : {0u, 1u, 8u, 0x7Fu, 0x80u, 0x1000u, 0x7FFFFFFFu}) {
      Gen add, sub;
      add.add(Reg64(r), imm);
      sub.sub(Reg64(r), imm);
      INFO("r" << r << ", " << imm);
      CHECK(bytes_of(enc::arith_imm(enc::kAddExt, r, imm)) == add.bytes());
      CHECK(bytes_of(enc::arith_imm(enc::kSubExt, r, imm)) == sub.bytes());
    }
  CHECK_THROWS_WITH(enc::arith_imm(enc::kSubExt, 4, 0x80000000u), Catch::Contains("immediate 2147483648 does not fit"));
}

TEST_CASE("x64 encoding: mov of a 64-bit immediate matches Xbyak's bytes", "[jit][x64]") {
  const std::uint64_t values[] = {0,           1,           0x7F,       0x80,       0x7FFFFFFF, 0x80000000,
                                  0xFFFFFFFF,  0x100000000, 0x7FFF12345678, ~std::uint64_t{0}, 0xFFFFFFFF80000000,
                                  0xFFFFFFFF7FFFFFFF, 0x8000000000000000};
  for (int r = 0; r < 16; ++r)
    for (std::uint64_t v : values) {
      Gen g;
      g.mov(Reg64(r), v);
      INFO("mov r" << r << ", " << v);
      CHECK(bytes_of(enc::mov_imm(r, v)) == g.bytes());
    }
}
