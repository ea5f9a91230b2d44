// tramp: what jit/ makes from a CallPlan. Each product is one walk over the plan, written once
// (jit/walk.cpp) on primitives each architecture implements (jit/isa.hpp), and comes with its
// frame (jit/frame.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "abi/call_plan.hpp"
#include "jit/frame.hpp"

namespace tramp::jit {

// Position-independent machine code and its frame.
struct Emitted {
  std::vector<std::uint8_t> code;
  Frame frame;
};

// A call stub of the uniform shape InvokeFn: void(const void* fn, void* ret, void* const* args),
// or, when `bound_fn` is not null, of the shape BoundFn: void(void* ret, void* const* args)
// with the target baked in. The entry starts with endbr64 / bti c. Throws Error(HostAbi) if no
// architecture implements the plan's.
Emitted emit_call_stub(const abi::CallPlan& plan, const void* bound_fn = nullptr);

// The register-return variant of the invoke stub: `R(const void* fn, void* const* args)`,
// the value left where the plan's single return piece is (rax or xmm0), so with nothing on
// the stack the stub tail-jumps to the target. The plan must return one piece of at most 8
// bytes in the first integer or vector result register of the uniform convention
// (register_return_piece; Error(Unsupported) otherwise).
Emitted emit_register_return_stub(const abi::CallPlan& plan);
// The plan's result piece that a register-return stub leaves in place, or the error.
Result<abi::Piece> register_return_piece(const abi::CallPlan& plan);

// The invoke stub that stores an integer result narrower than a register word (the plan's
// ret.word_ext) as a whole word, sign- or zero-extended by its C type: the result storage of
// libffi's ffi_call (ffi_arg). Any other result is stored as by emit_call_stub.
Emitted emit_widening_call_stub(const abi::CallPlan& plan);

// A callback's data: a veneer slot holding the thunk's address, then the handler and its
// user pointer. Every callback of a signature runs the same thunk, entered through the
// callback's own veneer, which leaves the data's address in kVeneerData's register.
constexpr std::uint32_t kCallbackHandlerOffset = 8;
constexpr std::uint32_t kCallbackUserOffset = 16;

// A callback thunk: a native function with the plan's signature that gathers its arguments
// into an array of pointers and calls `handler(void* ret, void* const* args, void* user)`
// (host convention), handler and user read from the callback's data, then returns what the
// handler wrote to `ret`. One per signature, shared by all its callbacks.
Emitted emit_callback_thunk(const abi::CallPlan& plan);

// The argument part of a callback thunk's frame, the same for every architecture: the void*
// array handed to the handler at offset 0 (8 bytes per argument, and one more for a static
// chain), then one slot per argument that arrives in registers, aligned to at least 8 and to
// the value's own alignment (16 or less, except a register-passed vector such as a __m256),
// then the static chain's slot. An argument whose bytes lie on the caller's stack in its own
// layout is used there; a by-reference argument is already an address.
struct ThunkArgSlots {
  std::vector<std::uint32_t> slot;         // frame offset of argument i's reassembled value
  std::vector<bool> in_place;              // argument i is used where the caller put it
  std::vector<std::uint32_t> in_place_at;  // ... at this offset in the caller's stack area
  std::uint32_t static_chain = 0;          // the static chain's slot, when the plan has one
  std::uint32_t end = 0;                   // first frame byte after the slots
  std::uint32_t align = 16;                // the frame alignment the slots need (at least 16)
};
ThunkArgSlots thunk_arg_slots(const abi::CallPlan& plan);

// The widest vector registers this host's CPU and OS let code use; a plan whose vector_isa
// is above it cannot run here (the engine refuses it).
abi::VectorIsa host_vector_isa() noexcept;

// Stack-clash protection: a stub or thunk that moves the stack pointer by this many bytes or
// more (realignment included) touches every page from the stack pointer down, each probe at
// most this far below the last touched address, so that a guard page of any size below a
// thread's stack is hit before whatever is mapped under it. Smaller moves emit no probe.
constexpr std::uint32_t kStackProbeInterval = 4096;

// A veneer (AAPCS64 5.3.1.1's word for a linker's branch island): code that jumps to the
// address held in the 8-byte data word at `slot`, read on every call, so the target changes
// with a data store and no code is rewritten. It makes no frame and touches no register a
// call passes anything in (r11 on x86-64, IP0 = x16 and IP1 = x17 on AArch64), so a call of
// any signature arrives at the target as it left the caller, with the slot's address in r11
// (x86-64) or x17 (AArch64): a callback thunk finds its data there.
Emitted emit_veneer(abi::Arch arch, const void* slot);

// Veneers for `slots`, one every kVeneerStride bytes (the rest of each stride is a trap), so
// that a block of them is installed with one write. They make no frame: the frame is the
// entry's at every instruction.
constexpr std::size_t kVeneerStride = 32;
Emitted emit_veneers(abi::Arch arch, const std::vector<const void*>& slots);

}  // namespace tramp::jit
