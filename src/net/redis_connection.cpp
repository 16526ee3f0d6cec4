#include "pizzeria/net/redis_connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/loggable_text.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/mutex.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/redis_error.hpp"
#include "pizzeria/net/redis_reply_reader.hpp"
#include "pizzeria/net/redis_reply_too_large_error.hpp"

namespace pz {

namespace {

// RESP2's request form: an array of bulk strings, so any bytes are safe.
void append_command(std::string& out, const std::vector<std::string>& arguments) {
  out += '*';
  out += std::to_string(arguments.size());
  out += "\r\n";
  for (const std::string& argument : arguments) {
    out += '$';
    out += std::to_string(argument.size());
    out += "\r\n";
    out += argument;
    out += "\r\n";
  }
}

constexpr std::string_view kUnsolicited =
    "the server sent data that no command asked for (is it Redis?)";
constexpr std::string_view kClosed = "the server closed the connection";

// The replies of one pipeline() call, filled in order by whichever task
// holds the read lock. Shared: a cancelled caller leaves, its batch stays
// queued and its replies are read and dropped.
struct Batch {
  explicit Batch(std::size_t count) : expected(count), sent_at(std::chrono::steady_clock::now()) {
    replies.reserve(count);
  }
  std::size_t expected;
  std::chrono::steady_clock::time_point sent_at;  // for unanswered_for()
  std::vector<RedisReply> replies;
  // Its next reply was refused for its size: this batch raises
  // RedisReplyTooLargeError, the others the connection's failure.
  std::string too_large;
};

}  // namespace

struct RedisConnection::State {
  explicit State(TcpStream connected) : stream(std::move(connected)) {
    try {
      name = "Redis connection to " + stream.peer_address().to_string();
    } catch (const std::exception&) {
      name = "Redis connection";  // already reset: the first command will say so
    }
  }

  // Bytes the reader holds that no reply has taken yet.
  [[nodiscard]] std::size_t unparsed() const noexcept { return reader.unparsed(); }

  // Reads until the reader has one whole reply (bounded: see
  // RedisReplyReader).
  Task<RedisReply> next_reply() {
    for (;;) {
      if (std::optional<RedisReply> reply = reader.next()) {
        co_return std::move(*reply);
      }
      const std::string data = co_await stream.read_some();
      if (data.empty()) {
        throw std::runtime_error("the server closed the connection");
      }
      reader.feed(data);
    }
  }

  // Redis (RESP2, no pub/sub) speaks only when asked: bytes that arrive
  // while no command waits for a reply are not a reply to anything. Taken
  // as the next command's reply, they would answer it wrongly (an XADD
  // "confirmed" by bytes sent before it was), so they break the connection.
  // What is wrong with an idle connection, if anything: bytes nobody asked
  // for, or (asking the socket, if `ask_socket`) the server's end of the
  // connection. A closed or reset connection is that, not "data": a Redis
  // that died must be reported as gone, not as something that is not Redis.
  [[nodiscard]] std::optional<std::string_view> idle_trouble(bool ask_socket) {
    if (!waiting.empty()) {
      return std::nullopt;
    }
    if (unparsed() > 0 || stream.buffered_input() > 0) {
      return kUnsolicited;
    }
    if (!ask_socket) {
      return std::nullopt;
    }
    // A peek without waiting: data, the end of the stream (0), a reset, or
    // nothing (EAGAIN).
    char byte = 0;
    const ssize_t peeked = ::recv(stream.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked > 0) {
      return kUnsolicited;
    }
    if (peeked == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return kClosed;
    }
    return std::nullopt;
  }

  // Queues a request; the queue is written once this loop iteration's
  // callbacks have run, so the commands of every task that ran in it go out
  // in one write, and Redis reads them in one go. (With appendfsync always,
  // Redis fsyncs once per batch it reads: the difference between one fsync
  // per order and one per burst of orders.)
  void send(std::string request) {
    if (outgoing.empty()) {
      outgoing = std::move(request);
    } else {
      outgoing += request;
    }
    if (!flush_scheduled) {
      EventLoop* loop = EventLoop::current();
      if (loop == nullptr) {
        throw std::logic_error("RedisConnection: used outside a running pz::EventLoop");
      }
      flush_scheduled = true;
      // Weak: a connection closed and dropped before the callback runs
      // needs no flush.
      loop->call_soon([weak = std::weak_ptr<State>(self)] {
        if (const std::shared_ptr<State> state = weak.lock()) {
          state->flush();
        }
      });
    }
  }

  void flush() noexcept {
    flush_scheduled = false;
    if (failure || outgoing.empty()) {
      return;
    }
    try {
      stream.write(outgoing);
    } catch (const std::exception& error) {
      fail(error.what());  // the tasks waiting for replies raise it
    }
    outgoing.clear();
  }

  // What broke the connection, as `batch` raises it: its own reply's size,
  // or the failure every other command raises.
  [[noreturn]] void raise_failure(const Batch& batch) const {
    if (!batch.too_large.empty()) {
      throw RedisReplyTooLargeError(batch.too_large);
    }
    std::rethrow_exception(failure);
  }

  // Breaks the connection for good: every waiting and later command raises
  // this, naming the connection and `why`.
  void fail(std::string_view why) noexcept {
    if (failure) {
      return;  // the first reason is the one to report
    }
    try {
      failure = std::make_exception_ptr(std::runtime_error(name + ": " + std::string(why)));
    } catch (...) {
      failure = std::current_exception();  // out of memory: that is the reason then
    }
    waiting.clear();
    stream.close();
  }

  TcpStream stream;
  RedisReplyReader reader;
  Mutex read_lock;                             // one reader of the socket at a time
  std::deque<std::shared_ptr<Batch>> waiting;  // sent, not yet fully answered, in order
  std::exception_ptr failure;                  // what broke the connection, once it did
  std::string name;                            // "Redis connection to HOST:PORT", for errors
  std::string outgoing;                        // requests not yet written (see send)
  bool flush_scheduled = false;
  std::weak_ptr<State> self;  // for the flush callback
};

RedisConnection::RedisConnection(TcpStream stream)
    : state_(std::make_shared<State>(std::move(stream))) {
  state_->self = state_;
}

Task<RedisConnection> RedisConnection::connect(std::string host, std::uint16_t port,
                                               std::string user, std::string password) {
  const std::string address = host + ":" + std::to_string(port);
  RedisConnection connection(co_await open_connection(std::move(host), port));
  if (!password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!user.empty()) {
      auth.push_back(std::move(user));
    }
    auth.push_back(std::move(password));
    const RedisReply reply = co_await connection.command(std::move(auth));
    if (reply.is_error()) {
      throw RedisError("Redis at " + address + " refused AUTH: " + loggable_text(reply.text));
    }
  }
  co_return connection;
}

Task<RedisReply> RedisConnection::command(std::vector<std::string> arguments) {
  std::vector<std::vector<std::string>> one;
  one.push_back(std::move(arguments));
  std::vector<RedisReply> replies = co_await pipeline(std::move(one));
  co_return std::move(replies.front());
}

struct RedisConnection::Reading {
  // Writes `commands` and queues their batch; throws if the connection is
  // broken, or an idle check finds it so.
  static std::shared_ptr<Batch> start(State& state,
                                      const std::vector<std::vector<std::string>>& commands) {
    if (state.failure) {
      std::rethrow_exception(state.failure);
    }
    // Before the first command after a quiet spell: nothing may be waiting
    // to be read yet (one peek, only when no other command is in flight).
    if (const std::optional<std::string_view> trouble = state.idle_trouble(true)) {
      state.fail(*trouble);
      std::rethrow_exception(state.failure);
    }
    std::string request;
    for (const auto& arguments : commands) {
      append_command(request, arguments);
    }
    state.send(std::move(request));
    auto batch = std::make_shared<Batch>(commands.size());
    state.waiting.push_back(batch);
    return batch;
  }

  // Reads replies until `batch` is whole, handing each to the oldest
  // batch (which may be another task's): replies come in request order.
  // Throws what broke the connection; the batch keeps the replies it got.
  static Task<void> fill(std::shared_ptr<State> state, std::shared_ptr<Batch> batch) {
    while (batch->replies.size() < batch->expected) {
      const MutexGuard guard = co_await state->read_lock.scoped_lock();
      // Completion first: replies that another task read for us while we
      // waited for the lock are ours even if the connection broke
      // afterwards (Redis did answer those commands).
      if (batch->replies.size() == batch->expected) {
        break;
      }
      if (state->failure) {
        state->raise_failure(*batch);
      }
      RedisReply reply;
      try {
        reply = co_await state->next_reply();
      } catch (const CancelledError&) {
        throw;  // no bytes were lost: the stream and the reader keep them
      } catch (const RedisReplyTooLargeError& error) {
        state->waiting.front()->too_large = state->name + ": " + error.what();
        state->fail(error.what());
        state->raise_failure(*batch);
      } catch (const std::exception& error) {
        state->fail(error.what());
        std::rethrow_exception(state->failure);
      }
      Batch& oldest = *state->waiting.front();
      oldest.replies.push_back(std::move(reply));
      if (oldest.replies.size() == oldest.expected) {
        state->waiting.pop_front();
        // Bytes already read beyond the last awaited reply: more replies
        // than commands. This batch was answered before them and keeps its
        // replies; the connection is not to be trusted for the next.
        if (state->idle_trouble(false)) {
          state->fail(kUnsolicited);
        }
      }
    }
  }
};

Task<std::vector<RedisReply>> RedisConnection::pipeline(
    std::vector<std::vector<std::string>> commands) {
  // The frame's own reference: the state outlives a RedisConnection that is
  // moved from or destroyed while this command waits.
  const std::shared_ptr<State> state = state_;
  if (!state) {
    throw std::logic_error("RedisConnection: not connected");
  }
  if (commands.empty()) {
    if (state->failure) {
      std::rethrow_exception(state->failure);
    }
    co_return std::vector<RedisReply>{};
  }
  const std::shared_ptr<Batch> batch = Reading::start(*state, commands);
  co_await Reading::fill(state, batch);
  co_return std::move(batch->replies);
}

Task<RedisConnection::PartialReplies> RedisConnection::pipeline_within(
    std::vector<std::vector<std::string>> commands, std::chrono::nanoseconds limit) {
  const std::shared_ptr<State> state = state_;
  if (!state) {
    throw std::logic_error("RedisConnection: not connected");
  }
  PartialReplies result;
  std::shared_ptr<Batch> batch;
  try {
    if (commands.empty()) {
      if (state->failure) {
        std::rethrow_exception(state->failure);
      }
      co_return result;
    }
    batch = Reading::start(*state, commands);
    // Shared with fill(): what it read before the deadline stays here when
    // the deadline cancels it (a cancelled read loses no bytes, and the
    // rest of the batch's replies are read and dropped when they come).
    co_await timeout(std::chrono::duration_cast<Duration>(limit), Reading::fill(state, batch));
  } catch (const CancelledError&) {
    throw;
  } catch (const TimeoutError&) {
    result.timed_out = true;
  } catch (const std::exception& error) {
    result.error = error.what();
  }
  if (batch) {
    result.replies = std::move(batch->replies);
  }
  co_return result;
}

bool RedisConnection::is_open() const noexcept {
  return state_ && !state_->failure && state_->stream.is_open();
}

bool RedisConnection::is_alive() {
  if (!is_open()) {
    return false;
  }
  if (!state_->waiting.empty()) {
    return true;  // a reply is due; reading it will tell
  }
  if (const std::optional<std::string_view> trouble = state_->idle_trouble(true)) {
    state_->fail(*trouble);
    return false;
  }
  return true;
}

bool RedisConnection::is_alive(std::chrono::nanoseconds overdue) {
  return is_alive() && unanswered_for() <= overdue;
}

std::chrono::nanoseconds RedisConnection::unanswered_for() const noexcept {
  if (!state_ || state_->waiting.empty()) {
    return std::chrono::nanoseconds::zero();
  }
  return std::chrono::steady_clock::now() - state_->waiting.front()->sent_at;
}

void RedisConnection::close() noexcept {
  if (state_ && !state_->failure) {
    state_->fail("closed");
  }
}

}  // namespace pz
