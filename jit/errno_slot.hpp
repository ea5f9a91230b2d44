// tramp: the per-thread errno slot that errno-capturing stubs and thunks (CallPlan's
// capture_errno / set_errno) copy errno to and from. It lives in jit/, with the machine code
// that calls it, so that dependencies keep pointing one way; core's tramp::last_errno() and
// set_last_errno() read and write it.
#pragma once

namespace tramp::jit {
int& errno_slot() noexcept;  // this thread's slot
}  // namespace tramp::jit

// What the machine code calls: host-convention functions without arguments or result that
// touch nothing but errno and the slot. Hidden: not part of libtramp's interface.
extern "C" __attribute__((visibility("hidden"))) void tramp_detail_save_errno() noexcept;     // slot = errno
extern "C" __attribute__((visibility("hidden"))) void tramp_detail_restore_errno() noexcept;  // errno = slot
