// pz::TcpStream: a connected TCP socket as a pair of byte streams, read by
// awaiting and written without blocking (asyncio's StreamReader and
// StreamWriter in one object).
//
//   pz::TcpStream stream = co_await pz::open_connection("127.0.0.1", 12345);
//   stream.write("10\n");
//   co_await stream.drain();                       // back-pressure
//   std::string reply = co_await stream.read_line(4096);
//
// Reading. The stream reads ahead into its input buffer whenever the socket
// is readable and the buffer holds less than `read_ahead_limit` (so a waiting
// read usually costs one recv and no epoll_ctl). A read completes from the
// buffer; it suspends only when the buffer cannot satisfy it. Bytes in the
// buffer belong to the stream, not to a read: a read that is cancelled (or
// times out) leaves every byte it had seen in the buffer for the next read.
// A recv into an empty buffer lands in a per-thread scratch buffer first and
// only a right-sized copy is kept, so a connection that exchanges short
// messages holds a few dozen bytes of input, not a read_chunk.
//
// Writing. write() never blocks and never suspends: it sends what the kernel
// takes at once and queues the rest, sent as the socket becomes writable.
// drain() is the back-pressure: it returns at once while at most `high_water`
// bytes are queued, otherwise it suspends until the queue falls to
// `low_water` (asyncio's water marks). flush() waits for the queue to be
// empty. Sends use MSG_NOSIGNAL: a peer that went away is an exception, never
// SIGPIPE.
//
//   input buffer:  [ consumed | buffered bytes ........ | free ]
//                             ^ read position           ^ end of data
//   output queue:  [ sent     | queued bytes .......... ]
//
// One reader and one writer-waiter at a time: a second concurrent read (or
// drain) is a logic_error. Lifetime: the stream must outlive its awaits and
// must be destroyed on its loop's thread.
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

struct StreamOptions {
  // drain() suspends above high_water queued output bytes and resumes at
  // low_water or below.
  std::size_t high_water = 64 * 1024;
  std::size_t low_water = 16 * 1024;
  // Reading pauses while this many input bytes wait unread (unless a read
  // needs more to complete, e.g. a long line within its limit).
  std::size_t read_ahead_limit = 256 * 1024;
  // Bytes asked of each recv.
  std::size_t read_chunk = 64 * 1024;
};

class TcpStream {
  struct State;

 public:
  TcpStream() noexcept;
  // Takes a connected socket (made non-blocking here). Must be called on the
  // thread of the loop that will serve the stream.
  explicit TcpStream(UniqueFd fd, StreamOptions options = {});
  TcpStream(TcpStream&& other) noexcept;
  TcpStream& operator=(TcpStream&& other) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  enum class ReadKind : unsigned char { some, line, exactly };

  class [[nodiscard]] ReadAwaiter : private detail::Waiter {
   public:
    ReadAwaiter(State* state, ReadKind kind, std::size_t limit) noexcept;
    ReadAwaiter(ReadAwaiter&& other) noexcept;
    ReadAwaiter(const ReadAwaiter&) = delete;
    ReadAwaiter& operator=(const ReadAwaiter&) = delete;
    ~ReadAwaiter();

    bool await_ready();
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, loop_of(state_))) {
        return false;
      }
      start_waiting();
      return true;
    }
    std::string await_resume();

   private:
    friend struct State;
    friend class TcpStream;
    static void undo(detail::Waiter& waiter) noexcept;
    static EventLoop& loop_of(State* state);
    void start_waiting();

    State* state_;
    std::size_t limit_;
    std::size_t scanned_ = 0;  // read_line: bytes already searched for '\n'
    ReadKind kind_;
  };

  class [[nodiscard]] DrainAwaiter : private detail::Waiter {
   public:
    DrainAwaiter(State* state, std::size_t ready_at, std::size_t resume_at) noexcept;
    DrainAwaiter(DrainAwaiter&& other) noexcept;
    DrainAwaiter(const DrainAwaiter&) = delete;
    DrainAwaiter& operator=(const DrainAwaiter&) = delete;
    ~DrainAwaiter();

    bool await_ready();
    template <typename Promise>
    bool await_suspend(std::coroutine_handle<Promise> handle) {
      if (!arm(handle, ReadAwaiter::loop_of(state_))) {
        return false;
      }
      start_waiting();
      return true;
    }
    void await_resume();

   private:
    friend struct State;
    friend class TcpStream;
    static void undo(detail::Waiter& waiter) noexcept;
    void start_waiting();

    State* state_;
    std::size_t ready_at_;
    std::size_t resume_at_;
  };

  // Whatever is buffered, up to `max` bytes; suspends only when nothing is.
  // Returns "" at end of stream.
  ReadAwaiter read_some(std::size_t max = 64 * 1024) { return {state(), ReadKind::some, max}; }
  // One line including its '\n', at most `max` bytes long. At end of stream:
  // the unterminated rest, then "". No '\n' within `max` bytes raises
  // LineTooLongError and leaves the bytes buffered.
  ReadAwaiter read_line(std::size_t max = 64 * 1024) { return {state(), ReadKind::line, max}; }
  // Exactly `count` bytes; end of stream first raises IncompleteReadError
  // carrying the bytes that did arrive.
  ReadAwaiter read_exactly(std::size_t count) { return {state(), ReadKind::exactly, count}; }

  // Queues `data` and sends what the kernel accepts now. Never blocks.
  // Raises std::system_error if the connection already failed, logic_error
  // after shutdown_write() or close().
  void write(std::string_view data);
  // Back-pressure: see the header comment.
  DrainAwaiter drain() noexcept;
  // Suspends until every queued byte was handed to the kernel.
  DrainAwaiter flush() noexcept { return {state_.get(), 0, 0}; }

  // Sends FIN once the queued output is out; reading goes on.
  void shutdown_write();
  // Closes the socket now; queued output not yet sent is dropped (await
  // flush() first to keep it). A read or drain waiting in another task raises.
  void close() noexcept;

  // Drops up to `count` buffered input bytes (after a LineTooLongError, say).
  std::size_t discard(std::size_t count);

  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] int fd() const noexcept;
  [[nodiscard]] std::size_t buffered_input() const noexcept;
  [[nodiscard]] std::size_t queued_output() const noexcept;
  [[nodiscard]] bool at_eof() const noexcept;
  [[nodiscard]] SocketAddress local_address() const;
  [[nodiscard]] SocketAddress peer_address() const;

 private:
  State* state() const;
  std::unique_ptr<State> state_;
};

}  // namespace pz
