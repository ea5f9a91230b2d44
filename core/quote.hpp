// How the two text parsers (parse.cpp, cdecl.cpp) show a piece of their input in an error
// message: fuzzed input can be megabytes of any bytes, and a message must stay short and
// printable whatever the terminal's encoding.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace tramp::detail {

// Long words and numbers are cut in messages.
constexpr std::size_t kMaxQuoted = 32;

inline bool is_printable_ascii(char c) { return c >= 0x20 && c < 0x7f; }

inline std::string hex_byte(char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(c));
  return buf;
}

// "end of input" for nothing, "byte 0xff" for one byte that is not printable ASCII, else the
// text in single quotes (at most kMaxQuoted bytes, then "..."), any such byte in it as \xff.
inline std::string quoted(std::string_view s) {
  if (s.empty()) return "end of input";
  if (s.size() == 1 && !is_printable_ascii(s[0])) return "byte " + hex_byte(s[0]);
  const bool cut = s.size() > kMaxQuoted;
  std::string out = "'";
  for (char c : s.substr(0, kMaxQuoted)) out += is_printable_ascii(c) ? std::string(1, c) : "\\x" + hex_byte(c).substr(2);
  return out + (cut ? "...'" : "'");
}

}  // namespace tramp::detail
