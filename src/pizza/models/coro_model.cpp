// The `coro` model (the default): a coroutine per connection on
// pz::EventLoop, written as straight-line code, asyncio style:
//
//   while ((data = co_await stream.read_some()) != "")  answer(data);
//
// The loop does the waiting, exactly as in the reactor model, but each
// connection's state lives in its coroutine frame instead of a hand-written
// state machine. Structured concurrency keeps it honest: every connection
// task belongs to its shard's TaskGroup, so none outlives the server.
//
// Graceful shutdown: the accept loop is cancelled; every connection gets
// SHUT_RD, so its pending read returns what the kernel already holds and
// then end of stream; replies are flushed; at the deadline the group is
// cancelled and every still-waiting await raises CancelledError.
//
// Memory: an idle connection is one suspended coroutine frame plus its
// stream, so the frame is kept lean (bench/server_bench.py measures 10,000
// idle connections): no per-read timeout wrapper (idle timeouts come from
// one sweeper task per shard, which shuts expired sockets down), and the
// rarely needed waits (back-pressure, the final flush) live in small
// helper coroutines whose frames exist only while they wait.
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "pizza/models/models.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/net/tcp_stream.hpp"
#include "pizzeria/net/wait_readable.hpp"
#include "pizzeria/pizza/kitchen_queue.hpp"
#include "pizzeria/pizza/order_parser.hpp"
#include "pizzeria/pizza/order_session.hpp"
#include "pizzeria/pizza/protocol.hpp"
#include "pizzeria/pizza/server_context.hpp"
#include "pizzeria/server/run_sharded.hpp"

namespace pz::pizza {
namespace {

using SteadyClock = std::chrono::steady_clock;

// What the idle sweeper needs to know about a connection; lives in the
// connection's frame.
struct Activity {
  SteadyClock::time_point last;
  // Since when a request has been in progress (the read that began its
  // line, or the start of a wait for the client to read its replies);
  // max(): none. See ServerContext::close_by.
  SteadyClock::time_point request_since = SteadyClock::time_point::max();
  // Set by the sweeper when it shut the socket down: why.
  enum class Expired : std::uint8_t { no, idle, request } expired = Expired::no;
  bool timed_out = false;  // expired != no, for the read loop's test
  // Waiting for the client to take our replies: activity, not idleness, up
  // to the request deadline.
  bool waiting_for_reader = false;
  // Waiting for the kitchen to confirm this connection's orders: not idle,
  // however long Redis takes (it has its own timeout).
  bool waiting_for_kitchen = false;

  // After input: a line begun in this read starts the request deadline; no
  // line in progress ends it.
  void after_input(bool was_in_line, bool finished_a_line, bool in_line,
                   SteadyClock::time_point now) noexcept {
    last = now;
    if (!in_line) {
      request_since = SteadyClock::time_point::max();
    } else if (!was_in_line || finished_a_line) {
      request_since = now;
    }
  }
};

// Open client sockets, indexed by fd: shutdown SHUT_RDs them all, the
// sweeper checks them. A vector rather than a hash map: 8 bytes per fd
// instead of a ~50-byte node per connection, which is 0.5 MiB of the 10,000
// idle connections' budget.
class OpenConnections {
 public:
  void add(int fd, Activity* activity) {
    const auto index = static_cast<std::size_t>(fd);
    if (index >= by_fd_.size()) {
      by_fd_.resize(std::max(index + 1, by_fd_.size() * 2), nullptr);
    }
    by_fd_[index] = activity;
  }
  void remove(int fd) noexcept { by_fd_[static_cast<std::size_t>(fd)] = nullptr; }

  template <typename Fn>
  void for_each(Fn fn) const {
    for (std::size_t fd = 0; fd < by_fd_.size(); ++fd) {
      if (by_fd_[fd] != nullptr) {
        fn(static_cast<int>(fd), *by_fd_[fd]);
      }
    }
  }

 private:
  std::vector<Activity*> by_fd_;
};

struct CoroShard {
  ServerContext& context;
  int listener;
  bool stopping = false;
  OpenConnections open;
  KitchenQueue* kitchen = nullptr;  // with --kitchen
  // Every shard's queue logs the kitchen's outages through this one.
  std::shared_ptr<KitchenQueue::SharedOutage> kitchen_outage;
};

// Small buffers: an idle connection should cost little, and the protocol's
// lines are a few bytes.
constexpr StreamOptions kStreamOptions{
    .high_water = OrderSession::kOutputHighWater,
    .low_water = OrderSession::kOutputHighWater / 4,
    .read_ahead_limit = OrderSession::kReadChunk,
    .read_chunk = OrderSession::kReadChunk,
};

// Back-pressure: a client that does not read its replies waits here, which
// counts against its request deadline rather than as idleness.
Task<void> wait_for_reader(TcpStream& stream, Activity& activity) {
  activity.waiting_for_reader = true;
  activity.request_since = std::min(activity.request_since, SteadyClock::now());
  co_await stream.drain();
  activity.waiting_for_reader = false;
  activity.last = SteadyClock::now();
}

Task<void> flush(TcpStream& stream) {
  co_await stream.flush();
}

// serve_client's conversation with --kitchen: the valid orders of each read
// go to the kitchen's queue together (one pipelined round trip to Redis),
// and the replies to that read, in order, wait for the answer.
Task<void> converse_with_kitchen(CoroShard& shard, TcpStream& stream, Activity& activity) {
  OrderParser parser(shard.context.options().max_order);
  std::vector<Order> orders;
  std::vector<int> valid;
  std::string replies;
  const auto take = [&orders](Order order) { orders.push_back(order); };
  while (true) {
    const std::string data = co_await stream.read_some(OrderSession::kReadChunk);
    orders.clear();
    const bool was_in_line = parser.in_line();
    if (!data.empty()) {
      parser.feed(data, take);
    } else if (!shard.stopping && !activity.timed_out) {
      parser.finish(take);  // the peer's end of stream: see serve_client
    }
    activity.after_input(was_in_line, !orders.empty(), parser.in_line(), SteadyClock::now());
    if (!orders.empty()) {
      valid.clear();
      for (const Order order : orders) {
        if (order.valid()) {
          valid.push_back(order.pizzas);
        }
      }
      activity.waiting_for_kitchen = true;
      const std::vector<KitchenQueue::Placement> placed = co_await shard.kitchen->place(valid);
      activity.waiting_for_kitchen = false;
      activity.last = SteadyClock::now();
      replies.clear();
      std::size_t next = 0;
      for (const Order order : orders) {
        const auto placement = order.valid() ? placed[next++] : KitchenQueue::Placement::placed;
        if (placement == KitchenQueue::Placement::refused) {
          replies += kKitchenClosedReply;
        } else if (placement == KitchenQueue::Placement::unknown) {
          replies += kKitchenUnsureReply;
        } else {
          append_reply(replies, order);
        }
      }
      stream.write(replies);
      if (stream.queued_output() > kStreamOptions.high_water) {
        co_await wait_for_reader(stream, activity);
      }
    }
    if (data.empty()) {
      co_return;
    }
  }
}

// `peer` is only for --verbose lines (null otherwise): a pointer keeps 24
// bytes out of every idle connection's frame.
// Two instances: with a kitchen and without. The choice is made once per
// connection, where it is spawned, so the frame of a connection without a
// kitchen holds nothing of the kitchen's (an idle connection's cost is
// measured: bench/server_bench.py).
template <bool kWithKitchen>
Task<void> serve_client(CoroShard& shard, UniqueFd fd, ConnectionSlot slot,
                        std::unique_ptr<const std::string> peer) {
  ServerContext& context = shard.context;
  const int raw_fd = fd.get();
  set_non_blocking(raw_fd);
  TcpStream stream(std::move(fd), kStreamOptions);
  Activity activity{.last = SteadyClock::now()};
  shard.open.add(raw_fd, &activity);
  std::string reason;
  try {
    if constexpr (kWithKitchen) {
      co_await converse_with_kitchen(shard, stream, activity);
    } else {
      OrderSession session(context.options().max_order);
      while (true) {
        const std::string data = co_await stream.read_some(OrderSession::kReadChunk);
        const bool was_in_line = session.in_line();
        const std::size_t answered = session.orders_answered();
        if (!data.empty()) {
          session.on_input(data);
        } else if (!shard.stopping && !activity.timed_out) {
          // The peer's end of stream (not our own SHUT_RD at shutdown or after
          // an idle timeout): its unterminated last line is a final order.
          session.on_end_of_input();
        }
        activity.after_input(was_in_line, session.orders_answered() != answered, session.in_line(),
                             SteadyClock::now());
        if (session.has_pending_output()) {
          stream.write(session.pending_output());
          session.consume_output(session.pending_output().size());
          if (stream.queued_output() > kStreamOptions.high_water) {
            co_await wait_for_reader(stream, activity);
          }
        }
        if (data.empty()) {
          break;
        }
      }
    }
    co_await flush(stream);
  } catch (const CancelledError&) {
    reason = "shutdown deadline";
  } catch (const std::system_error& error) {
    reason = error.what();  // reset, broken pipe: this client only
  }
  if (activity.expired != Activity::Expired::no) {
    reason = activity.expired == Activity::Expired::idle ? "idle timeout" : "request timeout";
  }
  shard.open.remove(raw_fd);
  // The slot first: a client that sees our FIN may connect again at once,
  // and must find its old slot free.
  slot.release();
  stream.close();
  if (!peer) {
    co_return;
  }
  if (reason.empty()) {
    context.verbose("Connection with {} has been closed", *peer);
  } else {
    context.verbose("Connection with {} has been closed ({})", *peer, reason);
  }
}

Task<void> accept_clients(CoroShard& shard, TaskGroup& connections) {
  while (true) {
    co_await wait_readable(shard.listener);
    // Bounded per wake-up, so a connection storm cannot starve open clients.
    for (int i = 0; i < 64; ++i) {
      std::optional<AcceptedClient> client = shard.context.accept(shard.listener);
      if (!client) {
        break;
      }
      std::unique_ptr<const std::string> peer;
      if (shard.context.options().verbose) {
        peer = std::make_unique<const std::string>(client->peer.to_string());
      }
      if (shard.kitchen != nullptr) {
        connections.spawn(serve_client<true>(shard, std::move(client->fd), std::move(client->slot),
                                             std::move(peer)));
      } else {
        connections.spawn(serve_client<false>(shard, std::move(client->fd), std::move(client->slot),
                                              std::move(peer)));
      }
    }
    // During an accept pause (the kernel is short of memory) the listener
    // stays readable, so waiting for it again would return at once: sleep
    // the pause out instead (cancelled like the wait at shutdown).
    const auto resume_at = shard.context.accept_paused_until();
    const auto now = SteadyClock::now();
    if (now < resume_at) {
      co_await sleep(std::chrono::duration_cast<Duration>(resume_at - now));
    }
  }
}

// Idle timeouts and request deadlines for the whole shard: one timer,
// however many connections, and nothing to do per request but stamp a
// time. An expired connection's socket is shut down, which ends its
// pending read (or drain).
Task<void> sweep_idle(CoroShard& shard) {
  const ServerContext& context = shard.context;
  const auto shortest = [](std::chrono::milliseconds a, std::chrono::milliseconds b) {
    return a.count() <= 0 ? b : b.count() <= 0 ? a : std::min(a, b);
  };
  const auto interval =
      std::clamp(shortest(context.policy().idle_timeout, context.policy().request_timeout) / 8,
                 std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
  while (true) {
    co_await sleep(std::chrono::duration_cast<Duration>(interval));
    const auto now = SteadyClock::now();
    shard.open.for_each([&](int fd, Activity& activity) {
      if (activity.timed_out || activity.waiting_for_kitchen) {
        return;
      }
      const std::string_view why =
          context.expired(activity.last, activity.request_since, activity.waiting_for_reader, now);
      if (!why.empty()) {
        activity.timed_out = true;
        activity.expired =
            why == "idle timeout" ? Activity::Expired::idle : Activity::Expired::request;
        ::shutdown(fd, SHUT_RDWR);
      }
    });
  }
}

Task<void> serve_shard(CoroShard& shard) {
  // The shard's own kitchen queue, if any: its Redis connection belongs to
  // this loop, and goes before the loop does.
  const ServerOptions& options = shard.context.options();
  std::optional<KitchenQueue> kitchen;
  if (!options.kitchen_host.empty()) {
    kitchen.emplace(KitchenQueue::Options{.host = options.kitchen_host,
                                          .port = options.kitchen_port,
                                          .credentials = options.kitchen_credentials,
                                          .stream = options.kitchen_stream,
                                          .outage = shard.kitchen_outage},
                    [&context = shard.context](std::string_view line) { context.log(line); });
    shard.kitchen = &*kitchen;
  }
  TaskGroup connections;
  {
    TaskGroup background;
    background.spawn(accept_clients(shard, connections));
    if (shard.context.policy().idle_timeout.count() > 0 ||
        shard.context.policy().request_timeout.count() > 0) {
      background.spawn(sweep_idle(shard));
    }
    co_await wait_readable(shard.context.shutdown_fd());
    shard.stopping = true;
    background.cancel();
    try {
      co_await background.join();
    } catch (const CancelledError&) {
      // The accept loop and the sweeper end by cancellation: the plan.
    }
  }
  // "Answer every complete order already received": each pending read
  // returns what the kernel holds, then end of stream.
  shard.open.for_each([](int fd, Activity&) { ::shutdown(fd, SHUT_RD); });
  const auto left = shard.context.shutdown_deadline() - SteadyClock::now();
  try {
    co_await timeout(std::chrono::duration_cast<Duration>(left), connections.join());
  } catch (const TimeoutError&) {
    // The deadline passed: join() cancelled the stragglers and waited for
    // them; their sockets are closed.
  }
}

void run_coro(ServerContext& context) {
  const auto kitchen_outage = std::make_shared<KitchenQueue::SharedOutage>();
  run_sharded(context, [&kitchen_outage](ServerContext& shard_context, int listener) {
    CoroShard shard{.context = shard_context,
                    .listener = listener,
                    .stopping = false,
                    .open = {},
                    .kitchen_outage = kitchen_outage};
    pz::run(serve_shard(shard));
  });
}

}  // namespace

const ServerModel kCoroModel{
    .name = "coro",
    .summary =
        "a coroutine per connection (pz::Task, TcpStream) on pz::EventLoop; one loop per "
        "--workers shard",
    .shards_with_reuseport = true,
    .supports_kitchen = true,
    .run = run_coro,
};

}  // namespace pz::pizza
