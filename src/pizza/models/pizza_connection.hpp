// pz::pizza::PizzaConnection (private to the pizza layer): one client's socket
// plus its OrderSession, driven by readiness. The waiting-based models
// (threads, pool, polling, select, poll) share it, so they differ only in
// how they wait, as docs/pizza-service.md promises.
//
// Thread safety: none; one owner at a time.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>

#include "pizzeria/pizza/order_session.hpp"
#include "pizzeria/pizza/server_context.hpp"

namespace pz::pizza {

class PizzaConnection {
 public:
  using Clock = std::chrono::steady_clock;

  PizzaConnection(AcceptedClient client, int max_order, Clock::time_point now)
      : client_(std::move(client)), session_(max_order), last_activity_(now) {}

  [[nodiscard]] int fd() const noexcept { return client_.fd.get(); }
  [[nodiscard]] const SocketAddress& peer() const noexcept { return client_.peer; }

  // Interest to wait for. Never both false while !done().
  [[nodiscard]] bool wants_read() const noexcept { return !input_done_ && session_.wants_input(); }
  [[nodiscard]] bool wants_write() const noexcept { return session_.has_pending_output(); }
  // Closed by the peer and fully answered, or failed (reset, ...).
  [[nodiscard]] bool done() const noexcept {
    return failed_ || (input_done_ && !session_.has_pending_output());
  }
  [[nodiscard]] Clock::time_point last_activity() const noexcept { return last_activity_; }
  // When the request in progress began (the read that brought the first
  // byte of the unfinished line), or when its replies began to wait for the
  // client to read them, whichever is earlier; max() when neither.
  [[nodiscard]] Clock::time_point request_since() const noexcept {
    return std::min(line_started_, blocked_since_);
  }
  [[nodiscard]] bool waiting_for_reader() const noexcept {
    return blocked_since_ != Clock::time_point::max();
  }
  // When the context's policy says this connection must be closed.
  [[nodiscard]] Clock::time_point close_by(const ServerContext& context) const noexcept {
    return context.close_by(last_activity_, request_since(), waiting_for_reader());
  }
  // The last read filled its whole chunk, so the kernel may hold more: an
  // edge-triggered owner must ask to hear about it again.
  [[nodiscard]] bool read_a_full_chunk() const noexcept { return read_full_chunk_; }

  // Does the I/O the socket allows, without blocking. `readable` says the
  // waiter saw input readiness (the polling model passes true always). Once
  // `stopping`, it reads whatever the kernel already holds, answers every
  // complete order in it, and then stops reading for good: an unterminated
  // line is not a complete order and the peer has not ended its stream.
  // Returns true when bytes moved (read, written, or end of stream seen).
  // A drain reads at most kDrainChunksPerCall chunks per call (what the
  // kernel's default receive buffer holds), so a client sending without end
  // cannot keep service() from returning; the owner calls again until the
  // drain is done or its shutdown deadline passes.
  bool service(bool readable, bool stopping, Clock::time_point now);
  static constexpr int kDrainChunksPerCall = 32;

  // Why the connection ends, for the verbose close line ("" = peer closed).
  [[nodiscard]] const std::string& failure() const noexcept { return failure_; }

  // Logs the seed's close line (verbose only) and closes the socket.
  void close(ServerContext& context, std::string_view reason = {});

  // The close policy every waiting-based model applies after its I/O: a
  // connection that is done, or expired (idle timeout, shutdown deadline:
  // ServerContext::expired), is closed here. True when it was.
  bool close_if_over(ServerContext& context, Clock::time_point now) {
    if (done()) {
      close(context);
      return true;
    }
    if (const std::string_view why = expired(context, now); !why.empty()) {
      close(context, why);
      return true;
    }
    return false;
  }
  // Why the context's policy closes this connection at `now` ("idle
  // timeout", "request timeout", "shutdown deadline"), or empty.
  [[nodiscard]] std::string_view expired(const ServerContext& context,
                                         Clock::time_point now) const noexcept {
    return context.expired(last_activity_, request_since(), waiting_for_reader(), now);
  }

 private:
  // Both return true when they moved bytes (or saw the end of the stream).
  bool read(bool stopping, Clock::time_point now);
  bool write(Clock::time_point now);
  void fail(std::string_view what, int error);

  AcceptedClient client_;
  OrderSession session_;
  Clock::time_point last_activity_;
  Clock::time_point line_started_ = Clock::time_point::max();
  Clock::time_point blocked_since_ = Clock::time_point::max();
  bool input_done_ = false;
  bool failed_ = false;
  bool read_full_chunk_ = false;
  std::string failure_;
};

// Milliseconds from now until `deadline`, rounded up, for poll(2): -1 for
// "no deadline", 0 when already past.
[[nodiscard]] int poll_timeout_ms(PizzaConnection::Clock::time_point deadline,
                                  PizzaConnection::Clock::time_point now) noexcept;

}  // namespace pz::pizza
