// pz::pizza::Kitchen: the cooks behind `pizzeria kitchen`. They take the
// orders that `pizzeria serve --kitchen` put on a Redis stream
// (pz::pizza::KitchenQueue) and bake them: any number of kitchens, on any
// machines that reach the Redis server, share the orders through one
// consumer group, so each order goes to one cook.
//
//   Kitchen kitchen({.host = "10.0.0.5", .cooks = 4}, [](const BakedOrder& order) {
//     fmt::print("Cook {} baked {} pizzas (order {})\n", order.cook, order.pizzas, order.id);
//   });
//   co_await kitchen.run();   // until close(), or --orders are baked
//
// Each cook has its own connection and loops: reclaim an order that a cook
// which died left unfinished for `reclaim_after` (XAUTOCLAIM), else wait up
// to `poll` for a new one (XREADGROUP ... BLOCK), bake it (`bake_time` per
// pizza), and only then acknowledge it (XACK). So an order is never lost:
// a cook that dies mid-bake leaves it pending, and another cook reclaims it.
// A cook baking longer than `reclaim_after` renews its claim as it goes, so
// nobody takes a pizza out of a living cook's oven. Delivery is at least
// once: a cook cut off from Redis for longer than `reclaim_after` while
// baking may find its order baked by another as well.
//
// An entry that is not an order (no `pizzas` field of 1 or more) is
// reported through `log`, acknowledged and skipped, so it cannot block the
// queue. So is an entry too large to read (more than
// RedisConnection::kMaxReplyBytes or kMaxReplyElements): reading it breaks
// the connection, so it is deleted unread, once a reclaim has named it. A cook that loses Redis
// says so through `log` and reconnects every second (the first connection, at start, fails run()
// instead: a wrong address should be heard of at once); the order in its oven stays pending
// meanwhile, and another cook reclaims it after `reclaim_after`. Lost
// includes: no answer within `answer_timeout`, a transient refusal
// (LOADING while Redis reads its data after a restart, BUSY, READONLY,
// OOM...), and a reply that is not Redis's answer to the command. Other
// error replies (NOAUTH...) end run() with an error naming the address.
//
// close() stops the cooks from taking new orders; each finishes and
// acknowledges the order in its oven, and run() returns. Cancelling run()
// instead stops them at once; their orders stay pending for others.
//
// Thread safety: loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/pizza/order_stream.hpp"
#include "pizzeria/pizza/protocol.hpp"

namespace pz::pizza {

struct BakedOrder {
  int cook = 0;    // 1..cooks
  std::string id;  // the stream entry's id
  int pizzas = 0;
};

class Kitchen {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    RedisCredentials credentials{};  // AUTH on each connection, when Redis wants it
    std::string stream{kDefaultOrderStream};
    std::string group = "kitchen";
    // This kitchen's name in the group; cook i is "<name>-<i>". Give each
    // kitchen process a name of its own (the default is host name and pid).
    std::string name;
    int cooks = 2;
    std::chrono::milliseconds bake_time{100};  // per pizza
    // The largest order baked. Anyone with access to Redis can XADD an
    // entry of two billion pizzas, which would hold a cook for years; a
    // larger order is reported, acknowledged and skipped like a non-order.
    // Keep it at least `pizzeria serve --max-order`, or thanked orders are
    // skipped.
    int max_pizzas = kDefaultMaxOrder;
    std::chrono::milliseconds reclaim_after{std::chrono::seconds(30)};
    std::chrono::milliseconds poll{std::chrono::seconds(1)};
    // How long Redis may take to accept a connection, or to answer a
    // command (beyond the `poll` an XREADGROUP blocks for): longer, and the
    // cook counts Redis as lost, says so, and reconnects.
    std::chrono::milliseconds answer_timeout{std::chrono::seconds(5)};
    std::uint64_t max_orders = 0;  // close after baking this many; 0: never
  };

  Kitchen(Options options, std::function<void(const BakedOrder&)> on_baked,
          std::function<void(std::string_view)> log = {});

  // Connects and creates the consumer group if needed (reading the stream
  // from its start, so orders placed before any kitchen opened are baked).
  // Throws if Redis cannot be reached or refuses. run() does it first if
  // nobody did.
  [[nodiscard]] Task<void> open();
  // Runs the cooks until close() or max_orders. Throws if Redis cannot be
  // reached at the start, or answers a command with an error.
  [[nodiscard]] Task<void> run();
  // No new orders; run() returns once the ovens are empty.
  void close() noexcept { closing_ = true; }

  [[nodiscard]] std::uint64_t baked() const noexcept { return baked_; }
  [[nodiscard]] std::uint64_t rejected() const noexcept { return rejected_; }

 private:
  struct Cook {
    int number = 0;
    std::string consumer;        // its name in the group
    std::string cursor = "0-0";  // where its next XAUTOCLAIM scan starts
    // An entry too large for RedisConnection to read (its fetch broke the
    // connection): deleted unread on the cook's next turn.
    std::string unreadable{};
  };

  Task<void> cook(int number);
  // One turn of a cook: take an order (reclaimed or new) and bake it.
  Task<void> take_and_bake(RedisConnection& redis, Cook& cook);
  Task<void> create_group(RedisConnection& redis) const;
  [[nodiscard]] std::string address() const;  // "HOST:PORT", for messages
  // A connection, within answer_timeout.
  Task<RedisConnection> connect() const;
  // The commands' replies, within answer_timeout plus `blocking` (what a
  // blocking command may wait by design). A transient error reply (LOADING,
  // BUSY, READONLY, OOM...) raises a runtime_error: the cook waits and
  // reconnects, as after a restart.
  Task<std::vector<RedisReply>> ask(RedisConnection& redis,
                                    std::vector<std::vector<std::string>> commands,
                                    std::chrono::milliseconds blocking = {}) const;
  Task<RedisReply> ask(RedisConnection& redis, std::vector<std::string> command,
                       std::chrono::milliseconds blocking = {}) const;
  // Raises a RedisError naming the address if `reply` is an error.
  void check(const RedisReply& reply, std::string_view command) const;
  // Raises: `reply` is not what Redis answers to `command`.
  [[noreturn]] void misshapen(const RedisReply& reply, std::string_view command,
                              std::string_view expected) const;
  // True (and the group made again) when `reply` says the group is gone.
  Task<bool> group_lost(RedisConnection& redis, const RedisReply& reply);
  // XACK and XDEL: the order is done and leaves the stream.
  Task<void> finish(RedisConnection& redis, const std::string& id) const;
  // Removes the cook's consumer from the group if nothing is pending for it.
  Task<void> leave(RedisConnection& redis, const std::string& consumer) const;

  Options options_;
  std::function<void(const BakedOrder&)> on_baked_;
  std::function<void(std::string_view)> log_;
  bool open_ = false;
  bool closing_ = false;
  std::uint64_t taken_ = 0;  // orders some cook has taken (max_orders counts these)
  std::uint64_t baked_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace pz::pizza
