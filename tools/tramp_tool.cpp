// The `tramp` command-line tool: look at plans and generated code, call library functions.
//
//   tramp plan DECL [--abi NAME]
//   tramp disasm DECL [--abi NAME] [--callback | --bound]
//   tramp call LIBRARY 'C DECLARATION' [ARG...]  |  tramp call LIBRARY SYMBOL SIGNATURE [ARG...]
//   tramp functions --include HEADER [--constants]
//
// DECL is a C declaration or a signature string; with --include HEADER, also the name of a
// function the header declares.
//
// Exit status: 0 done, 1 tramp refused (bad signature, unsupported type, missing library or
// symbol), 2 wrong command line (unknown option, missing, malformed or out-of-range argument
// literal, a symbol that is not a function).
#include <capstone/capstone.h>
#include <dlfcn.h>
#include <link.h>
#include <ffi.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/bench_matrix.hpp"
#include "tools/bench_report.hpp"
#include "tools/ffi_types.hpp"
#include "tramp/tramp.hpp"

namespace {

using tramp::Type;
using tramp::TypeKind;

constexpr int kRefused = 1;
constexpr int kUsage = 2;

const char* const kHelp =
    "usage: tramp COMMAND ...\n"
    "\n"
    "  plan DECL [--abi NAME]               where every byte of the arguments and the return\n"
    "                                       value goes (the CallPlan), for any ABI on any host\n"
    "  disasm DECL [--abi NAME] [--callback | --bound | --direct | --widened]\n"
    "                                       the call stub (or callback thunk, or bound stub)\n"
    "                                       tramp generates, disassembled\n"
    "  bench LIBRARY 'C DECLARATION' [ARG...]\n"
    "                                       times a call of it through tramp and libffi\n"
    "  bench [--quick]                      the call matrix: direct vs tramp vs libffi\n"
    "  bench --scaling N                    N distinct signatures made and called\n"
    "  call LIBRARY 'C DECLARATION' [ARG...]\n"
    "  call LIBRARY SYMBOL SIGNATURE [ARG...]\n"
    "                                       calls a function from LIBRARY (a file name for\n"
    "                                       dlopen, or - for the running program) and prints\n"
    "                                       the result\n"
    "  functions --include HEADER [--constants]\n"
    "                                       the functions (and constants) a header declares,\n"
    "                                       and what tramp did not understand, with positions\n"
    "\n"
    "--include HEADER (with -I DIR, -D NAME[=VALUE], --cpp PROGRAM, --strict) reads a C header\n"
    "through the C preprocessor; plan, disasm, call and bench then take a function's NAME from\n"
    "it for DECL (tramp call --include zlib.h libz.so.1 crc32 0 '\"abc\"' 3).\n"
    "\n"
    "DECL is a C declaration ('double hypot(double, double)', typedefs and struct definitions\n"
    "before it allowed) or tramp's signature syntax ('f64(f64, f64)', 'win64:i32(ptr, ...f64)';\n"
    "docs/signatures.md). --abi NAME (sysv, win64, aapcs64, apple-arm64) applies when the\n"
    "declaration names no ABI. `tramp COMMAND --help` describes one command.\n"
    "\n"
    "exit status: 0 done, 1 tramp refused the request, 2 wrong command line\n";

const char* const kPlanHelp =
    "usage: tramp plan DECL [--abi NAME]\n"
    "Prints the CallPlan: for each argument and the return value, the pieces of its bytes and\n"
    "the register or stack slot each goes to. Works for every ABI on every host.\n"
    "  tramp plan '{f32, f32, f64}(i32, {i8, f64})'\n"
    "  tramp plan 'i64(i64, i64, i64, i64, i64)' --abi win64\n"
    "  tramp plan 'typedef struct { float x, y; double z; } v; v scale(v, double);'\n";

const char* const kDisasmHelp =
    "usage: tramp disasm DECL [--abi NAME] [--callback | --bound | --direct | --widened]\n"
    "Generates the call stub for DECL (or, with --callback, the callback thunk its\n"
    "callbacks share, which reads handler and user from the callback's data; with --bound,\n"
    "a stub with its target baked in; with --direct, the register-return variant of\n"
    "Invoker::direct; with --widened, Invoker::widened's call stub, which stores a narrow\n"
    "integer result as a whole word) and prints it disassembled. Nothing is run: the bound\n"
    "stub's target address is a placeholder (0x3333333333333333).\n"
    "  tramp disasm 'i32(i32, i32)'\n"
    "  tramp disasm 'win64:{i64, i64, i64}(f64)' --callback\n"
    "  tramp disasm '__attribute__((ms_abi)) double f(double, int)'\n";

const char* const kFunctionsHelp =
    "usage: tramp functions --include HEADER [--include HEADER...] [-I DIR] [-D NAME[=VALUE]]\n"
    "                       [--cpp PROGRAM] [--abi NAME] [--constants]\n"
    "Runs the C preprocessor (cc, or --cpp PROGRAM) on #include <HEADER> and lists what tramp\n"
    "read: each function with its signature (and, for a parameter that is a function pointer,\n"
    "the callback's signature), with --constants each #define and enum constant, then each\n"
    "declaration it did not understand with its position in the header, and a count.\n"
    "  tramp functions --include zlib.h\n"
    "  tramp functions --include sqlite3.h --constants\n"
    "  tramp functions --include myapi.h -I include -D MYAPI_V2\n";

const char* const kCallHelp =
    "usage: tramp call LIBRARY 'C DECLARATION' [ARG...]\n"
    "       tramp call LIBRARY SYMBOL SIGNATURE [ARG...]\n"
    "       tramp call --include HEADER LIBRARY FUNCTION [ARG...]\n"
    "Calls the declared function (or SYMBOL, with a signature string) from LIBRARY with the\n"
    "arguments and prints the return value as C would\n"
    "(integers in decimal, floating values with full precision, pointers in hex, a declared\n"
    "char* as a quoted string, records as {a, b}). LIBRARY is a name for dlopen (libm.so.6) or - for the running program.\n"
    "Argument literals, one per argument. After `...` in a C declaration each extra literal\n"
    "is passed as C promotes it: a string or null as a pointer, a number with '.', 'e', inf\n"
    "or nan as double, an integer as int (long when it does not fit). A signature string\n"
    "lists the variadic types itself.\n"
    "  integers   42, -7, 0x1f            bool   true, false, 0, 1\n"
    "  floating   2.5, -1e-3, inf, nan\n"
    "  ptr        \"text\" (a NUL-terminated copy; \\n \\t \\\\ \\\" \\xHH escapes), 0x7f00..., null\n"
    "  records    {1, 2.5, {3, 4}}; arrays inside records as [1, 2, 3]\n"
    "A literal outside its type's range (99999999999 for int, -1 for unsigned, 1e999 for\n"
    "double) and a symbol that is data rather than a function are refused (exit status 2).\n"
    "  tramp call libm.so.6 'double hypot(double, double)' 3 4             prints 5\n"
    "  tramp call libc.so.6 'int printf(const char*, ...)' '\"%.2f %d\\n\"' 3.14159 42\n"
    "  tramp call libc.so.6 'typedef struct { int quot, rem; } div_t; div_t div(int, int)' 47 5\n"
    "                                                                      prints {9, 2}\n"
    "  tramp call libm.so.6 hypot 'f64(f64, f64)' 3 4                       prints 5\n"
    "With --include HEADER (and -I, -D, --cpp as for `tramp functions`) the function is\n"
    "declared by the header, read through the C preprocessor; a C declaration may then use the\n"
    "header's typedefs.\n"
    "  tramp call --include zlib.h libz.so.1 crc32 0 '\"abc\"' 3               prints 891568578\n";

// Keeps a value alive so the timed loop cannot be optimised away.
template <class T>
void benchmark_sink(T value) {
  asm volatile("" : : "g"(value) : "memory");
}

const char* const kBenchHelp =
    "usage: tramp bench LIBRARY 'C DECLARATION' [ARG...] [--csv FILE] [--json FILE] [--svg FILE]\n"
    "       tramp bench LIBRARY SYMBOL SIGNATURE [ARG...] [--csv FILE] [--json FILE] [--svg FILE]\n"
    "       tramp bench [--matrix] [--quick] [--reps N] [--batch-ms X] [--csv FILE] [--json FILE] [--svg FILE]\n"
    "       tramp bench --scaling N [--points P] [--csv FILE] [--json FILE] [--svg FILE]\n"
    "With a LIBRARY: calls the function over and over with the given arguments (literals as for\n"
    "`tramp call`) through a tramp invoker, a bound stub, the register-return variant (for scalar\n"
    "returns) and libffi's ffi_call (where libffi can express the signature), and prints the\n"
    "median ns per call of 7 batches of at least 10 ms each, with the ratio to tramp invoke.\n"
    "Without one: the call matrix of ./dev bench, measured in this process: seven signatures\n"
    "(and three Win64 ones on x86-64) through a direct call, tramp bound, invoke, the C API,\n"
    "the register-return variant and libffi; callbacks through a tramp thunk and a libffi\n"
    "closure; setup costs and code bytes. The median of --reps batches (11) of at least\n"
    "--batch-ms (10) each; --quick is 3 batches of 1 ms, for a check rather than numbers.\n"
    "--scaling N makes and calls N distinct signatures through one engine and samples the time\n"
    "per new stub and the memory at --points (20) points.\n"
    "--csv, --json and --svg (a bar chart; for --scaling a line chart) write the results too.\n"
    "A progress line goes to stderr.\n"
    "  tramp bench libm.so.6 'double hypot(double, double)' 3 4\n"
    "  tramp bench --svg overhead.svg\n"
    "  tramp bench --scaling 100000 --svg scaling.svg\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "tramp: %s (try tramp --help)\n", message.c_str());
  std::exit(kUsage);
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

// --include HEADER, -I DIR, -D NAME[=VALUE], --cpp PROGRAM, --strict: taken out of `args`
// wherever they stand. The headers read into one scope (for `abi`), or none without
// --include.
struct HeaderOptions {
  std::vector<std::string> headers;
  tramp::CHeaderOptions options;
};

HeaderOptions take_header_options(std::vector<std::string>& args) {
  HeaderOptions h;
  // Without --include nothing is taken: "-Inf" stays an argument literal.
  if (std::find(args.begin(), args.end(), "--include") == args.end()) return h;
  std::vector<std::string> rest;
  auto value = [&](std::size_t& i, const std::string& option) -> std::string {
    if (args[i].size() > option.size()) return args[i].substr(option.size());  // -Idir, -DNAME
    if (i + 1 >= args.size()) usage_error(option + " needs a value");
    return args[++i];
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--include") h.headers.push_back(value(i, "--include"));
    else if (a.rfind("-I", 0) == 0) h.options.include_dirs.push_back(value(i, "-I"));
    else if (a.rfind("-D", 0) == 0) h.options.defines.push_back(value(i, "-D"));
    else if (a == "--cpp") h.options.preprocessor = {value(i, "--cpp")};
    else if (a == "--strict") h.options.lenient = false;
    else rest.push_back(a);
  }
  args = std::move(rest);
  return h;
}

std::optional<tramp::CScope> read_headers(const HeaderOptions& h, tramp::Abi abi) {
  if (h.headers.empty()) return std::nullopt;
  tramp::CScope scope(abi);
  for (const std::string& header : h.headers) scope.include(header, h.options);
  return scope;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// A function of the headers by NAME, or a C declaration read after them (it may use their
// typedefs): the one function it declares.
tramp::CFunction header_function(const tramp::CScope& scope, const HeaderOptions& h, const std::string& text) {
  std::string headers;
  for (const std::string& header : h.headers) headers += (headers.empty() ? "" : ", ") + header;
  if (is_identifier(text)) {
    const tramp::CFunction* f = scope.function(text);
    if (!f) throw tramp::Error(tramp::ErrorCode::Syntax, headers + " declares no function '" + text + "'");
    return *f;
  }
  tramp::CScope s = scope;
  const std::size_t before = s.functions().size();
  s.parse(text);
  if (s.functions().size() != before + 1)
    throw tramp::Error(tramp::ErrorCode::Syntax, "expected one function declaration or the name of one in " + headers);
  return s.functions().back();
}

struct SigOptions {
  HeaderOptions headers;
  std::string text;
  tramp::Abi abi = tramp::host_abi();
  bool callback = false;
  bool bound = false;
  bool direct = false;
  bool widened = false;
};

// SIGNATURE [--abi NAME] [--callback] [--bound]; `allow_kind` for disasm's two flags.
SigOptions parse_sig_options(std::vector<std::string> args, bool allow_kind) {
  SigOptions o;
  o.headers = take_header_options(args);
  bool have_text = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--abi") {
      if (i + 1 >= args.size()) usage_error("--abi needs a name (sysv, win64, aapcs64, apple-arm64)");
      auto abi = tramp::abi_from_name(args[++i]);
      if (!abi) usage_error("--abi: unknown ABI '" + args[i] + "' (sysv, win64, aapcs64, apple-arm64)");
      o.abi = *abi;
    } else if (allow_kind && a == "--callback") {
      o.callback = true;
    } else if (allow_kind && a == "--bound") {
      o.bound = true;
    } else if (allow_kind && a == "--direct") {
      o.direct = true;
    } else if (allow_kind && a == "--widened") {
      o.widened = true;
    } else if (a.rfind("--", 0) == 0) {
      usage_error("unknown option '" + a + "'");
    } else if (have_text) {
      usage_error("unexpected argument '" + a + "': one DECL, quoted");
    } else {
      o.text = a;
      have_text = true;
    }
  }
  if (!have_text) usage_error("missing DECL");
  if (o.callback + o.bound + o.direct + o.widened > 1)
    usage_error("--callback, --bound, --direct and --widened exclude each other");
  return o;
}

struct Described {
  std::string name;  // the C declaration's function name; empty for a signature string
  tramp::Signature sig;
};

// DECL: a C declaration or a signature string (or, after --include, a function's name);
// the error of the form it looks like.
Described describe(const std::string& text, tramp::Abi abi, const HeaderOptions& headers) {
  if (std::optional<tramp::CScope> scope = read_headers(headers, abi)) {
    if (is_identifier(text) || tramp::looks_like_c_declaration(text)) {
      tramp::CFunction f = header_function(*scope, headers, text);
      return {f.name, f.signature};
    }
  }
  if (tramp::looks_like_c_declaration(text)) {
    tramp::CFunction f = tramp::parse_c_function(text, abi);
    return {f.name, f.signature};
  }
  return {"", tramp::parse_signature(text, abi)};
}

int cmd_plan(const std::vector<std::string>& args) {
  if (wants_help(args)) return std::fputs(kPlanHelp, stdout), 0;
  SigOptions o = parse_sig_options(args, false);
  tramp::Signature sig = describe(o.text, o.abi, o.headers).sig;
  std::fputs(tramp::plan_text(sig).c_str(), stdout);
  return 0;
}

int cmd_disasm(const std::vector<std::string>& args) {
  if (wants_help(args)) return std::fputs(kDisasmHelp, stdout), 0;
  SigOptions o = parse_sig_options(args, true);
  tramp::Signature sig = describe(o.text, o.abi, o.headers).sig;
  const auto* target = reinterpret_cast<const void*>(std::uintptr_t{0x3333333333333333});
  using tramp::CodeKind;
  std::vector<std::uint8_t> code =
      o.callback ? tramp::machine_code(sig, CodeKind::Callback)
      : o.direct ? tramp::machine_code(sig, CodeKind::RegisterReturn)
      : o.widened ? tramp::machine_code(sig, CodeKind::Widened)
      : o.bound  ? tramp::machine_code(sig, CodeKind::Bound, target)
                 : tramp::machine_code(sig, CodeKind::Invoke);
  // Code for either architecture is disassembled on any host.
  const bool a64 = sig.abi() == tramp::Abi::Aapcs64 || sig.abi() == tramp::Abi::AppleArm64;
  csh cs;
  if (cs_open(a64 ? CS_ARCH_ARM64 : CS_ARCH_X86, a64 ? CS_MODE_LITTLE_ENDIAN : CS_MODE_64, &cs) != CS_ERR_OK)
    throw tramp::Error(tramp::ErrorCode::Unsupported,
                       std::string("capstone cannot open its ") + (a64 ? "AArch64" : "x86-64") + " disassembler");
  cs_insn* insn = nullptr;
  std::size_t n = cs_disasm(cs, code.data(), code.size(), 0, 0, &insn);
  std::printf("; %s %s: %zu bytes, %zu instructions\n",
              o.callback ? "callback thunk" : o.bound ? "bound stub" : o.direct ? "register-return stub"
              : o.widened ? "widening call stub" : "call stub",
              sig.str(true).c_str(),
              code.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string bytes;
    for (std::size_t k = 0; k < insn[i].size; ++k) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%02x ", insn[i].bytes[k]);
      bytes += hex;
    }
    std::printf("%4" PRIx64 ":  %-33s %s%s%s\n", insn[i].address, bytes.c_str(), insn[i].mnemonic,
                insn[i].op_str[0] ? " " : "", insn[i].op_str);
  }
  cs_free(insn, n);
  cs_close(&cs);
  return 0;
}

// ---- tramp call: argument literals ----

// The type C's default argument promotions give a literal passed after `...`; `index` counts
// the arguments from 1, as the user does.
const Type* promoted_type_of(const std::string& literal, std::size_t index) {
  const std::size_t start = literal.find_first_not_of(" \t\n\v\f\r");
  if (start == std::string::npos) usage_error("argument " + std::to_string(index) + ": empty");
  if (literal[start] == '{' || literal[start] == '[')
    usage_error("argument " + std::to_string(index) + " ('" + literal +
                "'): a record after '...' needs its type: use SYMBOL and a signature string");
  try {
    return tramp::promoted_literal_type(literal);
  } catch (const tramp::Error& e) {
    usage_error("argument " + std::to_string(index) + " ('" + literal + "'): " + e.what());
  }
}

// Calling data jumps into it (environ: a crash). The dynamic symbol table says what a symbol
// is; what it cannot say (an address no symbol covers, a function declared with the wrong
// signature) docs/tool.md lists.
void refuse_data_symbol(void* address, const std::string& symbol, const std::string& library) {
  Dl_info info;
  void* entry = nullptr;
  const std::string where = "symbol '" + symbol + "' in " + (library == "-" ? "the running program" : library);
  // A function lies in the object that defines it; dlsym gives a thread-local variable's
  // address in this thread's TLS block, which no object covers (and dladdr skips STT_TLS).
  if (dladdr1(address, &info, &entry, RTLD_DL_SYMENT) == 0)
    usage_error(where + " is not a function: its address lies in no loaded object (a thread-local variable?)");
  if (entry == nullptr) return;  // inside an object, but no dynamic symbol covers it
  const auto* sym = static_cast<const ElfW(Sym)*>(entry);
  std::string kind;
  switch (ELF64_ST_TYPE(sym->st_info)) {  // the same bits in ELF32_ST_TYPE
    case STT_FUNC:
    case STT_GNU_IFUNC: return;
    case STT_OBJECT: kind = "a data object (STT_OBJECT)"; break;
    case STT_COMMON: kind = "a common data object (STT_COMMON)"; break;
    case STT_NOTYPE: kind = "a symbol without a type (STT_NOTYPE)"; break;
    default: kind = "of ELF symbol type " + std::to_string(ELF64_ST_TYPE(sym->st_info)); break;
  }
  usage_error(where + " is " + kind + ", not a function: it cannot be called");
}

// A call ready to make: the signature, the target, and the arguments as the literals gave
// them. Used by `call` and `bench`.
struct PreparedCall {
  std::optional<tramp::Signature> sig;
  std::string symbol;
  bool c_string = false;
  void* fn = nullptr;
  std::optional<tramp::Library> lib;
  std::deque<std::string> strings;  // a deque: growing it moves no string (and no c_str())
  std::vector<std::vector<std::uint8_t>> storage;
  std::vector<void*> argv;
};

// LIBRARY 'C DECLARATION' [ARG...] or LIBRARY SYMBOL SIGNATURE [ARG...] (args[0] = LIBRARY).
void prepare(std::vector<std::string> args, const char* command, PreparedCall& pc) {
  const HeaderOptions headers = take_header_options(args);
  if (args.size() < 2)
    usage_error(std::string(command) + " needs LIBRARY 'C DECLARATION' [ARG...] or LIBRARY SYMBOL SIGNATURE [ARG...]" +
                (headers.headers.empty() ? "" : " or, with --include, LIBRARY FUNCTION [ARG...]"));
  std::string symbol;
  std::size_t first_arg;
  const std::optional<tramp::CScope> scope = read_headers(headers, tramp::host_abi());
  if ((scope && is_identifier(args[1])) || tramp::looks_like_c_declaration(args[1])) {
    tramp::CFunction f = scope ? header_function(*scope, headers, args[1]) : tramp::parse_c_function(args[1]);
    symbol = f.name;
    pc.c_string = f.returns_c_string;
    first_arg = 2;
    const tramp::Signature& d = f.signature;
    if (d.variadic()) {  // the call's own variadic arguments, typed from their literals
      std::vector<const Type*> extra;
      for (std::size_t i = first_arg + d.fixed_count(); i < args.size(); ++i)
        extra.push_back(promoted_type_of(args[i], i - first_arg + 1));
      pc.sig.emplace(d.with_variadic(extra));
    } else {
      pc.sig.emplace(d);
    }
  } else {
    if (args.size() < 3)
      usage_error(std::string(command) + " needs LIBRARY SYMBOL SIGNATURE [ARG...] (or a C declaration)");
    symbol = args[1];
    pc.sig.emplace(tramp::parse_signature(args[2]));
    first_arg = 3;
  }
  const tramp::Signature& sig = *pc.sig;
  if (args.size() - first_arg != sig.arg_count())
    usage_error("the function takes " + std::to_string(sig.arg_count()) + " argument(s), " +
                std::to_string(args.size() - first_arg) + " given");
  tramp::Engine::global().invoker(sig);  // refuses unsupported types before the library opens
  pc.lib.emplace(args[0] == "-" ? tramp::Library::self() : tramp::Library::open(args[0]));
  pc.fn = pc.lib->symbol(symbol);
  refuse_data_symbol(pc.fn, symbol, args[0]);
  pc.symbol = symbol;
  for (std::size_t i = 0; i < sig.arg_count(); ++i) {
    const Type* t = sig.args()[i];
    pc.storage.emplace_back(t->size() + 16, 0);
    auto* dst = reinterpret_cast<std::uint8_t*>((reinterpret_cast<std::uintptr_t>(pc.storage.back().data()) + 15) &
                                                ~std::uintptr_t{15});
    const std::string& text = args[first_arg + i];
    try {
      tramp::parse_value(text, t, dst, pc.strings);
    } catch (const tramp::Error& e) {
      usage_error("argument " + std::to_string(i + 1) + " ('" + text + "', " + t->str() + "): " + e.what());
    }
    pc.argv.push_back(dst);
  }
}

int cmd_call(const std::vector<std::string>& args) {
  if (wants_help(args)) return std::fputs(kCallHelp, stdout), 0;
  PreparedCall pc;
  prepare(args, "call", pc);
  const tramp::Signature& sig = *pc.sig;
  tramp::Invoker call = tramp::Engine::global().invoker(sig);
  std::vector<std::uint8_t> ret(sig.ret()->size() + 32, 0);
  auto* r = reinterpret_cast<std::uint8_t*>((reinterpret_cast<std::uintptr_t>(ret.data()) + 15) & ~std::uintptr_t{15});
  std::fflush(stdout);
  call(pc.fn, r, pc.argv.data());
  std::fflush(stdout);  // what the callee printed through stdio comes first
  if (pc.c_string) {  // a declared char*: the string, as C's printf("%s") would show it
    const char* str;
    std::memcpy(&str, r, sizeof str);
    std::printf("%s\n", str ? ("\"" + std::string(str) + "\"").c_str() : "null");
  } else if (!sig.ret()->is_void()) {
    std::printf("%s\n", tramp::format_value(sig.ret(), r).c_str());
  }
  return 0;
}

// ---- tramp functions: what a header declares ----

int cmd_functions(std::vector<std::string> args) {
  if (wants_help(args)) return std::fputs(kFunctionsHelp, stdout), 0;
  const HeaderOptions headers = take_header_options(args);
  tramp::Abi abi = tramp::host_abi();
  bool constants = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--constants") {
      constants = true;
    } else if (args[i] == "--abi") {
      if (i + 1 >= args.size()) usage_error("--abi needs a name (sysv, win64, aapcs64, apple-arm64)");
      auto a = tramp::abi_from_name(args[++i]);
      if (!a) usage_error("--abi: unknown ABI '" + args[i] + "' (sysv, win64, aapcs64, apple-arm64)");
      abi = *a;
    } else {
      usage_error("unexpected argument '" + args[i] + "'");
    }
  }
  if (headers.headers.empty()) usage_error("functions needs --include HEADER");
  const auto t0 = std::chrono::steady_clock::now();
  const tramp::CScope scope = *read_headers(headers, abi);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::size_t distinct = 0;
  for (const tramp::CFunction& f : scope.functions()) {
    if (scope.function(f.name) != &f) continue;  // declared again later: the latest counts
    ++distinct;
    std::string line = f.name + "  " + f.signature.str() + (f.returns_c_string ? "  returns a C string" : "");
    for (std::size_t i = 0; i < f.callbacks.size(); ++i)
      if (f.callbacks[i]) line += "  [arg " + std::to_string(i + 1) + ": callback " + f.callbacks[i]->str() + "]";
    std::printf("%s\n", line.c_str());
  }
  std::size_t distinct_constants = 0;
  for (const tramp::CConstant& c : scope.constants()) {
    if (scope.constant(c.name) != &c) continue;  // hidden by a later one (a #define of an enumerator's name)
    ++distinct_constants;
    if (constants) {
      std::string value;
      if (c.kind == tramp::CConstant::Kind::String) {
        value = "\"";
        for (char ch : c.string) {  // as a C literal, so the line stays one line
          char esc[8];
          if (ch == '"' || ch == '\\') value += std::string("\\") + ch;
          else if (ch >= 0x20 && ch < 0x7f) value += ch;
          else std::snprintf(esc, sizeof esc, "\\x%02x", static_cast<unsigned char>(ch)), value += esc;
        }
        value += "\"";
      } else if (c.kind == tramp::CConstant::Kind::Float) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.21Lg", c.floating);
        value = buf;
      } else {
        value = c.type->is_signed() ? std::to_string(c.integer) : std::to_string(static_cast<std::uint64_t>(c.integer));
      }
      std::printf("%s = %s  (%s)\n", c.name.c_str(), value.c_str(), c.type->str().c_str());
    }
  }
  for (const tramp::CSkipped& k : scope.skipped())
    std::printf("not understood%s: %s\n", k.name.empty() ? "" : (" (" + k.name + ")").c_str(), k.message.c_str());
  std::string names;
  for (const std::string& h : headers.headers) names += (names.empty() ? "" : ", ") + h;
  std::printf("%s: %zu declarations, %zu understood, %zu not; %zu functions, %zu constants; %.0f ms\n", names.c_str(),
              scope.declaration_count(), scope.declaration_count() - scope.skipped().size(), scope.skipped().size(),
              distinct, distinct_constants, ms);
  return 0;
}

// ---- tramp bench: a user's function through tramp and through libffi ----

// Median ns per call over 7 batches, each long enough (at least 10 ms) to time.
template <class F>
double median_ns(F&& one_call) {
  long n = 1;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) one_call();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (ms >= 10 || n >= (1L << 30)) break;
    n *= 2;
  }
  std::vector<double> ns;
  for (int b = 0; b < 7; ++b) {
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) one_call();
    ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
                 static_cast<double>(n));
  }
  std::sort(ns.begin(), ns.end());
  return ns[3];
}

int cmd_bench(const std::vector<std::string>& all_args) {
  if (wants_help(all_args)) return std::fputs(kBenchHelp, stdout), 0;
  // No LIBRARY (only options, or --matrix): the project's call matrix; --scaling N: the
  // scaling run. Both in tools/bench_matrix.cpp.
  bool matrix = false, positional = false;
  for (std::size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    if (a == "--scaling") {
      try {
        return tramp::tools::bench_scaling(all_args);
      } catch (const tramp::tools::UsageError& e) {
        usage_error(e.what());
      }
    }
    if (a == "--matrix") matrix = true;
    if (a == "--csv" || a == "--json" || a == "--svg" || a == "--reps" || a == "--batch-ms" || a == "--points" ||
        a == "--include" || a == "--cpp")
      ++i;  // its value
    else if (a.rfind("--", 0) != 0)
      positional = true;
  }
  if (matrix || !positional) {
    try {
      return tramp::tools::bench_matrix(all_args);
    } catch (const tramp::tools::UsageError& e) {
      usage_error(e.what());
    }
  }
  std::vector<std::string> args;
  std::string csv, json, svg;
  for (std::size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    if (a == "--csv" || a == "--json" || a == "--svg") {
      if (i + 1 >= all_args.size()) usage_error(a + " needs a FILE");
      (a == "--csv" ? csv : a == "--json" ? json : svg) = all_args[i + 1];
      ++i;
    } else if (a == "--include" || a == "--cpp") {  // for prepare()
      args.push_back(a);
      if (i + 1 < all_args.size()) args.push_back(all_args[++i]);
    } else if (a.rfind("--", 0) == 0 && a != "--strict") {
      usage_error("unknown option '" + a + "' for a LIBRARY's function (--csv, --json, --svg FILE; --include HEADER)");
    } else {
      args.push_back(a);
    }
  }
  PreparedCall pc;
  prepare(args, "bench", pc);
  const tramp::Signature& sig = *pc.sig;
  tramp::Invoker inv = tramp::Engine::global().invoker(sig);
  tramp::BoundCall bound = inv.bind(pc.fn);
  alignas(16) std::uint8_t ret[256 + 16];
  std::vector<std::uint8_t> big_ret(sig.ret()->size() + 32);
  std::uint8_t* r = sig.ret()->size() <= 256 ? ret : big_ret.data();
  void* const* argv = pc.argv.data();

  struct Result {
    std::string engine;
    double ns;
  };
  std::vector<Result> results;
  std::optional<tramp::tools::Progress> steps(std::in_place, 4);  // the progress line on stderr
  auto progress = [&](std::size_t, const char* what) { steps->step(what); };
  progress(1, "tramp invoke");
  results.push_back({"tramp invoke", median_ns([&] { inv(pc.fn, r, argv); })});
  progress(2, "tramp bound");
  results.push_back({"tramp bound", median_ns([&] { bound(r, argv); })});
  progress(3, "tramp direct");
  const Type* rt = sig.ret();
  if (rt->kind() == TypeKind::F64) {
    auto f = inv.direct<double>();
    results.push_back({"tramp direct", median_ns([&] { benchmark_sink(f(pc.fn, argv)); })});
  } else if (rt->kind() == TypeKind::F32) {
    auto f = inv.direct<float>();
    results.push_back({"tramp direct", median_ns([&] { benchmark_sink(f(pc.fn, argv)); })});
  } else if ((rt->is_integer() || rt->kind() == TypeKind::Pointer) && rt->size() == 8) {
    auto f = inv.direct<std::uint64_t>();
    results.push_back({"tramp direct", median_ns([&] { benchmark_sink(f(pc.fn, argv)); })});
  } else if (rt->is_integer() && rt->size() == 4) {
    auto f = inv.direct<std::uint32_t>();
    results.push_back({"tramp direct", median_ns([&] { benchmark_sink(f(pc.fn, argv)); })});
  }
  progress(4, "libffi ffi_call");
  tramp::tools::FfiTypes ffi_types;
  std::vector<ffi_type*> ffi_args;
  ffi_type* ffi_ret = ffi_types.of(rt);
  bool expressible = ffi_ret != nullptr && sig.abi() == tramp::host_abi();
  for (const Type* t : sig.args()) {
    ffi_args.push_back(ffi_types.of(t));
    expressible = expressible && ffi_args.back() != nullptr;
  }
  ffi_cif cif;
  if (expressible) {
    const auto n = static_cast<unsigned>(ffi_args.size());
    ffi_status st = sig.variadic() ? ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, static_cast<unsigned>(sig.fixed_count()), n,
                                                      ffi_ret, ffi_args.data())
                                   : ffi_prep_cif(&cif, FFI_DEFAULT_ABI, n, ffi_ret, ffi_args.data());
    expressible = st == FFI_OK;
  }
  // libffi widens small integer returns to a full register's worth.
  alignas(16) std::uint8_t ffi_ret_buf[256 + 16];
  std::vector<std::uint8_t> big_ffi_ret(rt->size() + 32);
  std::uint8_t* fr = rt->size() <= 256 ? ffi_ret_buf : big_ffi_ret.data();
  // libffi 3.4.4's ffi_call on x86-64 replaces avalue[i] of a record larger than 16 bytes (8
  // for Win64) with the address of a copy in its own frame: it gets its own array, and every
  // call puts the record arguments' pointers back.
  std::vector<void*> ffi_argv(pc.argv);
  std::vector<std::pair<std::size_t, void*>> restore;
  for (std::size_t i = 0; i < ffi_args.size() && expressible; ++i)
    if (ffi_args[i]->type == FFI_TYPE_STRUCT) restore.emplace_back(i, pc.argv[i]);
  if (expressible)
    results.push_back({"libffi ffi_call", median_ns([&] {
                         for (const auto& [k, v] : restore) ffi_argv[k] = v;
                         ffi_call(&cif, FFI_FN(pc.fn), fr, ffi_argv.data());
                       })});
  steps.reset();

  const double base = results[0].ns;
  std::printf("%s: median ns per call, 7 batches of at least 10 ms\n\n", sig.str(true).c_str());
  std::printf("| engine | ns per call | ratio to tramp invoke |\n|---|---:|---:|\n");
  for (const Result& res : results) std::printf("| %s | %.2f | %.2fx |\n", res.engine.c_str(), res.ns, res.ns / base);
  if (!expressible) std::printf("\n(libffi cannot express this signature on this host: no libffi row)\n");
  if (!csv.empty()) {
    std::ofstream out(csv);
    out << "engine,ns_per_call\n";
    for (const Result& res : results) out << res.engine << "," << res.ns << "\n";
    if (!out) throw tramp::Error(tramp::ErrorCode::Library, "cannot write " + csv);
  }
  if (!json.empty()) {
    std::ofstream out(json);
    out << "{\"signature\": \"" << sig.str(true) << "\", \"results\": [";
    for (std::size_t i = 0; i < results.size(); ++i)
      out << (i ? ", " : "") << "{\"engine\": \"" << results[i].engine << "\", \"ns_per_call\": " << results[i].ns << "}";
    out << "]}\n";
    if (!out) throw tramp::Error(tramp::ErrorCode::Library, "cannot write " + json);
  }
  if (!svg.empty()) {
    tramp::tools::BarSection section;
    section.title = pc.symbol + ": " + sig.str(true) + "; in brackets the ratio to tramp invoke";
    section.axis_label = "ns per call, median of 7 batches of at least 10 ms (shorter is faster)";
    const char* const colours[] = {"#0072b2", "#56b4e9", "#cc79a7", "#e69f00"};
    tramp::tools::BarGroup group{pc.symbol, sig.str(true), {}};
    for (std::size_t i = 0; i < results.size(); ++i) {
      section.series.push_back(results[i].engine);
      section.colours.push_back(colours[i % 4]);
      group.values.push_back(results[i].ns);
    }
    section.ratio_to = "tramp invoke";
    section.groups.push_back(group);
    tramp::tools::write_text_file(
        svg, tramp::tools::bar_chart_svg("tramp bench: " + pc.symbol + " through tramp and libffi",
                                         tramp::tools::machine_info().line(), {section}));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kHelp, args.empty() ? stderr : stdout);
    return args.empty() ? kUsage : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "plan") return cmd_plan(args);
    if (cmd == "disasm") return cmd_disasm(args);
    if (cmd == "call") return cmd_call(args);
    if (cmd == "bench") return cmd_bench(args);
    if (cmd == "functions") return cmd_functions(args);
  } catch (const tramp::Error& e) {
    std::fprintf(stderr, "tramp %s: %s\n", cmd.c_str(), e.what());
    return kRefused;
  }
  usage_error("unknown command '" + cmd + "'");
}
