// pz::AcceptThrottle: the one accept(2) loop body every server shares
// (TcpListener, pz::ServerContext and so every pizza model, echo-server,
// sort-server), so that running out of descriptors or kernel memory is
// handled once.
//
// accept4 can fail in ways that leave the client in the backlog and the
// listener readable (EMFILE, ENFILE, ENOBUFS, ENOMEM): a server that simply
// waits again wakes at once, fails again and spins a core for as long as the
// shortage lasts. The throttle turns each such failure into a pause:
//
//   - Out of descriptors, with a spare descriptor kept (keep_spare): the
//     spare is closed, the client accepted and handed back as `refuse` (so
//     the server can tell it it is busy and close it), and the spare
//     reopened. If that does not work (another thread took the freed slot,
//     the spare could not be reopened), it falls through to a pause.
//   - Otherwise (and for ENOBUFS/ENOMEM): a pause starts. It lasts
//     first_pause, doubles while accepts keep failing, up to last_pause, and
//     starts over after an accept succeeds. The caller stops watching its
//     listener until paused_until(); accept() itself refuses to call accept4
//     while paused, so a caller that did not look cannot spin either.
//
// One throttle per server, shared by its shards and threads: the shortage
// is the process's or the kernel's, not one listener's, so all back off
// together and log once per pause, and they cannot race for the spare.
//
// Thread safety: every member is safe from any thread.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/unique_fd.hpp"

namespace pz {

struct AcceptThrottleOptions {
  Duration first_pause = std::chrono::milliseconds(10);
  Duration last_pause = std::chrono::seconds(1);
  // Keep one descriptor open in reserve for the EMFILE trick above. A
  // server that can refuse a client politely sets it; a plain listener
  // (TcpListener) leaves the client queued and pauses instead.
  bool keep_spare = false;
  // Prefix of the log lines: "accept on <label> failed: ...".
  std::string label;
  // Receives the pause lines; nullptr: stderr, prefixed "pizzeria: ".
  std::function<void(std::string_view)> log;
};

class AcceptThrottle {
 public:
  explicit AcceptThrottle(AcceptThrottleOptions options = {});
  AcceptThrottle(const AcceptThrottle&) = delete;
  AcceptThrottle& operator=(const AcceptThrottle&) = delete;

  enum class Outcome {
    accepted,  // `client` holds the new connection
    none,      // nothing pending, or that client gave up (EAGAIN, ECONNABORTED...)
    refuse,    // out of descriptors: `client` must be refused and closed at once
    paused,    // a pause is on (started now or earlier): wait until paused_until()
  };
  struct Result {
    Outcome outcome = Outcome::none;
    UniqueFd client;
    int error = 0;  // the errno behind none (EAGAIN: nothing pending), refuse, paused
    sockaddr_storage peer{};
    socklen_t peer_length = 0;
  };

  // One accept4(listener_fd, ..., `flags` | SOCK_CLOEXEC). `now` is on the
  // caller's clock (a loop's, or steady_clock). Throws std::system_error for
  // errors that are the listener's own (EBADF, EINVAL...).
  Result accept(int listener_fd, TimePoint now, int flags = 0);

  // When accepting may resume; the clock's epoch if there never was a pause.
  [[nodiscard]] TimePoint paused_until() const noexcept {
    // relaxed: see paused_until_.
    return TimePoint(Duration(paused_until_.load(std::memory_order_relaxed)));
  }
  [[nodiscard]] bool paused(TimePoint now) const noexcept { return now < paused_until(); }
  // Pauses started so far (for tests and metrics).
  [[nodiscard]] std::uint64_t pauses() const noexcept {
    return pauses_.load(std::memory_order_relaxed);  // relaxed: a statistic
  }

 private:
  void start_pause(int error, TimePoint now);
  void succeeded();
  bool refuse_with_spare(int listener_fd, Result& result);

  AcceptThrottleOptions options_;
  std::mutex mutex_;  // pause bookkeeping and the spare; failures only
  UniqueFd spare_;    // guarded by mutex_
  // True while the spare is not held (after a failed reopen); a successful
  // accept then tries again. relaxed: a hint read without the lock, which
  // re-checks under it.
  std::atomic<bool> spare_missing_{false};
  // The pause's end as ticks of Duration since the clock's epoch (0: none).
  // Written under mutex_, read anywhere. relaxed: a deadline read on its
  // own, guarding no other memory; a stale read tries one accept early
  // (refused inside the pause) or waits out a pause just superseded.
  std::atomic<Duration::rep> paused_until_{0};
  // The next pause's length. Written under mutex_; read without it by each
  // successful accept (relaxed) only to skip the lock when nothing is to reset.
  std::atomic<Duration::rep> next_pause_;
  std::atomic<std::uint64_t> pauses_{0};
};

}  // namespace pz
