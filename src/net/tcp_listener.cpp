#include "pizzeria/net/tcp_listener.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/fd_watch.hpp"
#include "pizzeria/core/timer_handle.hpp"
#include "pizzeria/net/accept_throttle.hpp"
#include "pizzeria/net/socket_ops.hpp"

namespace pz {

struct TcpListener::State {
  State(UniqueFd listening, ListenerOptions listener_options)
      : fd(std::move(listening)),
        options(listener_options),
        loop(&detail::current_loop("pz::TcpListener")),
        throttle(AcceptThrottleOptions{.first_pause = options.backoff_min,
                                       .last_pause = options.backoff_max,
                                       .keep_spare = false,
                                       .label = "fd " + std::to_string(fd.get()),
                                       .log = nullptr}) {
    set_non_blocking(fd.get());
    watch = loop->watch(fd.get(), Interest::none, [this](IoEvents /*events*/) { on_readable(); });
  }
  ~State() { retry.cancel(); }

  UniqueFd fd;
  ListenerOptions options;
  EventLoop* loop;
  FdWatch watch;
  TimerHandle retry;  // armed while the throttle pauses accepts
  AcceptThrottle throttle;
  AcceptAwaiter* waiter = nullptr;
  bool closed = false;

  enum class Outcome { accepted, again, failed, backing_off };

  // One accept through the throttle (pz::AcceptThrottle: the back-off every
  // server shares). Fills `accepted` or `error`.
  Outcome try_accept(UniqueFd& accepted, int& error) {
    if (retry.pending()) {
      return Outcome::backing_off;
    }
    for (;;) {
      AcceptThrottle::Result result;
      try {
        result = throttle.accept(fd.get(), loop->time(), SOCK_NONBLOCK);
      } catch (const std::system_error& failure) {
        error = failure.code().value();
        return Outcome::failed;
      }
      switch (result.outcome) {
        case AcceptThrottle::Outcome::accepted:
          accepted = std::move(result.client);
          if (options.tcp_no_delay) {
            try {
              set_tcp_no_delay(accepted.get());
            } catch (const std::system_error&) {
              // Not a TCP socket after all (a test's AF_UNIX listener): harmless.
            }
          }
          return Outcome::accepted;
        case AcceptThrottle::Outcome::none:
          if (result.error == EAGAIN || result.error == EWOULDBLOCK) {
            return Outcome::again;
          }
          continue;  // that client is gone; the next may be fine
        case AcceptThrottle::Outcome::refuse:
          continue;  // not kept by a plain listener (keep_spare is off)
        case AcceptThrottle::Outcome::paused:
          wait_out_pause();
          return Outcome::backing_off;
      }
    }
  }

  // Stops watching the socket (it stays readable while the client waits in
  // the backlog) until the throttle's pause ends.
  void wait_out_pause() {
    watch.set_interest(Interest::none);
    retry = loop->call_later(throttle.paused_until() - loop->time(), [this] { on_readable(); });
  }

  void on_readable() {
    if (waiter == nullptr) {
      watch.set_interest(Interest::none);
      return;
    }
    UniqueFd accepted;
    int error = 0;
    switch (try_accept(accepted, error)) {
      case Outcome::again:
        watch.set_interest(Interest::readable);
        return;
      case Outcome::backing_off:
        return;
      case Outcome::accepted:
      case Outcome::failed:
        break;
    }
    watch.set_interest(Interest::none);
    AcceptAwaiter* done = std::exchange(waiter, nullptr);
    done->accepted_ = std::move(accepted);
    done->error_ = error;
    done->complete_now();
  }
};

TcpListener::AcceptAwaiter::AcceptAwaiter(State* state) noexcept
    : Waiter(&AcceptAwaiter::undo), state_(state) {}
TcpListener::AcceptAwaiter::AcceptAwaiter(AcceptAwaiter&& other) noexcept
    : Waiter(std::move(other)), state_(other.state_) {}
TcpListener::AcceptAwaiter::~AcceptAwaiter() {
  if (state_->waiter == this) {
    state_->waiter = nullptr;
    try {
      state_->watch.set_interest(Interest::none);
    } catch (...) {
      // A spurious wake-up later finds no waiter and drops the interest.
    }
  }
}

EventLoop& TcpListener::AcceptAwaiter::loop_of(State* state) noexcept {
  return *state->loop;
}

bool TcpListener::AcceptAwaiter::await_ready() {
  if (state_->closed) {
    throw std::logic_error("TcpListener: accept on a closed listener");
  }
  if (state_->waiter != nullptr) {
    throw std::logic_error("TcpListener: an accept is already waiting on this listener");
  }
  return state_->try_accept(accepted_, error_) == State::Outcome::accepted || error_ != 0;
}

void TcpListener::AcceptAwaiter::start_waiting() {
  state_->waiter = this;
  if (!state_->retry.pending()) {
    state_->watch.set_interest(Interest::readable);
  }
}

void TcpListener::AcceptAwaiter::undo(detail::Waiter& waiter) noexcept {
  auto& self = static_cast<AcceptAwaiter&>(waiter);
  if (self.state_->waiter == &self) {
    self.state_->waiter = nullptr;
    try {
      self.state_->watch.set_interest(Interest::none);
    } catch (...) {
      // epoll_ctl failing here would leave a spurious wake-up, handled by
      // on_readable() seeing no waiter.
    }
  }
}

TcpStream TcpListener::AcceptAwaiter::await_resume() {
  throw_if_cancelled();
  if (error_ != 0) {
    throw std::system_error(error_, std::generic_category(),
                            "accept on fd " + std::to_string(state_->fd.get()));
  }
  if (!accepted_) {
    throw std::logic_error("TcpListener: closed while an accept was waiting");
  }
  return TcpStream(std::move(accepted_), state_->options.stream);
}

TcpListener::TcpListener() noexcept = default;
TcpListener::TcpListener(UniqueFd listening, ListenerOptions options)
    : state_(std::make_unique<State>(std::move(listening), options)) {}
TcpListener::TcpListener(TcpListener&& other) noexcept = default;
TcpListener& TcpListener::operator=(TcpListener&& other) noexcept = default;
TcpListener::~TcpListener() = default;

TcpListener TcpListener::bind(const SocketAddress& address, ListenerOptions options) {
  options.listen.non_blocking = true;
  return TcpListener(open_listen_socket(address, options.listen), options);
}

SocketAddress TcpListener::local_address() const {
  if (!state_ || state_->closed) {
    throw std::logic_error("TcpListener: local_address of a closed listener");
  }
  return SocketAddress::local_of(state_->fd.get());
}

int TcpListener::fd() const noexcept {
  return state_ ? state_->fd.get() : -1;
}
std::uint64_t TcpListener::backoff_count() const noexcept {
  return state_ ? state_->throttle.pauses() : 0;
}

TcpListener::AcceptAwaiter TcpListener::accept() {
  if (!state_) {
    throw std::logic_error("TcpListener: accept on an empty listener");
  }
  return AcceptAwaiter(state_.get());
}

void TcpListener::close() noexcept {
  if (!state_ || state_->closed) {
    return;
  }
  State& s = *state_;
  s.closed = true;
  s.retry.cancel();
  s.watch.reset();
  s.fd.reset();
  if (s.waiter != nullptr) {
    std::exchange(s.waiter, nullptr)->complete_soon();
  }
}

}  // namespace pz
