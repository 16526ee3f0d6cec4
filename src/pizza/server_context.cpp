#include "pizzeria/pizza/server_context.hpp"

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
#include "pizzeria/pizza/protocol.hpp"

namespace pz::pizza {

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

ServerContext::ServerContext(const ServerOptions& options, UniqueFd listener,
                             ShutdownSignal& shutdown, std::ostream& log)
    : options_(options),
      listener_(std::move(listener)),
      local_address_(SocketAddress::local_of(listener_.get())),
      shutdown_(shutdown),
      log_(log),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
  set_non_blocking(listener_.get());
}

bool ServerContext::try_take_slot() noexcept {
  std::size_t open = open_connections_.load(std::memory_order_relaxed);
  do {
    if (open >= options_.max_connections) {
      return false;
    }
  } while (!open_connections_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  return true;
}

std::optional<AcceptedClient> ServerContext::accept_raw(int listener_fd) {
  if (listener_fd < 0) {
    return std::nullopt;
  }
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  UniqueFd fd(::accept4(listener_fd, reinterpret_cast<sockaddr*>(&storage), &length, SOCK_CLOEXEC));
  if (!fd) {
    const int error = errno;
    switch (error) {
      case EAGAIN:
      case EINTR:
      case ECONNABORTED:  // the client gave up while queued
      case EPROTO:
      case EPERM:  // a firewall rule refused it
        return std::nullopt;
      case ENOBUFS:
      case ENOMEM:  // the client stays queued, and the listener readable
        pause_accepts(error);
        return std::nullopt;
      case EMFILE:
      case ENFILE: {
        // Out of descriptors: free the spare, take the client, tell it we
        // are busy, and take the spare back. The client learns why at once
        // instead of hanging in the backlog while we spin on the listener.
        std::lock_guard lock(spare_mutex_);
        spare_fd_.reset();
        UniqueFd client(::accept4(listener_fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (client) {
          refuse(std::move(client));
        }
        spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (!out_of_fds_reported_.exchange(true, std::memory_order_relaxed)) {
          log("Out of file descriptors (" + std::string(error == ENFILE ? "ENFILE" : "EMFILE") +
              "): refusing new clients with the busy reply; raise `ulimit -n` or lower "
              "--max-connections");
        }
        return std::nullopt;
      }
      default:
        throw_errno("accept on " + local_address_.to_string());
    }
  }
  accepted_again();
  if (!try_take_slot()) {
    verbose("Refused a client: {} connections are open (--max-connections)",
            options_.max_connections);
    refuse(std::move(fd));
    return std::nullopt;
  }
  ConnectionSlot slot(this);
  try {
    set_tcp_no_delay(fd.get());
    SocketAddress peer =
        SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
    return AcceptedClient{std::move(fd), peer, std::move(slot)};
  } catch (const std::exception& error) {
    // The client vanished between accept and setup; nothing to serve.
    verbose("Dropped a client right after accept: {}", error.what());
    return std::nullopt;
  }
}

void ServerContext::pause_accepts(int error) {
  const auto now = std::chrono::steady_clock::now();
  std::chrono::milliseconds pause{};
  {
    std::lock_guard lock(pause_mutex_);
    if (accept_paused(now)) {
      return;  // another thread or shard started this pause
    }
    pause = std::chrono::milliseconds(next_accept_pause_ms_.load(std::memory_order_relaxed));
    next_accept_pause_ms_.store(std::min(2 * pause, kLastAcceptPause).count(),
                                std::memory_order_relaxed);
    accept_paused_until_.store((now + pause).time_since_epoch().count(), std::memory_order_relaxed);
  }
  const std::string reason = std::generic_category().message(error);
  const char* const name = error == ENOMEM ? "ENOMEM" : "ENOBUFS";
  const std::string line = fmt::format(
      "accept on {} failed: {} ({}), the kernel is short of memory; pausing accepts "
      "for {} ms",
      local_address_.to_string(), reason, name, pause.count());
  log(line);
}

void ServerContext::accepted_again() {
  // The common case (no pause since the last success) takes no lock.
  if (next_accept_pause_ms_.load(std::memory_order_relaxed) != kFirstAcceptPause.count()) {
    std::lock_guard lock(pause_mutex_);
    next_accept_pause_ms_.store(kFirstAcceptPause.count(), std::memory_order_relaxed);
  }
}

void ServerContext::refuse(UniqueFd fd) noexcept {
  const int socket = fd.get();
  (void)::send(socket, kBusyReply.data(), kBusyReply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
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

std::chrono::steady_clock::time_point ServerContext::close_by(
    std::chrono::steady_clock::time_point last_activity) const noexcept {
  auto limit = std::chrono::steady_clock::time_point::max();
  if (options_.idle_timeout.count() > 0) {
    limit = last_activity + options_.idle_timeout;
  }
  if (stopping()) {
    limit = std::min(limit, shutdown_deadline());
  }
  return limit;
}

void ServerContext::log(std::string_view line) {
  std::lock_guard lock(log_mutex_);
  // Flushed per line: a supervisor (or a test) reading our stdout through a
  // pipe must see the startup line before the first client arrives.
  log_ << line << '\n' << std::flush;
}

}  // namespace pz::pizza
