// pz::RedisConnection: a client connection to a Redis server, for coroutines
// on one loop. Commands are pipelined: any number of tasks may await
// commands on one connection at once; each command is written at once and
// its reply is matched to it in order (Redis answers in order), so a
// thousand tasks placing orders share one connection and one round trip's
// latency, not a thousand.
//
//   pz::RedisConnection redis = co_await pz::RedisConnection::open("127.0.0.1", 6379);
//   pz::RedisReply pong = co_await redis.command({"PING"});
//   std::vector<pz::RedisReply> ids = co_await redis.pipeline({{"XADD", "s", "*", "n", "1"},
//                                                              {"XADD", "s", "*", "n", "2"}});
//
// The protocol is RESP2: commands are written as arrays of bulk strings
// (binary-safe); replies are parsed by pz::RedisReplyReader (hiredis's
// reader, the reference implementation of that parser, with bounds);
// the I/O is pz::TcpStream's.
//
// Failure: when the connection breaks (reset, closed by the server, a reply
// that is not RESP), every command waiting on it and every later one raises
// the error that broke it; is_open() turns false, and the caller opens a new
// connection. The server is not trusted to be Redis: a reply of more than
// kMaxReplyBytes (hiredis would buffer an endless one until memory ran
// out) or of more than kMaxReplyElements elements (each costs hiredis and
// RedisReply objects of ~150 bytes: 4 MiB of 3-byte elements would take
// ~200 MB) breaks the connection, and that command raises
// RedisReplyTooLargeError; so do bytes that no command asked for (replies
// before a command, or more replies than commands), which would otherwise
// be taken for the next command's reply. Cancellation: a cancelled
// command's reply, when it comes, is read and dropped, so the replies of
// the others stay matched.
//
// A handle: copies share one connection (a task that must finish its command
// on the connection it started with, whatever its owner does meanwhile,
// keeps a copy). Lifetime: the connection's state lives as long as the RedisConnection or
// any command awaiting on it, whichever is longer; destroy it on its loop's
// thread. Thread safety: loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/net/redis_reply.hpp"
#include "pizzeria/net/redis_reply_reader.hpp"
#include "pizzeria/net/tcp_stream.hpp"

namespace pz {

class RedisConnection {
 public:
  // The largest reply taken, in bytes and in elements (an array and each
  // value in it count one). A kitchen's replies are a few hundred bytes and
  // a few dozen elements.
  static constexpr std::size_t kMaxReplyBytes = RedisReplyReader::kMaxReplyBytes;
  static constexpr std::size_t kMaxReplyElements = RedisReplyReader::kMaxReplyElements;

  // Not connected: commands raise logic_error.
  RedisConnection() noexcept = default;
  explicit RedisConnection(TcpStream stream);

  // Connects to host:port (a name is resolved as open_connection does) and,
  // with credentials, authenticates before anything else is sent; Redis
  // refusing them raises RedisError naming the address (never the password).
  // (Callers: pass named credentials. GCC 12 copies an aggregate temporary
  // made inside a co_await's full-expression bytewise, and a std::string in
  // it then frees another object's buffer.)
  [[nodiscard]] static Task<RedisConnection> open(std::string host, std::uint16_t port,
                                                  RedisCredentials credentials) {
    return connect(std::move(host), port, std::move(credentials.user),
                   std::move(credentials.password));
  }
  [[nodiscard]] static Task<RedisConnection> open(std::string host, std::uint16_t port) {
    return connect(std::move(host), port, std::string(), std::string());
  }

  // One command: its reply, an error reply included.
  [[nodiscard]] Task<RedisReply> command(std::vector<std::string> arguments);
  // Several commands written at once; their replies, in order.
  [[nodiscard]] Task<std::vector<RedisReply>> pipeline(
      std::vector<std::vector<std::string>> commands);

  // What pipeline_within() got: the replies that came, in order (fewer
  // than the commands when it stopped early), and why it stopped early.
  struct PartialReplies {
    std::vector<RedisReply> replies;
    bool timed_out = false;  // `limit` passed first
    std::string error;       // the connection broke first: why
  };
  // Like pipeline(), but never throws for the connection's trouble: when
  // `limit` passes or the connection breaks, the replies that already came
  // are returned (they are Redis's answers to the first commands, which a
  // caller that must tell confirmed from unknown needs), and the rest of
  // the commands' fate is unknown: they may have been run.
  [[nodiscard]] Task<PartialReplies> pipeline_within(std::vector<std::vector<std::string>> commands,
                                                     std::chrono::nanoseconds limit);

  // False when never connected, closed, or broken.
  [[nodiscard]] bool is_open() const noexcept;
  // is_open(), and when no command waits for a reply, the socket is asked
  // now (a poll without waiting) whether the server has closed or reset
  // the connection since: one system call, worth it before reusing a
  // connection that sat idle across a restart of Redis, where the first
  // command would otherwise fail. A closed connection counts as broken.
  [[nodiscard]] bool is_alive();
  // is_alive(), and no reply has been due for longer than `overdue`: a
  // connection whose server stopped answering (paused, or its machine cut
  // off) still looks alive while the replies it owes pile up, and new
  // commands on it would only queue behind them.
  [[nodiscard]] bool is_alive(std::chrono::nanoseconds overdue);
  // How long the oldest command still waiting for its reply has waited;
  // zero when none waits.
  [[nodiscard]] std::chrono::nanoseconds unanswered_for() const noexcept;
  // Closes now; commands still waiting raise.
  void close() noexcept;

  // The same connection (copies of one handle).
  friend bool operator==(const RedisConnection& a, const RedisConnection& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  static Task<RedisConnection> connect(std::string host, std::uint16_t port, std::string user,
                                       std::string password);

  struct State;
  struct Reading;  // the reading of replies, shared by pipeline() and pipeline_within()
  std::shared_ptr<State> state_;
};

}  // namespace pz
