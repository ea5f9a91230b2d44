// C declarations as signature input: a recursive-descent parser for the declaration subset
// of C that prototypes and headers use (include/tramp/cdecl.hpp says what is understood).
// Fuzzed: every failure is a tramp::Error, nesting is bounded, nothing recurses per byte.
#include "tramp/cdecl.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/quote.hpp"
#include "tramp/error.hpp"
#include "tramp/type.hpp"

namespace tramp {

namespace {


bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

using detail::quoted;

// A type as declarations see it: complete, or only named (a tag declared but not defined, a
// function type behind a typedef), which is fine behind a pointer and an error by value.
struct CType {
  const Type* type = nullptr;  // null: incomplete
  std::string incomplete;      // what to call it then, e.g. "struct foo"
  bool function = false;       // a function type (by typedef): decays to ptr as a parameter
};

// A declarator's result: an object type, or a function (which only a pointer can turn into
// an object type, `ptr`).
struct Derived {
  CType object;
  bool function = false;
  CType ret;  // function: return type
  std::vector<const Type*> params;
  bool variadic = false;
  bool char_pointer = false;          // object: a pointer to (signed/unsigned) char
  bool returns_char_pointer = false;  // function: returns one
  bool is_function() const { return function; }
};

// What a declarator adds to its base type, innermost first: pointer, array, function.
struct Op {
  enum Kind { Pointer, Array, Function } kind;
  explicit Op(Kind k) : kind(k) {}
  std::size_t count = 0;  // Array
  std::vector<const Type*> params;  // Function
  bool variadic = false;
};

struct Attributes {
  bool packed = false;
  std::size_t aligned = 0;
  std::optional<Abi> abi;
  std::size_t vector_size = 0;  // __attribute__((vector_size(N))): the base type becomes a vector
  std::size_t vector_size_at = 0;
};

bool is_a64(Abi abi) { return abi == Abi::Aapcs64 || abi == Abi::AppleArm64; }

}  // namespace

struct detail::CScopeState {
  Abi abi;
  std::map<std::string, CType, std::less<>> typedefs;
  std::map<std::string, CType, std::less<>> tags;  // "struct x", "enum e"
  std::map<std::string, std::int64_t, std::less<>> constants;
  std::vector<CFunction> functions;
};

namespace {

class CParser {
 public:
  CParser(std::string_view text, detail::CScopeState& scope) : s_(text), scope_(scope) {}

  void translation_unit() {
    for (;;) {
      skip();
      if (pos_ >= s_.size()) return;
      declaration();
    }
  }

 private:
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
    if (pos_ >= s_.size()) return {};
    std::size_t end = pos_;
    if (is_alpha(s_[end])) {
      while (end < s_.size() && (is_alpha(s_[end]) || is_digit(s_[end]))) ++end;
    } else if (is_digit(s_[end])) {
      while (end < s_.size() && (is_alpha(s_[end]) || is_digit(s_[end]))) ++end;
    } else if (s_[end] == '"' || s_[end] == '\'') {
      end = quoted_literal_end(end);
    } else if (s_.compare(end, 3, "...") == 0) {
      end += 3;
    } else if (s_.compare(end, 2, "<<") == 0 || s_.compare(end, 2, ">>") == 0) {
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
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw Error(code, "line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + message, at);
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
    if (t == "__asm__" || t == "__asm" || t == "asm") {  // symbol redirects in system headers
      next();
      skip_parenthesised();
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
      if (n == "ms_abi") a.abi = Abi::Win64;
      else if (n == "sysv_abi") a.abi = Abi::SysV_X64;
      else if (n == "packed") a.packed = true;
      if (peek() == "(") {
        if (n == "aligned") {
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
  void skip_parenthesised() {
    std::size_t at = pos_;
    expect("(");
    int level = 1;
    while (level > 0) {
      std::string_view t = next();
      if (t.empty()) fail_at(at, "')' closing this '('", "end of input");
      if (t == "(") ++level;
      if (t == ")") --level;
    }
  }
  static bool ignorable(std::string_view t) {
    return t == "const" || t == "volatile" || t == "restrict" || t == "__restrict" || t == "__restrict__" ||
           t == "__const" || t == "__volatile__" || t == "__extension__" || t == "extern" || t == "static" ||
           t == "inline" || t == "__inline" || t == "__inline__" || t == "register" || t == "_Noreturn" ||
           t == "auto" || t == "_Atomic" || t == "__thread" || t == "_Thread_local";
  }

  // ---- specifiers ----
  struct Specifiers {
    CType type;
    bool is_typedef = false;
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
      if (ignorable(t)) { next(); continue; }
      if (is_complex_word(t)) {
        next();
        complex_at = at;
        continue;
      }
      if (t == "signed" || t == "__signed__" || t == "unsigned") {
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
      else if (t == "_Float128" || t == "__float128") named = Type::f128();
      else if (t == "_Float16" || (t == "__fp16" && is_a64(scope_.abi))) named = Type::f16();
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
        base = CType{enumeration(), ""};
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
      return scope_.abi == Abi::Aapcs64 ? Type::u8() : Type::i8();  // plain char: AAPCS64 unsigned
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
    if (!accept("{")) {
      if (tag.empty()) fail("a tag or '{' after " + kw);
      auto it = scope_.tags.find(kw + tag);
      if (it == scope_.tags.end()) it = scope_.tags.emplace(kw + tag, CType{nullptr, kw + tag}).first;
      return it->second;  // defined earlier, or incomplete until its definition
    }
    enter();
    std::vector<FieldSpec> fields;
    std::vector<std::size_t> positions;  // where each member's declaration starts
    while (!accept("}")) {
      member_declaration(fields, positions);
    }
    leave();
    while (attribute(attrs)) {}
    outer.abi = outer.abi ? outer.abi : attrs.abi;
    if (fields.empty()) error_at(at, ErrorCode::InvalidType, kw + (tag.empty() ? "" : tag + " ") + "has no members");
    RecordOptions options{attrs.packed, attrs.aligned};
    if (scope_.abi == Abi::Aapcs64) {
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
    if (!tag.empty()) scope_.tags[kw + tag] = CType{t, ""};
    return CType{t, ""};
  }

  void member_declaration(std::vector<FieldSpec>& fields, std::vector<std::size_t>& positions) {
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
        auto [name, derived] = declarator(sp.type, false, false, &attrs);
        if (derived.is_function()) error_at(dat, ErrorCode::InvalidType, "member '" + name + "' is a function");
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
    const std::size_t align = is_a64(scope_.abi) && size > 16 ? 16 : 0;
    return CType{make(at, [&] { return Type::vector(element, size / element->size(), align); }), ""};
  }

  const Type* enumeration() {
    std::size_t at = pos_;
    next();  // enum
    Attributes attrs;
    while (attribute(attrs)) {}
    std::string tag;
    if (is_word(peek())) tag = std::string(next());
    if (!accept("{")) {
      if (tag.empty()) fail("a tag or '{' after enum");
      auto it = scope_.tags.find("enum " + tag);
      if (it == scope_.tags.end() || !it->second.type) error_at(at, ErrorCode::Syntax, "enum " + tag + " is not defined");
      return it->second.type;
    }
    std::int64_t next_value = 0, lo = 0, hi = 0;
    bool any = false;
    while (!accept("}")) {
      std::string_view name = next();
      if (!is_word(name)) fail_at(pos_ - name.size(), "an enumerator name", quoted(name));
      std::string n(name);
      std::int64_t v = next_value;
      if (accept("=")) v = constant_expression();
      scope_.constants[n] = v;
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
      if (v == std::numeric_limits<std::int64_t>::max()) error_at(pos_, ErrorCode::Syntax, "enumerator value overflows");
      next_value = v + 1;
      if (!accept(",") && peek() != "}") fail("',' or '}' in the enumerator list");
    }
    if (!any) error_at(at, ErrorCode::Syntax, "enum with no enumerators");
    // gcc: unsigned int when no value is negative, int otherwise; wider values widen it.
    const Type* t = lo >= 0 ? (hi <= 0xffffffffLL ? Type::u32() : Type::u64())
                            : (lo >= INT32_MIN && hi <= INT32_MAX ? Type::i32() : Type::i64());
    if (!tag.empty()) scope_.tags["enum " + tag] = CType{t, ""};
    return t;
  }

  // ---- declarators ----
  // Returns the declared name ("" for an abstract declarator) and its type.
  // `parameter`: the declarator of a parameter, whose outermost array decays to a pointer
  // and so may have no size. `attrs`, when given, holds the declaration's attributes and
  // takes those after the declarator; a vector_size among them makes the base a vector.
  std::pair<std::string, Derived> declarator(const CType& base, bool abstract_ok, bool parameter = false,
                                             Attributes* attrs = nullptr) {
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
      if (op.kind == Op::Array && op.count == 0)
        error_at(at, ErrorCode::Unsupported, "an array without a size (a flexible array member cannot be passed by value)");
      switch (op.kind) {
        case Op::Pointer: {
          const bool to_char = k == 0 && (base.type == Type::i8() || base.type == Type::u8());
          d = Derived{};
          d.object = CType{Type::pointer(), ""};
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
          f.returns_char_pointer = d.char_pointer;
          f.params = op.params;
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
    if (t == "(" && nested_declarator_follows()) {
      next();
      enter();
      declarator_ops(inner, name, abstract_ok);
      leave();
      expect(")", "')' closing the declarator");
    } else if (is_word(t) && !scope_.typedefs.count(t)) {
      name = std::string(next());
    } else if (!abstract_ok) {
      fail("a name in the declarator");
    }
    std::vector<Op> suffixes;
    for (;;) {
      if (accept("[")) {
        Op op{Op::Array};
        std::size_t at = pos_;
        if (!accept("]")) {  // `[]`: count 0, allowed only where it decays (a parameter)
          std::int64_t n = constant_expression();
          if (n <= 0 || n > (std::int64_t{1} << 31))
            error_at(at, ErrorCode::InvalidType, "array size " + std::to_string(n) + " (1 to 2^31)");
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
  static bool is_type_word(std::string_view t) {
    return t == "void" || t == "char" || t == "short" || t == "int" || t == "long" || t == "float" ||
           t == "double" || t == "signed" || t == "unsigned" || t == "__signed__" || t == "_Bool" || t == "bool" ||
           t == "struct" || t == "union" || t == "enum" || t == "__int128" || t == "__int128_t" ||
           t == "__uint128_t" || t == "_Float128" || t == "__float128" || t == "_Float16" || t == "__fp16" ||
           is_complex_word(t);
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
      auto [name, d] = declarator(sp.type, true, true, &attrs);  // an array parameter decays to ptr
      const Type* t;
      if (d.is_function() || (!d.object.type && d.object.function)) {
        t = Type::pointer();  // so does a function parameter
      } else {
        t = object_of(d.object, at);
        if (t->is_void()) error_at(at, ErrorCode::InvalidType, "a parameter of type void");
      }
      op.params.push_back(t);
      if (accept(")")) return op;
      expect(",", "',' or ')' in the parameter list");
    }
  }

  // A type used by value: an incomplete one is an error there.
  const Type* object_of(const CType& t, std::size_t at) {
    if (!t.type) error_at(at, ErrorCode::InvalidType, t.incomplete + " is incomplete here: use it through a pointer");
    return t.type;
  }

  // ---- declarations ----
  void declaration() {
    Specifiers sp = specifiers();
    if (accept(";") || peek().empty()) return;  // a record or enum definition, or a forward declaration
    do {
      std::size_t dat = pos_;
      Attributes attrs = sp.attrs;
      auto [name, d] = declarator(sp.type, false, false, &attrs);
      if (peek() == "{") error_at(pos_, ErrorCode::Unsupported, "a function body: only declarations are read");
      if (peek() == "=") error_at(pos_, ErrorCode::Unsupported, "an initializer: only declarations are read");
      if (sp.is_typedef) {
        // `typedef int fn(int);` names a function type: usable behind a pointer only.
        CType named = d.is_function() ? CType{nullptr, "function type " + name, true} : d.object;
        // aligned(N) on a vector typedef sets the vector's alignment, lower or higher
        // (`typedef float __m128_u __attribute__((vector_size(16), aligned(1)))`).
        if (named.type && named.type->is_vector() && attrs.aligned)
          named.type = make(dat, [&] { return Type::vector(named.type->element(), named.type->count(), attrs.aligned); });
        scope_.typedefs[name] = named;
      } else if (d.is_function()) {
        add_function(name, d, attrs, dat);
      }
      // An object declaration (`int x;`) declares nothing callable: ignored.
    } while (accept(","));
    if (peek().empty()) return;  // the last declaration may omit its ';' (a one-line prototype)
    expect(";", "';' after the declaration");
  }

  void add_function(const std::string& name, const Derived& d, const Attributes& attrs, std::size_t at) {
    const Type* ret = object_of(d.ret, at);
    Abi abi = attrs.abi ? *attrs.abi : scope_.abi;
    try {
      Signature sig(ret, d.params, abi, d.variadic ? d.params.size() : Signature::kNotVariadic);
      scope_.functions.push_back({name, std::move(sig), d.returns_char_pointer});
    } catch (const Error& e) {
      error_at(at, e.code(), "function '" + name + "': " + e.what());
    }
  }

  // ---- constant expressions (array sizes, enumerators, aligned(N)) ----
  std::int64_t constant_expression() { return binary(0); }

  static int precedence(std::string_view op) {
    if (op == "|") return 1;
    if (op == "^") return 2;
    if (op == "&") return 3;
    if (op == "<<" || op == ">>") return 4;
    if (op == "+" || op == "-") return 5;
    if (op == "*" || op == "/" || op == "%") return 6;
    return 0;
  }

  std::int64_t binary(int min_prec) {
    enter();
    std::int64_t lhs = unary();
    for (;;) {
      std::string_view op = peek();
      int p = precedence(op);
      if (p == 0 || p <= min_prec) break;
      std::size_t at = pos_;
      next();
      std::int64_t rhs = binary(p);
      lhs = apply(op, lhs, rhs, at);
    }
    leave();
    return lhs;
  }

  std::int64_t apply(std::string_view op, std::int64_t a, std::int64_t b, std::size_t at) {
    std::int64_t r = 0;
    bool overflow = false;
    if (op == "+") overflow = __builtin_add_overflow(a, b, &r);
    else if (op == "-") overflow = __builtin_sub_overflow(a, b, &r);
    else if (op == "*") overflow = __builtin_mul_overflow(a, b, &r);
    else if (op == "/" || op == "%") {
      if (b == 0) error_at(at, ErrorCode::Syntax, "division by zero");
      if (a == std::numeric_limits<std::int64_t>::min() && b == -1) overflow = true;
      else r = op == "/" ? a / b : a % b;
    } else if (op == "<<" || op == ">>") {
      if (b < 0 || b > 62 || a < 0) error_at(at, ErrorCode::Syntax, "a shift out of range");
      if (op == "<<") {
        if (a > (std::numeric_limits<std::int64_t>::max() >> b)) overflow = true;
        else r = a << b;
      } else {
        r = a >> b;
      }
    } else if (op == "|") r = a | b;
    else if (op == "^") r = a ^ b;
    else r = a & b;
    if (overflow) error_at(at, ErrorCode::Syntax, "the constant overflows 64 bits");
    return r;
  }

  // Prefix operators are collected in a loop and applied innermost first, so a long run of
  // them ("~~~...1") costs no stack.
  std::int64_t unary() {
    std::vector<std::pair<char, std::size_t>> prefixes;
    for (;;) {
      const std::size_t at = pos_;
      if (accept("-")) prefixes.emplace_back('-', at);
      else if (accept("+")) prefixes.emplace_back('+', at);
      else if (accept("~")) prefixes.emplace_back('~', at);
      else break;
    }
    std::int64_t v = primary();
    for (auto it = prefixes.rbegin(); it != prefixes.rend(); ++it) {
      if (it->first == '~') {
        v = ~v;
      } else if (it->first == '-') {
        if (v == std::numeric_limits<std::int64_t>::min())
          error_at(it->second, ErrorCode::Syntax, "the constant overflows 64 bits");
        v = -v;
      }
    }
    return v;
  }

  std::int64_t primary() {
    std::size_t at = pos_;
    if (accept("(")) {
      enter();
      std::int64_t v = constant_expression();
      leave();
      expect(")");
      return v;
    }
    std::string_view t = next();
    if (t == "sizeof") {
      expect("(", "'(' after sizeof");
      Specifiers sp = specifiers();
      auto [name, d] = declarator(sp.type, true);
      expect(")");
      if (d.is_function()) error_at(at, ErrorCode::Syntax, "sizeof of a function type");
      return static_cast<std::int64_t>(object_of(d.object, at)->size());
    }
    if (!t.empty() && is_digit(t[0])) return integer_literal(t, at);
    if (is_word(t)) {
      auto it = scope_.constants.find(t);
      if (it != scope_.constants.end()) return it->second;
      error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' is not a constant in scope");
    }
    fail_at(at, "a constant", quoted(t));
  }

  std::int64_t integer_literal(std::string_view t, std::size_t at) {
    std::size_t end = t.size();
    while (end > 0 && (t[end - 1] == 'u' || t[end - 1] == 'U' || t[end - 1] == 'l' || t[end - 1] == 'L')) --end;
    std::string_view digits = t.substr(0, end);
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      base = 16;
      digits.remove_prefix(2);
    } else if (digits.size() > 1 && digits[0] == '0') {
      base = 8;
      digits.remove_prefix(1);
    }
    if (digits.empty()) error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' is not a number");
    std::uint64_t v = 0;
    for (char c : digits) {
      int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : 99;
      if (d >= base) error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' is not a number");
      if (v > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base))
        error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' overflows 64 bits");
      v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
    }
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      error_at(at, ErrorCode::Syntax, "'" + std::string(t) + "' overflows 64 bits");
    return static_cast<std::int64_t>(v);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  detail::CScopeState& scope_;
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
  if (!is_a64(st.abi)) {
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
}
CScope::CScope(const CScope& o) : state_(std::make_unique<detail::CScopeState>(*o.state_)) {}
CScope& CScope::operator=(const CScope& o) {
  if (this != &o) state_ = std::make_unique<detail::CScopeState>(*o.state_);
  return *this;
}
CScope::~CScope() = default;

void CScope::parse(std::string_view source) {
  // All or nothing: the declarations go in only when the whole source parsed.
  detail::CScopeState work = *state_;
  CParser(source, work).translation_unit();
  *state_ = std::move(work);
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
