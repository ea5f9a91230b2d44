// tramp: executable memory that is never writable and executable at the same time.
//
// The arena maps each chunk of a memfd twice: once read+write (where code is written) and
// once read+execute (where it runs). No virtual page is ever both writable and executable,
// stubs already running on a chunk are never disturbed by a later write elsewhere in it
// (which mprotect flips would do), and no syscall happens per allocation once a chunk exists.
// The writable view is placed at a random address, so a code address says nothing about
// where its bytes can be written. After fork() the child gives every chunk a file of its own
// (same bytes, same executable address): code made before the fork runs in both processes,
// and nothing either makes or frees afterwards reaches the other. Freed blocks go back to a
// free list and are reused. Code can be placed near an address (the function a stub calls,
// the code that calls it): in the same kPlacementBlock-aligned block of the address space,
// where a branch between them is cheapest (docs/code-arena.md, "Placement"). All members are
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/fork_safety.hpp"

namespace tramp::jit {

struct ArenaStats {
  std::size_t chunks = 0;        // chunks mapped
  std::size_t bytes_mapped = 0;  // total executable bytes mapped
  std::size_t bytes_in_use = 0;  // bytes in live blocks (rounded to the allocation granule)
  std::size_t live_blocks = 0;   // blocks allocated and not yet freed
  std::size_t total_allocs = 0;  // allocations ever made
  std::size_t placed = 0;        // allocations asked near an address that landed in its block
  std::size_t not_placed = 0;    // ... that found no room there and went elsewhere
};

// Where an allocation should go: in the placement block of `near`, else in that of
// `then_near`, else anywhere (the kernel's choice, next to the shared libraries). Null means
// no wish.
struct Placement {
  const void* near = nullptr;
  const void* then_near = nullptr;
};

class CodeArena : private ForkParticipant {
 public:
  static constexpr std::size_t kGranule = 16;  // allocation unit and minimum code alignment
  // Code "near" an address lies in the same aligned block of this size: a branch whose target
  // lies in another 16 MiB-aligned block costs more on the x86-64 cores measured
  // (bench/branch_distance.cpp, docs/code-arena.md).
  static constexpr std::uintptr_t kPlacementBlock = std::uintptr_t{1} << 24;
  static bool same_block(const void* a, const void* b) noexcept {
    return reinterpret_cast<std::uintptr_t>(a) / kPlacementBlock == reinterpret_cast<std::uintptr_t>(b) / kPlacementBlock;
  }


  CodeArena();
  ~CodeArena();  // unmaps everything; no block may be executing
  CodeArena(const CodeArena&) = delete;
  CodeArena& operator=(const CodeArena&) = delete;

  // Copies position-independent machine code into executable memory, flushes the
  // instruction cache where the architecture needs it, and returns the executable
  // address. Throws tramp::Error(Jit) if memory cannot be mapped.
  const void* install(std::span<const std::uint8_t> code, Placement where = {});

  // Two-step form for code that must know its final address: reserve `size` bytes, write
  // through `writable`, then call commit. A reservation that is not committed must be freed.
  // `size` in the Reservation is the request rounded up to kGranule; all of it may be written.
  struct Reservation {
    std::uint8_t* writable;
    const void* executable;
    std::size_t size;
  };
  // Throws tramp::Error(Jit) if memory cannot be mapped, and in a child of fork() whose
  // chunks could not be made its own (then nothing new can be made there; the inherited
  // code still runs).
  Reservation reserve(std::size_t size, Placement where = {});
  void commit(const Reservation& r);

  // Returns a block (by its executable address) to the free list. Null, an address this
  // arena did not hand out, and a second free of the same block are ignored. In a child of
  // fork() that still shares its chunks with the parent, the block is not reused or
  // overwritten.
  void free(const void* executable);

  ArenaStats stats() const;

 private:
  struct Chunk;
  // A free range of a chunk, ordered for best fit: the smallest that fits, then the oldest
  // chunk, then the lowest offset (so early chunks fill up and later ones drain).
  struct Fragment {
    std::size_t size;
    std::uint64_t serial;  // the chunk's
    std::size_t offset;
    Chunk* chunk;
    friend bool operator<(const Fragment& a, const Fragment& b) {
      return a.size != b.size ? a.size < b.size : a.serial != b.serial ? a.serial < b.serial : a.offset < b.offset;
    }
  };
  // The chunks of one placement block and their free ranges. Chunks the kernel placed across
  // a block boundary form a pool of their own (kStraddling).
  struct Pool {
    std::set<Fragment> free;
    std::size_t chunks = 0;
    bool kernel_placed = false;  // holds a chunk the kernel placed: serves requests without a wish
  };
  static constexpr std::uintptr_t kStraddling = ~std::uintptr_t{0};

  // Under mu_:
  bool take_from(Pool& pool, std::size_t n, Chunk*& chunk, std::size_t& offset);
  void give_back(Chunk& chunk, std::size_t offset, std::size_t n);
  Chunk* add_chunk(std::size_t min_size, const void* near);  // null when `near` has no room
  Chunk* chunk_of(std::uintptr_t executable) const;
  bool reserve_near(const void* near, std::size_t n, Chunk*& chunk, std::size_t& offset);
  void remap(const Reservation& r);  // commit's extra step under qemu-user/valgrind

  void fork_prepare() override;
  void fork_parent() override;
  void fork_child() override;

  mutable std::mutex mu_;
  std::map<std::uintptr_t, std::unique_ptr<Chunk>> chunks_;  // by executable address
  std::unordered_map<std::uintptr_t, Pool> pools_;            // placement block -> its chunks
  std::uintptr_t home_ = kStraddling;  // the pool of the kernel's latest chunk
  std::set<std::uintptr_t> no_room_;   // placement blocks where a new chunk found no room
  std::uint8_t* last_writable_ = nullptr;  // the latest chunk's writable view: the next one goes below it
  std::uint64_t next_serial_ = 0;      // the first chunk (serial 0) is kept while the arena lives
  ArenaStats stats_;
  // Set in a child of fork() when some chunk could not be given a file of its own: why.
  std::string shared_with_parent_;
};

}  // namespace tramp::jit
