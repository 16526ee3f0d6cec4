#include "pizza/models/pizza_connection.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>

namespace pz::pizza {

bool PizzaConnection::service(bool readable, bool stopping, Clock::time_point now) {
  bool progress = false;
  read_full_chunk_ = false;  // about this call's read only, if it reads
  if (wants_read() && (readable || stopping)) {
    progress = read(stopping, now);
  }
  if (!failed_ && wants_write()) {
    progress = write(now) || progress;
  }
  return progress;
}

bool PizzaConnection::read(bool stopping, Clock::time_point now) {
  std::array<char, OrderSession::kReadChunk> buffer;
  bool progress = false;
  // Draining for shutdown reads until the kernel has nothing more, but a
  // client that keeps sending would keep it from ever being empty: after
  // kDrainChunksPerCall the call returns, so the model gets back to its
  // wait and its shutdown deadline (and, single-threaded, its other
  // clients); the next call drains on.
  int drain_budget = kDrainChunksPerCall;
  while (wants_read()) {
    if (stopping && drain_budget-- == 0) {
      read_full_chunk_ = true;  // more may wait: an edge-triggered owner must ask again
      return progress;
    }
    const ssize_t received = ::recv(fd(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    read_full_chunk_ = received == static_cast<ssize_t>(buffer.size());
    if (received > 0) {
      const std::size_t answered = session_.orders_answered();
      const bool was_in_line = session_.in_line();
      session_.on_input(std::string_view(buffer.data(), static_cast<std::size_t>(received)));
      last_activity_ = now;
      // The request deadline runs from the first byte of a line: a new
      // line started in this read (after a finished one, or after none).
      if (!session_.in_line()) {
        line_started_ = Clock::time_point::max();
      } else if (!was_in_line || session_.orders_answered() != answered) {
        line_started_ = now;
      }
      progress = true;
      if (!stopping) {
        // One chunk per wakeup: a client that pipelines without pause must
        // not starve the others in a single-threaded model.
        return true;
      }
      // Draining for shutdown: send as we go, so backpressure cannot stop
      // the drain while the peer reads.
      write(now);
      if (failed_) {
        return true;
      }
      continue;
    }
    if (received == 0) {
      session_.on_end_of_input();
      input_done_ = true;
      return true;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (stopping) {
        input_done_ = true;  // everything already received has been read
      }
      return progress;
    }
    fail("recv", errno);
    return true;
  }
  return progress;
}

bool PizzaConnection::write(Clock::time_point now) {
  bool progress = false;
  while (session_.has_pending_output()) {
    const std::string_view pending = session_.pending_output();
    // MSG_NOSIGNAL: a peer that already closed must give us EPIPE, not a
    // process-killing SIGPIPE (the app also ignores SIGPIPE; tests may not).
    const ssize_t sent = ::send(fd(), pending.data(), pending.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      session_.consume_output(static_cast<std::size_t>(sent));
      last_activity_ = now;
      progress = true;
      continue;
    }
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Replies wait for the client to read: from now on that counts
      // against the request deadline, not as idleness.
      if (blocked_since_ == Clock::time_point::max()) {
        blocked_since_ = now;
      }
      return progress;
    }
    fail("send", sent < 0 ? errno : EPIPE);
    return true;
  }
  blocked_since_ = Clock::time_point::max();  // every reply handed to the kernel
  return progress;
}

void PizzaConnection::fail(std::string_view what, int error) {
  failed_ = true;
  failure_ = std::string(what) + ": " + std::strerror(error);
}

void PizzaConnection::close(ServerContext& context, std::string_view reason) {
  if (reason.empty()) {
    reason = failure_;
  }
  context.log_closed(peer(), reason);
  // Slot first: once the peer sees our FIN, a new client must find the slot
  // free (tests rely on it, and so would a client that reconnects at once).
  client_.slot.release();
  client_.fd.reset();
}

int poll_timeout_ms(PizzaConnection::Clock::time_point deadline,
                    PizzaConnection::Clock::time_point now) noexcept {
  if (deadline == PizzaConnection::Clock::time_point::max()) {
    return -1;
  }
  if (deadline <= now) {
    return 0;
  }
  const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
  return remaining > INT_MAX ? INT_MAX : static_cast<int>(remaining);
}

}  // namespace pz::pizza
