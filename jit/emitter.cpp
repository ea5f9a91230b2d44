#include "jit/emitter.hpp"

namespace tramp::jit {

ThunkArgSlots thunk_arg_slots(const abi::CallPlan& plan) {
  const std::size_t n = plan.args.size();
  ThunkArgSlots t{std::vector<std::uint32_t>(n, 0), std::vector<bool>(n, false),
                  std::vector<std::uint32_t>(n, 0), static_cast<std::uint32_t>(n * 8)};
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
  return t;
}

std::vector<std::uint8_t> emit_call_stub(const abi::CallPlan& plan, const void* bound_fn) {
  switch (plan.arch) {
    case abi::Arch::X64:
      return emit_x64_call_stub(plan, bound_fn);
    case abi::Arch::A64:
      return emit_a64_call_stub(plan, bound_fn);
  }
  throw Error(ErrorCode::HostAbi, "no emitter for this architecture");
}

std::vector<std::uint8_t> emit_register_return_stub(const abi::CallPlan& plan) {
  switch (plan.arch) {
    case abi::Arch::X64:
      return emit_x64_call_stub(plan, nullptr, true);
    case abi::Arch::A64:
      return emit_a64_call_stub(plan, nullptr, true);
  }
  throw Error(ErrorCode::HostAbi, "no emitter for this architecture");
}

std::vector<std::uint8_t> emit_callback_thunk(const abi::CallPlan& plan, const void* handler,
                                              const void* user) {
  switch (plan.arch) {
    case abi::Arch::X64:
      return emit_x64_thunk(plan, handler, user);
    case abi::Arch::A64:
      return emit_a64_thunk(plan, handler, user);
  }
  throw Error(ErrorCode::HostAbi, "no emitter for this architecture");
}

std::vector<std::uint8_t> emit_veneer(abi::Arch arch, const void* slot) {
  switch (arch) {
    case abi::Arch::X64:
      return emit_x64_veneer(slot);
    case abi::Arch::A64:
      return emit_a64_veneer(slot);
  }
  throw Error(ErrorCode::HostAbi, "no emitter for this architecture");
}

}  // namespace tramp::jit
