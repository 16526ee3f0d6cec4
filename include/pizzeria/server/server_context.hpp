// pz::ServerContext: the server framework. What it hands a server is
// everything but the protocol and the way of waiting: accepting through the
// one accept throttle (pz::AcceptThrottle) with the connection limit and the
// busy reply, the shutdown signal and its deadline, the idle timeout, shard
// listeners, logging. A server (a pizza model, echo-server, sort-server) is
// then only "how to wait" and "what to say".
//
// Thread safety: all members are safe from any thread (servers with many
// threads share one context), except close_listener(), which the thread that
// accepts calls.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <ostream>
#include <string_view>
#include <utility>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/accept_throttle.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/server/accepted_client.hpp"
#include "pizzeria/server/connection_slot.hpp"
#include "pizzeria/server/server_policy.hpp"
#include "pizzeria/server/shutdown_signal.hpp"

namespace pz {

class ServerContext {
 public:
  using Clock = std::chrono::steady_clock;

  // `listener` must be a listening socket; it is made non-blocking. The
  // policy's durations are clamped to ServerPolicy::kMaxTimeout.
  ServerContext(const ServerPolicy& policy, UniqueFd listener, ShutdownSignal& shutdown,
                std::ostream& log);
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  [[nodiscard]] const ServerPolicy& policy() const noexcept { return policy_; }
  // policy().workers, or `fallback` when it is 0 ("let the server choose").
  [[nodiscard]] unsigned workers_or(unsigned fallback) const noexcept {
    return policy_.workers == 0 ? fallback : policy_.workers;
  }
  [[nodiscard]] int listener() const noexcept { return listener_.get(); }
  [[nodiscard]] const SocketAddress& local_address() const noexcept { return local_address_; }

  // Accepts one pending client from `listener_fd` (non-blocking: the
  // context's own listener, or a shard listener from open_shard_listener),
  // and logs the seed's "Connected to ADDRESS" (verbose). Returns nullopt
  // when none is pending, when the accept failed harmlessly (the client
  // gave up, EINTR), during an accept pause (see accept_paused_until), and
  // when the client was refused: over max_connections, or out of file
  // descriptors, it gets the busy reply and is closed. `admit` lets a
  // server refuse for its own reason (select's FD_SETSIZE): it returns
  // false to send the busy reply.
  template <class Admit>
  std::optional<AcceptedClient> accept(int listener_fd, Admit&& admit);
  std::optional<AcceptedClient> accept(int listener_fd) {
    return accept(listener_fd, [](const AcceptedClient&) { return true; });
  }
  // From the context's own listener (nullopt once it is closed).
  std::optional<AcceptedClient> accept() { return accept(listener_.get()); }

  // Accept pauses (pz::AcceptThrottle): when the kernel is short of memory
  // or the process of descriptors, accepting pauses for the whole server
  // (all shards and threads together), from kFirstAcceptPause doubling up
  // to kLastAcceptPause. The listener stays readable meanwhile, so a server
  // must stop watching it until accept_paused_until(), or it would spin.
  static constexpr std::chrono::milliseconds kFirstAcceptPause{10};
  static constexpr std::chrono::milliseconds kLastAcceptPause{1000};
  // When accepting may resume; in the past unless a pause is on.
  [[nodiscard]] Clock::time_point accept_paused_until() const noexcept {
    return Clock::time_point(throttle_.paused_until().time_since_epoch());
  }
  [[nodiscard]] bool accept_paused(Clock::time_point now) const noexcept {
    return now < accept_paused_until();
  }
  // When a server that waits for its listener must wake, given that it
  // would otherwise sleep until `wake_at`: the pause's end during a pause.
  // False in `listening` means: leave the listener out of this wait.
  struct ListenerWait {
    bool listening;
    Clock::time_point wake_at;
  };
  [[nodiscard]] ListenerWait listener_wait(Clock::time_point now) const noexcept {
    const auto resume_at = accept_paused_until();
    return now < resume_at ? ListenerWait{false, resume_at}
                           : ListenerWait{true, Clock::time_point::max()};
  }

  // Sends the busy reply without blocking and closes: for clients a server
  // cannot take on (no thread could be started for it, ...).
  void refuse(UniqueFd fd) noexcept;

  // Stops accepting: closes the listener so new clients are refused by the
  // kernel instead of queueing in the backlog.
  void close_listener() noexcept { listener_.reset(); }

  // Another listening socket on the same address (SO_REUSEPORT), for
  // servers that shard over --workers loops (pz::run_sharded). The first
  // listener must have been opened for sharing (open_shared_listener).
  [[nodiscard]] UniqueFd open_shard_listener() const;

  [[nodiscard]] bool stopping() const noexcept { return shutdown_.requested(); }
  // The server's own "please stop", for a shard that failed: the others
  // drain and end, rather than serve on beside a dead listener.
  void request_shutdown() noexcept { shutdown_.request(); }
  [[nodiscard]] int shutdown_fd() const noexcept { return shutdown_.fd(); }
  // When connections still open after shutdown must be closed.
  [[nodiscard]] Clock::time_point shutdown_deadline() const noexcept {
    return shutdown_.requested_at() + policy_.shutdown_timeout;
  }
  // The earliest instant a connection must be closed: the idle timeout
  // after `last_activity`; the request deadline (request_timeout) after
  // `request_since`, when a request has been in progress since then (its
  // first byte arrived, or its replies began to wait for the client to
  // read them; max(): none); and, once stopping, the shutdown deadline.
  // While `waiting_for_reader`, the wait counts as activity: no idle
  // timeout, only the request deadline.
  [[nodiscard]] Clock::time_point close_by(
      Clock::time_point last_activity, Clock::time_point request_since = Clock::time_point::max(),
      bool waiting_for_reader = false) const noexcept;
  // request_since + request_timeout, or max() when there is no such bound.
  [[nodiscard]] Clock::time_point request_deadline(Clock::time_point request_since) const noexcept;
  // Why a connection must be closed at `now` ("idle timeout", "request
  // timeout", "shutdown deadline"), or empty when it may stay open. The
  // arguments are close_by's.
  [[nodiscard]] std::string_view expired(Clock::time_point last_activity,
                                         Clock::time_point request_since, bool waiting_for_reader,
                                         Clock::time_point now) const noexcept;
  [[nodiscard]] std::string_view expired(Clock::time_point last_activity,
                                         Clock::time_point now) const noexcept {
    return expired(last_activity, Clock::time_point::max(), false, now);
  }

  [[nodiscard]] std::size_t open_connections() const noexcept {
    return open_connections_.load(std::memory_order_relaxed);
  }

  // A log line, always printed (startup, refusals a user must know about).
  void log(std::string_view line);
  // A per-connection line, printed only with verbose.
  template <class... Args>
  void verbose(fmt::format_string<Args...> format, Args&&... args) {
    if (policy_.verbose) {
      log(fmt::format(format, std::forward<Args>(args)...));
    }
  }
  // The seed's close line (verbose): "Connection with ADDRESS has been
  // closed", with " (REASON)" when it did not end by the peer's choice.
  void log_closed(const SocketAddress& peer, std::string_view reason);

 private:
  friend class ConnectionSlot;

  std::optional<AcceptedClient> accept_raw(int listener_fd);
  bool try_take_slot() noexcept;

  const ServerPolicy policy_;
  UniqueFd listener_;
  SocketAddress local_address_;
  ShutdownSignal& shutdown_;
  std::ostream& log_;
  std::mutex log_mutex_;
  AcceptThrottle throttle_;                       // one for all shards: see accept_paused_until
  std::atomic<bool> out_of_fds_reported_{false};  // relaxed: only dedupes a log line
  // relaxed everywhere: a counter checked against a limit; it guards no
  // other memory, and a momentary overshoot by racing acceptors is fine
  // (try_take_slot re-checks with a CAS).
  std::atomic<std::size_t> open_connections_{0};
};

template <class Admit>
std::optional<AcceptedClient> ServerContext::accept(int listener_fd, Admit&& admit) {
  std::optional<AcceptedClient> client = accept_raw(listener_fd);
  if (client && !admit(*client)) {
    refuse(std::move(client->fd));
    return std::nullopt;
  }
  if (client) {
    verbose("Connected to {}", client->peer.to_string());
  }
  return client;
}

}  // namespace pz
