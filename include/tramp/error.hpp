// tramp: errors. Everything that can fail at description, classification or emission time
// reports a tramp::Error: a code, a message that names what is wrong and where, and for
// text input the byte position. Hot paths (invoking a stub, entering a thunk) never throw.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace tramp {

enum class ErrorCode {
  Syntax,       // malformed signature or declaration text
  InvalidType,  // a type that cannot exist (void field, zero-length array, bad alignment)
  Unsupported,  // a valid type the target ABI cannot pass or return
  HostAbi,      // the ABI is valid but this host cannot run code for it
  Library,      // dlopen/dlsym failed
  Jit,          // executable memory could not be obtained
};

class Error : public std::runtime_error {
 public:
  static constexpr std::size_t kNoPosition = static_cast<std::size_t>(-1);

  Error(ErrorCode code, const std::string& message, std::size_t position = kNoPosition)
      : std::runtime_error(message), code_(code), position_(position) {}

  ErrorCode code() const noexcept { return code_; }
  // Byte offset into the text that was parsed, or kNoPosition.
  std::size_t position() const noexcept { return position_; }

 private:
  ErrorCode code_;
  std::size_t position_;
};

// A value or the Error that prevented it. Used where failure is an expected outcome
// (classification of an arbitrary signature), so callers can branch without exceptions.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  const T& value() const& {
    if (!ok()) throw std::get<1>(v_);
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!ok()) throw std::get<1>(v_);
    return std::get<0>(std::move(v_));
  }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace tramp
