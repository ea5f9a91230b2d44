// tramp: DWARF call frame information (DWARF 4, section 6.4, in the .eh_frame form of the LSB's
// "Exception Frames" chapter) from a Frame, and its registration with the process's unwinders.
#include "jit/unwind.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "tramp/error.hpp"

// The unwinders' registration entry points. libgcc's __register_frame takes a whole .eh_frame
// (CIEs and FDEs up to a zero length); LLVM's libunwind takes one FDE and is recognised by
// __unw_add_dynamic_fde, which only it defines. Weak: a process without them gets no unwind
// info, nothing else changes.
extern "C" {
void __register_frame(const void* begin) __attribute__((weak));
void __deregister_frame(const void* begin) __attribute__((weak));
void __unw_add_dynamic_fde(std::uintptr_t fde) __attribute__((weak));
void __register_frame_info(const void* begin, void* object) __attribute__((weak));
void* __deregister_frame_info(const void* begin) __attribute__((weak));
}

namespace tramp::jit {
namespace {

using abi::Arch;
using abi::LocKind;

// Call frame instructions and expression operators (DWARF 4, 6.4.2 and 2.5.1).
enum : std::uint8_t {
  DW_CFA_nop = 0x00,
  DW_CFA_advance_loc1 = 0x02,
  DW_CFA_advance_loc2 = 0x03,
  DW_CFA_advance_loc4 = 0x04,
  DW_CFA_offset_extended = 0x05,
  DW_CFA_restore_extended = 0x06,
  DW_CFA_def_cfa = 0x0c,
  DW_CFA_def_cfa_offset = 0x0e,
  DW_CFA_def_cfa_expression = 0x0f,
  DW_CFA_expression = 0x10,
  DW_CFA_advance_loc = 0x40,  // | delta
  DW_CFA_offset = 0x80,       // | register
  DW_CFA_restore = 0xc0,      // | register
  DW_OP_minus = 0x1c,
  DW_OP_plus_uconst = 0x23,
  DW_OP_breg0 = 0x70,  // + register
};

// How an architecture is described to an unwinder: DWARF register numbers (psABI 3.6.2,
// "DWARF Register Number Mapping"; AAPCS64's DWARF supplement, 4.1), the column of the return
// address, the code alignment factor (one instruction on AArch64).
struct DwarfArch {
  std::uint8_t return_column;
  std::uint8_t code_align;
  std::uint8_t sp;
};

DwarfArch dwarf_arch(Arch arch) {
  return arch == Arch::X64 ? DwarfArch{16, 1, 7} : DwarfArch{30, 4, 31};
}

unsigned dwarf_reg(Arch arch, LocKind kind, std::uint8_t reg) {
  if (arch == Arch::X64) {
    // rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp in DWARF's order; r8-r15 as they are; xmm0 = 17.
    static constexpr std::uint8_t kGpr[16] = {0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};
    return kind == LocKind::Vec ? 17u + reg : kGpr[reg & 15];
  }
  return kind == LocKind::Vec ? 64u + reg : reg;  // x0-x30, sp = 31; v0 = 64
}

// Writes into a buffer sized beforehand for the most the frame's rules can take
// (eh_frame_bound), so no write checks for room.
class Writer {
 public:
  explicit Writer(std::uint8_t* out) : begin_(out), p_(out) {}
  std::size_t size() const { return static_cast<std::size_t>(p_ - begin_); }
  void u8(unsigned v) { *p_++ = static_cast<std::uint8_t>(v); }
  void u16(std::uint16_t v) { bytes(&v, 2); }
  void u32(std::uint32_t v) { bytes(&v, 4); }
  void u64(std::uint64_t v) { bytes(&v, 8); }
  void uleb(std::uint64_t v) {
    do {
      std::uint8_t b = v & 0x7f;
      v >>= 7;
      u8(v ? b | 0x80 : b);
    } while (v);
  }
  void sleb(std::int64_t v) {
    for (bool more = true; more;) {
      std::uint8_t b = v & 0x7f;
      v >>= 7;
      more = !((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40)));
      u8(more ? b | 0x80 : b);
    }
  }
  // A length-prefixed entry (CIE or FDE) that began at `start`: its length patched in, padded
  // with DW_CFA_nop to a multiple of 8 bytes as the unwinders' readers expect.
  void close_entry(std::size_t start) {
    while ((size() - start) % 8) u8(DW_CFA_nop);
    const std::uint32_t length = static_cast<std::uint32_t>(size() - start - 4);
    std::memcpy(begin_ + start, &length, 4);
  }
  // A DWARF expression's length byte, to be patched by end_expression: the expressions here
  // are a few bytes, so their ULEB128 length is one byte.
  std::size_t begin_expression() {
    u8(0);
    return size();
  }
  void end_expression(std::size_t start) { begin_[start - 1] = static_cast<std::uint8_t>(size() - start); }

 private:
  void bytes(const void* v, std::size_t n) {
    std::memcpy(p_, v, n);
    p_ += n;
  }
  std::uint8_t* begin_;
  std::uint8_t* p_;
};

// The most bytes an .eh_frame for `frame` takes: the CIE (at most 30 bytes, 32 with its
// padding), the FDE's header (25) and padding (7), per rule an advance (at most 5) and one
// instruction (at most 13: DW_CFA_def_cfa_expression, its length, sp - reg and a 5-byte
// ULEB128), the terminator (4).
constexpr std::size_t kEhFrameFixed = 32 + 25 + 7 + 4;
constexpr std::size_t kEhFramePerRule = 5 + 13;
std::size_t eh_frame_bound(const Frame& frame) { return kEhFrameFixed + kEhFramePerRule * frame.rules.size(); }

// Rows for code offsets from `from` to `to`.
void advance(Writer& w, std::uint32_t from, std::uint32_t to, unsigned code_align) {
  const std::uint32_t delta = (to - from) / code_align;
  if (delta == 0) return;
  if (delta < 64) {
    w.u8(DW_CFA_advance_loc | delta);
  } else if (delta <= 0xff) {
    w.u8(DW_CFA_advance_loc1);
    w.u8(delta);
  } else if (delta <= 0xffff) {
    w.u8(DW_CFA_advance_loc2);
    w.u16(static_cast<std::uint16_t>(delta));
  } else {
    w.u8(DW_CFA_advance_loc4);
    w.u32(delta);
  }
}

}  // namespace

void write_eh_frame(const Frame& frame, std::uint64_t address, std::uint64_t size, std::vector<std::uint8_t>& out) {
  const DwarfArch d = dwarf_arch(frame.arch);
  constexpr std::int64_t kDataAlign = -8;  // saved registers are 8-byte slots below the CFA
  out.resize(eh_frame_bound(frame));
  Writer w(out.data());

  // CIE: version 1, augmentation "zR" (an augmentation length, then the FDEs' pointer
  // encoding: absolute 8-byte addresses), the entry rules: CFA = sp + entry_cfa, and on
  // x86-64 the return address at CFA - 8 (on AArch64 it stays in x30, the return column).
  const std::size_t cie = w.size();
  w.u32(0);
  w.u32(0);  // CIE id
  w.u8(1);
  w.u8('z');
  w.u8('R');
  w.u8(0);
  w.uleb(d.code_align);
  w.sleb(kDataAlign);
  w.u8(d.return_column);
  w.uleb(1);
  w.u8(0x00);  // DW_EH_PE_absptr
  w.u8(DW_CFA_def_cfa);
  w.uleb(d.sp);
  w.uleb(frame.entry_cfa);
  if (frame.entry_cfa) {
    w.u8(DW_CFA_offset | d.return_column);
    w.uleb(frame.entry_cfa / 8);
  }
  w.close_entry(cie);

  const std::size_t fde = w.size();
  w.u32(0);
  w.u32(static_cast<std::uint32_t>(fde + 4 - cie));  // back to the CIE from this field
  w.u64(address);
  w.u64(size);
  w.uleb(0);  // no augmentation data
  std::uint32_t at = 0;
  for (const FrameRule& r : frame.rules) {
    // Vector registers are left out: libgcc tracks none on x86-64, and LLVM's libunwind
    // rejects a frame that describes xmm registers outside Windows.
    const bool vector = (r.kind == FrameRule::Kind::Saved || r.kind == FrameRule::Kind::SavedAtSp ||
                         r.kind == FrameRule::Kind::Restored) &&
                        r.reg_kind == LocKind::Vec;
    if (vector) continue;
    advance(w, at, r.offset, d.code_align);
    at = r.offset;
    const unsigned reg = dwarf_reg(frame.arch, r.reg_kind, r.reg);
    switch (r.kind) {
      case FrameRule::Kind::CfaSp:
      case FrameRule::Kind::CfaReg:
        w.u8(DW_CFA_def_cfa);
        w.uleb(r.kind == FrameRule::Kind::CfaSp ? d.sp : reg);
        w.uleb(r.value);
        break;
      case FrameRule::Kind::CfaSpMinusReg: {
        w.u8(DW_CFA_def_cfa_expression);
        const std::size_t e = w.begin_expression();  // sp - reg + value
        w.u8(DW_OP_breg0 + d.sp);
        w.sleb(0);
        w.u8(DW_OP_breg0 + reg);
        w.sleb(0);
        w.u8(DW_OP_minus);
        w.u8(DW_OP_plus_uconst);
        w.uleb(r.value);
        w.end_expression(e);
        break;
      }
      case FrameRule::Kind::Saved:
        if (r.value % 8) throw Error(ErrorCode::Jit, "unwind info: a register saved off its 8-byte slot");
        if (reg < 64) {
          w.u8(DW_CFA_offset | reg);
        } else {
          w.u8(DW_CFA_offset_extended);
          w.uleb(reg);
        }
        w.uleb(r.value / 8);
        break;
      case FrameRule::Kind::SavedAtSp: {
        w.u8(DW_CFA_expression);
        w.uleb(reg);
        const std::size_t e = w.begin_expression();  // the address sp + value
        w.u8(DW_OP_breg0 + d.sp);
        w.sleb(r.value);
        w.end_expression(e);
        break;
      }
      case FrameRule::Kind::Restored:
        if (reg < 64) {
          w.u8(DW_CFA_restore | reg);
        } else {
          w.u8(DW_CFA_restore_extended);
          w.uleb(reg);
        }
        break;
    }
  }
  w.close_entry(fde);
  w.u32(0);  // the end of the section
  if (w.size() > out.size()) std::abort();  // eh_frame_bound is wrong: a bug here, not bad input
  out.resize(w.size());
}

std::vector<std::uint8_t> eh_frame(const Frame& frame, std::uint64_t address, std::uint64_t size) {
  std::vector<std::uint8_t> out;
  write_eh_frame(frame, address, size, out);
  return out;
}

std::size_t eh_frame_fde_offset(std::span<const std::uint8_t> eh_frame) {
  std::uint32_t cie_length = 0;
  std::memcpy(&cie_length, eh_frame.data(), 4);
  return 4 + cie_length;
}

namespace {

using RegisterFn = void (*)(const void*);

struct Unwinder {
  RegisterFn add;
  RegisterFn remove;
  bool whole_section;  // libgcc: the .eh_frame; LLVM's libunwind: one FDE
  // libgcc, told through __register_frame_info with the caller's UnwindObject: what
  // __register_frame does after allocating one itself.
  bool libgcc_object = false;
};

struct Unwinders {
  Unwinder list[2];
  int count = 0;
  std::string name = "none";
};

bool same_object(const void* a, const void* b) {
  Dl_info ia{}, ib{};
  return dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

const Unwinders& unwinders() {
  static const Unwinders u = [] {
    Unwinders found;
    const bool llvm = __register_frame && __unw_add_dynamic_fde &&
                      same_object(reinterpret_cast<const void*>(&__register_frame),
                                  reinterpret_cast<const void*>(&__unw_add_dynamic_fde));
    if (__register_frame && __deregister_frame) {
      found.list[found.count++] = {&__register_frame, &__deregister_frame, !llvm,
                                   !llvm && __register_frame_info && __deregister_frame_info};
      found.name = llvm ? "libunwind (LLVM)" : "libgcc";
    }
    // glibc's backtrace(3) asks libgcc_s whatever unwinder C++ uses: when another one came
    // first, libgcc is told as well. The handle is kept, so the library stays.
    if (void* gcc = dlopen("libgcc_s.so.1", RTLD_NOLOAD | RTLD_LAZY)) {
      auto add = reinterpret_cast<RegisterFn>(dlsym(gcc, "__register_frame"));
      auto remove = reinterpret_cast<RegisterFn>(dlsym(gcc, "__deregister_frame"));
      if (add && remove && (found.count == 0 || add != found.list[0].add)) {
        found.name = found.count ? found.name + " and libgcc_s" : "libgcc";
        found.list[found.count++] = {add, remove, true};
      }
    }
    return found;
  }();
  return u;
}

}  // namespace

// libgcc's pc_begin until an unwind has searched the object.
constexpr std::uintptr_t kUnsearched = ~std::uintptr_t{0};

void register_eh_frame(const std::uint8_t* section, std::size_t fde_offset, UnwindObject& object) noexcept {
  const Unwinders& u = unwinders();
  object.words[0] = reinterpret_cast<void*>(kUnsearched);
  for (int i = 0; i < u.count; ++i) {
    const Unwinder& w = u.list[i];
    if (w.libgcc_object) __register_frame_info(section, object.words);
    else w.add(w.whole_section ? section : section + fde_offset);
  }
}

void unregister_eh_frame(const std::uint8_t* section, std::size_t fde_offset) noexcept {
  const Unwinders& u = unwinders();
  for (int i = u.count; i-- > 0;) {
    const Unwinder& w = u.list[i];
    if (w.libgcc_object) (void)__deregister_frame_info(section);  // hands back our UnwindObject
    else w.remove(w.whole_section ? section : section + fde_offset);
  }
}

bool unwind_object_searched(const UnwindObject& object) noexcept {
  return reinterpret_cast<std::uintptr_t>(object.words[0]) != kUnsearched;
}

const std::string& unwinders_in_use() noexcept { return unwinders().name; }

}  // namespace tramp::jit
