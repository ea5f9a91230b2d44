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
// free list and are reused. All members are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <string>
#include <vector>

#include "jit/fork_safety.hpp"

namespace tramp::jit {

struct ArenaStats {
  std::size_t chunks = 0;        // chunks mapped
  std::size_t bytes_mapped = 0;  // total executable bytes mapped
  std::size_t bytes_in_use = 0;  // bytes in live blocks (rounded to the allocation granule)
  std::size_t live_blocks = 0;   // blocks allocated and not yet freed
  std::size_t total_allocs = 0;  // allocations ever made
};

class CodeArena : private ForkParticipant {
 public:
  static constexpr std::size_t kGranule = 16;  // allocation unit and minimum code alignment

  CodeArena();
  ~CodeArena();  // unmaps everything; no block may be executing
  CodeArena(const CodeArena&) = delete;
  CodeArena& operator=(const CodeArena&) = delete;

  // Copies position-independent machine code into executable memory, flushes the
  // instruction cache where the architecture needs it, and returns the executable
  // address. Throws tramp::Error(Jit) if memory cannot be mapped.
  const void* install(std::span<const std::uint8_t> code);

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
  Reservation reserve(std::size_t size);
  void commit(const Reservation& r);

  // Returns a block (by its executable address) to the free list. Null, an address this
  // arena did not hand out, and a second free of the same block are ignored. In a child of
  // fork() that still shares its chunks with the parent, the block is not reused or
  // overwritten.
  void free(const void* executable);

  ArenaStats stats() const;

 private:
  struct Chunk;
  struct Block {  // a live block, found by its executable address
    Chunk* chunk;
    std::size_t offset;
    std::size_t size;
  };
  std::unique_ptr<Chunk> new_chunk(std::size_t min_size);
  void remap(const Reservation& r);  // commit's extra step under qemu-user/valgrind

  void fork_prepare() override;
  void fork_parent() override;
  void fork_child() override;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Chunk>> chunks_;        // chunks_[0] is kept while the arena lives
  std::unordered_map<std::uintptr_t, Block> blocks_;  // executable address -> live block
  ArenaStats stats_;
  // Set in a child of fork() when some chunk could not be given a file of its own: why.
  std::string shared_with_parent_;
};

}  // namespace tramp::jit
