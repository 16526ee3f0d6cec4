// pz::TcpListener: a listening TCP socket whose accept() is awaited.
//
//   pz::TcpListener listener = pz::TcpListener::bind(pz::SocketAddress::parse("127.0.0.1", 0));
//   std::uint16_t port = listener.port();   // the ephemeral port the kernel chose
//   pz::TcpStream client = co_await listener.accept();
//
// Running out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS,
// ENOMEM) does not spin the loop: the listener stops watching its socket,
// reports once on stderr, and retries after a back-off that doubles from
// `backoff_min` to `backoff_max` (on the loop's clock), while the loop keeps
// serving the connections already open. Pending clients wait in the kernel's
// backlog meanwhile. Connection errors the kernel reports through accept
// (ECONNABORTED, EPROTO...) are skipped.
//
// One accept may wait at a time. Cancellable. Thread safety: loop thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/coro/detail/waiter.hpp"
#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace pz {

struct ListenerOptions {
  ListenOptions listen;
  StreamOptions stream;  // for the accepted streams
  Duration backoff_min = std::chrono::milliseconds(10);
  Duration backoff_max = std::chrono::seconds(1);
  bool tcp_no_delay = true;  // on accepted sockets
};

class TcpListener {
  struct State;

 public:
  TcpListener() noexcept;
  // Opens, binds and listens (pz::open_listen_socket); port 0 picks a free one.
  [[nodiscard]] static TcpListener bind(const SocketAddress& address, ListenerOptions options = {});
  // Adopts a socket that already listens (one shard's SO_REUSEPORT socket).
  explicit TcpListener(UniqueFd listening, ListenerOptions options = {});
  TcpListener(TcpListener&& other) noexcept;
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  [[nodiscard]] SocketAddress local_address() const;
  [[nodiscard]] std::uint16_t port() const { return local_address().port(); }
  [[nodiscard]] int fd() const noexcept;

  // Times accept() backed off after running out of descriptors (for tests
  // and metrics).
  [[nodiscard]] std::uint64_t backoff_count() const noexcept;

  class [[nodiscard]] AcceptAwaiter : private detail::Waiter {
   public:
    explicit AcceptAwaiter(State* state) noexcept;
    AcceptAwaiter(AcceptAwaiter&& other) noexcept;
    AcceptAwaiter(const AcceptAwaiter&) = delete;
    AcceptAwaiter& operator=(const AcceptAwaiter&) = delete;
    ~AcceptAwaiter();

    bool await_ready();
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, loop_of(state_))) {
        return false;
      }
      start_waiting();
      return true;
    }
    TcpStream await_resume();

   private:
    friend struct State;
    friend class TcpListener;
    static void undo(detail::Waiter& waiter) noexcept;
    static EventLoop& loop_of(State* state) noexcept;
    void start_waiting();

    State* state_;
    UniqueFd accepted_;
    int error_ = 0;
  };

  AcceptAwaiter accept();

  // Stops listening; a waiting accept raises.
  void close() noexcept;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace pz
