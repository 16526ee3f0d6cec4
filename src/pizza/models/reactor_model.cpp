// The `reactor` model: the seed's event-driven pizza-ordering service (seed
// 000, appendix: I/O multiplexing and the reactor pattern). One pz::EventLoop
// per shard demultiplexes readiness and dispatches it to the connection's
// handler; no handler blocks, so one thread serves thousands of clients
// without locks.
//
// Per connection: a PizzaConnection (the I/O and protocol shared with the
// waiting-based models), an FdWatch whose interest follows what the
// connection wants (readable while it takes input, writable while replies
// are pending), and one idle timer that re-arms itself lazily: activity only
// stamps a time, and the timer, when it fires, checks the stamp, so a busy
// connection costs no timer-heap work per request.
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/server/run_sharded.hpp"

namespace pz::pizza {
namespace {

using Clock = PizzaConnection::Clock;

class ReactorShard;

class ReactorConnection {
 public:
  ReactorConnection(ReactorShard& shard, AcceptedClient client);
  ReactorConnection(const ReactorConnection&) = delete;
  ReactorConnection& operator=(const ReactorConnection&) = delete;

  // Shutdown: answer what the kernel already holds, then stop reading.
  void drain_for_shutdown();
  // Ends the connection: unregisters, logs, closes the socket.
  void close(std::string_view reason = {});

 private:
  void on_ready(IoEvents events);
  void after_io(bool unread_left = false);
  void arm_idle_timer();

  ReactorShard& shard_;
  PizzaConnection connection_;
  FdWatch watch_;
  TimerHandle idle_timer_;
  Clock::time_point timer_at_ = Clock::time_point::max();  // when idle_timer_ fires
};

class ReactorShard {
 public:
  ReactorShard(ServerContext& context, int listener) : context_(context), listener_(listener) {}
  ReactorShard(const ReactorShard&) = delete;
  ReactorShard& operator=(const ReactorShard&) = delete;

  ~ReactorShard() {
    // Connections hold watches and timers on the loop: they go first.
    connections_.clear();
    graveyard_.clear();
  }

  void run() {
    listener_watch_ =
        loop_.watch(listener_, Interest::readable, [this](IoEvents) { accept_some(); });
    shutdown_watch_ =
        loop_.watch(context_.shutdown_fd(), Interest::readable, [this](IoEvents) { shut_down(); });
    loop_.run();
    listener_watch_.reset();
    shutdown_watch_.reset();
  }

  [[nodiscard]] EventLoop& loop() noexcept { return loop_; }
  [[nodiscard]] ServerContext& context() noexcept { return context_; }
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }

  // Called by a connection that closed itself, usually from inside its own
  // callback: it is destroyed on the next iteration, not under its own feet.
  void forget(ReactorConnection* connection) {
    auto node = connections_.extract(connection);
    if (!node.empty()) {
      if (graveyard_.empty()) {
        loop_.call_soon([this] { graveyard_.clear(); });
      }
      graveyard_.push_back(std::move(node.mapped()));
    }
    finish_if_drained();
  }

 private:
  void accept_some() {
    // Bounded per wake-up, so a connection storm cannot starve open clients.
    for (int i = 0; i < 64; ++i) {
      std::optional<AcceptedClient> client = context_.accept(listener_);
      if (!client) {
        pause_if_asked();
        return;
      }
      auto connection = std::make_unique<ReactorConnection>(*this, std::move(*client));
      ReactorConnection* raw = connection.get();
      connections_.emplace(raw, std::move(connection));
    }
  }

  // During an accept pause (the kernel is short of memory) the listener
  // stays readable, and the level-triggered watch would wake the loop at
  // once, again and again: stop watching it until the pause ends.
  void pause_if_asked() {
    const auto resume_at = context_.accept_paused_until();
    const auto now = Clock::now();
    if (now >= resume_at) {
      return;
    }
    listener_watch_.set_interest(Interest::none);
    accept_resume_ = loop_.call_later(std::chrono::duration_cast<Duration>(resume_at - now),
                                      [this] { listener_watch_.set_interest(Interest::readable); });
  }

  void shut_down() {
    stopping_ = true;
    shutdown_watch_.reset();
    listener_watch_.reset();
    accept_resume_.cancel();
    std::vector<ReactorConnection*> open;
    open.reserve(connections_.size());
    for (auto& entry : connections_) {
      open.push_back(entry.first);
    }
    for (ReactorConnection* connection : open) {
      connection->drain_for_shutdown();  // may close and forget itself
    }
    const auto left = context_.shutdown_deadline() - Clock::now();
    deadline_ = loop_.call_later(std::chrono::duration_cast<Duration>(left), [this] {
      // The deadline is the promise made to the operator: whatever is still
      // open now is closed, unanswered bytes and all.
      std::vector<ReactorConnection*> late;
      for (auto& entry : connections_) {
        late.push_back(entry.first);
      }
      for (ReactorConnection* connection : late) {
        connection->close("shutdown deadline");
      }
    });
    finish_if_drained();
  }

  void finish_if_drained() {
    if (stopping_ && connections_.empty()) {
      deadline_.cancel();
      loop_.stop();
    }
  }

  ServerContext& context_;
  int listener_;
  EventLoop loop_;
  FdWatch listener_watch_;
  FdWatch shutdown_watch_;
  TimerHandle accept_resume_;  // re-watches the listener when an accept pause ends
  TimerHandle deadline_;
  bool stopping_ = false;
  std::unordered_map<ReactorConnection*, std::unique_ptr<ReactorConnection>> connections_;
  std::vector<std::unique_ptr<ReactorConnection>> graveyard_;
};

ReactorConnection::ReactorConnection(ReactorShard& shard, AcceptedClient client)
    : shard_(shard),
      connection_(std::move(client), shard.context().options().max_order, Clock::now()) {
  set_non_blocking(connection_.fd());
  // Edge-triggered (see FdWatch): connections are served in the order their
  // requests arrived, which is what keeps the tail latency down under load.
  watch_ = shard_.loop().watch(connection_.fd(), Interest::readable | Interest::edge,
                               [this](IoEvents events) { on_ready(events); });
  arm_idle_timer();
}

void ReactorConnection::on_ready(IoEvents events) {
  // A hang-up or error is learnt by reading (recv returns 0 or fails).
  const bool readable = events.readable || events.hangup || events.error;
  connection_.service(readable, shard_.stopping(), Clock::now());
  // One chunk per wake-up is the fairness rule, so a full chunk leaves bytes
  // behind; after the peer's shutdown, a short read leaves the end of stream
  // behind. No new edge announces either.
  after_io(connection_.read_a_full_chunk() || (readable && events.peer_finished()));
}

void ReactorConnection::drain_for_shutdown() {
  connection_.service(false, true, Clock::now());
  // A drain cut short (see PizzaConnection::service) must be resumed
  // without waiting for a new edge.
  after_io(connection_.read_a_full_chunk());
}

void ReactorConnection::after_io(bool unread_left) {
  if (connection_.done()) {
    close();
    return;
  }
  Interest interest = Interest::none;
  if (connection_.wants_read()) {
    interest = interest | Interest::readable;
  }
  if (connection_.wants_write()) {
    interest = interest | Interest::writable;
  }
  watch_.set_interest(interest | Interest::edge);
  if (unread_left && connection_.wants_read()) {
    watch_.rearm();
  }
  // The timer is lazy (activity only moves the deadline later, and the
  // timer re-checks when it fires), except when a request began: its
  // deadline may come before the timer. Requests that end within their read
  // cost one comparison here.
  if (connection_.request_since() != Clock::time_point::max() &&
      connection_.close_by(shard_.context()) < timer_at_) {
    idle_timer_.cancel();
    arm_idle_timer();
  }
}

void ReactorConnection::arm_idle_timer() {
  const Clock::time_point close_at = connection_.close_by(shard_.context());
  timer_at_ = close_at;
  if (close_at == Clock::time_point::max()) {
    return;  // no timeout at all
  }
  idle_timer_ = shard_.loop().call_later(
      std::chrono::duration_cast<Duration>(close_at - Clock::now()), [this] {
        // Through close(), which removes the watch before it closes the
        // socket: removed after, by number, the fd could name a socket
        // another shard has opened since.
        if (const std::string_view why = connection_.expired(shard_.context(), Clock::now());
            !why.empty()) {
          close(why);
        } else {
          arm_idle_timer();  // there was activity since: sleep the rest
        }
      });
}

void ReactorConnection::close(std::string_view reason) {
  watch_.reset();
  idle_timer_.cancel();
  connection_.close(shard_.context(), reason);
  shard_.forget(this);
}

void run_reactor(ServerContext& context) {
  run_sharded(context, [](ServerContext& shard_context, int listener) {
    ReactorShard shard(shard_context, listener);
    shard.run();
  });
}

}  // namespace

const ServerModel kReactorModel{
    .name = "reactor",
    .summary =
        "callbacks on pz::EventLoop (epoll), the reactor pattern; one loop per --workers "
        "shard",
    .shards_with_reuseport = true,
    .run = run_reactor,
};

}  // namespace pz::pizza
