// pz::Poller: the small contract between the EventLoop and the kernel's
// readiness interface (Redis's ae_epoll.c / ae_select.c idea: one small file
// per backend behind a handful of functions).
//
// A Poller knows file descriptors, the events each is interested in, and an
// opaque 64-bit token per fd that it hands back when the fd is ready. It does
// not own the fds and never calls back: wait() fills an array and returns.
//
// Thread safety: none. A poller belongs to one loop and is used on its thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace pz {

// What a watcher wants to hear about. Bit flags so they can be combined.
enum class Interest : std::uint8_t {
  none = 0,
  readable = 1,
  writable = 2,
  both = 3,
  // Combined with readable/writable: report readiness only when it changes
  // (epoll's EPOLLET). The owner promises to use up what it is told of: read
  // or write until EAGAIN, or, when it stops early on purpose, call
  // FdWatch::rearm(). In exchange the kernel serves ready fds strictly in the
  // order they became ready and does not re-check every reported fd on the
  // next wait (see FdWatch). Backends without edges (poll) stay
  // level-triggered, which only adds wake-ups the owner already tolerates.
  edge = 4,
};

constexpr Interest operator|(Interest a, Interest b) noexcept {
  return static_cast<Interest>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr Interest operator&(Interest a, Interest b) noexcept {
  return static_cast<Interest>(static_cast<std::uint8_t>(a) & static_cast<std::uint8_t>(b));
}
constexpr bool has(Interest set, Interest flag) noexcept {
  return (set & flag) != Interest::none;
}

// What happened to a watched fd. `error` and `hangup` are always reported,
// whatever the interest, as the kernel does: a reader usually learns of them
// through a failing or empty read.
struct IoEvents {
  bool readable = false;
  bool writable = false;
  bool error = false;
  bool hangup = false;
  // The peer shut down its sending side (EPOLLRDHUP / POLLRDHUP): after the
  // bytes already received, a read returns end of stream.
  bool read_closed = false;

  // Nothing more will arrive (shutdown, hang-up or error), so a short read
  // does not mean the socket is drained: an edge-triggered owner that stops
  // at one must read on (or rearm), as no later edge announces the end.
  [[nodiscard]] bool peer_finished() const noexcept { return read_closed || hangup || error; }
};

struct PollEvent {
  std::uint64_t token = 0;
  IoEvents events;
};

enum class PollerKind {
  epoll,  // default: O(ready) per wait
  poll,   // poll(2): O(watched) per wait; portable and simple to reason about
};

[[nodiscard]] std::string_view to_string(PollerKind kind) noexcept;

class Poller {
 public:
  Poller() = default;
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;
  virtual ~Poller() = default;

  // Errors are reported by throwing std::system_error naming the call and fd:
  // a failing registration is a programming error or resource exhaustion the
  // caller must hear about, not a condition to poll for.
  virtual void add(int fd, Interest interest, std::uint64_t token) = 0;
  virtual void modify(int fd, Interest interest, std::uint64_t token) = 0;
  virtual void remove(int fd) = 0;

  // Blocks for at most `timeout` (negative: forever; zero: just look) and
  // writes up to out.size() ready fds. Returns how many; EINTR returns 0.
  virtual std::size_t wait(std::span<PollEvent> out, std::chrono::nanoseconds timeout) = 0;

  [[nodiscard]] virtual PollerKind kind() const noexcept = 0;
};

[[nodiscard]] std::unique_ptr<Poller> make_poller(PollerKind kind);

}  // namespace pz
