// libFuzzer target for every text parser: the signature syntax (parse_signature, parse_type)
// and C declarations (CScope). Any input may only end in a value or a tramp::Error; a crash,
// a leak (LeakSanitizer), undefined behaviour (UBSan) or a hang (-timeout) fails the run.
// The corpus (tests/fuzz/corpus) has pieces of preprocessed system headers (h_*).
// Built and run by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tramp/cdecl.hpp"
#include "tramp/signature.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    tramp::Signature sig = tramp::parse_signature(text);
    // What the parser accepted prints and reads back as the same signature.
    if (!(tramp::parse_signature(sig.str(true)) == sig)) __builtin_trap();
  } catch (const tramp::Error&) {
  }
  try {
    const tramp::Type* t = tramp::parse_type(text);
    if (tramp::parse_type(t->str()) != t) __builtin_trap();
  } catch (const tramp::Error&) {
  }
  try {
    tramp::CScope scope;
    scope.parse(text);
    // Member names are part of a record's identity but not of the text form, so a declared
    // signature reads back as the same text (the same layout and ABI facts), not the same value.
    for (const tramp::CFunction& f : scope.functions()) {
      const std::string text_form = f.signature.str(true);
      if (tramp::parse_signature(text_form).str(true) != text_form) __builtin_trap();
    }
  } catch (const tramp::Error&) {
  }
  // A lenient parse (what CScope::include does with a header) skips whatever it cannot read
  // and never throws.
  try {
    tramp::CScope scope;
    scope.parse(text, tramp::CParseOptions{true});
    if (scope.skipped().size() > scope.declaration_count()) __builtin_trap();
  } catch (const tramp::Error&) {
    __builtin_trap();
  }
  return 0;
}
