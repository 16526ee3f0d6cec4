#include "pizzeria/server/server_context.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <system_error>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/socket_ops.hpp"

namespace pz {

namespace {

ServerPolicy clamped(ServerPolicy policy) {
  policy.idle_timeout = std::min(policy.idle_timeout, ServerPolicy::kMaxTimeout);
  policy.shutdown_timeout = std::min(policy.shutdown_timeout, ServerPolicy::kMaxTimeout);
  policy.request_timeout = std::min(policy.request_timeout, ServerPolicy::kMaxTimeout);
  return policy;
}

}  // namespace

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

void ConnectionSlot::release() noexcept {
  if (context_ != nullptr) {
    // relaxed: see open_connections_.
    context_->open_connections_.fetch_sub(1, std::memory_order_relaxed);
    context_ = nullptr;
  }
}

ServerContext::ServerContext(const ServerPolicy& policy, UniqueFd listener,
                             ShutdownSignal& shutdown, std::ostream& log)
    : policy_(clamped(policy)),
      listener_(std::move(listener)),
      local_address_(SocketAddress::local_of(listener_.get())),
      shutdown_(shutdown),
      log_(log),
      throttle_(AcceptThrottleOptions{.first_pause = kFirstAcceptPause,
                                      .last_pause = kLastAcceptPause,
                                      .keep_spare = true,
                                      .label = local_address_.to_string(),
                                      .log = [this](std::string_view line) { this->log(line); }}) {
  set_non_blocking(listener_.get());
}

bool ServerContext::try_take_slot() noexcept {
  std::size_t open = open_connections_.load(std::memory_order_relaxed);
  do {
    if (open >= policy_.max_connections) {
      return false;
    }
  } while (!open_connections_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return true;
}

std::optional<AcceptedClient> ServerContext::accept_raw(int listener_fd) {
  if (listener_fd < 0) {
    return std::nullopt;
  }
  AcceptThrottle::Result result =
      throttle_.accept(listener_fd, std::chrono::time_point_cast<Duration>(Clock::now()));
  switch (result.outcome) {
    case AcceptThrottle::Outcome::none:
    case AcceptThrottle::Outcome::paused:
      return std::nullopt;
    case AcceptThrottle::Outcome::refuse:
      // Out of descriptors: the throttle took the client with its spare
      // descriptor, so it learns why at once instead of hanging in the
      // backlog.
      refuse(std::move(result.client));
      if (!out_of_fds_reported_.exchange(true, std::memory_order_relaxed)) {
        log("Out of file descriptors (" +
            std::string(result.error == ENFILE ? "ENFILE" : "EMFILE") +
            "): refusing new clients with the busy reply; raise `ulimit -n` or lower "
            "--max-connections");
      }
      return std::nullopt;
    case AcceptThrottle::Outcome::accepted:
      break;
  }
  UniqueFd fd = std::move(result.client);
  if (!try_take_slot()) {
    verbose("Refused a client: {} connections are open (--max-connections)",
            policy_.max_connections);
    refuse(std::move(fd));
    return std::nullopt;
  }
  ConnectionSlot slot(this);
  try {
    set_tcp_no_delay(fd.get());
    SocketAddress peer = SocketAddress::from_sockaddr(
        reinterpret_cast<const sockaddr*>(&result.peer), result.peer_length);
    return AcceptedClient{std::move(fd), peer, std::move(slot)};
  } catch (const std::exception& error) {
    // The client vanished between accept and setup; nothing to serve.
    verbose("Dropped a client right after accept: {}", error.what());
    return std::nullopt;
  }
}

void ServerContext::refuse(UniqueFd fd) noexcept {
  const int socket = fd.get();
  if (!policy_.busy_reply.empty()) {
    (void)::send(socket, policy_.busy_reply.data(), policy_.busy_reply.size(),
                 MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::shutdown(socket, SHUT_WR);
  // Read what the client already sent: closing with unread bytes makes the
  // kernel send a reset, which can destroy the busy reply before the client
  // reads it.
  std::array<char, 4096> discard{};
  for (int i = 0; i < 16; ++i) {
    if (::recv(socket, discard.data(), discard.size(), MSG_DONTWAIT) <= 0) {
      break;
    }
  }
}

UniqueFd ServerContext::open_shard_listener() const {
  // A listener handed in (systemd socket activation) was bound without
  // SO_REUSEPORT, so no second socket can bind its address: the shards then
  // share it through their own descriptor of it. Each accept is
  // non-blocking, so a shard that loses the race for a connection just gets
  // EAGAIN and waits again.
  int reuse_port = 0;
  socklen_t length = sizeof reuse_port;
  if (::getsockopt(listener_.get(), SOL_SOCKET, SO_REUSEPORT, &reuse_port, &length) == 0 &&
      reuse_port == 0) {
    UniqueFd shared(::fcntl(listener_.get(), F_DUPFD_CLOEXEC, 0));
    if (!shared) {
      throw_errno("sharing the listener with a shard");
    }
    return shared;
  }
  return open_listen_socket(local_address_,
                            ListenOptions{.reuse_port = true, .non_blocking = true});
}

ServerContext::Clock::time_point ServerContext::close_by(Clock::time_point last_activity,
                                                         Clock::time_point request_since,
                                                         bool waiting_for_reader) const noexcept {
  auto limit = Clock::time_point::max();
  if (policy_.idle_timeout.count() > 0 && !waiting_for_reader) {
    limit = last_activity + policy_.idle_timeout;
  }
  limit = std::min(limit, request_deadline(request_since));
  if (stopping()) {
    limit = std::min(limit, shutdown_deadline());
  }
  return limit;
}

ServerContext::Clock::time_point ServerContext::request_deadline(
    Clock::time_point request_since) const noexcept {
  if (policy_.request_timeout.count() <= 0 || request_since == Clock::time_point::max()) {
    return Clock::time_point::max();
  }
  return request_since + policy_.request_timeout;
}

std::string_view ServerContext::expired(Clock::time_point last_activity,
                                        Clock::time_point request_since, bool waiting_for_reader,
                                        Clock::time_point now) const noexcept {
  if (now < close_by(last_activity, request_since, waiting_for_reader)) {
    return {};
  }
  if (stopping() && now >= shutdown_deadline()) {
    return "shutdown deadline";
  }
  return now >= request_deadline(request_since) ? "request timeout" : "idle timeout";
}

void ServerContext::log(std::string_view line) {
  std::lock_guard lock(log_mutex_);
  // Flushed per line: a supervisor (or a test) reading our stdout through a
  // pipe must see the startup line before the first client arrives.
  log_ << line << '\n' << std::flush;
}

void ServerContext::log_closed(const SocketAddress& peer, std::string_view reason) {
  if (!policy_.verbose) {
    return;
  }
  if (reason.empty()) {
    log(fmt::format("Connection with {} has been closed", peer.to_string()));
  } else {
    log(fmt::format("Connection with {} has been closed ({})", peer.to_string(), reason));
  }
}

}  // namespace pz
