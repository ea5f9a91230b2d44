// The signature text form: a hand-written recursive-descent parser. Grammar and examples in
// docs/signatures.md. Every failure is a tramp::Error carrying the byte position.
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <charconv>
#include <string>

#include "tramp/signature.hpp"

namespace tramp {
namespace {

constexpr int kMaxDepth = 64;

struct Alias {
  std::string_view name;
  TypeKind kind;
};

// C spellings accepted next to the canonical names (LP64: long is 64 bits).
constexpr Alias kScalarNames[] = {
    {"void", TypeKind::Void},     {"bool", TypeKind::Bool},     {"i8", TypeKind::I8},
    {"u8", TypeKind::U8},         {"i16", TypeKind::I16},       {"u16", TypeKind::U16},
    {"i32", TypeKind::I32},       {"u32", TypeKind::U32},       {"i64", TypeKind::I64},
    {"u64", TypeKind::U64},       {"i128", TypeKind::I128},     {"u128", TypeKind::U128},
    {"f32", TypeKind::F32},       {"f64", TypeKind::F64},       {"f80", TypeKind::F80},
    {"f128", TypeKind::F128},     {"ptr", TypeKind::Pointer},   {"char", TypeKind::I8},
    {"schar", TypeKind::I8},      {"uchar", TypeKind::U8},      {"short", TypeKind::I16},
    {"ushort", TypeKind::U16},    {"int", TypeKind::I32},       {"uint", TypeKind::U32},
    {"long", TypeKind::I64},      {"ulong", TypeKind::U64},     {"longlong", TypeKind::I64},
    {"ulonglong", TypeKind::U64}, {"size_t", TypeKind::U64},    {"ssize_t", TypeKind::I64},
    {"ptrdiff_t", TypeKind::I64}, {"intptr_t", TypeKind::I64},  {"uintptr_t", TypeKind::U64},
    {"float", TypeKind::F32},     {"double", TypeKind::F64},
};

TypeKind long_double_of(Abi abi) {
  switch (abi) {
    case Abi::SysV_X64:
    case Abi::Win64:  // gcc keeps the x87 format for long double under ms_abi
      return TypeKind::F80;
    case Abi::Aapcs64:
      return TypeKind::F128;
    case Abi::AppleArm64:
      return TypeKind::F64;
  }
  return TypeKind::F80;
}

class Parser {
 public:
  Parser(std::string_view text, Abi abi) : s_(text), abi_(abi) {}

  Signature signature() {
    skip_ws();
    // An optional "abi:" prefix.
    std::string_view word = peek_word();
    if (!word.empty()) {
      std::size_t after = pos_ + word.size();
      while (after < s_.size() && std::isspace(static_cast<unsigned char>(s_[after]))) ++after;
      if (after < s_.size() && s_[after] == ':') {
        auto abi = abi_from_name(word);
        if (!abi) fail("an ABI name (sysv, win64, aapcs64, apple-arm64)", pos_, word);
        abi_ = *abi;
        pos_ = after + 1;
      }
    }
    std::size_t ret_pos = pos_;
    const Type* ret = type(0);
    expect('(', "'(' after the return type");
    std::vector<const Type*> args;
    std::vector<std::size_t> positions;
    std::size_t fixed = Signature::kNotVariadic;
    skip_ws();
    if (peek() == ')') {
      ++pos_;
    } else if (peek_word() == "void" && next_nonspace_after(pos_ + 4) == ')') {
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
          if (peek() == ',') ++pos_;
        }
        positions.push_back(skip_ws_pos());
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
    skip_ws();
    if (pos_ != s_.size()) fail("end of input", pos_, found());
    try {
      return Signature(ret, std::move(args), abi_, fixed);
    } catch (const Error& e) {
      // Point at the offending argument when the message names one.
      std::size_t at = ret_pos;
      std::string msg = e.what();
      if (msg.rfind("argument ", 0) == 0) {
        std::size_t idx = std::strtoul(msg.c_str() + 9, nullptr, 10);
        if (idx < positions.size()) at = positions[idx];
      }
      throw Error(e.code(), "at " + std::to_string(at) + ": " + msg, at);
    }
  }

  const Type* lone_type() {
    const Type* t = type(0);
    skip_ws();
    if (pos_ != s_.size()) fail("end of input", pos_, found());
    return t;
  }

 private:
  const Type* type(int depth) {
    if (depth > kMaxDepth) fail("a shallower type (nesting is limited to 64 levels)", pos_, found());
    skip_ws();
    std::size_t start = pos_;
    const Type* t = base(depth);
    // Suffixes: [N] builds arrays in C order (i32[2][3] is 2 arrays of 3), * makes a pointer.
    std::vector<std::pair<std::size_t, std::size_t>> dims;  // (count, position)
    auto flush = [&] {
      for (auto it = dims.rbegin(); it != dims.rend(); ++it) t = build(start, [&] { return Type::array(t, it->first); });
      dims.clear();
    };
    for (;;) {
      skip_ws();
      if (peek() == '[') {
        ++pos_;
        skip_ws();
        std::size_t at = pos_;
        std::size_t n = number("an array length");
        if (n == 0) fail("an array length of at least 1", at, "0");
        dims.emplace_back(n, at);
        expect(']', "']'");
      } else if (peek() == '*') {
        ++pos_;
        flush();
        t = Type::pointer();
      } else {
        break;
      }
    }
    flush();
    return t;
  }

  const Type* base(int depth) {
    skip_ws();
    std::size_t start = pos_;
    std::string_view word = peek_word();
    bool packed = false;
    if (word == "packed") {
      packed = true;
      pos_ += word.size();
      skip_ws();
      word = peek_word();
    }
    TypeKind kind = TypeKind::Struct;
    if (word == "union") {
      kind = TypeKind::Union;
      pos_ += word.size();
      skip_ws();
    } else if (!packed && !word.empty()) {
      pos_ += word.size();
      if (word == "longdouble") return Type::scalar(long_double_of(abi_));
      for (const Alias& a : kScalarNames)
        if (a.name == word) return Type::scalar(a.kind);
      fail("a type", start, "'" + std::string(word) + "'");
    }
    if (peek() != '{') fail(packed || kind == TypeKind::Union ? "'{'" : "a type", pos_, found());
    ++pos_;
    std::vector<FieldSpec> members;
    for (;;) {
      skip_ws();
      FieldSpec m;
      if (peek_word() == "alignas") {
        pos_ += 7;
        expect('(', "'(' after alignas");
        skip_ws();
        m.align = alignment();
        expect(')', "')'");
      }
      m.type = type(depth + 1);
      members.push_back(m);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}', "',' or '}'");
      break;
    }
    RecordOptions opt;
    opt.packed = packed;
    skip_ws();
    if (peek_word() == "align") {
      pos_ += 5;
      expect('(', "'(' after align");
      skip_ws();
      opt.align = alignment();
      expect(')', "')'");
    }
    return build(start, [&] {
      return kind == TypeKind::Struct ? Type::struct_(members, opt) : Type::union_(members, opt);
    });
  }

  template <class F>
  const Type* build(std::size_t at, F&& f) {
    try {
      return f();
    } catch (const Error& e) {
      throw Error(e.code(), "at " + std::to_string(at) + ": " + e.what(), at);
    }
  }

  std::size_t alignment() {
    std::size_t at = pos_;
    std::size_t n = number("an alignment");
    if (n == 0 || (n & (n - 1)) != 0 || n > 4096) fail("a power-of-two alignment up to 4096", at, std::to_string(n));
    return n;
  }

  std::size_t number(const char* what) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(s_.data() + pos_, s_.data() + s_.size(), n);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && n > (std::size_t{1} << 31)))
      fail(std::string(what) + " below 2^31", pos_, "a larger number");
    if (ec != std::errc()) fail(what, pos_, found());
    pos_ = static_cast<std::size_t>(p - s_.data());
    return n;
  }

  void expect(char c, const char* what) {
    skip_ws();
    if (peek() != c) fail(what, pos_, found());
    ++pos_;
  }

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  std::size_t skip_ws_pos() {
    skip_ws();
    return pos_;
  }
  char next_nonspace_after(std::size_t p) const {
    while (p < s_.size() && std::isspace(static_cast<unsigned char>(s_[p]))) ++p;
    return p < s_.size() ? s_[p] : '\0';
  }
  std::string_view peek_word() const {
    std::size_t e = pos_;
    auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
    if (e < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[e])) || s_[e] == '_'))
      while (e < s_.size() && word_char(s_[e])) ++e;
    return s_.substr(pos_, e - pos_);
  }
  std::string found() const {
    if (pos_ >= s_.size()) return "end of input";
    std::string_view w = peek_word();
    if (!w.empty()) return "'" + std::string(w) + "'";
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (std::isprint(c)) return std::string("'") + static_cast<char>(c) + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", c);
    return std::string("byte ") + buf;
  }
  [[noreturn]] void fail(const std::string& expected, std::size_t at, std::string_view got) const {
    throw Error(ErrorCode::Syntax, "at " + std::to_string(at) + ": expected " + expected + ", found " + std::string(got), at);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  Abi abi_;
};

}  // namespace

Signature parse_signature(std::string_view text, Abi default_abi) { return Parser(text, default_abi).signature(); }

const Type* parse_type(std::string_view text, Abi abi) { return Parser(text, abi).lone_type(); }

}  // namespace tramp
