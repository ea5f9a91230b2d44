// jit/zeroed_array.hpp: a table's next array is made ahead and its pages are written while the
// table fills, so that the doubling writes no fresh page.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "jit/zeroed_array.hpp"

using tramp::jit::NextArray;
using tramp::jit::ZeroedArray;

namespace {

// How many pages of [p, p + bytes) are in memory.
std::size_t resident_pages(const void* p, std::size_t bytes) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((bytes + page - 1) / page);
  REQUIRE(mincore(const_cast<void*>(p), bytes, v.data()) == 0);
  std::size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

}  // namespace

TEST_CASE("zeroed array: a large one starts zero with no page in memory, and takes them one by one", "[zeroed_array]") {
  ZeroedArray<std::uint64_t> a(1 << 17);  // 1 MiB
  REQUIRE(a.pages_left() == (std::size_t{1} << 20) / ZeroedArray<std::uint64_t>::kPage);
  CHECK(resident_pages(&a[0], std::size_t{1} << 20) == 0);
  for (int i = 0; i < 10; ++i) a.touch_page();
  CHECK(a.pages_left() == 256 - 10);
  if (sysconf(_SC_PAGESIZE) == 4096) CHECK(resident_pages(&a[0], std::size_t{1} << 20) == 10);
  for (std::size_t i = 0; i < a.size(); i += 997) CHECK(a[i] == 0);
  a[12345] = 7;
  CHECK(a[12345] == 7);
}

TEST_CASE("zeroed array: a small one is calloc'ed and has nothing to write ahead", "[zeroed_array]") {
  ZeroedArray<std::uint64_t> a(100);
  CHECK(a.pages_left() == 0);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == 0);
}

TEST_CASE("next array: written ahead while the table fills from half to its limit, then handed over", "[zeroed_array]") {
  // A table of 65,536 eight-byte slots that doubles at 65,536 entries: its next array (1 MiB,
  // 256 pages) is made at 32,768 and written a page every 128 insertions.
  NextArray<std::uint64_t> next;
  const std::size_t size = 1 << 16;
  for (std::size_t count = 1; count < size / 2; ++count) next.prepare(size, count, size / 2, size);
  ZeroedArray<std::uint64_t> early = next.take(2 * size);  // not made yet: a fresh one
  CHECK(early.pages_left() == 256);
  for (std::size_t count = size / 2; count <= size; ++count) next.prepare(size, count, size / 2, size);
  ZeroedArray<std::uint64_t> ready = next.take(2 * size);
  CHECK(ready.pages_left() == 0);
  if (sysconf(_SC_PAGESIZE) == 4096) CHECK(resident_pages(&ready[0], ready.size() * 8) == 256);
  CHECK(next.take(2 * size).pages_left() == 256);  // handed over once: the next take makes a new one
}
