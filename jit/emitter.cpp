#include "jit/emitter.hpp"

#include "jit/isa.hpp"

#include <algorithm>

namespace tramp::jit {

ThunkArgSlots thunk_arg_slots(const abi::CallPlan& plan) {
  const std::size_t n = plan.args.size();
  const std::size_t pointers = n + (plan.has_static_chain ? 1 : 0);
  ThunkArgSlots t;
  t.slot.assign(n, 0);
  t.in_place.assign(n, false);
  t.in_place_at.assign(n, 0);
  t.end = static_cast<std::uint32_t>(pointers * 8);
  auto align_up = [](std::uint32_t v, std::uint32_t a) { return (v + a - 1) / a * a; };
  for (std::size_t i = 0; i < n; ++i) {
    const auto& arg = plan.args[i];
    std::uint32_t at = 0;
    if (abi::lies_in_place_on_stack(arg, at)) {
      t.in_place[i] = true;
      t.in_place_at[i] = at;
      continue;
    }
    if (arg.kind == abi::PassKind::Indirect) continue;
    t.slot[i] = align_up(t.end, arg.align > 8 ? 16 : 8);
    t.end = align_up(t.slot[i] + (arg.size ? arg.size : 1), 8);
  }
  if (plan.has_static_chain) {
    t.static_chain = t.end;
    t.end += 8;
  }
  return t;
}

// Defaults for what only some architectures have.
void Isa::load_x87(Gpr, std::uint32_t) { throw Error(ErrorCode::Unsupported, "no x87 stack on this architecture"); }
void Isa::store_x87(Gpr, std::uint32_t) { throw Error(ErrorCode::Unsupported, "no x87 stack on this architecture"); }
void Isa::save_frame_record(std::uint32_t) {}
void Isa::restore_frame_record(std::uint32_t) {}

Emitted emit_veneers(abi::Arch arch, const std::vector<const void*>& slots) {
  // The padding is never reached (each veneer ends in a jump): int3 on x86-64, and on
  // AArch64 zero words, which are permanently undefined (UDF #0).
  const std::uint8_t pad = arch == abi::Arch::X64 ? 0xCC : 0x00;
  Emitted out{std::vector<std::uint8_t>(slots.size() * kVeneerStride, pad), {}};
  for (std::size_t i = 0; i < slots.size(); ++i) {
    Emitted one = emit_veneer(arch, slots[i]);
    if (one.code.size() > kVeneerStride) throw Error(ErrorCode::Jit, "a veneer is larger than its stride");
    std::copy(one.code.begin(), one.code.end(), out.code.begin() + static_cast<std::ptrdiff_t>(i * kVeneerStride));
    out.frame = std::move(one.frame);
  }
  return out;
}

}  // namespace tramp::jit
