// pz::RedisConnection against servers that are not (well-behaved) Redis:
// test::FakeRedis sends exactly the bytes each test needs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_reply_too_large_error.hpp"
#include "support/fake_redis.hpp"

namespace pz {
namespace {

using Arguments = std::vector<std::string>;

template <class... Words>
Arguments words(const Words&... each) {
  return Arguments{std::string(each)...};
}

// The message of what `command` raised, or "" if it did not raise.
Task<std::string> failure_of(Task<RedisReply> command) {
  try {
    (void)co_await std::move(command);
  } catch (const std::runtime_error& error) {
    co_return error.what();
  }
  co_return "";
}

TEST(RedisConnectionAgainstABadServer, RefusesAReplyThatNeverEndsInsteadOfBufferingIt) {
  // A bulk string that announces ~10 GB and streams bytes until the client
  // hangs up (or 64 MB went out: bounded even if it never does).
  constexpr std::size_t kFloodLimit = std::size_t{64} << 20;
  std::size_t flooded = 0;  // written by the fake's thread, read once it is joined
  std::string why;
  {
    test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
      if (peer.read_command().empty() || !peer.send("$9999999999\r\n")) {
        return;
      }
      flooded = peer.flood(std::string(64 * 1024, 'x'), kFloodLimit);
    });
    why = run([&]() -> Task<std::string> {
      RedisConnection redis = co_await RedisConnection::open("127.0.0.1", fake.port());
      std::string failed;
      try {
        (void)co_await redis.command(words("GET", "k"));
      } catch (const RedisReplyTooLargeError& error) {
        failed = error.what();  // this type: the caller knows the reply was refused
      }
      EXPECT_FALSE(redis.is_open());
      co_return failed;
    }());
    EXPECT_NE(why.find("Redis connection to 127.0.0.1:" + std::to_string(fake.port()) +
                       ": the server sent a reply of more than 4194304 bytes"),
              std::string::npos)
        << why;
  }                                 // the fake's threads are joined here
  EXPECT_LT(flooded, kFloodLimit);  // the client hung up rather than read on
}

TEST(RedisConnectionAgainstABadServer, RefusesAnArrayLongerThanAReplyCanHold) {
  // 13 bytes that announce 2^31 - 1 elements: hiredis used to allocate the
  // element pointers (16 GB) at once, and to walk them all when freeing the
  // unfinished reply, blocking the loop for seconds.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    if (!peer.read_command().empty()) {
      peer.send("*2147483647\r\n:1\r\n");
    }  // and hangs up, so that the old code, which waited for the rest, ended
  });
  const std::string why = run([&]() -> Task<std::string> {
    RedisConnection redis = co_await RedisConnection::open("127.0.0.1", fake.port());
    co_return co_await failure_of(redis.command(words("LRANGE", "k", "0", "-1")));
  }());
  EXPECT_EQ(why, "Redis connection to 127.0.0.1:" + std::to_string(fake.port()) +
                     ": the server sent a reply of more than 65536 elements, more than this "
                     "client takes");
}

TEST(RedisConnectionAgainstABadServer, RefusesAReplyOfTooManySmallElements) {
  // 300 arrays of 300 integers: 361 KB, well under the byte limit, but
  // 90,301 elements, each a hiredis object and a RedisReply (at 4 MiB such
  // a reply cost ~200 MB). Only the GET's reply is refused for its size;
  // the PING queued behind it fails as any command on a broken connection.
  std::string nested = "*300\r\n";
  for (int i = 0; i < 300; ++i) {
    nested += "*300\r\n";
    for (int j = 0; j < 300; ++j) {
      nested += ":1\r\n";
    }
  }
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    if (!peer.read_command().empty()) {
      peer.send(nested + "+PONG\r\n");
    }
    (void)peer.read_command();  // until the client hangs up
  });
  run([&]() -> Task<void> {
    RedisConnection redis = co_await RedisConnection::open("127.0.0.1", fake.port());
    // Each command's outcome: its reply, or which type it raised and why.
    auto outcome = [&](Arguments command) -> Task<std::string> {
      try {
        co_return (co_await redis.command(std::move(command))).text;
      } catch (const RedisReplyTooLargeError& error) {
        co_return std::string("too large: ") + error.what();
      } catch (const std::runtime_error& error) {
        co_return std::string("broken: ") + error.what();
      }
    };
    std::vector<Task<std::string>> both;
    both.push_back(outcome(words("GET", "k")));
    both.push_back(outcome(words("PING")));  // sent before the GET's reply came
    const std::vector<std::string> outcomes = co_await gather(std::move(both));
    const std::string why = "Redis connection to 127.0.0.1:" + std::to_string(fake.port()) +
                            ": the server sent a reply of more than 65536 elements, more than "
                            "this client takes";
    EXPECT_EQ(outcomes, (std::vector<std::string>{"too large: " + why, "broken: " + why}));
    EXPECT_FALSE(redis.is_open());
  }());
}

TEST(RedisConnectionAgainstABadServer, BreaksTheConnectionOnMoreRepliesThanCommands) {
  // Two replies to one command, in one send: the second would otherwise
  // answer the next command (an XADD "confirmed" by bytes sent before it).
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    if (!peer.read_command().empty()) {
      peer.send("+PONG\r\n$3\r\n1-1\r\n");
    }
    while (!peer.read_command().empty()) {
      peer.send("-ERR not confirmed\r\n");
    }
  });
  run([&]() -> Task<void> {
    RedisConnection redis = co_await RedisConnection::open("127.0.0.1", fake.port());
    const RedisReply pong = co_await redis.command(words("PING"));
    EXPECT_EQ(pong.kind, RedisReply::Kind::status);
    EXPECT_EQ(pong.text, "PONG");  // answered before the extra bytes: kept
    EXPECT_FALSE(redis.is_open());
    const std::string why = co_await failure_of(redis.command(words("XADD", "s", "*", "n", "1")));
    EXPECT_NE(why.find("the server sent data that no command asked for"), std::string::npos) << why;
  }());
}

TEST(RedisConnectionAgainstABadServer,
     ReportsAServerThatClosedTheConnectionAsClosedNotAsUnaskedData) {
  // A Redis that dies (or closes an idle connection) sends a FIN. It used to
  // be read as bytes that no command asked for, "is it Redis?", in every
  // cook's log when Redis went down.
  std::atomic<bool> hung_up{false};
  test::FakeRedis fake([&](test::FakeRedis::Peer& peer) {
    if (!peer.read_command().empty()) {
      peer.send("+PONG\r\n");
      peer.hang_up();
      hung_up.store(true);
    }
    while (!peer.read_command().empty()) {
    }
  });
  run([&]() -> Task<void> {
    RedisConnection redis = co_await RedisConnection::open("127.0.0.1", fake.port());
    EXPECT_EQ((co_await redis.command(words("PING"))).text, "PONG");
    for (int i = 0; i < 5000 && !hung_up.load(); ++i) {
      co_await sleep(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(hung_up.load());
    const std::string why = co_await failure_of(redis.command(words("PING")));
    EXPECT_NE(why.find("the server closed the connection"), std::string::npos) << why;
    EXPECT_EQ(why.find("no command asked for"), std::string::npos) << why;
  }());
}

TEST(RedisConnectionAgainstABadServer, CountsAConnectionWhoseReplyIsOverdueAsStuck) {
  // A server that reads and never answers (paused): the connection is open
  // and no reset comes, but a reply is overdue.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
    }
  });
  run([&]() -> Task<void> {
    RedisConnection redis = co_await RedisConnection::open("127.0.0.1", fake.port());
    EXPECT_EQ(redis.unanswered_for(), std::chrono::nanoseconds::zero());
    bool timed_out = false;
    try {
      (void)co_await timeout(std::chrono::milliseconds(20), redis.command(words("PING")));
    } catch (const TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_GE(redis.unanswered_for(), std::chrono::milliseconds(20));
    EXPECT_TRUE(redis.is_alive());  // a reply is due: by itself, not broken
    EXPECT_TRUE(redis.is_alive(std::chrono::hours(1)));
    EXPECT_FALSE(redis.is_alive(std::chrono::milliseconds(10)));
  }());
}

TEST(RedisConnectionAgainstABadServer, KeepsTheRepliesThatCameBeforeATimeoutOrABreak) {
  // Two of three replies, then silence (first connection) or a hang-up
  // (second): the two are Redis's answers and are returned.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    for (int i = 0; i < 3; ++i) {
      if (peer.read_command().empty()) {
        return;
      }
    }
    peer.send("+one\r\n+two\r\n");
    if (peer.number() == 2) {
      peer.hang_up();
    }
    while (!peer.read_command().empty()) {
    }
  });
  run([&]() -> Task<void> {
    std::vector<Arguments> three{words("ECHO", "1"), words("ECHO", "2"), words("ECHO", "3")};
    RedisConnection stalled = co_await RedisConnection::open("127.0.0.1", fake.port());
    const RedisConnection::PartialReplies late =
        co_await stalled.pipeline_within(three, std::chrono::seconds(1));
    EXPECT_TRUE(late.timed_out);
    EXPECT_EQ(late.error, "");
    EXPECT_EQ(late.replies.size(), 2U);
    if (late.replies.size() == 2U) {
      EXPECT_EQ(late.replies[1].text, "two");
    }
    RedisConnection broken = co_await RedisConnection::open("127.0.0.1", fake.port());
    const RedisConnection::PartialReplies cut =
        co_await broken.pipeline_within(three, std::chrono::seconds(30));
    EXPECT_FALSE(cut.timed_out);
    EXPECT_NE(cut.error.find("the server closed the connection"), std::string::npos) << cut.error;
    EXPECT_EQ(cut.replies.size(), 2U);
    if (!cut.replies.empty()) {
      EXPECT_EQ(cut.replies[0].text, "one");
    }
  }());
}

}  // namespace
}  // namespace pz
