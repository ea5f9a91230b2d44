#include "tramp/engine.hpp"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "abi/call_plan.hpp"
#include "jit/code_arena.hpp"
#include "jit/code_registry.hpp"
#include "jit/emitter.hpp"
#include "jit/errno_slot.hpp"
#include "jit/fork_safety.hpp"

namespace tramp {
namespace detail {

struct StubInfo {
  StubInfo(Signature s, abi::CallPlan p) : sig(std::move(s)), plan(std::move(p)), text(sig.str(true)) {}
  Signature sig;
  abi::CallPlan plan;
  std::string text;  // sig.str(true), the second half of its code's names
  const void* code = nullptr;
  std::size_t code_size = 0;
  EngineState* owner = nullptr;
  // The register-return variant (Invoker::direct) and the widening one (Invoker::widened),
  // each made on first use.
  mutable std::atomic<const void*> direct{nullptr};
  mutable std::atomic<const void*> widened{nullptr};
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
  const void* code = nullptr;  // the veneer
};
static_assert(offsetof(EntryData, handler) == jit::kCallbackHandlerOffset &&
              offsetof(EntryData, user) == jit::kCallbackUserOffset);

// A signature's callback thunk, shared by its callbacks.
struct ThunkInfo {
  const void* code = nullptr;
  std::size_t code_size = 0;
};

// The cache's lock is held across fork() (a child must not inherit it taken by a thread that
// does not exist there), and never while the arena's lock is taken. It is a plain mutex: a
// write-locked pthread rwlock can be released only by the thread id that took it, and the
// child's one thread has a new id.
struct EngineState : std::enable_shared_from_this<EngineState>, private jit::ForkParticipant {
  jit::CodeArena arena;
  mutable std::mutex mu;  // stubs and thunks
  std::unordered_map<Signature, std::unique_ptr<StubInfo>> stubs;
  std::unordered_map<Signature, ThunkInfo> thunks;
  // The pool of entry points (callbacks and veneers): blocks of veneers installed at once,
  // each with its data; a free one is taken and given back under `entries_mu`.
  std::mutex entries_mu;
  std::vector<EntryData*> free_entries;
  std::vector<std::unique_ptr<EntryData[]>> entry_blocks;
  std::vector<const void*> entry_block_code;

  // Never the same for two engines, even at one address: the per-thread memo of thunk_for
  // trusts a remembered thunk only for the engine it came from.
  const std::uint64_t serial = next_serial();

  // The code registry exists before this engine enrolls for fork(): it publishes while it
  // holds entries_mu.
  EngineState() {
    jit::prepare_code_registry();
    enroll();
  }
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

  // Code goes in and out through these: installed, then published to the process's tools
  // under the name `tramp.<product> <signature text>` (jit/code_registry.hpp); withdrawn
  // from them, then freed.
  const void* install(const jit::Emitted& code, std::string_view product, std::string_view sig_text);
  void free_code(const void* code) noexcept;

  BoundCall make_bound(const StubInfo& info, const void* fn);
  // `self` is the engine's own shared_ptr (a copy is cheaper than shared_from_this()).
  static Callback make_callback(const std::shared_ptr<EngineState>& self, const Signature& sig, Handler handler,
                                void* user, std::unique_ptr<CallableBox> box);
  const ThunkInfo& thunk_for(const Signature& sig);
  EntryData* take_entry(const void* target, const void* handler, void* user);
  void release_entry(EntryData* entry) noexcept;

  const void* direct_code(const StubInfo& info);
  const void* widened_code(const StubInfo& info);
  // The code in `slot`, made by `emit` from the stub's plan on first use (named `product`).
  const void* variant_code(std::atomic<const void*>& slot, jit::Emitted (*emit)(const abi::CallPlan&),
                           std::string_view product, const StubInfo& info);

  ~EngineState() {
    withdraw();
    for (auto& [sig, info] : stubs) {
      free_code(info->code);
      free_code(info->direct.load());
      free_code(info->widened.load());
    }
    for (auto& [sig, thunk] : thunks) free_code(thunk.code);
    for (const void* code : entry_block_code) free_code(code);
  }
};

}  // namespace detail

const void* detail::EngineState::install(const jit::Emitted& code, std::string_view product,
                                         std::string_view sig_text) {
  const void* at = arena.install(code.code);
  try {
    std::string name = "tramp.";
    name += product;
    if (!sig_text.empty()) {
      name += ' ';
      name += sig_text;
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
  return info_ ? std::size_t{info_->plan.stack_size} + info_->plan.copy_area_size : 0;
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
  const void* code = install(emit(info.plan), product, info.text);
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
  return info_->owner->make_bound(*info_, fn);
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

BoundCall detail::EngineState::make_bound(const StubInfo& info, const void* fn) {
  if (!fn) throw Error(ErrorCode::InvalidType, "bind(): the target function is null");
  const jit::Emitted code = jit::emit_call_stub(info.plan, fn);
  BoundCall b;
  b.entry_ = reinterpret_cast<BoundFn>(const_cast<void*>(install(code, "bound", info.text)));
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
  if (entry_ && owner_) owner_->release_entry(entry_);
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
}  // namespace

detail::EntryData* detail::EngineState::take_entry(const void* target, const void* handler, void* user) {
  EntryData* e = nullptr;
  {
    std::lock_guard lock(entries_mu);
    if (free_entries.empty()) {
      auto block = std::make_unique<EntryData[]>(kEntriesPerBlock);
      std::vector<const void*> slots(kEntriesPerBlock);
      for (std::size_t i = 0; i < kEntriesPerBlock; ++i) {
        block[i].target = released_entry_target();
        slots[i] = &block[i].target;
      }
      const jit::Emitted veneers = jit::emit_veneers(abi::arch_of(host_abi()), slots);
      const auto* code = static_cast<const std::uint8_t*>(install(veneers, "veneers", {}));
      entry_block_code.push_back(code);
      free_entries.reserve(free_entries.size() + kEntriesPerBlock);
      for (std::size_t i = kEntriesPerBlock; i-- > 0;) {
        block[i].code = code + i * jit::kVeneerStride;
        free_entries.push_back(&block[i]);
      }
      entry_blocks.push_back(std::move(block));
    }
    e = free_entries.back();
    free_entries.pop_back();
  }
  e->handler = handler;
  e->user = user;
  // The target last, with release: a thread that calls the veneer and reaches the thunk
  // finds the handler and user written.
  std::atomic_ref<const void*>(e->target).store(target, std::memory_order_release);
  return e;
}

void detail::EngineState::release_entry(EntryData* e) noexcept {
  std::atomic_ref<const void*>(e->target).store(released_entry_target(), std::memory_order_release);
  e->handler = nullptr;
  e->user = nullptr;
  std::lock_guard lock(entries_mu);
  free_entries.push_back(e);  // reserved when its block was made: cannot throw
}

namespace {
// The thunk this thread asked its engine for last: a program that makes callbacks of one
// signature in a loop finds it without the engine's lock and hash.
struct RecentThunk {
  std::uint64_t engine_serial = 0;
  const Signature* sig = nullptr;  // the engine's key: stable until the engine goes
  const detail::ThunkInfo* thunk = nullptr;
};
thread_local RecentThunk t_recent_thunk;
}  // namespace

const detail::ThunkInfo& detail::EngineState::thunk_for(const Signature& sig) {
  RecentThunk& recent = t_recent_thunk;
  if (recent.engine_serial == serial && *recent.sig == sig) return *recent.thunk;
  {
    std::lock_guard lock(mu);
    auto it = thunks.find(sig);
    if (it != thunks.end()) {
      recent = {serial, &it->first, &it->second};
      return it->second;
    }
  }
  // Classified and emitted outside the lock; a racing thread's duplicate is freed.
  const jit::Emitted code = jit::emit_callback_thunk(plan_for(sig));
  ThunkInfo made{install(code, "thunk", sig.str(true)), code.code.size()};
  std::lock_guard lock(mu);
  auto [it, inserted] = thunks.try_emplace(sig, made);
  if (!inserted) free_code(made.code);
  recent = {serial, &it->first, &it->second};
  return it->second;
}

Callback detail::EngineState::make_callback(const std::shared_ptr<EngineState>& self, const Signature& sig,
                                            Handler handler, void* user, std::unique_ptr<CallableBox> box) {
  if (!handler) throw Error(ErrorCode::InvalidType, "callback(): the handler is null");
  const ThunkInfo& thunk = self->thunk_for(sig);
  Callback cb;
  cb.entry_ = self->take_entry(thunk.code, reinterpret_cast<const void*>(handler), user);
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
  if (entry_ && owner_) owner_->release_entry(entry_);
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
  v.entry_ = state_->take_entry(target, nullptr, nullptr);
  v.code_ = v.entry_->code;
  v.code_size_ = jit::kVeneerStride;
  v.owner_ = state_;
  return v;
}

Engine::Engine() : state_(std::make_shared<detail::EngineState>()) {}
Engine::~Engine() = default;

Engine& Engine::global() {
  static Engine* engine = new Engine();  // never destroyed: stubs may run during exit
  return *engine;
}

Invoker Engine::invoker(const Signature& sig) {
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->stubs.find(sig);
    if (it != state_->stubs.end()) {
      Invoker inv;
      inv.entry_ = reinterpret_cast<InvokeFn>(const_cast<void*>(it->second->code));
      inv.info_ = it->second.get();
      return inv;
    }
  }
  // Classify and emit outside the lock; a racing thread may do the same work, and the
  // loser's code is freed.
  auto info = std::make_unique<detail::StubInfo>(sig, plan_for(sig));
  const jit::Emitted code = jit::emit_call_stub(info->plan, nullptr);
  info->code = state_->install(code, "call", info->text);
  info->code_size = code.code.size();
  info->owner = state_.get();

  Invoker inv;
  {
    std::lock_guard lock(state_->mu);
    auto [it, inserted] = state_->stubs.try_emplace(sig, std::move(info));
    inv.entry_ = reinterpret_cast<InvokeFn>(const_cast<void*>(it->second->code));
    inv.info_ = it->second.get();
  }
  if (info) state_->free_code(info->code);  // another thread's stub won the race
  return inv;
}

BoundCall Engine::bind(const Signature& sig, const void* fn) { return invoker(sig).bind(fn); }

CodeStats Engine::code_stats() const {
  jit::ArenaStats a = state_->arena.stats();
  return {a.chunks, a.bytes_mapped, a.bytes_in_use, a.live_blocks, a.total_allocs};
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
