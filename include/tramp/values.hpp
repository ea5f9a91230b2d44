// tramp: C values as text, for tools and bindings that take arguments as literals.
//
//   std::deque<std::string> strings;                   // what string literals point to
//   alignas(16) unsigned char buf[16];
//   tramp::parse_value("{1, 2.5}", tramp::parse_type("{i32, f64}"), buf, strings);
//   tramp::format_value(tramp::parse_type("{i32, f64}"), buf);   // "{1, 2.5}"
//
// The literal syntax is the `tramp call` tool's (docs/tool.md):
//   integers   42, -7, 0x1f, 017 (C's octal)     bool   true, false, 0, 1
//   floating   2.5, -1e-3, inf, nan              ptr    "text" (\n \t \r \0 \\ \" \xHH), 0x7f00..., null
//   records    {1, 2.5, {3, 4}} (a union: its first member)     arrays  [1, 2, 3]
//   bit-fields as their record's members, unnamed ones skipped; vectors [1, 2, 3, 4];
//   complex    {re, im}; f16 as a floating value (rounded to nearest, ties to even)
// A literal outside its type's range (99999999999 for i32, -1 for u8, 2 for bool, 1e999 for
// f64) is refused, never cut to size.
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "tramp/type.hpp"

namespace tramp {

// Writes the value `text` spells for `t` at `dst` (t->size() bytes, in the C representation:
// little-endian two's complement, IEEE formats, x87 80-bit for f80 with the padding zeroed).
// A string literal for a pointer is copied into `strings` (a deque: adding to it moves no
// string), and the value points at that copy's characters: keep `strings` while the value is
// used. The whole text must be the one value (blanks around it allowed). Throws Error(Syntax)
// with position() the byte offset and a message that says what is wrong ("expected '}' at
// offset 7", "256 is out of range for u8 (0 to 255)", "'abc' is not a number for f64"); `t`
// must not be void.
void parse_value(std::string_view text, const Type* t, void* dst, std::deque<std::string>& strings);

// The value at `src` (t->size() bytes) as a literal parse_value reads back for `t`, as C's
// printf would show it: integers in decimal, floating values with enough digits to round
// trip (%.5g, %.9g, %.17g, %.21Lg), bool as true/false, pointers in hex (0x0 for null),
// records as {a, b} (a union as its first member, bit-fields by value, unnamed ones left
// out), arrays and vectors as [a, b], complex values as {re, im}.
std::string format_value(const Type* t, const void* src);

// The type C's default argument promotions give a literal passed after `...`, where no
// declaration says its type: a string or null is ptr; a number with '.', 'e', inf or nan
// (and no 0x) is f64; an integer is i32, or i64 when it does not fit (including when it does
// not fit i64 either: parse_value then refuses it). Throws Error(Syntax) for an empty literal,
// a record or array literal (which has no type of its own), and anything else.
const Type* promoted_literal_type(std::string_view literal);

// Whether `text` reads as a C declaration ("double hypot(double, double)", "char* f(",
// anything with a ';', or starting with typedef, struct, enum, extern, static, const,
// __attribute__) rather than the signature syntax ("f64(f64)", "{i32, i32}(", "win64:i32("):
// a name right after a type, before '('. A heuristic for tools that accept either; the
// parser of the form chosen has the final word.
bool looks_like_c_declaration(std::string_view text);

}  // namespace tramp
