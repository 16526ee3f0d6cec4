#include "pizzeria/net/redis_lock.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/coro/with_stop_token.hpp"
#include "pizzeria/net/redis_error.hpp"
#include "support/fake_redis.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;

namespace pz {
namespace {

using Arguments = std::vector<std::string>;

// A command's words. A function, not a braced list: GCC 12 rejects string
// literals in a braced list inside a co_await.
template <class... Words>
Arguments words(const Words&... each) {
  return Arguments{std::string(each)...};
}

RedisLock::Options lease_of(std::chrono::milliseconds lease, std::string owner) {
  RedisLock::Options options;
  options.lease = lease;
  options.owner = std::move(owner);
  return options;
}

Task<RedisConnection> connect(const test::RedisServer& redis) {
  co_return co_await RedisConnection::open("127.0.0.1", redis.port());
}

// Expires `key` now on Redis's own clock and waits (bounded) until Redis
// agrees it is gone: an expiry without waiting out a lease.
Task<void> expire_now(RedisConnection& redis, const std::string& key) {
  (void)co_await redis.command(words("PEXPIRE", key, "1"));
  for (int i = 0; i < 10'000; ++i) {
    if ((co_await redis.command(words("EXISTS", key))).integer == 0) {
      co_return;
    }
    co_await sleep(1ms);
  }
  ADD_FAILURE() << key << " did not expire within 10 s";
}

TEST(RedisLock, GivesEachNewHolderALargerFencingToken) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection a_connection = co_await connect(redis);
    RedisConnection b_connection = co_await connect(redis);
    RedisLock a(a_connection, "oven", lease_of(60s, "A"));
    RedisLock b(b_connection, "oven", lease_of(60s, "B"));
    EXPECT_THROW((void)a.fencing_token(), std::logic_error);
    std::vector<std::uint64_t> fences;
    const std::array<RedisLock*, 2> holders{&a, &b};
    for (int round = 0; round < 3; ++round) {
      for (RedisLock* lock : holders) {
        EXPECT_TRUE(co_await lock->acquire(30s));
        EXPECT_TRUE(lock->held());
        fences.push_back(lock->fencing_token());
        const RedisReply value = co_await a_connection.command(words("GET", "oven"));
        EXPECT_EQ(value.text, lock->token());
        EXPECT_EQ(RedisLock::owner_of(value.text), lock == &a ? "A" : "B");
        EXPECT_TRUE(co_await lock->release());
        EXPECT_FALSE(lock->held());
      }
    }
    EXPECT_EQ(fences, (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ((co_await a_connection.command(words("GET", "oven:fence"))).text, "6");
  }());
}

TEST(RedisLock, LetsASecondHolderInOnlyAfterTheFirstReleases) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    RedisLock b(connection, "oven", lease_of(60s, "B"));
    EXPECT_TRUE(co_await a.try_acquire());
    EXPECT_TRUE(co_await a.try_acquire());  // a holder asking again still holds it
    EXPECT_FALSE(co_await b.try_acquire());
    EXPECT_FALSE(co_await b.acquire(20ms));  // gives up: A holds it throughout
    EXPECT_FALSE(b.held());
    auto waiter = [&]() -> Task<bool> { co_return co_await b.acquire(60s); };
    auto holder = [&]() -> Task<bool> {
      co_await sleep(0ms);
      co_return co_await a.release();
    };
    auto [b_got_it, a_released] = co_await gather(waiter(), holder());
    EXPECT_TRUE(b_got_it);
    EXPECT_TRUE(a_released);
    EXPECT_GT(b.fencing_token(), a.fencing_token());
  }());
}

TEST(RedisLock, ReleaseByAHolderThatDoesNotHoldItDeletesNothing) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    RedisLock b(connection, "oven", lease_of(60s, "B"));
    EXPECT_FALSE(co_await b.release());  // never tried
    EXPECT_TRUE(co_await a.acquire(30s));
    EXPECT_FALSE(co_await b.try_acquire());
    EXPECT_FALSE(co_await b.release());  // tried, lost
    EXPECT_EQ((co_await connection.command(words("GET", "oven"))).text, a.token());
    // A's lease runs out and B takes over: A's late release must not free
    // B's lock.
    co_await expire_now(connection, "oven");
    EXPECT_TRUE(co_await b.try_acquire());
    EXPECT_FALSE(co_await a.release());
    EXPECT_EQ((co_await connection.command(words("GET", "oven"))).text, b.token());
    EXPECT_TRUE(co_await b.release());
    EXPECT_TRUE((co_await connection.command(words("GET", "oven"))).is_nil());
  }());
}

TEST(RedisLock, RenewExtendsTheLeaseOnlyWhileStillTheHolder) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    RedisLock b(connection, "oven", lease_of(60s, "B"));
    EXPECT_FALSE(co_await a.renew());  // not held: nothing to renew
    EXPECT_TRUE(co_await a.acquire(30s));
    // Redis's clock decides: shorten the lease there, renew, and the full
    // lease is back.
    (void)co_await connection.command(words("PEXPIRE", "oven", "5000"));
    EXPECT_LE((co_await connection.command(words("PTTL", "oven"))).integer, 5000);
    EXPECT_TRUE(co_await a.renew());
    EXPECT_GT((co_await connection.command(words("PTTL", "oven"))).integer, 5000);
    EXPECT_TRUE(a.held());
    co_await expire_now(connection, "oven");
    EXPECT_FALSE(co_await a.renew());  // expired: renewal fails
    EXPECT_FALSE(a.held());
    EXPECT_TRUE(co_await b.acquire(30s));
    (void)co_await connection.command(words("PEXPIRE", "oven", "5000"));
    EXPECT_FALSE(co_await a.renew());  // and never extends the new holder's
    EXPECT_LE((co_await connection.command(words("PTTL", "oven"))).integer, 5000);
    EXPECT_GT(b.fencing_token(), a.fencing_token());
  }());
}

TEST(RedisLock, WithoutALeaseHoldsUntilReleased) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "fork", lease_of(0ms, "A"));
    EXPECT_TRUE(co_await a.acquire(30s));
    EXPECT_EQ((co_await connection.command(words("PTTL", "fork"))).integer, -1);  // no expiry
    EXPECT_TRUE(a.held());
    EXPECT_TRUE(co_await a.renew());
    EXPECT_EQ((co_await connection.command(words("PTTL", "fork"))).integer, -1);
    EXPECT_TRUE(co_await a.release());
  }());
}

TEST(RedisLock, KeepsMutualExclusionAmongProcesses) {
  test::RedisServer redis;
  constexpr int kProcesses = 4;
  constexpr int kIncrements = 50;
  // Each child increments a counter with a GET and a SET, two round trips
  // apart, under the lock; and counts how many are inside at once.
  std::vector<pid_t> children;
  for (int child = 0; child < kProcesses; ++child) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 1;
      try {
        status = run([&]() -> Task<int> {
          RedisConnection connection = co_await connect(redis);
          RedisLock lock(connection, "counter-lock",
                         lease_of(60s, "child" + std::to_string(child)));
          for (int i = 0; i < kIncrements; ++i) {
            if (!co_await lock.acquire(60s)) {
              co_return 2;
            }
            const auto inside = (co_await connection.command(words("INCR", "inside"))).integer;
            if (inside != 1) {
              (void)co_await connection.command(words("INCR", "violations"));
            }
            const RedisReply seen = co_await connection.command(words("GET", "counter"));
            const long next = seen.is_nil() ? 1 : std::stol(seen.text) + 1;
            (void)co_await connection.command(words("SET", "counter", std::to_string(next)));
            (void)co_await connection.command(words("DECR", "inside"));
            if (!co_await lock.release()) {
              co_return 3;
            }
          }
          co_return 0;
        }());
      } catch (...) {
        status = 4;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  }
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    EXPECT_EQ((co_await connection.command(words("GET", "counter"))).text,
              std::to_string(kProcesses * kIncrements));  // no increment lost
    EXPECT_TRUE((co_await connection.command(words("GET", "violations"))).is_nil());
    EXPECT_EQ((co_await connection.command(words("GET", "counter-lock:fence"))).text,
              std::to_string(kProcesses * kIncrements));
  }());
}

TEST(RedisLock, RaisesWhenRedisDiesDuringAHold) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    EXPECT_TRUE(co_await a.acquire(30s));
    redis.crash();
    bool renew_raised = false;
    try {
      (void)co_await a.renew();
    } catch (const std::exception&) {
      renew_raised = true;
    }
    EXPECT_TRUE(renew_raised);
    EXPECT_FALSE(a.held());  // never a silent "still held"
    bool release_raised = false;
    try {
      (void)co_await a.release();
    } catch (const std::exception&) {
      release_raised = true;
    }
    EXPECT_TRUE(release_raised);
  }());
}

TEST(RedisLock, SendsTheScriptItselfWhenRedisHasForgottenIt) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    EXPECT_TRUE(co_await a.acquire(30s));  // a fresh Redis knows no script yet
    EXPECT_EQ((co_await connection.command(words("SCRIPT", "FLUSH"))).text, "OK");
    EXPECT_TRUE(co_await a.renew());
    EXPECT_EQ((co_await connection.command(words("SCRIPT", "FLUSH"))).text, "OK");
    EXPECT_TRUE(co_await a.release());
    EXPECT_EQ((co_await connection.command(words("SCRIPT", "FLUSH"))).text, "OK");
    EXPECT_TRUE(co_await a.acquire(30s));
    EXPECT_EQ(a.fencing_token(), 2U);
  }());
}

TEST(RedisLock, RaisesRedisErrorWhenItsKeysHoldAnotherType) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    auto failure = [](Task<bool> task) -> Task<std::string> {
      try {
        (void)co_await std::move(task);
      } catch (const RedisError& error) {
        co_return error.what();
      }
      co_return "no RedisError";
    };
    // The lock key is a list: an error, not a lock that looks held forever.
    (void)co_await connection.command(words("RPUSH", "oven", "x"));
    std::string why = co_await failure(a.acquire(30s));
    EXPECT_NE(why.find("lock oven: acquire failed"), std::string::npos) << why;
    EXPECT_NE(why.find("WRONGTYPE"), std::string::npos) << why;
    (void)co_await connection.command(words("DEL", "oven"));
    // The fence counter is a list: the script fails before it sets the key.
    (void)co_await connection.command(words("RPUSH", "oven:fence", "x"));
    why = co_await failure(a.try_acquire());
    EXPECT_NE(why.find("WRONGTYPE"), std::string::npos) << why;
    EXPECT_EQ((co_await connection.command(words("EXISTS", "oven"))).integer, 0);
    EXPECT_FALSE(a.held());
    (void)co_await connection.command(words("DEL", "oven:fence"));
    // Someone replaced the held lock with a list: release and renew say so.
    EXPECT_TRUE(co_await a.acquire(30s));
    (void)co_await connection.command(words("DEL", "oven"));
    (void)co_await connection.command(words("RPUSH", "oven", "x"));
    why = co_await failure(a.renew());
    EXPECT_NE(why.find("lock oven: renew failed"), std::string::npos) << why;
    EXPECT_FALSE(a.held());
    why = co_await failure(a.release());
    EXPECT_NE(why.find("lock oven: release failed"), std::string::npos) << why;
  }());
}

TEST(RedisLock, RaisesRedisLockErrorOnAReplyNoScriptOfItReturns) {
  // A peer that says OK to everything, then a peer that answers 7.
  for (const std::string reply : {"+OK\r\n", ":7\r\n"}) {
    test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
      while (!peer.read_command().empty()) {
        if (!peer.send(reply)) {
          return;
        }
      }
    });
    run([&]() -> Task<void> {
      RedisConnection connection = co_await RedisConnection::open("127.0.0.1", fake.port());
      RedisLock a(connection, "oven", lease_of(60s, "A"));
      std::string why;
      try {
        (void)co_await a.try_acquire();
      } catch (const RedisLockError& error) {
        why = error.what();
      }
      EXPECT_NE(why.find("lock oven: acquire got the"), std::string::npos) << why;
      EXPECT_NE(why.find("is this Redis?"), std::string::npos) << why;
      EXPECT_FALSE(a.held());
      why.clear();
      try {
        (void)co_await a.release();
      } catch (const RedisLockError& error) {
        why = error.what();
      }
      EXPECT_NE(why.find("lock oven: release got the"), std::string::npos) << why;
    }());
  }
}

TEST(RedisLock, RaisesWhenTheConnectionIsResetMidCommand) {
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    (void)peer.read_command();  // and hangs up without a reply
  });
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", fake.port());
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    bool raised = false;
    try {
      (void)co_await a.acquire(30s);
    } catch (const std::exception&) {
      raised = true;  // not "false": whether it was taken is unknown
    }
    EXPECT_TRUE(raised);
    EXPECT_FALSE(a.held());
  }());
}

TEST(RedisLock, RaisesWhenRedisDoesNotAnswerInTime) {
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
    }  // never answers
  });
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", fake.port());
    RedisLock::Options options = lease_of(60s, "A");
    options.answer_timeout = 10ms;
    RedisLock a(connection, "oven", options);
    std::string why;
    try {
      (void)co_await a.try_acquire();
    } catch (const RedisLockError& error) {
      why = error.what();
    }
    EXPECT_EQ(why, "lock oven: Redis did not answer within 10 ms; the lock's state is unknown");
  }());
}

TEST(RedisLock, StopsWaitingWhenCancelledAndLeavesNothingBehind) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock a(connection, "oven", lease_of(60s, "A"));
    RedisLock b(connection, "oven", lease_of(60s, "B"));
    EXPECT_TRUE(co_await a.acquire(30s));
    bool timed_out = false;
    try {
      (void)co_await timeout(30ms, b.acquire(3600s));  // waiting, then cancelled
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_FALSE(b.held());
    EXPECT_TRUE(co_await a.release());
    // Cancelled while its try is in flight on a free lock: the try took the
    // lock in Redis, and the cancelled acquire gives it back.
    StopSource stop;
    auto cancelled = [&]() -> Task<bool> {
      try {
        co_return co_await with_stop_token(stop.token(), b.acquire(3600s));
      } catch (const CancelledError&) {
        co_return false;
      }
    };
    auto canceller = [&]() -> Task<bool> {
      stop.request_stop();  // runs while b's first try awaits its reply
      co_return true;
    };
    auto [acquired, stopped] = co_await gather(cancelled(), canceller());
    EXPECT_FALSE(acquired);
    EXPECT_TRUE(stopped);
    EXPECT_FALSE(b.held());
    EXPECT_TRUE((co_await connection.command(words("GET", "oven"))).is_nil());
    EXPECT_EQ((co_await connection.command(words("GET", "oven:fence"))).text, "2");
  }());
}

TEST(RedisLock, TakesSeveralLocksTogetherOrNone) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await connect(redis);
    RedisLock left(connection, "fork1", lease_of(60s, "P1"));
    RedisLock right(connection, "fork2", lease_of(60s, "P1"));
    RedisLock other(connection, "fork2", lease_of(60s, "P2"));
    EXPECT_TRUE(co_await other.acquire(30s));
    const std::array<RedisLock*, 2> both{&left, &right};
    EXPECT_FALSE(co_await RedisLock::try_acquire_all(both));
    EXPECT_EQ((co_await connection.command(words("EXISTS", "fork1"))).integer, 0);  // no hold
    EXPECT_TRUE(co_await other.release());
    EXPECT_TRUE(co_await RedisLock::acquire_all(both, 30s));
    EXPECT_TRUE(left.held());
    EXPECT_TRUE(right.held());
    EXPECT_EQ(left.fencing_token(), 1U);
    EXPECT_EQ(right.fencing_token(), 2U);  // fork2's counter: other got 1
    EXPECT_EQ((co_await connection.command(words("GET", "fork2"))).text, right.token());
  }());
}

TEST(RedisLock, RefusesOptionsItCannotHonour) {
  const RedisConnection none;
  EXPECT_THROW(RedisLock(none, ""), std::invalid_argument);
  RedisLock::Options negative;
  negative.lease = -1ms;
  EXPECT_THROW(RedisLock(none, "x", negative), std::invalid_argument);
  RedisLock::Options backoff;
  backoff.min_backoff = 10ms;
  backoff.max_backoff = 5ms;
  EXPECT_THROW(RedisLock(none, "x", backoff), std::invalid_argument);
  RedisLock::Options answer;
  answer.answer_timeout = 0ms;
  EXPECT_THROW(RedisLock(none, "x", answer), std::invalid_argument);
}

}  // namespace
}  // namespace pz
