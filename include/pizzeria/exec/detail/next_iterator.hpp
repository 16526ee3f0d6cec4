// detail::NextIterator<Source, T>: an input iterator over anything with
// `std::optional<T> next()` (ProcessPool's Imap and ImapUnordered), so that
// Python's `for result in pool.imap(task, inputs)` reads as
//
//   for (long result : pool.imap(task, inputs)) { ... }
//
// Each step calls next(); the loop ends when it returns std::nullopt. An item
// that failed throws out of the loop from the increment, as in Python, where
// the exception ends the for loop; call next() in a try to go on past it.
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>

namespace pz::detail {

template <typename Source, typename T>
class NextIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using iterator_concept = std::input_iterator_tag;
  using value_type = T;
  using difference_type = std::ptrdiff_t;

  NextIterator() = default;
  explicit NextIterator(Source& source) : source_(&source), current_(source.next()) {}

  // The result may be moved from: it is the iterator's own copy, replaced
  // at the next step.
  T& operator*() const { return *current_; }
  T* operator->() const { return &*current_; }
  NextIterator& operator++() {
    current_ = source_->next();
    return *this;
  }
  void operator++(int) { ++*this; }

  friend bool operator==(const NextIterator& iterator, std::default_sentinel_t) {
    return !iterator.current_.has_value();
  }

 private:
  Source* source_ = nullptr;
  // mutable: an input iterator's operator* is const, and the value it
  // returns belongs to the iterator.
  mutable std::optional<T> current_;
};

}  // namespace pz::detail
