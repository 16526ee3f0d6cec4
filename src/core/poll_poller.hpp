// The poll(2) backend: the interest set lives here, in a dense pollfd array
// handed to the kernel whole on every wait, so a wait costs O(watched fds).
// Kept because it is the seed's "I/O multiplexing" in its plainest form and
// because it makes a second, independent implementation for the test suite.
#pragma once

#include <poll.h>

#include <vector>

#include "pizzeria/core/poller.hpp"

namespace pz {

class PollPoller final : public Poller {
 public:
  void add(int fd, Interest interest, std::uint64_t token) override;
  void modify(int fd, Interest interest, std::uint64_t token) override;
  void remove(int fd) override;
  std::size_t wait(std::span<PollEvent> out, std::chrono::nanoseconds timeout) override;
  [[nodiscard]] PollerKind kind() const noexcept override { return PollerKind::poll; }

 private:
  static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);

  std::vector<pollfd> fds_;
  std::vector<std::uint64_t> tokens_;     // parallel to fds_
  std::vector<std::size_t> index_of_fd_;  // fd -> index in fds_, or kAbsent
  std::size_t resume_at_ = 0;             // where the next scan starts, so a busy fd early in
                                          // the array cannot starve the ones after it
};

}  // namespace pz
