// The libffi face: libffi's C interface on tramp's public API (docs/libffi.md).
//
// ffi_prep_cif turns the ffi_types into a tramp Signature and takes its stub from a cache, so
// a signature seen before costs a thread-local lookup; ffi_call is one indirect call into the
// stub that was made for exactly that signature. cif->flags holds the number of the face's
// plan (never a pointer: a cif may be copied, and the number stays valid). Closures are
// veneers: ffi_closure_alloc hands out a veneer's code before the signature is known, and
// ffi_prep_closure_loc points it at a tramp callback thunk for the cif.
#include <ffi.h>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "tramp/engine.hpp"

using tramp::Abi;
using tramp::Signature;
using tramp::Type;

// The basic types: what libffi 3.4.4 defines, plus __int128 (libffi 3.6).
__extension__ typedef __int128 int128_t;
__extension__ typedef unsigned __int128 uint128_t;
#define TRAMP_FFI_SCALAR(name, ctype, code) \
  ffi_type ffi_type_##name = {sizeof(ctype), alignof(ctype), code, nullptr}
extern "C" {
ffi_type ffi_type_void = {1, 1, FFI_TYPE_VOID, nullptr};
TRAMP_FFI_SCALAR(uint8, std::uint8_t, FFI_TYPE_UINT8);
TRAMP_FFI_SCALAR(sint8, std::int8_t, FFI_TYPE_SINT8);
TRAMP_FFI_SCALAR(uint16, std::uint16_t, FFI_TYPE_UINT16);
TRAMP_FFI_SCALAR(sint16, std::int16_t, FFI_TYPE_SINT16);
TRAMP_FFI_SCALAR(uint32, std::uint32_t, FFI_TYPE_UINT32);
TRAMP_FFI_SCALAR(sint32, std::int32_t, FFI_TYPE_SINT32);
TRAMP_FFI_SCALAR(uint64, std::uint64_t, FFI_TYPE_UINT64);
TRAMP_FFI_SCALAR(sint64, std::int64_t, FFI_TYPE_SINT64);
TRAMP_FFI_SCALAR(float, float, FFI_TYPE_FLOAT);
TRAMP_FFI_SCALAR(double, double, FFI_TYPE_DOUBLE);
TRAMP_FFI_SCALAR(longdouble, long double, FFI_TYPE_LONGDOUBLE);
TRAMP_FFI_SCALAR(pointer, void*, FFI_TYPE_POINTER);
TRAMP_FFI_SCALAR(uint128, uint128_t, FFI_TYPE_UINT128);
TRAMP_FFI_SCALAR(sint128, int128_t, FFI_TYPE_SINT128);
}
#undef TRAMP_FFI_SCALAR

namespace {
ffi_type* complex_float_elements[] = {&ffi_type_float, nullptr};
ffi_type* complex_double_elements[] = {&ffi_type_double, nullptr};
ffi_type* complex_longdouble_elements[] = {&ffi_type_longdouble, nullptr};
}  // namespace

extern "C" {
ffi_type ffi_type_complex_float = {2 * sizeof(float), alignof(float), FFI_TYPE_COMPLEX, complex_float_elements};
ffi_type ffi_type_complex_double = {2 * sizeof(double), alignof(double), FFI_TYPE_COMPLEX, complex_double_elements};
ffi_type ffi_type_complex_longdouble = {2 * sizeof(long double), alignof(long double), FFI_TYPE_COMPLEX,
                                        complex_longdouble_elements};
}

namespace {

// ---- Types ------------------------------------------------------------------------------

// Why a type was refused; a prep function reports it as its ffi_status.
struct Refused {
  ffi_status status;
};

const Type* long_double_type() {
#if defined(__x86_64__)
  return Type::f80();
#else
  return Type::f128();
#endif
}

// The tramp Type of a scalar ffi_type, or nullptr for a struct. A scalar whose size is not
// its code's is no valid ffi_type (libffi asserts); complex and vector types wait for tramp
// to have them (FFI_BAD_TYPEDEF, docs/libffi.md).
const Type* scalar_type(const ffi_type* t) {
  const Type* r = nullptr;
  switch (t->type) {
    case FFI_TYPE_VOID: return Type::void_();
    case FFI_TYPE_INT: r = Type::i32(); break;
    case FFI_TYPE_FLOAT: r = Type::f32(); break;
    case FFI_TYPE_DOUBLE: r = Type::f64(); break;
    case FFI_TYPE_LONGDOUBLE: r = long_double_type(); break;
    case FFI_TYPE_UINT8: r = Type::u8(); break;
    case FFI_TYPE_SINT8: r = Type::i8(); break;
    case FFI_TYPE_UINT16: r = Type::u16(); break;
    case FFI_TYPE_SINT16: r = Type::i16(); break;
    case FFI_TYPE_UINT32: r = Type::u32(); break;
    case FFI_TYPE_SINT32: r = Type::i32(); break;
    case FFI_TYPE_UINT64: r = Type::u64(); break;
    case FFI_TYPE_SINT64: r = Type::i64(); break;
    case FFI_TYPE_POINTER: r = Type::pointer(); break;
    case FFI_TYPE_UINT128: r = Type::u128(); break;
    case FFI_TYPE_SINT128: r = Type::i128(); break;
    case FFI_TYPE_STRUCT: return nullptr;
    default: throw Refused{FFI_BAD_TYPEDEF};  // complex, vector, unknown codes
  }
  if (t->size != r->size()) throw Refused{FFI_BAD_TYPEDEF};
  return r;
}

// The tramp Type of `t`. A struct whose size is 0 gets size and alignment filled in as libffi
// does (members at their natural alignment, tail padding); one whose size is already set
// (CPython's ctypes sets it) must describe what its members make, or what they make packed
// or with a larger alignment. The walk is bounded by tramp's depth limit: a struct that
// contains itself is refused, not followed.
const Type* tramp_type(ffi_type* t, std::size_t depth = 0) {
  if (!t) throw Refused{FFI_BAD_TYPEDEF};
  if (const Type* s = scalar_type(t)) return s;
  if (!t->elements || !t->elements[0] || depth >= tramp::kMaxTypeDepth) throw Refused{FFI_BAD_TYPEDEF};
  std::vector<tramp::FieldSpec> fields;
  for (ffi_type** e = t->elements; *e; ++e) {
    const Type* m = tramp_type(*e, depth + 1);
    if (m->is_void() || fields.size() >= tramp::kMaxTypeNodes) throw Refused{FFI_BAD_TYPEDEF};
    fields.push_back({m});
  }
  try {
    const Type* natural = Type::struct_(fields);
    if (t->size == 0) {
      t->size = natural->size();
      t->alignment = static_cast<unsigned short>(natural->align());
      return natural;
    }
    if (t->size == natural->size() && t->alignment == natural->align()) return natural;
    tramp::RecordOptions options;
    options.packed = t->alignment < natural->align();
    if (t->alignment > natural->align()) options.align = t->alignment;
    const Type* declared = Type::struct_(fields, options);
    if (declared->size() == t->size && declared->align() == t->alignment) return declared;
    // CPython's ctypes describes a union as a struct of all its members with the union's
    // size and alignment.
    const Type* as_union = Type::union_(fields);
    if (as_union->size() == t->size && as_union->align() == t->alignment) return as_union;
  } catch (const tramp::Error&) {
  }
  throw Refused{FFI_BAD_TYPEDEF};
}

// ---- Plans ------------------------------------------------------------------------------

// How ffi_call writes the result: libffi widens an integer narrower than a word to ffi_arg.
enum class RetKind : std::uint8_t { Void, Signed, Unsigned, F32, F64, Memory };

struct Plan;
using CallFn = void (*)(const Plan&, void (*)(void), void*, void**);

// The hash of a plan's key, the same for the per-thread cache and the registry.
std::size_t key_hash(ffi_abi abi, unsigned nfixed, bool variadic, const Type* ret, const Type* const* args,
                     std::size_t n) {
  std::size_t h = (static_cast<std::size_t>(abi) << 40) ^ (static_cast<std::size_t>(nfixed) << 8) ^ variadic;
  auto mix = [&h](std::size_t v) { h = (h ^ v) * 0x9E3779B97F4A7C15ull; h ^= h >> 29; };
  mix(reinterpret_cast<std::uintptr_t>(ret));
  for (std::size_t i = 0; i < n; ++i) mix(reinterpret_cast<std::uintptr_t>(args[i]));
  return h;
}

// One signature as the face uses it; made once per distinct (abi, types, fixed count), kept
// for the life of the process (a cif may be used until then).
struct Plan {
  Plan(ffi_abi abi_, unsigned nfixed_, bool variadic_, const Type* ret_, const Type* const* args_, std::size_t n)
      : abi(abi_), nfixed(nfixed_), variadic(variadic_), ret(ret_), args(args_, args_ + n),
        hash(key_hash(abi_, nfixed_, variadic_, ret_, args_, n)) {}

  bool same_key(ffi_abi abi_, unsigned nfixed_, bool variadic_, const Type* ret_, const Type* const* args_,
                std::size_t n) const {
    return abi == abi_ && nfixed == nfixed_ && variadic == variadic_ && ret == ret_ && args.size() == n &&
           std::equal(args_, args_ + n, args.begin());
  }

  // The key.
  ffi_abi abi;
  unsigned nfixed;  // == args.size() when not variadic
  bool variadic;
  const Type* ret;
  std::vector<const Type*> args;
  std::size_t hash;
  // What the face made for it (plan_number).
  Signature call_sig{Type::void_(), {}};
  tramp::Invoker invoker;
  const void* direct = nullptr;  // the register-return stub, when the result is a scalar
  CallFn call = nullptr;
  RetKind ret_kind = RetKind::Void;
  std::size_t ret_size = 0;
};

// Plan numbers (cif->flags) index a table that only grows: readers need no lock.
constexpr std::size_t kChunkBits = 12;
constexpr std::size_t kChunk = std::size_t{1} << kChunkBits;
constexpr std::size_t kMaxChunks = 4096;  // 16 Mi distinct signatures
std::atomic<const Plan**> g_chunks[kMaxChunks];

const Plan* plan_at(unsigned number) noexcept {
  if (number == 0) return nullptr;
  const std::size_t i = number - 1;
  if ((i >> kChunkBits) >= kMaxChunks) return nullptr;
  const Plan** chunk = g_chunks[i >> kChunkBits].load(std::memory_order_acquire);
  return chunk ? chunk[i & (kChunk - 1)] : nullptr;
}

struct KeyHash {
  std::size_t operator()(const Plan* p) const noexcept { return p->hash; }
};
struct KeyEq {
  bool operator()(const Plan* a, const Plan* b) const noexcept {
    return a->same_key(b->abi, b->nfixed, b->variadic, b->ret, b->args.data(), b->args.size());
  }
};

// The registry of plans: the lock is taken only when a thread meets a signature for the
// first time. It is held across fork() so that the child never inherits it taken.
struct Registry {
  std::mutex mu;
  std::unordered_map<const Plan*, unsigned, KeyHash, KeyEq> numbers;
  unsigned count = 0;
};
Registry& registry() {
  static Registry* r = [] {
    auto* made = new Registry();  // never destroyed: cifs may be used during exit
    pthread_atfork([] { registry().mu.lock(); }, [] { registry().mu.unlock(); },
                   [] { registry().mu.unlock(); });
    return made;
  }();
  return *r;
}

Abi tramp_abi(ffi_abi abi) {
#if defined(__x86_64__)
  switch (abi) {
    case FFI_UNIX64: return Abi::SysV_X64;
    case FFI_WIN64:
    case FFI_GNUW64: return Abi::Win64;
    default: break;
  }
#else
  if (abi == FFI_SYSV) return Abi::Aapcs64;
#endif
  throw Refused{FFI_BAD_ABI};
}

template <class R, class Wide>
void call_direct(const Plan& p, void (*fn)(void), void* rvalue, void** avalue) {
  const R r = reinterpret_cast<R (*)(const void*, void* const*)>(const_cast<void*>(p.direct))(
      reinterpret_cast<const void*>(fn), avalue);
  if (rvalue) *static_cast<Wide*>(rvalue) = static_cast<Wide>(r);
}

void call_void(const Plan& p, void (*fn)(void), void*, void** avalue) {
  p.invoker(reinterpret_cast<const void*>(fn), nullptr, avalue);
}

void call_memory(const Plan& p, void (*fn)(void), void* rvalue, void** avalue) {
  if (rvalue) {
    p.invoker(reinterpret_cast<const void*>(fn), rvalue, avalue);
    return;
  }
  // libffi lets rvalue be NULL: the result goes to scratch space and is dropped.
  alignas(16) std::uint8_t small[256];
  std::unique_ptr<std::uint8_t[]> big;
  void* scratch = small;
  if (p.ret_size > sizeof small) {
    big.reset(new (std::align_val_t{16}) std::uint8_t[p.ret_size]);
    scratch = big.get();
  }
  p.invoker(reinterpret_cast<const void*>(fn), scratch, avalue);
}

template <class R>
CallFn integer_call(bool is_signed) {
  using S = std::make_signed_t<R>;
  using U = std::make_unsigned_t<R>;
  return is_signed ? &call_direct<S, ffi_sarg> : &call_direct<U, ffi_arg>;
}

void choose_call(Plan& p) {
  const Type* r = p.ret;
  p.ret_size = r->is_void() ? 0 : r->size();
  switch (r->kind()) {
    case tramp::TypeKind::Void:
      p.ret_kind = RetKind::Void;
      p.call = &call_void;
      return;
    case tramp::TypeKind::F32:
      p.ret_kind = RetKind::F32;
      p.direct = p.invoker.direct_entry(true, 4);
      p.call = &call_direct<float, float>;
      return;
    case tramp::TypeKind::F64:
      p.ret_kind = RetKind::F64;
      p.direct = p.invoker.direct_entry(true, 8);
      p.call = &call_direct<double, double>;
      return;
    default: break;
  }
  if ((r->is_integer() || r->kind() == tramp::TypeKind::Pointer) && r->size() <= 8) {
    const bool is_signed = r->is_signed();
    p.ret_kind = is_signed ? RetKind::Signed : RetKind::Unsigned;
    p.direct = p.invoker.direct_entry(false, r->size());
    switch (r->size()) {
      case 1: p.call = integer_call<std::int8_t>(is_signed); return;
      case 2: p.call = integer_call<std::int16_t>(is_signed); return;
      case 4: p.call = integer_call<std::int32_t>(is_signed); return;
      default: p.call = integer_call<std::int64_t>(is_signed); return;
    }
  }
  p.ret_kind = RetKind::Memory;
  p.call = &call_memory;
}

// The plan for a key, made on first use. Throws Refused.
unsigned plan_number(std::unique_ptr<Plan> key) {
  Registry& reg = registry();
  {
    std::lock_guard lock(reg.mu);
    auto it = reg.numbers.find(key.get());
    if (it != reg.numbers.end()) return it->second;
  }
  try {
    std::size_t fixed = key->variadic ? key->nfixed : Signature::kNotVariadic;
    // libffi's x86-64 calls always set %al to the vector registers used, so a variadic
    // function called through a plain ffi_prep_cif (CPython's ctypes calls printf so) still
    // finds its floating arguments: a SysV call is made as a variadic one with nothing after
    // the fixed arguments, which differs only in that one instruction (psABI 3.5.7).
    const Abi abi = tramp_abi(key->abi);
    if (abi == Abi::SysV_X64 && !key->variadic) fixed = key->args.size();
    key->call_sig = Signature(key->ret, key->args, abi, fixed);
    key->invoker = tramp::Engine::global().invoker(key->call_sig);
    choose_call(*key);
  } catch (const tramp::Error&) {
    throw Refused{FFI_BAD_TYPEDEF};
  } catch (const std::bad_alloc&) {
    throw Refused{FFI_BAD_TYPEDEF};
  }
  std::lock_guard lock(reg.mu);
  auto it = reg.numbers.find(key.get());
  if (it != reg.numbers.end()) return it->second;  // another thread made it first
  const std::size_t index = reg.count;
  if ((index >> kChunkBits) >= kMaxChunks) throw Refused{FFI_BAD_TYPEDEF};
  const Plan** chunk = g_chunks[index >> kChunkBits].load(std::memory_order_relaxed);
  if (!chunk) {
    chunk = new const Plan*[kChunk]();
    g_chunks[index >> kChunkBits].store(chunk, std::memory_order_release);
  }
  const Plan* p = key.release();
  // The slot is written before the number is published (through the cif) to any reader.
  std::atomic_ref<const Plan*>(chunk[index & (kChunk - 1)]).store(p, std::memory_order_release);
  const unsigned number = ++reg.count;
  reg.numbers.emplace(p, number);
  return number;
}

// Each thread remembers the plans it used last: a repeated signature (ctypes prepares a cif
// on every call) is found without the registry's lock.
struct RecentPlan {
  std::size_t hash = 0;
  unsigned number = 0;
};
constexpr std::size_t kRecent = 256;
thread_local std::array<RecentPlan, kRecent> t_recent;

ffi_status prep(ffi_cif* cif, ffi_abi abi, bool variadic, unsigned nfixed, unsigned ntotal, ffi_type* rtype,
                ffi_type** atypes) noexcept {
  if (!cif) return FFI_BAD_TYPEDEF;
  if (!(abi > FFI_FIRST_ABI && abi < FFI_LAST_ABI)) return FFI_BAD_ABI;
  if (nfixed > ntotal || (ntotal && !atypes) || !rtype) return FFI_BAD_ARGTYPE;
  *cif = ffi_cif{};
  cif->abi = abi;
  cif->nargs = ntotal;
  cif->arg_types = atypes;
  cif->rtype = rtype;
  try {
    tramp_abi(abi);
    const Type* ret = tramp_type(rtype);
    std::array<const Type*, 16> small;
    std::vector<const Type*> big;
    const Type** args = small.data();
    if (ntotal > small.size()) {
      big.resize(ntotal);
      args = big.data();
    }
    std::size_t bytes = 0;
    for (unsigned i = 0; i < ntotal; ++i) {
      const Type* a = tramp_type(atypes[i]);
      if (a->is_void()) return FFI_BAD_TYPEDEF;
      // libffi's promotion check for what follows `...`: C passes no float and no integer
      // narrower than int there (C11 6.5.2.2p7).
      if (variadic && i >= nfixed &&
          (a->kind() == tramp::TypeKind::F32 || (!a->is_record() && a->size() < sizeof(int))))
        return FFI_BAD_ARGTYPE;
      args[i] = a;
      bytes += (a->size() + 7) / 8 * 8;
    }
    cif->bytes = static_cast<unsigned>(std::min<std::size_t>(bytes, 0xFFFFFFFFu));

    const std::size_t h = key_hash(abi, nfixed, variadic, ret, args, ntotal);
    RecentPlan& recent = t_recent[h % kRecent];
    if (recent.number && recent.hash == h) {
      const Plan* p = plan_at(recent.number);
      if (p && p->same_key(abi, nfixed, variadic, ret, args, ntotal)) {
        cif->flags = recent.number;
        return FFI_OK;
      }
    }
    const unsigned number = plan_number(std::make_unique<Plan>(abi, nfixed, variadic, ret, args, ntotal));
    recent = {h, number};
    cif->flags = number;
    return FFI_OK;
  } catch (const Refused& r) {
    return r.status;
  } catch (...) {
    return FFI_BAD_TYPEDEF;
  }
}

[[noreturn]] void misuse(const char* what) {
  std::fprintf(stderr, "libffi (tramp): %s\n", what);
  std::abort();
}

const Plan& plan_of(const ffi_cif* cif, const char* who) {
  const Plan* p = cif ? plan_at(cif->flags) : nullptr;
  if (!p) {
    std::fprintf(stderr, "libffi (tramp): %s: the ffi_cif was not prepared by ffi_prep_cif\n", who);
    std::abort();
  }
  return *p;
}

// ---- Raw arguments ----------------------------------------------------------------------
// The raw API packs every argument into FFI_SIZEOF_ARG-byte slots (a struct as a pointer to
// it); the Java variant gives 64-bit values two slots, as libffi's java_raw_api does.

std::size_t slots_of(const ffi_type* t, bool java) {
  if (t->type == FFI_TYPE_STRUCT || t->type == FFI_TYPE_COMPLEX) return 1;
  if (java) return t->size > 4 && t->size <= 8 ? 2 : (t->size + FFI_SIZEOF_ARG - 1) / FFI_SIZEOF_ARG;
  return (t->size + FFI_SIZEOF_ARG - 1) / FFI_SIZEOF_ARG;
}

std::size_t raw_size(const ffi_cif* cif, bool java) {
  std::size_t n = 0;
  for (unsigned i = 0; i < cif->nargs; ++i) n += slots_of(cif->arg_types[i], java) * FFI_SIZEOF_ARG;
  return n;
}

void raw_to_ptrarray(const ffi_cif* cif, ffi_raw* raw, void** args, bool java) {
  for (unsigned i = 0; i < cif->nargs; ++i) {
    const ffi_type* t = cif->arg_types[i];
    if (t->type == FFI_TYPE_STRUCT || t->type == FFI_TYPE_COMPLEX) {
      args[i] = raw->ptr;
    } else {
      args[i] = raw;  // little-endian: a narrow value is the slot's first bytes
    }
    raw += slots_of(t, java);
  }
}

void ptrarray_to_raw(const ffi_cif* cif, void** args, ffi_raw* raw, bool java) {
  for (unsigned i = 0; i < cif->nargs; ++i) {
    const ffi_type* t = cif->arg_types[i];
    const std::size_t slots = slots_of(t, java);
    switch (t->type) {
      case FFI_TYPE_UINT8: raw->uint = *static_cast<std::uint8_t*>(args[i]); break;
      case FFI_TYPE_SINT8: raw->sint = *static_cast<std::int8_t*>(args[i]); break;
      case FFI_TYPE_UINT16: raw->uint = *static_cast<std::uint16_t*>(args[i]); break;
      case FFI_TYPE_SINT16: raw->sint = *static_cast<std::int16_t*>(args[i]); break;
      case FFI_TYPE_UINT32: raw->uint = *static_cast<std::uint32_t*>(args[i]); break;
      case FFI_TYPE_INT:
      case FFI_TYPE_SINT32: raw->sint = *static_cast<std::int32_t*>(args[i]); break;
      case FFI_TYPE_FLOAT:
        raw->uint = 0;
        raw->flt = *static_cast<float*>(args[i]);
        break;
      case FFI_TYPE_STRUCT:
      case FFI_TYPE_COMPLEX: raw->ptr = args[i]; break;
      default:
        std::memset(raw, 0, slots * FFI_SIZEOF_ARG);
        std::memcpy(raw, args[i], t->size);
        break;
    }
    raw += slots;
  }
}

void raw_call(ffi_cif* cif, void (*fn)(void), void* rvalue, ffi_raw* raw, bool java) {
  std::array<void*, 32> small;
  std::vector<void*> big;
  void** args = small.data();
  if (cif->nargs > small.size()) {
    big.resize(cif->nargs);
    args = big.data();
  }
  raw_to_ptrarray(cif, raw, args, java);
  ffi_call(cif, fn, rvalue, args);
}

// ---- Closures ---------------------------------------------------------------------------

enum class ClosureKind : std::uint8_t { Plain, Raw, JavaRaw };

// What the face keeps for one closure: the code handed out (a veneer), the thunk it jumps to
// once prepared, and the closure's writable memory.
struct ClosureState {
  void* closure = nullptr;  // ffi_closure, ffi_raw_closure or ffi_java_raw_closure
  bool allocated = false;   // ffi_closure_alloc made it (else: the program's own memory)
  ClosureKind kind = ClosureKind::Plain;
  const Plan* plan = nullptr;
  tramp::Veneer veneer;
  tramp::Callback thunk;
  std::atomic<const void*> foreign_slot{nullptr};  // the target of a veneer written into `closure`
};

struct Closures {
  std::mutex mu;
  std::unordered_map<void*, std::unique_ptr<ClosureState>> by_address;  // writable address -> state
};
Closures& closures() {
  static Closures* c = [] {
    auto* made = new Closures();
    pthread_atfork([] { closures().mu.lock(); }, [] { closures().mu.unlock(); },
                   [] { closures().mu.unlock(); });
    return made;
  }();
  return *c;
}

// A closure that ffi_closure_alloc handed out but nobody prepared: calling it is the
// program's error, reported instead of jumping to nowhere.
void unprepared_closure() { misuse("a closure from ffi_closure_alloc was called before ffi_prep_closure_loc"); }

// The thunk's handler: libffi's closure functions write an integer result as a whole ffi_arg,
// so they get a word-sized buffer and the thunk returns its low bytes (little-endian).
void run_closure(void* ret, void* const* args, void* user) {
  auto* state = static_cast<ClosureState*>(user);
  const Plan& p = *state->plan;
  const bool widened = p.ret_kind == RetKind::Signed || p.ret_kind == RetKind::Unsigned || p.ret_kind == RetKind::Void;
  alignas(16) ffi_arg word[2] = {0, 0};
  void* target = widened ? static_cast<void*>(word) : ret;
  switch (state->kind) {
    case ClosureKind::Plain: {
      auto* c = static_cast<ffi_closure*>(state->closure);
      c->fun(c->cif, target, const_cast<void**>(args), c->user_data);
      break;
    }
    case ClosureKind::Raw:
    case ClosureKind::JavaRaw: {
      const bool java = state->kind == ClosureKind::JavaRaw;
      auto* c = static_cast<ffi_raw_closure*>(state->closure);  // same layout as the Java one
      const std::size_t bytes = raw_size(c->cif, java);
      alignas(16) ffi_raw small[32];
      std::unique_ptr<ffi_raw[]> big;
      ffi_raw* raw = small;
      if (bytes > sizeof small) {
        big.reset(new ffi_raw[bytes / sizeof(ffi_raw)]);
        raw = big.get();
      }
      ptrarray_to_raw(c->cif, const_cast<void**>(args), raw, java);
      c->fun(c->cif, target, raw, c->user_data);
      break;
    }
  }
  if (widened && p.ret_size) std::memcpy(ret, word, p.ret_size);
}

ClosureState* state_of(void* closure) {
  Closures& all = closures();
  std::lock_guard lock(all.mu);
  auto it = all.by_address.find(closure);
  return it == all.by_address.end() ? nullptr : it->second.get();
}

// Installs cif and the handler in a closure of any kind and points its code at a new thunk.
template <class Closure, class Fun>
ffi_status prep_closure(Closure* closure, ffi_cif* cif, Fun fun, void* user_data, void* codeloc,
                        ClosureKind kind) noexcept {
  if (!closure || !cif || !fun) return FFI_BAD_TYPEDEF;
  const Plan* p = plan_at(cif->flags);
  if (!p) return FFI_BAD_ABI;
  try {
    ClosureState* state = state_of(closure);
    std::unique_ptr<ClosureState> made;
    if (!state) {
      // Memory the program allocated itself (cffi maps its own): the veneer's code is written
      // into the closure's trampoline bytes, which the program has made executable.
      made = std::make_unique<ClosureState>();
      made->closure = closure;
      state = made.get();
    }
    // A thunk with the signature's own convention: a SysV cif's calls are made as variadic
    // ones (plan_number), a callback is the plain function.
    Signature sig = p->call_sig;
    if (!p->variadic && sig.variadic())
      sig = Signature(sig.ret(), std::vector<const Type*>(sig.args().begin(), sig.args().end()), sig.abi());
    state->plan = p;
    state->kind = kind;
    closure->cif = cif;
    closure->fun = fun;
    closure->user_data = user_data;
    tramp::Callback thunk = tramp::Engine::global().callback(sig, &run_closure, state);
    if (state->allocated) {
      state->veneer.retarget(thunk.code());
    } else {
      state->foreign_slot.store(thunk.code(), std::memory_order_release);
      std::vector<std::uint8_t> code = tramp::veneer_code(&state->foreign_slot);
      void* at = codeloc ? codeloc : closure;
      if (code.size() > FFI_TRAMPOLINE_SIZE) return FFI_BAD_ABI;
      std::memcpy(at, code.data(), code.size());
      __builtin___clear_cache(static_cast<char*>(at), static_cast<char*>(at) + code.size());
    }
    // The previous thunk (a closure prepared again) goes; libffi too forbids re-preparing a
    // closure that is being called.
    state->thunk = std::move(thunk);
    if (made) {
      Closures& all = closures();
      std::lock_guard lock(all.mu);
      all.by_address[closure] = std::move(made);
    }
    return FFI_OK;
  } catch (const tramp::Error&) {
    return FFI_BAD_TYPEDEF;
  } catch (...) {
    return FFI_BAD_TYPEDEF;
  }
}

// ---- Call plans (libffi 3.7) ------------------------------------------------------------

}  // namespace

struct ffi_call_plan {
  const Plan* plan;
};

extern "C" {

const char* ffi_get_version(void) { return FFI_VERSION_STRING; }
unsigned long ffi_get_version_number(void) { return FFI_VERSION_NUMBER; }
unsigned int ffi_get_default_abi(void) { return FFI_DEFAULT_ABI; }
size_t ffi_get_closure_size(void) { return sizeof(ffi_closure); }

ffi_status ffi_prep_cif(ffi_cif* cif, ffi_abi abi, unsigned int nargs, ffi_type* rtype, ffi_type** atypes) {
  return prep(cif, abi, false, nargs, nargs, rtype, atypes);
}

ffi_status ffi_prep_cif_var(ffi_cif* cif, ffi_abi abi, unsigned int nfixedargs, unsigned int ntotalargs,
                            ffi_type* rtype, ffi_type** atypes) {
  return prep(cif, abi, true, nfixedargs, ntotalargs, rtype, atypes);
}

void ffi_call(ffi_cif* cif, void (*fn)(void), void* rvalue, void** avalue) {
  const Plan& p = plan_of(cif, "ffi_call");
  p.call(p, fn, rvalue, avalue);
}

ffi_status ffi_get_struct_offsets(ffi_abi abi, ffi_type* struct_type, size_t* offsets) {
  if (!(abi > FFI_FIRST_ABI && abi < FFI_LAST_ABI)) return FFI_BAD_ABI;
  if (!struct_type || struct_type->type != FFI_TYPE_STRUCT) return FFI_BAD_TYPEDEF;
  try {
    struct_type->size = 0;  // libffi computes the layout again
    const Type* t = tramp_type(struct_type);
    if (offsets)
      for (std::size_t i = 0; i < t->fields().size(); ++i) offsets[i] = t->fields()[i].offset;
    return FFI_OK;
  } catch (const Refused& r) {
    return r.status;
  } catch (...) {
    return FFI_BAD_TYPEDEF;
  }
}

ffi_call_plan* ffi_call_plan_alloc(ffi_cif* cif) {
  const Plan* p = cif ? plan_at(cif->flags) : nullptr;
  if (!p) return nullptr;
  return new (std::nothrow) ffi_call_plan{p};
}

void ffi_call_plan_invoke(ffi_call_plan* plan, void (*fn)(void), void* rvalue, void** avalue) {
  if (!plan) misuse("ffi_call_plan_invoke: the plan is NULL");
  plan->plan->call(*plan->plan, fn, rvalue, avalue);
}

void ffi_call_plan_free(ffi_call_plan* plan) { delete plan; }

size_t ffi_call_plan_size(ffi_call_plan* plan) { return plan ? sizeof(ffi_call_plan) : 0; }

size_t ffi_raw_size(ffi_cif* cif) { return raw_size(cif, false); }
void ffi_raw_to_ptrarray(ffi_cif* cif, ffi_raw* raw, void** args) { raw_to_ptrarray(cif, raw, args, false); }
void ffi_ptrarray_to_raw(ffi_cif* cif, void** args, ffi_raw* raw) { ptrarray_to_raw(cif, args, raw, false); }
void ffi_raw_call(ffi_cif* cif, void (*fn)(void), void* rvalue, ffi_raw* avalue) {
  raw_call(cif, fn, rvalue, avalue, false);
}

size_t ffi_java_raw_size(ffi_cif* cif) { return raw_size(cif, true); }
void ffi_java_raw_to_ptrarray(ffi_cif* cif, ffi_java_raw* raw, void** args) { raw_to_ptrarray(cif, raw, args, true); }
void ffi_java_ptrarray_to_raw(ffi_cif* cif, void** args, ffi_java_raw* raw) { ptrarray_to_raw(cif, args, raw, true); }
void ffi_java_raw_call(ffi_cif* cif, void (*fn)(void), void* rvalue, ffi_java_raw* avalue) {
  raw_call(cif, fn, rvalue, avalue, true);
}

void* ffi_closure_alloc(size_t size, void** code) {
  if (!code) return nullptr;
  try {
    auto state = std::make_unique<ClosureState>();
    state->allocated = true;
    state->veneer = tramp::Engine::global().veneer(reinterpret_cast<const void*>(&unprepared_closure));
    void* memory = std::calloc(1, std::max(size, sizeof(ffi_closure)));
    if (!memory) return nullptr;
    state->closure = memory;
    *code = const_cast<void*>(state->veneer.code());
    Closures& all = closures();
    std::lock_guard lock(all.mu);
    all.by_address[memory] = std::move(state);
    return memory;
  } catch (...) {
    return nullptr;
  }
}

void ffi_closure_free(void* closure) {
  if (!closure) return;
  std::unique_ptr<ClosureState> state;
  {
    Closures& all = closures();
    std::lock_guard lock(all.mu);
    auto it = all.by_address.find(closure);
    if (it == all.by_address.end() || !it->second->allocated) return;  // not ffi_closure_alloc's
    state = std::move(it->second);
    all.by_address.erase(it);
  }
  state.reset();
  std::free(closure);
}

ffi_status ffi_prep_closure_loc(ffi_closure* closure, ffi_cif* cif, void (*fun)(ffi_cif*, void*, void**, void*),
                                void* user_data, void* codeloc) {
  return prep_closure(closure, cif, fun, user_data, codeloc, ClosureKind::Plain);
}

ffi_status ffi_prep_closure(ffi_closure* closure, ffi_cif* cif, void (*fun)(ffi_cif*, void*, void**, void*),
                            void* user_data) {
  return prep_closure(closure, cif, fun, user_data, closure, ClosureKind::Plain);
}

ffi_status ffi_prep_raw_closure_loc(ffi_raw_closure* closure, ffi_cif* cif,
                                    void (*fun)(ffi_cif*, void*, ffi_raw*, void*), void* user_data, void* codeloc) {
  return prep_closure(closure, cif, fun, user_data, codeloc, ClosureKind::Raw);
}

ffi_status ffi_prep_raw_closure(ffi_raw_closure* closure, ffi_cif* cif, void (*fun)(ffi_cif*, void*, ffi_raw*, void*),
                                void* user_data) {
  return prep_closure(closure, cif, fun, user_data, closure, ClosureKind::Raw);
}

ffi_status ffi_prep_java_raw_closure_loc(ffi_java_raw_closure* closure, ffi_cif* cif,
                                         void (*fun)(ffi_cif*, void*, ffi_java_raw*, void*), void* user_data,
                                         void* codeloc) {
  return prep_closure(closure, cif, fun, user_data, codeloc, ClosureKind::JavaRaw);
}

ffi_status ffi_prep_java_raw_closure(ffi_java_raw_closure* closure, ffi_cif* cif,
                                     void (*fun)(ffi_cif*, void*, ffi_java_raw*, void*), void* user_data) {
  return prep_closure(closure, cif, fun, user_data, closure, ClosureKind::JavaRaw);
}

// Go closures pass the closure in the static chain register (r10, x18), which tramp's stubs
// and thunks do not yet set or read: refused (docs/libffi.md).
ffi_status ffi_prep_go_closure(ffi_go_closure*, ffi_cif*, void (*)(ffi_cif*, void*, void**, void*)) {
  return FFI_BAD_ABI;
}

void ffi_call_go(ffi_cif* cif, void (*fn)(void), void* rvalue, void** avalue, void* closure) {
  if (closure) misuse("ffi_call_go: calls with a static chain are not supported");
  ffi_call(cif, fn, rvalue, avalue);
}

}  // extern "C"
