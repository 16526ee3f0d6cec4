#include "pizzeria/net/open_connection.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/fd_watch.hpp"
#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/net/socket_ops.hpp"

namespace pz {

namespace {

// What the resolver thread and the awaiting task share. `mutex` orders the
// thread's post against the awaiter abandoning the lookup: once `abandoned`
// is set, the thread never touches the loop (which may be gone by then).
struct Lookup {
  std::mutex mutex;
  bool abandoned = false;
  EventLoop* loop = nullptr;
  // Written by the resolver thread before the post, read on the loop thread
  // after it: the mutex and the loop's queue order the two.
  std::vector<SocketAddress> addresses;
  std::string error;
  class ResolveAwaiter* waiter = nullptr;  // loop thread only
};

class ResolveAwaiter : private detail::Waiter {
 public:
  ResolveAwaiter(std::string host, std::uint16_t port)
      : Waiter(&ResolveAwaiter::undo), host_(std::move(host)), port_(port) {}
  ResolveAwaiter(const ResolveAwaiter&) = delete;
  ResolveAwaiter& operator=(const ResolveAwaiter&) = delete;
  ~ResolveAwaiter() { abandon(); }

  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    EventLoop& loop = detail::current_loop("pz::resolve");
    if (!arm(handle, loop)) {
      return false;
    }
    lookup_ = std::make_shared<Lookup>();
    lookup_->loop = &loop;
    lookup_->waiter = this;
    std::thread(&ResolveAwaiter::run_lookup, lookup_, host_, port_).detach();
    return true;
  }
  std::vector<SocketAddress> await_resume() {
    throw_if_cancelled();
    if (!lookup_->error.empty()) {
      throw std::runtime_error(lookup_->error);
    }
    return std::move(lookup_->addresses);
  }

 private:
  static void run_lookup(std::shared_ptr<Lookup> lookup, std::string host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    std::vector<SocketAddress> addresses;
    std::string error;
    if (status != 0) {
      error = "resolve " + host + ": " + ::gai_strerror(status);
    } else {
      for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
        try {
          addresses.push_back(SocketAddress::from_sockaddr(entry->ai_addr, entry->ai_addrlen));
        } catch (const std::invalid_argument&) {
          // A family we do not speak; skip it.
        }
      }
      ::freeaddrinfo(found);
      if (addresses.empty()) {
        error = "resolve " + host + ": no IPv4 or IPv6 address";
      }
    }
    std::lock_guard lock(lookup->mutex);
    if (lookup->abandoned) {
      return;
    }
    lookup->addresses = std::move(addresses);
    lookup->error = std::move(error);
    lookup->loop->call_soon_threadsafe([lookup] {
      // On the loop thread: the awaiter may have been cancelled meanwhile.
      if (lookup->waiter != nullptr) {
        std::exchange(lookup->waiter, nullptr)->complete_now();
      }
    });
  }

  void abandon() noexcept {
    if (lookup_) {
      lookup_->waiter = nullptr;
      std::lock_guard lock(lookup_->mutex);
      lookup_->abandoned = true;
    }
  }

  static void undo(detail::Waiter& waiter) noexcept {
    static_cast<ResolveAwaiter&>(waiter).abandon();
  }

  std::string host_;
  std::uint16_t port_;
  std::shared_ptr<Lookup> lookup_;
};

// Waits for a non-blocking connect() to finish (the socket turns writable).
class ConnectAwaiter : private detail::Waiter {
 public:
  explicit ConnectAwaiter(int fd) : Waiter(&ConnectAwaiter::undo), fd_(fd) {}
  ConnectAwaiter(const ConnectAwaiter&) = delete;
  ConnectAwaiter& operator=(const ConnectAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  template <typename Promise>
  bool await_suspend(std::coroutine_handle<Promise> handle) {
    EventLoop& loop = detail::current_loop("pz::open_connection");
    if (!arm(handle, loop)) {
      return false;
    }
    watch_ = loop.watch(fd_, Interest::writable, [this](IoEvents /*events*/) {
      watch_.reset();
      complete_now();
    });
    return true;
  }
  // The connect's outcome (0 or an errno).
  int await_resume() {
    watch_.reset();
    throw_if_cancelled();
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
      return errno;
    }
    return error;
  }

 private:
  static void undo(detail::Waiter& waiter) noexcept {
    static_cast<ConnectAwaiter&>(waiter).watch_.reset();
  }

  int fd_;
  FdWatch watch_;
};

// One attempt; returns the socket or sets `error`.
Task<UniqueFd> try_connect(SocketAddress address, int& error) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = errno;
    co_return UniqueFd();
  }
  if (::connect(fd.get(), address.data(), address.size()) == 0) {
    co_return fd;
  }
  if (errno != EINPROGRESS && errno != EINTR) {
    error = errno;
    co_return UniqueFd();
  }
  error = co_await ConnectAwaiter(fd.get());
  if (error != 0) {
    co_return UniqueFd();
  }
  co_return fd;
}

TcpStream make_stream(UniqueFd fd, StreamOptions options) {
  try {
    set_tcp_no_delay(fd.get());
  } catch (const std::system_error&) {
    // Only an optimisation for request/response traffic.
  }
  return TcpStream(std::move(fd), options);
}

}  // namespace

Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port) {
  try {
    co_return std::vector<SocketAddress>{SocketAddress::parse(host, port)};
  } catch (const std::invalid_argument&) {
    // Not numeric: ask the resolver.
  }
  co_return co_await ResolveAwaiter(host, port);
}

Task<std::vector<SocketAddress>> resolve_with_getaddrinfo(std::string host, std::uint16_t port) {
  co_return co_await ResolveAwaiter(std::move(host), port);
}

Task<TcpStream> open_connection(std::string host, std::uint16_t port, StreamOptions options) {
  std::vector<SocketAddress> addresses = co_await resolve(host, port);
  int error = 0;
  std::string tried;
  for (const SocketAddress& address : addresses) {
    UniqueFd fd = co_await try_connect(address, error);
    if (fd) {
      co_return make_stream(std::move(fd), options);
    }
    tried = address.to_string();
  }
  throw std::system_error(error, std::generic_category(), "connect " + host + " (" + tried + ")");
}

Task<TcpStream> open_connection(SocketAddress address, StreamOptions options) {
  int error = 0;
  UniqueFd fd = co_await try_connect(address, error);
  if (!fd) {
    throw std::system_error(error, std::generic_category(), "connect " + address.to_string());
  }
  co_return make_stream(std::move(fd), options);
}

}  // namespace pz
