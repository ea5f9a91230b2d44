#include "jit/emitter.hpp"

namespace tramp::jit {

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

}  // namespace tramp::jit
