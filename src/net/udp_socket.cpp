#include "pizzeria/net/udp_socket.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/fd_watch.hpp"

namespace pz {

struct UdpSocket::State {
  explicit State(UniqueFd socket)
      : fd(std::move(socket)), loop(&detail::current_loop("pz::UdpSocket")) {
    watch = loop->watch(fd.get(), Interest::none, [this](IoEvents events) { on_io(events); });
  }

  UniqueFd fd;
  EventLoop* loop;
  FdWatch watch;
  IoAwaiter* receiver = nullptr;
  IoAwaiter* sender = nullptr;

  void update_interest() {
    Interest interest = Interest::none;
    if (receiver != nullptr) {
      interest = interest | Interest::readable;
    }
    if (sender != nullptr) {
      interest = interest | Interest::writable;
    }
    watch.set_interest(interest);
  }

  void on_io(IoEvents events) {
    IoAwaiter* done_send = nullptr;
    IoAwaiter* done_recv = nullptr;
    if (sender != nullptr && (events.writable || events.error) && sender->attempt()) {
      done_send = std::exchange(sender, nullptr);
    }
    if (receiver != nullptr && (events.readable || events.error) && receiver->attempt()) {
      done_recv = std::exchange(receiver, nullptr);
    }
    update_interest();
    // Resuming may destroy the socket: at most one resumes here, the other
    // in a later callback.
    if (done_send != nullptr && done_recv != nullptr) {
      done_recv->complete_soon();
      done_send->complete_now();
    } else if (done_send != nullptr) {
      done_send->complete_now();
    } else if (done_recv != nullptr) {
      done_recv->complete_now();
    }
  }
};

UdpSocket::IoAwaiter::IoAwaiter(State* state, bool sending, std::string_view data,
                                const SocketAddress* to, std::size_t max) noexcept
    : Waiter(&IoAwaiter::undo),
      state_(state),
      sending_(sending),
      data_(data),
      to_(to != nullptr ? *to : SocketAddress()),
      max_(max) {}

UdpSocket::IoAwaiter::IoAwaiter(IoAwaiter&& other) noexcept
    : Waiter(std::move(other)),
      state_(other.state_),
      sending_(other.sending_),
      data_(other.data_),
      to_(other.to_),
      max_(other.max_) {}

UdpSocket::IoAwaiter::~IoAwaiter() {
  undo(*this);
}

EventLoop& UdpSocket::IoAwaiter::loop_of(State* state) noexcept {
  return *state->loop;
}

bool UdpSocket::IoAwaiter::attempt() {
  if (sending_) {
    const ssize_t n = ::sendto(state_->fd.get(), data_.data(), data_.size(),
                               MSG_NOSIGNAL | MSG_DONTWAIT, to_.data(), to_.size());
    if (n >= 0) {
      sent_ = static_cast<std::size_t>(n);
      return true;
    }
  } else {
    received_.data.resize(max_);
    sockaddr_storage from{};
    socklen_t length = sizeof(from);
    const ssize_t n =
        ::recvfrom(state_->fd.get(), received_.data.data(), max_, MSG_DONTWAIT | MSG_TRUNC,
                   reinterpret_cast<sockaddr*>(&from), &length);
    if (n >= 0) {
      const auto size = static_cast<std::size_t>(n);
      received_.truncated = size > max_;
      received_.data.resize(std::min(size, max_));
      received_.from = SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&from), length);
      return true;
    }
    received_.data.clear();
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return false;
  }
  error_ = errno;
  return true;
}

bool UdpSocket::IoAwaiter::await_ready() {
  if (!state_->fd) {
    throw std::logic_error("UdpSocket: use of a closed socket");
  }
  if ((sending_ ? state_->sender : state_->receiver) != nullptr) {
    throw std::logic_error(sending_ ? "UdpSocket: a send_to is already waiting"
                                    : "UdpSocket: a recv_from is already waiting");
  }
  return attempt();
}

void UdpSocket::IoAwaiter::start_waiting() {
  (sending_ ? state_->sender : state_->receiver) = this;
  state_->update_interest();
}

void UdpSocket::IoAwaiter::undo(detail::Waiter& waiter) noexcept {
  auto& self = static_cast<IoAwaiter&>(waiter);
  IoAwaiter*& slot = self.sending_ ? self.state_->sender : self.state_->receiver;
  if (slot == &self) {
    slot = nullptr;
    try {
      self.state_->update_interest();
    } catch (...) {
      // A later spurious event finds no waiter; nothing is lost.
    }
  }
}

void UdpSocket::IoAwaiter::check() const {
  throw_if_cancelled();
  if (error_ != 0) {
    throw std::system_error(error_, std::generic_category(),
                            sending_ ? "sendto " + to_.to_string() : std::string("recvfrom"));
  }
  if (!state_->fd) {
    throw std::logic_error("UdpSocket: closed while an operation was waiting");
  }
}

UdpSocket::UdpSocket() noexcept = default;
UdpSocket::UdpSocket(UdpSocket&& other) noexcept = default;
UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept = default;
UdpSocket::~UdpSocket() = default;

UdpSocket UdpSocket::bind(const SocketAddress& address) {
  UniqueFd fd(::socket(address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    throw std::system_error(errno, std::generic_category(), "socket for " + address.to_string());
  }
  if (::bind(fd.get(), address.data(), address.size()) != 0) {
    throw std::system_error(errno, std::generic_category(), "bind " + address.to_string());
  }
  UdpSocket socket;
  socket.state_ = std::make_unique<State>(std::move(fd));
  return socket;
}

SocketAddress UdpSocket::local_address() const {
  if (!state_ || !state_->fd) {
    throw std::logic_error("UdpSocket: local_address of a closed socket");
  }
  return SocketAddress::local_of(state_->fd.get());
}

UdpSocket::SendAwaiter UdpSocket::send_to(std::string_view data, const SocketAddress& to) {
  if (!state_) {
    throw std::logic_error("UdpSocket: send_to on an empty socket");
  }
  return SendAwaiter(state_.get(), true, data, &to, 0);
}

UdpSocket::RecvAwaiter UdpSocket::recv_from(std::size_t max) {
  if (!state_) {
    throw std::logic_error("UdpSocket: recv_from on an empty socket");
  }
  return RecvAwaiter(state_.get(), false, {}, nullptr, max);
}

void UdpSocket::close() noexcept {
  if (!state_ || !state_->fd) {
    return;
  }
  State& s = *state_;
  s.watch.reset();
  s.fd.reset();
  if (s.sender != nullptr) {
    std::exchange(s.sender, nullptr)->complete_soon();
  }
  if (s.receiver != nullptr) {
    std::exchange(s.receiver, nullptr)->complete_soon();
  }
}

}  // namespace pz
