// tramp: the walks over a CallPlan, one per product, written once for every architecture.
// Each drives the primitives of jit/isa.hpp; the architecture's own choices (registers,
// instructions, how its frame is opened) are behind them, the ABI's in the plan, the host's
// side of the uniform interface in UniformConvention.
//
// Call stub (invoke: fn, ret, args; bound: ret, args with fn baked in; register-return: fn,
// args, the value left in the result register), in the uniform convention:
//   0. errno (plan.set_errno): the entry registers kept around tramp_detail_restore_errno().
//   1. the frame: `ret` kept when a value comes back through it; the outgoing arguments at
//      sp, the copies of by-reference arguments above them at copy_base.
//   2. memory: stack pieces and the copies, while every argument register is still free.
//   3. registers: the sret pointer, then each register piece loaded straight from args[i]
//      (or a copy's address), then the vector count of a variadic SysV call.
//   4. call fn and store the result pieces through `ret`; or, with nothing to do after the
//      target and nothing on the stack, jump to it (it returns to our caller).
//   5. errno (plan.capture_errno): tramp_detail_save_errno() once the result is stored (a
//      register-return stub keeps its result registers around it).
//
// Callback thunk (a function of the plan's signature, one per signature, entered through a
// veneer that leaves the callback's data address in Scratch::veneer_data). Its frame, from sp:
//   [args_at]    the void* array handed to the handler, one slot per argument
//   [slot_i]     argument i reassembled from its register pieces (thunk_arg_slots)
//   [ret_at]     the result buffer of a direct return
//   [sret_at]    the caller's sret pointer, when it must outlive a call
//   [data_at]    the callback's data address, unless it stays in its register up to the
//                handler call (Scratch::veneer_data_kept, and no helper call before it)
//   [gprs_at]    registers this ABI's caller expects preserved that the host's handler may
//   [vecs_at]      clobber (Win64 under SysV: rsi, rdi, xmm6-xmm15)
//   [top_at]     the frame record, where the architecture keeps one; then the caller's stack
//                arguments at caller_args (above the return address where it is pushed)
// A slot or result aligned beyond 16 bytes (a __m256) makes the frame realigned: its bottom
// aligned down to that, the frame record (or x86-64's rbp) pushed above it by the primitive,
// and the caller's stack arguments found from the frame pointer.
// It spills the register pieces, builds the array, calls handler(ret, args, user), and loads
// the result pieces from the buffer. errno: saved to the thread's slot once the arguments are
// in the frame, set from it after the handler.
#include <algorithm>
#include <array>

#include "abi/abis.hpp"
#include "jit/emitter.hpp"
#include "jit/errno_slot.hpp"
#include "jit/isa.hpp"

namespace tramp::jit {
namespace {

using abi::CallPlan;
using abi::Ext;
using abi::Loc;
using abi::LocKind;
using abi::PassKind;
using abi::Piece;

// The uniform convention's stack alignment at a call: 16 bytes on every architecture tramp
// emits for (psABI 3.2.2, AAPCS64 6.4.5.1).
constexpr std::uint32_t kCallAlign = 16;

std::uint32_t align_up(std::uint32_t n, std::uint32_t a) { return (n + a - 1) / a * a; }
std::uint32_t count(std::uint32_t set) { return static_cast<std::uint32_t>(__builtin_popcount(set)); }

// Upper bound of a product's code: 40 bytes per piece, 24 per copied word (two moves with
// 32-bit displacements), 20 per saved register, the errno calls, and the fixed parts.
std::size_t capacity_for(const CallPlan& plan) {
  std::size_t pieces = plan.ret.pieces.size(), copy_chunks = 0;
  for (const auto& a : plan.args) {
    pieces += a.pieces.size();
    copy_chunks += a.copy_size / 8 + 4;
  }
  const std::size_t saved = count(plan.callee_saved_gprs) + count(plan.callee_saved_vecs);
  return 320 + pieces * 40 + copy_chunks * 24 + saved * 20 + (plan.capture_errno ? 96 : 0);
}

IsaHandle make_isa(abi::Arch arch, std::size_t capacity) {
  switch (arch) {
    case abi::Arch::X64:
      return make_x64_isa(capacity);
    case abi::Arch::A64:
      return make_a64_isa();
  }
  throw Error(ErrorCode::HostAbi, "no emitter for this architecture");
}

Emitted finish(Isa& isa) {
  Emitted out;
  out.code = isa.finish();
  out.frame = isa.frame.finish();
  return out;
}

// Stores the low `size` (1 to 8) bytes of `src` at [base + off] in natural words, lowest
// first; `src` is shifted down between them (destroyed when size is not a power of two).
void store_int(Isa& isa, Gpr src, Gpr base, std::uint32_t off, std::uint32_t size) {
  for (std::uint32_t k = 0; k < size;) {
    const std::uint32_t chunk = abi::natural_chunk(size - k);
    isa.store_word(src, base, off + k, chunk);
    k += chunk;
    if (k < size) isa.shift_right(src, chunk * 8);
  }
}

// Copies `size` bytes from [src] to [dst + dst_off] in natural words through `tmp`, reading
// no byte past the source's end.
void copy_bytes(Isa& isa, Gpr dst, std::uint32_t dst_off, Gpr src, std::uint32_t size, Gpr tmp) {
  for (std::uint32_t k = 0; k < size;) {
    const std::uint32_t chunk = abi::natural_chunk(size - k);
    isa.load_word(tmp, src, k, chunk);
    isa.store_word(tmp, dst, dst_off + k, chunk);
    k += chunk;
  }
}

void load_piece(Isa& isa, const Piece& p, Gpr base, std::uint32_t off) {
  switch (p.loc.kind) {
    case LocKind::Gpr:
      return isa.load_int(p.loc.reg, base, off, p.size, p.ext);
    case LocKind::Vec:
      return isa.load_vec(p.loc.reg, base, off, p.size);
    case LocKind::X87:
      return isa.load_x87(base, off);
    case LocKind::Stack:
      break;
  }
  throw Error(ErrorCode::Jit, "a stack piece where a register was expected");
}

void store_piece(Isa& isa, const Piece& p, Gpr base, std::uint32_t off) {
  switch (p.loc.kind) {
    case LocKind::Gpr:
      return store_int(isa, p.loc.reg, base, off, p.size);
    case LocKind::Vec:
      return isa.store_vec(p.loc.reg, base, off, p.size);
    case LocKind::X87:
      return isa.store_x87(base, off);
    case LocKind::Stack:
      break;
  }
  throw Error(ErrorCode::Jit, "a stack piece where a register was expected");
}

// A scratch register that a plan's register would need at the same time is a gap in the
// architecture's choice, found here rather than as wrong code.
void check_free(std::uint32_t live, Gpr reg, const char* role) {
  if (live >> reg & 1)
    throw Error(ErrorCode::Jit, std::string("the plan passes a value in the register the walk uses as ") + role);
}

// Widening: the invoke shape, an integer result narrower than a word stored as a whole word.
enum class Entry : std::uint8_t { Invoke, Bound, RegisterReturn, Widening };

Emitted walk_call_stub(const CallPlan& plan, Entry entry, const void* bound_fn) {
  const UniformConvention& host = uniform_convention(plan.abi);
  const IsaHandle owned = make_isa(plan.arch, capacity_for(plan));
  Isa& isa = *owned;
  const Scratch& r = isa.facts().regs;
  const Gpr sp = isa.facts().sp;
  const std::uint32_t stack_slot = abi::abi_info(plan.abi).stack_slot;

  if (entry == Entry::RegisterReturn) {
    Result<Piece> piece = register_return_piece(plan);
    if (!piece) throw piece.error();
  }
  // `ret` exists only in the invoke and bound shapes.
  const bool direct_ret = entry != Entry::RegisterReturn && plan.ret.kind == abi::RetKind::Direct;
  const bool sret = plan.ret.kind == abi::RetKind::Sret;
  const bool copies = plan.copy_area_size != 0;
  // Nothing to do after the call: jump to the target, which returns to our caller.
  const bool tail = !direct_ret && plan.stack_size == 0 && !copies && !plan.capture_errno;

  // The entry registers: invoke(fn, ret, args), bound(ret, args), register-return(fn, args).
  const Gpr* in = host.pointer_args;
  const Gpr fn_in = in[0];
  const Gpr ret_in = entry == Entry::Bound ? in[0] : in[1];
  const Gpr args_in = entry == Entry::Invoke || entry == Entry::Widening ? in[2] : in[1];

  // Registers the argument phases write; an entry register none of them touches is used in
  // place (unless the architecture always moves them).
  std::uint32_t written = 1u << r.pointer, reg_pieces = 0;
  bool stack_pieces = false;
  for (const auto& arg : plan.args)
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind == LocKind::Gpr) written |= 1u << p.loc.reg, reg_pieces |= 1u << p.loc.reg;
      if (p.loc.kind == LocKind::Stack) stack_pieces = true;
    }
  if (stack_pieces || copies) written |= 1u << r.value;
  if (sret) written |= 1u << plan.ret.sret_loc.reg, reg_pieces |= 1u << plan.ret.sret_loc.reg;
  if (plan.vector_count >= 0) written |= 1u << plan.vector_count_reg;
  check_free(reg_pieces, r.pointer, "the args[i] pointer");
  const Gpr args = r.move_entry || (written >> args_in & 1) ? r.args : args_in;
  const Gpr fn = r.move_entry || entry == Entry::Bound || (written >> fn_in & 1) ? r.fn : fn_in;
  check_free(written & ~(1u << r.pointer) & ~(1u << r.value), fn, "the target");
  check_free(written & ~(1u << r.pointer) & ~(1u << r.value), args, "the args array");
  if (plan.has_static_chain) check_free(reg_pieces | 1u << fn, plan.static_chain.reg, "the static chain");

  // Frame: [sp, +stack_size) outgoing arguments (shadow space included), then the copies of
  // by-reference arguments at copy_base, each at its own alignment within the area.
  CallFrame frame;
  frame.keep_ret = direct_ret;
  frame.ret_in = ret_in;
  frame.align = plan.stack_align;
  frame.copy_base = align_up(plan.stack_size, plan.stack_align > kCallAlign ? plan.stack_align : kCallAlign);
  frame.copies = plan.copy_area_size;

  isa.landing_pad();
  if (plan.set_errno) {
    const std::array<Kept, 3> entry_regs = {Kept{Loc::gpr(in[0]), 8}, Kept{Loc::gpr(in[1]), 8},
                                            Kept{Loc::gpr(in[2]), 8}};
    isa.call_helper(tramp_detail_restore_errno, entry_regs);
  }
  if (!tail) isa.open_call_frame(frame);
  if (entry == Entry::Bound) isa.move_imm(fn, reinterpret_cast<std::uint64_t>(bound_fn));
  else if (fn != fn_in) isa.move(fn, fn_in);
  if (args != args_in) isa.move(args, args_in);

  // Memory: by-reference arguments are copied to the copy area and their address stored
  // where the plan says; stack pieces are loaded and stored.
  for (std::size_t i = 0; i < plan.args.size(); ++i) {
    const auto& arg = plan.args[i];
    const std::uint32_t args_at = static_cast<std::uint32_t>(i) * 8;
    if (arg.kind == PassKind::Indirect) {
      const std::uint32_t copy_at = frame.copy_base + arg.copy_offset;
      isa.load_word(r.pointer, args, args_at, 8);
      copy_bytes(isa, sp, copy_at, r.pointer, arg.copy_size, r.value);
      for (const Piece& p : arg.pieces)
        if (p.loc.kind == LocKind::Stack) {
          isa.address(r.value, sp, copy_at);
          isa.store_word(r.value, sp, p.loc.offset, 8);
        }
      continue;
    }
    if (arg.kind != PassKind::Direct) continue;
    bool loaded = false;
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind != LocKind::Stack) continue;
      if (!loaded) isa.load_word(r.pointer, args, args_at, 8);
      loaded = !isa.load_clobbers_base(p.size);
      // A piece with a slot of its own is stored as the whole slot: its widening then counts.
      const std::uint32_t store = std::max(p.size, stack_slot);
      isa.load_int(r.value, r.pointer, p.offset, p.size, store > p.size ? p.ext : Ext::None);
      isa.store_word(r.value, sp, p.loc.offset, store);
    }
  }

  // The hidden sret pointer is needed only by the callee (which may echo it).
  if (sret && plan.ret.sret_loc.reg != ret_in) isa.move(plan.ret.sret_loc.reg, ret_in);

  // Registers.
  for (std::size_t i = 0; i < plan.args.size(); ++i) {
    const auto& arg = plan.args[i];
    if (arg.kind == PassKind::Indirect) {
      for (const Piece& p : arg.pieces)
        if (p.loc.kind == LocKind::Gpr) isa.address(p.loc.reg, sp, frame.copy_base + arg.copy_offset);
      continue;
    }
    if (arg.kind != PassKind::Direct) continue;
    bool loaded = false;
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind == LocKind::Stack) continue;
      if (p.loc.kind == LocKind::X87) throw Error(ErrorCode::Unsupported, "an argument piece in the x87 stack");
      if (!loaded) isa.load_word(r.pointer, args, static_cast<std::uint32_t>(i) * 8, 8);
      loaded = !(p.loc.kind == LocKind::Gpr && isa.load_clobbers_base(p.size));
      load_piece(isa, p, r.pointer, p.offset);
    }
  }
  // The static chain last: its register may be the one the args array moved to.
  if (plan.has_static_chain) {
    isa.load_word(r.pointer, args, static_cast<std::uint32_t>(plan.args.size()) * 8, 8);
    isa.load_word(plan.static_chain.reg, r.pointer, 0, 8);
  }
  if (plan.vector_count >= 0) isa.move_imm(plan.vector_count_reg, static_cast<std::uint32_t>(plan.vector_count));

  if (tail) {
    isa.tail_jump(fn);
    return finish(isa);
  }
  isa.call(fn);
  const Gpr ret = isa.close_call_frame(frame);
  if (direct_ret && entry == Entry::Widening && plan.ret.word_ext != Ext::None) {
    const Piece& p = plan.ret.pieces.at(0);
    if (p.loc.kind != LocKind::Gpr || plan.ret.pieces.size() != 1)
      throw Error(ErrorCode::Jit, "an integer result that is not one register piece");
    isa.extend(p.loc.reg, p.size, plan.ret.word_ext);
    isa.store_word(p.loc.reg, ret, 0, 8);
  } else if (direct_ret) {
    // Each x87 store pops: the plan lists st0 before st1, which is st0 by then.
    for (const Piece& p : plan.ret.pieces) store_piece(isa, p, ret, p.offset);
  }
  if (plan.capture_errno) {
    // The invoke and bound shapes return nothing in registers; the register-return shape's
    // value is in one of the result registers, kept.
    const std::array<Kept, 2> results = {Kept{Loc::gpr(host.int_result), 8}, Kept{Loc::vec(host.vec_result), 8}};
    isa.call_helper(tramp_detail_save_errno,
                    entry == Entry::RegisterReturn ? std::span<const Kept>(results) : std::span<const Kept>());
  }
  isa.leave_call_frame(frame);
  return finish(isa);
}

Emitted walk_thunk(const CallPlan& plan) {
  const UniformConvention& host = uniform_convention(plan.abi);
  const IsaHandle owned = make_isa(plan.arch, capacity_for(plan));
  Isa& isa = *owned;
  const IsaFacts& facts = isa.facts();
  const Scratch& r = facts.regs;
  const Gpr sp = facts.sp;
  const std::uint32_t stack_slot = abi::abi_info(plan.abi).stack_slot;

  const std::size_t n = plan.args.size();
  const bool direct_ret = plan.ret.kind == abi::RetKind::Direct;
  const bool sret = plan.ret.kind == abi::RetKind::Sret;
  // The sret pointer is kept in the frame when it must survive a call: to be handed back
  // after the handler, or across the errno helper before it.
  const bool keep_sret = sret && (plan.ret.sret_returned || plan.capture_errno);

  std::uint32_t live = 0;  // argument registers, live until spilled
  for (const auto& arg : plan.args)
    for (const Piece& p : arg.pieces)
      if (p.loc.kind == LocKind::Gpr) live |= 1u << p.loc.reg;
  if (sret) live |= 1u << plan.ret.sret_loc.reg;
  if (plan.has_static_chain) live |= 1u << plan.static_chain.reg;
  check_free(live, r.thunk_value, "a thunk's value scratch");
  check_free(live, r.veneer_data, "the callback's data");
  // The data's address stays where the veneer left it when nothing before the handler call
  // writes that register: one store and one dependent load fewer on every call. The errno
  // helper (a call) and a stack probe through the register would.
  const bool data_in_frame = !r.veneer_data_kept || plan.capture_errno || r.probe == r.veneer_data;
  const Gpr data_reg = data_in_frame ? r.thunk_data : r.veneer_data;
  if (r.probe == r.veneer_data) check_free(live, r.thunk_data, "the callback's data");
  for (const Gpr out : host.pointer_args) check_free(1u << out, data_reg, "the callback's data");

  // The frame, from sp up.
  const ThunkArgSlots layout = thunk_arg_slots(plan);
  const std::uint32_t args_at = 0;
  std::uint32_t at = layout.end;
  const std::uint32_t ret_align =
      std::max(facts.min_ret_align, plan.ret.align > 16 ? plan.ret.align : plan.ret.align > 8 ? 16u : 8u);
  const std::uint32_t ret_at = align_up(at, ret_align);
  if (direct_ret) at = align_up(ret_at + plan.ret.size, 8);
  const std::uint32_t sret_at = at;
  if (keep_sret) at += 8;
  const std::uint32_t data_at = at;
  if (data_in_frame) at += 8;
  const std::uint32_t save_gprs = plan.callee_saved_gprs & ~host.callee_saved_gprs;
  const std::uint32_t save_vecs = plan.callee_saved_vecs & ~host.callee_saved_vecs;
  const std::uint32_t gprs_at = at;
  at += 8 * count(save_gprs);
  const std::uint32_t vecs_at = align_up(at, 16);
  if (save_vecs) at = vecs_at + 16 * count(save_vecs);
  // sp is aligned for the handler call: entry sp + return_address_bytes is. A slot or result
  // aligned beyond that (a __m256 in ymm0) needs a realigned frame, found from a frame
  // pointer: the caller's stack arguments are then at the CFA above it.
  std::uint32_t frame_align = layout.align;
  if (direct_ret) frame_align = std::max(frame_align, ret_align);
  const bool realign = frame_align > kCallAlign;
  const std::uint32_t top_at = align_up(at, kCallAlign);
  const std::uint32_t pad = (kCallAlign - facts.return_address_bytes % kCallAlign) % kCallAlign;
  const std::uint32_t frame = realign ? align_up(at, frame_align) : top_at + facts.frame_record_bytes + pad;
  Gpr caller_base = sp;
  std::uint32_t caller_args = frame + facts.return_address_bytes;

  isa.landing_pad();
  // The callback's data address must survive the prologue: a large frame is probed through
  // the probe register.
  Gpr data = r.veneer_data;
  if (r.probe == data) {
    isa.move(r.thunk_data, data);
    data = r.thunk_data;
  }
  if (realign) {
    caller_base = isa.open_aligned_frame(frame, frame_align);
    caller_args = isa.frame.cfa_above_frame_pointer();
  } else {
    isa.grow_stack(frame);
    if (facts.frame_record_bytes) isa.save_frame_record(top_at);
  }
  if (data_in_frame) isa.store_word(data, sp, data_at, 8);
  auto for_saved = [&](auto&& gpr, auto&& vec) {
    std::uint32_t g = gprs_at, v = vecs_at;
    for (std::uint8_t reg = 0; reg < 32; ++reg) {
      if (save_gprs >> reg & 1) gpr(reg, g), g += 8;
      if (save_vecs >> reg & 1) vec(reg, v), v += 16;
    }
  };
  for_saved(
      [&](Gpr reg, std::uint32_t o) {
        isa.store_word(reg, sp, o, 8);
        isa.frame.save(isa.here(), Loc::gpr(reg), o);
      },
      [&](std::uint8_t reg, std::uint32_t o) {
        isa.save_vec(reg, o);
        isa.frame.save(isa.here(), Loc::vec(reg), o);
      });
  if (keep_sret) isa.store_word(plan.ret.sret_loc.reg, sp, sret_at, 8);
  if (plan.has_static_chain) isa.store_word(plan.static_chain.reg, sp, layout.static_chain, 8);

  // Register pieces first: the argument registers are saved before anything else runs.
  for (std::size_t i = 0; i < n; ++i) {
    const auto& arg = plan.args[i];
    if (layout.in_place[i]) continue;
    const bool indirect = arg.kind == PassKind::Indirect;
    const std::uint32_t pointer_at = args_at + static_cast<std::uint32_t>(i) * 8;
    for (const Piece& p : arg.pieces) {
      if (p.loc.kind == LocKind::X87) throw Error(ErrorCode::Unsupported, "an argument piece in the x87 stack");
      if (p.loc.kind == LocKind::Stack) {
        // A piece in its own slot is read as the whole slot (the rest is padding).
        const std::uint32_t size = indirect ? 8 : std::max(p.size, stack_slot);
        isa.load_int(r.thunk_value, caller_base, caller_args + p.loc.offset, size, Ext::None);
        if (indirect) isa.store_word(r.thunk_value, sp, pointer_at, 8);
        else store_int(isa, r.thunk_value, sp, layout.slot[i] + p.offset, p.size);
      } else if (indirect) {
        isa.store_word(p.loc.reg, sp, pointer_at, 8);
      } else {
        store_piece(isa, p, sp, layout.slot[i] + p.offset);
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (plan.args[i].kind == PassKind::Indirect) continue;
    if (layout.in_place[i]) isa.address(r.thunk_value, caller_base, caller_args + layout.in_place_at[i]);
    else isa.address(r.thunk_value, sp, layout.slot[i]);
    isa.store_word(r.thunk_value, sp, args_at + static_cast<std::uint32_t>(i) * 8, 8);
  }
  if (plan.has_static_chain) {
    isa.address(r.thunk_value, sp, layout.static_chain);
    isa.store_word(r.thunk_value, sp, args_at + static_cast<std::uint32_t>(n) * 8, 8);
  }

  // Every argument is in the frame now: the native caller's errno goes to the slot, for the
  // handler to read (last_errno()) or replace (set_last_errno()).
  if (plan.capture_errno) isa.call_helper(tramp_detail_save_errno, {});

  // handler(ret, args, user) in the uniform convention, handler and user from the data.
  const Gpr* out = host.pointer_args;
  if (keep_sret) isa.load_word(out[0], sp, sret_at, 8);
  else if (sret) isa.move(out[0], plan.ret.sret_loc.reg);
  else isa.address(out[0], sp, ret_at);
  isa.address(out[1], sp, args_at);
  if (data_in_frame) isa.load_word(data_reg, sp, data_at, 8);
  isa.load_word(out[2], data_reg, kCallbackUserOffset, 8);
  isa.call_memory(data_reg, kCallbackHandlerOffset);
  // The result is still in the frame: errno for the native caller comes from the slot.
  if (plan.capture_errno) isa.call_helper(tramp_detail_restore_errno, {});
  for_saved(
      [&](Gpr reg, std::uint32_t o) {
        isa.load_word(reg, sp, o, 8);
        isa.frame.restore(isa.here(), Loc::gpr(reg));
      },
      [&](std::uint8_t reg, std::uint32_t o) {
        isa.restore_vec(reg, o);
        isa.frame.restore(isa.here(), Loc::vec(reg));
      });

  if (direct_ret) {
    for (const Piece& p : plan.ret.pieces) {
      if (p.loc.kind == LocKind::X87) continue;  // below
      // A load that overwrites its base cannot use sp: it goes through ret_base (no result
      // register).
      if (p.loc.kind == LocKind::Gpr && isa.load_clobbers_base(p.size)) {
        isa.address(r.ret_base, sp, ret_at);
        load_piece(isa, p, r.ret_base, p.offset);
      } else {
        load_piece(isa, p, sp, ret_at + p.offset);
      }
    }
    // Each load pushes the x87 stack: the piece the plan puts in st1 (a complex long double's
    // imaginary part) goes first, so that st0's ends on top.
    for (auto p = plan.ret.pieces.rbegin(); p != plan.ret.pieces.rend(); ++p)
      if (p->loc.kind == LocKind::X87) isa.load_x87(sp, ret_at + p->offset);
  } else if (keep_sret && plan.ret.sret_returned) {
    isa.load_word(plan.ret.sret_result.reg, sp, sret_at, 8);
  }

  if (realign) {
    isa.close_aligned_frame();
  } else {
    if (facts.frame_record_bytes) isa.restore_frame_record(top_at);
    isa.shrink_stack(frame);
  }
  isa.ret();
  return finish(isa);
}

UniformConvention read_convention(Abi abi) {
  const Type* p = Type::pointer();
  auto plan_of = [&](const Type* ret, std::vector<const Type*> args) {
    Result<CallPlan> plan = abi::classify(Signature(ret, std::move(args), abi));
    if (!plan) throw plan.error();
    return std::move(plan).value();
  };
  const CallPlan entry = plan_of(Type::void_(), {p, p, p});
  const CallPlan int_result = plan_of(Type::i64(), {});
  const CallPlan vec_result = plan_of(Type::f64(), {});
  UniformConvention c;
  for (std::size_t i = 0; i < 3; ++i) {
    const Piece& piece = entry.args[i].pieces.at(0);
    if (piece.loc.kind != LocKind::Gpr)
      throw Error(ErrorCode::HostAbi, "the uniform entry's pointers are not in registers");
    c.pointer_args[i] = piece.loc.reg;
  }
  c.int_result = int_result.ret.pieces.at(0).loc.reg;
  c.vec_result = vec_result.ret.pieces.at(0).loc.reg;
  c.callee_saved_gprs = entry.callee_saved_gprs;
  c.callee_saved_vecs = entry.callee_saved_vecs;
  return c;
}

}  // namespace

const UniformConvention& uniform_convention(Abi abi) {
  static const auto table = [] {
    std::vector<UniformConvention> t;
    for (const abi::AbiInfo& row : abi::abis()) t.push_back(read_convention(row.uniform));
    return t;
  }();
  return table.at(static_cast<std::size_t>(abi));
}

Result<Piece> register_return_piece(const CallPlan& plan) {
  const UniformConvention& host = uniform_convention(plan.abi);
  const auto& p = plan.ret.pieces;
  const bool one_register = plan.ret.kind == abi::RetKind::Direct && p.size() == 1 && p[0].size <= 8 &&
                            (p[0].loc == Loc::gpr(host.int_result) || p[0].loc == Loc::vec(host.vec_result));
  if (!one_register)
    return Error(ErrorCode::Unsupported,
                 "a register-return stub needs a value returned in " +
                     abi::reg_name(plan.arch, LocKind::Gpr, host.int_result) + " or " +
                     abi::reg_name(plan.arch, LocKind::Vec, host.vec_result) + " alone");
  return p[0];
}

Emitted emit_call_stub(const CallPlan& plan, const void* bound_fn) {
  return walk_call_stub(plan, bound_fn ? Entry::Bound : Entry::Invoke, bound_fn);
}

Emitted emit_register_return_stub(const CallPlan& plan) { return walk_call_stub(plan, Entry::RegisterReturn, nullptr); }

Emitted emit_widening_call_stub(const CallPlan& plan) { return walk_call_stub(plan, Entry::Widening, nullptr); }

Emitted emit_callback_thunk(const CallPlan& plan) { return walk_thunk(plan); }

Emitted emit_veneer(abi::Arch arch, const void* slot) {
  const IsaHandle isa = make_isa(arch, 64);
  isa->landing_pad();
  isa->jump_via_slot(slot);
  return finish(*isa);
}

}  // namespace tramp::jit
