#include "jit/gdb_jit.hpp"

#include <elf.h>

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <mutex>

// The interface GDB defines, by these names. The descriptor and the function are tramp's own
// (hidden, so tramp always uses its copy); the names GDB looks for are aliases exported from
// libtramp.so. Weak: a program that links libtramp.a with another JIT that defines them too
// (LLVM's) links, GDB then sees that one's list only.
extern "C" {
struct jit_descriptor {
  std::uint32_t version;
  std::uint32_t action_flag;  // JIT_NOACTION, JIT_REGISTER_FN, JIT_UNREGISTER_FN
  tramp::jit::GdbEntry* relevant_entry;  // GDB's jit_code_entry: GdbEntry's first members
  tramp::jit::GdbEntry* first_entry;
};

__attribute__((visibility("hidden"))) jit_descriptor tramp_jit_descriptor = {1, 0, nullptr, nullptr};
__attribute__((visibility("hidden"), noinline)) void tramp_jit_register_code() noexcept {
  asm volatile("" ::: "memory");  // GDB's breakpoint lands here; the call must stay
}
extern jit_descriptor __jit_debug_descriptor
    __attribute__((weak, alias("tramp_jit_descriptor"), visibility("default")));
void __jit_debug_register_code() noexcept __attribute__((weak, alias("tramp_jit_register_code"), visibility("default")));
}

namespace tramp::jit {

static_assert(gdb_symfile_eh_frame_offset == sizeof(Elf64_Ehdr) && sizeof(Elf64_Ehdr) % 8 == 0);
static_assert(std::is_standard_layout_v<GdbEntry> && offsetof(GdbEntry, next) == 0 && offsetof(GdbEntry, prev) == 8 &&
              offsetof(GdbEntry, symfile_addr) == 16 && offsetof(GdbEntry, symfile_size) == 24);

namespace {

enum : std::uint32_t { kNoAction = 0, kRegister = 1, kUnregister = 2 };

std::mutex& list_mutex() {
  static std::mutex* mu = new std::mutex();  // never destroyed: code is freed during exit
  return *mu;
}
std::size_t g_registered = 0;

constexpr std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

// The layout: header, .eh_frame, .symtab, .strtab, section headers. One string table holds
// the symbol's name and the sections' ("", the name, then ".text" ...): the ELF format lets
// e_shstrndx name the table .symtab links to, and without a .shstrtab of its own (its section
// header, name and padding) an object with a 29-byte name is 496 bytes and its .eh_frame,
// where it was 576.
constexpr char kSectionNames[] = ".text\0.eh_frame\0.symtab\0.strtab";  // and its NUL
struct SymfileLayout {
  explicit SymfileLayout(std::size_t name_size, std::size_t eh_frame_size)
      : sym_at(align8(gdb_symfile_eh_frame_offset + eh_frame_size)),
        str_at(sym_at + 2 * sizeof(Elf64_Sym)),
        section_names_at(1 + name_size + 1),
        strtab_size(section_names_at + sizeof kSectionNames),
        sh_at(align8(str_at + strtab_size)) {}
  static constexpr int kSections = 5;
  std::size_t sym_at, str_at, section_names_at, strtab_size, sh_at;
  std::size_t size() const { return sh_at + kSections * sizeof(Elf64_Shdr); }
};

}  // namespace

std::size_t gdb_symfile_size(std::size_t name_size, std::size_t eh_frame_size) noexcept {
  return SymfileLayout(name_size, eh_frame_size).size();
}

std::string_view write_gdb_symfile(std::span<std::uint8_t> out, abi::Arch arch, const void* code, std::size_t size,
                                   std::string_view name, std::span<const std::uint8_t> eh_frame) noexcept {
  enum Section { kNull, kText, kEhFrame, kSymtab, kStrtab, kSections };
  static_assert(kSections == SymfileLayout::kSections);
  const SymfileLayout at(name.size(), eh_frame.size());
  const std::uint32_t names = static_cast<std::uint32_t>(at.section_names_at);
  const std::uint32_t section_name[kSections] = {0, names, names + 6, names + 16, names + 24};
  std::memset(out.data(), 0, at.size());  // the padding and the strings' NULs

  Elf64_Sym symbols[2] = {};
  const std::size_t eh_at = gdb_symfile_eh_frame_offset;
  const auto [sym_at, str_at, section_names_at, strtab_size, sh_at] = at;
  Elf64_Shdr sh[kSections] = {};
  std::memcpy(out.data() + eh_at, eh_frame.data(), eh_frame.size());
  symbols[1].st_name = 1;
  symbols[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
  symbols[1].st_shndx = kText;
  symbols[1].st_value = 0;  // relocatable object: the offset in .text, which is at the code
  symbols[1].st_size = size;
  std::memcpy(out.data() + sym_at, symbols, sizeof symbols);
  std::memcpy(out.data() + str_at + 1, name.data(), name.size());
  std::memcpy(out.data() + str_at + section_names_at, kSectionNames, sizeof kSectionNames);

  for (int i = 0; i < kSections; ++i) sh[i].sh_name = section_name[i];
  sh[kText].sh_type = SHT_NOBITS;
  sh[kText].sh_flags = SHF_ALLOC | SHF_EXECINSTR;
  sh[kText].sh_addr = reinterpret_cast<std::uintptr_t>(code);
  sh[kText].sh_size = size;
  sh[kText].sh_addralign = 16;
  sh[kEhFrame].sh_type = SHT_PROGBITS;
  sh[kEhFrame].sh_flags = SHF_ALLOC;
  sh[kEhFrame].sh_offset = eh_at;
  sh[kEhFrame].sh_size = eh_frame.size();
  sh[kEhFrame].sh_addralign = 8;
  sh[kSymtab].sh_type = SHT_SYMTAB;
  sh[kSymtab].sh_offset = sym_at;
  sh[kSymtab].sh_size = sizeof symbols;
  sh[kSymtab].sh_link = kStrtab;
  sh[kSymtab].sh_info = 1;  // the first global symbol
  sh[kSymtab].sh_entsize = sizeof(Elf64_Sym);
  sh[kSymtab].sh_addralign = 8;
  sh[kStrtab].sh_type = SHT_STRTAB;
  sh[kStrtab].sh_offset = str_at;
  sh[kStrtab].sh_size = strtab_size;
  sh[kStrtab].sh_addralign = 1;
  std::memcpy(out.data() + sh_at, sh, sizeof sh);

  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_SYSV;
  eh.e_type = ET_REL;
  eh.e_machine = arch == abi::Arch::X64 ? EM_X86_64 : EM_AARCH64;
  eh.e_version = EV_CURRENT;
  eh.e_shoff = sh_at;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = kSections;
  eh.e_shstrndx = kStrtab;
  std::memcpy(out.data(), &eh, sizeof eh);
  return {reinterpret_cast<const char*>(out.data() + str_at + 1), name.size()};
}

void gdb_register(GdbEntry& e) noexcept {
  std::lock_guard lock(list_mutex());
  jit_descriptor& d = tramp_jit_descriptor;
  e.prev = nullptr;
  e.next = d.first_entry;
  if (d.first_entry) d.first_entry->prev = &e;
  d.first_entry = &e;
  d.relevant_entry = &e;
  d.action_flag = kRegister;
  tramp_jit_register_code();
  d.action_flag = kNoAction;
  ++g_registered;
}

void gdb_unregister(GdbEntry& e) noexcept {
  std::lock_guard lock(list_mutex());
  jit_descriptor& d = tramp_jit_descriptor;
  if (e.prev) e.prev->next = e.next;
  else d.first_entry = e.next;
  if (e.next) e.next->prev = e.prev;
  d.relevant_entry = &e;
  d.action_flag = kUnregister;
  tramp_jit_register_code();
  d.action_flag = kNoAction;
  --g_registered;
}

std::size_t gdb_registered() noexcept {
  std::lock_guard lock(list_mutex());
  return g_registered;
}

}  // namespace tramp::jit
