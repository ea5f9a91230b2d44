// Conformance runner: calls every generated C callee through tramp (invoker and bound stub)
// and libffi, and calls every generated C caller with a tramp callback thunk; checks every
// significant byte of every argument and return value in both directions, and every record's
// layout against gcc's sizeof/_Alignof/offsetof. Before those, each case's C caller calls its
// C callee directly: what the compiler does with its own code is the reference, and a case
// where that already loses bytes tests the compiler, not tramp.
//
// Runs on x86-64 (sysv and win64 cases) and AArch64 (aapcs64 cases, natively or under qemu).
//
//   conformance_run [--lib libconformance_cases.so] [--manifest manifest.txt]
//                   [--filter NAME|ID] [--cases FILE] [--seed S] [--verbose] [--libffi-face DIR]
//
// With --libffi-face, the libffi.so.8 in the process must be tramp's libffi face from DIR
// (ctest puts it first on LD_LIBRARY_PATH): the libffi calls then test the face, with no
// exemption for libffi's known bugs, and each case's C caller also calls a libffi closure.
//
// The last line is `N passed, M failed` (`, K skipped` when some were); exit status 0 only
// when nothing failed. See docs/testing.md.
#include <dlfcn.h>
#include <ffi.h>
#include <signal.h>
#include <unistd.h>

#include <cfloat>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "abi/call_plan.hpp"
#include "jit/emitter.hpp"
#include "tests/ffi_api/libffi_loaded.h"
#include "tools/ffi_types.hpp"
#include "tramp/tramp.hpp"

#ifndef CONF_DEFAULT_LIB
#define CONF_DEFAULT_LIB "libconformance_cases.so"
#endif
#ifndef CONF_DEFAULT_MANIFEST
#define CONF_DEFAULT_MANIFEST "generated/manifest.txt"
#endif

namespace {

using tramp::Type;
using tramp::TypeKind;

constexpr std::size_t kSlot = 256;    // gen.cpp's slot; the manifest's `slot` line must agree
constexpr std::size_t kMaxArgs = 21;  // the buffers hold this many slots

// splitmix64, as in the generator: the same --seed gives the same argument bytes everywhere.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint8_t byte() { return static_cast<std::uint8_t>(next()); }
};

// ---- which bytes mean something ----------------------------------------------------------

// Marks the bits of a value of t that carry information: not struct padding, not the 6
// unused bytes of an x87 long double, not the bits around a bit-field or those of an unnamed
// one. A union's significant bits are those of any member. mask[i] holds byte i's bits.
void mark_significant(const Type* t, std::size_t off, std::vector<std::uint8_t>& mask) {
  switch (t->kind()) {
    case TypeKind::Struct:
    case TypeKind::Union:
      for (const auto& f : t->fields()) {
        if (!f.is_bit_field()) {
          mark_significant(f.type, off + f.offset, mask);
          continue;
        }
        if (f.unnamed) continue;
        const std::size_t first = 8 * (off + f.offset) + f.bit_offset;
        for (std::size_t b = first; b < first + f.bit_width; ++b) mask[b / 8] |= static_cast<std::uint8_t>(1u << (b % 8));
      }
      return;
    case TypeKind::Array:
    case TypeKind::Complex:
      for (std::size_t i = 0; i < t->count(); ++i)
        mark_significant(t->element(), off + i * t->element()->size(), mask);
      return;
    case TypeKind::F80:
      for (std::size_t i = 0; i < 10; ++i) mask[off + i] = 0xff;
      return;
    default:
      for (std::size_t i = 0; i < t->size(); ++i) mask[off + i] = 0xff;
      return;
  }
}

// Masks are per interned Type, computed once.
const std::vector<std::uint8_t>& significant(const Type* t) {
  static std::unordered_map<const Type*, std::vector<std::uint8_t>> cache;
  auto it = cache.find(t);
  if (it != cache.end()) return it->second;
  std::vector<std::uint8_t> m(t->size(), 0);
  mark_significant(t, 0, m);
  return cache.emplace(t, std::move(m)).first->second;
}

// Random bytes that form a valid value of t: a bool is 0 or 1, a long double a normal finite
// x87 number with its integer bit set (an x87 load, as in an st0 return, would canonicalise
// any other encoding); everything else, float and double included, any bits. Padding gets
// random bytes too, so a stub that copies it or not is fine either way.
void fill_value(const Type* t, std::uint8_t* p, Rng& rng) {
  switch (t->kind()) {
    case TypeKind::Struct:
      // A bit-field's bits stay as random as the bytes around them: any bits are a value.
      for (std::size_t i = 0; i < t->size(); ++i) p[i] = rng.byte();
      for (const auto& f : t->fields())
        if (!f.is_bit_field()) fill_value(f.type, p + f.offset, rng);
      return;
    case TypeKind::Union:
      // One member's value; the bytes beyond it stay random (still significant if another
      // member covers them: a union is passed as its bytes).
      for (std::size_t i = 0; i < t->size(); ++i) p[i] = rng.byte();
      if (!t->fields()[0].is_bit_field()) fill_value(t->fields()[0].type, p, rng);
      return;
    case TypeKind::Array:
    case TypeKind::Complex:
      for (std::size_t i = 0; i < t->count(); ++i) fill_value(t->element(), p + i * t->element()->size(), rng);
      return;
    case TypeKind::Bool:
      p[0] = rng.next() & 1;
      return;
    case TypeKind::F80: {
      std::uint64_t mantissa = rng.next() | (std::uint64_t{1} << 63);
      auto exponent = static_cast<std::uint16_t>(1 + rng.next() % 0x7ffe);  // not 0, not 0x7fff
      auto sign_exp = static_cast<std::uint16_t>(exponent | ((rng.next() & 1) << 15));
      std::memcpy(p, &mantissa, 8);
      std::memcpy(p + 8, &sign_exp, 2);
      for (std::size_t i = 10; i < 16; ++i) p[i] = rng.byte();
      return;
    }
    case TypeKind::Void:
      return;
    default:
      for (std::size_t i = 0; i < t->size(); ++i) p[i] = rng.byte();
      return;
  }
}

// Hex of a value with insignificant bytes shown as "..".
std::string hex(const Type* t, const std::uint8_t* p) {
  const auto& m = significant(t);
  std::string s;
  char b[4];
  for (std::size_t i = 0; i < t->size(); ++i) {
    if (i && i % 8 == 0) s += ' ';
    if (m[i]) {
      std::snprintf(b, sizeof b, "%02x", p[i] & m[i]);
      s += b;
    } else {
      s += "..";
    }
  }
  return s;
}

// First byte with a differing significant bit, or -1.
long first_difference(const Type* t, const std::uint8_t* got, const std::uint8_t* want) {
  const auto& m = significant(t);
  for (std::size_t i = 0; i < m.size(); ++i)
    if ((got[i] ^ want[i]) & m[i]) return static_cast<long>(i);
  return -1;
}

// ---- crash reporting ----------------------------------------------------------------------

// A wrong stub usually crashes rather than mis-copies; the handler names the case and path
// that was running, then lets the previous handler (default, or a sanitizer's) take over.
char g_current[2048] = "(before the first case)";
struct sigaction g_previous[32];

void on_crash(int sig) {
  const char head[] = "\nCRASH while running ";
  ssize_t ignored = write(2, head, sizeof head - 1);
  ignored = write(2, g_current, std::strlen(g_current));
  ignored = write(2, "\n", 1);
  (void)ignored;
  sigaction(sig, &g_previous[sig], nullptr);
  if (sig == SIGABRT) raise(sig);  // a faulting instruction re-faults on return; abort does not
}

void install_crash_handler() {
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) {
    struct sigaction sa {};
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(sig, &sa, &g_previous[sig]);
  }
}

void set_current(const std::string& id, const std::string& name, const std::string& sig, const char* path) {
  std::snprintf(g_current, sizeof g_current, "case %s %s %s (%s)", id.c_str(), name.c_str(), sig.c_str(), path);
}

// ---- FPU state --------------------------------------------------------------------------------

// The psABI wants the x87 register stack empty at every call boundary (a long double result
// is the only thing left, and the caller pops it), and the x87 control word and MXCSR
// preserved. A call path that leaks an x87 register breaks every later long double (a load
// into a full stack yields the "indefinite" NaN), so each path is checked and the state reset.
// On AArch64 the only such state is FPCR (rounding mode, flush-to-zero, default NaN, trap
// enables), which AAPCS64 has every function preserve.
struct FpuState {
  std::uint16_t control = 0;
  std::uint8_t used = 0;  // abridged tag word: bit i set = x87 register i holds a value
  std::uint32_t mxcsr = 0;
  std::uint64_t fpcr = 0;  // AArch64
};

FpuState fpu_state() {
  FpuState st;
#if defined(__x86_64__)
  alignas(16) std::uint8_t area[512];
  asm volatile("fxsave %0" : "=m"(area));  // unlike fnstenv, leaves the state untouched
  std::memcpy(&st.control, area, 2);
  st.used = area[4];
  std::memcpy(&st.mxcsr, area + 24, 4);
#elif defined(__aarch64__)
  asm volatile("mrs %0, fpcr" : "=r"(st.fpcr));
#endif
  return st;
}

// Empties the x87 stack and restores the control word and MXCSR (AArch64: FPCR) of `to`.
void reset_fpu(const FpuState& to) {
#if defined(__x86_64__)
  std::uint16_t cw = to.control;
  std::uint32_t mx = to.mxcsr;
  asm volatile("fninit\n\tfldcw %0\n\tldmxcsr %1" : : "m"(cw), "m"(mx));
#elif defined(__aarch64__)
  asm volatile("msr fpcr, %0" : : "r"(to.fpcr));
#else
  (void)to;
#endif
}

// What changed in the FPU state across a call, or "" (MXCSR's sticky exception flags, the
// low 6 bits, may change: a callee may raise them legitimately).
std::string fpu_damage(const FpuState& before, const FpuState& after) {
  std::string d;
  char b[96];
  if (after.used) {
    std::snprintf(b, sizeof b, " x87 stack not empty (tag bits %02x)", after.used);
    d += b;
  }
  if (after.control != before.control) {
    std::snprintf(b, sizeof b, " x87 control word %04x -> %04x", before.control, after.control);
    d += b;
  }
  if ((after.mxcsr & ~0x3fu) != (before.mxcsr & ~0x3fu)) {
    std::snprintf(b, sizeof b, " MXCSR %08x -> %08x", before.mxcsr, after.mxcsr);
    d += b;
  }
  if (after.fpcr != before.fpcr) {
    std::snprintf(b, sizeof b, " FPCR %08llx -> %08llx", static_cast<unsigned long long>(before.fpcr),
                  static_cast<unsigned long long>(after.fpcr));
    d += b;
  }
  return d;
}

// ---- libffi ---------------------------------------------------------------------------------

// A record whose only content is one x87 long double ({f80}, {f80[1]}, {{f80}}): psABI class
// X87, X87UP, returned in st0. libffi 3.4 returns such records through memory instead, a known
// libffi bug (docs/testing.md): it reads a wrong value and leaves the callee's st0 on the x87
// stack, so both are expected there.
bool is_x87_record(const Type* t) {
  if (t->kind() == TypeKind::Array) return t->count() == 1 && is_x87_record(t->element());
  if (t->kind() == TypeKind::F80) return true;
  if (t->kind() != TypeKind::Struct || t->fields().size() != 1 || t->size() != 16) return false;
  return is_x87_record(t->fields()[0].type);
}

// libffi 3.4.4 stores a record of more than 8 bytes whose first eightbyte is the sixth integer
// register argument (r9) with the record's whole size into its register block, which
// overwrites the first vector register: a float or double passed in xmm0 arrives as garbage
// (libffi issue 574, fixed upstream by pull request 848 in 2024). Only argument bytes can
// differ then.
bool libffi_r9_record_bug(const tramp::Signature& sig) {
  auto plan = tramp::abi::classify(sig);
  if (!plan) return false;
  for (const auto& a : plan.value().args)
    if (a.size > 8 && !a.pieces.empty() && a.pieces[0].loc.kind == tramp::abi::LocKind::Gpr &&
        a.pieces[0].loc.reg == tramp::abi::x64::r9)
      return true;
  return false;
}

// libffi 3.4.4 on AArch64 passes a record of more than 16 bytes (not an HFA) by reference, as
// AAPCS64 says, but when the address goes on the stack it aligns that 8-byte slot to the
// record's own alignment (ffi_call_int's `goto do_pointer` keeps the record's ffi_type for
// allocate_to_stack). For a 16-aligned record (a long double member) whose address gcc puts
// at a stack offset that is 8 modulo 16, libffi stores the address 8 bytes higher, and every
// later stack argument with it: the callee takes whatever lies in the slot for the record's
// address and usually faults, so such a call cannot be made at all. Found by the 100,000-case
// aapcs64 run (seed 20261124, random_68307). The plan says where the address goes: returns
// the first such argument's index, or -1.
long libffi_a64_indirect_slot_bug(const tramp::Signature& sig, std::uint32_t* gcc_offset) {
  if (sig.abi() != tramp::Abi::Aapcs64) return -1;
  auto plan = tramp::abi::classify(sig);
  if (!plan) return -1;
  const auto& args = plan.value().args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a.kind == tramp::abi::PassKind::Indirect && a.align > 8 && !a.pieces.empty() &&
        a.pieces[0].loc.kind == tramp::abi::LocKind::Stack && a.pieces[0].loc.offset % a.align != 0) {
      *gcc_offset = a.pieces[0].loc.offset;
      return static_cast<long>(i);
    }
  }
  return -1;
}

// ---- running ------------------------------------------------------------------------------

// Whether values of t hold a vector of `bytes` up to 64 (records and arrays included).
bool holds_vector(const Type* t, std::size_t bytes) {
  if (t->is_vector()) return t->size() >= bytes && t->size() <= 64;
  if (t->kind() == TypeKind::Array) return holds_vector(t->element(), bytes);
  for (const auto& f : t->fields())
    if (holds_vector(f.type, bytes)) return true;
  return false;
}

// What a case's C functions were compiled for (gen.cpp's isa_attr): a 32-byte vector anywhere
// in its types needs AVX, a 64-byte one AVX-512F (x86-64 only). On a CPU without it even
// the gcc self-check would fault, so such a case is skipped there.
tramp::abi::VectorIsa c_isa(const tramp::Signature& sig) {
  if (tramp::abi::arch_of(sig.abi()) != tramp::abi::Arch::X64) return tramp::abi::VectorIsa::Base;
  auto any = [&](std::size_t bytes) {
    bool holds = !sig.ret()->is_void() && holds_vector(sig.ret(), bytes);
    for (const Type* t : sig.args()) holds = holds || holds_vector(t, bytes);
    return holds;
  };
  return any(64) ? tramp::abi::VectorIsa::Avx512f : any(32) ? tramp::abi::VectorIsa::Avx : tramp::abi::VectorIsa::Base;
}

struct Options {
  std::string lib = CONF_DEFAULT_LIB;
  std::string manifest = CONF_DEFAULT_MANIFEST;
  std::string filter;
  std::set<std::string> only;  // from --cases: ids and names
  std::uint64_t seed = 12345;
  bool verbose = false;
  std::string libffi_face;  // --libffi-face: the directory the face is loaded from
};

struct Counts {
  long passed = 0, failed = 0, skipped = 0;
  long skipped_isa = 0;  // of `skipped`: the CPU lacks the vector registers the case's C needs
  long layouts = 0, layouts_wrong = 0;
  long ffi_checked = 0, ffi_agree = 0, ffi_known = 0, ffi_unexpected = 0;
  long ffi_inexpressible = 0, ffi_layout_differs = 0;
  long ffi_not_called = 0;  // a known libffi bug would crash the call
  long gcc_checked = 0, gcc_differs = 0;
};

struct CaseLine {
  std::string id, name, text;
};

// What a callback handler compares the caller's arguments against.
struct CallbackCheck {
  const tramp::Signature* sig;
  const std::uint8_t* args_in;
  const std::uint8_t* ret_value;
  std::vector<std::string>* mismatches;
  const char* how = "callback";
};

void check_callback(void* ret, void* const* args, void* user) {
  auto* c = static_cast<CallbackCheck*>(user);
  for (std::size_t i = 0; i < c->sig->arg_count(); ++i) {
    const Type* t = c->sig->args()[i];
    const auto* got = static_cast<const std::uint8_t*>(args[i]);
    const std::uint8_t* want = c->args_in + i * kSlot;
    long at = first_difference(t, got, want);
    if (at >= 0)
      c->mismatches->push_back(std::string(c->how) + " arg " + std::to_string(i) + " byte " + std::to_string(at) +
                               ": expected " + hex(t, want) + " got " + hex(t, got));
  }
  if (!c->sig->ret()->is_void()) std::memcpy(ret, c->ret_value, c->sig->ret()->size());
}

// A libffi closure's handler: the same checks. libffi's closures hand an integer result over
// as a whole ffi_arg; the face's buffer is one, zeroed, and returns its low bytes.
void check_ffi_closure(ffi_cif*, void* ret, void** args, void* user) { check_callback(ret, args, user); }

class Runner {
 public:
  Runner(const Options& o, void* lib) : opt_(o), lib_(lib), rng_{o.seed} {
    conf_args_ = static_cast<std::uint8_t*>(sym("conf_args"));
    conf_args_in_ = static_cast<std::uint8_t*>(sym("conf_args_in"));
    conf_ret_in_ = static_cast<std::uint8_t*>(sym("conf_ret_in"));
    conf_ret_out_ = static_cast<std::uint8_t*>(sym("conf_ret_out"));
  }
  bool has_buffers() const { return conf_args_ && conf_args_in_ && conf_ret_in_ && conf_ret_out_; }

  void* sym(const std::string& name) const { return dlsym(lib_, name.c_str()); }

  // An `abi NAME` line: the convention of the manifest's C declarations.
  void set_abi(const std::string& name) {
    if (auto abi = tramp::abi_from_name(name)) scope_ = tramp::CScope(*abi);
  }

  // A `type NAME TEXT` line: tramp's layout of TEXT against gcc's row conf_layout_NAME.
  void check_layout(const std::string& name, const std::string& text) {
    const Type* t = nullptr;
    std::string problem;
    try {
      t = tramp::parse_type(text);
    } catch (const std::exception& e) {
      problem = std::string("parse_type: ") + e.what();
    }
    compare_layout("layout", name, text, t, problem);
  }

  // A `ctype NAME TEXT` line: the same record or vector as a C typedef, read by tramp's C
  // declaration parser for the manifest's ABI (scopes keep earlier typedefs, as C does).
  void check_c_layout(const std::string& name, const std::string& text, bool report) {
    const Type* t = nullptr;
    std::string problem;
    try {
      scope_.parse(text);
      t = scope_.type(name);
      if (!t) problem = "the C declaration parser made no type " + name;
    } catch (const std::exception& e) {
      problem = std::string("C declaration: ") + e.what();
    }
    if (report) compare_layout("C layout", name, text, t, problem);
  }

  // t's size, alignment, member offsets and bit-field bits against gcc's row and, for a
  // record with named bit-fields, conf_bits_NAME (each one's first bit and width).
  void compare_layout(const char* what, const std::string& name, const std::string& text, const Type* t,
                      std::string problem) {
    ++n_.layouts;
    auto* row = static_cast<const unsigned long*>(sym("conf_layout_" + name));
    if (t && !row) problem = "no layout row conf_layout_" + name + " in the case library";
    if (problem.empty()) {
      if (row[0] != t->size()) problem += " size: gcc " + std::to_string(row[0]) + " tramp " + std::to_string(t->size());
      if (row[1] != t->align())
        problem += " align: gcc " + std::to_string(row[1]) + " tramp " + std::to_string(t->align());
      const auto fields = t->fields();
      bool named_bits = false;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        named_bits |= fields[i].is_bit_field() && !fields[i].unnamed;
        if (!fields[i].is_bit_field() && row[2 + i] != fields[i].offset)
          problem += " member " + std::to_string(i) + " offset: gcc " + std::to_string(row[2 + i]) + " tramp " +
                     std::to_string(fields[i].offset);
      }
      auto bits = reinterpret_cast<void (*)(unsigned long*, unsigned long*)>(sym("conf_bits_" + name));
      if (named_bits && !bits) problem += " no conf_bits_" + name + " in the case library";
      if (named_bits && bits) {
        std::vector<unsigned long> first(fields.size()), width(fields.size());
        bits(first.data(), width.data());
        for (std::size_t i = 0; i < fields.size(); ++i) {
          const auto& f = fields[i];
          if (!f.is_bit_field() || f.unnamed) continue;
          if (first[i] != 8 * f.offset + f.bit_offset || width[i] != f.bit_width)
            problem += " bit-field " + std::to_string(i) + ": gcc bit " + std::to_string(first[i]) + " width " +
                       std::to_string(width[i]) + ", tramp bit " + std::to_string(8 * f.offset + f.bit_offset) +
                       " width " + std::to_string(f.bit_width);
        }
      }
    }
    if (!problem.empty()) {
      ++n_.layouts_wrong;
      std::printf("FAIL %s %s %s:%s\n", what, name.c_str(), text.c_str(), problem.c_str());
    }
  }

  void run_case(const CaseLine& c) {
    if (opt_.verbose) std::printf("RUN %s %s %s\n", c.id.c_str(), c.name.c_str(), c.text.c_str());
    std::vector<std::string> bad;  // one line per mismatch
    try {
      set_current(c.id, c.name, c.text, "parse");
      tramp::Signature sig = tramp::parse_signature(c.text);
      bool too_big = sig.ret()->size() > kSlot || sig.arg_count() > kMaxArgs;
      for (const Type* t : sig.args()) too_big |= t->size() > kSlot;
      if (too_big) {
        ++n_.skipped;
        if (opt_.verbose) std::printf("SKIP %s %s: a value does not fit the buffers\n", c.id.c_str(), c.name.c_str());
        return;
      }
      if (const auto isa = c_isa(sig); isa > tramp::jit::host_vector_isa()) {
        ++n_.skipped;
        ++n_.skipped_isa;
        if (opt_.verbose)
          std::printf("SKIP %s %s: needs %s, which this CPU lacks\n", c.id.c_str(), c.name.c_str(),
                      std::string(tramp::abi::vector_isa_name(isa)).c_str());
        return;
      }
      // The printed form must read back as the same signature (docs/signatures.md promises it).
      if (!(tramp::parse_signature(sig.str(true)) == sig)) bad.push_back("round trip: str() gives " + sig.str(true));

      void* callee = sym("conf_callee_" + c.id);
      auto caller = reinterpret_cast<void (*)(void*)>(sym("conf_caller_" + c.id));
      if (!callee || !caller) throw std::runtime_error("conf_callee_" + c.id + " or conf_caller_" + c.id + " missing");
      run_signature(c, sig, callee, caller, bad);
    } catch (const std::exception& e) {
      bad.push_back(std::string("error: ") + e.what());
    }
    if (bad.empty()) {
      ++n_.passed;
      return;
    }
    ++n_.failed;
    for (const auto& b : bad)
      std::printf("FAIL %s %s %s | %s\n", c.id.c_str(), c.name.c_str(), c.text.c_str(), b.c_str());
  }

  const Counts& counts() const { return n_; }

 private:
  void run_signature(const CaseLine& c, const tramp::Signature& sig, void* callee, void (*caller)(void*),
                     std::vector<std::string>& bad) {
    const Type* rt = sig.ret();
    // Values depend on (seed, case id) only, so --filter reproduces a full run's bytes exactly.
    rng_ = Rng{opt_.seed * 0x100000001b3ULL ^ std::strtoull(c.id.c_str(), nullptr, 10)};
    void* argv[kMaxArgs];
    for (std::size_t i = 0; i < sig.arg_count(); ++i) {
      fill_value(sig.args()[i], in_ + i * kSlot, rng_);
      argv[i] = in_ + i * kSlot;
    }
    fill_value(rt, ret_want_, rng_);
    std::memcpy(conf_ret_in_, ret_want_, rt->size());

    // What the callee recorded and what came back, against what was sent.
    auto check_call = [&](const char* how, std::vector<std::string>& out) {
      for (std::size_t i = 0; i < sig.arg_count(); ++i) {
        const Type* t = sig.args()[i];
        long at = first_difference(t, conf_args_ + i * kSlot, in_ + i * kSlot);
        if (at >= 0)
          out.push_back(std::string(how) + " arg " + std::to_string(i) + " byte " + std::to_string(at) + ": expected " +
                        hex(t, in_ + i * kSlot) + " got " + hex(t, conf_args_ + i * kSlot));
      }
      long at = first_difference(rt, ret_got_, ret_want_);
      if (at >= 0)
        out.push_back(std::string(how) + " return byte " + std::to_string(at) + ": expected " + hex(rt, ret_want_) +
                      " got " + hex(rt, ret_got_));
    };
    // Poison before each call, so a stale byte from the previous path cannot pass.
    auto poison = [&] {
      std::memset(conf_args_, 0xa5, kSlot * kMaxArgs);
      std::memset(ret_got_, 0x5a, kSlot);
    };

    // After each path: the FPU as the psABI wants it, then reset so one leak cannot spoil the
    // long doubles of every later case.
    const FpuState clean = fpu_state();
    auto check_fpu = [&](const char* how, std::vector<std::string>& out) {
      std::string d = fpu_damage(clean, fpu_state());
      if (!d.empty()) {
        out.push_back(std::string(how) + " FPU state after the call:" + d);
        reset_fpu(clean);
      }
    };

    // The compiler's own call first: the C caller calls the C callee, no tramp in between.
    // Every byte must arrive; if not, the case tests the compiler (or this harness).
    set_current(c.id, c.name, c.text, "gcc caller -> gcc callee");
    {
      ++n_.gcc_checked;
      std::memcpy(conf_args_in_, in_, kSlot * kMaxArgs);
      poison();
      std::memset(conf_ret_out_, 0x5a, kSlot);
      caller(callee);
      std::vector<std::string> gcc_bad;
      check_fpu("gcc", gcc_bad);
      std::memcpy(ret_got_, conf_ret_out_, rt->size());
      check_call("gcc", gcc_bad);
      if (!gcc_bad.empty()) {
        ++n_.gcc_differs;
        for (const auto& b : gcc_bad)
          std::printf("GCC-DISAGREES %s %s %s | %s\n", c.id.c_str(), c.name.c_str(), c.text.c_str(), b.c_str());
      }
    }

    // tramp's paths. An exception in one (a signature tramp refuses, an ABI without a
    // classifier or emitter yet) is that path's failure; the others, and libffi, still run.
    auto guarded = [&](const char* how, auto&& body) {
      try {
        body();
      } catch (const std::exception& e) {
        bad.push_back(std::string(how) + " error: " + e.what());
      }
    };
    tramp::Invoker inv;
    guarded("invoke", [&] {
      set_current(c.id, c.name, c.text, "invoker");
      inv = tramp::Engine::global().invoker(sig);
      poison();
      inv(callee, ret_got_, argv);
      check_fpu("invoke", bad);
      check_call("invoke", bad);
    });

    if (inv)
      guarded("bound", [&] {
        set_current(c.id, c.name, c.text, "bound stub");
        tramp::BoundCall bound = inv.bind(callee);
        poison();
        bound(ret_got_, argv);
        check_fpu("bound", bad);
        check_call("bound", bad);
      });

    // Callback: the C caller reads conf_args_in and calls the thunk with the case's prototype.
    guarded("callback", [&] {
      set_current(c.id, c.name, c.text, "callback");
      std::memcpy(conf_args_in_, in_, kSlot * kMaxArgs);
      CallbackCheck cc{&sig, conf_args_in_, ret_want_, &bad};
      tramp::Callback cb = tramp::Engine::global().callback(sig, &check_callback, &cc);
      std::memset(conf_ret_out_, 0x5a, kSlot);
      caller(const_cast<void*>(cb.code()));
      check_fpu("callback", bad);
      long at = first_difference(rt, conf_ret_out_, ret_want_);
      if (at >= 0)
        bad.push_back("callback return byte " + std::to_string(at) + ": expected " + hex(rt, ret_want_) + " got " +
                      hex(rt, conf_ret_out_));
    });

    // libffi, a second implementation checked the same way: it validates this harness.
    set_current(c.id, c.name, c.text, "libffi");
    ffi_type* ffi_ret = ffi_.of(rt);
    std::vector<ffi_type*> ffi_args;
    bool expressible = ffi_ret != nullptr;
    for (const Type* t : sig.args()) {
      ffi_args.push_back(ffi_.of(t));
      expressible &= ffi_args.back() != nullptr;
    }
    if (!expressible) {
      ++n_.ffi_inexpressible;
      return;
    }
    ffi_cif cif;
    auto nargs = static_cast<unsigned>(sig.arg_count());
    // FFI_GNUW64 is libffi's Win64 as gcc implements it (long double by reference). On
    // AArch64 Linux FFI_DEFAULT_ABI is FFI_SYSV, AAPCS64 with variadic arguments passed as
    // named ones.
#if defined(__x86_64__)
    const ffi_abi ffi_abi_of_sig = sig.abi() == tramp::Abi::Win64 ? FFI_GNUW64 : FFI_DEFAULT_ABI;
#else
    const ffi_abi ffi_abi_of_sig = FFI_DEFAULT_ABI;
#endif
    ffi_status st = sig.variadic()
                        ? ffi_prep_cif_var(&cif, ffi_abi_of_sig, static_cast<unsigned>(sig.fixed_count()), nargs,
                                           ffi_ret, ffi_args.data())
                        : ffi_prep_cif(&cif, ffi_abi_of_sig, nargs, ffi_ret, ffi_args.data());
    bool same = st == FFI_OK && (rt->is_void() || tramp::tools::FfiTypes::same_layout(ffi_ret, rt));
    for (std::size_t i = 0; same && i < sig.arg_count(); ++i) same = tramp::tools::FfiTypes::same_layout(ffi_args[i], sig.args()[i]);
    if (!same) {
      ++n_.ffi_layout_differs;
      return;
    }
    std::uint32_t slot = 0;
    const bool face = !opt_.libffi_face.empty();
    if (long i = face ? -1 : libffi_a64_indirect_slot_bug(sig, &slot); i >= 0) {
      ++n_.ffi_not_called;
      std::printf("LIBFFI-KNOWN-BUG %s %s %s | libffi not called: it would store the address of argument %ld "
                  "(%zu bytes, %zu-aligned, by reference) at stack+%zu, not stack+%u\n",
                  c.id.c_str(), c.name.c_str(), c.text.c_str(), i, sig.args()[i]->size(), sig.args()[i]->align(),
                  (slot + sig.args()[i]->align() - 1) / sig.args()[i]->align() * sig.args()[i]->align(), slot);
      return;
    }
    ++n_.ffi_checked;
    poison();
    ffi_call(&cif, FFI_FN(callee), ret_got_, argv);
    std::vector<std::string> ffi_bad;
    check_fpu("libffi", ffi_bad);  // libffi leaves an st0 it never reads on the stack (below)
    check_call("libffi", ffi_bad);
    if (face) {
      std::memcpy(conf_args_in_, in_, kSlot * kMaxArgs);
      CallbackCheck cc{&sig, conf_args_in_, ret_want_, &ffi_bad, "libffi closure"};
      void* code = nullptr;
      auto* closure = static_cast<ffi_closure*>(ffi_closure_alloc(sizeof(ffi_closure), &code));
      if (!closure || ffi_prep_closure_loc(closure, &cif, &check_ffi_closure, &cc, code) != FFI_OK) {
        ffi_bad.push_back("libffi closure: not made");
      } else {
        std::memset(conf_ret_out_, 0x5a, kSlot);
        caller(code);
        check_fpu("libffi closure", ffi_bad);
        long at = first_difference(rt, conf_ret_out_, ret_want_);
        if (at >= 0)
          ffi_bad.push_back("libffi closure return byte " + std::to_string(at) + ": expected " + hex(rt, ret_want_) +
                            " got " + hex(rt, conf_ret_out_));
      }
      ffi_closure_free(closure);
    }
    if (ffi_bad.empty()) {
      ++n_.ffi_agree;
      return;
    }
    // Only the return can be the known libffi bug; anything else means libffi or this harness
    // is wrong, and is worth a look even when tramp passed.
    const bool sysv = !face && sig.abi() == tramp::Abi::SysV_X64;
    bool known_x87 = sysv && is_x87_record(rt), known_r9 = sysv && libffi_r9_record_bug(sig);
    for (const auto& b : ffi_bad) {
      known_x87 &= b.rfind("libffi return", 0) == 0 ||
                   b.rfind("libffi FPU state after the call: x87 stack not empty", 0) == 0;
      known_r9 &= b.rfind("libffi arg", 0) == 0;
    }
    const bool known = known_x87 || known_r9;
    ++(known ? n_.ffi_known : n_.ffi_unexpected);
    for (const auto& b : ffi_bad)
      std::printf("%s %s %s %s | %s\n", known ? "LIBFFI-KNOWN-BUG" : "LIBFFI-DISAGREES", c.id.c_str(),
                  c.name.c_str(), c.text.c_str(), b.c_str());
  }

  const Options& opt_;
  void* lib_;
  Rng rng_;
  tramp::CScope scope_;
  tramp::tools::FfiTypes ffi_;
  Counts n_;
  std::uint8_t* conf_args_ = nullptr;
  std::uint8_t* conf_args_in_ = nullptr;
  std::uint8_t* conf_ret_in_ = nullptr;
  std::uint8_t* conf_ret_out_ = nullptr;
  alignas(64) std::uint8_t in_[kSlot * kMaxArgs] = {};
  alignas(64) std::uint8_t ret_want_[kSlot] = {};
  alignas(64) std::uint8_t ret_got_[kSlot] = {};
};

// A number selects that id only (a substring match of "18" would also pick random_118);
// anything else selects the names containing it.
bool matches_filter(const std::string& f, const CaseLine& c) {
  if (f == c.id || f == c.name) return true;
  bool numeric = f.find_first_not_of("0123456789") == std::string::npos;
  return !numeric && c.name.find(f) != std::string::npos;
}

int usage() {
  std::fprintf(stderr,
               "usage: conformance_run [--lib FILE.so] [--manifest FILE] [--filter NAME|ID] [--cases FILE]\n"
               "                       [--seed S] [--verbose] [--libffi-face DIR]\n"
               "  --filter   only case ID, or the cases whose name contains NAME\n"
               "  --cases    only the cases FILE lists: one id or name per line (or manifest `case` lines)\n"
               "  --seed     seed of the argument values (default 12345)\n"
               "  --libffi-face  the libffi in the process is tramp's face from DIR: no known-bug exemptions,\n"
               "             and a libffi closure for every case\n");
  return 2;
}

bool read_case_list(const std::string& path, std::set<std::string>& out) {
  std::ifstream in(path);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string first, second;
    ls >> first;
    if (first.empty() || first[0] == '#') continue;
    if (first == "case" && (ls >> second)) first = second;  // a pasted manifest line
    out.insert(first);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // every line is out before a crash
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--verbose") o.verbose = true;
    else if ((a == "--lib" || a == "--manifest" || a == "--filter" || a == "--cases" || a == "--seed" ||
              a == "--libffi-face") &&
             (v = value()) != nullptr) {
      if (a == "--lib") o.lib = v;
      else if (a == "--manifest") o.manifest = v;
      else if (a == "--filter") o.filter = v;
      else if (a == "--seed") o.seed = std::strtoull(v, nullptr, 10);
      else if (a == "--libffi-face") o.libffi_face = v;
      else if (!read_case_list(v, o.only)) {
        std::fprintf(stderr, "conformance_run: cannot read %s\n", v);
        return 2;
      }
    } else {
      return usage();
    }
  }

  if (!o.libffi_face.empty() && !libffi_loaded_from(o.libffi_face.c_str())) return 2;
  void* lib = dlopen(o.lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "conformance_run: %s\n", dlerror());
    return 2;
  }
  std::ifstream manifest(o.manifest);
  if (!manifest) {
    std::fprintf(stderr, "conformance_run: cannot read %s\n", o.manifest.c_str());
    return 2;
  }
  auto runner = std::make_unique<Runner>(o, lib);
  if (!runner->has_buffers()) {
    std::fprintf(stderr, "conformance_run: %s lacks conf_args/conf_ret_in/conf_args_in/conf_ret_out\n", o.lib.c_str());
    return 2;
  }
  install_crash_handler();

  auto start = std::chrono::steady_clock::now();
  bool selecting = !o.filter.empty() || !o.only.empty();
  for (std::string line; std::getline(manifest, line);) {
    std::istringstream ls(line);
    std::string kind;
    ls >> kind;
    if (kind == "slot") {
      std::size_t slot = 0;
      ls >> slot;
      if (slot != kSlot) {
        std::fprintf(stderr, "conformance_run: manifest slot %zu, runner expects %zu (rebuild both)\n", slot, kSlot);
        return 2;
      }
    } else if (kind == "abi") {
      std::string name;
      ls >> name;
      runner->set_abi(name);
    } else if (kind == "type" || kind == "ctype") {
      std::string name, text;
      ls >> name;
      std::getline(ls >> std::ws, text);
      // C declarations build on earlier ones: every ctype line is read even when selecting.
      if (kind == "ctype") runner->check_c_layout(name, text, !selecting);
      else if (!selecting) runner->check_layout(name, text);
    } else if (kind == "case") {
      CaseLine c;
      ls >> c.id >> c.name;
      std::getline(ls >> std::ws, c.text);
      if (!o.filter.empty() && !matches_filter(o.filter, c)) continue;
      if (!o.only.empty() && !o.only.count(c.id) && !o.only.count(c.name)) continue;
      runner->run_case(c);
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const Counts& n = runner->counts();
  if (!selecting) std::printf("layouts: %ld records checked against gcc, %ld wrong\n", n.layouts, n.layouts_wrong);
  std::printf("gcc self-check: %ld cases called caller to callee directly, %ld differ\n", n.gcc_checked,
              n.gcc_differs);
  std::printf(
      "libffi differential: %ld cases called, %ld agree, %ld known libffi bug, %ld unexpected; "
      "%ld not expressible in libffi, %ld with a libffi layout unlike tramp's",
      n.ffi_checked, n.ffi_agree, n.ffi_known, n.ffi_unexpected, n.ffi_inexpressible, n.ffi_layout_differs);
  if (n.ffi_not_called) std::printf("; %ld not called (the call would crash: known libffi bug)", n.ffi_not_called);
  std::printf("\n");
  if (n.skipped_isa)
    std::printf("cpu: %ld cases need vector registers this CPU lacks (avx, avx512f): skipped\n", n.skipped_isa);
  std::printf("time: %.2f s (gcc + invoke + bound + callback + libffi per case)\n", seconds);
  std::printf("%ld passed, %ld failed", n.passed, n.failed);
  if (n.skipped) std::printf(", %ld skipped", n.skipped);
  std::printf("\n");
  bool ok = n.failed == 0 && n.layouts_wrong == 0 && n.ffi_unexpected == 0 && n.gcc_differs == 0 &&
            (n.passed > 0 || selecting);
  return ok ? 0 : 1;
}
