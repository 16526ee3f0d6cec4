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
  return "entry " + entry.id + " is not an order (" + entry.describe_fields() +
         "; an order has a field pizzas of 1 or more): acknowledged and skipped";
}

std::string unreadable(const std::string& id) {
  return "entry " + id + " is larger than this kitchen reads (" +
         std::to_string(RedisConnection::kMaxReplyBytes) + " bytes, " +
         std::to_string(RedisConnection::kMaxReplyElements) +
         " elements): acknowledged and deleted unread";
}

std::string too_large(const StreamEntry& entry, int pizzas, int max_pizzas) {
  return "entry " + entry.id + " orders " + std::to_string(pizzas) +
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

// The acknowledgement of a baked order, in one step. If another consumer
// holds the order (it reclaimed it while this cook was cut off), that one
// acknowledges it: the answer names it. Otherwise XACK and XDEL, and, if
// the XACK took it off the pending list, a key that remembers who baked it;
// if not (this cook's own earlier acknowledgement did, or another cook's),
// the key says who. KEYS: stream, baked-by key; ARGV: group, id, consumer,
// the key's seconds. Answers [1 if acknowledged now, who].
constexpr std::string_view kFinishScript =
    "local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) "
    "if not p.err and #p == 1 and p[1][2] ~= ARGV[3] then return {0, p[1][2]} end "
    "local n = redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2]) "
    "if type(n) ~= 'number' then n = 0 end "
    "redis.call('XDEL', KEYS[1], ARGV[2]) "
    "if n == 1 then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) return {1, ARGV[3]} end "
    "local by = redis.call('GET', KEYS[2]) "
    "if by then return {0, by} end "
    "return {0, ''}";

// A claim renewed only while the order is still this consumer's: XCLAIM
// alone takes an order from whoever holds it. KEYS: stream; ARGV: group,
// id, consumer. Answers who holds it now ('' when nobody: acknowledged).
constexpr std::string_view kRenewScript =
    "local p = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) "
    "if p.err or #p == 0 then return '' end "
    "if p[1][2] ~= ARGV[3] then return p[1][2] end "
    "redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID') "
    "return ARGV[3]";

// An order moved to the dead-letter stream in one step: a copy of its
// fields (up to 1,000 of them: a script's stack is bounded) with its id and
// the reason, then XACK and XDEL. KEYS: stream, dead-letter stream; ARGV:
// group, id, reason.
constexpr std::string_view kBuryScript =
    "local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) "
    "local f = {'order', ARGV[2], 'reason', ARGV[3]} "
    "if #e == 1 and #e[1][2] <= 1000 then "
    "for _, v in ipairs(e[1][2]) do f[#f + 1] = v end end "
    "redis.call('XADD', KEYS[2], '*', unpack(f)) "
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('XDEL', KEYS[1], ARGV[2]) "
    "return 1";

// Removes, in one step (so none can take an order in between), the
// consumers that hold nothing, have had nothing delivered for ARGV[2] ms,
// and whose heartbeat key (ARGV[3] .. name, which every living cook renews
// each turn: Redis's own idle time does not count empty reads) is gone.
// KEYS: stream; ARGV: group, idle ms, heartbeat prefix. Answers their names.
constexpr std::string_view kForgetScript =
    "local gone = {} "
    "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do "
    "local info = {} "
    "for i = 1, #c, 2 do info[c[i]] = c[i + 1] end "
    "if info['pending'] == 0 and info['idle'] >= tonumber(ARGV[2]) and "
    "redis.call('EXISTS', ARGV[3] .. info['name']) == 0 then "
    "redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name']) "
    "gone[#gone + 1] = info['name'] end end "
    "return gone";

std::string eval_words() {
  return "EVAL";
}

// A command's name for the log: a script is named after what it does, so
// that "did not answer XACK" says which step of a turn was not answered.
std::string command_name(const std::vector<std::string>& command) {
  if (command.empty()) {
    return {};
  }
  if (command.front() != eval_words() || command.size() < 2) {
    return command.front();
  }
  const std::string& script = command[1];
  if (script == kFinishScript) {
    return "XACK";
  }
  if (script == kRenewScript) {
    return "XCLAIM";
  }
  if (script == kBuryScript) {
    return "XADD to the dead-letter stream";
  }
  if (script == kForgetScript) {
    return "XGROUP DELCONSUMER";
  }
  return command.front();
}

}  // namespace

std::string Kitchen::dead_letter_stream(std::string_view stream) {
  return std::string(stream) + ":dead";
}

Task<std::vector<DeadLetter>> Kitchen::dead_letters(RedisConnection& redis, std::string_view stream,
                                                    std::size_t count) {
  std::vector<std::string> range{"XRANGE", dead_letter_stream(stream), "-", "+",
                                 "COUNT",  std::to_string(count)};
  RedisReply reply = (co_await redis.command(std::move(range))).or_throw("XRANGE");
  std::vector<DeadLetter> letters;
  for (RedisReply& element : reply.elements) {
    std::optional<StreamEntry> entry = StreamEntry::from_reply(element);
    if (!entry) {
      continue;
    }
    DeadLetter letter;
    letter.id = entry->id;
    for (std::size_t i = 0; i + 1 < entry->fields.size(); i += 2) {
      const std::string& field = entry->fields[i].text;
      const std::string& value = entry->fields[i + 1].text;
      if (field == "order" && letter.order.empty()) {
        letter.order = value;
      } else if (field == "reason" && letter.reason.empty()) {
        letter.reason = value;
      } else {
        letter.fields += (letter.fields.empty() ? "" : " ") + field + " " + value;
      }
    }
    letters.push_back(std::move(letter));
  }
  co_return letters;
}

Kitchen::Kitchen(Options options, std::function<void(const BakedOrder&)> on_baked,
                 std::function<void(std::string_view)> log)
    : options_(std::move(options)), on_baked_(std::move(on_baked)), log_(std::move(log)) {
  if (options_.cooks < 1) {
    throw std::invalid_argument("a kitchen needs at least one cook, got " +
                                std::to_string(options_.cooks));
  }
  if (options_.bake_time.count() < 0 || options_.reclaim_after.count() < 1 ||
      options_.poll.count() < 1 || options_.answer_timeout.count() < 1 ||
      options_.forget_cooks_after.count() < 1 || options_.remember_bakes.count() < 1) {
    throw std::invalid_argument(
        "kitchen: the bake time cannot be negative, and the reclaim, poll, answer and forget "
        "times must be at least 1 ms");
  }
  if (options_.max_deliveries < 1) {
    throw std::invalid_argument("kitchen: an order needs at least one delivery, got " +
                                std::to_string(options_.max_deliveries));
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
  const std::string name = commands.empty() ? std::string() : command_name(commands.front());
  try {
    std::vector<RedisReply> replies =
        co_await timeout(std::chrono::duration_cast<Duration>(options_.answer_timeout + blocking),
                         redis.pipeline(std::move(commands)));
    for (const RedisReply& reply : replies) {
      if (reply.is_error() && is_transient(reply)) {
        throw std::runtime_error("Redis at " + address() + " cannot serve " + name +
                                 " now: " + reply.text);
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
    // Redis's text is outside bytes: cut and escaped before it reaches a log.
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

Task<Kitchen::Acknowledged> Kitchen::finish(RedisConnection& redis, const std::string& id,
                                            const std::string& consumer) const {
  // Acknowledged, and deleted: the stream holds what waits or bakes, not
  // every order ever made (Redis's memory and its append-only file would
  // otherwise grow for ever). One round trip, one script (kFinishScript).
  std::vector<std::string> done{eval_words(),
                                std::string(kFinishScript),
                                "2",
                                options_.stream,
                                options_.stream + ":baked:" + id,
                                options_.group,
                                id,
                                consumer,
                                std::to_string(options_.remember_bakes.count())};
  const RedisReply reply = co_await ask(redis, std::move(done));
  check(reply, "XACK");
  if (!is_array(reply) || reply.elements.size() != 2 ||
      reply.elements[0].kind != RedisReply::Kind::integer ||
      reply.elements[1].kind != RedisReply::Kind::bulk) {
    misshapen(reply, "XACK", "[count, consumer]");
  }
  co_return Acknowledged{.now = reply.elements[0].integer == 1, .first = reply.elements[1].text};
}

Task<void> Kitchen::deliver(RedisConnection& redis, Cook& cook) {
  // Until Redis confirms, the cook keeps the order (cook.unacknowledged):
  // an acknowledgement that timed out may or may not have been applied,
  // and asking again tells (the script remembers who baked it).
  BakedOrder order = *cook.unacknowledged;
  const Acknowledged acknowledged = co_await finish(redis, order.id, cook.consumer);
  cook.unacknowledged.reset();
  if (acknowledged.now || acknowledged.first == cook.consumer) {
    ++baked_;
  } else {
    order.duplicate = true;
    order.first = acknowledged.first;
    ++duplicates_;
  }
  if (on_baked_) {
    on_baked_(order);
  }
}

Task<void> Kitchen::bury(RedisConnection& redis, const std::string& id, const std::string& reason) {
  std::vector<std::string> move{eval_words(),
                                std::string(kBuryScript),
                                "2",
                                options_.stream,
                                dead_letter_stream(options_.stream),
                                options_.group,
                                id,
                                reason};
  check(co_await ask(redis, std::move(move)), "the move to the dead-letter stream");
  ++dead_lettered_;
  if (log_) {
    log_("order " + id + " moved to " + dead_letter_stream(options_.stream) + ": " + reason);
  }
}

Task<void> Kitchen::forget_dead_cooks(RedisConnection& redis, const std::string& consumer) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_sweep_) {
    co_return;
  }
  next_sweep_ = now + std::max(options_.forget_cooks_after / 2, std::chrono::milliseconds(1));
  std::vector<std::string> forget{eval_words(),
                                  std::string(kForgetScript),
                                  "1",
                                  options_.stream,
                                  options_.group,
                                  milliseconds(options_.forget_cooks_after),
                                  options_.stream + ":cook:"};
  const RedisReply gone = co_await ask(redis, std::move(forget));
  if (!is_array(gone)) {
    co_return;  // no group yet (NOGROUP): the next turn makes it
  }
  std::string names;
  for (const RedisReply& name : gone.elements) {
    if (name.text == consumer) {
      continue;  // this cook itself, idle between two turns: it is back at once
    }
    names += (names.empty() ? "" : ", ") + name.text;
    ++forgotten_;
  }
  if (!names.empty() && log_) {
    log_("removed from the group the cooks that hold nothing and were silent for " +
         milliseconds(options_.forget_cooks_after) + " ms: " + names);
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
  // An order baked and not yet acknowledged keeps the cook going, closing
  // or not: it must not be forgotten (a second Ctrl-C cancels).
  while (cook.unacknowledged ||
         (!closing_ && (options_.max_orders == 0 || taken_ < options_.max_orders))) {
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
    if ((outage || pause) && (!closing_ || cook.unacknowledged)) {
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
  if (cook.unacknowledged) {
    co_await deliver(redis, cook);
    co_return;
  }
  if (!cook.unreadable.empty()) {
    // It cannot be baked, or even read, by any cook of any kitchen: left
    // pending it would break a cook's connection at every reclaim.
    const std::string id = cook.unreadable;
    co_await finish(redis, id, consumer);
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
  // First the oldest order left idle for reclaim_after (its cook died, or
  // was cut off), with its delivery count (XPENDING; XAUTOCLAIM ... JUSTID
  // would not count the delivery, and a poison order would come back for
  // ever).
  // With it, in the same round trip, the cook's heartbeat: the proof that
  // it lives, for other kitchens' sweeps of dead cooks (forget_dead_cooks).
  std::vector<std::vector<std::string>> turn;
  turn.push_back(std::vector<std::string>{"XPENDING", options_.stream, options_.group, "IDLE",
                                          milliseconds(options_.reclaim_after), "-", "+", "1"});
  turn.push_back(std::vector<std::string>{"SET", options_.stream + ":cook:" + consumer, "1", "PX",
                                          milliseconds(options_.forget_cooks_after)});
  RedisReply pending = std::move((co_await ask(redis, std::move(turn))).front());
  if (co_await group_lost(redis, pending)) {
    co_return;
  }
  check(pending, "XPENDING");
  if (!is_array(pending) || pending.elements.size() > 1) {
    misshapen(pending, "XPENDING", "[] or [[id, consumer, idle, deliveries]]");
  }
  if (!pending.elements.empty()) {
    const RedisReply& found = pending.elements.front();
    if (!is_array(found) || found.elements.size() != 4 ||
        found.elements[0].kind != RedisReply::Kind::bulk ||
        found.elements[3].kind != RedisReply::Kind::integer) {
      misshapen(found, "XPENDING", "[id, consumer, idle, deliveries]");
    }
    const std::string id = found.elements[0].text;
    const long long deliveries = found.elements[3].integer;
    // The claim's minimum idle time is the lease: once one cook claimed it
    // (which makes it idle no more), another's claim takes nothing.
    const bool dead = deliveries >= options_.max_deliveries;
    std::vector<std::string> claim{
        "XCLAIM", options_.stream, options_.group, consumer, milliseconds(options_.reclaim_after),
        id};
    if (dead) {
      claim.emplace_back("JUSTID");  // not a delivery: it will not be baked
    }
    RedisReply claimed;
    try {
      claimed = co_await ask(redis, std::move(claim));
    } catch (const RedisReplyTooLargeError&) {
      cook.unreadable = id;
      throw;
    }
    check(claimed, "XCLAIM");
    if (!is_array(claimed) || claimed.elements.size() > 1) {
      misshapen(claimed, "XCLAIM", "[] or [entry]");
    }
    if (claimed.elements.empty()) {
      co_return;  // another cook claimed it first, or it was deleted
    }
    if (dead) {
      co_await bury(redis, id,
                    "delivered " + std::to_string(deliveries) +
                        " times without being acknowledged (--max-deliveries " +
                        std::to_string(options_.max_deliveries) + ")");
      co_return;
    }
    if (claimed.elements.front().is_nil()) {
      // Deleted while pending (XDEL by hand): nothing to bake, and the
      // acknowledgement takes it out of the group's pending list.
      co_await finish(redis, id, consumer);
      co_return;
    }
    entry = StreamEntry::from_reply(claimed.elements.front());
    if (!entry) {
      misshapen(claimed.elements.front(), "XCLAIM", "an entry [id, [field, value, ...]]");
    }
  } else {
    if (number == 1) {
      co_await forget_dead_cooks(redis, consumer);
    }
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
    co_await finish(redis, entry->id, consumer);
    if (log_) {
      log_(pizzas ? too_large(*entry, *pizzas, options_.max_pizzas) : describe(*entry));
    }
    co_return;
  }
  // Baking. The claim is renewed every half reclaim_after while it is still
  // this cook's, so other cooks never take this order from a living cook;
  // a cook that was not heard of for reclaim_after (paused, cut off) and
  // finds the order another's gives it up.
  const auto renew_every = std::max(options_.reclaim_after / 2, std::chrono::milliseconds(1));
  auto left = options_.bake_time * *pizzas;
  while (left.count() > 0) {
    const auto step = std::min(left, renew_every);
    co_await sleep(std::chrono::duration_cast<Duration>(step));
    left -= step;
    if (left.count() > 0) {
      std::vector<std::string> renew{
          eval_words(), std::string(kRenewScript), "1", options_.stream, options_.group, entry->id,
          consumer};
      const RedisReply holder = co_await ask(redis, std::move(renew));
      check(holder, "XCLAIM");
      if (holder.text != consumer) {
        if (log_) {
          log_("cook " + std::to_string(number) + " gave up order " + entry->id + ": " +
               (holder.text.empty() ? std::string("another cook acknowledged it")
                                    : holder.text + " reclaimed it") +
               " while this cook was not heard of for " + milliseconds(options_.reclaim_after) +
               " ms");
        }
        co_return;
      }
    }
  }
  reservation.kept = true;
  cook.unacknowledged = BakedOrder{.cook = number, .id = entry->id, .pizzas = *pizzas};
  co_await deliver(redis, cook);
}

}  // namespace pz::pizza
