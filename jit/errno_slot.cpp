#include "jit/errno_slot.hpp"

#include <cerrno>

namespace tramp::jit {
namespace {
// Constant-initialised, so reaching it needs no TLS wrapper call.
thread_local int t_errno_slot = 0;
}  // namespace

int& errno_slot() noexcept { return t_errno_slot; }
}  // namespace tramp::jit

extern "C" void tramp_detail_save_errno() noexcept { tramp::jit::t_errno_slot = errno; }
extern "C" void tramp_detail_restore_errno() noexcept { errno = tramp::jit::t_errno_slot; }
