// pz::pizza::ServerContext: what the server framework hands a model, so that
// a model is only "how to wait": accepting with the connection limit and the
// busy reply, the shutdown signal and its deadline, shard listeners, logging.
//
// Thread safety: all members are safe from any thread (models with many
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
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/server_options.hpp"
#include "pizzeria/pizza/shutdown_signal.hpp"

namespace pz::pizza {

class ServerContext;

// One of the max_connections slots; gives it back when destroyed.
class ConnectionSlot {
 public:
  ConnectionSlot() noexcept = default;
  explicit ConnectionSlot(ServerContext* context) noexcept : context_(context) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : context_(std::exchange(other.context_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { release(); }
  void release() noexcept;

 private:
  ServerContext* context_ = nullptr;
};

// A client the limit admitted. fd is close-on-exec, blocking, TCP_NODELAY.
struct AcceptedClient {
  UniqueFd fd;
  SocketAddress peer;
  ConnectionSlot slot;
};

class ServerContext {
 public:
  // `listener` must be a listening socket; it is made non-blocking.
  ServerContext(const ServerOptions& options, UniqueFd listener, ShutdownSignal& shutdown,
                std::ostream& log);
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  [[nodiscard]] const ServerOptions& options() const noexcept { return options_; }
  // options().workers, or `fallback` when it is 0 ("let the model choose").
  [[nodiscard]] unsigned workers_or(unsigned fallback) const noexcept {
    return options_.workers == 0 ? fallback : options_.workers;
  }
  [[nodiscard]] int listener() const noexcept { return listener_.get(); }
  [[nodiscard]] const SocketAddress& local_address() const noexcept { return local_address_; }

  // Accepts one pending client from `listener_fd` (non-blocking: the
  // context's own listener, or a shard listener from open_shard_listener).
  // Returns nullopt when none is pending, when the accept failed harmlessly
  // (the client gave up, EINTR), and when the client was refused: over
  // max_connections, or out of file descriptors, it gets kBusyReply and is
  // closed. `admit` lets a model refuse for its own reason (select's
  // FD_SETSIZE): it returns false to send the busy reply.
  template <class Admit>
  std::optional<AcceptedClient> accept(int listener_fd, Admit&& admit);
  std::optional<AcceptedClient> accept(int listener_fd) {
    return accept(listener_fd, [](const AcceptedClient&) { return true; });
  }
  // From the context's own listener (nullopt once it is closed).
  std::optional<AcceptedClient> accept() { return accept(listener_.get()); }

  // Accept pauses. accept failing with ENOBUFS or ENOMEM means the kernel
  // is short of memory for a new socket: the client stays in the backlog and
  // the listener stays readable, so a model that simply waited again would
  // spin (a wakeup and a failing accept per iteration, a whole core) for as
  // long as the shortage lasts. Instead accept() starts a pause, logs it
  // (`accept on ADDRESS failed: Cannot allocate memory (ENOMEM), the kernel
  // is short of memory; pausing accepts for 10 ms`), and returns nullopt; a model then stops
  // watching its listener until accept_paused_until() and tries again. Pauses last
  // kFirstAcceptPause, double while accepts keep failing, up to kLastAcceptPause (so the log cannot
  // flood either), and start over after an accept succeeds.
  //
  // One pause per context, not per listener: the memory is short for the
  // whole kernel, not for one shard's socket, so all shards (and all threads
  // sharing the context) back off together instead of each probing and
  // logging on its own. A failure during a pause (a shard that had not yet
  // looked) neither lengthens it nor logs again. accept() itself does not
  // check the pause: honouring it is the model's part.
  static constexpr std::chrono::milliseconds kFirstAcceptPause{10};
  static constexpr std::chrono::milliseconds kLastAcceptPause{1000};
  // When accepting may resume; in the past (the clock's epoch if there never
  // was a pause) unless a pause is on.
  [[nodiscard]] std::chrono::steady_clock::time_point accept_paused_until() const noexcept {
    // relaxed: see accept_paused_until_.
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(accept_paused_until_.load(std::memory_order_relaxed)));
  }
  [[nodiscard]] bool accept_paused(std::chrono::steady_clock::time_point now) const noexcept {
    return now < accept_paused_until();
  }

  // Sends kBusyReply without blocking and closes: for clients a model cannot
  // take on (no thread could be started for it, ...).
  void refuse(UniqueFd fd) noexcept;

  // Stops accepting: closes the listener so new clients are refused by the
  // kernel instead of queueing in the backlog.
  void close_listener() noexcept { listener_.reset(); }

  // Another listening socket on the same address (SO_REUSEPORT), for models
  // that shard over --workers loops. Only valid when the model's
  // shards_with_reuseport is set (the framework then binds the first
  // listener with SO_REUSEPORT too).
  [[nodiscard]] UniqueFd open_shard_listener() const;

  [[nodiscard]] bool stopping() const noexcept { return shutdown_.requested(); }
  // The server's own "please stop", for a shard that failed: the others
  // drain and end, rather than serve on beside a dead listener.
  void request_shutdown() noexcept { shutdown_.request(); }
  [[nodiscard]] int shutdown_fd() const noexcept { return shutdown_.fd(); }
  // When connections still open after shutdown must be closed.
  [[nodiscard]] std::chrono::steady_clock::time_point shutdown_deadline() const noexcept {
    return shutdown_.requested_at() + options_.shutdown_timeout;
  }
  // The earliest instant a connection last active at `last_activity` must
  // be closed: idle timeout, or the shutdown deadline once stopping.
  [[nodiscard]] std::chrono::steady_clock::time_point close_by(
      std::chrono::steady_clock::time_point last_activity) const noexcept;

  [[nodiscard]] std::size_t open_connections() const noexcept {
    return open_connections_.load(std::memory_order_relaxed);
  }

  // A log line, always printed (startup, refusals a user must know about).
  void log(std::string_view line);
  // A per-connection line, printed only with --verbose.
  template <class... Args>
  void verbose(fmt::format_string<Args...> format, Args&&... args) {
    if (options_.verbose) {
      log(fmt::format(format, std::forward<Args>(args)...));
    }
  }

 private:
  friend class ConnectionSlot;

  std::optional<AcceptedClient> accept_raw(int listener_fd);
  bool try_take_slot() noexcept;
  void pause_accepts(int error);
  void accepted_again();

  const ServerOptions options_;
  UniqueFd listener_;
  SocketAddress local_address_;
  ShutdownSignal& shutdown_;
  std::ostream& log_;
  std::mutex log_mutex_;
  // An fd kept in reserve: when accept fails with EMFILE, closing it lets us
  // accept the client just to tell it we are busy (else the listener stays
  // readable and an event-driven model would spin on it).
  UniqueFd spare_fd_;
  std::mutex spare_mutex_;
  std::atomic<bool> out_of_fds_reported_{false};  // relaxed: only dedupes a log line
  // The current pause's end, as steady_clock ticks since its epoch (0: none
  // yet). Written under pause_mutex_, read anywhere. relaxed: a deadline read
  // on its own, which guards no other memory; a reader that sees a stale
  // value tries one accept early (which fails harmlessly inside the pause)
  // or waits out a pause that was just superseded.
  std::atomic<std::chrono::steady_clock::rep> accept_paused_until_{0};
  // The next pause's length in ms. Changed only under pause_mutex_ (failures
  // are rare, so a lock costs nothing); read without it by each successful
  // accept, relaxed, only to skip the lock when there is nothing to reset.
  std::atomic<std::chrono::milliseconds::rep> next_accept_pause_ms_{kFirstAcceptPause.count()};
  std::mutex pause_mutex_;
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
  return client;
}

}  // namespace pz::pizza
