#include "jit/emitter.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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
    const std::uint32_t align = arg.align > 16 ? arg.align : arg.align > 8 ? 16 : 8;
    if (align > t.align) t.align = align;
    t.slot[i] = align_up(t.end, align);
    t.end = align_up(t.slot[i] + (arg.size ? arg.size : 1), 8);
  }
  return t;
}

namespace {

// CPUID's feature bits and XGETBV's enabled state components (Intel SDM vol. 1, 13.3: AVX
// needs XMM and YMM state, AVX-512 also opmask, ZMM_Hi256 and Hi16_ZMM).
abi::VectorIsa detect_vector_isa() noexcept {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return abi::VectorIsa::Base;
  const bool osxsave = c >> 27 & 1, avx = c >> 28 & 1;
  if (!osxsave || !avx) return abi::VectorIsa::Base;
  unsigned lo = 0, hi = 0;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  (void)hi;
  if ((lo & 0x6) != 0x6) return abi::VectorIsa::Base;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 16 & 1) && (lo & 0xE6) == 0xE6)
    return abi::VectorIsa::Avx512f;
  return abi::VectorIsa::Avx;
#else
  return abi::VectorIsa::Base;  // AArch64 plans use no wider vector register than q
#endif
}

}  // namespace

abi::VectorIsa host_vector_isa() noexcept {
  static const abi::VectorIsa isa = [] {
    abi::VectorIsa detected = detect_vector_isa();
    // TRAMP_HOST_VECTOR_ISA=base or avx makes a host with more behave as one without: the
    // tests of what a smaller CPU refuses run everywhere (docs/testing.md). It never raises.
    if (const char* limit = std::getenv("TRAMP_HOST_VECTOR_ISA")) {
      const std::string_view l = limit;
      if (l == "base") detected = abi::VectorIsa::Base;
      else if (l == "avx" && detected > abi::VectorIsa::Avx) detected = abi::VectorIsa::Avx;
    }
    return detected;
  }();
  return isa;
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

std::vector<std::uint8_t> emit_callback_thunk(const abi::CallPlan& plan) {
  switch (plan.arch) {
    case abi::Arch::X64:
      return emit_x64_thunk(plan);
    case abi::Arch::A64:
      return emit_a64_thunk(plan);
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

std::vector<std::uint8_t> emit_veneers(abi::Arch arch, const std::vector<const void*>& slots) {
  // The padding is never reached (each veneer ends in a jump): int3 on x86-64, and on
  // AArch64 zero words, which are permanently undefined (UDF #0).
  const std::uint8_t pad = arch == abi::Arch::X64 ? 0xCC : 0x00;
  std::vector<std::uint8_t> out(slots.size() * kVeneerStride, pad);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const std::vector<std::uint8_t> one = emit_veneer(arch, slots[i]);
    if (one.size() > kVeneerStride) throw Error(ErrorCode::Jit, "a veneer is larger than its stride");
    std::copy(one.begin(), one.end(), out.begin() + static_cast<std::ptrdiff_t>(i * kVeneerStride));
  }
  return out;
}

}  // namespace tramp::jit
