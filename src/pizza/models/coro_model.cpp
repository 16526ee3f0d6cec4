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
// Graceful shutdown shows the streams' cancellation rule at work: the
// listener's accept loop is cancelled; every connection gets SHUT_RD, so its
// pending read returns what the kernel already holds and then end of
// stream; replies are flushed; at the deadline the group is cancelled and
// every still-waiting await raises CancelledError.
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <system_error>
#include <unordered_set>

#include "pizza/models/models.hpp"
#include "pizza/models/sharding.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/net/tcp_stream.hpp"
#include "pizzeria/net/wait_readable.hpp"
#include "pizzeria/pizza/order_session.hpp"
#include "pizzeria/pizza/server_context.hpp"

namespace pz::pizza {
namespace {

struct CoroShard {
  ServerContext& context;
  int listener;
  bool stopping = false;
  // Open client sockets, so shutdown can SHUT_RD them all.
  std::unordered_set<int> open;
};

// Small buffers: an idle connection should cost little (bench/server_bench.py
// measures 10,000 of them), and the protocol's lines are a few bytes.
constexpr StreamOptions kStreamOptions{
    .high_water = OrderSession::kOutputHighWater,
    .low_water = OrderSession::kOutputHighWater / 4,
    .read_ahead_limit = OrderSession::kReadChunk,
    .read_chunk = OrderSession::kReadChunk,
};

Task<void> serve_client(CoroShard& shard, AcceptedClient client) {
  ServerContext& context = shard.context;
  const std::string peer = client.peer.to_string();
  const int fd = client.fd.get();
  set_non_blocking(fd);
  context.verbose("Connected to {}", peer);
  TcpStream stream(std::move(client.fd), kStreamOptions);
  shard.open.insert(fd);
  OrderSession session(context.options().max_order);
  const auto idle_timeout = std::chrono::duration_cast<Duration>(context.options().idle_timeout);
  std::string reason;
  try {
    while (true) {
      std::string data;
      if (idle_timeout.count() > 0 && !shard.stopping) {
        data = co_await timeout(idle_timeout, stream.read_some(OrderSession::kReadChunk));
      } else {
        data = co_await stream.read_some(OrderSession::kReadChunk);
      }
      if (data.empty()) {
        // End of stream. At shutdown it is our own SHUT_RD, not the peer's
        // half-close: an unterminated line then is not a complete order.
        if (!shard.stopping) {
          session.on_end_of_input();
        }
      } else {
        session.on_input(data);
      }
      if (session.has_pending_output()) {
        stream.write(session.pending_output());
        session.consume_output(session.pending_output().size());
        co_await stream.drain();  // back-pressure: a client that does not read waits here
      }
      if (data.empty()) {
        break;
      }
    }
    co_await stream.flush();
  } catch (const TimeoutError&) {
    reason = "idle timeout";
  } catch (const CancelledError&) {
    reason = "shutdown deadline";
  } catch (const std::system_error& error) {
    reason = error.what();  // reset, broken pipe: this client only
  }
  shard.open.erase(fd);
  stream.close();
  if (reason.empty()) {
    context.verbose("Connection with {} has been closed", peer);
  } else {
    context.verbose("Connection with {} has been closed ({})", peer, reason);
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
      connections.spawn(serve_client(shard, std::move(*client)));
    }
  }
}

Task<void> serve_shard(CoroShard& shard) {
  TaskGroup connections;
  {
    TaskGroup acceptor;
    acceptor.spawn(accept_clients(shard, connections));
    co_await wait_readable(shard.context.shutdown_fd());
    shard.stopping = true;
    acceptor.cancel();
    try {
      co_await acceptor.join();
    } catch (const CancelledError&) {
      // The accept loop ends by cancellation: that is the plan.
    }
  }
  // "Answer every complete order already received": each pending read
  // returns what the kernel holds, then end of stream.
  for (int fd : shard.open) {
    ::shutdown(fd, SHUT_RD);
  }
  const auto left = shard.context.shutdown_deadline() - std::chrono::steady_clock::now();
  try {
    co_await timeout(std::chrono::duration_cast<Duration>(left), connections.join());
  } catch (const TimeoutError&) {
    // The deadline passed: join() cancelled the stragglers and waited for
    // them; their sockets are closed.
  }
}

void run_coro(ServerContext& context) {
  detail::run_sharded(context, [](ServerContext& shard_context, int listener) {
    CoroShard shard{.context = shard_context, .listener = listener, .stopping = false, .open = {}};
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
    .run = run_coro,
};

}  // namespace pz::pizza
