#include "tramp/engine.hpp"

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "abi/call_plan.hpp"
#include "jit/code_arena.hpp"
#include "jit/emitter.hpp"
#include "jit/errno_slot.hpp"
#include "jit/fork_safety.hpp"

namespace tramp {
namespace detail {

struct StubInfo {
  StubInfo(Signature s, abi::CallPlan p) : sig(std::move(s)), plan(std::move(p)) {}
  Signature sig;
  abi::CallPlan plan;
  const void* code = nullptr;
  std::size_t code_size = 0;
  EngineState* owner = nullptr;
  // The register-return variant (Invoker::direct), made on first use under the engine's lock.
  mutable std::atomic<const void*> direct{nullptr};
};

struct CallableBox {
  CallableHandler fn;
  std::size_t ret_size = 0;
};

// The cache's lock is held across fork() (a child must not inherit it taken by a thread that
// does not exist there), and never while the arena's lock is taken. It is a plain mutex: a
// write-locked pthread rwlock can be released only by the thread id that took it, and the
// child's one thread has a new id.
struct EngineState : std::enable_shared_from_this<EngineState>, private jit::ForkParticipant {
  jit::CodeArena arena;
  mutable std::mutex mu;
  std::unordered_map<Signature, std::unique_ptr<StubInfo>> stubs;

  EngineState() { enroll(); }
  void fork_prepare() override { mu.lock(); }
  void fork_parent() override { mu.unlock(); }
  void fork_child() override { mu.unlock(); }

  BoundCall make_bound(const abi::CallPlan& plan, const void* fn);
  Callback make_callback(const Signature& sig, Handler handler, void* user,
                         std::unique_ptr<CallableBox> box);

  const void* direct_code(const StubInfo& info);

  ~EngineState() {
    withdraw();
    for (auto& [sig, info] : stubs) {
      arena.free(info->code);
      arena.free(info->direct.load());
    }
  }
};

}  // namespace detail

namespace {

abi::CallPlan plan_for(const Signature& sig) {
  if (!host_can_run(sig.abi()))
    throw Error(ErrorCode::HostAbi, "this host cannot run code for the " +
                                        std::string(abi_name(sig.abi())) + " ABI (" +
                                        sig.str(true) + "); plans are still available");
  Result<abi::CallPlan> plan = abi::classify(sig);
  if (!plan) throw plan.error();
  return std::move(plan).value();
}
}  // namespace

const Signature& Invoker::signature() const noexcept { return info_->sig; }
std::size_t Invoker::code_size() const noexcept { return info_ ? info_->code_size : 0; }

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

const void* detail::EngineState::direct_code(const StubInfo& info) {
  if (const void* code = info.direct.load(std::memory_order_acquire)) return code;
  // Made outside any lock; a racing thread may do the same work, and the loser's code is freed.
  std::vector<std::uint8_t> bytes = jit::emit_register_return_stub(info.plan);
  const void* code = arena.install(bytes);
  const void* expected = nullptr;
  if (info.direct.compare_exchange_strong(expected, code, std::memory_order_acq_rel)) return code;
  arena.free(code);
  return expected;
}

BoundCall Invoker::bind(const void* fn) const {
  if (!info_) throw Error(ErrorCode::InvalidType, "bind() on an empty Invoker");
  return info_->owner->make_bound(info_->plan, fn);
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
  if (entry_ && owner_) owner_->arena.free(reinterpret_cast<const void*>(entry_));
}

BoundCall detail::EngineState::make_bound(const abi::CallPlan& plan, const void* fn) {
  if (!fn) throw Error(ErrorCode::InvalidType, "bind(): the target function is null");
  std::vector<std::uint8_t> code = jit::emit_call_stub(plan, fn);
  BoundCall b;
  b.entry_ = reinterpret_cast<BoundFn>(const_cast<void*>(arena.install(code)));
  b.code_size_ = code.size();
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

int last_errno() noexcept { return jit::errno_slot(); }
void set_last_errno(int value) noexcept { jit::errno_slot() = value; }

Callback::Callback() noexcept = default;

Callback::Callback(Callback&& o) noexcept
    : code_(std::exchange(o.code_, nullptr)),
      code_size_(std::exchange(o.code_size_, 0)),
      owner_(std::move(o.owner_)),
      box_(std::move(o.box_)) {}

Callback& Callback::operator=(Callback&& o) noexcept {
  if (this != &o) {
    Callback dead(std::move(*this));
    code_ = std::exchange(o.code_, nullptr);
    code_size_ = std::exchange(o.code_size_, 0);
    owner_ = std::move(o.owner_);
    box_ = std::move(o.box_);
  }
  return *this;
}

Callback::~Callback() {
  if (code_ && owner_) owner_->arena.free(code_);
}

Callback detail::EngineState::make_callback(const Signature& sig, Handler handler, void* user,
                                            std::unique_ptr<CallableBox> box) {
  if (!handler) throw Error(ErrorCode::InvalidType, "callback(): the handler is null");
  abi::CallPlan plan = plan_for(sig);
  std::vector<std::uint8_t> code = jit::emit_callback_thunk(plan, reinterpret_cast<const void*>(handler), user);
  Callback cb;
  cb.code_ = arena.install(code);
  cb.code_size_ = code.size();
  cb.owner_ = shared_from_this();
  cb.box_ = std::move(box);
  return cb;
}

Callback Engine::callback(const Signature& sig, Handler handler, void* user) {
  return state_->make_callback(sig, handler, user, nullptr);
}

Callback Engine::callback(const Signature& sig, CallableHandler handler) {
  if (!handler) throw Error(ErrorCode::InvalidType, "callback(): the handler is empty");
  auto box = std::make_unique<detail::CallableBox>();
  box->fn = std::move(handler);
  box->ret_size = sig.ret()->size();
  void* user = box.get();
  return state_->make_callback(sig, &run_callable, user, std::move(box));
}

Veneer::Veneer() noexcept = default;

Veneer::Veneer(Veneer&& o) noexcept
    : code_(std::exchange(o.code_, nullptr)),
      code_size_(std::exchange(o.code_size_, 0)),
      slot_(std::move(o.slot_)),
      owner_(std::move(o.owner_)) {}

Veneer& Veneer::operator=(Veneer&& o) noexcept {
  if (this != &o) {
    Veneer dead(std::move(*this));
    code_ = std::exchange(o.code_, nullptr);
    code_size_ = std::exchange(o.code_size_, 0);
    slot_ = std::move(o.slot_);
    owner_ = std::move(o.owner_);
  }
  return *this;
}

Veneer::~Veneer() {
  if (code_ && owner_) owner_->arena.free(code_);
}

const void* Veneer::target() const noexcept { return slot_ ? slot_->load(std::memory_order_acquire) : nullptr; }

void Veneer::retarget(const void* target) noexcept {
  if (slot_) slot_->store(target, std::memory_order_release);
}

Veneer Engine::veneer(const void* target) {
  static_assert(sizeof(std::atomic<const void*>) == 8 && std::atomic<const void*>::is_always_lock_free,
                "the veneer's code reads its slot as one plain 8-byte word");
  Veneer v;
  v.slot_ = std::make_unique<std::atomic<const void*>>(target);
  std::vector<std::uint8_t> code = veneer_code(v.slot_.get());
  v.code_ = state_->arena.install(code);
  v.code_size_ = code.size();
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
  std::vector<std::uint8_t> code = jit::emit_call_stub(info->plan, nullptr);
  info->code = state_->arena.install(code);
  info->code_size = code.size();
  info->owner = state_.get();

  Invoker inv;
  {
    std::lock_guard lock(state_->mu);
    auto [it, inserted] = state_->stubs.try_emplace(sig, std::move(info));
    inv.entry_ = reinterpret_cast<InvokeFn>(const_cast<void*>(it->second->code));
    inv.info_ = it->second.get();
  }
  if (info) state_->arena.free(info->code);  // another thread's stub won the race
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
  return jit::emit_veneer(abi::arch_of(host_abi()), slot);
}

std::vector<std::uint8_t> machine_code(const Signature& sig, CodeKind kind, const void* fn, const void* user) {
  auto plan = abi::classify(sig);
  if (!plan) throw plan.error();
  switch (kind) {
    case CodeKind::Invoke:
      return jit::emit_call_stub(plan.value());
    case CodeKind::Bound:
      if (!fn) throw Error(ErrorCode::Unsupported, "a bound stub needs the target's address");
      return jit::emit_call_stub(plan.value(), fn);
    case CodeKind::RegisterReturn:
      return jit::emit_register_return_stub(plan.value());
    case CodeKind::Callback:
      return jit::emit_callback_thunk(plan.value(), fn, user);
  }
  throw Error(ErrorCode::Unsupported, "unknown code kind");
}

}  // namespace tramp
