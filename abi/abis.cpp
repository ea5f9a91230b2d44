#include "abi/abis.hpp"

namespace tramp::abi {
namespace {

#if defined(__x86_64__) && !defined(_WIN64)
// gcc and clang compile ms_abi functions on x86-64 Linux; both conventions run here.
constexpr bool kRunsSysV = true, kRunsWin64 = true, kRunsAapcs64 = false, kRunsApple = false;
#elif defined(_WIN64)
constexpr bool kRunsSysV = false, kRunsWin64 = true, kRunsAapcs64 = false, kRunsApple = false;
#elif defined(__aarch64__) && defined(__APPLE__)
constexpr bool kRunsSysV = false, kRunsWin64 = false, kRunsAapcs64 = false, kRunsApple = true;
#elif defined(__aarch64__)
constexpr bool kRunsSysV = false, kRunsWin64 = false, kRunsAapcs64 = true, kRunsApple = false;
#else
constexpr bool kRunsSysV = false, kRunsWin64 = false, kRunsAapcs64 = false, kRunsApple = false;
#endif

#if defined(_WIN64)
constexpr Abi kX64Uniform = Abi::Win64;
#else
constexpr Abi kX64Uniform = Abi::SysV_X64;
#endif

constexpr AbiInfo kAbis[] = {
    {.abi = Abi::SysV_X64,
     .name = "sysv",
     .arch = Arch::X64,
     .classify = classify_sysv_x64,
     .host_runs = kRunsSysV,
     .uniform = kX64Uniform,
     .long_double = TypeKind::F80,
     .has_f80 = true,
     .has_f128 = true,
     .va_list = VaList::SysVRecord,
     .has_fp16 = false,
     .vector_align_cap = 0,
     .unnamed_bit_fields_align = false,
     .plain_char_signed = true,
     .c_attribute = "sysv_abi",
     .stack_slot = 8,
     .static_chain = x64::r10},  // psABI figure 3.4: "used for passing a function's static chain pointer"
    {.abi = Abi::Win64,
     .name = "win64",
     .arch = Arch::X64,
     .classify = classify_win64,
     .host_runs = kRunsWin64,
     .uniform = kX64Uniform,
     .long_double = TypeKind::F80,  // gcc keeps the x87 format in ms_abi functions
     .has_f80 = true,
     .has_f128 = true,
     .va_list = VaList::Pointer,
     .has_fp16 = false,
     .vector_align_cap = 0,
     .unnamed_bit_fields_align = false,
     .plain_char_signed = true,
     .c_attribute = "ms_abi",
     .stack_slot = 8,
     .static_chain = x64::r10},  // Microsoft defines none; gcc uses r10 for ms_abi calls too
    {.abi = Abi::Aapcs64,
     .name = "aapcs64",
     .arch = Arch::A64,
     .classify = classify_aapcs64,
     .host_runs = kRunsAapcs64,
     .uniform = Abi::Aapcs64,
     .long_double = TypeKind::F128,
     .has_f80 = false,
     .has_f128 = true,
     .va_list = VaList::Aapcs64Record,
     .has_fp16 = true,
     .vector_align_cap = 16,
     .unnamed_bit_fields_align = true,
     .plain_char_signed = false,
     .c_attribute = "",
     .stack_slot = 0,
     .static_chain = 18},  // AAPCS64 leaves it to the platform (x18); gcc uses x18 on Linux
    {.abi = Abi::AppleArm64,
     .name = "apple-arm64",
     .arch = Arch::A64,
     .classify = classify_apple_arm64,
     .host_runs = kRunsApple,
     .uniform = Abi::AppleArm64,
     .long_double = TypeKind::F64,  // Apple defines long double as double
     .has_f80 = false,
     .has_f128 = false,
     .va_list = VaList::Pointer,
     .has_fp16 = true,
     .vector_align_cap = 16,
     .unnamed_bit_fields_align = false,
     .plain_char_signed = true,
     .c_attribute = "",
     .stack_slot = 0,
     .static_chain = -1},  // x18 is Apple's own; its compiler's choice is not checked here
};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < std::size(kAbis); ++i)
    if (static_cast<std::size_t>(kAbis[i].abi) != i) return false;
  return true;
}
static_assert(in_enum_order(), "kAbis is indexed by tramp::Abi");

}  // namespace

std::span<const AbiInfo> abis() noexcept { return kAbis; }

const AbiInfo& abi_info(Abi abi) noexcept {
  const auto i = static_cast<std::size_t>(abi);
  return kAbis[i < std::size(kAbis) ? i : 0];
}

}  // namespace tramp::abi
