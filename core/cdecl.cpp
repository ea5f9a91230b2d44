// C declarations as signature input: a recursive-descent parser for the declaration subset
// of C that prototypes and headers use (include/tramp/cdecl.hpp says what is understood).
// Fuzzed: every failure is a tramp::Error, nesting is bounded, nothing recurses per byte.
#include "tramp/cdecl.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "abi/abis.hpp"
#include "core/preprocessor.hpp"
#include "core/quote.hpp"
#include "tramp/error.hpp"
#include "tramp/type.hpp"

namespace tramp {

namespace {


bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

using detail::quoted;

// Constant expressions are evaluated exactly in 128 bits, then checked against their C type.
__extension__ typedef __int128 Int128;

struct Derived;

// A type as declarations see it: complete, or only named (a tag declared but not defined, a
// function type behind a typedef), which is fine behind a pointer and an error by value.
struct CType {
  const Type* type = nullptr;  // null: incomplete
  std::string incomplete;      // what to call it then, e.g. "struct foo"
  bool function = false;       // a function type (by typedef): decays to ptr as a parameter
  // A record ending in a flexible array member: `type` is its layout without that member
  // (C's sizeof), usable through a pointer; by value it would lose the member.
  bool flexible = false;
  // __attribute__((transparent_union)): a parameter of this union type is passed as its first
  // member (glibc's __SOCKADDR_ARG).
  bool transparent = false;
  // A pointer to a function: that function's signature (for callbacks); a function type:
  // its own. Null otherwise, and when the signature could not be made.
  std::shared_ptr<const Signature> pointee = nullptr;
  bool char_pointer = false;  // a pointer to (signed/unsigned) char, also through a typedef
  // A function type: the declarator that made it, so that `fn_t name;` declares a function.
  std::shared_ptr<const Derived> function_decl = nullptr;
  friend bool operator==(const CType& a, const CType& b) {
    return a.type == b.type && a.incomplete == b.incomplete && a.function == b.function && a.flexible == b.flexible &&
           a.char_pointer == b.char_pointer &&
           a.transparent == b.transparent && (a.pointee && b.pointee ? *a.pointee == *b.pointee : a.pointee == b.pointee);
  }
};

// A declarator's result: an object type, or a function (which only a pointer can turn into
// an object type, `ptr`).
struct Derived {
  CType object;
  bool function = false;
  CType ret;  // function: return type
  std::vector<const Type*> params;
  std::vector<std::shared_ptr<const Signature>> param_functions;  // function: CFunction::callbacks
  bool variadic = false;
  bool char_pointer = false;          // object: a pointer to (signed/unsigned) char
  bool flexible = false;              // object: the element type of a member declared `T m[]`
  bool returns_char_pointer = false;  // function: returns one
  bool is_function() const { return function; }
};

// What a declarator adds to its base type, innermost first: pointer, array, function.
struct Op {
  enum Kind { Pointer, Array, Function } kind;
  explicit Op(Kind k) : kind(k) {}
  std::size_t count = 0;  // Array
  std::vector<const Type*> params;  // Function
  std::vector<std::shared_ptr<const Signature>> param_functions;
  bool variadic = false;
};

struct Attributes {
  bool packed = false;
  std::size_t aligned = 0;
  std::optional<Abi> abi;
  std::size_t vector_size = 0;  // __attribute__((vector_size(N))): the base type becomes a vector
  std::size_t vector_size_at = 0;
  bool transparent_union = false;
  std::string mode;  // __attribute__((mode(QI))) etc.: the integer or floating size, gcc's machine modes
  std::size_t mode_at = 0;
};

}  // namespace

struct detail::CScopeState {
  Abi abi;
  std::map<std::string, CType, std::less<>> typedefs;
  // Where each typedef was made ("line 3, column 1 of zlib.h"), for the error a conflicting
  // redefinition gives; the predefined ones have none and a header may redefine them.
  std::map<std::string, std::string, std::less<>> typedef_where;
  std::map<std::string, CType, std::less<>> tags;  // "struct x", "enum e"
  std::vector<CConstant> constants;
  std::map<std::string, std::size_t, std::less<>> constant_index;  // name -> latest in constants
  std::vector<CFunction> functions;
  std::vector<CSkipped> skipped;
  std::size_t declarations = 0;

  void add_constant(CConstant c) {
    remember(constant_index, c.name);
    constant_index[c.name] = constants.size();
    constants.push_back(std::move(c));
  }
  // map[key] = value, undone if the parse fails.
  template <class Map, class Value>
  typename Map::mapped_type& set(Map& map, const std::string& key, Value&& value) {
    remember(map, key);
    return map[key] = std::forward<Value>(value);
  }

  // CScope::parse is all or nothing: what a parse changes in the maps is written down (each
  // entry's value before, or that it was new), so a failed parse is undone in the time it
  // took, not by copying the whole scope for every parse (quadratic for a program that
  // declares one thing at a time). The vectors only grow and are cut back to their sizes.
  struct Mark {
    std::size_t constants, functions, skipped, declarations, undo;
  };
  Mark mark() const { return {constants.size(), functions.size(), skipped.size(), declarations, undo.size()}; }
  void roll_back(const Mark& m) noexcept {
    while (undo.size() > m.undo) {
      undo.back()();
      undo.pop_back();
    }
    while (constants.size() > m.constants) constants.pop_back();
    while (functions.size() > m.functions) functions.pop_back();
    while (skipped.size() > m.skipped) skipped.pop_back();
    declarations = m.declarations;
  }
  void commit() noexcept { undo.clear(); }
  // Runs f: what it changes stays only if it returns.
  template <class F>
  void all_or_nothing(F&& f) {
    const Mark m = mark();
    try {
      f();
    } catch (...) {
      roll_back(m);
      throw;
    }
    commit();
  }

  template <class Map>
  void remember(Map& map, const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) {
      undo.emplace_back([&map, key] { map.erase(key); });
    } else {
      undo.emplace_back([&map, key, before = it->second]() mutable { map.find(key)->second = std::move(before); });
    }
  }
  std::vector<std::function<void()>> undo;
  const CConstant* constant(std::string_view name) const {
    auto it = constant_index.find(name);
    return it == constant_index.end() ? nullptr : &constants[it->second];
  }
};

namespace {

// Where a byte of preprocessed text came from. The preprocessor's line markers
// (`# 123 "file.h" 1 3 4`, or `#line 123 "file.h"`) say that the next line is line 123 of
// file.h; without one a position is a line of the text itself. Built once, on the first
// position asked for, in one pass; each lookup is a binary search.
class SourcePositions {
 public:
  struct Position {
    std::string_view file;  // empty: no line marker before it
    std::size_t line, column;
  };

  explicit SourcePositions(std::string_view text) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    for (std::size_t l = 0; l < line_starts_.size(); ++l) {
      const std::size_t end = l + 1 < line_starts_.size() ? line_starts_[l + 1] : text.size();
      read_marker(text.substr(line_starts_[l], end - line_starts_[l]), l);
    }
  }

  Position at(std::size_t offset) const {
    const std::size_t l =
        static_cast<std::size_t>(std::upper_bound(line_starts_.begin(), line_starts_.end(), offset) - line_starts_.begin()) - 1;
    const std::size_t column = offset - line_starts_[l] + 1;
    // The last marker on a line before this one.
    auto m = std::lower_bound(markers_.begin(), markers_.end(), l, [](const Marker& mk, std::size_t v) { return mk.text_line < v; });
    if (m == markers_.begin()) return {{}, l + 1, column};
    --m;
    return {files_[m->file], m->line + (l - m->text_line - 1), column};
  }

  static std::string describe(const Position& p) {
    std::string s = "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
    return p.file.empty() ? s : s + " of " + std::string(p.file);
  }

 private:
  struct Marker {
    std::size_t text_line;  // the marker's own line (0-based) in the text
    std::size_t line;       // the number it gives the line after it
    std::size_t file;       // in files_; a marker without a name keeps the one before it
  };

  void read_marker(std::string_view line, std::size_t l) {
    std::size_t i = 0;
    auto spaces = [&] { while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i; };
    spaces();
    if (i >= line.size() || line[i] != '#') return;
    ++i;
    spaces();
    if (line.compare(i, 4, "line") == 0) {
      i += 4;
      spaces();
    }
    std::size_t n = 0, digits = 0;
    for (; i < line.size() && is_digit(line[i]) && digits < 12; ++i, ++digits) n = n * 10 + static_cast<std::size_t>(line[i] - '0');
    if (digits == 0 || digits == 12) return;
    spaces();
    std::size_t file = markers_.empty() ? 0 : markers_.back().file;
    if (i < line.size() && line[i] == '"') {
      std::string name;
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) ++i;
        name += line[i];
      }
      if (name != files_[file]) {
        file = files_.size();
        files_.push_back(std::move(name));
      }
    }
    markers_.push_back({l, n, file});
  }

  std::vector<std::size_t> line_starts_;
  std::vector<Marker> markers_;
  std::vector<std::string> files_{std::string()};  // each name once per run of markers naming it
};

class CParser {
 public:
  CParser(std::string_view text, detail::CScopeState& scope, const CParseOptions& options = {})
      : s_(text), scope_(scope), options_(options) {}

  void translation_unit() {
    for (;;) {
      const std::size_t start = pos_;
      const std::size_t counted = scope_.declarations;
      decl_name_.clear();
      furthest_ = pos_;
      if (!options_.lenient) {
        if (!next_declaration()) return;
        continue;
      }
      try {
        if (!next_declaration()) return;
      } catch (const Error& e) {
        if (scope_.declarations == counted) ++scope_.declarations;  // it failed before its first token
        record_skipped(e, start);
        // What the failed attempt read belongs to the declaration skipped: so each byte is
        // read by one attempt and at most two skips, and a run of broken declarations that
        // each read far ahead (an unclosed '(' of an attribute) costs linear time.
        const std::size_t reached = furthest_;
        skip_declaration(start);
        if (pos_ < reached) skip_declaration(reached);
      }
    }
  }

 private:
  // Reads the next top-level declaration; false at the end of the input.
  bool next_declaration() {
    skip();
    if (pos_ >= s_.size()) return false;
    if (accept(";")) return true;  // an empty declaration (a stray ';' after a function body)
    ++scope_.declarations;
    declaration();
    return true;
  }

  void record_skipped(const Error& e, std::size_t start) {
    const SourcePositions::Position p = positions().at(e.position() == Error::kNoPosition ? start : e.position());
    scope_.skipped.push_back({decl_name_, std::string(p.file), p.line, p.column, e.what()});
  }

  // ---- lexing ----
  void skip() {
    for (;;) {
      while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
      if (pos_ >= s_.size()) return;
      if (s_.compare(pos_, 2, "//") == 0 || (s_[pos_] == '#' && at_line_start())) {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (s_.compare(pos_, 2, "/*") == 0) {
        std::size_t end = s_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) fail_at(pos_, "'*/' closing this comment", "end of input");
        pos_ = end + 2;
      } else {
        return;
      }
    }
  }
  bool at_line_start() const {
    for (std::size_t i = pos_; i > 0; --i) {
      char c = s_[i - 1];
      if (c == '\n') return true;
      if (!is_space(c)) return false;
    }
    return true;
  }
  // The next token's text without consuming it: a word, a number, "..." or one character.
  std::string_view peek() {
    skip();
    furthest_ = std::max(furthest_, pos_);
    if (pos_ >= s_.size()) return {};
    std::size_t end = pos_;
    if (is_alpha(s_[end])) {
      while (end < s_.size() && (is_alpha(s_[end]) || is_digit(s_[end]))) ++end;
    } else if (is_digit(s_[end]) || (s_[end] == '.' && end + 1 < s_.size() && is_digit(s_[end + 1]))) {
      // A preprocessing number (C17 6.4.8): digits, letters, '.', and a sign after e or p.
      while (end < s_.size()) {
        const char c = s_[end];
        if ((c == '+' || c == '-') && (s_[end - 1] | 0x20) != 'e' && (s_[end - 1] | 0x20) != 'p') break;
        if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '+' && c != '-') break;
        ++end;
      }
    } else if (s_[end] == '"' || s_[end] == '\'') {
      end = quoted_literal_end(end);
    } else if (s_.compare(end, 3, "...") == 0) {
      end += 3;
    } else if (is_two_char_operator(s_.substr(end, 2))) {
      end += 2;
    } else {
      ++end;
    }
    return s_.substr(pos_, end - pos_);
  }
  // One past the closing quote of the string or character literal starting at `at`; as in
  // C, a literal ends on its line, so an unclosed one cannot swallow the declarations after it.
  std::size_t quoted_literal_end(std::size_t at) {
    const char quote = s_[at];
    std::size_t i = at + 1;
    while (i < s_.size() && s_[i] != quote && s_[i] != '\n') i += s_[i] == '\\' && i + 1 < s_.size() ? 2 : 1;
    if (i >= s_.size() || s_[i] != quote)
      fail_at(at, std::string(quote == '"' ? "'\"'" : "\"'\"") + " closing this literal",
              i >= s_.size() ? "end of input" : "end of line");
    return i + 1;
  }
  static bool is_two_char_operator(std::string_view t) {
    return t == "<<" || t == ">>" || t == "<=" || t == ">=" || t == "==" || t == "!=" || t == "&&" || t == "||";
  }
  std::string_view next() {
    std::string_view t = peek();
    pos_ += t.size();
    return t;
  }
  bool accept(std::string_view t) {
    if (peek() != t) return false;
    pos_ += t.size();
    return true;
  }
  void expect(std::string_view t, const char* what = nullptr) {
    if (!accept(t)) fail(what ? what : ("'" + std::string(t) + "'").c_str());
  }
  static bool is_word(std::string_view t) { return !t.empty() && is_alpha(t[0]); }

  [[noreturn]] void fail(const std::string& expected) {
    std::string_view t = peek();
    fail_at(pos_, expected, quoted(t));
  }
  [[noreturn]] void fail_at(std::size_t at, const std::string& expected, const std::string& found) {
    error_at(at, ErrorCode::Syntax, "expected " + expected + ", found " + found);
  }
  [[noreturn]] void error_at(std::size_t at, ErrorCode code, const std::string& message) {
    throw Error(code, where(at) + ": " + message, at);
  }
  // "line L, column C" (of FILE, after a line marker) of the byte at `at`.
  std::string where(std::size_t at) { return SourcePositions::describe(positions().at(std::min(at, s_.size()))); }
  const SourcePositions& positions() {
    if (!positions_) positions_.emplace(s_);
    return *positions_;
  }
  // Builds a type, reporting an impossible one (void member, bad alignment) at `at`.
  template <class F>
  const Type* make(std::size_t at, F&& build) {
    try {
      return build();
    } catch (const Error& e) {
      error_at(at, e.code(), e.what());
    }
  }

  // Nested declarators, records and parentheses together are held to Type's own limit.
  void enter() {
    if (++depth_ > kMaxTypeDepth)
      error_at(pos_, ErrorCode::Syntax, "nesting deeper than " + std::to_string(kMaxTypeDepth) + " levels");
  }
  void leave() { --depth_; }

  // ---- attributes and ignorable words ----
  // __attribute__((a, b(1), ...)): ms_abi, sysv_abi, packed, aligned(N) understood, others
  // (nonnull, format, ...) skipped with their arguments.
  bool attribute(Attributes& a) {
    std::string_view t = peek();
    if (is_asm_word(t)) {  // symbol redirects in system headers
      next();
      while (ignorable(peek())) next();  // __asm__ __volatile__
      skip_parenthesised();
      return true;
    }
    if (t == "[" && pos_ + 1 < s_.size() && s_[pos_ + 1] == '[') {  // C23 [[attributes]]: skipped
      skip_balanced("[", "]", "']]' closing this attribute");
      return true;
    }
    if (t != "__attribute__" && t != "__attribute") return false;
    next();
    expect("(", "'((' after __attribute__");
    expect("(", "'((' after __attribute__");
    while (!accept(")")) {
      std::string_view name = next();
      if (!is_word(name)) fail_at(pos_ - name.size(), "an attribute name", quoted(name));
      std::string n(name);
      if (n.size() > 4 && n.rfind("__", 0) == 0 && n.compare(n.size() - 2, 2, "__") == 0) n = n.substr(2, n.size() - 4);
      for (const abi::AbiInfo& row : abi::abis())
        if (!row.c_attribute.empty() && n == row.c_attribute) a.abi = row.abi;
      if (n == "packed") a.packed = true;
      else if (n == "transparent_union") a.transparent_union = true;
      if (peek() == "(") {
        if (n == "mode") {
          next();
          std::string_view m = next();
          if (m.size() > 4 && m.substr(0, 2) == "__" && m.substr(m.size() - 2) == "__") m = m.substr(2, m.size() - 4);
          a.mode = std::string(m);
          a.mode_at = pos_ - m.size();
          expect(")");
        } else if (n == "aligned") {
          next();
          std::size_t at = pos_;
          std::int64_t v = constant_expression();
          if (v <= 0 || (v & (v - 1)) != 0 || v > (std::int64_t{1} << 28))
            error_at(at, ErrorCode::InvalidType, "aligned(" + std::to_string(v) + "): not a power of two up to 2^28");
          a.aligned = static_cast<std::size_t>(v);
          expect(")");
        } else if (n == "vector_size") {
          next();
          a.vector_size_at = pos_;
          std::int64_t v = constant_expression();
          if (v <= 0 || v > static_cast<std::int64_t>(kMaxTypeSize))
            error_at(a.vector_size_at, ErrorCode::InvalidType,
                     "vector_size(" + std::to_string(v) + "): a vector has 1 to 2^31 bytes");
          a.vector_size = static_cast<std::size_t>(v);
          expect(")");
        } else {
          skip_parenthesised();
        }
      } else if (n == "aligned") {
        a.aligned = 16;  // gcc: the largest alignment ever used for any type on the target
      }
      if (!accept(",") && peek() != ")") fail("',' or ')' in the attribute list");
    }
    expect(")", "'))' closing __attribute__");
    return true;
  }
  void skip_parenthesised() { skip_balanced("(", ")", "')' closing this '('"); }
  // Skips from `open` (next) to its matching `close`, in time linear in what is skipped.
  void skip_balanced(std::string_view open, std::string_view close, const char* what) {
    std::size_t at = pos_;
    expect(open);
    std::size_t level = 1;
    while (level > 0) {
      std::string_view t = next();
      if (t.empty()) fail_at(at, what, "end of input");
      if (t == open) ++level;
      if (t == close) --level;
    }
  }
  static bool is_asm_word(std::string_view t) { return t == "__asm__" || t == "__asm" || t == "asm"; }
  static bool ignorable(std::string_view t) {
    return t == "const" || t == "volatile" || t == "restrict" || t == "__restrict" || t == "__restrict__" ||
           t == "__const" || t == "__volatile__" || t == "__volatile" || t == "__const__" || t == "__extension__" ||
           t == "extern" || t == "static" ||
           t == "inline" || t == "__inline" || t == "__inline__" || t == "register" || t == "_Noreturn" ||
           t == "auto" || t == "_Atomic" || t == "__thread" || t == "_Thread_local";
  }

  // ---- specifiers ----
  struct Specifiers {
    CType type;
    bool is_typedef = false;
    bool is_static = false;  // no symbol in any library: a static function is not recorded
    Attributes attrs;
  };

  Specifiers specifiers() {
    Specifiers sp;
    int sign = 0, shorts = 0, longs = 0, ints = 0, chars = 0;  // sign: 1 signed, 2 unsigned
    std::optional<CType> base;
    std::size_t start = pos_;
    std::size_t basic_at = 0;
    bool basic = false;
    std::optional<std::size_t> complex_at;  // _Complex (C11 6.7.2) or a GNU spelling, and where
    for (;;) {
      std::string_view t = peek();
      std::size_t at = pos_;
      if (attribute(sp.attrs)) continue;
      if (t == "typedef") { next(); sp.is_typedef = true; continue; }
      if (t == "static") { next(); sp.is_static = true; continue; }
      if (ignorable(t)) { next(); continue; }
      if (is_complex_word(t)) {
        next();
        complex_at = at;
        continue;
      }
      if (is_extended_type_word(t)) {
        const std::string word(t);
        if (std::optional<CType> e = extended_type(sp)) {
          if (base || basic) error_at(at, ErrorCode::Syntax, "two types in one declaration (" + word + ")");
          base = *e;
        }
        continue;
      }
      if (t == "signed" || t == "__signed__" || t == "__signed" || t == "unsigned") {
        next();
        int s = t == "unsigned" ? 2 : 1;
        if (sign && sign != s) error_at(at, ErrorCode::Syntax, "both signed and unsigned");
        sign = s;
        basic = true;
        basic_at = at;
        continue;
      }
      if (t == "short") { next(); ++shorts; basic = true; basic_at = at; continue; }
      if (t == "long") { next(); ++longs; basic = true; basic_at = at; continue; }
      if (t == "int") { next(); ++ints; basic = true; basic_at = at; continue; }
      if (t == "char") { next(); ++chars; basic = true; basic_at = at; continue; }
      const Type* named = nullptr;
      if (t == "void") named = Type::void_();
      else if (t == "_Bool" || t == "bool") named = Type::bool_();
      else if (t == "float") named = Type::f32();
      else if (t == "double") named = Type::f64();
      else if (t == "__int128" || t == "__int128_t") named = Type::i128();
      else if (t == "__uint128_t") named = Type::u128();
      else if (t == "_Float16") named = Type::f16();
      else if (t == "__fp16") {
        // ARM's half-precision storage type (ACLE), which gcc passes as _Float16.
        if (!abi::abi_info(scope_.abi).has_fp16) error_at(at, ErrorCode::Unsupported, "__fp16 exists on AArch64 only");
        named = Type::f16();
      }
      if (named) {
        next();
        if (t == "__int128") {  // combines with signed/unsigned
          basic = true;
          basic_at = at;
          longs += 100;  // marks __int128 among the basic words
          continue;
        }
        if (t == "double") {  // combines with long
          basic = true;
          basic_at = at;
          ints += 100;  // marks double
          continue;
        }
        if (base || basic) error_at(at, ErrorCode::Syntax, "two types in one declaration (" + std::string(t) + ")");
        base = CType{named, ""};
        continue;
      }
      if (t == "struct" || t == "union") {
        if (base || basic) error_at(at, ErrorCode::Syntax, "two types in one declaration (" + std::string(t) + ")");
        base = record(sp.attrs);
        continue;
      }
      if (t == "enum") {
        if (base || basic) error_at(at, ErrorCode::Syntax, "two types in one declaration (enum)");
        base = enumeration();
        continue;
      }
      if (is_word(t) && !base && !basic) {
        auto it = scope_.typedefs.find(t);
        if (it != scope_.typedefs.end()) {
          next();
          base = it->second;
          // `typedef struct s s_t;` before `struct s { ... };`: s_t is complete once s is.
          if (!base->type && !base->function)
            if (auto tag = scope_.tags.find(base->incomplete); tag != scope_.tags.end() && tag->second.type)
              base = tag->second;
          continue;
        }
      }
      break;
    }
    if (basic) {
      if (base) error_at(basic_at, ErrorCode::Syntax, "two types in one declaration");
      sp.type = CType{basic_type(sign, shorts, longs, ints, chars, basic_at), ""};
    } else if (base) {
      sp.type = *base;
    } else if (complex_at) {
      sp.type = CType{Type::f64(), ""};  // gcc: a bare _Complex is complex double
    } else {
      fail_at(start, "a type", quoted(peek()));
    }
    if (complex_at) {
      const Type* t = sp.type.type;
      if (t == nullptr || !t->is_float())
        error_at(*complex_at, ErrorCode::Unsupported,
                 "_Complex " + (t ? t->str() : sp.type.incomplete) +
                     ": only complex floating types (float, double, long double, _Float16, _Float128) are "
                     "supported, not GNU complex integers");
      sp.type = CType{Type::complex(t), ""};
    }
    return sp;
  }

  // <complex.h>'s `complex` is a macro for _Complex; without a preprocessor it is read as one.
  static bool is_complex_word(std::string_view t) {
    return t == "_Complex" || t == "__complex__" || t == "__complex" || t == "complex";
  }

  const Type* basic_type(int sign, int shorts, int longs, int ints, int chars, std::size_t at) {
    const bool is_double = ints >= 100, is_int128 = longs >= 100;
    if (is_double) ints -= 100;
    if (is_int128) longs -= 100;
    auto bad = [&]() -> const Type* { error_at(at, ErrorCode::Syntax, "an invalid combination of type words"); };
    if (is_double) {
      if (sign || shorts || ints || chars || longs > 1) return bad();
      return longs ? parse_type("longdouble", scope_.abi) : Type::f64();
    }
    if (is_int128) {
      if (shorts || longs || ints || chars) return bad();
      return sign == 2 ? Type::u128() : Type::i128();
    }
    if (chars) {
      if (chars > 1 || shorts || longs || ints) return bad();
      if (sign == 1) return Type::i8();
      if (sign == 2) return Type::u8();
      return abi::abi_info(scope_.abi).plain_char_signed ? Type::i8() : Type::u8();
    }
    if (ints > 1 || (shorts && longs) || shorts > 1 || longs > 2) return bad();
    if (shorts) return sign == 2 ? Type::u16() : Type::i16();
    if (longs) return sign == 2 ? Type::u64() : Type::i64();  // LP64: long and long long
    return sign == 2 ? Type::u32() : Type::i32();
  }

  // struct/union [attributes] [tag] [{ members }] -- the keyword is next.
  CType record(Attributes& outer) {
    std::size_t at = pos_;
    const bool is_union = next() == "union";
    const std::string kw = is_union ? "union " : "struct ";
    Attributes attrs;
    while (attribute(attrs)) {}
    std::string tag;
    if (is_word(peek()) && peek() != "__attribute__") tag = std::string(next());
    while (attribute(attrs)) {}
    if (decl_name_.empty() && depth_ == 0 && !tag.empty()) decl_name_ = kw + tag;
    if (!accept("{")) {
      if (tag.empty()) fail("a tag or '{' after " + kw);
      auto it = scope_.tags.find(kw + tag);
      if (it != scope_.tags.end()) return it->second;                        // defined earlier
      return scope_.set(scope_.tags, kw + tag, CType{nullptr, kw + tag});  // incomplete until its definition
    }
    enter();
    std::vector<FieldSpec> fields;
    std::vector<std::size_t> positions;  // where each member's declaration starts
    const FlexibleMember outer_flexible = std::exchange(flexible_, FlexibleMember{});
    while (!accept("}")) {
      if (flexible_.element) error_at(flexible_.at, ErrorCode::InvalidType, "flexible array member '" + flexible_.name + "' is not the last member");
      member_declaration(fields, positions);
    }
    const FlexibleMember flexible = std::exchange(flexible_, outer_flexible);
    leave();
    while (attribute(attrs)) {}
    outer.abi = outer.abi ? outer.abi : attrs.abi;
    if (fields.empty()) error_at(at, ErrorCode::InvalidType, kw + (tag.empty() ? "" : tag + " ") + "has no members");
    RecordOptions options{attrs.packed, attrs.aligned};
    if (abi::abi_info(scope_.abi).unnamed_bit_fields_align) {
      // gcc on AArch64 aligns a record to the type of each unnamed bit-field too, as to a
      // named one (x86-64, and clang for Apple, do not): the signature syntax has the
      // psABI's rule, so the difference is the record's own alignment.
      for (const FieldSpec& f : fields) {
        if (!f.unnamed) continue;
        // A zero-width bit-field is "not influenced by packed"; a packed other is 1-aligned.
        std::size_t a = options.packed && f.bit_width != 0 ? 1 : f.type->align();
        if (f.align > a) a = f.align;
        if (a > options.align && a > 1) options.align = a;
      }
    }
    // The flexible member adds no bytes but its alignment (C17 6.7.2.1p18).
    if (flexible.element && !attrs.packed) {
      std::size_t natural = 1;
      for (const FieldSpec& f : fields) natural = std::max({natural, f.type->align(), f.align});
      if (flexible.element->align() > natural) options.align = std::max(options.align, flexible.element->align());
    }
    const Type* t = nullptr;
    try {
      t = is_union ? Type::union_(fields, options) : Type::struct_(fields, options);
    } catch (const Error& e) {
      // Type names the offending member by index ("struct member 2: ..."): point at it and
      // say its name.
      const std::string_view msg = e.what();
      const std::string prefix = is_union ? "union member " : "struct member ";
      std::size_t index = 0;
      if (msg.starts_with(prefix)) {
        auto [p, ec] = std::from_chars(msg.data() + prefix.size(), msg.data() + msg.size(), index);
        if (ec == std::errc() && index < fields.size()) {
          const std::string name = fields[index].name.empty() ? "" : " ('" + fields[index].name + "')";
          error_at(positions[index], e.code(), std::string(msg.substr(0, p - msg.data())) + name + std::string(p));
        }
      }
      error_at(at, e.code(), e.what());
    }
    CType c{t, ""};
    c.transparent = attrs.transparent_union && is_union;
    if (flexible.element) {
      c.flexible = true;
      c.incomplete = kw + (tag.empty() ? "(anonymous)" : tag);
    }
    if (!tag.empty()) scope_.set(scope_.tags, kw + tag, c);
    return c;
  }

  void member_declaration(std::vector<FieldSpec>& fields, std::vector<std::size_t>& positions) {
    if (skipped_assertion()) return;
    std::size_t at = pos_;
    Specifiers sp = specifiers();
    if (sp.is_typedef) error_at(at, ErrorCode::Syntax, "typedef inside a record");
    if (accept(";")) {  // an anonymous struct or union member (C11)
      fields.push_back({object_of(vector_of(sp.type, sp.attrs), at), sp.attrs.aligned});
      positions.push_back(at);
      return;
    }
    do {
      std::size_t dat = pos_;
      Attributes attrs = sp.attrs;
      FieldSpec field{nullptr};
      if (peek() == ":") {
        // An unnamed bit-field, `int : 3;`: padding, its type alone.
        field = {object_of(vector_of(sp.type, attrs), dat), 0, "", 0, true};
      } else {
        auto [name, derived] = declarator(sp.type, false, false, true, &attrs);
        if (derived.is_function()) error_at(dat, ErrorCode::InvalidType, "member '" + name + "' is a function");
        if (derived.flexible) {
          if (flexible_.element) error_at(dat, ErrorCode::InvalidType, "flexible array member '" + flexible_.name + "' is not the last member");
          flexible_ = {derived.object.type, dat, name};
          continue;
        }
        field = {object_of(derived.object, dat), 0, name};
      }
      if (accept(":")) {
        const std::size_t width_at = pos_;
        const std::int64_t width = constant_expression();
        if (width < 0 || width > 0xFFFF)
          error_at(width_at, ErrorCode::InvalidType,
                   "bit-field" + (field.name.empty() ? std::string() : " '" + field.name + "'") + " of width " +
                       std::to_string(width) + ": a width is 0 up to its type's bits");
        field.bit_width = static_cast<std::uint32_t>(width);
        if (width == 0) field.unnamed = field.name.empty() || field.unnamed;
        while (attribute(attrs)) {}
      }
      field.align = attrs.aligned;
      fields.push_back(std::move(field));
      positions.push_back(dat);
    } while (accept(","));
    expect(";", "';' after a member");
  }

  // The base type of a declaration made a vector by __attribute__((vector_size(N))) (gcc
  // applies it to the innermost type): N bytes of it, aligned as the target's gcc aligns a
  // vector (on AArch64 to at most 16).
  CType vector_of(const CType& base, const Attributes& attrs) {
    if (attrs.vector_size == 0) return base;
    const std::size_t at = attrs.vector_size_at;
    const Type* element = object_of(base, at);
    if (attrs.vector_size % element->size() != 0)
      error_at(at, ErrorCode::InvalidType,
               "vector_size(" + std::to_string(attrs.vector_size) + ") is not a multiple of the size of " +
                   element->str() + " (" + std::to_string(element->size()) + ")");
    const std::size_t size = attrs.vector_size;
    const std::size_t cap = abi::abi_info(scope_.abi).vector_align_cap;
    const std::size_t align = cap && size > cap ? cap : 0;
    return CType{make(at, [&] { return Type::vector(element, size / element->size(), align); }), ""};
  }

  // enum [attributes] [tag] [: type] [{ enumerators }] -- the keyword is next. An enum with
  // a fixed underlying type (C23, `enum e : unsigned char`) is that type; otherwise gcc's
  // choice: unsigned int when no value is negative, int otherwise, wider when a value needs
  // it. Each enumerator is an int constant, or of the enum's type when int cannot hold it.
  CType enumeration() {
    std::size_t at = pos_;
    next();  // enum
    Attributes attrs;
    while (attribute(attrs)) {}
    std::string tag;
    if (is_word(peek()) && !is_reserved(peek())) tag = std::string(next());
    while (attribute(attrs)) {}
    if (decl_name_.empty() && depth_ == 0) decl_name_ = tag.empty() ? "" : "enum " + tag;
    const Type* fixed = nullptr;
    if (accept(":")) {
      const std::size_t tat = pos_;
      fixed = type_name(tat);
      if (!fixed->is_integer()) error_at(tat, ErrorCode::InvalidType, "an enum's underlying type must be an integer type");
    }
    if (!accept("{")) {
      if (tag.empty()) fail("a tag or '{' after enum");
      if (fixed) {
        scope_.set(scope_.tags, "enum " + tag, CType{fixed, ""});
        return CType{fixed, ""};
      }
      auto it = scope_.tags.find("enum " + tag);
      if (it == scope_.tags.end()) return CType{nullptr, "enum " + tag};  // gcc: a forward-declared enum
      return it->second;
    }
    Int128 next_value = 0, lo = 0, hi = 0;
    bool any = false;
    std::vector<std::size_t> added;  // indexes in scope_.constants
    while (!accept("}")) {
      std::string_view name = next();
      if (!is_word(name)) fail_at(pos_ - name.size(), "an enumerator name", quoted(name));
      std::string n(name);
      Attributes ignored;
      while (attribute(ignored)) {}
      Int128 v = next_value;
      if (accept("=")) {
        const std::size_t vat = pos_;
        const Value value = conditional();
        if (value.kind != CConstant::Kind::Integer) error_at(vat, ErrorCode::Syntax, "an enumerator's value must be an integer constant");
        v = value_of(value);
      }
      if (fixed && !fits_type(fixed, v))
        error_at(pos_, ErrorCode::InvalidType, "enumerator '" + n + "' does not fit the enum's type " + fixed->str());
      CConstant c;
      c.name = n;
      c.type = Type::i32();
      c.integer = static_cast<std::int64_t>(v);
      added.push_back(scope_.constants.size());
      scope_.add_constant(std::move(c));
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
      if (v >= static_cast<Int128>(std::numeric_limits<std::uint64_t>::max()))
        error_at(pos_, ErrorCode::Syntax, "enumerator value overflows");
      next_value = v + 1;
      if (!accept(",") && peek() != "}") fail("',' or '}' in the enumerator list");
    }
    if (!any) error_at(at, ErrorCode::Syntax, "enum with no enumerators");
    const Type* t = fixed;
    if (!t) {
      if (lo < std::numeric_limits<std::int64_t>::min() || (lo < 0 && hi > std::numeric_limits<std::int64_t>::max()))
        error_at(at, ErrorCode::InvalidType, "enum values span more than 64 bits");
      t = lo >= 0 ? (hi <= 0xffffffffLL ? Type::u32() : Type::u64())
                  : (lo >= INT32_MIN && hi <= INT32_MAX ? Type::i32() : Type::i64());
    }
    // An enumerator int cannot hold takes the enum's type (gcc), promoted like a cast to it.
    for (std::size_t i : added) {
      CConstant& c = scope_.constants[i];
      const Int128 v = t == Type::u64() ? static_cast<Int128>(static_cast<std::uint64_t>(c.integer)) : c.integer;
      if (fixed) c.type = fixed->size() < 4 ? Type::i32() : fixed->is_signed() ? (fixed->size() == 4 ? Type::i32() : Type::i64())
                                                                             : (fixed->size() == 4 ? Type::u32() : Type::u64());
      else if (!fits(Type::i32(), v)) c.type = t;
    }
    if (!tag.empty()) scope_.set(scope_.tags, "enum " + tag, CType{t, ""});
    return CType{t, ""};
  }
  // Whether the integer type `t` (any width) holds `v`.
  static bool fits_type(const Type* t, Int128 v) {
    if (t->kind() == TypeKind::Bool) return v == 0 || v == 1;
    const int bits = static_cast<int>(t->size() * 8);
    if (bits >= 128) return true;
    if (t->is_signed()) return v >= -(static_cast<Int128>(1) << (bits - 1)) && v < (static_cast<Int128>(1) << (bits - 1));
    return v >= 0 && v < (static_cast<Int128>(1) << bits);
  }

  // ---- declarators ----
  // Returns the declared name ("" for an abstract declarator) and its type.
  // `parameter`: the declarator of a parameter, whose outermost array decays to a pointer
  // and so may have no size.
  // `member`: a record member's, whose outermost array may have no size (or size 0, gcc's
  // older spelling): a flexible array member, reported in Derived::flexible. `attrs`, when
  // given, holds the declaration's attributes and takes those after the declarator; a
  // vector_size among them makes the base a vector.
  std::pair<std::string, Derived> declarator(const CType& base, bool abstract_ok, bool parameter = false,
                                             bool member = false, Attributes* attrs = nullptr) {
    std::vector<Op> ops;  // innermost (closest to the base) first
    std::string name;
    std::size_t at = pos_;
    declarator_ops(ops, name, abstract_ok);
    Derived d;
    d.object = base;
    if (attrs) {
      while (attribute(*attrs)) {}
      d.object = vector_of(base, *attrs);
    }
    for (std::size_t k = 0; k < ops.size(); ++k) {
      const Op& op = ops[k];
      if (op.kind == Op::Array && parameter && k + 1 == ops.size()) {
        d = Derived{};
        d.object = CType{Type::pointer(), ""};
        break;
      }
      if (op.kind == Op::Array && op.count == 0 && k + 1 < ops.size() && ops[k + 1].kind == Op::Pointer)
        continue;  // `int (*p)[]`: a pointer to an array of unknown size is a pointer
      if (op.kind == Op::Array && op.count == 0 && member && k + 1 == ops.size() && !d.is_function()) {
        d.object = CType{object_of(d.object, at), ""};
        d.flexible = true;
        break;
      }
      if (op.kind == Op::Array && op.count == 0 && k + 1 == ops.size() && !member && !d.is_function()) {
        // `extern const char v[];`: an incomplete type, fine for an object declaration.
        object_of(d.object, at);
        d = Derived{};
        d.object = CType{nullptr, "an array of unknown size"};
        break;
      }
      if (op.kind == Op::Array && op.count == 0)
        error_at(at, ErrorCode::Unsupported, "an array without a size, or of size 0, other than a record's last member");
      switch (op.kind) {
        case Op::Pointer: {
          const bool to_char = k == 0 && (base.type == Type::i8() || base.type == Type::u8());
          std::shared_ptr<const Signature> target =
              d.is_function() ? signature_of(d) : (!d.object.type && d.object.function ? d.object.pointee : nullptr);
          d = Derived{};
          d.object = CType{Type::pointer(), ""};
          d.object.pointee = std::move(target);
          d.object.char_pointer = to_char;
          d.char_pointer = to_char;
          break;
        }
        case Op::Array:
          if (d.is_function()) error_at(at, ErrorCode::InvalidType, "an array of functions");
          {
            const Type* element = object_of(d.object, at);
            if (element->is_void()) error_at(at, ErrorCode::InvalidType, "an array of void");
            d.object = CType{make(at, [&] { return Type::array(element, op.count); }), ""};
          }
          break;
        case Op::Function: {
          if (d.is_function()) error_at(at, ErrorCode::InvalidType, "a function returning a function");
          if (d.object.type && d.object.type->kind() == TypeKind::Array)
            error_at(at, ErrorCode::InvalidType, "a function returning an array");
          Derived f;
          f.function = true;
          f.ret = d.object;
          f.returns_char_pointer = d.char_pointer || d.object.char_pointer;
          f.params = op.params;
          f.param_functions = op.param_functions;
          f.variadic = op.variadic;
          d = std::move(f);
          break;
        }
      }
    }
    return {name, d};
  }

  // declarator := pointer* direct ; direct := name | '(' declarator ')' | nothing, then
  // suffixes. Ops are appended so that the ones nearest the base come first.
  // Only nested declarators and parameter lists count towards the nesting limit, so a member
  // of a record 64 levels deep is not a 65th level.
  void declarator_ops(std::vector<Op>& ops, std::string& name, bool abstract_ok) {
    int pointers = 0;
    Attributes ignored;
    for (;;) {
      if (accept("*")) { ++pointers; continue; }
      std::string_view t = peek();
      if (ignorable(t)) { next(); continue; }
      if (attribute(ignored)) continue;
      break;
    }
    std::vector<Op> inner;
    std::string_view t = peek();
    // Where a name is required, a '(' opens a nested declarator even before a typedef
    // name: `typedef int (fn_t)(int);` may be repeated.
    if (t == "(" && (!abstract_ok || nested_declarator_follows())) {
      next();
      enter();
      declarator_ops(inner, name, abstract_ok);
      leave();
      expect(")", "')' closing the declarator");
    } else if (is_word(t) && !is_reserved(t) && (!abstract_ok || !scope_.typedefs.count(t))) {
      // Once a type has been given, a typedef name is the name declared (C17 6.7.8p3):
      // `typedef unsigned long size_t;` redefines size_t.
      name = std::string(next());
      if (decl_name_.empty() && depth_ == 0) decl_name_ = name;
    } else if (!abstract_ok) {
      fail("a name in the declarator");
    }
    std::vector<Op> suffixes;
    for (;;) {
      if (accept("[")) {
        Op op{Op::Array};
        // A parameter's `[static 3]`, `[const]`, `[__restrict]`, `[*]` (C17 6.7.6.2).
        while (peek() == "static" || (ignorable(peek()) && peek() != "__extension__")) next();
        if (peek() == "*") {
          const std::size_t save = pos_;
          next();
          if (peek() != "]") pos_ = save;
        }
        std::size_t at = pos_;
        if (!accept("]")) {  // `[]`, `[0]`: count 0, allowed where it decays or a flexible member
          std::int64_t n = constant_expression();
          if (n < 0 || n > (std::int64_t{1} << 31))
            error_at(at, ErrorCode::InvalidType, "array size " + std::to_string(n) + " (0 to 2^31)");
          op.count = static_cast<std::size_t>(n);
          expect("]");
        }
        suffixes.push_back(std::move(op));
      } else if (peek() == "(") {
        next();
        enter();
        suffixes.push_back(parameters());
        leave();
      } else {
        break;
      }
    }
    // base -> pointers -> suffixes (last suffix nearest the base) -> inner declarator
    for (int i = 0; i < pointers; ++i) ops.push_back(Op{Op::Pointer});
    for (auto it = suffixes.rbegin(); it != suffixes.rend(); ++it) ops.push_back(std::move(*it));
    for (Op& op : inner) ops.push_back(std::move(op));
  }

  // After '(' in a declarator: a nested declarator ("(*f)", "(name)") rather than a
  // parameter list ("(int)", "()").
  bool nested_declarator_follows() {
    std::size_t save = pos_;
    next();  // '('
    std::string_view t = peek();
    pos_ = save;
    if (t == "*" || t == "(" || t == "^" || t == "__attribute__") return true;
    return is_word(t) && !scope_.typedefs.count(t) && !is_type_word(t) && !ignorable(t);
  }
  // Words that never name a declarator.
  static bool is_reserved(std::string_view t) {
    return is_type_word(t) || is_extended_type_word(t) || ignorable(t) || is_asm_word(t) || t == "__attribute__" ||
           t == "__attribute" || t == "typedef" || t == "sizeof";
  }
  static bool is_type_word(std::string_view t) {
    return t == "void" || t == "char" || t == "short" || t == "int" || t == "long" || t == "float" ||
           t == "double" || t == "signed" || t == "unsigned" || t == "__signed__" || t == "_Bool" || t == "bool" ||
           t == "struct" || t == "union" || t == "enum" || t == "__int128" || t == "__int128_t" ||
           t == "__uint128_t" || t == "__signed" || t == "_Float16" || t == "__fp16" || is_complex_word(t);
  }

  // ---- the types gcc adds to C ----
  static bool is_extended_type_word(std::string_view t) {
    return t == "__builtin_va_list" || t == "_Float32" || t == "_Float64" || t == "_Float32x" ||
           t == "_Float64x" || t == "_Float128" || t == "__float128" || t == "__float80" || t == "typeof" ||
           t == "__typeof__" || t == "__typeof" || t == "typeof_unqual" || t == "_Alignas" || t == "alignas" ||
           t == "__bf16" || t == "_Float128x" || t == "_Decimal32" || t == "_Decimal64" || t == "_Decimal128" ||
           t == "_BitInt" || t == "__auto_type";
  }

  // One of the words above, next in the input; _Alignas sets the alignment and names no type.
  std::optional<CType> extended_type(Specifiers& sp) {
    const std::size_t at = pos_;
    const std::string t(next());
    if (t == "__builtin_va_list") return CType{va_list_type(), ""};
    if (t == "_Float32") return CType{Type::f32(), ""};
    if (t == "_Float64" || t == "_Float32x") return CType{Type::f64(), ""};
    if (t == "_Float64x") {
      // ISO/IEC TS 18661-3: the ABI's extended type, where long double is wider than double.
      const Type* ld = long_double(at);
      if (ld == Type::f64()) error_at(at, ErrorCode::Unsupported, "_Float64x: " + std::string(abi_name(scope_.abi)) + " has no type wider than double");
      return CType{ld, ""};
    }
    if (t == "_Float128" || t == "__float128") {
      if (!abi::abi_info(scope_.abi).has_f128) error_at(at, ErrorCode::Unsupported, t + ": " + std::string(abi_name(scope_.abi)) + " has no 128-bit floating type");
      return CType{Type::f128(), ""};
    }
    if (t == "__float80") {
      if (!abi::abi_info(scope_.abi).has_f80) error_at(at, ErrorCode::Unsupported, "__float80 exists on x86-64 only");
      return CType{Type::f80(), ""};
    }
    if (t == "typeof" || t == "__typeof__" || t == "__typeof" || t == "typeof_unqual") {
      expect("(", ("'(' after " + t).c_str());
      CType r;
      if (is_type_start(peek())) {
        Specifiers inner = specifiers();
        auto [name, d] = declarator(inner.type, true);
        r = d.is_function() ? CType{nullptr, "function type", true} : d.object;
      } else {
        const Value v = conditional();
        r = CType{v.kind == CConstant::Kind::String ? Type::pointer() : v.type, ""};
      }
      expect(")", ("')' closing " + t).c_str());
      return r;
    }
    if (t == "_Alignas" || t == "alignas") {
      expect("(", ("'(' after " + t).c_str());
      std::size_t align;
      if (is_type_start(peek())) align = type_name(at)->align();
      else align = static_cast<std::size_t>(constant_expression());
      if (align == 0 || (align & (align - 1)) != 0 || align > (std::size_t{1} << 28))
        error_at(at, ErrorCode::InvalidType, t + "(" + std::to_string(align) + "): not a power of two up to 2^28");
      sp.attrs.aligned = std::max(sp.attrs.aligned, align);
      expect(")", ("')' closing " + t).c_str());
      return std::nullopt;
    }
    error_at(at, ErrorCode::Unsupported, "'" + t + "' types are not supported");
  }

  // gcc's __builtin_va_list, the type of va_list, as the ABI table says (a SysV one is an
  // array of one record, so a parameter is a pointer).
  const Type* va_list_type() {
    switch (abi::abi_info(scope_.abi).va_list) {
      case abi::VaList::SysVRecord: {
        const Type* tag = Type::struct_({{Type::u32(), 0, "gp_offset"},
                                         {Type::u32(), 0, "fp_offset"},
                                         {Type::pointer(), 0, "overflow_arg_area"},
                                         {Type::pointer(), 0, "reg_save_area"}});
        return Type::array(tag, 1);
      }
      case abi::VaList::Aapcs64Record:
        return Type::struct_({{Type::pointer(), 0, "__stack"},
                              {Type::pointer(), 0, "__gr_top"},
                              {Type::pointer(), 0, "__vr_top"},
                              {Type::i32(), 0, "__gr_offs"},
                              {Type::i32(), 0, "__vr_offs"}});
      case abi::VaList::Pointer:
        break;
    }
    return Type::pointer();
  }

  // '(' already consumed: parameter list, ')'.
  Op parameters() {
    Op op{Op::Function};
    if (accept(")")) return op;  // () : no parameters (C23; as a prototype)
    if (peek() == "void") {
      std::size_t save = pos_;
      next();
      if (accept(")")) return op;
      pos_ = save;
    }
    for (;;) {
      if (accept("...")) {
        op.variadic = true;
        expect(")", "')' after '...'");
        return op;
      }
      std::size_t at = pos_;
      Specifiers sp = specifiers();
      Attributes attrs = sp.attrs;
      auto [name, d] = declarator(sp.type, true, true, false, &attrs);  // an array parameter decays to ptr
      const Type* t;
      op.param_functions.push_back(d.is_function() ? signature_of(d) : d.object.pointee);
      if (d.is_function() || (!d.object.type && d.object.function)) {
        t = Type::pointer();  // so does a function parameter
      } else {
        t = object_of(d.object, at);
        if (t->is_void()) error_at(at, ErrorCode::InvalidType, "a parameter of type void");
        t = adjusted_parameter(d.object, t);
      }
      op.params.push_back(t);
      if (accept(")")) return op;
      expect(",", "',' or ')' in the parameter list");
    }
  }

  // The signature of a function declarator, for a pointer to it; null when the function
  // cannot be a Signature (an incomplete return type, a type the ABI refuses later is fine).
  std::shared_ptr<const Signature> signature_of(const Derived& f) {
    if (!f.ret.type || f.ret.flexible) return nullptr;
    try {
      return std::make_shared<const Signature>(f.ret.type, f.params, scope_.abi,
                                               f.variadic ? f.params.size() : Signature::kNotVariadic);
    } catch (const Error&) {
      return nullptr;
    }
  }

  // A type used by value: an incomplete one is an error there.
  const Type* object_of(const CType& t, std::size_t at) {
    if (!t.type) error_at(at, ErrorCode::InvalidType, t.incomplete + " is incomplete here: use it through a pointer");
    if (t.flexible)
      error_at(at, ErrorCode::InvalidType, t.incomplete + " ends in a flexible array member: use it through a pointer (by value the member is lost)");
    return t.type;
  }
  // C17 6.7.6.3p7: a parameter of array type (a typedef such as va_list) is a pointer; a
  // transparent union is passed as its first member (gcc).
  static const Type* adjusted_parameter(const CType& c, const Type* t) {
    if (t->kind() == TypeKind::Array) return Type::pointer();
    if (c.transparent && !t->fields().empty()) return t->fields()[0].type;
    return t;
  }

  // ---- declarations ----
  void declaration() {
    if (skipped_assertion()) return;
    if (is_asm_word(peek())) {  // a top-level asm statement: `__asm__(".symver ...");`
      Attributes ignored;
      attribute(ignored);
      expect(";", "';' after the asm statement");
      return;
    }
    Specifiers sp = specifiers();
    if (accept(";") || peek().empty()) return;  // a record or enum definition, or a forward declaration
    do {
      std::size_t dat = pos_;
      Attributes attrs = sp.attrs;
      auto [name, d] = declarator(sp.type, false, false, false, &attrs);
      // `extern fn_t name;` with `typedef int fn_t(int);` declares a function.
      if (!d.is_function() && d.object.function_decl) d = Derived(*d.object.function_decl);
      while (attribute(attrs)) {}
      if (peek() == "{") {
        // A function definition (a header's static or inline function): its body is skipped.
        if (!d.is_function() || sp.is_typedef) fail("';' after the declaration");
        skip_balanced("{", "}", "'}' closing this function body");
        if (!sp.is_static) add_function(name, d, attrs, dat);
        return;
      }
      if (peek() == "=") skip_initializer();
      if (!attrs.mode.empty() && !d.is_function()) d.object = CType{with_mode(object_of(d.object, dat), attrs), ""};
      if (sp.is_typedef) {
        // `typedef int fn(int);` names a function type: usable behind a pointer only.
        CType t = d.is_function() ? CType{nullptr, "function type " + name, true} : d.object;
        if (d.is_function()) {
          t.pointee = signature_of(d);
          t.function_decl = std::make_shared<const Derived>(d);
        }
        if (attrs.transparent_union && t.type && t.type->kind() == TypeKind::Union) t.transparent = true;
        // aligned(N) on a vector typedef sets the vector's alignment, lower or higher
        // (`typedef float __m128_u __attribute__((vector_size(16), aligned(1)))`).
        if (t.type && t.type->is_vector() && attrs.aligned)
          t.type = make(dat, [&] { return Type::vector(t.type->element(), t.type->count(), attrs.aligned); });
        define_typedef(name, t, dat);
      } else if (d.is_function()) {
        if (!sp.is_static) add_function(name, d, attrs, dat);
      }
      // An object declaration (`extern int x;`) declares nothing callable: read and left.
    } while (accept(","));
    if (peek().empty()) return;  // the last declaration may omit its ';' (a one-line prototype)
    expect(";", "';' after the declaration");
  }

  // gcc's `mode` attribute: the integer (or floating) type of that machine mode's size, of the
  // declared type's signedness (LP64: word and pointer are DImode).
  const Type* with_mode(const Type* t, const Attributes& a) {
    const std::string& m = a.mode;
    std::size_t bytes = m == "QI" || m == "byte" ? 1 : m == "HI" ? 2 : m == "SI" ? 4 : m == "DI" || m == "word" || m == "pointer" ? 8 : m == "TI" ? 16 : 0;
    if (bytes && t->is_integer() && t->kind() != TypeKind::Bool) {
      static const TypeKind kSigned[] = {TypeKind::I8, TypeKind::I16, TypeKind::I32, TypeKind::I64, TypeKind::I128};
      static const TypeKind kUnsigned[] = {TypeKind::U8, TypeKind::U16, TypeKind::U32, TypeKind::U64, TypeKind::U128};
      const int k = bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : bytes == 8 ? 3 : 4;
      return Type::scalar(t->is_signed() ? kSigned[k] : kUnsigned[k]);
    }
    if (t->is_float()) {
      if (m == "SF") return Type::f32();
      if (m == "DF") return Type::f64();
      if (m == "XF" && abi::abi_info(scope_.abi).has_f80) return Type::f80();
      if (m == "TF" && abi::abi_info(scope_.abi).has_f128) return Type::f128();
    }
    error_at(a.mode_at, ErrorCode::Unsupported, "mode(" + m + ") on " + t->str());
  }

  // _Static_assert(expression, "message"); at file scope or in a record: read and skipped
  // (its expression is not evaluated).
  bool skipped_assertion() {
    while (peek() == "__extension__") next();
    std::string_view t = peek();
    if (t != "_Static_assert" && t != "static_assert") return false;
    next();
    skip_parenthesised();
    expect(";", "';' after _Static_assert");
    return true;
  }

  // `= initializer`: skipped up to the ',' or ';' that ends it.
  void skip_initializer() {
    expect("=");
    for (;;) {
      std::string_view t = peek();
      if (t.empty() || t == "," || t == ";") return;
      if (t == "(") skip_balanced("(", ")", "')' closing this '('");
      else if (t == "{") skip_balanced("{", "}", "'}' closing this initializer");
      else if (t == "[") skip_balanced("[", "]", "']' closing this '['");
      else next();
    }
  }

  // A typedef may be repeated as the same type (C11 6.7p3); a different one is an error
  // that names both places (the first definition's). The predefined names (size_t, ...) give way to a header's own.
  void define_typedef(const std::string& name, const CType& t, std::size_t at) {
    auto it = scope_.typedefs.find(name);
    auto first = scope_.typedef_where.find(name);
    if (it != scope_.typedefs.end() && first != scope_.typedef_where.end() && !(completed(it->second) == completed(t)))
      error_at(at, ErrorCode::InvalidType,
               "typedef '" + name + "' redefined as a different type (" + describe(t) + "; first defined at " +
                   first->second + " as " + describe(it->second) + ")");
    const bool new_where = first == scope_.typedef_where.end();
    scope_.set(scope_.typedefs, name, t);
    if (new_where) scope_.set(scope_.typedef_where, name, where(at));
  }
  static std::string describe(const CType& t) { return t.type ? t.type->str() : t.incomplete; }
  // A typedef of a tag made before the tag's definition names the defined type since.
  CType completed(const CType& t) const {
    if (t.type || t.function) return t;
    auto tag = scope_.tags.find(t.incomplete);
    return tag != scope_.tags.end() && tag->second.type ? tag->second : t;
  }

  // After an error in a lenient parse: skips the declaration that starts at `from`, up to
  // the ';' that ends it at the outermost level or the '}' that closes a function body.
  void skip_declaration(std::size_t from) {
    pos_ = from;
    depth_ = 0;
    unevaluated_ = 0;
    flexible_ = {};
    try {
      std::size_t level = 0, braces = 0;  // all brackets; braces among them
      bool after_paren = false;  // the last outermost token was ')': a '{' then opens a body
      bool body = false;
      for (;;) {
        std::string_view t = peek();
        if (t.empty()) return;
        if (level == 0 && (t == "__attribute__" || t == "__attribute" || is_asm_word(t))) {
          next();  // skipped unread, with its arguments; after_paren stays as it was
          while (ignorable(peek())) next();
          if (peek() == "(") skip_parenthesised();
          continue;
        }
        next();
        if (t == "(" || t == "[" || t == "{") {
          if (t == "{" && level == 0) body = after_paren;
          if (t == "{") ++braces;
          ++level;
        } else if (t == ")" || t == "]" || t == "}") {
          if (t == "}" && braces > 0) --braces;
          if (level == 0) {
            if (t == "}") return;  // a stray '}'
          } else if (--level == 0 && t == "}" && body) {
            return;
          }
        } else if (t == ";" && braces == 0) {
          return;  // outside braces a ';' ends a declaration, however many '(' are open
        }
        if (level == 0) after_paren = t == ")";
      }
    } catch (const Error&) {
      pos_ = s_.size();  // an unclosed comment or literal: nothing after it can be read
    }
  }

  void add_function(const std::string& name, const Derived& d, const Attributes& attrs, std::size_t at) {
    const Type* ret = object_of(d.ret, at);
    Abi abi = attrs.abi ? *attrs.abi : scope_.abi;
    try {
      Signature sig(ret, d.params, abi, d.variadic ? d.params.size() : Signature::kNotVariadic);
      scope_.functions.push_back({name, std::move(sig), d.returns_char_pointer, d.param_functions});
    } catch (const Error& e) {
      error_at(at, e.code(), "function '" + name + "': " + e.what());
    }
  }

  // ---- constant expressions (array sizes, enumerators, aligned(N), #define values) ----
  // Evaluated in the types C gives them (C17 6.4.4.1, 6.3.1.8): an integer constant is int,
  // unsigned int, long or unsigned long (long long is long on LP64), both sides of an
  // operator are converted to a common type, `sizeof` is size_t (unsigned long), a
  // comparison is int. Signed overflow and division by zero are errors (C leaves them
  // undefined), except in an operand that `?:`, && or || does not evaluate.
 public:
  struct Value {
    CConstant::Kind kind = CConstant::Kind::Integer;
    const Type* type = Type::i32();  // Integer: i32, u32, i64, u64 or ptr
    std::uint64_t bits = 0;          // Integer: the value in two's complement
    long double f = 0;               // Float
    std::string str;                 // String
  };

  // The value of `text` as a whole (an object-like #define's expansion), or nothing when it
  // is not one constant expression.
  std::optional<Value> whole_constant() {
    try {
      Value v = conditional();
      if (!peek().empty()) return std::nullopt;
      return v;
    } catch (const Error&) {
      return std::nullopt;
    }
  }

 private:
  std::int64_t constant_expression() {
    const std::size_t at = pos_;
    const Value v = conditional();
    if (v.kind != CConstant::Kind::Integer) error_at(at, ErrorCode::Syntax, "an integer constant is needed here");
    if (!is_signed_int(v.type) && v.bits > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      error_at(at, ErrorCode::Syntax, "the constant overflows 64 bits");
    return static_cast<std::int64_t>(v.bits);
  }

  static bool is_signed_int(const Type* t) { return t == Type::i32() || t == Type::i64(); }
  static unsigned width_of(const Type* t) { return t == Type::i32() || t == Type::u32() ? 32 : 64; }
  // The mathematical value of an integer Value.
  static Int128 value_of(const Value& v) {
    if (!is_signed_int(v.type)) return v.bits;
    return v.type == Type::i32() ? static_cast<std::int32_t>(static_cast<std::uint32_t>(v.bits))
                                 : static_cast<std::int64_t>(v.bits);
  }
  static bool fits(const Type* t, Int128 v) {
    const unsigned w = width_of(t);
    if (is_signed_int(t)) return v >= -(static_cast<Int128>(1) << (w - 1)) && v < (static_cast<Int128>(1) << (w - 1));
    return v >= 0 && v < (static_cast<Int128>(1) << w);
  }
  // `v` in type `t`, wrapped to its width as a conversion does (C17 6.3.1.3).
  static Value integer(const Type* t, Int128 v) {
    Value r;
    r.type = t;
    const std::uint64_t b = static_cast<std::uint64_t>(v);
    r.bits = width_of(t) == 32 ? (is_signed_int(t) ? static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(b)))
                                                    : b & 0xffffffffu)
                               : b;
    return r;
  }
  static Value floating(const Type* t, long double f) {
    Value r;
    r.kind = CConstant::Kind::Float;
    r.type = t;
    r.f = t == Type::f32() ? static_cast<long double>(static_cast<float>(f))
          : t == Type::f64() ? static_cast<long double>(static_cast<double>(f)) : f;
    return r;
  }
  static int float_rank(const Type* t) { return t == Type::f32() ? 1 : t == Type::f64() ? 2 : 3; }

  // An error in evaluated code; in an unevaluated operand the value is just not used.
  void arith_error(std::size_t at, const std::string& message) {
    if (!unevaluated_) error_at(at, ErrorCode::Syntax, message);
  }
  std::string overflow_message(const Type* t) {
    return t == Type::i32() ? "the constant overflows int" : "the constant overflows 64 bits";
  }

  // C17 6.3.1.8: the usual arithmetic conversions.
  const Type* common_type(const Value& a, const Value& b, std::size_t at) {
    if (a.kind == CConstant::Kind::String || b.kind == CConstant::Kind::String)
      error_at(at, ErrorCode::Syntax, "a string in arithmetic");
    if (a.kind == CConstant::Kind::Float || b.kind == CConstant::Kind::Float) {
      if (a.kind != CConstant::Kind::Float) return b.type;
      if (b.kind != CConstant::Kind::Float) return a.type;
      return float_rank(a.type) >= float_rank(b.type) ? a.type : b.type;
    }
    const Type* x = a.type == Type::pointer() ? Type::u64() : a.type;
    const Type* y = b.type == Type::pointer() ? Type::u64() : b.type;
    if (x == y) return x;
    const unsigned wx = width_of(x), wy = width_of(y);
    if (is_signed_int(x) == is_signed_int(y)) return wx >= wy ? x : y;
    const Type* u = is_signed_int(x) ? y : x;
    const Type* sgn = is_signed_int(x) ? x : y;
    if (width_of(u) >= width_of(sgn)) return u;
    return sgn;  // i64 holds every u32
  }
  Value convert(const Value& v, const Type* t, std::size_t at) {
    if (v.kind == CConstant::Kind::String) error_at(at, ErrorCode::Syntax, "a string converted to a number");
    if (t->is_float()) return floating(t, v.kind == CConstant::Kind::Float ? v.f : static_cast<long double>(value_of(v)));
    if (v.kind == CConstant::Kind::Float) {
      const long double f = v.f;
      if (!(f > -1.8e19L && f < 1.9e19L)) {  // NaN included
        arith_error(at, "the floating constant does not fit the integer type");
        return integer(t, 0);
      }
      const Int128 i = static_cast<Int128>(f);
      if (!fits(t, i)) arith_error(at, "the floating constant does not fit the integer type");
      return integer(t, i);
    }
    return integer(t, value_of(v));
  }
  static bool truth(const Value& v) { return v.kind == CConstant::Kind::Float ? v.f != 0 : v.kind == CConstant::Kind::String || v.bits != 0; }

  static int precedence(std::string_view op) {
    if (op == "||") return 1;
    if (op == "&&") return 2;
    if (op == "|") return 3;
    if (op == "^") return 4;
    if (op == "&") return 5;
    if (op == "==" || op == "!=") return 6;
    if (op == "<" || op == ">" || op == "<=" || op == ">=") return 7;
    if (op == "<<" || op == ">>") return 8;
    if (op == "+" || op == "-") return 9;
    if (op == "*" || op == "/" || op == "%") return 10;
    return 0;
  }

  // conditional := binary ['?' conditional ':' conditional]
  Value conditional() {
    enter();
    Value c = binary(0);
    const std::size_t at = pos_;
    if (accept("?")) {
      const bool take = truth(c);
      if (!take) ++unevaluated_;
      Value a = conditional();
      if (!take) --unevaluated_;
      expect(":", "':' in the conditional expression");
      if (take) ++unevaluated_;
      Value b = conditional();
      if (take) --unevaluated_;
      if (a.kind == CConstant::Kind::String || b.kind == CConstant::Kind::String) {
        c = take ? a : b;
      } else {
        const Type* t = common_type(a, b, at);
        c = convert(take ? a : b, t, at);
      }
    }
    leave();
    return c;
  }

  Value binary(int min_prec) {
    enter();
    Value lhs = unary();
    for (;;) {
      std::string_view op = peek();
      int p = precedence(op);
      if (p == 0 || p <= min_prec) break;
      std::size_t at = pos_;
      next();
      // && and || do not evaluate their right operand once the left one decides.
      const bool skip_rhs = (op == "&&" && !truth(lhs)) || (op == "||" && truth(lhs));
      if (skip_rhs) ++unevaluated_;
      Value rhs = binary(p);
      if (skip_rhs) --unevaluated_;
      lhs = apply(op, lhs, rhs, at);
    }
    leave();
    return lhs;
  }

  Value apply(std::string_view op, const Value& a, const Value& b, std::size_t at) {
    if (op == "&&" || op == "||") return integer(Type::i32(), op == "&&" ? truth(a) && truth(b) : truth(a) || truth(b));
    if (op == "<<" || op == ">>") return shift(op, a, b, at);
    const Type* t = common_type(a, b, at);
    const Value x = convert(a, t, at), y = convert(b, t, at);
    if (t->is_float()) {
      const long double p = x.f, q = y.f;
      if (op == "+") return floating(t, p + q);
      if (op == "-") return floating(t, p - q);
      if (op == "*") return floating(t, p * q);
      if (op == "/") return floating(t, p / q);  // IEEE: x/0 is an infinity or NaN, as gcc folds it
      if (std::optional<Value> c = comparison(op, p, q)) return *c;
      error_at(at, ErrorCode::Syntax, "'" + std::string(op) + "' on a floating constant");
    }
    const Int128 p = value_of(x), q = value_of(y);
    if (std::optional<Value> c = comparison(op, p, q)) return *c;
    if (op == "&") return integer(t, p & q);
    if (op == "|") return integer(t, p | q);
    if (op == "^") return integer(t, p ^ q);
    Int128 r = 0;
    if (op == "+") r = p + q;
    else if (op == "-") r = p - q;
    else if (op == "*") r = p * q;  // |p|, |q| < 2^64: the product fits 128 bits
    else {
      if (q == 0) {
        arith_error(at, "division by zero");
        return integer(t, 0);
      }
      r = op == "/" ? p / q : p % q;
    }
    if (is_signed_int(t) && !fits(t, r)) arith_error(at, overflow_message(t));
    return integer(t, r);  // unsigned arithmetic wraps (C17 6.2.5p9)
  }

  // A comparison is an int, 0 or 1 (C17 6.5.8, 6.5.9); nothing when `op` is not one.
  template <class T>
  static std::optional<Value> comparison(std::string_view op, T p, T q) {
    if (op == "==") return integer(Type::i32(), p == q);
    if (op == "!=") return integer(Type::i32(), p != q);
    if (op == "<") return integer(Type::i32(), p < q);
    if (op == ">") return integer(Type::i32(), p > q);
    if (op == "<=") return integer(Type::i32(), p <= q);
    if (op == ">=") return integer(Type::i32(), p >= q);
    return std::nullopt;
  }

  // C17 6.5.7: the type is the promoted left operand's; a count outside 0..width-1, and a
  // signed left shift whose result does not fit even the unsigned type, are errors (gcc
  // folds 1 << 31 to INT_MIN, as C++20 defines it).
  Value shift(std::string_view op, const Value& a, const Value& b, std::size_t at) {
    if (a.kind != CConstant::Kind::Integer || b.kind != CConstant::Kind::Integer)
      error_at(at, ErrorCode::Syntax, "a shift of a value that is not an integer");
    const Type* t = a.type == Type::pointer() ? Type::u64() : a.type;
    const Int128 p = value_of(a), n = value_of(b);
    if (n < 0 || n >= width_of(t)) {
      arith_error(at, "a shift out of range");
      return integer(t, 0);
    }
    if (op == ">>") return integer(t, p >> static_cast<int>(n));
    const Int128 r = p * (static_cast<Int128>(1) << static_cast<int>(n));
    const Int128 limit = static_cast<Int128>(1) << width_of(t);
    if (r < 0 ? -r > limit / 2 : r >= limit) arith_error(at, "a shift out of range");
    return integer(t, r);
  }

  // unary := ('-' | '+' | '~' | '!' | '(' type-name ')' | sizeof | __extension__)* primary.
  // Prefixes are collected in a loop and applied innermost first, so a long run of them
  // ("~~~...1") costs no stack.
  struct Prefix {
    char op;  // - + ~ ! c(ast) s(izeof)
    std::size_t at;
    const Type* cast = nullptr;
  };
  Value unary() {
    std::vector<Prefix> prefixes;
    std::optional<Value> v;
    for (;;) {
      const std::size_t at = pos_;
      std::string_view t = peek();
      if (t == "-" || t == "+" || t == "~" || t == "!") {
        next();
        prefixes.push_back({t[0], at});
      } else if (t == "__extension__") {
        next();
      } else if (t == "(" && type_name_follows()) {
        next();
        const Type* cast = type_name(at);
        expect(")", "')' after the type in the cast");
        prefixes.push_back({'c', at, cast});
      } else if (t == "sizeof" || t == "_Alignof" || t == "alignof" || t == "__alignof__" || t == "__alignof") {
        next();
        if (peek() == "(" && type_name_follows()) {
          next();
          const Type* ty = type_name(at);
          expect(")", "')' after the type");
          v = integer(Type::u64(), t == "sizeof" ? ty->size() : ty->align());
          break;
        }
        if (t != "sizeof") fail("'(' and a type after " + std::string(t));
        prefixes.push_back({'s', at});
      } else {
        break;
      }
    }
    if (!v) v = primary();
    for (auto it = prefixes.rbegin(); it != prefixes.rend(); ++it) v = apply_prefix(*it, *v);
    return *v;
  }

  Value apply_prefix(const Prefix& p, const Value& v) {
    if (p.op == 'c') return cast_to(v, p.cast, p.at);
    if (p.op == 's') {
      if (v.kind == CConstant::Kind::String) return integer(Type::u64(), v.str.size() + 1);
      return integer(Type::u64(), v.type->size());
    }
    if (v.kind == CConstant::Kind::String) error_at(p.at, ErrorCode::Syntax, "'" + std::string(1, p.op) + "' on a string");
    if (p.op == '!') return integer(Type::i32(), !truth(v));
    if (p.op == '+') return v;
    if (v.kind == CConstant::Kind::Float) {
      if (p.op == '~') error_at(p.at, ErrorCode::Syntax, "'~' on a floating constant");
      return floating(v.type, -v.f);
    }
    const Type* t = v.type == Type::pointer() ? Type::u64() : v.type;
    if (p.op == '~') return integer(t, ~value_of(v));
    const Int128 r = -value_of(v);
    if (is_signed_int(t) && !fits(t, r)) arith_error(p.at, overflow_message(t));
    return integer(t, r);
  }

  // After '(' : a type name (a cast, sizeof(type)) rather than an expression.
  bool type_name_follows() {
    std::size_t save = pos_;
    next();  // '('
    std::string_view t = peek();
    pos_ = save;
    return is_type_start(t);
  }
  bool is_type_start(std::string_view t) const {
    return is_type_word(t) || is_extended_type_word(t) || scope_.typedefs.count(t) ||
           (ignorable(t) && t != "__extension__") || t == "__attribute__";
  }
  // A type name (specifiers and an abstract declarator), as a cast or sizeof names it: an
  // integer type narrower than int is the int it is promoted to, after the conversion.
  const Type* type_name(std::size_t at) {
    Specifiers sp = specifiers();
    auto [name, d] = declarator(sp.type, true);
    if (d.is_function() || (!d.object.type && d.object.function))
      error_at(at, ErrorCode::Syntax, "a function type in a constant expression");
    return object_of(d.object, at);
  }
  // A cast's result as a constant: an integer narrower than int is converted, then promoted
  // to int (C17 6.3.1.1); _Bool is 0 or 1; a pointer keeps its bits (as `(void*)0`).
  Value cast_to(const Value& v, const Type* t, std::size_t at) {
    if (t->is_float() || t == Type::i32() || t == Type::u32() || t == Type::i64() || t == Type::u64() || t == Type::pointer())
      return convert(v, t, at);
    if (t->is_integer() && t->size() < 4) {
      if (t->kind() == TypeKind::Bool) return integer(Type::i32(), truth(v));
      const unsigned bits = static_cast<unsigned>(t->size() * 8);
      const Int128 wide = value_of(convert(v, Type::u64(), at)) & ((static_cast<Int128>(1) << bits) - 1);
      const bool negative = t->is_signed() && (wide >> (bits - 1)) != 0;
      return integer(Type::i32(), negative ? wide - (static_cast<Int128>(1) << bits) : wide);
    }
    error_at(at, ErrorCode::Syntax, "a cast to " + t->str() + " in a constant expression");
  }

  Value primary() {
    std::size_t at = pos_;
    if (accept("(")) {
      Value v = conditional();
      expect(")");
      return v;
    }
    std::string_view t = next();
    if (!t.empty() && (is_digit(t[0]) || t[0] == '.')) return number_literal(t, at);
    if (!t.empty() && t[0] == '\'') return integer(Type::i32(), static_cast<signed char>(char_literal(t, at)));
    if (!t.empty() && t[0] == '"') return string_literal(t, at);
    if (t == "u8" && pos_ < s_.size() && s_[pos_] == '"') return string_literal(next(), at);
    if (is_word(t)) {
      if (std::optional<Value> b = builtin_constant(t, at)) return *b;
      if (const CConstant* c = scope_.constant(t)) return from_constant(*c);
      error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' is not a constant in scope");
    }
    fail_at(at, "a constant", quoted(t));
  }

  static Value from_constant(const CConstant& c) {
    Value v;
    v.kind = c.kind;
    v.type = c.type;
    v.bits = static_cast<std::uint64_t>(c.integer);
    v.f = c.floating;
    v.str = c.string;
    return v;
  }

  // gcc's constant builtins that <math.h> defines INFINITY, HUGE_VAL and NAN with.
  std::optional<Value> builtin_constant(std::string_view t, std::size_t at) {
    static constexpr std::string_view kInf[] = {"__builtin_inf", "__builtin_huge_val"};
    for (std::string_view base : kInf) {
      if (t.substr(0, base.size()) != base) continue;
      std::string_view suffix = t.substr(base.size());
      const Type* ty = suffix.empty() ? Type::f64() : suffix == "f" ? Type::f32() : suffix == "l" ? long_double(at) : nullptr;
      if (!ty) return std::nullopt;
      expect("(");
      expect(")");
      return floating(ty, std::numeric_limits<long double>::infinity());
    }
    if (t == "__builtin_nan" || t == "__builtin_nanf" || t == "__builtin_nanl") {
      const Type* ty = t == "__builtin_nan" ? Type::f64() : t == "__builtin_nanf" ? Type::f32() : long_double(at);
      expect("(");
      if (peek() != ")") primary();  // the payload string
      expect(")");
      return floating(ty, std::numeric_limits<long double>::quiet_NaN());
    }
    return std::nullopt;
  }
  const Type* long_double(std::size_t) { return parse_type("longdouble", scope_.abi); }

  // C17 6.4.4.1: the first of int, unsigned int (octal and hex only), long, unsigned long
  // (octal and hex only) that holds the value, from what the suffix allows; gcc takes
  // unsigned long for a decimal too large for long.
  Value number_literal(std::string_view t, std::size_t at) {
    auto bad = [&]() -> Value { error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' is not a number"); };
    const bool hex = t.size() > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');
    const bool is_float = hex ? t.find_first_of(".pP") != std::string_view::npos
                              : t.find_first_of(".eE") != std::string_view::npos;
    if (is_float) return float_literal(t, hex, at);
    std::size_t end = t.size();
    bool u = false;
    int longs = 0;
    while (end > 0) {
      const char c = t[end - 1];
      if ((c == 'u' || c == 'U') && !u) u = true;
      else if ((c == 'l' || c == 'L') && longs < 2) ++longs;
      else break;
      --end;
    }
    std::string_view digits = t.substr(0, end);
    int base = 10;
    if (hex) {
      base = 16;
      digits.remove_prefix(2);
    } else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
      base = 2;
      digits.remove_prefix(2);
    } else if (digits.size() > 1 && digits[0] == '0') {
      base = 8;
      digits.remove_prefix(1);
    }
    if (digits.empty()) bad();
    std::uint64_t v = 0;
    for (char c : digits) {
      int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : 99;
      if (d >= base) bad();
      if (v > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base))
        error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' overflows 64 bits");
      v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
    }
    const bool decimal = base == 10;
    std::vector<const Type*> candidates;
    if (!longs && !u) candidates.push_back(Type::i32());
    if (!longs && (u || !decimal)) candidates.push_back(Type::u32());
    if (!u) candidates.push_back(Type::i64());
    candidates.push_back(Type::u64());
    for (const Type* c : candidates)
      if (fits(c, v)) return integer(c, v);
    return integer(Type::u64(), v);
  }

  Value float_literal(std::string_view t, bool hex, std::size_t at) {
    const Type* type = Type::f64();
    std::string_view body = t;
    const char last = body.back();
    if (last == 'f' || last == 'F') {
      type = Type::f32();
      body.remove_suffix(1);
    } else if (last == 'l' || last == 'L') {
      type = long_double(at);
      body.remove_suffix(1);
    }
    if (hex) body.remove_prefix(2);
    long double f = 0;
    const auto r = std::from_chars(body.data(), body.data() + body.size(), f,
                                   hex ? std::chars_format::hex : std::chars_format::general);
    if (r.ec != std::errc() || r.ptr != body.data() + body.size())
      error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' is not a number");
    return floating(type, f);
  }

  // One character of a literal at s[i] (after the opening quote), escapes decoded
  // (C17 6.4.4.4); `i` moves past it.
  static unsigned char literal_char(std::string_view s, std::size_t& i) {
    if (s[i] != '\\' || i + 1 >= s.size()) return static_cast<unsigned char>(s[i++]);
    const char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'a': return '\a';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'e': return 27;  // gcc
      case 'x': {
        unsigned v = 0;
        while (i < s.size() && std::isxdigit(static_cast<unsigned char>(s[i]))) {
          const char c = s[i++];
          v = (v << 4 | static_cast<unsigned>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10)) & 0xff;
        }
        return static_cast<unsigned char>(v);
      }
      default:
        if (e >= '0' && e <= '7') {
          unsigned v = static_cast<unsigned>(e - '0');
          for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k) v = v * 8 + static_cast<unsigned>(s[i++] - '0');
          return static_cast<unsigned char>(v);
        }
        return static_cast<unsigned char>(e);  // \\ \' \" \?
    }
  }
  unsigned char char_literal(std::string_view t, std::size_t at) {
    std::size_t i = 1;
    if (t.size() < 3) error_at(at, ErrorCode::Syntax, "an empty character constant");
    const unsigned char c = literal_char(t, i);
    if (i + 1 != t.size()) error_at(at, ErrorCode::Syntax, "a character constant of more than one character");
    return c;
  }
  // Adjacent string literals are one (C17 5.1.1.2, phase 6).
  Value string_literal(std::string_view first, std::size_t at) {
    Value v;
    v.kind = CConstant::Kind::String;
    v.type = Type::pointer();
    std::string_view t = first;
    for (;;) {
      for (std::size_t i = 1; i + 1 < t.size();) v.str += static_cast<char>(literal_char(t, i));
      if (v.str.size() > kMaxTypeSize) error_at(at, ErrorCode::Syntax, "a string constant over 2 GiB");
      std::string_view n = peek();
      if (n.empty() || n[0] != '"') break;
      t = next();
    }
    return v;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  detail::CScopeState& scope_;
  CParseOptions options_;
  std::optional<SourcePositions> positions_;
  std::string decl_name_;  // what the current top-level declaration declares, once known
  struct FlexibleMember {
    const Type* element = nullptr;
    std::size_t at = 0;
    std::string name;
  } flexible_;  // of the record being read
  int unevaluated_ = 0;    // > 0: inside the operand `?:`, && or || do not evaluate
  std::size_t furthest_ = 0;  // the furthest position read in this top-level declaration
};

void predefine(detail::CScopeState& st) {
  // <stddef.h>, <stdint.h>, <sys/types.h>, <wchar.h>, <uchar.h> on LP64 Linux.
  const std::pair<const char*, const Type*> names[] = {
      {"size_t", Type::u64()},     {"ssize_t", Type::i64()},    {"ptrdiff_t", Type::i64()},
      {"intptr_t", Type::i64()},   {"uintptr_t", Type::u64()},  {"intmax_t", Type::i64()},
      {"uintmax_t", Type::u64()},  {"off_t", Type::i64()},      {"int8_t", Type::i8()},
      {"uint8_t", Type::u8()},     {"int16_t", Type::i16()},    {"uint16_t", Type::u16()},
      {"int32_t", Type::i32()},    {"uint32_t", Type::u32()},   {"int64_t", Type::i64()},
      {"uint64_t", Type::u64()},   {"wchar_t", Type::i32()},    {"char16_t", Type::u16()},
      {"char32_t", Type::u32()},   {"bool", Type::bool_()},
  };
  for (const auto& [n, t] : names) st.typedefs[n] = CType{t, ""};

  // The vector types of the target's intrinsics headers, which C code uses without their
  // definitions in sight: x86's <immintrin.h> (__m128 is float __attribute__((vector_size(16))),
  // ...) and AArch64's <arm_neon.h> (float32x4_t, ...; its tuples int32x4x2_t are records
  // of one array member `val`, homogeneous short-vector aggregates).
  struct VectorName {
    const char* name;
    const Type* element;
    std::size_t count;
  };
  if (abi::abi_info(st.abi).arch == abi::Arch::X64) {
    const VectorName x86[] = {
        {"__m64", Type::i32(), 2},    {"__m128", Type::f32(), 4},    {"__m128d", Type::f64(), 2},
        {"__m128i", Type::i64(), 2},  {"__m128h", Type::f16(), 8},   {"__m256", Type::f32(), 8},
        {"__m256d", Type::f64(), 4},  {"__m256i", Type::i64(), 4},   {"__m256h", Type::f16(), 16},
        {"__m512", Type::f32(), 16},  {"__m512d", Type::f64(), 8},   {"__m512i", Type::i64(), 8},
        {"__m512h", Type::f16(), 32},
    };
    for (const VectorName& v : x86) st.typedefs[v.name] = CType{Type::vector(v.element, v.count), ""};
    return;
  }
  const std::pair<const char*, const Type*> lanes[] = {
      {"int8", Type::i8()},     {"uint8", Type::u8()},     {"int16", Type::i16()},   {"uint16", Type::u16()},
      {"int32", Type::i32()},   {"uint32", Type::u32()},   {"int64", Type::i64()},   {"uint64", Type::u64()},
      {"float16", Type::f16()}, {"float32", Type::f32()},  {"float64", Type::f64()}, {"poly8", Type::u8()},
      {"poly16", Type::u16()},  {"poly64", Type::u64()},
  };
  for (const auto& [lane, element] : lanes)
    for (std::size_t bytes : {8, 16}) {
      const std::size_t count = bytes / element->size();
      const std::string name = std::string(lane) + "x" + std::to_string(count);
      const Type* v = Type::vector(element, count);
      st.typedefs[name + "_t"] = CType{v, ""};
      for (std::size_t n = 2; n <= 4; ++n)
        st.typedefs[name + "x" + std::to_string(n) + "_t"] =
            CType{Type::struct_({{Type::array(v, n), 0, "val"}}), ""};
    }
}

}  // namespace

CScope::CScope(Abi abi) : state_(std::make_unique<detail::CScopeState>()) {
  state_->abi = abi;
  predefine(*state_);
  // FILE is an opaque struct: fine behind a pointer, as in every stdio prototype.
  parse("typedef struct _IO_FILE FILE;");
  // Predefined like the names above: not counted, and a header may redefine it.
  state_->declarations = 0;
  state_->typedef_where.clear();
}
CScope::CScope(const CScope& o) : state_(std::make_unique<detail::CScopeState>(*o.state_)) {}
CScope& CScope::operator=(const CScope& o) {
  if (this != &o) state_ = std::make_unique<detail::CScopeState>(*o.state_);
  return *this;
}
CScope::~CScope() = default;

void CScope::parse(std::string_view source) { parse(source, CParseOptions{}); }

void CScope::parse(std::string_view source, const CParseOptions& options) {
  // All or nothing: the declarations go in only when the whole source parsed (a lenient
  // parse throws only for what it cannot skip).
  state_->all_or_nothing([&] { CParser(source, *state_, options).translation_unit(); });
}

namespace {

// The `#include` line for CScope::include's `header`.
std::string include_line(std::string_view header) {
  if (header.empty()) throw Error(ErrorCode::Library, "no header named");
  for (char c : header)
    if (c == '\n' || c == '\r' || c == '\0') throw Error(ErrorCode::Library, "a header name with a line break or NUL in it");
  if (header.front() == '<' || header.front() == '"') {
    const char close = header.front() == '<' ? '>' : '"';
    if (header.size() < 3 || header.back() != close || header.substr(1, header.size() - 2).find(close) != std::string_view::npos)
      throw Error(ErrorCode::Library, "header name " + std::string(header) + ": expected one closing " + std::string(1, close));
    return "#include " + std::string(header) + "\n";
  }
  if (header.find('>') != std::string_view::npos) throw Error(ErrorCode::Library, "a header name with '>' in it");
  std::string path(header);
  struct stat st;
  if (path.find('/') != std::string::npos && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    if (path.find('"') != std::string::npos) throw Error(ErrorCode::Library, "a header path with '\"' in it");
    if (path[0] != '/') {
      char* cwd = getcwd(nullptr, 0);
      if (cwd) path = std::string(cwd) + "/" + path;
      std::free(cwd);
    }
    return "#include \"" + path + "\"\n";
  }
  return "#include <" + path + ">\n";
}

// Object-like macro names from `cc -dM -E` output: "#define NAME value" (not "NAME(").
std::vector<std::string> object_like_macros(std::string_view dump) {
  std::vector<std::string> names;
  std::size_t at = 0;
  while (at < dump.size()) {
    std::size_t end = dump.find('\n', at);
    if (end == std::string_view::npos) end = dump.size();
    std::string_view line = dump.substr(at, end - at);
    at = end + 1;
    if (line.substr(0, 8) != "#define ") continue;
    std::size_t n = 8;
    while (n < line.size() && (is_alpha(line[n]) || is_digit(line[n]))) ++n;
    if (n == 8 || (n < line.size() && line[n] == '(')) continue;
    if (n >= line.size()) continue;  // defined empty: no value
    names.emplace_back(line.substr(8, n - 8));
  }
  std::sort(names.begin(), names.end());
  return names;
}

constexpr std::string_view kConstantsFile = "tramp-constants";

}  // namespace

void CScope::include(std::string_view header, const CHeaderOptions& options) {
  const std::vector<std::string> command = options.preprocessor.empty() ? std::vector<std::string>{"cc"} : options.preprocessor;
  std::vector<std::string> flags{"-E"};
  for (const std::string& d : options.include_dirs) flags.insert(flags.end(), {"-I", d});
  for (const std::string& d : options.defines) flags.insert(flags.end(), {"-D", d});
  const std::string line = include_line(header);

  // The constants: the header's object-like macros (those a bare compilation does not
  // define), each expanded by the preprocessor itself after the header, one per line
  // behind a marker, so that macros defined through function-like ones expand as in C.
  std::vector<std::string> macros;
  std::string source = line;
  if (options.constants) {
    std::vector<std::string> dump_flags = flags;
    dump_flags.push_back("-dM");
    const std::vector<std::string> all = object_like_macros(detail::run_preprocessor(command, dump_flags, line));
    const std::vector<std::string> builtin = object_like_macros(detail::run_preprocessor(command, dump_flags, ""));
    std::set_difference(all.begin(), all.end(), builtin.begin(), builtin.end(), std::back_inserter(macros));
    source += "#line 1 \"" + std::string(kConstantsFile) + "\"\n";
    for (std::size_t i = 0; i < macros.size(); ++i) source += "__tramp_constant_" + std::to_string(i) + " " + macros[i] + "\n";
  }
  const std::string text = detail::run_preprocessor(command, flags, source);

  std::string_view declarations = text;
  std::string_view constants;
  if (options.constants) {
    const std::string marker = "# 1 \"" + std::string(kConstantsFile) + "\"";
    const std::size_t split = text.find(marker);
    if (split != std::string::npos) {
      declarations = std::string_view(text).substr(0, split);
      constants = std::string_view(text).substr(split + marker.size());
    }
  }

  detail::CScopeState& work = *state_;
  work.all_or_nothing([&] {
    CParser(declarations, work, CParseOptions{options.lenient}).translation_unit();
    // Each "__tramp_constant_N expansion" up to the next marker: a constant when the expansion
    // is one constant expression.
    constexpr std::string_view kMarker = "__tramp_constant_";
    std::size_t at = constants.find(kMarker);
    while (at != std::string_view::npos) {
      std::size_t n = at + kMarker.size(), index = 0;
      while (n < constants.size() && is_digit(constants[n]) && index < macros.size()) index = index * 10 + static_cast<std::size_t>(constants[n++] - '0');
      const std::size_t end = constants.find(kMarker, n);
      if (index < macros.size()) {
        const std::string_view expansion = constants.substr(n, end == std::string_view::npos ? std::string_view::npos : end - n);
        if (std::optional<CParser::Value> v = CParser(expansion, work).whole_constant()) {
          CConstant c;
          c.name = macros[index];
          c.kind = v->kind;
          c.type = v->type;
          c.integer = static_cast<std::int64_t>(v->bits);
          c.floating = v->f;
          c.string = std::move(v->str);
          work.add_constant(std::move(c));
        }
      }
      at = end;
    }
  });
}

std::size_t CScope::declaration_count() const noexcept { return state_->declarations; }
const std::vector<CSkipped>& CScope::skipped() const noexcept { return state_->skipped; }
const std::vector<CConstant>& CScope::constants() const noexcept { return state_->constants; }
const CConstant* CScope::constant(std::string_view name) const noexcept { return state_->constant(name); }

const Signature* CScope::function_type(std::string_view name) const noexcept {
  auto it = state_->typedefs.find(name);
  return it == state_->typedefs.end() ? nullptr : it->second.pointee.get();
}

const std::vector<CFunction>& CScope::functions() const noexcept { return state_->functions; }

const CFunction* CScope::function(std::string_view name) const noexcept {
  for (auto it = state_->functions.rbegin(); it != state_->functions.rend(); ++it)
    if (it->name == name) return &*it;
  return nullptr;
}

const Type* CScope::type(std::string_view name) const noexcept {
  if (auto it = state_->typedefs.find(name); it != state_->typedefs.end()) return it->second.type;
  if (auto it = state_->tags.find(name); it != state_->tags.end()) return it->second.type;
  return nullptr;
}

CFunction parse_c_function(std::string_view source, Abi abi) {
  CScope scope(abi);
  const std::size_t before = scope.functions().size();
  scope.parse(source);
  const std::size_t declared = scope.functions().size() - before;
  if (declared != 1)
    throw Error(ErrorCode::Syntax, declared == 0 ? "expected a function declaration, found none"
                                                 : "expected one function declaration, found " + std::to_string(declared));
  return scope.functions().back();
}

}  // namespace tramp
