// The signature text form: a hand-written recursive-descent parser. Grammar, examples and
// the error format are in docs/signatures.md. Every failure is a tramp::Error carrying the
// byte position; no input can make the parser recurse or allocate without bound, because it
// is fuzzed and fed untrusted strings by interpreters.
#include <charconv>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "abi/abis.hpp"
#include "core/quote.hpp"
#include "tramp/signature.hpp"

namespace tramp {
namespace {

using detail::quoted;

// Mirrors Type's limits, so the parser reports them as syntax at the number itself.
constexpr std::size_t kMaxAlign = std::size_t{1} << 28;
constexpr std::size_t kMaxCount = kMaxTypeSize;
// No integer kind has more bits; Type says when a width exceeds its own type's.
constexpr std::size_t kMaxBitWidth = 128;

struct ScalarName {
  std::string_view name;
  TypeKind kind;
};

// Canonical names first (Type::str() spells those), then C spellings for LP64 targets.
constexpr ScalarName kScalarNames[] = {
    {"void", TypeKind::Void},      {"bool", TypeKind::Bool},        {"i8", TypeKind::I8},
    {"u8", TypeKind::U8},          {"i16", TypeKind::I16},          {"u16", TypeKind::U16},
    {"i32", TypeKind::I32},        {"u32", TypeKind::U32},          {"i64", TypeKind::I64},
    {"u64", TypeKind::U64},        {"i128", TypeKind::I128},        {"u128", TypeKind::U128},
    {"f32", TypeKind::F32},        {"f64", TypeKind::F64},          {"f80", TypeKind::F80},
    {"f128", TypeKind::F128},      {"ptr", TypeKind::Pointer},      {"char", TypeKind::I8},
    {"schar", TypeKind::I8},       {"uchar", TypeKind::U8},         {"short", TypeKind::I16},
    {"ushort", TypeKind::U16},     {"int", TypeKind::I32},          {"uint", TypeKind::U32},
    {"long", TypeKind::I64},       {"ulong", TypeKind::U64},        {"longlong", TypeKind::I64},
    {"ulonglong", TypeKind::U64},  {"size_t", TypeKind::U64},       {"ssize_t", TypeKind::I64},
    {"ptrdiff_t", TypeKind::I64},  {"intptr_t", TypeKind::I64},     {"uintptr_t", TypeKind::U64},
    {"float", TypeKind::F32},      {"double", TypeKind::F64},       {"f16", TypeKind::F16},
};

// The element names a vector is spelled with (`f32x4`): the canonical names only.
constexpr std::string_view kVectorElements[] = {"i8", "u8", "i16", "u16", "i32", "u32",
                                                "i64", "u64", "f16", "f32", "f64"};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// What the parser says when a type nests deeper than kMaxTypeDepth (Type's own limit).
std::string nesting_limit() {
  return "a type nested at most " + std::to_string(kMaxTypeDepth) + " levels deep";
}

class Parser {
 public:
  Parser(std::string_view text, Abi abi) : s_(text), abi_(abi) {}

  Signature signature() {
    skip_ws();
    abi_prefix();
    skip_ws();
    const std::size_t ret_pos = pos_;
    const Type* ret = type(0);
    expect('(', "'(' after the return type");

    std::vector<const Type*> args;
    std::vector<std::size_t> positions;  // where each argument's type starts, for errors
    std::size_t fixed = Signature::kNotVariadic;
    skip_ws();
    if (peek() == ')') {
      ++pos_;
    } else if (word() == "void" && next_nonspace(pos_ + 4) == ')') {
      // C's "(void)": no arguments. "void" followed by anything else is an ordinary type
      // ("void*" is ptr; "void, i32" is refused by Signature as a void argument).
      pos_ += 4;
      expect(')', "')'");
    } else {
      for (;;) {
        skip_ws();
        if (s_.substr(pos_, 3) == "...") {
          if (fixed != Signature::kNotVariadic) fail("a type", pos_, "a second '...'");
          pos_ += 3;
          fixed = args.size();
          skip_ws();
          if (peek() == ')') {
            ++pos_;
            break;
          }
          if (peek() == ',') ++pos_;  // "..., f64" reads like C; accept it as "...f64"
          skip_ws();
          if (s_.substr(pos_, 3) == "...") fail("a type", pos_, "a second '...'");
        }
        positions.push_back(pos_);
        args.push_back(type(0));
        skip_ws();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(')', "',' or ')'");
        break;
      }
    }
    const ErrnoMode errno_mode = errno_suffix();
    const bool static_chain = static_chain_suffix();
    expect_end();

    try {
      return Signature(ret, std::move(args), abi_, fixed, errno_mode, static_chain);
    } catch (const Error& e) {
      // Signature names the offending argument ("argument 2: ..."); point at its text.
      std::size_t at = ret_pos;
      const std::string_view msg = e.what();
      if (msg.starts_with("argument ")) {
        std::size_t index = 0;
        const char* first = msg.data() + 9;
        auto [p, ec] = std::from_chars(first, msg.data() + msg.size(), index);
        if (ec == std::errc() && index < positions.size()) at = positions[index];
      }
      throw Error(e.code(), "at " + std::to_string(at) + ": " + e.what(), at);
    }
  }

  const Type* lone_type() {
    skip_ws();
    const Type* t = type(0);
    expect_end();
    return t;
  }

 private:
  // ['abi' ':'] — an ABI name contains '-', so it is scanned separately from type words.
  void abi_prefix() {
    std::size_t end = pos_;
    if (end < s_.size() && is_alpha(s_[end])) {
      while (end < s_.size() && (is_alpha(s_[end]) || is_digit(s_[end]) || s_[end] == '-')) ++end;
    }
    if (end == pos_ || next_nonspace(end) != ':') return;
    const std::string_view name = s_.substr(pos_, end - pos_);
    auto abi = abi_from_name(name);
    if (!abi) fail("an ABI name (sysv, win64, aapcs64, apple-arm64)", pos_, quoted(name));
    abi_ = *abi;
    pos_ = end;
    skip_ws();
    ++pos_;  // the ':'
  }

  // ['errno' ['(' 'set' ')']] after the argument list.
  ErrnoMode errno_suffix() {
    skip_ws();
    if (word() != "errno") return ErrnoMode::None;
    pos_ += 5;
    skip_ws();
    if (peek() != '(') return ErrnoMode::Capture;
    ++pos_;
    skip_ws();
    if (word() != "set") fail("'set' after 'errno('", pos_, found());
    pos_ += 3;
    expect(')', "')' after 'errno(set'");
    return ErrnoMode::SetAndCapture;
  }

  // ['static_chain'] after the errno suffix.
  bool static_chain_suffix() {
    skip_ws();
    if (word() != "static_chain") return false;
    pos_ += 12;
    return true;
  }

  // type := base {'[' N ']' | '*'}
  const Type* type(std::size_t depth) {
    if (depth > kMaxTypeDepth) fail(nesting_limit(), pos_, found());
    skip_ws();
    const std::size_t start = pos_;
    const Type* t = base(depth);
    // Dimensions are collected and applied right to left: C order, i32[2][3] is 2 x (3 x i32).
    std::vector<std::size_t> dims;
    auto apply_dims = [&] {
      for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
        const std::size_t count = *it;
        t = build(start, [&] { return Type::array(t, count); });
      }
      dims.clear();
    };
    for (;;) {
      skip_ws();
      if (peek() == '[') {
        if (t->depth() + dims.size() >= kMaxTypeDepth) fail(nesting_limit(), pos_, "another '['");
        ++pos_;
        skip_ws();
        const std::size_t at = pos_;
        const std::size_t n = number("an array length", kMaxCount);
        if (n == 0) fail("an array length of at least 1", at, "0");
        dims.push_back(n);
        expect(']', "']'");
      } else if (peek() == '*') {
        // Any pointer is ptr; what it points to only needed to be well-formed.
        ++pos_;
        apply_dims();
        t = Type::pointer();
      } else {
        break;
      }
    }
    apply_dims();
    return t;
  }

  // base := scalar | ['packed'] ['union'] '{' member {',' member} '}' ['align' '(' N ')']
  const Type* base(std::size_t depth) {
    const std::size_t start = pos_;
    std::string_view w = word();
    const bool packed = w == "packed";
    if (packed) {
      pos_ += w.size();
      skip_ws();
      w = word();
    }
    TypeKind kind = TypeKind::Struct;
    if (w == "union") {
      kind = TypeKind::Union;
      pos_ += w.size();
      skip_ws();
    } else if (!packed && !w.empty()) {
      if (w == "complex") {
        // complex := 'complex' scalar, a floating one (Type::complex says which).
        pos_ += w.size();
        skip_ws();
        const std::size_t at = pos_;
        const std::string_view e = word();
        const Type* element = e.empty() ? nullptr : scalar_named(e);
        if (element == nullptr) fail("a floating type after complex", at, found());
        pos_ += e.size();
        return build(at, [&] { return Type::complex(element); });
      }
      if (const Type* t = scalar_named(w)) {
        pos_ += w.size();
        return t;
      }
      if (const Type* t = vector(w, start)) return t;
      fail("a type", start, quoted(w));
    }
    if (peek() != '{') {
      if (kind == TypeKind::Union) fail("'{' after union", pos_, found());
      if (packed) fail("'{' or 'union' after packed", pos_, found());
      fail("a type", pos_, found());
    }
    ++pos_;

    std::vector<FieldSpec> members;
    std::vector<std::size_t> positions;
    std::size_t height = 0;
    for (;;) {
      skip_ws();
      positions.push_back(pos_);
      FieldSpec m;
      if (word() == "alignas") {
        pos_ += 7;
        expect('(', "'(' after alignas");
        m.align = alignment();
        expect(')', "')'");
        skip_ws();
      }
      if (word() == "unnamed") {
        pos_ += 7;
        m.unnamed = true;
      }
      m.type = type(depth + 1);
      if (m.type->depth() > height) height = m.type->depth();
      skip_ws();
      // A bit-field: ':' and its width; a zero-width one is always unnamed.
      if (peek() == ':') {
        ++pos_;
        skip_ws();
        m.bit_width = static_cast<std::uint32_t>(number("a bit-field width", kMaxBitWidth));
        if (m.bit_width == 0) m.unnamed = true;
        skip_ws();
      } else if (m.unnamed) {
        fail("':' and a bit-field width after an unnamed member's type", pos_, found());
      }
      // A trailing align(N) on a member; a record member's own "} align(N)" was already
      // taken by the inner record, so "{{i32} align(8) align(16)}" is record 8, member 16.
      if (m.align == 0 && word() == "align") {
        pos_ += 5;
        expect('(', "'(' after align");
        m.align = alignment();
        expect(')', "')'");
        skip_ws();
      }
      members.push_back(m);
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}', "',' or '}'");
      break;
    }

    RecordOptions options;
    options.packed = packed;
    skip_ws();
    if (word() == "align") {
      pos_ += 5;
      expect('(', "'(' after align");
      options.align = alignment();
      expect(')', "')'");
    }
    if (height + 1 > kMaxTypeDepth)
      fail(nesting_limit(), start, "one nested " + std::to_string(height + 1) + " levels deep");

    try {
      const Type* t = kind == TypeKind::Struct ? Type::struct_(members, options) : Type::union_(members, options);
      return t;
    } catch (const Error& e) {
      // Type names the offending member ("struct member 2: ..."); point at its text.
      std::size_t at = start;
      const std::string_view msg = e.what();
      const std::string_view prefix = kind == TypeKind::Struct ? "struct member " : "union member ";
      if (msg.starts_with(prefix)) {
        std::size_t index = 0;
        auto [p, ec] = std::from_chars(msg.data() + prefix.size(), msg.data() + msg.size(), index);
        if (ec == std::errc() && index < positions.size()) at = positions[index];
      }
      throw Error(e.code(), "at " + std::to_string(at) + ": " + e.what(), at);
    }
  }

  // The scalar a name spells (canonical names, C aliases, `longdouble` for the ABI), or null.
  const Type* scalar_named(std::string_view w) const {
    if (w == "longdouble") return Type::scalar(abi::abi_info(abi_).long_double);
    for (const ScalarName& s : kScalarNames)
      if (s.name == w) return Type::scalar(s.kind);
    return nullptr;
  }

  // vector := element 'x' N ['align' '(' N ')'], one word such as f32x4, or null when `w` is
  // not spelled so. The alignment belongs to the vector, as a record's does after its '}'.
  const Type* vector(std::string_view w, std::size_t start) {
    const std::size_t x = w.rfind('x');
    if (x == std::string_view::npos || x + 1 == w.size()) return nullptr;
    const std::string_view name = w.substr(0, x), digits = w.substr(x + 1);
    bool element_ok = false;
    for (std::string_view e : kVectorElements) element_ok |= e == name;
    if (!element_ok) return nullptr;
    for (char c : digits)
      if (!is_digit(c)) return nullptr;
    std::size_t count = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    if (ec != std::errc() || count > kMaxCount)
      fail("a vector length of at most " + std::to_string(kMaxCount), start + x + 1, quoted(digits));
    pos_ += w.size();
    std::size_t align = 0;
    skip_ws();
    if (word() == "align") {
      pos_ += 5;
      expect('(', "'(' after align");
      align = alignment();
      expect(')', "')'");
    }
    return build(start, [&] { return Type::vector(scalar_named(name), count, align); });
  }

  template <class F>
  const Type* build(std::size_t at, F&& make) {
    try {
      return make();
    } catch (const Error& e) {
      throw Error(e.code(), "at " + std::to_string(at) + ": " + e.what(), at);
    }
  }

  std::size_t alignment() {
    skip_ws();
    const std::size_t at = pos_;
    const std::size_t n = number("an alignment", kMaxAlign);
    if ((n & (n - 1)) != 0 || n == 0) fail("a power-of-two alignment", at, std::to_string(n));
    return n;
  }

  // A decimal number in [0, max]; the bound is checked here so the message can show it.
  std::size_t number(const std::string& what, std::size_t max) {
    if (!is_digit(peek())) fail(what, pos_, found());
    std::size_t end = pos_;
    while (end < s_.size() && is_digit(s_[end])) ++end;
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + end, n);
    if (ec != std::errc() || n > max)
      fail(what + " of at most " + std::to_string(max), pos_, quoted(s_.substr(pos_, end - pos_)));
    pos_ = end;
    return n;
  }

  void expect(char c, const char* what) {
    skip_ws();
    if (peek() != c) fail(what, pos_, found());
    ++pos_;
  }

  void expect_end() {
    skip_ws();
    if (pos_ != s_.size()) fail("end of input", pos_, found());
  }

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }

  void skip_ws() {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
  }

  char next_nonspace(std::size_t p) const {
    while (p < s_.size() && is_space(s_[p])) ++p;
    return p < s_.size() ? s_[p] : '\0';
  }

  // The identifier at pos_ ([A-Za-z_][A-Za-z0-9_]*), or empty.
  std::string_view word() const {
    std::size_t end = pos_;
    if (end < s_.size() && is_alpha(s_[end])) {
      while (end < s_.size() && (is_alpha(s_[end]) || is_digit(s_[end]))) ++end;
    }
    return s_.substr(pos_, end - pos_);
  }

  // What the text holds at pos_, for "found ..." in messages.
  std::string found() const {
    if (pos_ >= s_.size()) return "end of input";
    const std::string_view w = word();
    if (!w.empty()) return quoted(w);
    if (is_digit(s_[pos_])) {
      std::size_t end = pos_;
      while (end < s_.size() && is_digit(s_[end])) ++end;
      return quoted(s_.substr(pos_, end - pos_));
    }
    return quoted(s_.substr(pos_, 1));
  }

  [[noreturn]] void fail(const std::string& expected, std::size_t at, const std::string& got) const {
    throw Error(ErrorCode::Syntax, "at " + std::to_string(at) + ": expected " + expected + ", found " + got, at);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  Abi abi_;
};

}  // namespace

Signature parse_signature(std::string_view text, Abi default_abi) { return Parser(text, default_abi).signature(); }

const Type* parse_type(std::string_view text, Abi abi) { return Parser(text, abi).lone_type(); }

}  // namespace tramp
