// tramp: C declarations as signature input.
//
//   tramp::CScope scope;
//   scope.parse("typedef struct { double x, y; } point;"
//               "double dist(point a, point b);");
//   const tramp::CFunction* f = scope.function("dist");   // f->signature: f64({f64, f64}, {f64, f64})
//
// Understood: function prototypes; typedefs; struct, union and enum definitions (named and
// anonymous, nested, with fixed arrays and bit-fields), forward declarations; pointers of any
// kind (function pointers included) as `ptr`; const, volatile, restrict; `...`; _Complex,
// _Float16 (and AArch64's __fp16); __attribute__((vector_size(N))); the standard integer
// typedefs (size_t, int32_t, ..., FILE as an opaque struct) and the target's vector types
// (__m128 ... on x86-64, <arm_neon.h>'s float32x4_t ... on AArch64);
// __attribute__((ms_abi)) and __attribute__((sysv_abi)) on functions; packed and aligned(N)
// on records and members. Declarations use the LP64 data model (long is 64 bits, as gcc has
// it on Linux, ms_abi functions included); the ABI decides long double, the signedness of
// plain char, and what gcc lays out differently there (AArch64: vectors aligned to at most
// 16, records aligned to their unnamed bit-fields' types; docs/c-declarations.md).
// Refused with an error: function bodies, a record used by value before it is complete,
// complex integers, impossible bit-fields and vectors. Lines starting with '#' are skipped;
// there is no preprocessor.
//
// Errors are tramp::Error(Syntax) (or InvalidType for impossible types) whose message starts
// with "line L, column C:" and says what was expected; position() is the byte offset.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tramp/signature.hpp"

namespace tramp {

namespace detail {
struct CScopeState;
}  // namespace detail

struct CFunction {
  std::string name;
  Signature signature;  // variadic functions: the fixed arguments, with fixed_count() set
  // The declared return type is a pointer to char (`char*`, `const char*`): a C string, as
  // far as the declaration says (the tool prints it as one).
  bool returns_c_string = false;
};

// Declarations made so far: later parse() calls can use earlier typedefs, tags and enum
// constants, as later lines of a C file can. Not thread-safe; copyable.
class CScope {
 public:
  explicit CScope(Abi abi = host_abi());
  CScope(const CScope&);
  CScope& operator=(const CScope&);
  ~CScope();

  // Parses `source` (any number of declarations) into the scope: all of them, or, when it
  // throws, none.
  void parse(std::string_view source);

  // Declared functions, in source order.
  const std::vector<CFunction>& functions() const noexcept;
  // The function declared with that name (the latest), or nullptr.
  const CFunction* function(std::string_view name) const noexcept;
  // A typedef name ("point") or a tag ("struct point", "union u", "enum e"), or nullptr
  // (also for a tag that was only declared, not defined).
  const Type* type(std::string_view name) const noexcept;

 private:
  std::unique_ptr<detail::CScopeState> state_;
};

// A single prototype, e.g. "double hypot(double, double)"; throws like CScope::parse, and
// Error(Syntax) if `source` declares no function or more than one.
CFunction parse_c_function(std::string_view source, Abi abi = host_abi());

}  // namespace tramp
