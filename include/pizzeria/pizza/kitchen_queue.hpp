// pz::pizza::KitchenQueue: the pizza server's end of the kitchen queue
// (`pizzeria serve --kitchen HOST:PORT`). Every valid order is appended to a
// Redis stream (XADD) before the customer hears "Thank you": the reply then
// means the order is in the kitchen's queue, kept by Redis (durable as far
// as its persistence settings say: with `appendonly yes` and
// `appendfsync always`, a crash of Redis itself loses no confirmed order),
// and any number of `pizzeria kitchen` processes, on any machines that reach
// that Redis, take it from there (pz::pizza::Kitchen).
//
//   KitchenQueue queue({.host = "127.0.0.1", .port = 6379});
//   std::vector<Placement> placed = co_await queue.place({3, 5});   // two entries
//
// One queue per shard (its connection belongs to the shard's loop); the
// orders of every connection of the shard share that connection, pipelined.
// Every answer is true (Placement): `placed` only once Redis confirmed the
// entry; `refused` only when the order is certainly not on the stream (it
// was never sent, Redis refused it, or a fence proved it will never run);
// `unknown` when neither could be found out within `lookup_timeout`.
//
// Each entry carries a token of its own, and goes to Redis as a script that
// writes the entry and a short-lived key named after the token, unless that
// key exists. When the confirmation does not come within `timeout` (or the
// connection breaks first), the queue reconnects and fences the token: SET
// the key NX. If the script ran, the key holds the entry's id: placed. If
// not, the fence now stops it from ever running (Redis may still hold it in
// a socket buffer, to run when it resumes): refused. Replies that came
// before the trouble are kept. A connection whose oldest reply is overdue
// by `stall_after` takes no new orders (they are refused unsent).
//
// When Redis cannot be reached, the orders are refused. During such an
// outage one order, at most once per `retry_interval`, tries to connect
// (waiting up to `connect_timeout`), and every other order is refused at
// once; the kitchen is back when Redis answers a command, not merely when a
// connection opens.
//
// Thread safety: loop thread only (one queue per loop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/coro/mutex.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/pizza/order_stream.hpp"

namespace pz::pizza {

class KitchenQueue {
 public:
  // Whether the kitchen is down, as far as the log has said: shared by the
  // queues of one server's shards, so that an outage makes one
  // "unreachable" line and one "reachable again" line for the whole server
  // rather than one pair per shard (a shard that saw the outage and then
  // took no order would otherwise leave "unreachable" as the last word).
  // Thread safety: any thread.
  class SharedOutage {
   public:
    // True for the caller that turned "up" into "down": it logs the outage.
    bool begin() noexcept { return !down_.exchange(true, std::memory_order_relaxed); }
    // True for the caller that turned "down" into "up": it logs the end.
    bool end() noexcept {
      return down_.load(std::memory_order_relaxed) &&
             down_.exchange(false, std::memory_order_relaxed);
    }

   private:
    // Relaxed: the flag publishes no other data; the exchange alone makes
    // exactly one caller see each change, which is all the log needs.
    std::atomic<bool> down_{false};
  };

  // What became of one order; every value is true when said.
  enum class Placement {
    placed,   // Redis confirmed its entry on the stream
    refused,  // certainly not on the stream, and never will be
    unknown,  // Redis did not answer in time, even to the fence: it may be
  };

  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    RedisCredentials credentials{};  // AUTH on each connection, when Redis wants it
    std::string stream{kDefaultOrderStream};
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // for Redis's answer
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(1)};
    std::chrono::milliseconds retry_interval{std::chrono::seconds(1)};
    // A connection whose oldest reply is this overdue is stuck (a paused
    // Redis, a link gone without a reset): new orders do not queue on it.
    std::chrono::milliseconds stall_after{std::chrono::seconds(1)};
    // After an order went unanswered: how long to find out (reconnecting,
    // then fencing its token) before answering `unknown`.
    std::chrono::milliseconds lookup_timeout{std::chrono::seconds(5)};
    // How long Redis keeps a placed order's token key: longer than any
    // lookup (timeout plus lookup_timeout). A fence is kept for a day: a
    // script Redis still held past that could run after all.
    std::chrono::seconds token_ttl{std::chrono::minutes(10)};
    std::chrono::seconds fence_ttl{std::chrono::hours(24)};
    // Shared with the other shards' queues; null: this queue's own.
    std::shared_ptr<SharedOutage> outage{};
  };
  // `log` gets one line per outage ("kitchen unreachable: ...") and one when
  // the kitchen is back (per `Options::outage`: once for all the queues that
  // share it); refusals (error replies to XADD) at most a line a
  // second. A reply to XADD that is neither an entry id nor an error drops
  // the connection as an outage: the peer is not Redis, or out of step.
  explicit KitchenQueue(Options options, std::function<void(std::string_view)> log = {});

  // Appends one entry per order, {pizzas: N, token: T}, in order; returns
  // what became of each order (Placement). Never throws for Redis trouble.
  [[nodiscard]] Task<std::vector<Placement>> place(std::vector<int> pizzas);

  // The key that holds an order's token (and then its entry's id).
  [[nodiscard]] static std::string token_key(std::string_view stream, std::string_view token);

 private:
  [[nodiscard]] std::string address() const;  // HOST:PORT, for the log
  Task<bool> connect();
  // Finds out, by fencing their tokens on a new connection, what became of
  // the orders whose answers did not come (`which` indexes `tokens`).
  Task<void> settle(const std::vector<std::string>& tokens, std::vector<std::size_t> which,
                    std::vector<Placement>& placed);
  void lost(std::string_view why);
  // Logs that Redis refused `orders` orders (an error reply), rate-limited.
  void refused(std::size_t orders, std::string_view why);

  Options options_;
  std::function<void(std::string_view)> log_;
  RedisConnection redis_;
  Mutex connecting_;  // one connection attempt at a time
  std::chrono::steady_clock::time_point retry_at_{};
  bool down_ = false;  // this queue failed to reach Redis and has not since
  std::chrono::steady_clock::time_point next_refusal_log_{};
  std::size_t unlogged_refusals_ = 0;  // refused orders not yet counted in a line
  std::string token_prefix_;           // random, per queue: tokens unique across servers
  std::uint64_t next_token_ = 0;
};

}  // namespace pz::pizza
