#include "pizzeria/pizza/kitchen.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_error.hpp"

namespace pz::pizza {

namespace {

std::string milliseconds(std::chrono::milliseconds duration) {
  return std::to_string(duration.count());
}

std::string default_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) {
    std::string fallback = "kitchen";
    return fallback + "-" + std::to_string(::getpid());
  }
  return std::string(host) + "-" + std::to_string(::getpid());
}

// A stream entry as XREADGROUP and XAUTOCLAIM return it: [id, [field,
// value, ...]]. Anything else is not an entry (a deleted one is nil).
struct Entry {
  std::string id;
  std::vector<RedisReply> fields;
};

std::optional<Entry> as_entry(RedisReply& reply) {
  if (reply.kind != RedisReply::Kind::array || reply.elements.size() != 2 ||
      reply.elements[0].kind != RedisReply::Kind::bulk ||
      reply.elements[1].kind != RedisReply::Kind::array) {
    return std::nullopt;
  }
  return Entry{std::move(reply.elements[0].text), std::move(reply.elements[1].elements)};
}

// The entry's `pizzas` value when it is a whole number of at least one.
std::optional<int> pizzas_of(const Entry& entry) {
  for (std::size_t i = 0; i + 1 < entry.fields.size(); i += 2) {
    if (entry.fields[i].text != "pizzas") {
      continue;
    }
    const std::string& text = entry.fields[i + 1].text;
    int pizzas = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pizzas);
    if (error == std::errc() && end == text.data() + text.size() && pizzas >= 1) {
      return pizzas;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string describe(const Entry& entry) {
  std::string fields;
  for (const RedisReply& field : entry.fields) {
    fields += fields.empty() ? "" : " ";
    fields += field.text;
  }
  return "entry " + entry.id + " is not an order (" +
         (fields.empty() ? std::string("no fields") : fields) +
         "; an order has a field pizzas of 1 or more): acknowledged and skipped";
}

}  // namespace

Kitchen::Kitchen(Options options, std::function<void(const BakedOrder&)> on_baked,
                 std::function<void(std::string_view)> log)
    : options_(std::move(options)), on_baked_(std::move(on_baked)), log_(std::move(log)) {
  if (options_.cooks < 1) {
    throw std::invalid_argument("a kitchen needs at least one cook, got " +
                                std::to_string(options_.cooks));
  }
  if (options_.bake_time.count() < 0 || options_.reclaim_after.count() < 1 ||
      options_.poll.count() < 1) {
    throw std::invalid_argument(
        "kitchen: the bake time cannot be negative, and the reclaim and poll times must be at "
        "least 1 ms");
  }
  if (options_.name.empty()) {
    options_.name = default_name();
  }
}

Task<void> Kitchen::open() {
  if (open_) {
    co_return;
  }
  {
    RedisConnection redis;
    try {
      redis = co_await RedisConnection::open(options_.host, options_.port);
    } catch (const CancelledError&) {
      throw;
    } catch (const std::exception& error) {
      throw std::runtime_error("kitchen: cannot reach Redis at " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + error.what());
    }
    co_await create_group(redis);
  }
  open_ = true;
}

Task<void> Kitchen::create_group(RedisConnection& redis) const {
  // From the stream's start ("0"), so orders placed before the first
  // kitchen opened are baked too; MKSTREAM so a kitchen may open first.
  // Named vectors, not braced lists in the co_await: GCC 12 miscompiles
  // string literals in a braced list inside a coroutine's await.
  std::vector<std::string> create{"XGROUP",       "CREATE", options_.stream,
                                  options_.group, "0",      "MKSTREAM"};
  const RedisReply created = co_await redis.command(std::move(create));
  if (created.is_error() && created.text.rfind("BUSYGROUP", 0) != 0) {
    created.or_throw("creating the consumer group " + options_.group);
  }
}

Task<void> Kitchen::run() {
  co_await open();
  TaskGroup cooks;
  for (int number = 1; number <= options_.cooks; ++number) {
    cooks.spawn(cook(number));
  }
  co_await cooks.join();
}

Task<bool> Kitchen::group_lost(RedisConnection& redis, const RedisReply& reply) {
  // NOGROUP: Redis has no such group (it restarted without persistence, or
  // someone deleted the stream). The orders placed since are in a new
  // stream without it: make the group again, from the start, and go on.
  if (!reply.is_error() || reply.text.rfind("NOGROUP", 0) != 0) {
    co_return false;
  }
  if (log_) {
    log_("the consumer group " + options_.group + " of " + options_.stream +
         " is gone (Redis lost it); creating it again");
  }
  co_await create_group(redis);
  co_return true;
}

Task<void> Kitchen::finish(RedisConnection& redis, const std::string& id) const {
  // Acknowledged, and deleted: the stream holds what waits or bakes, not
  // every order ever made (Redis's memory and its append-only file would
  // otherwise grow for ever). One round trip for both.
  std::vector<std::vector<std::string>> done{{"XACK", options_.stream, options_.group, id},
                                             {"XDEL", options_.stream, id}};
  const std::vector<RedisReply> replies = co_await redis.pipeline(std::move(done));
  replies.at(0).or_throw("XACK");
  replies.at(1).or_throw("XDEL");
}

Task<void> Kitchen::leave(RedisConnection& redis, const std::string& consumer) const {
  // A consumer with nothing pending is removed from the group, so a kitchen
  // that restarts (with a new pid in its name) does not leave one behind
  // each time. One with pending orders stays: deleting it would drop them.
  std::vector<std::string> mine{"XPENDING", options_.stream, options_.group, "-", "+",
                                "1",        consumer};
  const RedisReply pending = (co_await redis.command(std::move(mine))).or_throw("XPENDING");
  if (pending.kind == RedisReply::Kind::array && pending.elements.empty()) {
    std::vector<std::string> remove{"XGROUP", "DELCONSUMER", options_.stream, options_.group,
                                    consumer};
    (co_await redis.command(std::move(remove))).or_throw("XGROUP DELCONSUMER");
  }
}

Task<void> Kitchen::cook(int number) {
  Cook cook{.number = number, .consumer = options_.name + "-" + std::to_string(number)};
  // The first connection fails fast (a wrong address is a mistake to hear
  // of at once); later ones are retried, since a kitchen is meant to ride
  // out a restart of Redis.
  RedisConnection redis = co_await RedisConnection::open(options_.host, options_.port);
  bool outage = false;
  while (!closing_ && (options_.max_orders == 0 || taken_ < options_.max_orders)) {
    try {
      if (!redis.is_open()) {
        redis = co_await RedisConnection::open(options_.host, options_.port);
        if (outage && log_) {
          log_("cook " + std::to_string(number) + " reconnected to Redis");
        }
        outage = false;
      }
      co_await take_and_bake(redis, cook);
    } catch (const CancelledError&) {
      throw;
    } catch (const RedisError&) {
      throw;  // Redis refused a command: a setup problem that waiting will not fix
    } catch (const std::exception& error) {
      // The connection broke (or could not be made). An order in this
      // cook's oven stays pending; after reclaim_after any cook takes it.
      if (!outage && log_) {
        log_("cook " + std::to_string(number) + " lost Redis (" + error.what() +
             "); retrying every second");
      }
      outage = true;
      redis.close();
    }
    if (outage) {
      co_await sleep(std::chrono::duration_cast<Duration>(std::chrono::seconds(1)));
    }
  }
  bool left = false;
  try {
    if (redis.is_open()) {
      co_await leave(redis, cook.consumer);
      left = true;
    }
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception&) {
    // Below: a consumer left in the group costs a few bytes, not an order.
  }
  if (!left && log_) {
    log_("cook " + std::to_string(number) + " could not leave the group; " + cook.consumer +
         " stays in it");
  }
}

Task<void> Kitchen::take_and_bake(RedisConnection& redis, Cook& cook) {
  const int number = cook.number;
  const std::string& consumer = cook.consumer;
  // Counted before the wait, so two cooks waiting at once cannot both take
  // the last order of max_orders; given back unless an order is baked.
  struct Reservation {
    std::uint64_t& taken;
    bool kept = false;
    ~Reservation() {
      if (!kept) {
        --taken;
      }
    }
  };
  ++taken_;
  Reservation reservation{taken_};
  std::optional<Entry> entry;
  // First an order that a dead cook left in its oven...
  std::vector<std::string> reclaim{"XAUTOCLAIM",
                                   options_.stream,
                                   options_.group,
                                   consumer,
                                   milliseconds(options_.reclaim_after),
                                   cook.cursor,
                                   "COUNT",
                                   "1"};
  RedisReply claimed = co_await redis.command(std::move(reclaim));
  if (co_await group_lost(redis, claimed)) {
    co_return;
  }
  claimed.or_throw("XAUTOCLAIM");
  // [next cursor, [entries], [deleted ids]]: the scan goes on from the
  // cursor next time (Redis looks at a bounded number of pending entries
  // per call), and starts over from 0-0 when it wraps.
  if (claimed.kind == RedisReply::Kind::array && !claimed.elements.empty()) {
    cook.cursor = claimed.elements[0].text.empty() ? "0-0" : claimed.elements[0].text;
  }
  if (claimed.kind == RedisReply::Kind::array && claimed.elements.size() >= 2 &&
      !claimed.elements[1].elements.empty()) {
    entry = as_entry(claimed.elements[1].elements.front());
    if (!entry) {
      co_return;  // a deleted entry (Redis 6.2 lists it as nil): next turn
    }
  } else {
    // ...else a new one, waiting at most `poll` so close() is noticed.
    std::vector<std::string> read{"XREADGROUP",
                                  "GROUP",
                                  options_.group,
                                  consumer,
                                  "COUNT",
                                  "1",
                                  "BLOCK",
                                  milliseconds(options_.poll),
                                  "STREAMS",
                                  options_.stream,
                                  ">"};
    RedisReply fresh = co_await redis.command(std::move(read));
    if (co_await group_lost(redis, fresh)) {
      co_return;
    }
    fresh.or_throw("XREADGROUP");
    // [[stream, [entry]]], or nil when `poll` passed without an order.
    if (fresh.kind == RedisReply::Kind::array && !fresh.elements.empty() &&
        fresh.elements[0].elements.size() == 2 && !fresh.elements[0].elements[1].elements.empty()) {
      entry = as_entry(fresh.elements[0].elements[1].elements.front());
    }
  }
  if (!entry) {
    co_return;
  }
  const std::optional<int> pizzas = pizzas_of(*entry);
  if (!pizzas) {
    ++rejected_;
    co_await finish(redis, entry->id);
    if (log_) {
      log_(describe(*entry));
    }
    co_return;
  }
  // Baking. The claim is renewed every half reclaim_after, so other cooks
  // never take this order from a living cook.
  const auto renew_every = std::max(options_.reclaim_after / 2, std::chrono::milliseconds(1));
  auto left = options_.bake_time * *pizzas;
  while (left.count() > 0) {
    const auto step = std::min(left, renew_every);
    co_await sleep(std::chrono::duration_cast<Duration>(step));
    left -= step;
    if (left.count() > 0) {
      std::vector<std::string> renew{"XCLAIM", options_.stream, options_.group, consumer,
                                     "0",      entry->id,       "JUSTID"};
      (co_await redis.command(std::move(renew))).or_throw("XCLAIM");
    }
  }
  co_await finish(redis, entry->id);
  reservation.kept = true;
  ++baked_;
  if (on_baked_) {
    on_baked_(BakedOrder{.cook = number, .id = entry->id, .pizzas = *pizzas});
  }
}

}  // namespace pz::pizza
