// tramp: C declarations as signature input.
//
//   tramp::CScope scope;
//   scope.parse("typedef struct { double x, y; } point;"
//               "double dist(point a, point b);");
//   const tramp::CFunction* f = scope.function("dist");   // f->signature: f64({f64, f64}, {f64, f64})
//
//   tramp::CScope z;
//   z.include("zlib.h");                      // runs `cc -E` (and `cc -dM -E` for #defines)
//   z.function("crc32");                      // u64(u64, ptr, u32)
//   z.constant("Z_BEST_COMPRESSION")->integer; // 9
//
// Understood: function prototypes; typedefs (a repeated identical one is fine); struct, union
// and enum definitions (named and anonymous, nested, with fixed arrays and bit-fields, enums
// with a fixed underlying type), forward declarations; flexible array members (the record is
// usable through a pointer); pointers of any kind (function pointers included) as `ptr`;
// const, volatile, restrict; `...`; _Complex, _Float16 (and AArch64's __fp16);
// __attribute__((vector_size(N))); the standard integer typedefs (size_t, int32_t, ..., FILE
// as an opaque struct) and the target's vector types (__m128 ... on x86-64, <arm_neon.h>'s
// float32x4_t ... on AArch64); __builtin_va_list, __int128,
// _Float32/_Float64/_Float128/_Float32x/_Float64x (as the ABI has them), typeof of a type;
// __attribute__((ms_abi)) and __attribute__((sysv_abi)) on functions; packed and aligned(N)
// on records and members; other attributes, __asm__ labels, __extension__, _Static_assert,
// function bodies and initializers are skipped. Constant expressions (array sizes,
// enumerators, bit-field widths, #define values) follow C's integer types: casts, sizeof,
// shifts, comparisons and `?:`.
// Declarations use the LP64 data model (long is 64 bits, as gcc has it on Linux, ms_abi
// functions included); the ABI decides long double, the signedness of plain char, and what
// gcc lays out differently there (AArch64: vectors aligned to at most 16, records aligned to
// their unnamed bit-fields' types; docs/c-declarations.md).
// Refused with an error: a record used by value before it is complete, complex integers,
// impossible bit-fields and vectors. Lines starting with '#' are skipped (line markers
// `# 12 "file.h"` are followed for positions); parse() runs no preprocessor, include() does.
//
// Errors are tramp::Error(Syntax) (or InvalidType for impossible types) whose message starts
// with "line L, column C:" (after a line marker: "line L, column C of FILE:") and says what
// was expected; position() is the byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
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
  // One entry per parameter: for one declared as a pointer to a function (`int (*cb)(void*,
  // int)`, or through a typedef of one), that function's signature, to make a callback with
  // (Engine::callback); null for the others. Empty when made by hand.
  std::vector<std::shared_ptr<const Signature>> callbacks;
};

// A named constant: an enumerator, or (CScope::include) an object-like #define whose
// expansion is an integer, floating or string constant expression.
struct CConstant {
  enum class Kind { Integer, Float, String };
  std::string name;
  Kind kind = Kind::Integer;
  // Integer: the C type of the value (i32, u32, i64, u64, or ptr for a null or cast pointer
  // such as `((sqlite3_destructor_type)-1)`); Float: f32, f64, or the ABI's long double;
  // String: ptr (a char array in C).
  const Type* type = nullptr;
  std::int64_t integer = 0;  // Integer: the value; read u64 and ptr values as std::uint64_t
  long double floating = 0;  // Float
  std::string string;        // String: the bytes, escapes decoded, without the final NUL
};

// A declaration that a lenient parse (CParseOptions::lenient, CScope::include's default)
// did not understand and skipped.
struct CSkipped {
  std::string name;     // the name it declares, when the parser got that far; else ""
  std::string file;     // the file named by the last line marker before it; "" if none
  std::size_t line = 0;    // in that file (or in the text, without line markers)
  std::size_t column = 0;  // in the preprocessed line
  std::string message;  // the error, position first, as CScope::parse would throw it
};

struct CParseOptions {
  // Skip a top-level declaration that is not understood, record it in CScope::skipped(), and
  // go on with the next one; otherwise (the default) the first one throws and nothing is
  // added.
  bool lenient = false;
};

// How CScope::include runs the C preprocessor. Each string is one argument of an argument
// vector (no shell is involved).
struct CHeaderOptions {
  std::vector<std::string> include_dirs;  // -I
  std::vector<std::string> defines;       // -D: "NAME" or "NAME=VALUE"
  // The preprocessor command: a program found on PATH (or a path) and its first arguments;
  // `-E` and the options above follow. Empty: {"cc"}.
  std::vector<std::string> preprocessor;
  bool lenient = true;    // as CParseOptions::lenient
  bool constants = true;  // also read the header's object-like #defines (`cc -dM -E`)
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
  void parse(std::string_view source, const CParseOptions& options);

  // Preprocesses `#include <header>` (`"header"` when `header` names an existing file by a
  // path with a '/'; a name already in <> or "" is used as it is) with the system C
  // preprocessor and parses the result, then evaluates the header's object-like #defines
  // into constants(). Throws Error(Library) when the preprocessor cannot be run or fails
  // (its own message included), and like parse() otherwise.
  void include(std::string_view header, const CHeaderOptions& options = {});

  // Top-level declarations read so far (each typedef, record, prototype, variable, ...;
  // `int a, b;` is one), skipped ones included.
  std::size_t declaration_count() const noexcept;
  // The declarations a lenient parse skipped, in source order.
  const std::vector<CSkipped>& skipped() const noexcept;

  // Declared functions, in source order.
  const std::vector<CFunction>& functions() const noexcept;
  // The function declared with that name (the latest), or nullptr.
  const CFunction* function(std::string_view name) const noexcept;
  // A typedef name ("point") or a tag ("struct point", "union u", "enum e"), or nullptr
  // (also for a tag that was only declared, not defined).
  const Type* type(std::string_view name) const noexcept;
  // The signature of the function that a typedef names (`typedef int fn(int);`) or points to
  // (`typedef void (*handler)(void*, const char*);`), or nullptr.
  const Signature* function_type(std::string_view typedef_name) const noexcept;

  // Enumerators and #define constants, in the order they were read; the latest with that
  // name, or nullptr. A #define of the same name as an enumerator replaces it (C's macros
  // hide names).
  const std::vector<CConstant>& constants() const noexcept;
  const CConstant* constant(std::string_view name) const noexcept;

 private:
  std::unique_ptr<detail::CScopeState> state_;
};

// A single prototype, e.g. "double hypot(double, double)"; throws like CScope::parse, and
// Error(Syntax) if `source` declares no function or more than one.
CFunction parse_c_function(std::string_view source, Abi abi = host_abi());

}  // namespace tramp
