#include "jit/emitter.hpp"

#include "jit/isa.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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
    const std::uint32_t align = arg.align > 16 ? arg.align : arg.align > 8 ? 16 : 8;
    if (align > t.align) t.align = align;
    t.slot[i] = align_up(t.end, align);
    t.end = align_up(t.slot[i] + (arg.size ? arg.size : 1), 8);
  }
  if (plan.has_static_chain) {
    t.static_chain = t.end;
    t.end += 8;
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
