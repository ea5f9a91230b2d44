// C values as text (include/tramp/values.hpp): the literal syntax of `tramp call`, moved here
// from tools/tramp_tool.cpp so bindings and the C API share it.
#include "tramp/values.hpp"

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "tramp/error.hpp"

namespace tramp {

namespace {

// 128-bit integers hold every literal's magnitude (gcc's extension; -Wpedantic knows it).
__extension__ typedef unsigned __int128 Wide;
__extension__ typedef __int128 SignedWide;

// IEEE binary128 (f128): gcc's __float128 on x86-64; on AArch64, which has no __float128,
// `long double` is that format.
#if defined(__x86_64__)
__extension__ typedef __float128 Quad;
#else
using Quad = long double;
#endif

// f80 values are converted through the host's long double, which is the x87 format only on
// x86; elsewhere (AArch64: binary128) they are refused rather than read as the wrong format.
void require_x87(const Type* t) {
#if !defined(__x86_64__) && !defined(__i386__)
  throw Error(ErrorCode::Unsupported, t->str() + " values (x87 80-bit) cannot be made or read on this host");
#else
  (void)t;
#endif
}

std::string int128_str(Wide v, bool negative) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v);
  return negative ? "-" + digits : digits;
}

// What an integer literal may hold for t: an integer kind's range, bool's 0 and 1, an address
// for a pointer. A literal outside it is refused rather than cut to the type's size.
struct IntRange {
  bool is_signed;
  unsigned bits;
  Wide max() const {
    const unsigned value_bits = bits - (is_signed ? 1 : 0);
    return value_bits == 128 ? ~static_cast<Wide>(0)
                             : (static_cast<Wide>(1) << value_bits) - 1;
  }
  // The magnitude of the most negative value: 0 for unsigned types.
  Wide min_magnitude() const { return is_signed ? max() + 1 : 0; }
  std::string str() const { return int128_str(min_magnitude(), is_signed) + " to " + int128_str(max(), false); }
};

IntRange int_range(const Type* t) {
  if (t->kind() == TypeKind::Bool) return {false, 1};
  return {t->is_signed(), 8 * static_cast<unsigned>(t->size())};
}

// A bit-field's range: its width's worth of its type (a signed one of width w holds
// -2^(w-1) to 2^(w-1) - 1).
IntRange bit_field_range(const Field& f) {
  return {f.type->kind() != TypeKind::Bool && f.type->is_signed(), f.bit_width};
}

// The bit_width bits of a bit-field at `record`, as a two's complement value of its width.
void write_bits(std::uint8_t* record, const Field& f, Wide v) {
  for (std::uint32_t i = 0; i < f.bit_width; ++i) {
    const std::size_t bit = f.bit_offset + i;
    std::uint8_t& byte = record[f.offset + bit / 8];
    const auto mask = static_cast<std::uint8_t>(1u << (bit % 8));
    byte = static_cast<std::uint8_t>((v >> i) & 1 ? byte | mask : byte & ~mask);
  }
}

// A bit-field's value, sign-extended for a signed type.
Wide read_bits(const std::uint8_t* record, const Field& f) {
  Wide v = 0;
  for (std::uint32_t i = 0; i < f.bit_width; ++i) {
    const std::size_t bit = f.bit_offset + i;
    if (record[f.offset + bit / 8] >> (bit % 8) & 1) v |= static_cast<Wide>(1) << i;
  }
  if (bit_field_range(f).is_signed && f.bit_width < 128 && (v >> (f.bit_width - 1) & 1))
    v |= ~static_cast<Wide>(0) << f.bit_width;
  return v;
}

// IEEE binary16 (_Float16) from and to the host's floating types, by hand: C++20 has no
// _Float16. Rounds to nearest, ties to even, as a C conversion does; a magnitude that rounds
// past 65504 becomes infinity.
std::uint16_t half_bits(long double v) {
  const std::uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  if (std::isnan(v)) return sign | 0x7e00;
  v = std::fabs(v);
  if (std::isinf(v)) return sign | 0x7c00;
  if (v == 0) return sign;
  int e = 0;
  const long double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
  if (e - 1 < -14) {                         // subnormal: multiples of 2^-24
    const auto q = static_cast<std::uint32_t>(std::nearbyint(std::ldexp(v, 24)));
    return static_cast<std::uint16_t>(sign | q);  // q == 1024 is the smallest normal: the bits carry
  }
  auto q = static_cast<std::uint32_t>(std::nearbyint(m * 2048));  // 11 significant bits
  if (q == 2048) {
    q = 1024;
    ++e;
  }
  if (e - 1 > 15) return sign | 0x7c00;
  return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(e - 1 + 15) << 10 | (q - 1024));
}

double half_value(std::uint16_t h) {
  const int exponent = h >> 10 & 0x1f;
  const int mantissa = h & 0x3ff;
  double v = 0;
  if (exponent == 0) v = std::ldexp(mantissa, -24);
  else if (exponent == 0x1f) v = mantissa ? std::numeric_limits<double>::quiet_NaN() : HUGE_VAL;
  else v = std::ldexp(mantissa | 0x400, exponent - 25);
  return h & 0x8000 ? -v : v;
}

class Literal {
 public:
  explicit Literal(std::string_view text) : s_(text) {}

  // Writes a value of type t at dst (t->size() bytes); strings go to `strings`.
  void value(const Type* t, std::uint8_t* dst, std::deque<std::string>& strings) {
    skip();
    switch (t->kind()) {
      case TypeKind::Struct:
      case TypeKind::Union: {
        // A value per member, unnamed bit-fields (padding) aside; a union's first such one.
        expect('{');
        bool first = true;
        for (const Field& f : t->fields()) {
          if (f.unnamed) continue;
          if (!first) expect(',');
          first = false;
          if (f.is_bit_field()) bit_field(f, dst);
          else value(f.type, dst + f.offset, strings);
          if (t->kind() == TypeKind::Union) break;
        }
        expect('}');
        return;
      }
      case TypeKind::Complex:
        // {real, imaginary}
        expect('{');
        value(t->element(), dst, strings);
        expect(',');
        value(t->element(), dst + t->element()->size(), strings);
        expect('}');
        return;
      case TypeKind::Array:
      case TypeKind::Vector:
        expect('[');
        for (std::size_t i = 0; i < t->count(); ++i) {
          if (i) expect(',');
          value(t->element(), dst + i * t->element()->size(), strings);
        }
        expect(']');
        return;
      default:
        scalar(t, dst, strings);
    }
  }

  void finish() {
    skip();
    if (pos_ != s_.size()) fail("unexpected '" + std::string(s_.substr(pos_)) + "' after the value");
  }

 private:
  void scalar(const Type* t, std::uint8_t* dst, std::deque<std::string>& strings) {
    if (t->kind() == TypeKind::Pointer && pos_ < s_.size() && s_[pos_] == '"') {
      strings.push_back(string_literal());
      const char* p = strings.back().c_str();
      std::memcpy(dst, &p, sizeof p);
      return;
    }
    std::string word = token();
    if (t->kind() == TypeKind::Pointer && (word == "null" || word == "NULL")) {
      std::memset(dst, 0, t->size());
      return;
    }
    if (t->kind() == TypeKind::Bool && (word == "true" || word == "false")) {
      *dst = word == "true";
      return;
    }
    if (t->is_float()) {
      floating(t, word, dst);
      return;
    }
    // Integers, bool and addresses: two's complement, little-endian.
    Wide v = integer(word, t);
    std::memcpy(dst, &v, t->size());
  }

  // A bit-field member's value, written into its bits of the record at `record`.
  void bit_field(const Field& f, std::uint8_t* record) {
    skip();
    std::string word = token();
    Wide v = 0;
    if (f.type->kind() == TypeKind::Bool && (word == "true" || word == "false")) v = word == "true";
    else v = integer(word, f.type, bit_field_range(f), f.type->str() + ":" + std::to_string(f.bit_width));
    write_bits(record, f, v);
  }

  // The literal's value as t->size() bytes of two's complement; refused when t cannot hold it.
  Wide integer(const std::string& word, const Type* t) { return integer(word, t, int_range(t), t->str()); }

  // The literal's value; refused when outside `range` (what `what` names in the message).
  Wide integer(const std::string& word, const Type* t, const IntRange& range, const std::string& what) {
    if (word.empty()) fail("expected a number");
    std::size_t i = 0;
    const bool negative = word[0] == '-';
    if (word[0] == '-' || word[0] == '+') ++i;
    unsigned base = 10;
    if (word.compare(i, 2, "0x") == 0 || word.compare(i, 2, "0X") == 0) {
      base = 16;
      i += 2;
    } else if (word.size() > i + 1 && word[i] == '0') {
      base = 8;  // C's octal, as strtoull reads it
    }
    const std::string not_one =
        "'" + word + "' is not " + (t->kind() == TypeKind::Bool ? "a bool (true, false, 1, 0)" : "an integer");
    if (i == word.size()) fail(not_one);
    Wide magnitude = 0;
    bool too_big = false;
    for (; i < word.size(); ++i) {
      const int c = std::tolower(static_cast<unsigned char>(word[i]));
      const auto d = static_cast<unsigned>(std::isdigit(c) ? c - '0' : std::isxdigit(c) ? c - 'a' + 10 : 99);
      if (d >= base) fail(not_one);
      if (magnitude > (~static_cast<Wide>(0) - d) / base) too_big = true;
      magnitude = magnitude * base + d;
    }
    if (too_big || (negative ? magnitude > range.min_magnitude() : magnitude > range.max()))
      fail(word + " is out of range for " + what + " (" + range.str() + ")");
    return negative ? -magnitude : magnitude;
  }

  // A floating literal; a finite one too large for t is refused rather than made infinite.
  void floating(const Type* t, const std::string& word, std::uint8_t* dst) {
    errno = 0;
    char* end = nullptr;
    long double v = std::strtold(word.c_str(), &end);
    if (word.empty() || *end) fail("'" + word + "' is not a number for " + t->str());
    const bool overflows = (errno == ERANGE && std::isinf(v)) ||
                           (!std::isinf(v) && t->kind() == TypeKind::F16 && (half_bits(v) & 0x7fff) == 0x7c00) ||
                           (!std::isinf(v) && t->kind() == TypeKind::F32 && std::isinf(static_cast<float>(v))) ||
                           (!std::isinf(v) && t->kind() == TypeKind::F64 && std::isinf(static_cast<double>(v)));
    if (overflows) {
      char largest[64];
      if (t->kind() == TypeKind::F16)
        std::snprintf(largest, sizeof largest, "65504");
      else if (t->kind() == TypeKind::F32)
        std::snprintf(largest, sizeof largest, "%.9g", static_cast<double>(std::numeric_limits<float>::max()));
      else if (t->kind() == TypeKind::F64)
        std::snprintf(largest, sizeof largest, "%.17g", std::numeric_limits<double>::max());
      else
        std::snprintf(largest, sizeof largest, "%.21Lg", std::numeric_limits<long double>::max());
      fail(word + " is out of range for " + t->str() + " (largest finite magnitude " + largest + ")");
    }
    if (t->kind() == TypeKind::F16) {
      const std::uint16_t h = half_bits(v);
      std::memcpy(dst, &h, 2);
    } else if (t->kind() == TypeKind::F32) {
      float f = static_cast<float>(v);
      std::memcpy(dst, &f, 4);
    } else if (t->kind() == TypeKind::F64) {
      double d = static_cast<double>(v);
      std::memcpy(dst, &d, 8);
    } else if (t->kind() == TypeKind::F80) {
      require_x87(t);
      std::memset(dst, 0, 16);
      std::memcpy(dst, &v, 10);
    } else {  // F128
      Quad q = static_cast<Quad>(v);
      std::memcpy(dst, &q, 16);
    }
  }

  std::string string_literal() {
    std::string out;
    ++pos_;  // opening quote
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '"': out += '"'; break;
        case 'x': {
          if (pos_ + 2 > s_.size()) fail("\\x needs two hex digits");
          std::string hex(s_.substr(pos_, 2));
          char* end = nullptr;
          long v = std::strtol(hex.c_str(), &end, 16);
          if (*end) fail("\\x needs two hex digits");
          out += static_cast<char>(v);
          pos_ += 2;
          break;
        }
        default: fail(std::string("unknown escape \\") + e);
      }
    }
    if (pos_ >= s_.size()) fail("string literal without its closing quote");
    ++pos_;
    return out;
  }

  std::string token() {
    skip();
    std::size_t start = pos_;
    while (pos_ < s_.size() && std::strchr(",{}[] \t", s_[pos_]) == nullptr) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  void expect(char c) {
    skip();
    if (pos_ >= s_.size() || s_[pos_] != c)
      fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }

  [[noreturn]] void fail(const std::string& what) { throw Error(ErrorCode::Syntax, what, pos_); }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string format_bytes(const Type* t, const std::uint8_t* p);

std::string format_bit_field(const Field& f, const std::uint8_t* record) {
  const Wide v = read_bits(record, f);
  if (f.type->kind() == TypeKind::Bool) return v ? "true" : "false";
  const bool negative = bit_field_range(f).is_signed && static_cast<SignedWide>(v) < 0;
  return int128_str(negative ? -v : v, negative);
}

std::string format_bytes(const Type* t, const std::uint8_t* p) {
  char buf[64];
  switch (t->kind()) {
    case TypeKind::Struct:
    case TypeKind::Union: {
      std::string s = "{";
      bool first = true;
      for (const Field& f : t->fields()) {
        if (f.unnamed) continue;  // padding
        if (!first) s += ", ";
        first = false;
        if (f.is_bit_field()) s += format_bit_field(f, p);
        else s += format_bytes(f.type, p + f.offset);
        if (t->kind() == TypeKind::Union) break;  // the first member, as C initialises it
      }
      return s + "}";
    }
    case TypeKind::Complex:
      return "{" + format_bytes(t->element(), p) + ", " + format_bytes(t->element(), p + t->element()->size()) + "}";
    case TypeKind::F16: {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      std::snprintf(buf, sizeof buf, "%.5g", half_value(h));
      return buf;
    }
    case TypeKind::Array:
    case TypeKind::Vector: {
      std::string s = "[";
      for (std::size_t i = 0; i < t->count(); ++i)
        s += (i ? ", " : "") + format_bytes(t->element(), p + i * t->element()->size());
      return s + "]";
    }
    case TypeKind::Bool: return *p ? "true" : "false";
    case TypeKind::F32: { float f; std::memcpy(&f, p, 4); std::snprintf(buf, sizeof buf, "%.9g", f); return buf; }
    case TypeKind::F64: { double d; std::memcpy(&d, p, 8); std::snprintf(buf, sizeof buf, "%.17g", d); return buf; }
    case TypeKind::F80: { require_x87(t); long double d{}; std::memcpy(&d, p, 10); std::snprintf(buf, sizeof buf, "%.21Lg", d); return buf; }
    case TypeKind::F128: {
      Quad q; std::memcpy(&q, p, 16);
      std::snprintf(buf, sizeof buf, "%.21Lg", static_cast<long double>(q));
      return buf;
    }
    case TypeKind::Pointer: { std::uint64_t v; std::memcpy(&v, p, 8); std::snprintf(buf, sizeof buf, "0x%" PRIx64, v); return buf; }
    case TypeKind::I128:
    case TypeKind::U128: {
      Wide v; std::memcpy(&v, p, 16);
      const bool neg = t->kind() == TypeKind::I128 && static_cast<SignedWide>(v) < 0;
      return int128_str(neg ? -v : v, neg);
    }
    default: {  // integers up to 64 bits
      std::uint64_t v = 0;
      std::memcpy(&v, p, t->size());
      if (t->is_signed()) {
        const unsigned shift = 64 - 8 * static_cast<unsigned>(t->size());
        std::int64_t sv = static_cast<std::int64_t>(v << shift) >> shift;
        std::snprintf(buf, sizeof buf, "%" PRId64, sv);
      } else {
        std::snprintf(buf, sizeof buf, "%" PRIu64, v);
      }
      return buf;
    }
  }
}

}  // namespace

void parse_value(std::string_view text, const Type* t, void* dst, std::deque<std::string>& strings) {
  if (t == nullptr || t->is_void()) throw Error(ErrorCode::InvalidType, "parse_value: no value has type void");
  Literal lit(text);
  lit.value(t, static_cast<std::uint8_t*>(dst), strings);
  lit.finish();
}

std::string format_value(const Type* t, const void* src) {
  if (t == nullptr || t->is_void()) throw Error(ErrorCode::InvalidType, "format_value: no value has type void");
  return format_bytes(t, static_cast<const std::uint8_t*>(src));
}

const Type* promoted_literal_type(std::string_view literal) {
  std::string s(literal);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  if (s.empty()) throw Error(ErrorCode::Syntax, "empty literal", 0);
  if (s[0] == '"' || s == "null" || s == "NULL") return Type::pointer();
  if (s[0] == '{' || s[0] == '[')
    throw Error(ErrorCode::Syntax, "a record or array literal has no type of its own after '...'", 0);
  const bool hex = s.find("0x") != std::string::npos || s.find("0X") != std::string::npos;
  if (!hex && (s.find_first_of(".eE") != std::string::npos || s.find("inf") != std::string::npos ||
               s.find("nan") != std::string::npos))
    return Type::f64();
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 0);
  if (*end) throw Error(ErrorCode::Syntax, "not a number, string or null", 0);
  return errno == 0 && v >= INT32_MIN && v <= INT32_MAX ? Type::i32() : Type::i64();
}

// C has a declarator name after a type ("double hypot(", "char* f(") or a ';'; the signature
// syntax has a type right before '(' ("f64(", "{i32, i32}(", "win64:i32(").
bool looks_like_c_declaration(std::string_view text) {
  if (text.find(';') != std::string_view::npos) return true;
  std::size_t w = 0;
  while (w < text.size() && std::isspace(static_cast<unsigned char>(text[w]))) ++w;
  for (const char* kw : {"__attribute__", "typedef", "struct", "enum", "extern", "static", "const"})
    if (text.compare(w, std::strlen(kw), kw) == 0) return true;
  const std::size_t paren = text.find('(');
  if (paren == std::string_view::npos) return false;
  std::size_t end = paren;
  while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  std::size_t begin = end;
  while (begin > 0 && (std::isalnum(static_cast<unsigned char>(text[begin - 1])) || text[begin - 1] == '_')) --begin;
  if (begin == end) return false;  // no name right before '('
  std::size_t before = begin;
  while (before > 0 && std::isspace(static_cast<unsigned char>(text[before - 1]))) --before;
  if (before == 0) return false;
  const char c = text[before - 1];
  // The signature syntax's complex types put a word before the type: "complex f64(", first
  // in the text or after the ABI prefix ("double complex csqrt(" is C).
  std::size_t word = before;
  while (word > 0 && (std::isalnum(static_cast<unsigned char>(text[word - 1])) || text[word - 1] == '_')) --word;
  std::size_t lead = word;
  while (lead > 0 && std::isspace(static_cast<unsigned char>(text[lead - 1]))) --lead;
  if (text.substr(word, before - word) == "complex" && (lead == 0 || text[lead - 1] == ':')) return false;
  return c == '*' || c == ')' || std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

}  // namespace tramp
