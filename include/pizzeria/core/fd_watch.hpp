// pz::FdWatch: an fd registered with an EventLoop, and the callback that runs
// when it is ready. Returned by EventLoop::watch(); unregisters when destroyed.
//
// The watch does not own the fd: close the fd after the watch is reset or
// destroyed (closing first leaves a stale registration in poll(2)'s table).
// Watching the same fd twice on one loop is an error (std::logic_error):
// combine interests in one watch instead.
//
// Readiness is level-triggered by default: the callback runs every iteration
// while the fd stays ready and the interest asks for it. With Interest::none
// the fd is taken out of the poller altogether, so a peer's hang-up cannot
// spin the loop while the owner is not reading.
//
// With Interest::edge added, the callback hears of readiness once, when it
// appears; the owner reads (writes) until EAGAIN, or stops early and calls
// rearm() to hear again about what is left. Why a socket server wants this:
// epoll puts every level-triggered fd it reported back on its ready list and
// re-polls it at the next wait, so a connection that was just served and
// already has its next request ahead of connections that have been waiting
// longer; the kernel does the extra poll per event too. Edge-triggered fds are
// served in the order they became ready (measured in docs/benchmarks.md: it
// is what brought the pizza server's p99 to asio's, which is edge-triggered).
//
// Lifetime: must not outlive its loop. Resetting or destroying the watch from
// inside its own callback is safe.
//
// Thread safety: every member only on the loop's thread.
#pragma once

#include <cstdint>

#include "pizzeria/core/poller.hpp"

namespace pz {

class EventLoop;

class FdWatch {
 public:
  FdWatch() noexcept = default;
  FdWatch(FdWatch&& other) noexcept;
  FdWatch& operator=(FdWatch&& other) noexcept;
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;
  ~FdWatch() { reset(); }

  // Changes what the callback hears about. Cheap when unchanged.
  void set_interest(Interest interest);
  [[nodiscard]] Interest interest() const noexcept;
  [[nodiscard]] int fd() const noexcept;

  // Edge-triggered watches: report readiness that is still there (the owner
  // left bytes unread on purpose, or saw read_closed after a short read) on a
  // coming iteration, behind fds that are ready already. One epoll_ctl; does
  // nothing for a level-triggered or idle watch.
  void rearm();

  // Stops watching (the fd stays open). Idempotent.
  void reset() noexcept;

  [[nodiscard]] bool active() const noexcept { return loop_ != nullptr; }
  explicit operator bool() const noexcept { return active(); }

 private:
  friend class EventLoop;
  FdWatch(EventLoop* loop, std::uint32_t slot, std::uint32_t generation) noexcept
      : loop_(loop), slot_(slot), generation_(generation) {}

  EventLoop* loop_ = nullptr;
  std::uint32_t slot_ = 0;
  std::uint32_t generation_ = 0;
};

}  // namespace pz
