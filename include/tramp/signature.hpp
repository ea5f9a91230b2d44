// tramp: function signatures.
//
// A Signature is a return type, argument types, the index of the first variadic argument
// (for a variadic function, the arguments a particular call passes after `...`), and the
// calling convention (ABI) it follows. Signatures are values: cheap to copy, hashable and
// comparable, so they key the engine's stub cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tramp/error.hpp"
#include "tramp/type.hpp"

namespace tramp {

// Calling conventions tramp knows. Every ABI can be classified (CallPlan) on every host;
// only the host's own can be run.
enum class Abi : std::uint8_t {
  SysV_X64,    // System V AMD64 psABI (Linux, BSD, macOS on x86-64)
  Win64,       // Microsoft x64 (Windows, __attribute__((ms_abi)))
  Aapcs64,     // Arm 64-bit Procedure Call Standard (Linux on AArch64)
  AppleArm64,  // Apple's arm64 variant of AAPCS64
};

// What a call through a stub does with errno (docs/api.md, "errno"). The stub does it in its
// own machine code, right around the call, so nothing between the callee and the save (no
// allocation, no lock, no other library call) can change errno. A signature without it pays
// nothing: its code is the same byte for byte.
enum class ErrnoMode : std::uint8_t {
  None,           // errno is not touched
  Capture,        // right after the call, errno is saved into tramp::last_errno() (this thread's)
  SetAndCapture,  // also, right before the call, errno is set from tramp::last_errno()
                  // (ctypes' use_errno)
};

// The ABI of plain C functions on this host.
Abi host_abi() noexcept;
// Whether this host can execute code for `abi` (SysV and Win64 both run on x86-64 Linux).
bool host_can_run(Abi abi) noexcept;
// "sysv", "win64", "aapcs64", "apple-arm64".
std::string_view abi_name(Abi abi) noexcept;
std::optional<Abi> abi_from_name(std::string_view name) noexcept;

class Signature {
 public:
  static constexpr std::size_t kNotVariadic = static_cast<std::size_t>(-1);

  // Throws Error(InvalidType) naming the offending argument: void or array arguments,
  // an array return type, a fixed_count larger than the argument count.
  Signature(const Type* ret, std::vector<const Type*> args, Abi abi = host_abi(),
            std::size_t fixed_count = kNotVariadic, ErrnoMode errno_mode = ErrnoMode::None,
            bool static_chain = false);

  const Type* ret() const noexcept { return ret_; }
  std::span<const Type* const> args() const noexcept { return args_; }
  std::size_t arg_count() const noexcept { return args_.size(); }
  Abi abi() const noexcept { return abi_; }
  bool variadic() const noexcept { return fixed_count_ != kNotVariadic; }
  // Number of arguments before `...` (all of them when not variadic).
  std::size_t fixed_count() const noexcept {
    return variadic() ? fixed_count_ : args_.size();
  }
  bool is_variadic_arg(std::size_t i) const noexcept { return variadic() && i >= fixed_count_; }
  ErrnoMode errno_mode() const noexcept { return errno_mode_; }
  // The same signature with another ErrnoMode (e.g. for one read from a C declaration).
  Signature with_errno_mode(ErrnoMode mode) const {
    return Signature(ret_, args_, abi_, fixed_count_, mode, static_chain_);
  }
  // The call passes a static chain: a pointer-sized value in the register the ABI's
  // compilers use for one (gcc's __builtin_call_with_static_chain; GNU C's nested functions
  // and Go closures receive their context so): r10 on x86-64 (SysV and Win64), x18 under
  // AAPCS64; apple-arm64 refuses it. Through the uniform interface it is one more argument,
  // after the others: args[arg_count()] points at the value (void*), in a call and in a
  // callback's handler alike (docs/api.md, "Static chain").
  bool static_chain() const noexcept { return static_chain_; }
  Signature with_static_chain(bool on = true) const {
    return Signature(ret_, args_, abi_, fixed_count_, errno_mode_, on);
  }

  // One call of a variadic function: this signature's fixed arguments followed by `extra`,
  // the types that call passes after `...` (replacing any variadic arguments this signature
  // already lists), with the same return type, ABI and fixed_count(). A C caller passes
  // what C's default argument promotions make (C11 6.5.2.2p7): f32, bool and integers
  // narrower than int are refused with Error(Unsupported) naming the argument (counted from 0
  // over the whole call, as elsewhere) and the promoted type to pass ("pass f64", "pass
  // i32"), the classifiers' own message; a null, void or array type, or a signature that is
  // not variadic, with Error(InvalidType).
  Signature with_variadic(std::span<const Type* const> extra) const;

  // Text form accepted by parse_signature; the ABI prefix is written when `with_abi` or
  // when the ABI is not the host's; an ErrnoMode is the suffix " errno" or " errno(set)",
  // a static chain the suffix " static_chain" after it.
  std::string str(bool with_abi = false) const;
  void append_str(std::string& out, bool with_abi = false) const;  // str() appended to `out`
  std::size_t hash() const noexcept { return hash_; }

  friend bool operator==(const Signature& a, const Signature& b) noexcept {
    if (a.hash_ != b.hash_ || a.ret_ != b.ret_ || a.abi_ != b.abi_ || a.fixed_count_ != b.fixed_count_ ||
        a.errno_mode_ != b.errno_mode_ || a.static_chain_ != b.static_chain_ || a.args_.size() != b.args_.size())
      return false;
    // A loop, not vector's ==: its memcmp call costs more than comparing a few pointers, and
    // the engine compares a Signature on every cache hit and callback.
    for (std::size_t i = 0; i < a.args_.size(); ++i)
      if (a.args_[i] != b.args_[i]) return false;
    return true;
  }

 private:
  const Type* ret_;
  std::vector<const Type*> args_;
  Abi abi_;
  std::size_t fixed_count_;
  ErrnoMode errno_mode_;
  bool static_chain_;
  std::size_t hash_;
};

// Fluent construction: SignatureBuilder(Type::i32()).arg(Type::pointer()).variadic()
//                          .arg(Type::f64()).build()
class SignatureBuilder {
 public:
  explicit SignatureBuilder(const Type* ret) : ret_(ret) {}
  SignatureBuilder& arg(const Type* t) { args_.push_back(t); return *this; }
  // Arguments added after this call are the variadic ones.
  SignatureBuilder& variadic() { fixed_ = args_.size(); return *this; }
  SignatureBuilder& abi(Abi a) { abi_ = a; return *this; }
  // What the call does with errno (ErrnoMode); none by default.
  SignatureBuilder& errno_mode(ErrnoMode m) { errno_mode_ = m; return *this; }
  // The call passes a static chain (Signature::static_chain).
  SignatureBuilder& static_chain(bool on = true) { static_chain_ = on; return *this; }
  Signature build() const { return Signature(ret_, args_, abi_, fixed_, errno_mode_, static_chain_); }

 private:
  const Type* ret_;
  std::vector<const Type*> args_;
  Abi abi_ = host_abi();
  std::size_t fixed_ = Signature::kNotVariadic;
  ErrnoMode errno_mode_ = ErrnoMode::None;
  bool static_chain_ = false;
};

// Parses the compact text form (grammar: docs/signatures.md), e.g.
//   "f64(f64, f64)"   "i32(ptr, ...f64, i32)"   "win64:{f32,f32}(ptr, u8)"   "i32(ptr, i32) errno"
//   "i32(i32) static_chain"
// Throws Error(Syntax) with the byte position and what was expected there.
Signature parse_signature(std::string_view text, Abi default_abi = host_abi());
// Parses just a type, e.g. "{i32, f64[3]} align(16)".
const Type* parse_type(std::string_view text, Abi abi = host_abi());

}  // namespace tramp

template <>
struct std::hash<tramp::Signature> {
  std::size_t operator()(const tramp::Signature& s) const noexcept { return s.hash(); }
};
