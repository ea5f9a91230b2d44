// tramp: the engine. Turns Signatures into call stubs (cached), binds them to targets, and
// loads libraries.
//
//   tramp::Signature sig = tramp::parse_signature("f64(f64, f64)");
//   tramp::Library m = tramp::Library::open("libm.so.6");
//   tramp::Invoker call = tramp::Engine::global().invoker(sig);
//   double a = 3, b = 4, r;
//   void* args[] = {&a, &b};
//   call(m.symbol("hypot"), &r, args);          // r == 5
//   tramp::BoundCall hyp = call.bind(m.symbol("hypot"));
//   hyp(&r, args);                              // same call, target baked into the stub
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <string>
#include <vector>
#include <string_view>

#include "tramp/cdecl.hpp"
#include "tramp/signature.hpp"

namespace tramp {

namespace detail {
struct EngineState;
struct StubInfo;
struct CallableBox;
struct EntryData;
}  // namespace detail

// Uniform call entry: `args[i]` points at argument i in its C representation, `ret` at
// storage for the return value (size of the return type; may be null for void).
using InvokeFn = void (*)(const void* fn, void* ret, void* const* args);
using BoundFn = void (*)(void* ret, void* const* args);
// Uniform callback handler: the same shape as InvokeFn, reversed. `args[i]` points at
// argument i, `ret` at storage the handler fills with the return value (the caller's own
// buffer when the ABI returns the value through a hidden pointer). For a value returned in
// registers that storage is 8-aligned and at least the value's size rounded up to 8 bytes,
// so a handler may write a narrow integer as a whole word (libffi's closures do).
using Handler = void (*)(void* ret, void* const* args, void* user);
// The C++ convenience form; `user` state lives in the callable.
using CallableHandler = std::function<void(void* ret, void* const* args)>;

class BoundCall;
class Function;
class Library;

// A JIT-compiled call stub for one Signature. Cheap to copy; valid as long as the Engine
// that made it. Calling it never allocates, locks or throws.
class Invoker {
 public:
  Invoker() = default;
  void operator()(const void* fn, void* ret, void* const* args) const { entry_(fn, ret, args); }
  InvokeFn entry() const noexcept { return entry_; }
  const Signature& signature() const noexcept;
  // Bytes of machine code in this stub.
  std::size_t code_size() const noexcept;
  // Bytes of stack the call's arguments take: the outgoing argument area (Win64's shadow
  // space included) and the caller's copies of arguments passed by reference. With none, and
  // no ErrnoMode, the register-return variant (direct<R>()) ends in a jump to the target.
  std::size_t stack_size() const noexcept;
  // A stub specialised for one target: same calling shape minus `fn`.
  BoundCall bind(const void* fn) const;
  explicit operator bool() const noexcept { return entry_ != nullptr; }

  // The register-return variant, for signatures whose value comes back in one register
  // (bool, integers up to 64 bits, pointers, f32, f64): `R(const void* fn, void* const* args)`
  // returns the value itself, and with no stack arguments the stub tail-jumps to the target,
  // so a call costs little more than a direct one. R must be the return type's C++
  // counterpart: an integer, bool or pointer type of the same size, float for f32, double
  // for f64; anything else throws Error(Unsupported). Made on first use, cached with the
  // invoker; valid as long as the Engine.
  template <class R>
  using DirectFn = R (*)(const void* fn, void* const* args);
  template <class R>
  DirectFn<R> direct() const {
    static_assert(std::is_arithmetic_v<R> || std::is_pointer_v<R>,
                  "direct<R>(): R is the scalar type the function returns");
    return reinterpret_cast<DirectFn<R>>(const_cast<void*>(direct_entry(std::is_floating_point_v<R>, sizeof(R))));
  }
  // The untyped form of direct<R>(): the variant's address for a return value that is
  // floating or not and `size` bytes; throws as direct<R>() does when that does not match.
  const void* direct_entry(bool floating, std::size_t size) const;

  // The invoke stub for results kept in whole words, as libffi's ffi_call keeps them in an
  // ffi_arg: an integer result narrower than 64 bits (bool, 8, 16 and 32-bit integers) is
  // stored through `ret` as 8 bytes, sign- or zero-extended as its type says, so `ret` must
  // point at 8 bytes or more; every other result is stored as by entry(). Made on first use,
  // cached with the invoker; valid as long as the Engine.
  InvokeFn widened() const;

 private:
  friend class Engine;
  friend struct detail::EngineState;
  InvokeFn entry_ = nullptr;
  const detail::StubInfo* info_ = nullptr;
};

// A call stub with its target baked in. Owns its code: destroying it frees the code.
class BoundCall {
 public:
  BoundCall() = default;
  BoundCall(BoundCall&&) noexcept;
  BoundCall& operator=(BoundCall&&) noexcept;
  ~BoundCall();
  void operator()(void* ret, void* const* args) const { entry_(ret, args); }
  BoundFn entry() const noexcept { return entry_; }
  std::size_t code_size() const noexcept { return code_size_; }
  explicit operator bool() const noexcept { return entry_ != nullptr; }

 private:
  friend class Engine;
  friend struct detail::EngineState;
  BoundFn entry_ = nullptr;
  std::size_t code_size_ = 0;
  std::shared_ptr<detail::EngineState> owner_;
};

// A callback: a real native function with the signature's convention that forwards every
// call to a handler. Its code() is a veneer of its own whose data holds the signature's
// thunk (made once per signature and engine, then shared), the handler and user, so making
// a callback writes data and emits no code. Owns its veneer (destroying the Callback hands
// it back for reuse; a call through it after that aborts with a message until it is reused)
// and, for the callable form, the callable. Move-only. It may be called from any thread.
//
// Exceptions: a raw Handler must not throw (there is no unwind information through the
// native caller; an escaping exception terminates the process). A CallableHandler may throw:
// the thunk's wrapper catches the exception, zero-fills the return value, and parks the
// exception in a per-thread slot that take_callback_exception() hands back once the native
// code has returned.
class Callback {
 public:
  Callback() noexcept;
  Callback(Callback&&) noexcept;
  Callback& operator=(Callback&&) noexcept;
  ~Callback();

  // The native entry point.
  const void* code() const noexcept { return code_; }
  // The entry point as a typed function pointer, e.g. cb.as<int(const void*, const void*)>().
  template <class F>
  F* as() const noexcept {
    return reinterpret_cast<F*>(const_cast<void*>(code_));
  }
  std::size_t code_size() const noexcept { return code_size_; }
  explicit operator bool() const noexcept { return code_ != nullptr; }

 private:
  friend struct detail::EngineState;
  const void* code_ = nullptr;
  std::size_t code_size_ = 0;
  detail::EntryData* entry_ = nullptr;  // its veneer's data: the thunk, handler and user
  std::shared_ptr<detail::EngineState> owner_;
  std::unique_ptr<detail::CallableBox> box_;
};

// An entry point made before its target is known: a veneer (AAPCS64's word for a linker's
// branch island), a few instructions that jump to the address its slot holds. It makes no
// frame and touches no register a call passes anything in, so a call of any signature
// arrives at the target as the caller made it. retarget() is one atomic store of data (no
// code is written, nothing is flushed): a thread calling code() at that moment reaches the
// old target or the new one. What a program hands out as a function pointer before it knows
// the signature (libffi's ffi_closure_alloc) is a veneer's code(), pointed at a Callback's
// code() once the signature is known. Owns its code and its slot; move-only; thread-safe.
class Veneer {
 public:
  Veneer() noexcept;
  Veneer(Veneer&&) noexcept;
  Veneer& operator=(Veneer&&) noexcept;
  ~Veneer();

  const void* code() const noexcept { return code_; }
  std::size_t code_size() const noexcept { return code_size_; }
  const void* target() const noexcept;
  // `target` must be code that can be called with the signature the veneer's callers use.
  void retarget(const void* target) noexcept;
  explicit operator bool() const noexcept { return code_ != nullptr; }

 private:
  friend class Engine;
  const void* code_ = nullptr;
  std::size_t code_size_ = 0;
  detail::EntryData* entry_ = nullptr;  // its slot
  std::shared_ptr<detail::EngineState> owner_;
};

// The exception a CallableHandler threw on this thread, if any (then cleared); null otherwise.
std::exception_ptr take_callback_exception() noexcept;

// This thread's errno slot (ErrnoMode, docs/api.md "errno"): what the last errno-capturing
// call on this thread found in errno right after its callee returned, or what
// set_last_errno() put there; 0 in a new thread. A SetAndCapture call sets errno from it right
// before its callee runs; a callback thunk with an ErrnoMode saves its native caller's errno
// into it on entry and sets errno from it when the handler returns.
int last_errno() noexcept;
void set_last_errno(int value) noexcept;

// What tramp tells Linux perf about its code (docs/debugging.md): nothing (the default), a
// line "START SIZE name" in /tmp/perf-<pid>.map per stub, thunk and block of veneers, which
// perf report reads by itself, or a record per piece of code in /tmp/jit-<pid>.dump for
// `perf inject -j`. For the whole process; switching it on writes the code that lives already.
// TRAMP_PERF_MAP=1 or TRAMP_PERF_MAP=jitdump in the environment switches it on at the first
// engine. Throws Error(Jit) naming the file when it cannot be made.
enum class PerfOutput : std::uint8_t { None, Map, JitDump };
void set_perf_output(PerfOutput output);
PerfOutput perf_output() noexcept;

// Executable memory held by an engine (its code arena's own counters).
struct CodeStats {
  std::size_t chunks = 0;        // memory chunks mapped
  std::size_t bytes_mapped = 0;  // executable bytes mapped
  std::size_t bytes_in_use = 0;  // bytes in live stubs and thunks
  std::size_t live_blocks = 0;   // live stubs and thunks
  std::size_t total_allocs = 0;  // stubs and thunks ever made
};

class Engine {
 public:
  Engine();
  ~Engine();  // frees every stub it made (bound calls keep their own code alive)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The process-wide engine (never destroyed).
  static Engine& global();

  // The call stub for `sig`, made on first use and cached. Thread-safe. Throws
  // Error(Unsupported) if the ABI cannot pass the signature, Error(HostAbi) if this host
  // cannot run the signature's ABI.
  Invoker invoker(const Signature& sig);
  Invoker invoker(std::string_view signature_text) { return invoker(parse_signature(signature_text)); }
  BoundCall bind(const Signature& sig, const void* fn);

  // A callback thunk for `sig` that calls handler(ret, args, user). Thread-safe.
  // Throws like invoker().
  Callback callback(const Signature& sig, Handler handler, void* user = nullptr);
  Callback callback(const Signature& sig, CallableHandler handler);

  // A veneer for this host's code that jumps to `target` (which may be null until
  // retarget(): a call then faults). Thread-safe. Throws Error(Jit) like the others when no
  // executable memory can be had.
  Veneer veneer(const void* target = nullptr);

  // A function from a C declaration: parses `c_declaration` (one prototype, e.g. "double
  // hypot(double, double)"), looks its name up in `lib` and takes the call stub for its
  // signature. Throws Error(Syntax) like parse_c_function, Error(Library) naming the symbol
  // and the library when it is missing, and like invoker(). The same (library, declaration)
  // again gives the same target and the same Invoker: the stub cache holds one stub per
  // Signature, so nothing new is emitted. Thread-safe.
  Function function(const Library& lib, std::string_view c_declaration);
  // The same for the function declared as `name` in `scope` (declarations parsed earlier,
  // with their typedefs and records); Error(Syntax) when the scope declares no such function.
  Function function(const Library& lib, const CScope& scope, std::string_view name);

  std::size_t cached_stubs() const;
  CodeStats code_stats() const;

 private:
  std::shared_ptr<detail::EngineState> state_;
};

// What tramp would generate for a signature, for every ABI on every host: nothing is
// installed or run, so an x86-64 machine can show an AArch64 or Apple arm64 call.
// The CallPlan in text: where every byte of every argument and of the result goes (the
// format of `tramp plan` and of docs/abi/). Throws Error(Unsupported) like Engine::invoker.
std::string plan_text(const Signature& sig);

enum class CodeKind : std::uint8_t {
  Invoke,          // Engine::invoker's stub: void(const void* fn, void* ret, void* const* args)
  Bound,           // Engine::bind's stub, for a target at address `fn`
  RegisterReturn,  // Invoker::direct<R>()'s stub: R(const void* fn, void* const* args)
  Callback,        // Engine::callback's thunk, shared by every callback of the signature
  Widened,         // Invoker::widened()'s stub: the invoke shape, narrow integers stored as words
};
// The machine code of that stub or thunk (position-independent; Bound bakes the address `fn`
// in as an immediate and needs it non-null; the others ignore `fn` and `user`: a callback's
// handler and user are data its veneer points the thunk at).
std::vector<std::uint8_t> machine_code(const Signature& sig, CodeKind kind, const void* fn = nullptr,
                                       const void* user = nullptr);

// The machine code of a veneer (Engine::veneer) for this host that jumps to the address held
// in the 8-byte word at `slot`, for a program that places it in executable memory of its own
// (libffi's ffi_prep_closure into a closure it did not allocate). Position-independent; at
// most 32 bytes on x86-64, 24 on AArch64.
std::vector<std::uint8_t> veneer_code(const void* slot);

// A loaded shared library (dlopen). Closing happens when the last copy goes away.
class Library {
 public:
  // Throws Error(Library) with the loader's own message when the library cannot be loaded.
  static Library open(const std::string& name);
  // The running program and everything it has loaded (dlopen(NULL)).
  static Library self();

  // Throws Error(Library) naming the symbol and the library when it is missing.
  void* symbol(std::string_view name) const;
  // nullptr when missing.
  void* find(std::string_view name) const noexcept;
  const std::string& name() const noexcept { return name_; }

 private:
  Library(std::shared_ptr<void> handle, std::string name)
      : handle_(std::move(handle)), name_(std::move(name)) {}
  std::shared_ptr<void> handle_;
  std::string name_;
};

// A C function ready to call: its declaration, its address in a library and the call stub
// for its signature (Engine::function). A small copyable value; it keeps its library loaded,
// and its stub is valid as long as the Engine that made it. Calling it never allocates,
// locks or throws.
class Function {
 public:
  // `args[i]` points at argument i, `ret` at storage for the return value (null for void).
  void operator()(void* ret, void* const* args) const { invoker_(target_, ret, args); }
  const std::string& name() const noexcept { return decl_.name; }
  const CFunction& declaration() const noexcept { return decl_; }
  const Signature& signature() const noexcept { return decl_.signature; }
  // The declared return type is a pointer to char (CFunction::returns_c_string).
  bool returns_c_string() const noexcept { return decl_.returns_c_string; }
  const void* target() const noexcept { return target_; }
  const Invoker& invoker() const noexcept { return invoker_; }
  const Library& library() const noexcept { return lib_; }

 private:
  friend class Engine;
  Function(CFunction decl, Library lib, const void* target, Invoker invoker)
      : decl_(std::move(decl)), lib_(std::move(lib)), target_(target), invoker_(invoker) {}
  CFunction decl_;
  Library lib_;
  const void* target_ = nullptr;
  Invoker invoker_;
};

}  // namespace tramp
