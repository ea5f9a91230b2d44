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

// The tramp Type of each scalar type code (nullptr: not a scalar), made once.
constexpr unsigned kTypeCodes = FFI_TYPE_SINT128 + 1;
struct ScalarTypes {
  std::array<const Type*, kTypeCodes> by_code{};
  ScalarTypes() {
    by_code[FFI_TYPE_VOID] = Type::void_();
    by_code[FFI_TYPE_INT] = Type::i32();
    by_code[FFI_TYPE_FLOAT] = Type::f32();
    by_code[FFI_TYPE_DOUBLE] = Type::f64();
    by_code[FFI_TYPE_LONGDOUBLE] = long_double_type();
    by_code[FFI_TYPE_UINT8] = Type::u8();
    by_code[FFI_TYPE_SINT8] = Type::i8();
    by_code[FFI_TYPE_UINT16] = Type::u16();
    by_code[FFI_TYPE_SINT16] = Type::i16();
    by_code[FFI_TYPE_UINT32] = Type::u32();
    by_code[FFI_TYPE_SINT32] = Type::i32();
    by_code[FFI_TYPE_UINT64] = Type::u64();
    by_code[FFI_TYPE_SINT64] = Type::i64();
    by_code[FFI_TYPE_POINTER] = Type::pointer();
    by_code[FFI_TYPE_UINT128] = Type::u128();
    by_code[FFI_TYPE_SINT128] = Type::i128();
  }
};
const ScalarTypes g_scalars;

// The tramp Type of a scalar ffi_type, or nullptr for a struct. A scalar whose size is not
// its code's is no valid ffi_type (libffi asserts). A complex type is libffi's: its one
// element is the floating type of both parts (float, double or long double), and its size
// twice that element's.
const Type* scalar_type(const ffi_type* t) {
  if (t->type == FFI_TYPE_STRUCT) return nullptr;
  if (t->type == FFI_TYPE_COMPLEX) {
    const ffi_type* part = t->elements ? t->elements[0] : nullptr;
    if (!part || part->type == FFI_TYPE_STRUCT || part->type == FFI_TYPE_COMPLEX) throw Refused{FFI_BAD_TYPEDEF};
    const Type* element = scalar_type(part);
    if (!element->is_float()) throw Refused{FFI_BAD_TYPEDEF};
    const Type* r = Type::complex(element);
    if (t->size != r->size()) throw Refused{FFI_BAD_TYPEDEF};
    return r;
  }
  const Type* r = t->type < kTypeCodes ? g_scalars.by_code[t->type] : nullptr;
  if (!r) throw Refused{FFI_BAD_TYPEDEF};  // vector and unknown codes
  if (r->is_void()) return r;
  if (t->size != r->size()) throw Refused{FFI_BAD_TYPEDEF};
  return r;
}

// Each thread remembers the struct ffi_types it translated last, keyed by address. A
// remembered Type is used only while the ffi_type still says what it said then (size,
// alignment, the elements array and each member's Type, checked again), so a program that
// changes an ffi_type or reuses its memory for another gets a new translation. Within one
// prep call (`pass`) an entry checked once is not checked again: a struct that uses another
// many times costs one translation of it, not one per use.
constexpr std::size_t kRecentStructMembers = 16;
struct RecentStruct {
  const ffi_type* key = nullptr;
  ffi_type** elements = nullptr;
  std::size_t size = 0;
  unsigned short alignment = 0;
  std::uint32_t count = 0;
  std::uint64_t pass = 0;  // the prep call that last checked or made it
  const Type* type = nullptr;
  std::array<const Type*, kRecentStructMembers> members{};
};
constexpr std::size_t kRecentStructs = 64;

// Each thread also remembers the plans it used last: a repeated signature (ctypes prepares a
// cif on every call) is found without the registry's lock.
struct RecentPlan {
  std::size_t hash = 0;
  unsigned number = 0;
};
constexpr std::size_t kRecentPlans = 256;

// A thread's caches, one object found through one pointer. The pointer uses the initial-exec
// TLS model (8 bytes of the static TLS that glibc keeps for libraries loaded later, as
// _ctypes loads this one): reading it is one instruction, where the dynamic models call into
// the loader on every prep. The object itself is on the heap, freed at thread exit.
struct ThreadCaches {
  std::uint64_t pass = 0;
  std::array<RecentStruct, kRecentStructs> structs;
  std::array<RecentPlan, kRecentPlans> plans;
};
[[gnu::tls_model("initial-exec")]] thread_local ThreadCaches* t_caches_ptr = nullptr;

[[gnu::noinline]] ThreadCaches& new_thread_caches() {
  static pthread_key_t key = [] {
    pthread_key_t k;
    // At thread exit: the caches go; a later use in that thread (another exit handler) makes
    // new ones, which this runs for again.
    if (pthread_key_create(&k, [](void* p) {
          delete static_cast<ThreadCaches*>(p);
          t_caches_ptr = nullptr;
        }) != 0)
      throw std::bad_alloc();
    return k;
  }();
  auto made = std::make_unique<ThreadCaches>();
  if (pthread_setspecific(key, made.get()) != 0) throw std::bad_alloc();
  t_caches_ptr = made.release();
  return *t_caches_ptr;
}

inline ThreadCaches& thread_caches() {
  ThreadCaches* c = t_caches_ptr;
  return c ? *c : new_thread_caches();
}

RecentStruct& struct_slot(ThreadCaches& caches, const ffi_type* t) {
  return caches.structs[(reinterpret_cast<std::uintptr_t>(t) >> 4) % kRecentStructs];
}

const Type* tramp_type(ffi_type* t, std::size_t depth = 0);

// The Type `t` was translated to in this thread, if `t` is unchanged since; nullptr otherwise.
const Type* remembered_struct(ffi_type* t, std::size_t depth) {
  ThreadCaches& caches = thread_caches();
  RecentStruct& slot = struct_slot(caches, t);
  if (slot.key != t || slot.elements != t->elements || slot.size != t->size || slot.alignment != t->alignment ||
      t->size == 0)
    return nullptr;
  if (slot.pass == caches.pass) return slot.type;
  // The members' own translations may reuse this slot: check against a copy.
  const RecentStruct seen = slot;
  std::uint32_t i = 0;
  for (ffi_type** e = t->elements; *e; ++e, ++i)
    if (i >= seen.count || tramp_type(*e, depth + 1) != seen.members[i]) return nullptr;
  if (i != seen.count) return nullptr;
  RecentStruct& again = struct_slot(caches, t);
  if (again.key == t) again.pass = caches.pass;
  return seen.type;
}

void remember_struct(ffi_type* t, const Type* type, const std::vector<tramp::FieldSpec>& fields) {
  if (fields.size() > kRecentStructMembers) return;
  ThreadCaches& caches = thread_caches();
  RecentStruct& slot = struct_slot(caches, t);
  slot.key = t;
  slot.elements = t->elements;
  slot.size = t->size;
  slot.alignment = t->alignment;
  slot.count = static_cast<std::uint32_t>(fields.size());
  slot.pass = caches.pass;
  slot.type = type;
  for (std::size_t i = 0; i < fields.size(); ++i) slot.members[i] = fields[i].type;
}

// A struct whose given size is larger than its members make: libffi lays out only structs of
// size 0 and passes others by the size they give. CPython's ctypes describes an array member
// of a struct larger than 16 bytes as one pointer so. Every ABI here passes a struct over 16
// bytes in memory or by reference whatever its members (psABI 3.2.3 rule 5(c), Win64 by size,
// AAPCS64 B.4 when no HFA), so the members are kept and the rest becomes bytes. Smaller ones
// would be classified by their members and stay refused.
const Type* presized_struct(const ffi_type* t, const Type* natural, std::vector<tramp::FieldSpec> fields) {
  if (t->size <= 16 || t->size <= natural->size() || t->alignment < natural->align()) return nullptr;
  const auto& last = natural->fields().back();
  fields.push_back({Type::array(Type::u8(), t->size - (last.offset + last.type->size()))});
  tramp::RecordOptions options;
  options.align = t->alignment;
  const Type* made = Type::struct_(fields, options);
  return made->size() == t->size && made->align() == t->alignment ? made : nullptr;
}

// The tramp Type of a struct ffi_type, translated from its members.
const Type* translate_struct(ffi_type* t, std::size_t depth) {
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
    }
    const Type* made = nullptr;
    if (t->size == natural->size() && t->alignment == natural->align()) {
      made = natural;
    } else {
      tramp::RecordOptions options;
      options.packed = t->alignment < natural->align();
      if (t->alignment > natural->align()) options.align = t->alignment;
      const Type* declared = Type::struct_(fields, options);
      if (declared->size() == t->size && declared->align() == t->alignment) made = declared;
    }
    if (!made) {
      // CPython's ctypes describes a union as a struct of all its members with the union's
      // size and alignment.
      const Type* as_union = Type::union_(fields);
      if (as_union->size() == t->size && as_union->align() == t->alignment) made = as_union;
    }
    if (!made) made = presized_struct(t, natural, fields);
    if (made) {
      remember_struct(t, made, fields);
      return made;
    }
  } catch (const tramp::Error&) {
  }
  throw Refused{FFI_BAD_TYPEDEF};
}

// The tramp Type of `t`. A struct whose size is 0 gets size and alignment filled in as libffi
// does (members at their natural alignment, tail padding); one whose size is already set
// (CPython's ctypes sets it) must describe what its members make, or what they make packed
// or with a larger alignment. The walk is bounded by tramp's depth limit: a struct that
// contains itself is refused, not followed.
const Type* tramp_type(ffi_type* t, std::size_t depth) {
  if (!t) throw Refused{FFI_BAD_TYPEDEF};
  if (const Type* s = scalar_type(t)) return s;
  if (!t->elements || !t->elements[0] || depth >= tramp::kMaxTypeDepth) throw Refused{FFI_BAD_TYPEDEF};
  if (const Type* r = remembered_struct(t, depth)) return r;
  return translate_struct(t, depth);
}

// tramp_type, with the scalars' case inline (prep meets mostly scalars).
inline const Type* type_of(ffi_type* t) {
  if (t && t->type < kTypeCodes && t->type != FFI_TYPE_STRUCT) {
    const Type* r = g_scalars.by_code[t->type];
    if (r && (r->size() == t->size || r->is_void())) return r;
  }
  return tramp_type(t);
}

// ---- Plans ------------------------------------------------------------------------------

// How ffi_call writes the result. libffi widens an integer narrower than a word to ffi_arg;
// a scalar comes back from the register-return stub, anything else through the invoke stub.
// Stored: a scalar that the stub itself stores (widened), as Memory.
enum class RetKind : std::uint8_t { Void, Memory, Stored, S8, U8, S16, U16, S32, U32, Word, F32, F64 };

// The hash of a plan's key, the same for the per-thread cache and the registry; prep feeds
// it one argument at a time.
struct KeyHasher {
  std::size_t h;
  static std::size_t seed(ffi_abi abi, unsigned nfixed, bool variadic) {
    // (A multiply, not a shift: gcc reloads a spilled abi for a shift with a wider load than
    // the store, which stalls store forwarding on every prep call.)
    return static_cast<std::size_t>(abi) * 0x100000001B3ull ^ static_cast<std::size_t>(nfixed) << 8 ^ variadic;
  }
  KeyHasher(std::size_t seed, const Type* ret) : h(seed) { add(ret); }
  void add(const Type* t) {
    h = (h ^ reinterpret_cast<std::uintptr_t>(t)) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
};

std::size_t key_hash(ffi_abi abi, unsigned nfixed, bool variadic, const Type* ret, const Type* const* args,
                     std::size_t n) {
  KeyHasher k(KeyHasher::seed(abi, nfixed, variadic), ret);
  for (std::size_t i = 0; i < n; ++i) k.add(args[i]);
  return k.h;
}

struct Slot;
// How ffi_call stores a result (libffi widens narrow integers to ffi_arg), then calls the stub.
using CallFn = void (*)(const Slot&, void (*)(void), void*, void**);

// One signature as the face uses it; made once per distinct (abi, types, fixed count), kept
// for the life of the process (a cif may be used until then).
struct Plan {
  Plan(ffi_abi abi_, unsigned nfixed_, bool variadic_, const Type* ret_, const Type* const* args_, std::size_t n)
      : abi(abi_), nfixed(nfixed_), variadic(variadic_), ret(ret_), args(args_, args_ + n),
        hash(key_hash(abi_, nfixed_, variadic_, ret_, args_, n)) {}

  bool same_key(ffi_abi abi_, unsigned nfixed_, bool variadic_, const Type* ret_, const Type* const* args_,
                std::size_t n) const {
    if (abi != abi_ || nfixed != nfixed_ || variadic != variadic_ || ret != ret_ || args.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i)  // a loop, not memcmp: signatures are short
      if (args[i] != args_[i]) return false;
    return true;
  }

  // How ffi_call calls it (copied into the plan's Slot, with call_for(ret_kind)).
  const void* entry = nullptr;  // the register-return stub for a scalar, else the invoke stub
  RetKind ret_kind = RetKind::Void;
  std::size_t ret_size = 0;
  // The key.
  ffi_abi abi;
  unsigned nfixed;  // == args.size() when not variadic
  bool variadic;
  const Type* ret;
  std::vector<const Type*> args;
  std::size_t hash;
  Signature call_sig{Type::void_(), {}};
  // What a closure of the cif is: the signature with its own convention (a SysV cif's calls
  // are made as variadic ones, a callback is the plain function).
  Signature closure_sig{Type::void_(), {}};
  tramp::Invoker invoker;

  // Go closures (ffi_call_go, ffi_prep_go_closure): the call and the closure thunk with a
  // static chain, made once, on first use.
  struct GoParts {
    tramp::InvokeFn call = nullptr;  // widened, as ffi_call's results are
    tramp::Callback thunk;
  };
  const GoParts& go_parts() const;
  mutable std::once_flag go_once;
  mutable std::unique_ptr<GoParts> go;
};

// Plan numbers (cif->flags) index a table that only grows, so readers need no lock. What a
// call needs is in the table itself: ffi_call loads the slot's function, which loads the stub.
// The table is zero-initialised .bss, paged in as it fills (24 bytes per distinct signature);
// number 0 is never given out, so an unprepared (zeroed) cif finds no plan.
struct Slot {
  std::atomic<CallFn> call{nullptr};  // stored last, with release: the slot is complete
  const void* entry = nullptr;
  const Plan* plan = nullptr;
};
constexpr std::size_t kMaxPlans = std::size_t{1} << 20;
Slot g_slots[kMaxPlans];

inline const Slot* slot_at(unsigned number) noexcept {
  return number < kMaxPlans && g_slots[number].call.load(std::memory_order_acquire) ? &g_slots[number] : nullptr;
}
inline const Plan* plan_at(unsigned number) noexcept {
  const Slot* s = slot_at(number);
  return s ? s->plan : nullptr;
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

// Where a result the caller does not want goes (libffi lets rvalue be NULL): `size` bytes at
// the largest alignment a C type may ask of it here.
class ResultScratch {
 public:
  explicit ResultScratch(std::size_t size) {
    if (size > sizeof small_) big_.reset(new std::uint8_t[size + kAlign - 1]);
  }
  void* get() {
    if (!big_) return small_;
    const auto at = reinterpret_cast<std::uintptr_t>(big_.get());
    return reinterpret_cast<void*>((at + kAlign - 1) / kAlign * kAlign);
  }

 private:
  static constexpr std::size_t kAlign = 64;
  alignas(kAlign) std::uint8_t small_[256];
  std::unique_ptr<std::uint8_t[]> big_;
};

[[gnu::noinline]] void call_dropping_result(const Plan& p, void (*fn)(void), void** avalue) {
  ResultScratch scratch(p.ret_size);
  p.invoker(reinterpret_cast<const void*>(fn), scratch.get(), avalue);
}

template <class R, class Wide>
void call_register(const Slot& s, void (*fn)(void), void* rvalue, void** avalue) {
  const R r = reinterpret_cast<R (*)(void (*)(void), void**)>(const_cast<void*>(s.entry))(fn, avalue);
  if (rvalue) *static_cast<Wide*>(rvalue) = static_cast<Wide>(r);
}

// A void result, or one in memory: a tail jump into the invoke stub, which returns to
// ffi_call's caller.
void call_invoke(const Slot& s, void (*fn)(void), void* rvalue, void** avalue) {
  reinterpret_cast<tramp::InvokeFn>(const_cast<void*>(s.entry))(reinterpret_cast<const void*>(fn), rvalue, avalue);
}

void call_memory(const Slot& s, void (*fn)(void), void* rvalue, void** avalue) {
  if (!rvalue) return call_dropping_result(*s.plan, fn, avalue);
  call_invoke(s, fn, rvalue, avalue);
}

CallFn call_for(RetKind k) {
  switch (k) {
    case RetKind::Void: return &call_invoke;
    case RetKind::Memory:
    case RetKind::Stored: return &call_memory;
    case RetKind::S8: return &call_register<std::int8_t, ffi_sarg>;
    case RetKind::U8: return &call_register<std::uint8_t, ffi_arg>;
    case RetKind::S16: return &call_register<std::int16_t, ffi_sarg>;
    case RetKind::U16: return &call_register<std::uint16_t, ffi_arg>;
    case RetKind::S32: return &call_register<std::int32_t, ffi_sarg>;
    case RetKind::U32: return &call_register<std::uint32_t, ffi_arg>;
    case RetKind::Word: return &call_register<std::uint64_t, std::uint64_t>;
    case RetKind::F32: return &call_register<float, float>;
    case RetKind::F64: return &call_register<double, double>;
  }
  return nullptr;
}

RetKind integer_kind(const Type* r) {
  switch (r->size()) {
    case 1: return r->is_signed() ? RetKind::S8 : RetKind::U8;
    case 2: return r->is_signed() ? RetKind::S16 : RetKind::U16;
    case 4: return r->is_signed() ? RetKind::S32 : RetKind::U32;
    default: return RetKind::Word;
  }
}

void choose_call(Plan& p) {
  const Type* r = p.ret;
  p.ret_size = r->is_void() ? 0 : r->size();
  switch (r->kind()) {
    case tramp::TypeKind::Void:
      p.ret_kind = RetKind::Void;
      break;
    case tramp::TypeKind::F32:
      p.ret_kind = RetKind::F32;
      break;
    case tramp::TypeKind::F64:
      p.ret_kind = RetKind::F64;
      break;
    default:
      p.ret_kind = (r->is_integer() || r->kind() == tramp::TypeKind::Pointer) && r->size() <= 8 ? integer_kind(r)
                                                                                                : RetKind::Memory;
      break;
  }
  if (p.ret_kind == RetKind::Void || p.ret_kind == RetKind::Memory) {
    p.entry = reinterpret_cast<const void*>(p.invoker.entry());
  } else if (p.invoker.stack_size() == 0) {
    // The register-return stub jumps to the target, and ffi_call widens what comes back.
    p.entry = p.invoker.direct_entry(p.ret_kind == RetKind::F32 || p.ret_kind == RetKind::F64, r->size());
  } else {
    // It would call the target (Win64's shadow space, stack arguments): then one stub that
    // also stores the result widened to ffi_arg, jumped to from ffi_call, saves a level of
    // calls.
    p.entry = reinterpret_cast<const void*>(p.invoker.widened());
    p.ret_kind = RetKind::Stored;
  }
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
    key->closure_sig = Signature(key->ret, key->args, abi, key->variadic ? key->nfixed : Signature::kNotVariadic);
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
  const unsigned number = reg.count + 1;
  if (number >= kMaxPlans) throw Refused{FFI_BAD_TYPEDEF};
  const Plan* p = key.release();
  // The slot is written before the number is published (through the cif) to any reader.
  Slot& slot = g_slots[number];
  slot.entry = p->entry;
  slot.plan = p;
  slot.call.store(call_for(p->ret_kind), std::memory_order_release);
  reg.count = number;
  reg.numbers.emplace(p, number);
  return number;
}


ffi_status prep(ffi_cif* cif, ffi_abi abi, bool variadic, unsigned nfixed, unsigned ntotal, ffi_type* rtype,
                ffi_type** atypes) noexcept {
  if (!cif) return FFI_BAD_TYPEDEF;
  if (!(abi > FFI_FIRST_ABI && abi < FFI_LAST_ABI)) return FFI_BAD_ABI;
  if (nfixed > ntotal || (ntotal && !atypes) || !rtype) return FFI_BAD_ARGTYPE;
  ThreadCaches& caches = thread_caches();
  *cif = ffi_cif{};
  ++caches.pass;
  cif->abi = abi;
  cif->nargs = ntotal;
  cif->arg_types = atypes;
  cif->rtype = rtype;
  try {
    tramp_abi(abi);
    const Type* ret = type_of(rtype);
    std::array<const Type*, 16> small;
    std::unique_ptr<const Type*[]> big;
    const Type** args = small.data();
    if (ntotal > small.size()) {
      big.reset(new const Type*[ntotal]);
      args = big.get();
    }
    KeyHasher key(KeyHasher::seed(abi, nfixed, variadic), ret);
    std::size_t bytes = 0;
    for (unsigned i = 0; i < ntotal; ++i) {
      const Type* a = type_of(atypes[i]);
      if (a->is_void()) return FFI_BAD_TYPEDEF;
      // libffi's promotion check for what follows `...`: C passes no float and no integer
      // narrower than int there (C11 6.5.2.2p7).
      if (variadic && i >= nfixed &&
          (a->kind() == tramp::TypeKind::F32 || (!a->is_record() && a->size() < sizeof(int))))
        return FFI_BAD_ARGTYPE;
      args[i] = a;
      key.add(a);
      bytes += (a->size() + 7) / 8 * 8;
    }
    cif->bytes = static_cast<unsigned>(std::min<std::size_t>(bytes, 0xFFFFFFFFu));

    const std::size_t h = key.h;
    RecentPlan& recent = caches.plans[h % kRecentPlans];
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

[[noreturn, gnu::cold, gnu::noinline]] void unprepared(const char* who) {
  std::fprintf(stderr, "libffi (tramp): %s: the ffi_cif was not prepared by ffi_prep_cif\n", who);
  std::abort();
}

inline const Slot& slot_of(const ffi_cif* cif, const char* who) {
  const Slot* s = cif ? slot_at(cif->flags) : nullptr;
  if (__builtin_expect(!s, 0)) unprepared(who);
  return *s;
}

inline void call_slot(const Slot& s, void (*fn)(void), void* rvalue, void** avalue) {
  s.call.load(std::memory_order_relaxed)(s, fn, rvalue, avalue);
}

// ---- Raw arguments ----------------------------------------------------------------------
// The raw API packs every argument into FFI_SIZEOF_ARG-byte slots (a struct as a pointer to
// it). The Java variant lays them out as a JVM's operand stack: Java's long and double take
// two slots (the value in the first), everything else one, a pointer included, as libffi's
// java_raw_api does. (libffi has no Java layout for wider types; the face gives them the
// slots their size needs.)

std::size_t slots_of(const ffi_type* t, bool java) {
  if (t->type == FFI_TYPE_STRUCT || t->type == FFI_TYPE_COMPLEX) return 1;
  if (java && (t->type == FFI_TYPE_SINT64 || t->type == FFI_TYPE_UINT64 || t->type == FFI_TYPE_DOUBLE)) return 2;
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

// The thunks' handlers. libffi's closure functions write an integer result as a whole ffi_arg;
// a thunk's result storage for a value returned in registers is at least a word (docs/api.md,
// "Callbacks"), so the function writes straight into it, and the thunk returns its low bytes
// (little-endian). A plain closure's handler gets the ffi_closure itself as `user`.
void run_plain(void* ret, void* const* args, void* user) {
  auto* c = static_cast<ffi_closure*>(user);
  c->fun(c->cif, ret, const_cast<void**>(args), c->user_data);
}

// A void closure function still gets a buffer, as in libffi; what it writes there is dropped.
void run_plain_void(void*, void* const* args, void* user) {
  auto* c = static_cast<ffi_closure*>(user);
  alignas(16) ffi_arg scratch[2] = {0, 0};
  c->fun(c->cif, scratch, const_cast<void**>(args), c->user_data);
}

// Raw and Java raw closures: the arguments are packed into ffi_raw slots first.
void run_raw(void* ret, void* const* args, void* user) {
  auto* state = static_cast<ClosureState*>(user);
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
  alignas(16) ffi_arg scratch[2] = {0, 0};
  c->fun(c->cif, state->plan->ret_kind == RetKind::Void ? scratch : ret, raw, c->user_data);
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
    state->plan = p;
    state->kind = kind;
    closure->cif = cif;
    closure->fun = fun;
    closure->user_data = user_data;
    tramp::Callback thunk =
        kind != ClosureKind::Plain ? tramp::Engine::global().callback(p->closure_sig, &run_raw, state)
        : p->ret_kind == RetKind::Void ? tramp::Engine::global().callback(p->closure_sig, &run_plain_void, closure)
                                       : tramp::Engine::global().callback(p->closure_sig, &run_plain, closure);
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

// ---- Go closures ------------------------------------------------------------------------
// gccgo calls a Go closure's code with the closure in the static chain register (r10, x18),
// and libffi's closure function then gets the closure as its user_data. The face makes both
// directions with a tramp static chain: args[n] is the chain in the call and in the thunk.

// The handler of a cif's Go closure thunk: `user` is the plan, the closure is the chain.
void run_go(void* ret, void* const* args, void* user) {
  const auto* p = static_cast<const Plan*>(user);
  auto* c = *static_cast<ffi_go_closure* const*>(args[p->args.size()]);
  alignas(16) ffi_arg scratch[2] = {0, 0};  // a void closure function still gets a buffer
  c->fun(c->cif, p->ret_kind == RetKind::Void ? scratch : ret, const_cast<void**>(args), c);
}

const Plan::GoParts& Plan::go_parts() const {
  std::call_once(go_once, [this] {
    auto made = std::make_unique<GoParts>();
    made->call = tramp::Engine::global().invoker(call_sig.with_static_chain()).widened();
    made->thunk = tramp::Engine::global().callback(closure_sig.with_static_chain(), &run_go, const_cast<Plan*>(this));
    go = std::move(made);
  });
  return *go;
}

// ---- Call plans (libffi 3.7) ------------------------------------------------------------

}  // namespace

struct ffi_call_plan {
  const Slot* slot;
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
  call_slot(slot_of(cif, "ffi_call"), fn, rvalue, avalue);
}

ffi_status ffi_get_struct_offsets(ffi_abi abi, ffi_type* struct_type, size_t* offsets) {
  if (!(abi > FFI_FIRST_ABI && abi < FFI_LAST_ABI)) return FFI_BAD_ABI;
  if (!struct_type || struct_type->type != FFI_TYPE_STRUCT) return FFI_BAD_TYPEDEF;
  try {
    struct_type->size = 0;  // libffi computes the layout again
    ++thread_caches().pass;
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
  const Slot* s = cif ? slot_at(cif->flags) : nullptr;
  if (!s) return nullptr;
  return new (std::nothrow) ffi_call_plan{s};
}

void ffi_call_plan_invoke(ffi_call_plan* plan, void (*fn)(void), void* rvalue, void** avalue) {
  if (!plan) misuse("ffi_call_plan_invoke: the plan is NULL");
  call_slot(*plan->slot, fn, rvalue, avalue);
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

ffi_status ffi_prep_go_closure(ffi_go_closure* closure, ffi_cif* cif, void (*fun)(ffi_cif*, void*, void**, void*)) {
  if (!closure || !cif || !fun) return FFI_BAD_TYPEDEF;
  const Plan* p = plan_at(cif->flags);
  if (!p) return FFI_BAD_ABI;
  try {
    closure->tramp = const_cast<void*>(p->go_parts().thunk.code());
  } catch (...) {
    return FFI_BAD_TYPEDEF;
  }
  closure->cif = cif;
  closure->fun = fun;
  return FFI_OK;
}

void ffi_call_go(ffi_cif* cif, void (*fn)(void), void* rvalue, void** avalue, void* closure) {
  const Plan& p = *slot_of(cif, "ffi_call_go").plan;
  const Plan::GoParts* go = nullptr;
  try {
    go = &p.go_parts();
  } catch (...) {
    misuse("ffi_call_go: no call stub with a static chain could be made for the cif");
  }
  // The arguments, then the chain (tramp's uniform interface).
  const std::size_t n = p.args.size();
  std::array<void*, 33> small;
  std::unique_ptr<void*[]> big;
  void** args = small.data();
  if (n + 1 > small.size()) {
    big.reset(new void*[n + 1]);
    args = big.get();
  }
  std::copy(avalue, avalue + n, args);
  args[n] = &closure;
  if (rvalue) return go->call(reinterpret_cast<const void*>(fn), rvalue, args);
  ResultScratch scratch(std::max<std::size_t>(p.ret_size, sizeof(ffi_arg)));
  go->call(reinterpret_cast<const void*>(fn), scratch.get(), args);
}

}  // extern "C"
