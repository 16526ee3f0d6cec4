// pz::UdpSocket: a datagram socket with awaited send_to / recv_from (the
// streams-style counterpart of asyncio's DatagramProtocol).
//
//   pz::UdpSocket socket = pz::UdpSocket::bind(pz::SocketAddress::parse("127.0.0.1", 0));
//   pz::Datagram request = co_await socket.recv_from();
//   co_await socket.send_to(reply, request.from);
//
// Each call tries the system call first and suspends only on EAGAIN. A
// datagram longer than recv_from's `max` is truncated (and reported as such).
// One receive and one send may wait at a time. Cancellable.
//
// Thread safety: loop thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/net/socket_address.hpp"

namespace pz {

struct Datagram {
  std::string data;
  SocketAddress from;
  bool truncated = false;  // the datagram was longer than the buffer
};

class UdpSocket {
  struct State;

 public:
  UdpSocket() noexcept;
  // A socket bound to `address` (port 0: the kernel picks one).
  [[nodiscard]] static UdpSocket bind(const SocketAddress& address);
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket();

  [[nodiscard]] SocketAddress local_address() const;
  [[nodiscard]] std::uint16_t port() const { return local_address().port(); }

  class [[nodiscard]] IoAwaiter : private detail::Waiter {
   public:
    IoAwaiter(State* state, bool sending, std::string_view data, const SocketAddress* to,
              std::size_t max) noexcept;
    IoAwaiter(IoAwaiter&& other) noexcept;
    IoAwaiter(const IoAwaiter&) = delete;
    IoAwaiter& operator=(const IoAwaiter&) = delete;
    ~IoAwaiter();

    bool await_ready();
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, loop_of(state_))) {
        return false;
      }
      start_waiting();
      return true;
    }

   protected:
    friend struct State;
    friend class UdpSocket;
    static void undo(detail::Waiter& waiter) noexcept;
    static EventLoop& loop_of(State* state) noexcept;
    void start_waiting();
    bool attempt();  // one syscall; false on EAGAIN
    void check() const;

    State* state_;
    bool sending_;
    std::string_view data_;
    SocketAddress to_;
    std::size_t max_;
    Datagram received_;
    std::size_t sent_ = 0;
    int error_ = 0;
  };

  struct SendAwaiter : IoAwaiter {
    using IoAwaiter::IoAwaiter;
    std::size_t await_resume() {
      check();
      return sent_;
    }
  };
  struct RecvAwaiter : IoAwaiter {
    using IoAwaiter::IoAwaiter;
    Datagram await_resume() {
      check();
      return std::move(received_);
    }
  };

  // `data` must stay valid until the await completes.
  SendAwaiter send_to(std::string_view data, const SocketAddress& to);
  RecvAwaiter recv_from(std::size_t max = 65536);

  void close() noexcept;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace pz
