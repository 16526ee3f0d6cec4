#include "pizzeria/pizza/kitchen_queue.hpp"

#include <exception>
#include <string>
#include <utility>

#include "pizzeria/core/loggable_text.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/pizza/stream_entry.hpp"

namespace pz::pizza {

KitchenQueue::KitchenQueue(Options options, std::function<void(std::string_view)> log)
    : options_(std::move(options)), log_(std::move(log)) {
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
       std::string(why));
  unlogged_refusals_ = 0;
}

Task<bool> KitchenQueue::connect() {
  if (redis_.is_alive()) {
    co_return true;
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

Task<std::vector<bool>> KitchenQueue::place(std::vector<int> pizzas) {
  std::vector<bool> placed(pizzas.size(), false);
  if (pizzas.empty() || !co_await connect()) {
    co_return placed;
  }
  std::vector<std::vector<std::string>> commands;
  commands.reserve(pizzas.size());
  for (const int count : pizzas) {
    commands.push_back(
        std::vector<std::string>{"XADD", options_.stream, "*", "pizzas", std::to_string(count)});
  }
  // A copy: a reconnect by another task may replace redis_ while we wait.
  RedisConnection redis = redis_;
  try {
    const std::vector<RedisReply> replies =
        co_await timeout(std::chrono::duration_cast<Duration>(options_.timeout),
                         redis.pipeline(std::move(commands)));
    // The entry's id, or an error reply (a full disk, a key of another
    // type, Redis out of memory, NOAUTH): only an id means the order is in.
    // Anything else is not Redis's answer to XADD: a peer that is not
    // Redis, or replies out of step with the commands. Nothing that comes
    // on that connection can confirm an order; it is dropped.
    std::size_t refusals = 0;
    const RedisReply* refusal = nullptr;
    const RedisReply* misshapen = nullptr;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      placed[i] = !misshapen && StreamEntry::is_id(replies[i]);
      if (replies[i].is_error()) {
        ++refusals;
        refusal = refusal ? refusal : &replies[i];
      } else if (!placed[i] && !misshapen) {
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
      refused(refusals, loggable_text(refusal->text));
    }
    // Back only once Redis answered, not when a connection opened: a Redis
    // that accepts connections but does not answer is still down.
    // Any shard's answer ends the outage for the log; the other shards'
    // queues find Redis again at their next order.
    if (!replies.empty()) {
      down_ = false;
      if (options_.outage->end() && log_) {
        log_("kitchen at " + address() + " reachable again");
      }
    }
  } catch (const CancelledError&) {
    throw;
  } catch (const TimeoutError&) {
    // Unless another task has already given up on this connection and
    // opened a new one, which must not be closed for this one's fault.
    if (redis == redis_) {
      lost("no answer within " + std::to_string(options_.timeout.count()) + " ms");
    }
  } catch (const std::exception& error) {
    if (redis == redis_) {
      lost(error.what());
    }
  }
  co_return placed;
}

}  // namespace pz::pizza
