// pz::RedisLock: a lock that processes on any machine share through one
// Redis server, with a lease and a fencing token (seed 000: "Distributed
// locking Redis"; docs/seeds/distributed-locks-and-deadlock.md).
//
//   pz::RedisLock lock(redis, "pizzeria:oven", {.lease = 5s});
//   if (co_await lock.acquire(30s)) {
//     co_await oven.bake(pizza, lock.fencing_token());  // the oven checks the token
//     co_await lock.release();
//   }
//
// The lock is one Redis key. Acquiring sets it to a random token of this
// holder only if it does not exist (the effect of SET key token NX PX lease)
// and, in the same script, increments the lock's fence counter (key
// "<name>:fence"): the counter's new value is the holder's fencing token.
// Every holder of one lock gets a larger token than the holders before it,
// as long as Redis keeps the counter. Releasing and renewing are scripts
// that compare the key's value with the token first, so a holder whose lease
// ran out can never delete or extend the lock of the one who took it over.
//
// A lease is preemption: a holder that stalls (a pause, a crash, a lost
// network) loses the lock after `lease` without doing anything. So a holder
// cannot know, at the instant it writes, that it still holds the lock; the
// fencing token is what lets the protected resource refuse a write from a
// holder whose lease has passed (it has seen a larger token). held() is this
// process's belief from its own clock, counted from before the acquire was
// sent and less an allowance for the clocks' drift; renew() asks Redis.
// `lease` 0 means no lease: the lock is held until released (no preemption),
// and a holder that dies leaves it held forever.
//
// Failures: an error reply (WRONGTYPE when the key holds something else, say)
// raises RedisError naming the lock; a reply no script of this lock returns
// raises RedisLockError; a broken connection raises what RedisConnection
// raises. A NOSCRIPT reply (Redis restarted or SCRIPT FLUSH) is handled by
// sending the script itself once. Whenever the outcome of a command is not
// known (any exception), the lock counts itself as not held: a Redis that
// goes away during a hold is an error on the next renew() or release(),
// never a silent "still held". Each command waits at most `answer_timeout`
// (RedisLockError, "state unknown").
//
// Cancellation: acquire() stops waiting when the caller is cancelled
// (CancelledError). A try already sent is seen through first, so a lock it
// took is released before the cancellation is raised, never left behind.
// release() runs even in a cancelled task, so that cleanup can release.
//
// Thread safety: the loop thread of the connection only. Copies share
// nothing but the connection; one RedisLock object is one holder.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/coro/task.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_reply.hpp"

namespace pz {

// A reply that no script of RedisLock returns, or no reply within the
// answer timeout: the lock's state in Redis is unknown.
class RedisLockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RedisLock {
 public:
  struct Options {
    // How long Redis keeps the lock without a renew(); 0: until released.
    std::chrono::milliseconds lease{10'000};
    // Waits between tries grow from `min_backoff`, doubling to
    // `max_backoff`; each wait is a random time between half the current
    // step and the step ("equal jitter"), so waiters that collided once do
    // not collide again in lock step.
    std::chrono::milliseconds min_backoff{1};
    std::chrono::milliseconds max_backoff{50};
    // The longest wait for one reply of Redis.
    std::chrono::milliseconds answer_timeout{5'000};
    // Shown in the key's value before the random part ("P3:9f0c..."), so
    // whoever reads Redis can tell who holds the lock. Default: host-pid.
    std::string owner;
  };

  // Throws std::invalid_argument for an empty name, a negative lease, or
  // backoffs or an answer timeout under 1 ms, or a minimum over the maximum.
  RedisLock(RedisConnection connection, std::string name, Options options);
  RedisLock(RedisConnection connection, std::string name)
      : RedisLock(std::move(connection), std::move(name), Options{}) {}

  // One try: true if this holder took the lock (or already holds it).
  [[nodiscard]] Task<bool> try_acquire();
  // Tries until it holds the lock (true) or `timeout` has passed on the
  // loop's clock (false), waiting with backoff and jitter between tries.
  [[nodiscard]] Task<bool> acquire(Duration timeout);
  // Extends the lease to a full `lease` from now if this holder still holds
  // the lock in Redis: true; false (and no longer held) if it expired or
  // another holder has it. With no lease, only checks that it is held.
  [[nodiscard]] Task<bool> renew();
  // Deletes the lock if this holder holds it in Redis: true; false if it
  // was not held (expired, taken over): nothing else is deleted.
  [[nodiscard]] Task<bool> release();

  // Several locks of one Redis taken together or not at all, in one
  // script: no lock is held while waiting for another (no hold and wait).
  // Every lock must use the same connection. Same waiting as acquire().
  [[nodiscard]] static Task<bool> try_acquire_all(std::span<RedisLock* const> locks);
  [[nodiscard]] static Task<bool> acquire_all(std::span<RedisLock* const> locks, Duration timeout);

  // Acquired, not released, not found lost, and (with a lease) the lease
  // not yet past by this process's clock, less the drift allowance.
  [[nodiscard]] bool held() const noexcept;
  // The token of the latest successful acquire; std::logic_error before.
  [[nodiscard]] std::uint64_t fencing_token() const;
  // What the lock key holds while this holder has it.
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::string fence_key() const { return name_ + ":fence"; }
  [[nodiscard]] std::chrono::milliseconds lease() const noexcept { return options_.lease; }
  // The owner part of a lock key's value ("P3" of "P3:9f0c..."); the whole
  // value if it has no ':'.
  [[nodiscard]] static std::string owner_of(const std::string& value);

 private:
  struct Script;
  Task<RedisReply> evaluate(const Script& script, std::vector<std::string> keys,
                            std::vector<std::string> arguments);
  Task<RedisReply> evaluate_unshielded(const Script& script, std::vector<std::string> keys,
                                       std::vector<std::string> arguments);
  [[nodiscard]] Duration next_wait(Duration& step);
  void on_acquired(TimePoint sent, std::uint64_t fence);
  [[nodiscard]] std::string lease_argument() const;

  RedisConnection connection_;
  std::string name_;
  Options options_;
  std::string token_;
  std::mt19937_64 random_;
  bool held_ = false;
  std::optional<std::uint64_t> fence_;
  TimePoint valid_until_{};
};

}  // namespace pz
