// tramp: a vector whose first N elements live in the object itself, for the short lists a plan
// or a frame is made of (a value's pieces, a stub's frame rules): making and copying them
// allocates nothing until there are more than N.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace tramp::abi {

template <class T, std::size_t N>
class InlineVector {
 public:
  static constexpr std::size_t kInline = N;
  void push_back(const T& v) {
    if (size_ < N) {
      in_place_[size_++] = v;
      return;
    }
    if (size_ == N) spilled_.assign(in_place_, in_place_ + N);
    spilled_.push_back(v);
    ++size_;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T* begin() const { return size_ > N ? spilled_.data() : in_place_; }
  const T* end() const { return begin() + size_; }
  std::reverse_iterator<const T*> rbegin() const { return std::reverse_iterator<const T*>(end()); }
  std::reverse_iterator<const T*> rend() const { return std::reverse_iterator<const T*>(begin()); }
  const T& operator[](std::size_t i) const { return begin()[i]; }
  const T& at(std::size_t i) const {
    if (i >= size_) throw std::out_of_range("InlineVector::at");
    return begin()[i];
  }
  friend bool operator==(const InlineVector& a, const InlineVector& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::size_t size_ = 0;
  T in_place_[N];
  std::vector<T> spilled_;  // all of them, once there are more than N
};

}  // namespace tramp::abi
