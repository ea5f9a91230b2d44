// Signatures: validation, hashing, text form; ABI names and the host ABI.
#include "tramp/signature.hpp"

#include "abi/abis.hpp"
#include "abi/call_plan.hpp"

#include <functional>
#include <string>
#include <utility>

namespace tramp {

Abi host_abi() noexcept {
#if defined(__aarch64__) && defined(__APPLE__)
  return Abi::AppleArm64;
#elif defined(__aarch64__)
  return Abi::Aapcs64;
#elif defined(_WIN64)
  return Abi::Win64;
#else
  return Abi::SysV_X64;
#endif
}

bool host_can_run(Abi abi) noexcept { return abi::abi_info(abi).host_runs; }

namespace {
// splitmix64's finaliser: every input bit reaches every output bit. Type pointers differ only
// in a few middle bits, and the weaker boost-style combine let distinct signatures collide
// (2 of 1,024 in one CI run).
std::uint64_t avalanche(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
std::size_t mix(std::size_t h, std::size_t v) { return avalanche(h ^ avalanche(v + 0x9e3779b97f4a7c15ULL)); }
}  // namespace

std::string_view abi_name(Abi abi) noexcept {
  for (const abi::AbiInfo& a : abi::abis())
    if (a.abi == abi) return a.name;
  return "?";
}

std::optional<Abi> abi_from_name(std::string_view name) noexcept {
  for (const abi::AbiInfo& a : abi::abis())
    if (a.name == name) return a.abi;
  return std::nullopt;
}

Signature::Signature(const Type* ret, std::vector<const Type*> args, Abi abi, std::size_t fixed_count,
                     ErrnoMode errno_mode, bool static_chain)
    : ret_(ret),
      args_(std::move(args)),
      abi_(abi),
      fixed_count_(fixed_count),
      errno_mode_(errno_mode),
      static_chain_(static_chain) {
  if (ret_ == nullptr) throw Error(ErrorCode::InvalidType, "return type: null type");
  if (ret_->kind() == TypeKind::Array)
    throw Error(ErrorCode::InvalidType,
                "return type: array types cannot be returned by value; return ptr or wrap the array in a struct");
  for (std::size_t i = 0; i < args_.size(); ++i) {
    const Type* t = args_[i];
    const std::string where = "argument " + std::to_string(i);
    if (t == nullptr) throw Error(ErrorCode::InvalidType, where + ": null type");
    if (t->is_void()) throw Error(ErrorCode::InvalidType, where + ": void cannot be an argument type");
    if (t->kind() == TypeKind::Array)
      throw Error(ErrorCode::InvalidType, where + ": array types cannot be passed by value; pass ptr");
  }
  if (fixed_count_ != kNotVariadic && fixed_count_ > args_.size())
    throw Error(ErrorCode::InvalidType, "fixed_count " + std::to_string(fixed_count_) +
                                            " is larger than the argument count " + std::to_string(args_.size()));
  if (errno_mode_ != ErrnoMode::None && errno_mode_ != ErrnoMode::Capture && errno_mode_ != ErrnoMode::SetAndCapture)
    throw Error(ErrorCode::InvalidType, "unknown errno mode " + std::to_string(static_cast<int>(errno_mode_)));
  // Types are interned, so pointer identity is type identity.
  std::size_t h = mix(std::hash<const void*>{}(ret_), static_cast<std::size_t>(abi_));
  h = mix(h, fixed_count_);
  for (const Type* t : args_) h = mix(h, std::hash<const void*>{}(t));
  if (errno_mode_ != ErrnoMode::None) h = mix(h, 0x6572726e6f00ULL + static_cast<std::size_t>(errno_mode_));
  if (static_chain_) h = mix(h, 0x636861696eULL);
  hash_ = h;
}

Signature Signature::with_variadic(std::span<const Type* const> extra) const {
  if (!variadic())
    throw Error(ErrorCode::InvalidType, "with_variadic: " + str(true) + " is not variadic (no '...')");
  std::vector<const Type*> args(args_.begin(), args_.begin() + static_cast<std::ptrdiff_t>(fixed_count_));
  for (std::size_t k = 0; k < extra.size(); ++k) {
    const Type* t = extra[k];
    if (t == nullptr) throw Error(ErrorCode::InvalidType, "argument " + std::to_string(fixed_count_ + k) + ": null type");
    // The classifiers' own rule and message: one place says what C promotes.
    if (auto ok = abi::check_variadic_type(fixed_count_ + k, t); !ok) throw ok.error();
    args.push_back(t);
  }
  try {
    return Signature(ret_, std::move(args), abi_, fixed_count_, errno_mode_, static_chain_);
  } catch (const Error& e) {  // void or an array: the constructor's message already names the argument
    throw Error(ErrorCode::InvalidType, std::string("with_variadic: ") + e.what());
  }
}

std::string Signature::str(bool with_abi) const {
  std::string s;
  s.reserve(16 + 8 * args_.size());  // scalars' names are short: most signatures fit
  append_str(s, with_abi);
  return s;
}

void Signature::append_str(std::string& s, bool with_abi) const {
  if (with_abi || abi_ != host_abi()) {
    s += abi_name(abi_);
    s += ':';
  }
  ret_->append_str(s);
  s += '(';
  for (std::size_t i = 0; i < args_.size(); ++i) {
    if (i) s += ", ";
    if (variadic() && i == fixed_count_) s += "...";
    args_[i]->append_str(s);
  }
  if (variadic() && fixed_count_ == args_.size()) s += args_.empty() ? "..." : ", ...";
  s += ')';
  if (errno_mode_ == ErrnoMode::Capture) s += " errno";
  if (errno_mode_ == ErrnoMode::SetAndCapture) s += " errno(set)";
  if (static_chain_) s += " static_chain";
}

}  // namespace tramp
