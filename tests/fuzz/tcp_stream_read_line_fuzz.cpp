// libFuzzer target for TcpStream::read_line, the framing every line client
// (`pizzeria echo-client`'s check, the kitchen tests' clients, any
// open_connection user) puts between a server and its parser.
//
// Byte 0 picks the line limit, byte 1 the stream's read_chunk (so lines
// arrive split across recvs), byte 2 the size of the pieces a writer task
// sends them in (so reads wait mid-line and resume); the rest is what the
// server sends, then it closes. Over a real AF_UNIX socket pair on a real
// EventLoop. Invariants:
// - every line read is at most the limit and ends with '\n', except the
//   last before the end of stream;
// - LineTooLongError comes only when `limit` bytes without '\n' are
//   buffered, and leaves them there (read_exactly then takes them);
// - the lines and those bytes, joined, are exactly the bytes sent.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/yield.hpp"
#include "pizzeria/net/line_too_long_error.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "tcp_stream_read_line_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

pz::Task<void> send_in_pieces(pz::UniqueFd peer, std::string_view bytes, std::size_t piece) {
  while (!bytes.empty()) {
    const std::size_t length = std::min(piece, bytes.size());
    // Blocking and small: far below the socket buffer, so it never waits.
    check(::send(peer.get(), bytes.data(), length, MSG_NOSIGNAL) == static_cast<ssize_t>(length),
          "the writer sends its piece");
    bytes.remove_prefix(length);
    co_await pz::yield();  // the reader runs between pieces
  }
  // peer closes here: the reader sees the end of stream.
}

pz::Task<std::string> read_lines(pz::TcpStream& stream, std::size_t limit) {
  std::string received;
  bool ended_unterminated = false;
  for (;;) {
    std::string line;
    bool too_long = false;
    try {
      line = co_await stream.read_line(limit);
    } catch (const pz::LineTooLongError& error) {
      check(error.limit() == limit, "the error names the limit");
      check(stream.buffered_input() >= limit, "an over-long line is buffered whole");
      too_long = true;  // no co_await in a handler: read below
    }
    if (too_long) {
      const std::string kept = co_await stream.read_exactly(limit);
      check(kept.find('\n') == std::string::npos, "no end of line within the limit");
      received += kept;
      continue;
    }
    if (line.empty()) {
      break;
    }
    check(!ended_unterminated, "nothing after an unterminated last line");
    check(line.size() <= limit, "a line is within its limit");
    check(line.find('\n') == line.size() - 1 || line.find('\n') == std::string::npos,
          "a line holds one end of line, at its end");
    ended_unterminated = line.back() != '\n';
    received += line;
  }
  co_return received;
}

// Outside the coroutine: g++ rejects an array in a coroutine frame.
std::pair<pz::UniqueFd, pz::UniqueFd> socket_pair() {
  int ends[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0, "a socket pair");
  return {pz::UniqueFd(ends[0]), pz::UniqueFd(ends[1])};
}

pz::Task<void> exchange(std::string_view bytes, std::size_t limit, std::size_t chunk,
                        std::size_t piece) {
  auto [mine, peer] = socket_pair();
  pz::StreamOptions options;
  options.read_chunk = chunk;
  options.read_ahead_limit = chunk * 2;
  pz::TcpStream stream(std::move(mine), options);
  std::string received;
  pz::TaskGroup group;
  group.spawn(send_in_pieces(std::move(peer), bytes, piece));
  received = co_await read_lines(stream, limit);
  co_await group.join();
  check(received == bytes, "the lines are the bytes sent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) {
    return 0;
  }
  const std::size_t limit = data[0] % 64 + 1;
  const std::size_t chunk = data[1] % 64 + 1;
  const std::size_t piece = data[2] % 32 + 1;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 3, size - 3);
  pz::run(exchange(bytes, limit, chunk, piece));
  return 0;
}
