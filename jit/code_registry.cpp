#include "jit/code_registry.hpp"

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "jit/gdb_jit.hpp"
#include "jit/unwind.hpp"

namespace tramp::jit {
namespace {

struct Published {
  std::vector<std::uint8_t> eh_frame;
  std::size_t fde_offset = 0;
  GdbEntry gdb;
};

struct Registry {
  std::mutex mu;
  std::unordered_map<std::uintptr_t, std::unique_ptr<Published>> live;
};

// The GDB JIT interface is on unless the environment says TRAMP_GDB_JIT=0.
bool gdb_wanted() {
  static const bool on = [] {
    const char* v = std::getenv("TRAMP_GDB_JIT");
    return !(v && v[0] == '0' && v[1] == '\0');
  }();
  return on;
}

// Never destroyed: code may be withdrawn while the process exits.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void publish_code(const void* code, std::size_t size, const Frame& frame, std::string_view name) {
  auto entry = std::make_unique<Published>();
  entry->eh_frame = eh_frame(frame, reinterpret_cast<std::uintptr_t>(code), size);
  entry->fde_offset = eh_frame_fde_offset(entry->eh_frame);
  const bool gdb = gdb_wanted();
  if (gdb) entry->gdb.symfile = gdb_symfile(frame.arch, code, size, name, entry->eh_frame);
  Published& e = *entry;
  Registry& r = registry();
  {
    std::lock_guard lock(r.mu);  // what may throw comes before any tool is told
    r.live[reinterpret_cast<std::uintptr_t>(code)] = std::move(entry);
  }
  register_eh_frame(e.eh_frame.data(), e.fde_offset);
  if (gdb) gdb_register(e.gdb);
}

void withdraw_code(const void* code) noexcept {
  Registry& r = registry();
  std::unique_ptr<Published> entry;
  {
    std::lock_guard lock(r.mu);
    auto it = r.live.find(reinterpret_cast<std::uintptr_t>(code));
    if (it == r.live.end()) return;
    entry = std::move(it->second);
    r.live.erase(it);
  }
  if (!entry->gdb.symfile.empty()) gdb_unregister(entry->gdb);
  unregister_eh_frame(entry->eh_frame.data(), entry->fde_offset);
}

}  // namespace tramp::jit
