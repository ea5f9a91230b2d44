// tramp: the x86-64 instruction forms a stub is mostly made of, encoded directly: a register
// and a memory operand [base + disp] (loads and stores of a piece, lea, call through memory),
// two registers, a register in the opcode (push, pop), and immediates (mov, add and sub).
// Xbyak's general path costs a few hundred instructions per instruction written, about a
// third of making a stub; these write the same bytes Xbyak writes
// (tests/unit/test_x64_encode.cpp compares them form by form; the machine-code digest pins
// whole stubs).
#pragma once

#include <climits>
#include <cstdint>
#include <string>

#include "tramp/error.hpp"

namespace tramp::jit::x64_encoding {

// One instruction's bytes (at most 15, Intel SDM vol. 2, 2.3.11).
struct Encoded {
  std::uint8_t bytes[15];
  std::uint8_t size = 0;
};

// What the instruction is besides its operands.
struct Form {
  std::uint8_t prefix = 0;   // a mandatory or operand-size prefix (0x66, 0xF2, 0xF3), or 0
  bool rex_w = false;        // 64-bit operand size
  bool byte_reg = false;     // the register operand is a byte register: spl, bpl, sil and dil
                             // exist only with a REX prefix (SDM 2.2.1.2)
  bool escape = false;       // the opcode follows the 0F escape byte
  std::uint8_t opcode = 0;
};

namespace detail {
// Out of line, so that an encoder's usual path needs no frame for building the message.
[[noreturn, gnu::cold, gnu::noinline]] inline void does_not_fit(const char* what, std::uint64_t value) {
  throw Error(ErrorCode::Jit, std::string("x86-64: ") + what + " " + std::to_string(value) + " does not fit in 32 signed bits");
}

// Bytes written with the count in a local: a byte store may alias any object, so a count kept
// in the Encoded itself would be reloaded after every byte.
struct Writer {
  std::uint8_t* out;
  unsigned n = 0;
  void put(std::uint8_t b) { out[n++] = b; }
  void prefixes(const Form& f, unsigned reg, unsigned rm) {
    if (f.prefix) put(f.prefix);  // before REX, which must come last (SDM 2.2.1)
    const std::uint8_t rex = static_cast<std::uint8_t>((f.rex_w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0));
    if (rex || (f.byte_reg && reg >= 4)) put(0x40 | rex);
    if (f.escape) put(0x0F);
    put(f.opcode);
  }
};
}  // namespace detail

// `reg` and [base + disp]. The displacement is the shortest ModRM allows (SDM 2.1.5): none
// when disp is 0, except from rbp/r13, whose mod 00 means RIP-relative or disp32 alone; one
// byte when it fits in a signed byte; else four. rsp and r12 as a base need a SIB byte.
inline Encoded reg_mem(const Form& f, unsigned reg, unsigned base, std::uint32_t disp) {
  if (disp > 0x7FFFFFFFu) detail::does_not_fit("displacement", disp);
  Encoded e;
  detail::Writer w{e.bytes};
  w.prefixes(f, reg, base);
  const unsigned mod = disp == 0 && (base & 7) != 5 ? 0 : disp <= 0x7F ? 1 : 2;
  w.put(static_cast<std::uint8_t>(mod << 6 | (reg & 7) << 3 | (base & 7)));
  if ((base & 7) == 4) w.put(0x24);  // SIB: no index, base rsp/r12
  if (mod == 1) w.put(static_cast<std::uint8_t>(disp));
  if (mod == 2)
    for (int i = 0; i < 4; ++i) w.put(static_cast<std::uint8_t>(disp >> (8 * i)));
  e.size = static_cast<std::uint8_t>(w.n);
  return e;
}

// `reg` and the register `rm` (ModRM mod 11).
inline Encoded reg_reg(const Form& f, unsigned reg, unsigned rm) {
  Encoded e;
  detail::Writer w{e.bytes};
  w.prefixes(f, reg, rm);
  w.put(static_cast<std::uint8_t>(0xC0 | (reg & 7) << 3 | (rm & 7)));
  e.size = static_cast<std::uint8_t>(w.n);
  return e;
}

// An instruction with its register in the opcode's low bits (PUSH 50+r, POP 58+r).
inline Encoded opcode_reg(std::uint8_t opcode, unsigned reg) {
  Encoded e;
  detail::Writer w{e.bytes};
  if (reg >= 8) w.put(0x41);  // REX.B
  w.put(static_cast<std::uint8_t>(opcode + (reg & 7)));
  e.size = static_cast<std::uint8_t>(w.n);
  return e;
}

// A 64-bit arithmetic instruction of group 1 (`ext`: ADD 0, SUB 5) on register `reg` with an
// immediate: 83 /ext ib when it fits in a signed byte, else 81 /ext id, or on rax the short
// form op+5 id that Xbyak prefers (SDM vol. 2, ADD and SUB).
inline Encoded arith_imm(unsigned ext, unsigned reg, std::uint32_t imm) {
  if (imm > 0x7FFFFFFFu) detail::does_not_fit("immediate", imm);
  Encoded e;
  detail::Writer w{e.bytes};
  w.put(static_cast<std::uint8_t>(reg >= 8 ? 0x49 : 0x48));  // REX.W, and .B for r8-r15
  if (imm <= 0x7F) {
    w.put(0x83);
    w.put(static_cast<std::uint8_t>(0xC0 | ext << 3 | (reg & 7)));
    w.put(static_cast<std::uint8_t>(imm));
  } else {
    if (reg == 0) {
      w.put(static_cast<std::uint8_t>(ext << 3 | 5));
    } else {
      w.put(0x81);
      w.put(static_cast<std::uint8_t>(0xC0 | ext << 3 | (reg & 7)));
    }
    for (int i = 0; i < 4; ++i) w.put(static_cast<std::uint8_t>(imm >> (8 * i)));
  }
  e.size = static_cast<std::uint8_t>(w.n);
  return e;
}

// MOV of a 64-bit immediate into `reg`, in the shortest form (Xbyak's choice): B8+r imm32,
// which zero-extends, for values below 2^32; REX.W C7 /0 imm32, which sign-extends, for
// negative ones that fit in 32 bits; else REX.W B8+r imm64.
inline Encoded mov_imm(unsigned reg, std::uint64_t imm) {
  Encoded e;
  detail::Writer w{e.bytes};
  const bool sign_extended = static_cast<std::int64_t>(imm) >= INT32_MIN && static_cast<std::int64_t>(imm) < 0;
  const unsigned bytes = imm <= 0xFFFFFFFFu || sign_extended ? 4 : 8;
  const std::uint8_t rex = static_cast<std::uint8_t>((bytes == 8 || sign_extended ? 8 : 0) | (reg >= 8 ? 1 : 0));
  if (rex) w.put(0x40 | rex);
  if (sign_extended) {
    w.put(0xC7);
    w.put(static_cast<std::uint8_t>(0xC0 | (reg & 7)));
  } else {
    w.put(static_cast<std::uint8_t>(0xB8 | (reg & 7)));
  }
  for (unsigned i = 0; i < bytes; ++i) w.put(static_cast<std::uint8_t>(imm >> (8 * i)));
  e.size = static_cast<std::uint8_t>(w.n);
  return e;
}

// Fixed forms of group 5 (FF /2 CALL, FF /4 JMP) and group 1's extensions.
inline constexpr Form kGroup5{.opcode = 0xFF};
inline constexpr Form kLea{.rex_w = true, .opcode = 0x8D};  // LEA r64, m
enum : unsigned { kCallExt = 2, kJmpExt = 4, kAddExt = 0, kSubExt = 5 };
inline constexpr std::uint8_t kPush = 0x50, kPop = 0x58;


}  // namespace tramp::jit::x64_encoding
