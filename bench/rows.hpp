// The benchmarks' one source: the rows (signatures, their callees in each placement, their
// arguments, the libffi types), the engines that call them (a direct call, tramp's interfaces,
// Debian's libffi and the libffi face), the callback rows and their handlers, the setup costs
// and the scaling run's signatures. Each measurement is a Batch, n calls with the call inlined
// into the loop; the front ends only time batches: `tramp bench` (tools/bench_matrix.cpp, a
// steady clock, the median of many batches) and the Google Benchmark suite
// (bench/bench_calls.cpp).
#pragma once

#include <ffi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/callees.h"
#include "tramp/tramp.h"
#include "tramp/tramp.hpp"

namespace tramp::bench {

// Where a row's callee lives: in the benchmark program itself, in a shared library (loaded
// where the system puts libraries, far from the program), or libc/libm's own function.
enum class Placement { Executable, Library, System };
const char* placement_name(Placement p);  // "executable", "library", "libc/libm"

// n calls of one engine on one row, results stored through g_ret.
using Batch = std::function<void(long n)>;

// The time this thread has run, in ns (CLOCK_THREAD_CPUTIME_ID). The benchmarks time with it,
// not with a wall clock: on a machine that other programs share, a batch of calls is often
// descheduled part of the way through, and a wall clock counts that time too.
double thread_ns();

// Every engine writes its result here (the direct calls too, as the stubs do through `ret`).
extern unsigned char g_ret[64];

// ---- libffi: Debian's (linked) and the libffi face (ffi/, loaded by full path beside it) ----

struct Libffi {
  decltype(&ffi_prep_cif) prep_cif = nullptr;
  decltype(&ffi_prep_cif_var) prep_cif_var = nullptr;
  decltype(&ffi_call) call = nullptr;
  decltype(&ffi_closure_alloc) closure_alloc = nullptr;
  decltype(&ffi_prep_closure_loc) prep_closure_loc = nullptr;
  decltype(&ffi_closure_free) closure_free = nullptr;
  std::string error;  // why it could not be loaded
  explicit operator bool() const { return call != nullptr; }
};
const Libffi& debian_libffi();
// The face at $TRAMP_FFI_FACE, else at the path the program was built with (may be empty).
const Libffi& face_libffi();
void set_face_path(const char* built_path);  // before the first face_libffi()

// ---- the engines and rows ----

enum CallEngine { kDirect, kBound, kInvoke, kCApi, kRegReturn, kLibffi, kFace, kCallEngines };
extern const char* const kCallEngineNames[kCallEngines];
enum CallbackEngine { kCbDirect, kCbThunk, kCbClosure, kCbFace, kCallbackEngines };
extern const char* const kCallbackEngineNames[kCallbackEngines];

// What the library placement needs: the shared library's copy of the callees, loaded from
// the program's own bytes. Null (and why in `error`) when it cannot be loaded.
const BenchCallees* shared_callees(std::string* error = nullptr);

// A row ready to run through every engine. Made by call_rows().
class PreparedCall {
 public:
  virtual ~PreparedCall() = default;
  virtual const std::string& name() const = 0;
  virtual const tramp::Signature& signature() const = 0;
  virtual const char* shown() const = 0;  // the signature as a chart shows it
  virtual Placement placement() const = 0;
  virtual bool has(int engine) const = 0;
  virtual Batch batch(int engine) const = 0;
  // One call through `engine`, its result in g_ret (zeroed first).
  virtual void once(int engine) const = 0;
};
// Every call row in every placement, prepared (stubs made, cifs prepared). `engine` makes the
// bound, invoke and register-return stubs; the C API column uses Engine::global().
std::vector<std::unique_ptr<PreparedCall>> call_rows(tramp::Engine& engine);

class PreparedCallback {
 public:
  virtual ~PreparedCallback() = default;
  virtual const std::string& name() const = 0;
  virtual const tramp::Signature& signature() const = 0;
  virtual const char* shown() const = 0;
  virtual Placement placement() const = 0;  // where the C caller (and the direct target) live
  virtual bool has(int engine) const = 0;
  virtual Batch batch(int engine) const = 0;
  virtual void once(int engine) const = 0;
};
std::vector<std::unique_ptr<PreparedCallback>> callback_rows(tramp::Engine& engine);

// Before anything is timed: every engine of every row computes what the direct call
// computes. Returns the number of disagreements, each reported on stderr.
int check_results(const std::vector<std::unique_ptr<PreparedCall>>& calls,
                  const std::vector<std::unique_ptr<PreparedCallback>>& callbacks);

// The address the engine's code should be near (EngineOptions::code_near): the benchmark's
// own loops, which call the stubs.
const void* caller_code();

// Bytes of each row's stubs and thunk (0: no such stub).
struct CodeBytes {
  std::string row, sig;
  std::size_t call = 0, bound = 0, reg_return = 0, thunk = 0;
};
std::vector<CodeBytes> code_bytes(const std::vector<std::unique_ptr<PreparedCall>>& calls, tramp::Engine& engine);

// ---- setup costs ----

// 1,555 distinct signatures (0 to 4 arguments over six scalar types) and their libffi types.
struct SetupSig {
  std::string text;
  std::vector<ffi_type*> ffi_args;
};
const std::vector<SetupSig>& setup_signatures();
// ns per stub for the first `count` (0: all) of them, made by a fresh engine (made and
// destroyed outside the time), from text (parse, classify, emit, install) or from Signatures.
double new_stubs_ns(bool from_text, std::size_t count);

// A setup cost measured in batches: what one operation is, and for whom.
struct SetupRow {
  std::string what;
  std::string who;  // "tramp", "libffi face", "libffi"
  Batch batch;      // n operations
};
// The setup rows that are batches: ffi_prep_cif over the 1,555 signatures, an invoker from
// the cache (C++ and C API), a callback made and freed, a repeated ffi_prep_cif of three
// signatures and a closure made and freed (face and Debian's libffi).
std::vector<SetupRow> setup_rows(tramp::Engine& engine);
// The row names of the setup table, in order (new stubs from text and from a Signature first).
extern const char* const kSetupNewFromText;
extern const char* const kSetupNewFromSignature;

// ---- scaling ----

// The n-th signature: i64 return and `width` arguments, argument k the k-th digit of n in
// base 6 over six scalar types, so every n below 6^width gives a different signature.
std::string scaling_signature(long n, int width);
// The fewest arguments that give `count` distinct signatures.
int scaling_width(long count);
// What a scaling run calls every new stub with: the target (which returns 7) and arguments.
const void* scaling_target();
void* const* scaling_args();

}  // namespace tramp::bench
