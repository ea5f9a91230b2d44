#include "tramp/engine.hpp"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <pthread.h>

#include "abi/call_plan.hpp"
#include "jit/code_arena.hpp"
#include "jit/code_registry.hpp"
#include "jit/emitter.hpp"
#include "jit/errno_slot.hpp"
#include "jit/fork_safety.hpp"
#include "jit/zeroed_array.hpp"

namespace tramp {
namespace detail {

// A cached call stub. The Signature is kept, the CallPlan is not: bind(), direct() and
// widened() classify again, which costs far less than the emission they do anyway, and a plan
// of a few hundred bytes per cached signature would be most of the cache's memory.
struct StubInfo {
  StubInfo(Signature s, const abi::CallPlan& plan)
      : sig(std::move(s)), stack_size(std::size_t{plan.stack_size} + plan.copy_area_size) {}
  Signature sig;
  std::size_t stack_size;  // Invoker::stack_size(): the outgoing arguments and the copies
  const void* code = nullptr;
  std::size_t code_size = 0;
  EngineState* owner = nullptr;
  // The register-return variant (Invoker::direct) and the widening one (Invoker::widened),
  // each made on first use.
  mutable std::atomic<const void*> direct{nullptr};
  mutable std::atomic<const void*> widened{nullptr};
};

// The stub cache: Signature -> StubInfo, open addressing over a power-of-two array of
// (hash, entry) slots. A lookup reads one slot (two when the hashes collide) before it
// compares Signatures, and growing moves the slots without touching the entries, so the cost
// of a lookup or an insertion stays flat as the cache grows to 10^5 signatures and more.
// A doubling costs nothing that grows with the table, so that no call pauses: the doubling
// at 98,304 signatures took 7 ms on the development VM, in the call that made the stub that
// tipped it, moving the slots and faulting in the fresh 4 MiB array. The slots now move a
// few per insertion (kMovesPerInsert); while they move, a lookup that misses the new array
// reads the old one, which is not changed until it is freed. And the new array is made
// ahead, its pages written a few at a time (jit/zeroed_array.hpp).
class StubTable {
 public:
  StubTable() = default;
  StubTable(const StubTable&) = delete;
  StubTable& operator=(const StubTable&) = delete;
  ~StubTable() {
    for_each([](StubInfo& info) { delete &info; });
  }
  StubInfo* find(const Signature& sig) const noexcept {
    if (StubInfo* info = find_in(slots_, sig)) return info;
    return old_.size() ? find_in(old_, sig) : nullptr;
  }
  // Takes `info` unless the table holds its Signature already; returns the entry kept.
  StubInfo* insert(std::unique_ptr<StubInfo>& info) {
    if (StubInfo* have = find(info->sig)) return have;
    if ((count_ + 1) * 4 > slots_.size() * 3) grow();
    place(info->sig.hash(), info.get());
    ++count_;
    move_some();
    next_.prepare(slots_.size(), count_, slots_.size() * 3 / 8, slots_.size() * 3 / 4);
    return info.release();
  }
  std::size_t size() const noexcept { return count_; }
  // Every entry once: all of the new array's, and the old array's not yet moved.
  template <class F>
  void for_each(F f) const {
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].info) f(*slots_[i].info);
    for (std::size_t i = moved_; i < old_.size(); ++i)
      if (old_[i].info) f(*old_[i].info);
  }

 private:
  // Three times the pace that finishes before the next growth: an old array of S slots has
  // moved after S/4 insertions, and the next growth comes 3S/4 insertions after this one.
  static constexpr std::size_t kMovesPerInsert = 4;
  struct Slot {
    std::size_t hash = 0;
    StubInfo* info = nullptr;
  };
  using Slots = jit::ZeroedArray<Slot>;  // zero is an empty slot
  static StubInfo* find_in(const Slots& slots, const Signature& sig) noexcept {
    if (!slots.size()) return nullptr;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = sig.hash() & mask;; i = (i + 1) & mask) {
      const Slot& s = slots[i];
      if (!s.info) return nullptr;
      if (s.hash == sig.hash() && s.info->sig == sig) return s.info;
    }
  }
  void place(std::size_t hash, StubInfo* info) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i].info) i = (i + 1) & mask;
    slots_[i] = {hash, info};
  }
  // Moves the next old slots into the new array; frees the old one when all have moved.
  void move_some() noexcept {
    if (!old_.size()) return;
    for (const std::size_t end = std::min(old_.size(), moved_ + kMovesPerInsert); moved_ < end; ++moved_)
      if (old_[moved_].info) place(old_[moved_].hash, old_[moved_].info);
    if (moved_ == old_.size()) {
      old_ = Slots();
      moved_ = 0;
    }
  }
  void grow() {
    Slots bigger = next_.take(slots_.size() ? slots_.size() * 2 : 64);
    while (old_.size()) move_some();  // at kMovesPerInsert's pace the last growth's slots have all moved
    old_ = std::exchange(slots_, std::move(bigger));
  }
  Slots slots_;
  Slots old_;              // the array being moved from; empty when none is
  jit::NextArray<Slot> next_;  // the array to double into, its pages written ahead
  std::size_t moved_ = 0;  // old_'s slots [0, moved_) are in slots_
  std::size_t count_ = 0;
};

struct CallableBox {
  CallableHandler fn;
  std::size_t ret_size = 0;
};

// The data of one entry point from the engine's pool: what its veneer jumps to, and for a
// callback the handler and user that the signature's thunk reads (jit/emitter.hpp).
struct EntryData {
  const void* target = nullptr;  // the veneer's slot, read and written atomically
  const void* handler = nullptr;
  void* user = nullptr;
  const void* code = nullptr;   // the veneer
  std::uintptr_t pool = 0;      // the pool it returns to: the placement block it was made for
};
static_assert(offsetof(EntryData, handler) == jit::kCallbackHandlerOffset &&
              offsetof(EntryData, user) == jit::kCallbackUserOffset);

// A signature's callback thunk, shared by its callbacks whose handlers lie in one placement
// block.
struct ThunkInfo {
  const void* code = nullptr;
  std::size_t code_size = 0;
};
struct ThunkKey {
  Signature sig;
  std::uintptr_t block;  // the placement block of the handlers
  friend bool operator==(const ThunkKey&, const ThunkKey&) = default;
};
struct ThunkKeyHash {
  std::size_t operator()(const ThunkKey& k) const noexcept { return k.sig.hash() ^ (k.block * 0x9E3779B97F4A7C15u); }
};

// The cache's lock is held across fork() (a child must not inherit it taken by a thread that
// does not exist there), and never while the arena's lock is taken. It is a plain mutex: a
// write-locked pthread rwlock can be released only by the thread id that took it, and the
// child's one thread has a new id.
struct EngineState : std::enable_shared_from_this<EngineState>, private jit::ForkParticipant {
  // The code registry exists before this engine enrolls for fork(): it publishes while it
  // holds entries_mu.
  explicit EngineState(const EngineOptions& o) : options(o) {
    jit::prepare_code_registry();
    enroll();
  }

  const EngineOptions options;
  jit::CodeArena arena;
  mutable std::mutex mu;  // stubs and thunks
  StubTable stubs;
  std::unordered_map<ThunkKey, ThunkInfo, ThunkKeyHash> thunks;
  // The pool of entry points (callbacks and veneers), one list of free entries per placement
  // block: blocks of veneers installed at once, each with its data; a free one is taken and
  // given back under `entries_mu`, or through the thread's cache (take_entry).
  std::mutex entries_mu;
  std::unordered_map<std::uintptr_t, std::vector<EntryData*>> free_entries;
  std::vector<std::unique_ptr<EntryData[]>> entry_blocks;
  std::vector<const void*> entry_block_code;

  // Never the same for two engines, even at one address: the per-thread memos trust a
  // remembered thunk or entry only for the engine it came from.
  const std::uint64_t serial = next_serial();

  static std::uint64_t next_serial() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  void fork_prepare() override {
    mu.lock();
    entries_mu.lock();
  }
  void fork_parent() override {
    entries_mu.unlock();
    mu.unlock();
  }
  void fork_child() override {
    entries_mu.unlock();
    mu.unlock();
  }

  // Where a product goes: near what it branches to, then near the engine's chosen address.
  jit::Placement near(const void* first) const { return {first, options.code_near}; }

  // Code goes in and out through these: installed where `where` asks, then published to the
  // process's tools under the name `tramp.<product> <signature text>`, or `tramp.<product>`
  // without a signature (jit/code_registry.hpp); withdrawn from them, then freed.
  const void* install(const jit::Emitted& code, std::string_view product, const Signature* sig,
                      jit::Placement where);
  void free_code(const void* code) noexcept;

  BoundCall make_bound(const Signature& sig, const void* fn);
  // `self` is the engine's own shared_ptr (a copy is cheaper than shared_from_this()).
  static Callback make_callback(const std::shared_ptr<EngineState>& self, const Signature& sig, Handler handler,
                                void* user, std::unique_ptr<CallableBox> box);
  // The fast paths (the thread's memo and cache) are inlined into make_callback; the rest
  // takes the engine's locks.
  const ThunkInfo& thunk_for(const Signature& sig, const void* handler);
  const ThunkInfo& find_thunk(const Signature& sig, std::uintptr_t block, const void* handler);
  static EntryData* take_entry(const std::shared_ptr<EngineState>& self, const void* near, const void* target,
                               const void* handler, void* user);
  static EntryData* take_entry_slow(const std::shared_ptr<EngineState>& self, std::uintptr_t pool, const void* near);
  EntryData* take_entry_locked(const void* near);
  static void release_entry(const std::shared_ptr<EngineState>& self, EntryData* entry) noexcept;
  void give_back_entries(EntryData* const* entries, std::size_t n) noexcept;

  const void* direct_code(const StubInfo& info);
  const void* widened_code(const StubInfo& info);
  // The code in `slot`, made by `emit` from the signature's plan (classified again) on first
  // use, named `product`.
  const void* variant_code(std::atomic<const void*>& slot, jit::Emitted (*emit)(const abi::CallPlan&),
                           std::string_view product, const StubInfo& info);

  ~EngineState() {
    withdraw();
    // All code is withdrawn from the tools at once (jit::withdraw_codes orders it for the
    // unwinder), then freed.
    std::vector<const void*> codes;
    try {
      codes.reserve(3 * stubs.size() + thunks.size() + entry_block_code.size());
    } catch (const std::bad_alloc&) {  // one at a time, slower with many stubs under libgcc 12
      each_code([&](const void* code) { free_code(code); });
      return;
    }
    each_code([&](const void* code) {
      if (code) codes.push_back(code);
    });
    jit::withdraw_codes(codes);
    for (const void* code : codes) arena.free(code);
  }

  // f(code) for every piece of code the engine holds, null for the variants not made.
  template <class F>
  void each_code(F f) {
    stubs.for_each([&](const StubInfo& info) {
      f(info.code);
      f(info.direct.load());
      f(info.widened.load());
    });
    for (auto& [key, thunk] : thunks) f(thunk.code);
    for (const void* code : entry_block_code) f(code);
  }
};

}  // namespace detail

const void* detail::EngineState::install(const jit::Emitted& code, std::string_view product, const Signature* sig,
                                         jit::Placement where) {
  const void* at = arena.install(code.code, where);
  try {
    thread_local std::string name;  // its capacity kept from stub to stub
    name.assign("tramp.").append(product);
    if (sig) {
      name += ' ';
      sig->append_str(name, true);
    }
    jit::publish_code(at, code.code.size(), code.frame, name);
  } catch (...) {
    arena.free(at);
    throw;
  }
  return at;
}

void detail::EngineState::free_code(const void* code) noexcept {
  if (!code) return;
  jit::withdraw_code(code);
  arena.free(code);
}

namespace {

// A plan for code this host will run: its ABI is the host's, and its vector registers are
// ones this CPU has; otherwise Error(HostAbi) naming the value that needs them.
abi::CallPlan plan_for(const Signature& sig) {
  if (!host_can_run(sig.abi()))
    throw Error(ErrorCode::HostAbi, "this host cannot run code for the " +
                                        std::string(abi_name(sig.abi())) + " ABI (" +
                                        sig.str(true) + "); plans are still available");
  Result<abi::CallPlan> plan = abi::classify(sig);
  if (!plan) throw plan.error();
  const abi::CallPlan& p = plan.value();
  if (p.vector_isa > jit::host_vector_isa()) {
    std::string what = "the return value (" + sig.ret()->str() + ")";
    for (std::size_t i = p.args.size(); i-- > 0;)
      for (const abi::Piece& piece : p.args[i].pieces)
        if (piece.loc.kind == abi::LocKind::Vec && abi::vector_isa_of_piece(piece.size) == p.vector_isa)
          what = abi::describe_arg(i, sig.args()[i]);
    const std::string reg = p.vector_isa == abi::VectorIsa::Avx ? "a ymm" : "a zmm";
    throw Error(ErrorCode::HostAbi, what + " of " + sig.str(true) + " travels in " + reg + " register, which needs " +
                                        std::string(abi::vector_isa_name(p.vector_isa)) +
                                        ": this CPU lacks it (plans and machine code are still available)");
  }
  return std::move(plan).value();
}
}  // namespace

const Signature& Invoker::signature() const noexcept { return info_->sig; }
std::size_t Invoker::code_size() const noexcept { return info_ ? info_->code_size : 0; }
std::size_t Invoker::stack_size() const noexcept {
  return info_ ? info_->stack_size : 0;
}

const void* Invoker::direct_entry(bool floating, std::size_t size) const {
  if (!info_) throw Error(ErrorCode::InvalidType, "direct() on an empty Invoker");
  const Type* rt = info_->sig.ret();
  const bool integer = rt->is_integer() || rt->kind() == TypeKind::Pointer;
  const bool matches = (integer && !floating && size == rt->size() && size <= 8) ||
                       (rt->kind() == TypeKind::F32 && floating && size == 4) ||
                       (rt->kind() == TypeKind::F64 && floating && size == 8);
  if (!matches)
    throw Error(ErrorCode::Unsupported, "direct<R>(): R (" + std::string(floating ? "floating, " : "integer, ") +
                                            std::to_string(size) + " bytes) does not match the return type " +
                                            rt->str() + " of " + info_->sig.str(true));
  return info_->owner->direct_code(*info_);
}

const void* detail::EngineState::variant_code(std::atomic<const void*>& slot,
                                              jit::Emitted (*emit)(const abi::CallPlan&),
                                              std::string_view product, const StubInfo& info) {
  if (const void* code = slot.load(std::memory_order_acquire)) return code;
  // Made outside any lock; a racing thread may do the same work, and the loser's code is freed.
  const void* code = install(emit(plan_for(info.sig)), product, &info.sig, near(nullptr));
  const void* expected = nullptr;
  if (slot.compare_exchange_strong(expected, code, std::memory_order_acq_rel)) return code;
  free_code(code);
  return expected;
}

const void* detail::EngineState::direct_code(const StubInfo& info) {
  return variant_code(info.direct, &jit::emit_register_return_stub, "direct", info);
}

const void* detail::EngineState::widened_code(const StubInfo& info) {
  return variant_code(info.widened, &jit::emit_widening_call_stub, "widened", info);
}

InvokeFn Invoker::widened() const {
  if (!info_) throw Error(ErrorCode::InvalidType, "widened() on an empty Invoker");
  return reinterpret_cast<InvokeFn>(const_cast<void*>(info_->owner->widened_code(*info_)));
}

BoundCall Invoker::bind(const void* fn) const {
  if (!info_) throw Error(ErrorCode::InvalidType, "bind() on an empty Invoker");
  return info_->owner->make_bound(info_->sig, fn);
}

BoundCall::BoundCall(BoundCall&& o) noexcept
    : entry_(std::exchange(o.entry_, nullptr)),
      code_size_(std::exchange(o.code_size_, 0)),
      owner_(std::move(o.owner_)) {}

BoundCall& BoundCall::operator=(BoundCall&& o) noexcept {
  if (this != &o) {
    BoundCall dead(std::move(*this));
    entry_ = std::exchange(o.entry_, nullptr);
    code_size_ = std::exchange(o.code_size_, 0);
    owner_ = std::move(o.owner_);
  }
  return *this;
}

BoundCall::~BoundCall() {
  if (entry_ && owner_) owner_->free_code(reinterpret_cast<const void*>(entry_));
}

BoundCall detail::EngineState::make_bound(const Signature& sig, const void* fn) {
  if (!fn) throw Error(ErrorCode::InvalidType, "bind(): the target function is null");
  const jit::Emitted code = jit::emit_call_stub(plan_for(sig), fn);
  BoundCall b;
  // Next to its target: the stub's own call to it stays in one placement block.
  b.entry_ = reinterpret_cast<BoundFn>(const_cast<void*>(install(code, "bound", &sig, near(fn))));
  b.code_size_ = code.code.size();
  b.owner_ = shared_from_this();
  return b;
}

namespace {

thread_local std::exception_ptr t_callback_exception;

// The Handler behind every CallableHandler: no exception may cross the native caller's frames.
void run_callable(void* ret, void* const* args, void* user) {
  auto* box = static_cast<detail::CallableBox*>(user);
  try {
    box->fn(ret, args);
  } catch (...) {
    if (ret && box->ret_size) std::memset(ret, 0, box->ret_size);
    t_callback_exception = std::current_exception();
  }
}

}  // namespace

std::exception_ptr take_callback_exception() noexcept { return std::exchange(t_callback_exception, nullptr); }

void set_perf_output(PerfOutput output) {
  static_assert(static_cast<int>(PerfOutput::Map) == static_cast<int>(jit::PerfOutput::Map) &&
                static_cast<int>(PerfOutput::JitDump) == static_cast<int>(jit::PerfOutput::JitDump));
  jit::set_perf_output(static_cast<jit::PerfOutput>(output));
}
PerfOutput perf_output() noexcept { return static_cast<PerfOutput>(jit::perf_output()); }

int last_errno() noexcept { return jit::errno_slot(); }
void set_last_errno(int value) noexcept { jit::errno_slot() = value; }

Callback::Callback() noexcept = default;

Callback::Callback(Callback&& o) noexcept
    : code_(std::exchange(o.code_, nullptr)),
      code_size_(std::exchange(o.code_size_, 0)),
      entry_(std::exchange(o.entry_, nullptr)),
      owner_(std::move(o.owner_)),
      box_(std::move(o.box_)) {}

Callback& Callback::operator=(Callback&& o) noexcept {
  if (this != &o) {
    Callback dead(std::move(*this));
    code_ = std::exchange(o.code_, nullptr);
    code_size_ = std::exchange(o.code_size_, 0);
    entry_ = std::exchange(o.entry_, nullptr);
    owner_ = std::move(o.owner_);
    box_ = std::move(o.box_);
  }
  return *this;
}

Callback::~Callback() {
  if (entry_ && owner_) detail::EngineState::release_entry(owner_, entry_);
}

namespace {
// What a released entry point jumps to until it is handed out again.
[[noreturn]] void released_entry_called() {
  std::fputs("tramp: a Callback or Veneer was called after it was destroyed\n", stderr);
  std::abort();
}
const void* released_entry_target() { return reinterpret_cast<const void*>(&released_entry_called); }

// Entry points per block: one 4 KiB page of veneers.
constexpr std::size_t kEntriesPerBlock = 4096 / jit::kVeneerStride;

std::uintptr_t block_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p) / jit::CodeArena::kPlacementBlock; }

// This thread's free entries of one engine's pool: a program that makes and frees callbacks
// (an interpreter wrapping a function per call) takes and gives back without the pool's lock.
// At most kCached entries wait here; the rest, and all of them when the thread ends, go back
// to the pool if the engine still lives.
struct EntryCache {
  static constexpr std::size_t kCached = 16;
  std::uint64_t engine_serial = 0;
  std::uintptr_t pool = 0;
  std::weak_ptr<detail::EngineState> engine;
  detail::EngineState* immortal = nullptr;  // the global engine, whose handle owns nothing
  detail::EntryData* items[kCached] = {};
  std::size_t n = 0;

  bool serves(const detail::EngineState& e, std::uintptr_t p) const { return engine_serial == e.serial && pool == p; }
  // Empties the cache (into its engine's pool when that still lives) and serves (e, p) from now on.
  void retarget(const std::shared_ptr<detail::EngineState>& e, std::uintptr_t p) {
    flush();
    engine_serial = e->serial;
    pool = p;
    immortal = e.use_count() == 0 ? e.get() : nullptr;  // no control block: Engine::global()
    engine = e;
  }
  void flush() noexcept {
    if (n) {
      if (immortal) immortal->give_back_entries(items, n);
      else if (auto e = engine.lock()) e->give_back_entries(items, n);
    }
    n = 0;
  }
  ~EntryCache() { flush(); }
};

// The thunk this thread asked its engine for last: a program that makes callbacks of one
// signature in a loop finds it without the engine's lock and hash.
struct RecentThunk {
  std::uint64_t engine_serial = 0;
  std::uintptr_t block = 0;
  const Signature* sig = nullptr;  // the engine's key: stable until the engine goes
  const detail::ThunkInfo* thunk = nullptr;
};

// A thread's callback state, one object found through one pointer. The pointer uses the
// initial-exec TLS model (8 bytes of the static TLS that glibc keeps for libraries loaded
// later): reading it is one instruction, where the dynamic models call into the loader each
// time. The object is on the heap, freed (its entries given back) at thread exit.
struct ThreadState {
  RecentThunk recent;
  EntryCache entries;
};
[[gnu::tls_model("initial-exec")]] thread_local ThreadState* t_state_ptr = nullptr;

[[gnu::noinline]] ThreadState& new_thread_state() {
  static pthread_key_t key = [] {
    pthread_key_t k;
    // At thread exit; a later use in that thread (another exit handler) makes a new one,
    // which this runs for again.
    if (pthread_key_create(&k, [](void* p) {
          t_state_ptr = nullptr;
          delete static_cast<ThreadState*>(p);
        }) != 0)
      throw std::bad_alloc();
    return k;
  }();
  auto made = std::make_unique<ThreadState>();
  if (pthread_setspecific(key, made.get()) != 0) throw std::bad_alloc();
  t_state_ptr = made.release();
  return *t_state_ptr;
}

inline ThreadState& thread_state() {
  ThreadState* t = t_state_ptr;
  return t ? *t : new_thread_state();
}
}  // namespace

detail::EntryData* detail::EngineState::take_entry_locked(const void* near) {
  const std::uintptr_t pool = block_of(near);
  std::vector<EntryData*>& list = free_entries[pool];
  if (list.empty()) {
    auto block = std::make_unique<EntryData[]>(kEntriesPerBlock);
    std::vector<const void*> slots(kEntriesPerBlock);
    for (std::size_t i = 0; i < kEntriesPerBlock; ++i) {
      block[i].target = released_entry_target();
      block[i].pool = pool;
      slots[i] = &block[i].target;
    }
    entry_block_code.reserve(entry_block_code.size() + 1);
    entry_blocks.reserve(entry_blocks.size() + 1);
    list.reserve(list.size() + kEntriesPerBlock);
    const auto* code = static_cast<const std::uint8_t*>(
        install(jit::emit_veneers(abi::arch_of(host_abi()), slots), "veneers", nullptr, this->near(near)));
    entry_block_code.push_back(code);
    for (std::size_t i = kEntriesPerBlock; i-- > 0;) {
      block[i].code = code + i * jit::kVeneerStride;
      list.push_back(&block[i]);
    }
    entry_blocks.push_back(std::move(block));
  }
  EntryData* e = list.back();
  list.pop_back();
  return e;
}

[[gnu::noinline]] detail::EntryData* detail::EngineState::take_entry_slow(const std::shared_ptr<EngineState>& self,
                                                                          std::uintptr_t pool, const void* near) {
  EntryCache& cache = thread_state().entries;
  if (!cache.serves(*self, pool)) cache.retarget(self, pool);
  std::lock_guard lock(self->entries_mu);
  return self->take_entry_locked(near);
}

[[gnu::always_inline]] inline detail::EntryData* detail::EngineState::take_entry(
    const std::shared_ptr<EngineState>& self, const void* near, const void* target, const void* handler, void* user) {
  const std::uintptr_t pool = block_of(near);
  EntryCache& cache = thread_state().entries;
  EntryData* e = cache.serves(*self, pool) && cache.n ? cache.items[--cache.n] : take_entry_slow(self, pool, near);
  e->handler = handler;
  e->user = user;
  // The target last, with release: a thread that calls the veneer and reaches the thunk
  // finds the handler and user written.
  std::atomic_ref<const void*>(e->target).store(target, std::memory_order_release);
  return e;
}

void detail::EngineState::release_entry(const std::shared_ptr<EngineState>& self, EntryData* e) noexcept {
  std::atomic_ref<const void*>(e->target).store(released_entry_target(), std::memory_order_release);
  e->handler = nullptr;
  e->user = nullptr;
  ThreadState* t = t_state_ptr;  // none yet: this thread took no entry, nothing to cache for
  if (t && t->entries.serves(*self, e->pool) && t->entries.n < EntryCache::kCached) {
    EntryCache& cache = t->entries;
    cache.items[cache.n++] = e;
    return;
  }
  self->give_back_entries(&e, 1);
}

void detail::EngineState::give_back_entries(EntryData* const* entries, std::size_t n) noexcept {
  std::lock_guard lock(entries_mu);
  for (std::size_t i = 0; i < n; ++i)
    free_entries[entries[i]->pool].push_back(entries[i]);  // reserved when its block was made: cannot throw
}

[[gnu::always_inline]] inline const detail::ThunkInfo& detail::EngineState::thunk_for(const Signature& sig,
                                                                                    const void* handler) {
  const std::uintptr_t block = block_of(handler);
  const RecentThunk& recent = thread_state().recent;
  if (recent.engine_serial == serial && recent.block == block && *recent.sig == sig) return *recent.thunk;
  return find_thunk(sig, block, handler);
}

[[gnu::noinline]] const detail::ThunkInfo& detail::EngineState::find_thunk(const Signature& sig, std::uintptr_t block,
                                                                          const void* handler) {
  RecentThunk& recent = thread_state().recent;
  {
    std::lock_guard lock(mu);
    auto it = thunks.find(ThunkKey{sig, block});
    if (it != thunks.end()) {
      recent = {serial, block, &it->first.sig, &it->second};
      return it->second;
    }
  }
  // Classified and emitted outside the lock; a racing thread's duplicate is freed. The thunk
  // goes next to the handlers it calls.
  const jit::Emitted code = jit::emit_callback_thunk(plan_for(sig));
  ThunkInfo made{install(code, "thunk", &sig, near(handler)), code.code.size()};
  std::lock_guard lock(mu);
  auto [it, inserted] = thunks.try_emplace(ThunkKey{sig, block}, made);
  if (!inserted) free_code(made.code);
  recent = {serial, block, &it->first.sig, &it->second};
  return it->second;
}

Callback detail::EngineState::make_callback(const std::shared_ptr<EngineState>& self, const Signature& sig,
                                            Handler handler, void* user, std::unique_ptr<CallableBox> box) {
  if (!handler) throw Error(ErrorCode::InvalidType, "callback(): the handler is null");
  const auto* h = reinterpret_cast<const void*>(handler);
  const ThunkInfo& thunk = self->thunk_for(sig, h);
  Callback cb;
  // The veneer next to the handler too: veneer, thunk and handler in one placement block.
  cb.entry_ = take_entry(self, h, thunk.code, h, user);
  cb.code_ = cb.entry_->code;
  cb.code_size_ = thunk.code_size;
  cb.owner_ = self;
  cb.box_ = std::move(box);
  return cb;
}

Callback Engine::callback(const Signature& sig, Handler handler, void* user) {
  return detail::EngineState::make_callback(state_, sig, handler, user, nullptr);
}

Callback Engine::callback(const Signature& sig, CallableHandler handler) {
  if (!handler) throw Error(ErrorCode::InvalidType, "callback(): the handler is empty");
  auto box = std::make_unique<detail::CallableBox>();
  box->fn = std::move(handler);
  box->ret_size = sig.ret()->size();
  void* user = box.get();
  return detail::EngineState::make_callback(state_, sig, &run_callable, user, std::move(box));
}

Veneer::Veneer() noexcept = default;

Veneer::Veneer(Veneer&& o) noexcept
    : code_(std::exchange(o.code_, nullptr)),
      code_size_(std::exchange(o.code_size_, 0)),
      entry_(std::exchange(o.entry_, nullptr)),
      owner_(std::move(o.owner_)) {}

Veneer& Veneer::operator=(Veneer&& o) noexcept {
  if (this != &o) {
    Veneer dead(std::move(*this));
    code_ = std::exchange(o.code_, nullptr);
    code_size_ = std::exchange(o.code_size_, 0);
    entry_ = std::exchange(o.entry_, nullptr);
    owner_ = std::move(o.owner_);
  }
  return *this;
}

Veneer::~Veneer() {
  if (entry_ && owner_) detail::EngineState::release_entry(owner_, entry_);
}

const void* Veneer::target() const noexcept {
  return entry_ ? std::atomic_ref<const void*>(entry_->target).load(std::memory_order_acquire) : nullptr;
}

void Veneer::retarget(const void* target) noexcept {
  if (entry_) std::atomic_ref<const void*>(entry_->target).store(target, std::memory_order_release);
}

Veneer Engine::veneer(const void* target) {
  static_assert(std::atomic_ref<const void*>::is_always_lock_free,
                "the veneer's code reads its slot as one plain 8-byte word");
  Veneer v;
  // Near its first target; the engine's own address comes second (EngineState::near).
  v.entry_ = detail::EngineState::take_entry(state_, target, target, nullptr, nullptr);
  v.code_ = v.entry_->code;
  v.code_size_ = jit::kVeneerStride;
  v.owner_ = state_;
  return v;
}

Engine::Engine() : Engine(EngineOptions{}) {}
Engine::Engine(const EngineOptions& options) : state_(std::make_shared<detail::EngineState>(options)) {}
Engine::~Engine() = default;

Engine& Engine::global() {
  // Never destroyed: stubs may run during exit. Its state lives as long as the process (one
  // owning reference is kept for ever), so the handle that callbacks and veneers copy owns
  // nothing, and copying or dropping it costs no atomic count.
  static Engine* engine = [] {
    auto* e = new Engine();
    static const auto* owner = new std::shared_ptr<detail::EngineState>(e->state_);
    e->state_ = std::shared_ptr<detail::EngineState>(std::shared_ptr<void>(), owner->get());
    return e;
  }();
  return *engine;
}

Invoker Engine::invoker(const Signature& sig) {
  auto make = [](const detail::StubInfo* info) {
    Invoker inv;
    inv.entry_ = reinterpret_cast<InvokeFn>(const_cast<void*>(info->code));
    inv.info_ = info;
    return inv;
  };
  {
    std::lock_guard lock(state_->mu);
    if (const detail::StubInfo* info = state_->stubs.find(sig)) return make(info);
  }
  // Classify and emit outside the lock; a racing thread may do the same work, and the
  // loser's code is freed. The stub goes near the engine's chosen address, if any: its
  // target changes from call to call.
  const abi::CallPlan plan = plan_for(sig);
  auto info = std::make_unique<detail::StubInfo>(sig, plan);
  const jit::Emitted code = jit::emit_call_stub(plan, nullptr);
  info->code = state_->install(code, "call", &sig, state_->near(nullptr));
  info->code_size = code.code.size();
  info->owner = state_.get();
  const detail::StubInfo* kept = nullptr;
  try {
    std::lock_guard lock(state_->mu);
    kept = state_->stubs.insert(info);
  } catch (...) {
    state_->free_code(info->code);
    throw;
  }
  if (info) state_->free_code(info->code);  // another thread's stub won the race
  return make(kept);
}

BoundCall Engine::bind(const Signature& sig, const void* fn) { return invoker(sig).bind(fn); }

CodeStats Engine::code_stats() const {
  jit::ArenaStats a = state_->arena.stats();
  return {a.chunks, a.bytes_mapped, a.bytes_in_use, a.live_blocks, a.total_allocs, a.placed, a.not_placed};
}

std::size_t Engine::cached_stubs() const {
  std::lock_guard lock(state_->mu);
  return state_->stubs.size();
}

std::string plan_text(const Signature& sig) {
  auto plan = abi::classify(sig);
  if (!plan) throw plan.error();
  return plan.value().str(sig);
}

std::vector<std::uint8_t> veneer_code(const void* slot) {
  return jit::emit_veneer(abi::arch_of(host_abi()), slot).code;
}

std::vector<std::uint8_t> machine_code(const Signature& sig, CodeKind kind, const void* fn, const void* /*user*/) {
  auto plan = abi::classify(sig);
  if (!plan) throw plan.error();
  switch (kind) {
    case CodeKind::Invoke:
      return jit::emit_call_stub(plan.value()).code;
    case CodeKind::Bound:
      if (!fn) throw Error(ErrorCode::Unsupported, "a bound stub needs the target's address");
      return jit::emit_call_stub(plan.value(), fn).code;
    case CodeKind::RegisterReturn:
      return jit::emit_register_return_stub(plan.value()).code;
    case CodeKind::Callback:
      return jit::emit_callback_thunk(plan.value()).code;
    case CodeKind::Widened:
      return jit::emit_widening_call_stub(plan.value()).code;
  }
  throw Error(ErrorCode::Unsupported, "unknown code kind");
}

}  // namespace tramp
