// tramp tests: what the placement tests need to know about the address space. Whether a
// 16 MiB-aligned block has a free range of some size (read from /proc/self/maps, the way the
// arena sees it: the program break's growth room counts as taken), and a block made full
// on purpose. Header-only, no Catch2. Linux only.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "jit/code_arena.hpp"
#include "wx_check.hpp"

namespace tramp::test {

constexpr std::uintptr_t kBlock = jit::CodeArena::kPlacementBlock;

inline std::uintptr_t block_start(const void* p) { return reinterpret_cast<std::uintptr_t>(p) / kBlock * kBlock; }

// Whether the block of `p` has `size` free bytes in one range, outside the room the arena
// keeps for the program break to grow (1 GiB above it).
inline bool block_has_room(const void* p, std::size_t size) {
  const std::uintptr_t lo = block_start(p), hi = lo + kBlock;
  std::uintptr_t brk_lo = ~std::uintptr_t{0}, brk_hi = 0;
  if (void* b = sbrk(0); b != reinterpret_cast<void*>(-1)) {
    brk_lo = reinterpret_cast<std::uintptr_t>(b);
    brk_hi = brk_lo + (std::uintptr_t{1} << 30);
  }
  std::uintptr_t cursor = lo;
  auto gap = [&](std::uintptr_t g0, std::uintptr_t g1) {
    if (g1 > brk_lo && g0 < brk_hi) {  // cut the growth room out
      if (brk_lo - g0 >= size && brk_lo > g0) return true;
      g0 = std::max(g0, brk_hi);
    }
    return g1 > g0 && g1 - g0 >= size;
  };
  for (const Mapping& m : read_maps()) {
    if (m.end <= lo || m.start >= hi) continue;
    if (m.start > cursor && gap(cursor, m.start)) return true;
    cursor = std::max(cursor, m.end);
  }
  return cursor < hi && gap(cursor, hi);
}

// The address of a 16 MiB-aligned block that nothing is mapped in and that the arena would
// use: a range of two blocks is mapped (where the kernel likes, else past the program
// break's growth room, which qemu-user's mappings all lie in) and unmapped again. Room for any
// placement test, whatever the program's own blocks hold (an ASan build's code and data fill
// most of theirs).
struct EmptyBlock {
  std::uintptr_t block = 0;
  EmptyBlock() {
    std::uintptr_t past_brk = 0;
    if (void* b = sbrk(0); b != reinterpret_cast<void*>(-1))
      past_brk = (reinterpret_cast<std::uintptr_t>(b) + (std::uintptr_t{2} << 30)) / kBlock * kBlock;
    for (std::uintptr_t hint : {std::uintptr_t{0}, past_brk, past_brk + (std::uintptr_t{1} << 32)}) {
      void* base = mmap(reinterpret_cast<void*>(hint), 2 * kBlock, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (base == MAP_FAILED) continue;
      const std::uintptr_t b = (reinterpret_cast<std::uintptr_t>(base) + kBlock - 1) / kBlock * kBlock;
      munmap(base, 2 * kBlock);
      if (block_has_room(reinterpret_cast<const void*>(b), kBlock / 2)) {
        block = b;
        return;
      }
    }
  }
  const void* inside() const { return reinterpret_cast<const void*>(block + kBlock / 2); }
};

// A 16 MiB-aligned block the arena would use (EmptyBlock), mapped whole PROT_NONE so that
// nothing else fits in it; unmapped by release() or when destroyed.
struct FullBlock {
  void* base = nullptr;
  std::uintptr_t block = 0;
  FullBlock() {
    const EmptyBlock empty;
    if (!empty.block) return;
    void* p = mmap(reinterpret_cast<void*>(empty.block), kBlock, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return;
    if (p != reinterpret_cast<void*>(empty.block)) {  // taken as a hint: not the block
      munmap(p, kBlock);
      return;
    }
    base = p;
    block = empty.block;
  }
  ~FullBlock() { release(); }
  FullBlock(const FullBlock&) = delete;
  FullBlock& operator=(const FullBlock&) = delete;
  void release() {
    if (base) munmap(base, kBlock);
    base = nullptr;
  }
  // An address in the middle of the block.
  const void* inside() const { return reinterpret_cast<const void*>(block + kBlock / 2); }
};

}  // namespace tramp::test
