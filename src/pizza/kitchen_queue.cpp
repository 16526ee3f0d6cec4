#include "pizzeria/pizza/kitchen_queue.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <utility>

#include "pizzeria/core/loggable_text.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/pizza/stream_entry.hpp"

namespace pz::pizza {

namespace {

// One order: its entry and its token's key in one step (a script runs
// whole, and its writes reach the append-only file together), unless the
// key exists already, which only a fence (settle) makes before the script
// ran. KEYS: stream, token key; ARGV: pizzas, token, the key's seconds.
constexpr std::string_view kPlaceScript =
    "if redis.call('EXISTS', KEYS[2]) == 1 then "
    "return redis.error_reply('FENCED the order was given up on before it ran') end "
    "local id = redis.call('XADD', KEYS[1], '*', 'pizzas', ARGV[1], 'token', ARGV[2]) "
    "redis.call('SET', KEYS[2], id, 'EX', ARGV[3]) "
    "return id";

// What a fence of an unplaced token leaves in its key.
constexpr std::string_view kFenced = "fenced";

std::string random_prefix() {
  std::random_device device;
  const std::uint64_t bits = (std::uint64_t{device()} << 32) ^ device();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
  return text;
}

}  // namespace

std::string KitchenQueue::token_key(std::string_view stream, std::string_view token) {
  std::string key(stream);
  key += ":token:";
  key += token;
  return key;
}

KitchenQueue::KitchenQueue(Options options, std::function<void(std::string_view)> log)
    : options_(std::move(options)), log_(std::move(log)), token_prefix_(random_prefix()) {
  if (!options_.outage) {
    options_.outage = std::make_shared<SharedOutage>();
  }
}

std::string KitchenQueue::address() const {
  return options_.host + ":" + std::to_string(options_.port);
}

void KitchenQueue::lost(std::string_view why) {
  redis_.close();
  retry_at_ = std::chrono::steady_clock::now() + options_.retry_interval;
  down_ = true;
  if (options_.outage->begin() && log_) {
    log_("kitchen at " + address() + " unreachable (" + std::string(why) +
         "): orders are refused until it is back");
  }
}

void KitchenQueue::refused(std::size_t orders, std::string_view why) {
  // One line per batch, and at most one a second: with Redis out of memory
  // (or wanting a password) every order is refused, and a line per order
  // would let any client write the server's log as fast as it orders.
  unlogged_refusals_ += orders;
  const auto now = std::chrono::steady_clock::now();
  if (!log_ || now < next_refusal_log_) {
    return;
  }
  next_refusal_log_ = now + std::chrono::seconds(1);
  log_("kitchen at " + address() + " refused " + std::to_string(unlogged_refusals_) +
       (unlogged_refusals_ == 1 ? " order" : " orders") +
       (unlogged_refusals_ == orders ? "" : " (since the last such line)") + ": " +
       loggable_text(why));
  unlogged_refusals_ = 0;
}

Task<bool> KitchenQueue::connect() {
  if (redis_.is_alive(options_.stall_after)) {
    co_return true;
  }
  if (redis_.is_open() && redis_.unanswered_for() > options_.stall_after) {
    // Stuck: its waiting orders find out for themselves when they time
    // out; new ones are refused unsent rather than queued behind them.
    down_ = true;
    if (options_.outage->begin() && log_) {
      log_("kitchen at " + address() + " unreachable (no answer for " +
           std::to_string(options_.stall_after.count()) +
           " ms): orders are refused until it is back");
    }
    co_return false;
  }
  if (down_ && std::chrono::steady_clock::now() < retry_at_) {
    co_return false;  // failed a moment ago: do not hammer it
  }
  MutexGuard guard;
  if (down_) {
    // During an outage one order's task tries again, and the orders that
    // come meanwhile are refused at once instead of waiting up to
    // connect_timeout behind it.
    if (!connecting_.try_lock()) {
      co_return false;
    }
    guard = MutexGuard(connecting_);
  } else {
    // Otherwise (the first connection, or one that just broke) the others
    // wait for the attempt, which should take a round trip.
    guard = co_await connecting_.scoped_lock();
  }
  if (redis_.is_open()) {
    co_return true;  // another order's task connected while we waited
  }
  if (std::chrono::steady_clock::now() < retry_at_) {
    co_return false;
  }
  try {
    redis_ =
        co_await timeout(std::chrono::duration_cast<Duration>(options_.connect_timeout),
                         RedisConnection::open(options_.host, options_.port, options_.credentials));
  } catch (const CancelledError&) {
    throw;
  } catch (const TimeoutError&) {
    lost("no connection within " + std::to_string(options_.connect_timeout.count()) + " ms");
    co_return false;
  } catch (const std::exception& error) {
    lost(error.what());
    co_return false;
  }
  co_return true;
}

Task<void> KitchenQueue::settle(const std::vector<std::string>& tokens,
                                std::vector<std::size_t> which, std::vector<Placement>& placed) {
  // A new connection (the old one is stuck or broken), tried again until
  // lookup_timeout: Redis may be restarting. Each fence is SET NX GET: it
  // returns the key's value if the script ran (the entry's id), else nil,
  // and then the key stops the script from ever running.
  const auto deadline = std::chrono::steady_clock::now() + options_.lookup_timeout;
  const std::string fence_seconds = std::to_string(options_.fence_ttl.count());
  while (!which.empty()) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      break;
    }
    try {
      RedisConnection fence = co_await timeout(
          std::chrono::duration_cast<Duration>(
              std::min<std::chrono::steady_clock::duration>(left, options_.connect_timeout)),
          RedisConnection::open(options_.host, options_.port, options_.credentials));
      std::vector<std::vector<std::string>> commands;
      commands.reserve(which.size());
      for (const std::size_t i : which) {
        commands.push_back(std::vector<std::string>{"SET", token_key(options_.stream, tokens[i]),
                                                    std::string(kFenced), "NX", "GET", "EX",
                                                    fence_seconds});
      }
      const RedisConnection::PartialReplies got = co_await fence.pipeline_within(
          std::move(commands), deadline - std::chrono::steady_clock::now());
      std::vector<std::size_t> open;
      for (std::size_t k = 0; k < which.size(); ++k) {
        const RedisReply* reply = k < got.replies.size() ? &got.replies[k] : nullptr;
        if (reply != nullptr && (reply->is_nil() || (reply->kind == RedisReply::Kind::bulk &&
                                                     reply->text == kFenced))) {
          // Fenced now, or by an earlier round of this lookup whose answer
          // was lost (tokens are unique): it never ran, and now never will.
          placed[which[k]] = Placement::refused;
        } else if (reply != nullptr && StreamEntry::is_id(*reply)) {
          placed[which[k]] = Placement::placed;  // it ran: its entry is on the stream
        } else {
          open.push_back(which[k]);  // no answer, or an error (LOADING...): again
        }
      }
      which = std::move(open);
    } catch (const CancelledError&) {
      throw;
    } catch (const std::exception&) {
      // Not reachable yet: again, until the deadline.
    }
    if (!which.empty() && std::chrono::steady_clock::now() < deadline) {
      co_await sleep(std::chrono::milliseconds(50));
    }
  }
  // The rest stay `unknown`: Redis may yet run them.
}

Task<std::vector<KitchenQueue::Placement>> KitchenQueue::place(std::vector<int> pizzas) {
  std::vector<Placement> placed(pizzas.size(), Placement::refused);
  if (pizzas.empty() || !co_await connect()) {
    co_return placed;
  }
  std::vector<std::string> tokens;
  std::vector<std::vector<std::string>> commands;
  tokens.reserve(pizzas.size());
  commands.reserve(pizzas.size());
  const std::string token_seconds = std::to_string(options_.token_ttl.count());
  for (const int count : pizzas) {
    tokens.push_back(token_prefix_ + "-" + std::to_string(next_token_++));
    commands.push_back(
        std::vector<std::string>{"EVAL", std::string(kPlaceScript), "2", options_.stream,
                                 token_key(options_.stream, tokens.back()), std::to_string(count),
                                 tokens.back(), token_seconds});
  }
  // A copy: a reconnect by another task may replace redis_ while we wait.
  RedisConnection redis = redis_;
  const RedisConnection::PartialReplies got =
      co_await redis.pipeline_within(std::move(commands), options_.timeout);
  const std::vector<RedisReply>& replies = got.replies;
  // The entry's id, or an error reply (a full disk, a key of another type,
  // Redis out of memory, NOAUTH): only an id means the order is in.
  // Anything else is not Redis's answer: a peer that is not Redis, or
  // replies out of step with the commands. Nothing that comes on that
  // connection can confirm an order; it is dropped.
  std::size_t refusals = 0;
  const RedisReply* refusal = nullptr;
  const RedisReply* misshapen = nullptr;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (!misshapen && StreamEntry::is_id(replies[i])) {
      placed[i] = Placement::placed;
    } else if (replies[i].is_error()) {
      ++refusals;
      refusal = refusal ? refusal : &replies[i];
    } else if (!misshapen) {
      misshapen = &replies[i];
    }
  }
  if (misshapen) {
    if (redis == redis_) {
      lost("it answered XADD with " + misshapen->describe() + ", not an entry id (is it Redis?)");
    }
    co_return placed;
  }
  if (refusal) {
    refused(refusals, refusal->text);
  }
  if (replies.size() < pizzas.size()) {
    // Sent, and not answered: each may or may not have run. Unless another
    // task has already given up on this connection and opened a new one,
    // which must not be closed for this one's fault.
    if (redis == redis_) {
      lost(got.timed_out ? "no answer within " + std::to_string(options_.timeout.count()) + " ms"
                         : got.error);
    }
    std::vector<std::size_t> unanswered;
    for (std::size_t i = replies.size(); i < pizzas.size(); ++i) {
      placed[i] = Placement::unknown;
      unanswered.push_back(i);
    }
    co_await settle(tokens, std::move(unanswered), placed);
    co_return placed;
  }
  // Back only once Redis answered, not when a connection opened: a Redis
  // that accepts connections but does not answer is still down. Any
  // shard's answer ends the outage for the log; the other shards' queues
  // find Redis again at their next order.
  down_ = false;
  if (options_.outage->end() && log_) {
    log_("kitchen at " + address() + " reachable again");
  }
  co_return placed;
}

}  // namespace pz::pizza
