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
//   std::vector<bool> placed = co_await queue.place({3, 5});   // XADD, XADD
//
// One queue per shard (its connection belongs to the shard's loop); the
// orders of every connection of the shard share that connection, pipelined.
// When Redis cannot be reached, or does not answer within `timeout`, the
// orders are not placed (false) and the server tells the customer the
// kitchen is closed. During such an outage one order, at most once per
// `retry_interval`, tries to connect (waiting up to `connect_timeout`), and
// every other order is refused at once; the kitchen is back when Redis
// answers a command, not merely when a connection opens. An order that timed out may still reach
// the stream afterwards: the customer, told it failed, may order again — the one case in which an
// order can be made twice, as with any request whose answer is lost.
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

  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    RedisCredentials credentials{};  // AUTH on each connection, when Redis wants it
    std::string stream{kDefaultOrderStream};
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // for Redis's answer
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(1)};
    std::chrono::milliseconds retry_interval{std::chrono::seconds(1)};
    // Shared with the other shards' queues; null: this queue's own.
    std::shared_ptr<SharedOutage> outage{};
  };
  // `log` gets one line per outage ("kitchen unreachable: ...") and one when
  // the kitchen is back (per `Options::outage`: once for all the queues that
  // share it); refusals (error replies to XADD) at most a line a
  // second. A reply to XADD that is neither an entry id nor an error drops
  // the connection as an outage: the peer is not Redis, or out of step.
  explicit KitchenQueue(Options options, std::function<void(std::string_view)> log = {});

  // Appends one entry per order, {pizzas: N}, in order; returns, per order,
  // whether Redis confirmed it. Never throws for Redis trouble.
  [[nodiscard]] Task<std::vector<bool>> place(std::vector<int> pizzas);

 private:
  [[nodiscard]] std::string address() const;  // HOST:PORT, for the log
  Task<bool> connect();
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
};

}  // namespace pz::pizza
