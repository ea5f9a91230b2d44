// tramp: the CallPlan, the one contract between the classifiers (abi/) and the emitters (jit/).
//
// A CallPlan says where every byte of every argument and of the return value goes for one
// Signature under one ABI. It is a move list: each value is cut into pieces, and each piece
// {offset, size, extension} of the value's C representation goes to one location: an integer
// register, a vector register, a stack slot, or the x87 stack top. A call stub reads the list
// forwards (memory -> locations), a callback thunk backwards (locations -> memory).
//
// Registers are named by the architecture's own numbers (x86-64 encoding order: rax=0, rcx=1,
// rdx=2, rbx=3, rsp=4, rbp=5, rsi=6, rdi=7, r8..r15; xmm0..xmm15), so an emitter never needs
// to know which ABI produced a plan: everything ABI-specific is in the plan.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "abi/inline_vector.hpp"
#include "tramp/error.hpp"
#include "tramp/signature.hpp"

namespace tramp::abi {

enum class Arch : std::uint8_t { X64, A64 };
Arch arch_of(Abi abi) noexcept;

namespace x64 {
// x86-64 general-purpose registers in encoding order.
enum Gpr : std::uint8_t { rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15 };
// Registers a SysV function preserves (psABI figure 3.4): rbx, rsp, rbp, r12-r15, no vector
// register. The SysV classifier puts them in its plans; the emitter needs them because the
// handler a callback thunk calls is a host (SysV) function, whatever the thunk's own ABI.
constexpr std::uint32_t kSysVCalleeSavedGprs = 1u << rbx | 1u << rsp | 1u << rbp | 1u << r12 |
                                               1u << r13 | 1u << r14 | 1u << r15;
constexpr std::uint32_t kSysVCalleeSavedVecs = 0;
}  // namespace x64

namespace a64 {
// AArch64 registers: x0-x30 by number, 31 is sp (as a base or a saved register); v0-v31.
constexpr std::uint8_t kSp = 31;
constexpr std::uint8_t kIndirectResult = 8;  // x8 (XR): the address of a result buffer
// Registers an AAPCS64 function preserves (6.1.1, 6.1.2): x19-x29 and sp; of v8-v15 only
// the low 64 bits. Both AArch64 variants use this set; the emitter needs it because the
// handler a thunk calls is a host function.
constexpr std::uint32_t kCalleeSavedGprs = 0x3FF80000u | 1u << kSp;
constexpr std::uint32_t kCalleeSavedVecs = 0xFF00u;
}  // namespace a64

enum class LocKind : std::uint8_t {
  Gpr,    // integer register `reg`
  Vec,    // vector/floating register `reg` (xmmN, vN)
  Stack,  // outgoing argument area, `offset` bytes above the stack pointer at the call
  X87,    // x87 register stack: st(reg), 0 the top (st1 only with st0, for a complex long double)
};

struct Loc {
  LocKind kind = LocKind::Gpr;
  std::uint8_t reg = 0;
  std::uint32_t offset = 0;

  static Loc gpr(std::uint8_t r) { return {LocKind::Gpr, r, 0}; }
  static Loc vec(std::uint8_t r) { return {LocKind::Vec, r, 0}; }
  static Loc stack(std::uint32_t off) { return {LocKind::Stack, 0, off}; }
  static Loc x87(std::uint8_t r = 0) { return {LocKind::X87, r, 0}; }
  friend bool operator==(const Loc&, const Loc&) = default;
};

// How a piece narrower than the register is widened by the side that writes the register.
// gcc and clang on x86-64 (and Apple arm64) expect the caller to extend bool, char and short
// arguments to 32 bits; the upper 32 bits of a 64-bit register stay unspecified.
enum class Ext : std::uint8_t { None, Sign, Zero };

struct Piece {
  std::uint32_t offset = 0;  // byte offset within the value's C representation
  // Bytes moved: 1..8 for Gpr and Stack; for Vec 2..8 (the low bytes of the register),
  // 16, 32 (ymm) or 64 (zmm); 10 for X87.
  std::uint32_t size = 0;
  Ext ext = Ext::None;
  Loc loc;
  friend bool operator==(const Piece&, const Piece&) = default;
};

// A value's pieces, the first four kept in place: nearly every value has one to four (SysV:
// two eightbytes; AAPCS64: an HFA's four members), so classifying and copying a plan allocates
// nothing per value. Only a record passed in stack words has more.
using Pieces = InlineVector<Piece, 4>;

enum class PassKind : std::uint8_t {
  Direct,    // the value itself travels in `pieces`
  Indirect,  // the caller copies the value and passes its address in `pieces[0]`
  Ignore,    // nothing is passed (an empty record under an ABI that drops it)
};

struct ArgPlan {
  PassKind kind = PassKind::Direct;
  std::uint32_t size = 0;   // the value's C size and alignment
  std::uint32_t align = 1;
  Pieces pieces;
  // Indirect only: the caller-made copy, `copy_offset` bytes into the stub's copy area.
  std::uint32_t copy_size = 0;
  std::uint32_t copy_align = 0;
  std::uint32_t copy_offset = 0;
};

enum class RetKind : std::uint8_t {
  Void,    // nothing returned
  Direct,  // the value comes back in `pieces` (registers or x87; none for an empty record)
  Sret,    // the caller passes a buffer's address in `sret_loc`; the callee writes the value there
};

struct RetPlan {
  RetKind kind = RetKind::Void;
  std::uint32_t size = 0;   // the value's C size and alignment (0 for void)
  std::uint32_t align = 1;
  Pieces pieces;
  Loc sret_loc;                  // Sret: where the hidden pointer argument goes
  bool sret_returned = false;    // Sret: the callee hands the pointer back in `sret_result`
  Loc sret_result;
  // An integer result narrower than a register word (bool, 8, 16 and 32-bit integers): how
  // its C type extends it to a whole word (Sign or Zero), for a stub that stores results as
  // words (libffi's ffi_arg); None for every other result. The same under every ABI
  // (classify() sets it).
  Ext word_ext = Ext::None;
};

// The vector registers a plan uses beyond the architecture's base: ymm for a 32-byte piece
// (AVX), zmm for a 64-byte one (AVX-512F), the x86-64 psABI's __m256 and __m512. A plan that
// needs one is made and shown on every host; only a CPU that has it can run it.
enum class VectorIsa : std::uint8_t { Base, Avx, Avx512f };
std::string_view vector_isa_name(VectorIsa isa) noexcept;  // "avx", "avx512f"
// What a piece in a vector register of `size` bytes needs.
VectorIsa vector_isa_of_piece(std::uint32_t size) noexcept;

struct CallPlan {
  Abi abi = Abi::SysV_X64;
  Arch arch = Arch::X64;
  std::vector<ArgPlan> args;  // one per Signature argument, same order
  RetPlan ret;
  std::uint32_t stack_size = 0;      // bytes of outgoing arguments, shadow space included
  std::uint32_t stack_align = 16;    // required stack pointer alignment at the call
  std::uint32_t shadow_space = 0;    // Win64: bytes the caller reserves below stack arguments
  std::uint32_t copy_area_size = 0;  // bytes of caller-made copies for Indirect arguments
  // SysV variadic calls: the value of %al, an upper bound on vector registers used
  // (psABI 3.5.7); -1 when the ABI or the call does not need it. `vector_count_reg` is the
  // general register that carries it (rax).
  std::int32_t vector_count = -1;
  std::uint8_t vector_count_reg = 0;
  // Registers a callee must preserve under this ABI (bit n = register n). A callback thunk
  // saves those that its handler, a host function, may clobber.
  std::uint32_t callee_saved_gprs = 0;
  std::uint32_t callee_saved_vecs = 0;
  // The Signature's ErrnoMode, the same for every ABI (classify() sets it). A call stub saves
  // errno into the thread's slot right after the call (capture_errno) and sets errno from it
  // right before (set_errno); a thunk saves it on entry and sets errno from it after the
  // handler. Both false: the stub and thunk are exactly those of a plan without the fields.
  bool capture_errno = false;
  bool set_errno = false;
  // The Signature's static chain: the register that carries it (classify() sets it from the
  // ABI table). A call stub loads it from the pointer after the last argument's, last of all;
  // a thunk hands the handler its address there.
  bool has_static_chain = false;
  Loc static_chain;
  // The widest vector registers the plan uses (classify() sets it from the pieces).
  VectorIsa vector_isa = VectorIsa::Base;

  // Stable multi-line text form, for golden tests and `tramp plan`.
  std::string str(const Signature& sig) const;
};

// The most stack a call's arguments may take (outgoing area and caller copies together).
constexpr std::uint32_t kMaxArgumentArea = 1u << 20;

// Classifies `sig` for its ABI. Pure: no host dependency, works for every ABI on every host.
// Fails with Error(Unsupported) naming the argument (or "return value") and the reason.
Result<CallPlan> classify(const Signature& sig);

// Per-ABI classifiers, one file each in abi/.
Result<CallPlan> classify_sysv_x64(const Signature& sig);
Result<CallPlan> classify_win64(const Signature& sig);
Result<CallPlan> classify_aapcs64(const Signature& sig);
Result<CallPlan> classify_apple_arm64(const Signature& sig);

// C facts that more than one classifier applies.
//
// How the caller widens a small integer argument or return value: gcc and clang on x86-64
// (SysV and ms_abi) extend bool, char and short to 32 bits, and callees compiled by clang
// rely on it although the psABI leaves those bits unspecified.
Ext small_int_extension(const Type* t);
// gcc's empty record (is_empty_type): a struct or union whose every member is an unnamed
// bit-field (padding, DECL_PADDING_P) or itself empty, or an array of those. Both x86-64
// conventions pass one in no stack slot and return it in no register (C++'s empty classes
// get the same rule); a register it is classified into is still taken.
bool is_empty_record(const Type* t);
// "argument 3 (f32)": how classifier errors name an argument.
std::string describe_arg(std::size_t index, const Type* t);
// C's default argument promotions (C11 6.5.2.2p7) turn float into double and bool, char and
// short into int before a variadic callee sees them (it reads them back with va_arg as
// double or int), so those types cannot be variadic arguments. Ok, or the error to report.
Result<bool> check_variadic_type(std::size_t index, const Type* t);

// The error for a call whose arguments need more than kMaxArgumentArea bytes. Classifiers
// return it as soon as their running total passes the limit (before 32-bit offsets wrap).
Error argument_area_error(std::uint64_t bytes);

// The 8/4/2/1-byte cuts of memory: the largest natural word that fits in `left` bytes. What
// moves a value of any size in whole words (a classifier's stack pieces, an emitter's copies
// and stores) cuts it here, from the lowest byte up.
constexpr std::uint32_t natural_chunk(std::uint32_t left) {
  return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

// Whether a Direct argument's pieces all lie on the caller's stack in the value's own C
// layout, so that a callee can use the value where it is; `at` is then where it starts.
bool lies_in_place_on_stack(const ArgPlan& arg, std::uint32_t& at);

// Register name for printing, e.g. "rdi", "xmm3", "x8", "v0".
std::string reg_name(Arch arch, LocKind kind, std::uint8_t reg);

}  // namespace tramp::abi
