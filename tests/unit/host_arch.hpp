// tramp tests: what differs between the hosts the suite runs on (x86-64 Linux natively,
// AArch64 Linux natively or under qemu-aarch64 in the cross build), so a test whose meaning is
// the same on both says it once.
#pragma once

#include "tramp/signature.hpp"

namespace tramp::test {

#if defined(__x86_64__)
// An ABI of the other architecture: its plans exist here, its code cannot run.
inline constexpr Abi kForeignAbi = Abi::Aapcs64;
// The spelling of C's long double in tramp's text form, on this host.
inline constexpr const char* kLongDouble = "f80";
// sp mod 16 on entry to a function called with the ABI's stack alignment: the call pushed an
// 8-byte return address onto a 16-byte aligned stack.
inline constexpr long kEntrySpMod16 = 8;
#elif defined(__aarch64__) && !defined(__APPLE__)
inline constexpr Abi kForeignAbi = Abi::SysV_X64;
inline constexpr const char* kLongDouble = "f128";  // AAPCS64: long double is IEEE binary128
inline constexpr long kEntrySpMod16 = 0;            // sp stays 16-byte aligned (AAPCS64 6.4.5.1)
#else
#error "tramp's tests know x86-64 and AArch64 Linux hosts"
#endif

}  // namespace tramp::test
