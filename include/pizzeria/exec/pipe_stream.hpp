// pz::PipeStream: one end of a pipe, read or written by coroutines on the
// calling thread's event loop (asyncio's StreamReader/StreamWriter for a
// subprocess's pipes).
//
//   pz::PipeStream& out = child.stdout_pipe();
//   std::string all = co_await out.read_all();      // to end of file
//   co_await child.stdin_pipe().write_all("bytes"); // then close() for EOF
//
// Why not net's TcpStream: exec sits below net (docs/design.md), and a pipe
// needs none of a socket's options, only "wait until readable/writable, then
// read(2)/write(2)". The fd is made non-blocking and is owned (closed by the
// destructor or close()).
//
// Cancellable like every pizzeria await: a stop request unregisters the fd
// and raises CancelledError; bytes already read stay read (read_all's
// `into` keeps them). One reader and one writer at a time.
//
// Thread safety: loop thread only.
#pragma once

#include <cstddef>
#include <string>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/task.hpp"

namespace pz {

class PipeStream {
 public:
  PipeStream() noexcept = default;
  // Takes `fd` (a pipe end) and sets O_NONBLOCK on it.
  explicit PipeStream(UniqueFd fd);
  PipeStream(PipeStream&&) noexcept = default;
  PipeStream& operator=(PipeStream&&) noexcept = default;

  // Up to `max` bytes as soon as any are there; "" at end of file (the
  // writer closed its end).
  Task<std::string> read_some(std::size_t max = 65536);
  // Appends everything up to end of file to `into` and returns its size
  // afterwards. `into` must outlive the await; what was read before a
  // cancellation or an error stays in it.
  Task<std::size_t> read_all(std::string& into);
  // Everything up to end of file.
  Task<std::string> read_all();
  // Writes all of `bytes`; a reader that closed its end raises
  // std::system_error (EPIPE), never SIGPIPE.
  Task<void> write_all(std::string bytes);

  // Closes this end: for a write end, the reader sees end of file.
  void close() noexcept { fd_.reset(); }
  [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(fd_); }
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace pz
