#include "pizzeria/pizza/kitchen.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "pizzeria/core/loggable_text.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_error.hpp"
#include "pizzeria/net/redis_reply_too_large_error.hpp"
#include "pizzeria/pizza/stream_entry.hpp"

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

std::string describe(const StreamEntry& entry) {
  return "entry " + loggable_text(entry.id) + " is not an order (" + entry.describe_fields() +
         "; an order has a field pizzas of 1 or more): acknowledged and skipped";
}

std::string unreadable(const std::string& id) {
  return "entry " + loggable_text(id) + " is larger than this kitchen reads (" +
         std::to_string(RedisConnection::kMaxReplyBytes) + " bytes, " +
         std::to_string(RedisConnection::kMaxReplyElements) +
         " elements): acknowledged and deleted unread";
}

std::string too_large(const StreamEntry& entry, int pizzas, int max_pizzas) {
  return "entry " + loggable_text(entry.id) + " orders " + std::to_string(pizzas) +
         " pizzas, more than this kitchen bakes (--max-order " + std::to_string(max_pizzas) +
         "): acknowledged and skipped";
}

bool is_array(const RedisReply& reply) {
  return reply.kind == RedisReply::Kind::array;
}

// Error replies that say Redis cannot serve now but will: it is loading
// its data after a restart, a script is busy, a replica lost its master,
// it is out of memory, or (after a failover) it became a replica. Waiting
// fixes these; a kitchen must ride them out like a restart.
bool is_transient(const RedisReply& reply) {
  static constexpr std::string_view kPrefixes[] = {"LOADING ",  "BUSY ", "MASTERDOWN ", "TRYAGAIN ",
                                                   "READONLY ", "OOM ",  "CLUSTERDOWN "};
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes),
                     [&](std::string_view prefix) { return reply.text.rfind(prefix, 0) == 0; });
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
      options_.poll.count() < 1 || options_.answer_timeout.count() < 1) {
    throw std::invalid_argument(
        "kitchen: the bake time cannot be negative, and the reclaim, poll and answer times must "
        "be at least 1 ms");
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
      redis = co_await connect();
      co_await create_group(redis);
    } catch (const CancelledError&) {
      throw;
    } catch (const RedisError&) {
      throw;  // names the address already
    } catch (const std::exception& error) {
      throw std::runtime_error("kitchen: cannot reach Redis at " + address() + ": " + error.what());
    }
  }
  open_ = true;
}

std::string Kitchen::address() const {
  return options_.host + ":" + std::to_string(options_.port);
}

Task<RedisConnection> Kitchen::connect() const {
  try {
    co_return co_await timeout(
        std::chrono::duration_cast<Duration>(options_.answer_timeout),
        RedisConnection::open(options_.host, options_.port, options_.credentials));
  } catch (const TimeoutError&) {
    throw std::runtime_error("no connection within " + milliseconds(options_.answer_timeout) +
                             " ms");
  }
}

Task<std::vector<RedisReply>> Kitchen::ask(RedisConnection& redis,
                                           std::vector<std::vector<std::string>> commands,
                                           std::chrono::milliseconds blocking) const {
  // Without a bound, a Redis that stops answering (stopped, or its machine
  // gone without a reset) would hold the cook for ever, silently.
  const std::string name = commands.empty() ? std::string() : commands.front().front();
  try {
    std::vector<RedisReply> replies =
        co_await timeout(std::chrono::duration_cast<Duration>(options_.answer_timeout + blocking),
                         redis.pipeline(std::move(commands)));
    for (const RedisReply& reply : replies) {
      if (reply.is_error() && is_transient(reply)) {
        throw std::runtime_error("Redis at " + address() + " cannot serve " + name +
                                 " now: " + loggable_text(reply.text));
      }
    }
    co_return replies;
  } catch (const TimeoutError&) {
    throw std::runtime_error("Redis at " + address() + " did not answer " + name + " within " +
                             milliseconds(options_.answer_timeout + blocking) + " ms");
  }
}

Task<RedisReply> Kitchen::ask(RedisConnection& redis, std::vector<std::string> command,
                              std::chrono::milliseconds blocking) const {
  std::vector<std::vector<std::string>> one;
  one.push_back(std::move(command));
  std::vector<RedisReply> replies = co_await ask(redis, std::move(one), blocking);
  co_return std::move(replies.front());
}

void Kitchen::check(const RedisReply& reply, std::string_view command) const {
  if (reply.is_error()) {
    throw RedisError("Redis at " + address() + " refused " + std::string(command) + ": " +
                     loggable_text(reply.text));
  }
}

void Kitchen::misshapen(const RedisReply& reply, std::string_view command,
                        std::string_view expected) const {
  // Not Redis's answer to the command (a fake, a proxy gone wrong): the
  // connection is not to be trusted; dropping it also spaces the retries a
  // second apart instead of a busy loop of bad answers.
  throw std::runtime_error("Redis at " + address() + " answered " + std::string(command) +
                           " with " + reply.describe() + ", not " + std::string(expected) +
                           " (is it Redis?)");
}

Task<void> Kitchen::create_group(RedisConnection& redis) const {
  // From the stream's start ("0"), so orders placed before the first
  // kitchen opened are baked too; MKSTREAM so a kitchen may open first.
  // Named vectors, not braced lists in the co_await: GCC 12 miscompiles
  // string literals in a braced list inside a coroutine's await.
  std::vector<std::string> create{"XGROUP",       "CREATE", options_.stream,
                                  options_.group, "0",      "MKSTREAM"};
  const RedisReply created = co_await ask(redis, std::move(create));
  if (created.is_error() && created.text.rfind("BUSYGROUP", 0) != 0) {
    check(created, "XGROUP CREATE (making the consumer group " + options_.group + ")");
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
  const std::vector<RedisReply> replies = co_await ask(redis, std::move(done));
  check(replies.at(0), "XACK");
  check(replies.at(1), "XDEL");
  if (replies[0].kind != RedisReply::Kind::integer) {
    misshapen(replies[0], "XACK", "a count");
  }
}

Task<void> Kitchen::leave(RedisConnection& redis, const std::string& consumer) const {
  // A consumer with nothing pending is removed from the group, so a kitchen
  // that restarts (with a new pid in its name) does not leave one behind
  // each time. One with pending orders stays: deleting it would drop them.
  std::vector<std::string> mine{"XPENDING", options_.stream, options_.group, "-", "+",
                                "1",        consumer};
  const RedisReply pending = co_await ask(redis, std::move(mine));
  check(pending, "XPENDING");
  if (pending.kind == RedisReply::Kind::array && pending.elements.empty()) {
    std::vector<std::string> remove{"XGROUP", "DELCONSUMER", options_.stream, options_.group,
                                    consumer};
    check(co_await ask(redis, std::move(remove)), "XGROUP DELCONSUMER");
  }
}

Task<void> Kitchen::cook(int number) {
  Cook cook{.number = number, .consumer = options_.name + "-" + std::to_string(number)};
  // The first connection fails fast (a wrong address is a mistake to hear
  // of at once); later ones are retried, since a kitchen is meant to ride
  // out a restart of Redis.
  RedisConnection redis;
  try {
    redis = co_await connect();
  } catch (const CancelledError&) {
    throw;
  } catch (const RedisError&) {
    throw;  // a refusal (AUTH) names the address already
  } catch (const std::exception& error) {
    throw std::runtime_error("kitchen: cannot reach Redis at " + address() + ": " + error.what());
  }
  bool outage = false;
  while (!closing_ && (options_.max_orders == 0 || taken_ < options_.max_orders)) {
    bool pause = false;
    try {
      if (!redis.is_open()) {
        redis = co_await connect();
      }
      co_await take_and_bake(redis, cook);
      // Back once a turn went through, not when a connection opened: a
      // server that accepts and then answers wrongly (or LOADING) is still
      // lost, and would otherwise log two lines a second.
      if (outage && log_) {
        log_("cook " + std::to_string(number) + " reconnected to Redis");
      }
      outage = false;
    } catch (const CancelledError&) {
      throw;
    } catch (const RedisError&) {
      // Redis refused a command (NOAUTH, a key of another type...): a setup
      // problem that waiting will not fix. Transient refusals (LOADING...)
      // are not RedisErrors: see ask().
      throw;
    } catch (const RedisReplyTooLargeError& error) {
      // Not an outage: Redis answered, too much. An entry fetched by id
      // (cook.unreadable) is deleted at once on a new connection; one that
      // came new has no id yet, stays pending, and is named (and deleted)
      // when a reclaim takes it, after reclaim_after.
      redis.close();
      if (log_) {
        log_("cook " + std::to_string(number) + ": " + error.what() +
             (cook.unreadable.empty()
                  ? "; an entry too large to read stays pending until a reclaim names it "
                    "(after " +
                        milliseconds(options_.reclaim_after) + " ms), and is then deleted unread"
                  : "; entry " + cook.unreadable + " is deleted unread"));
      }
      // Spaced like reconnects when no id is known, so a server answering
      // every read so cannot make a busy loop of it.
      pause = cook.unreadable.empty();
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
    if ((outage || pause) && !closing_) {
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
  if (!cook.unreadable.empty()) {
    // It cannot be baked, or even read, by any cook of any kitchen: left
    // pending it would break a cook's connection at every reclaim.
    const std::string id = cook.unreadable;
    co_await finish(redis, id);
    cook.unreadable.clear();
    ++rejected_;
    if (log_) {
      log_(unreadable(id));
    }
    co_return;
  }
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
  std::optional<StreamEntry> entry;
  // First an order that a dead cook left in its oven, claimed by id and
  // then fetched: an entry too large to read then has a name (see the
  // RedisReplyTooLargeError in cook()).
  std::vector<std::string> reclaim{"XAUTOCLAIM",
                                   options_.stream,
                                   options_.group,
                                   consumer,
                                   milliseconds(options_.reclaim_after),
                                   cook.cursor,
                                   "COUNT",
                                   "1",
                                   "JUSTID"};
  RedisReply claimed = co_await ask(redis, std::move(reclaim));
  if (co_await group_lost(redis, claimed)) {
    co_return;
  }
  check(claimed, "XAUTOCLAIM");
  // [next cursor, [ids], [deleted ids]]: the scan goes on from the cursor
  // next time (Redis looks at a bounded number of pending entries per
  // call), and starts over from 0-0 when it wraps.
  if (!is_array(claimed) || claimed.elements.size() < 2 ||
      claimed.elements[0].kind != RedisReply::Kind::bulk || !is_array(claimed.elements[1])) {
    misshapen(claimed, "XAUTOCLAIM", "[cursor, [ids], ...]");
  }
  cook.cursor = claimed.elements[0].text.empty() ? "0-0" : claimed.elements[0].text;
  if (!claimed.elements[1].elements.empty()) {
    const RedisReply& claimed_id = claimed.elements[1].elements.front();
    if (claimed_id.kind != RedisReply::Kind::bulk) {
      misshapen(claimed_id, "XAUTOCLAIM", "an entry id");
    }
    std::vector<std::string> fetch{"XRANGE", options_.stream, claimed_id.text, claimed_id.text};
    RedisReply fetched;
    try {
      fetched = co_await ask(redis, std::move(fetch));
    } catch (const RedisReplyTooLargeError&) {
      cook.unreadable = claimed_id.text;
      throw;
    }
    check(fetched, "XRANGE");
    if (!is_array(fetched) || fetched.elements.size() > 1) {
      misshapen(fetched, "XRANGE", "[] or [entry]");
    }
    if (fetched.elements.empty()) {
      // Deleted while pending (XDEL by hand): nothing to bake, and the
      // acknowledgement takes it out of the group's pending list.
      co_await finish(redis, claimed_id.text);
      co_return;
    }
    entry = StreamEntry::from_reply(fetched.elements.front());
    if (!entry) {
      misshapen(fetched.elements.front(), "XRANGE", "an entry [id, [field, value, ...]]");
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
    RedisReply fresh = co_await ask(redis, std::move(read), options_.poll);
    if (co_await group_lost(redis, fresh)) {
      co_return;
    }
    check(fresh, "XREADGROUP");
    // [[stream, [entry]]], or nil when `poll` passed without an order.
    if (!fresh.is_nil()) {
      if (!is_array(fresh) || fresh.elements.size() != 1 || !is_array(fresh.elements[0]) ||
          fresh.elements[0].elements.size() != 2 || !is_array(fresh.elements[0].elements[1]) ||
          fresh.elements[0].elements[1].elements.size() != 1) {
        misshapen(fresh, "XREADGROUP", "nil or [[stream, [entry]]]");
      }
      RedisReply& first = fresh.elements[0].elements[1].elements.front();
      entry = StreamEntry::from_reply(first);
      if (!entry) {
        misshapen(first, "XREADGROUP", "an entry [id, [field, value, ...]]");
      }
    }
  }
  if (!entry) {
    co_return;
  }
  const std::optional<int> pizzas = entry->pizzas();
  if (!pizzas || *pizzas > options_.max_pizzas) {
    ++rejected_;
    co_await finish(redis, entry->id);
    if (log_) {
      log_(pizzas ? too_large(*entry, *pizzas, options_.max_pizzas) : describe(*entry));
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
      check(co_await ask(redis, std::move(renew)), "XCLAIM");
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
