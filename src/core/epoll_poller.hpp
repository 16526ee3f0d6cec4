// The epoll(7) backend: the kernel keeps the interest set, so a wait costs
// O(ready fds), not O(watched fds). Level-triggered, like poll(2), so both
// backends have the same semantics and pass the same tests.
#pragma once

#include <sys/epoll.h>

#include <vector>

#include "pizzeria/core/poller.hpp"
#include "pizzeria/core/unique_fd.hpp"

namespace pz {

class EpollPoller final : public Poller {
 public:
  EpollPoller();

  void add(int fd, Interest interest, std::uint64_t token) override;
  void modify(int fd, Interest interest, std::uint64_t token) override;
  void remove(int fd) override;
  std::size_t wait(std::span<PollEvent> out, std::chrono::nanoseconds timeout) override;
  [[nodiscard]] PollerKind kind() const noexcept override { return PollerKind::epoll; }

 private:
  void control(int operation, int fd, Interest interest, std::uint64_t token, const char* what);

  UniqueFd epoll_fd_;
  std::vector<epoll_event> events_;
  bool have_epoll_pwait2_ = true;  // false once the kernel said ENOSYS
};

}  // namespace pz
