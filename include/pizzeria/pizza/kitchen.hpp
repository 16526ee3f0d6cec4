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
// which died left unfinished for `reclaim_after` (XPENDING IDLE, then
// XCLAIM with that idle time as a lease: of two cooks, only one claims it),
// else wait up to `poll` for a new one (XREADGROUP ... BLOCK), bake it
// (`bake_time` per pizza), and only then acknowledge it. A cook baking
// longer than `reclaim_after` renews its claim as it goes, only while the
// order is still its own, so nobody takes a pizza out of a living cook's
// oven and a cook that slept through its lease gives the order up.
//
// The guarantee is at-least-once delivery with duplicates detected: an
// order is reported as baked (on_baked) once Redis confirmed its
// acknowledgement, and a cook whose acknowledgement went unconfirmed keeps
// the order and acknowledges it again (a script: acknowledge, delete, and
// remember who baked it for a day). A bake that another cook had already
// acknowledged, or that another cook holds, is reported as a duplicate
// (BakedOrder::duplicate), never as a normal bake.
//
// An order delivered `max_deliveries` times without being acknowledged
// (it kills its cooks, say) moves to the dead-letter stream
// (dead_letter_stream(), with the reason) instead of being baked again.
// Consumers of the group that hold nothing and have been silent for
// `forget_cooks_after` (cooks of killed kitchens) are removed by the
// living.
//
// An entry that is not an order (no `pizzas` field of 1 or more) is
// reported through `log`, acknowledged and skipped, so it cannot block the
// queue. So is an entry too large to read (more than
// RedisConnection::kMaxReplyBytes or kMaxReplyElements): reading it breaks
// the connection, so it is deleted unread, once a reclaim has named it. A
// cook that loses Redis says so through `log` and reconnects every second
// (the first connection, at start, fails run() instead: a wrong address
// should be heard of at once); the order in its oven stays pending
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
#include <optional>
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
  // A repeat bake: another cook acknowledged this order first, or holds it
  // now (`first` names it; empty when Redis no longer remembers who).
  bool duplicate = false;
  std::string first{};
};

// One order moved to the dead-letter stream.
struct DeadLetter {
  std::string id{};      // the dead-letter entry's id
  std::string order{};   // the order's id on the order stream
  std::string reason{};  // why it was given up on
  std::string fields{};  // the order's fields, "pizzas 3 token ..."
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
    // An order delivered this many times and never acknowledged moves to
    // the dead-letter stream instead of being baked again.
    int max_deliveries = 5;
    // A consumer of the group that holds nothing and has not been heard of
    // for this long is removed (its kitchen was killed). Each cook's turn
    // renews its heartbeat key for this long, so keep it well above `poll`
    // and `answer_timeout`, or living idle cooks are removed too (harmless:
    // Redis makes a consumer again at its next delivery, but noisy).
    std::chrono::milliseconds forget_cooks_after{std::chrono::minutes(5)};
    // How long Redis remembers who baked an order, to tell a repeat bake
    // from a retried acknowledgement.
    std::chrono::seconds remember_bakes{std::chrono::hours(24)};
  };

  // The dead-letter stream of an order stream: "<stream>:dead".
  [[nodiscard]] static std::string dead_letter_stream(std::string_view stream);
  // Its entries, oldest first, at most `count`.
  [[nodiscard]] static Task<std::vector<DeadLetter>> dead_letters(RedisConnection& redis,
                                                                  std::string_view stream,
                                                                  std::size_t count);

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
  [[nodiscard]] std::uint64_t duplicates() const noexcept { return duplicates_; }
  [[nodiscard]] std::uint64_t dead_lettered() const noexcept { return dead_lettered_; }
  [[nodiscard]] std::uint64_t forgotten_cooks() const noexcept { return forgotten_; }

 private:
  struct Cook {
    int number = 0;
    std::string consumer;        // its name in the group
    std::string cursor = "0-0";  // where its next XAUTOCLAIM scan starts
    // An entry too large for RedisConnection to read (its fetch broke the
    // connection): deleted unread on the cook's next turn.
    std::string unreadable{};
    // A baked order whose acknowledgement Redis has not confirmed: it is
    // acknowledged again before anything else.
    std::optional<BakedOrder> unacknowledged{};
  };
  // What Redis said to an acknowledgement.
  struct Acknowledged {
    bool now = false;   // this acknowledgement took it off the pending list
    std::string first;  // who acknowledged it (or holds it), if not now
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
  // XACK and XDEL, unless another consumer holds it: the order is done and
  // leaves the stream; who baked it is remembered.
  Task<Acknowledged> finish(RedisConnection& redis, const std::string& id,
                            const std::string& consumer) const;
  // Acknowledges a baked order and reports it (on_baked), as a duplicate if
  // Redis says so; the cook keeps it until Redis confirmed.
  Task<void> deliver(RedisConnection& redis, Cook& cook);
  // Moves `id` to the dead-letter stream, with `reason`.
  Task<void> bury(RedisConnection& redis, const std::string& id, const std::string& reason);
  // Removes the consumers that hold nothing and have been silent for
  // forget_cooks_after; at most every half that time per kitchen.
  Task<void> forget_dead_cooks(RedisConnection& redis, const std::string& consumer);
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
  std::uint64_t duplicates_ = 0;
  std::uint64_t dead_lettered_ = 0;
  std::uint64_t forgotten_ = 0;
  std::chrono::steady_clock::time_point next_sweep_{};
};

}  // namespace pz::pizza
