// pz::as_completed: the futures of a vector handed back one at a time in the
// order they complete, like concurrent.futures.as_completed.
//
//   pz::AsCompleted<int> completed = pz::as_completed(std::move(futures));
//   while (std::optional<pz::Future<int>> future = completed.next()) {
//     use(future->result());   // done: result() does not block
//   }
//
// Why not a loop of when_any: when_any attaches its one callback to every
// input, so a pending loser cannot be raced (or co_awaited, or then()-ed)
// again; a future holds a single continuation. as_completed attaches one
// callback per input once, and each completion queues its index.
//
// A failed future is handed back like any other: its result() rethrows.
// Futures not yet returned when the AsCompleted is destroyed are dropped;
// their producers still run and complete them.
//
// Thread safety: the inputs may complete on any threads concurrently; one
// AsCompleted is for one consumer thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pizzeria/exec/blocking_queue.hpp"
#include "pizzeria/exec/future.hpp"

namespace pz {

template <typename T>
class AsCompleted {
 public:
  explicit AsCompleted(std::vector<Future<T>> futures) : remaining_(futures.size()) {
    for (const auto& future : futures) {
      if (!future.valid()) {
        throw std::invalid_argument(
            "pz::as_completed given an invalid (empty or moved-from) future");
      }
    }
    // Room for every index, so a completion never blocks the thread that
    // completes a future (a pool worker, say).
    done_ = std::make_shared<BlockingQueue<std::size_t>>(std::max<std::size_t>(1, futures.size()));
    futures_ = std::move(futures);
    for (std::size_t i = 0; i < futures_.size(); ++i) {
      // The callback holds the queue, not this object: it may run after the
      // AsCompleted is gone (on the producer's thread), and must not touch it.
      detail::state_of(futures_[i])->set_callback([done = done_, i] { done->push(i); });
    }
  }

  // The next future to complete, already done; std::nullopt once every
  // future has been returned. Blocks while none is done.
  std::optional<Future<T>> next() {
    if (remaining_ == 0) {
      return std::nullopt;
    }
    return take(done_->pop());
  }

  // Like next(), but gives up after `timeout` with std::nullopt (remaining()
  // tells a timeout from the end), as as_completed(timeout=...) would raise.
  template <typename Rep, typename Period>
  std::optional<Future<T>> next_for(const std::chrono::duration<Rep, Period>& timeout) {
    if (remaining_ == 0) {
      return std::nullopt;
    }
    return take(done_->pop_for(timeout));
  }

  // Futures not returned yet.
  [[nodiscard]] std::size_t remaining() const noexcept { return remaining_; }

 private:
  std::optional<Future<T>> take(std::optional<std::size_t> index) {
    if (!index) {
      return std::nullopt;
    }
    --remaining_;
    return std::move(futures_[*index]);
  }

  std::size_t remaining_;
  std::shared_ptr<BlockingQueue<std::size_t>> done_;
  std::vector<Future<T>> futures_;
};

template <typename T>
AsCompleted<T> as_completed(std::vector<Future<T>> futures) {
  return AsCompleted<T>(std::move(futures));
}

}  // namespace pz
