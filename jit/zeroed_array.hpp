// tramp: the arrays of the hash tables that double as code is made (the engine's stub cache,
// the code registry). Where a first write to a page costs microseconds (a hypervisor that
// shadows page tables: 9-11 us a 4 KiB page on the development VM), a doubling that fills a
// new array of megabytes pauses for milliseconds, in whichever call made the entry that
// tipped it. So a table makes its next array ahead, while it fills from half to its limit,
// and writes one page of it every few insertions (touch_page): the pages fault in evenly,
// and the doubling itself writes no fresh page.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

// Under AddressSanitizer, LeakSanitizer searches the heap, stacks and globals for pointers,
// not mappings of our own: a mapped array is declared to it, or what only the array points
// to would be reported as leaked.
#if defined(__SANITIZE_ADDRESS__)
#define TRAMP_LSAN_ROOTS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRAMP_LSAN_ROOTS 1
#endif
#endif
#ifdef TRAMP_LSAN_ROOTS
#include <sanitizer/lsan_interface.h>
#endif

namespace tramp::jit {

// n zeroed T's (T is all zeros when empty). From kMapped bytes up the array is a mapping of
// its own, whose pages the kernel gives on first write; below, calloc'ed and counted as
// written.
template <class T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  static constexpr std::size_t kMapped = 64 * 1024;
  static constexpr std::size_t kPage = 4096;  // the smallest page of the hosts tramp runs on

  ZeroedArray() = default;
  explicit ZeroedArray(std::size_t n) : n_(n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes >= kMapped) {
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<T*>(p);
      mapped_ = true;
#ifdef TRAMP_LSAN_ROOTS
      __lsan_register_root_region(p, bytes);
#endif
    } else {
      data_ = static_cast<T*>(std::calloc(n ? n : 1, sizeof(T)));
      if (!data_) throw std::bad_alloc();
      touched_ = bytes;
    }
  }
  ZeroedArray(ZeroedArray&& o) noexcept { swap(o); }
  ZeroedArray& operator=(ZeroedArray&& o) noexcept {
    swap(o);
    return *this;
  }
  ~ZeroedArray() {
    if (mapped_) {
#ifdef TRAMP_LSAN_ROOTS
      __lsan_unregister_root_region(data_, n_ * sizeof(T));
#endif
      munmap(data_, n_ * sizeof(T));
    } else {
      std::free(data_);
    }
  }

  std::size_t size() const noexcept { return n_; }
  T& operator[](std::size_t i) const noexcept { return data_[i]; }
  // How many pages a table has to write ahead (touch_page), none when calloc'ed.
  std::size_t pages_left() const noexcept { return (n_ * sizeof(T) - touched_ + kPage - 1) / kPage; }
  // Writes the next page not yet written (a zero onto a zero), so that it faults in now.
  void touch_page() noexcept {
    if (touched_ >= n_ * sizeof(T)) return;
    reinterpret_cast<volatile unsigned char*>(data_)[touched_] = 0;
    touched_ += kPage - touched_ % kPage;
  }

 private:
  void swap(ZeroedArray& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(n_, o.n_);
    std::swap(touched_, o.touched_);
    std::swap(mapped_, o.mapped_);
  }
  T* data_ = nullptr;
  std::size_t n_ = 0;
  std::size_t touched_ = 0;  // bytes [0, touched_) have been written, or need not be
  bool mapped_ = false;
};

// The next array of a table that doubles, made ahead and written a page every few
// insertions. `begin` is the table's entry count from which it is made, `limit` the count at
// which the table doubles into it.
template <class T>
class NextArray {
 public:
  // After each insertion: the table of `size` slots now holds `count` entries.
  void prepare(std::size_t size, std::size_t count, std::size_t begin, std::size_t limit) noexcept {
    if (next_.size() != 2 * size) {
      if (size * sizeof(T) < ZeroedArray<T>::kMapped / 2 || count < begin) return;
      try {
        next_ = ZeroedArray<T>(2 * size);
      } catch (const std::bad_alloc&) {
        return;  // the doubling makes its array then
      }
      const std::size_t pages = next_.pages_left();
      every_ = pages ? (limit > count ? limit - count : 1) / pages : 1;
      if (every_ == 0) every_ = 1;
      since_ = 0;
    }
    if (++since_ >= every_) {
      since_ = 0;
      next_.touch_page();
    }
  }
  // The array to double into: the one made ahead if it has the size, else a new one.
  ZeroedArray<T> take(std::size_t n) {
    if (next_.size() == n) return std::move(next_);
    return ZeroedArray<T>(n);
  }

 private:
  ZeroedArray<T> next_;
  std::size_t every_ = 1, since_ = 0;
};

}  // namespace tramp::jit
