#include "jit/code_registry.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "jit/unwind.hpp"

namespace tramp::jit {
namespace {

struct Published {
  std::vector<std::uint8_t> eh_frame;
  std::size_t fde_offset = 0;
};

struct Registry {
  std::mutex mu;
  std::unordered_map<std::uintptr_t, std::unique_ptr<Published>> live;
};

// Never destroyed: code may be withdrawn while the process exits.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

void publish_code(const void* code, std::size_t size, const Frame& frame, std::string_view /*name*/) {
  auto entry = std::make_unique<Published>();
  entry->eh_frame = eh_frame(frame, reinterpret_cast<std::uintptr_t>(code), size);
  entry->fde_offset = eh_frame_fde_offset(entry->eh_frame);
  const Published& e = *entry;
  Registry& r = registry();
  {
    std::lock_guard lock(r.mu);  // what may throw comes before any tool is told
    r.live[reinterpret_cast<std::uintptr_t>(code)] = std::move(entry);
  }
  register_eh_frame(e.eh_frame.data(), e.fde_offset);
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
  unregister_eh_frame(entry->eh_frame.data(), entry->fde_offset);
}

}  // namespace tramp::jit
