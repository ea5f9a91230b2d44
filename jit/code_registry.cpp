#include "jit/code_registry.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "jit/fork_safety.hpp"
#include "jit/gdb_jit.hpp"
#include "jit/perf_map.hpp"
#include "jit/unwind.hpp"
#include "jit/zeroed_array.hpp"

namespace tramp::jit {
namespace {

bool switched_off(const char* variable) {
  const char* value = std::getenv(variable);
  return value && std::strcmp(value, "0") == 0;
}

// A piece of code as the tools know it, in one allocation: this struct, then its GDB object
// (which holds its name and .eh_frame) or, without one, its name and .eh_frame.
struct Published {
  const void* code = nullptr;
  std::size_t size = 0;
  std::string_view name;                        // in the block (the GDB object's copy, if any)
  std::span<const std::uint8_t> symfile;        // in the block; empty without GDB
  const std::uint8_t* eh_frame_data = nullptr;  // in the block (the GDB object's copy, if any)
  std::size_t fde_offset = 0;
  UnwindObject unwind_object;
  std::uint64_t serial = 0;  // publication order
  GdbEntry gdb;
  Published* next_in_bucket = nullptr;  // the registry's table (LiveTable)

  struct Free {
    void operator()(Published* p) const noexcept {
      p->~Published();
      ::operator delete(p);
    }
  };
  using Ptr = std::unique_ptr<Published, Free>;
  // A block with `extra` bytes after the struct, 8-aligned.
  static Ptr make(std::size_t extra) {
    static_assert(sizeof(Published) % 8 == 0 && std::is_trivially_destructible_v<Published>);
    return Ptr(new (::operator new(sizeof(Published) + extra)) Published);
  }
  std::uint8_t* tail() noexcept { return reinterpret_cast<std::uint8_t*>(this + 1); }
};

// The published code by address: a hash table whose chains run through the entries
// themselves, so that publishing allocates nothing but the entry. A doubling costs nothing
// that grows with the table (at 65,536 pieces of code it took 3 to 5 ms on the development
// VM, rehashing and faulting in the fresh array): the old chains move a few per publication
// (kMovesPerInsert), a lookup reading the old bucket too until they have, and the next
// bucket array is made ahead, its pages written a few at a time (jit/zeroed_array.hpp).
class LiveTable {
  using Buckets = ZeroedArray<Published*>;  // zero is an empty chain

 public:
  LiveTable() = default;
  LiveTable(const LiveTable&) = delete;
  LiveTable& operator=(const LiveTable&) = delete;
  // Throws std::bad_alloc, having taken nothing.
  void insert(Published::Ptr p) {
    if (count_ + 1 > buckets_.size()) grow();
    link(p.release());
    ++count_;
    move_some();
    next_.prepare(buckets_.size(), count_, buckets_.size() / 2, buckets_.size());
  }
  Published::Ptr take(const void* code) noexcept {
    Published* e = unlink(buckets_, shift_, code);
    if (!e) e = unlink(old_, old_shift_, code);
    if (e) --count_;
    return Published::Ptr(e);
  }
  template <class F>
  void for_each(F f) const {
    for (const Buckets* table : {&buckets_, &old_})
      for (std::size_t i = 0; i < table->size(); ++i)
        for (Published* e = (*table)[i]; e; e = e->next_in_bucket) f(*e);
  }

 private:
  // A doubling's old chains have all moved after a quarter of the publications that lead to
  // the next one.
  static constexpr std::size_t kMovesPerInsert = 4;
  // Code addresses are 16-aligned and 16 to a few hundred bytes apart: their bits above the
  // fourth, multiplied by a large odd constant (Fibonacci hashing), spread over the table.
  static std::size_t bucket(const void* code, unsigned shift) noexcept {
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(code) >> 4) * 0x9E3779B97F4A7C15ull >> shift);
  }
  void link(Published* e) noexcept {
    Published*& head = buckets_[bucket(e->code, shift_)];
    e->next_in_bucket = head;
    head = e;
  }
  static Published* unlink(Buckets& table, unsigned shift, const void* code) noexcept {
    if (!table.size()) return nullptr;
    for (Published** at = &table[bucket(code, shift)]; *at; at = &(*at)->next_in_bucket)
      if ((*at)->code == code) {
        Published* e = *at;
        *at = e->next_in_bucket;
        return e;
      }
    return nullptr;
  }
  // Moves the next old chains into the new buckets; frees the old array when all have moved.
  // A moved bucket is left empty, so the old array holds exactly the entries not yet moved.
  void move_some() noexcept {
    if (!old_.size()) return;
    for (const std::size_t end = std::min(old_.size(), moved_ + kMovesPerInsert); moved_ < end; ++moved_)
      while (Published* e = old_[moved_]) {
        old_[moved_] = e->next_in_bucket;
        link(e);
      }
    if (moved_ == old_.size()) {
      old_ = Buckets();
      moved_ = 0;
    }
  }
  void grow() {
    const std::size_t n = std::max<std::size_t>(64, 2 * buckets_.size());  // a power of two
    Buckets bigger = next_.take(n);
    while (old_.size()) move_some();  // at kMovesPerInsert's pace the last doubling's have all moved
    old_ = std::exchange(buckets_, std::move(bigger));
    old_shift_ = shift_;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(n));
  }
  Buckets buckets_;
  Buckets old_;  // the buckets being moved from; empty when none are
  NextArray<Published*> next_;
  std::size_t moved_ = 0;        // old_'s buckets [0, moved_) are empty, their chains moved
  std::size_t count_ = 0;
  unsigned shift_ = 64, old_shift_ = 64;
};

// One per process. Every tool is told under `mu`, in the order code comes and goes.
class Registry final : private ForkParticipant {
 public:
  Registry() {
    gdb_ = !switched_off("TRAMP_GDB_JIT");
    unwind_ = !switched_off("TRAMP_UNWIND");
    if (const char* perf = std::getenv("TRAMP_PERF_MAP")) {
      try {
        if (std::strcmp(perf, "1") == 0) perf_ = open_perf_map(), perf_kind_ = PerfOutput::Map;
        else if (std::strcmp(perf, "jitdump") == 0) perf_ = open_jitdump(host_arch()), perf_kind_ = PerfOutput::JitDump;
      } catch (const std::exception&) {
        // Asked for by the environment, not by the program: no file, no failure.
      }
    }
    enroll();
  }

  void publish(Published::Ptr p) {
    Published& e = *p;
    std::lock_guard lock(mu_);
    live_.insert(std::move(p));  // may throw: nothing told yet
    e.serial = next_serial_++;
    if (unwind_) register_eh_frame(e.eh_frame_data, e.fde_offset, e.unwind_object);
    if (!e.symfile.empty()) gdb_register(e.gdb);
    if (perf_) perf_->code_loaded(e.code, e.size, e.name);
  }

  void withdraw(const void* code) noexcept {
    Published::Ptr e;
    std::lock_guard lock(mu_);
    if (take(code, e)) tell_withdrawn(*e);
  }

  // Many at once, in the order libgcc 12 finds them soonest (unwind.hpp, UnwindObject):
  // withdrawing one at a time in any other order costs time in proportion to how many are
  // registered, and an engine of 10,000 stubs took seconds to destroy.
  void withdraw(std::span<const void* const> codes) noexcept {
    std::vector<Published::Ptr> gone;
    std::lock_guard lock(mu_);
    try {
      gone.reserve(codes.size());
    } catch (...) {  // no memory for the list: one at a time
      for (const void* code : codes)
        if (Published::Ptr e; take(code, e)) tell_withdrawn(*e);
      return;
    }
    for (const void* code : codes)
      if (Published::Ptr e; take(code, e)) gone.push_back(std::move(e));
    auto unsearched_first = [](const Published::Ptr& a, const Published::Ptr& b) {
      const bool sa = unwind_object_searched(a->unwind_object), sb = unwind_object_searched(b->unwind_object);
      if (sa != sb) return sb;
      return sa ? a->code > b->code : a->serial > b->serial;
    };
    std::sort(gone.begin(), gone.end(), unsearched_first);
    for (const auto& e : gone) tell_withdrawn(*e);
  }

  bool gdb() const noexcept { return gdb_; }
  bool unwind() const noexcept { return unwind_; }

  void set_perf(PerfOutput kind) {
    std::lock_guard lock(mu_);
    if (kind == perf_kind_) return;
    perf_.reset();
    perf_kind_ = PerfOutput::None;
    if (kind == PerfOutput::None) return;
    perf_ = kind == PerfOutput::Map ? open_perf_map() : open_jitdump(host_arch());
    perf_kind_ = kind;
    write_live();
  }

  PerfOutput perf_kind() noexcept {
    std::lock_guard lock(mu_);
    return perf_kind_;
  }

 private:
  static abi::Arch host_arch() {
#if defined(__aarch64__)
    return abi::Arch::A64;
#else
    return abi::Arch::X64;
#endif
  }

  // Under mu_: `code`'s entry, out of the live table.
  bool take(const void* code, Published::Ptr& e) noexcept {
    e = live_.take(code);
    return e != nullptr;
  }
  void tell_withdrawn(Published& e) noexcept {
    if (!e.symfile.empty()) gdb_unregister(e.gdb);
    if (unwind_) unregister_eh_frame(e.eh_frame_data, e.fde_offset);
  }

  void write_live() noexcept {
    live_.for_each([this](const Published& e) { perf_->code_loaded(e.code, e.size, e.name); });
  }

  void fork_prepare() override { mu_.lock(); }
  void fork_parent() override { mu_.unlock(); }
  // The child inherits the code, the unwinder's and gdb's lists; perf's files are named by
  // the process id, so the child starts its own and writes what it inherited into it.
  void fork_child() override {
    if (perf_) {
      const PerfOutput kind = perf_kind_;
      perf_->abandon();  // the parent's file: the parent goes on writing and closes it
      perf_.reset();
      perf_kind_ = PerfOutput::None;
      try {
        perf_ = kind == PerfOutput::Map ? open_perf_map() : open_jitdump(host_arch());
        perf_kind_ = kind;
        write_live();
      } catch (const std::exception&) {
      }
    }
    mu_.unlock();
  }

  std::mutex mu_;
  LiveTable live_;
  std::uint64_t next_serial_ = 0;
  bool gdb_ = true;
  bool unwind_ = true;
  std::unique_ptr<PerfWriter> perf_;
  PerfOutput perf_kind_ = PerfOutput::None;
};

// Never destroyed: code may be withdrawn while the process exits.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void prepare_code_registry() { (void)registry(); }

void publish_code(const void* code, std::size_t size, const Frame& frame, std::string_view name) {
  Registry& r = registry();
  // gdb reads the .eh_frame from its symbol file too, so it is made when either wants it, and
  // kept once: in the object when there is one. So is the name.
  thread_local std::vector<std::uint8_t> eh_frame;  // its capacity kept from stub to stub
  eh_frame.clear();
  if (r.gdb() || r.unwind()) write_eh_frame(frame, reinterpret_cast<std::uintptr_t>(code), size, eh_frame);
  const std::size_t symfile_size = r.gdb() ? gdb_symfile_size(name.size(), eh_frame.size()) : 0;
  const std::size_t name_room = r.gdb() ? 0 : (name.size() + 7) & ~std::size_t{7};
  Published::Ptr p = Published::make(r.gdb() ? symfile_size : name_room + (r.unwind() ? eh_frame.size() : 0));
  p->code = code;
  p->size = size;
  std::uint8_t* at = p->tail();
  if (r.gdb()) {
    p->name = write_gdb_symfile({at, symfile_size}, frame.arch, code, size, name, eh_frame);
    p->symfile = {at, symfile_size};
    p->gdb.symfile_addr = at;
    p->gdb.symfile_size = symfile_size;
    p->eh_frame_data = at + gdb_symfile_eh_frame_offset;
  } else {
    p->name = {reinterpret_cast<const char*>(std::memcpy(at, name.data(), name.size())), name.size()};
    if (r.unwind()) p->eh_frame_data = static_cast<const std::uint8_t*>(std::memcpy(at + name_room, eh_frame.data(), eh_frame.size()));
  }
  if (r.gdb() || r.unwind()) p->fde_offset = eh_frame_fde_offset(eh_frame);
  r.publish(std::move(p));
}

void withdraw_code(const void* code) noexcept { registry().withdraw(code); }
void withdraw_codes(std::span<const void* const> codes) noexcept { registry().withdraw(codes); }

void set_perf_output(PerfOutput output) { registry().set_perf(output); }
PerfOutput perf_output() noexcept { return registry().perf_kind(); }

}  // namespace tramp::jit
