#include "pizzeria/net/redis_connection.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/coro/gather.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/net/redis_error.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;

namespace pz {
namespace {

using Kind = RedisReply::Kind;
using Arguments = std::vector<std::string>;

// A command's words. A function, not a braced list: GCC 12 rejects string
// literals in a braced list inside a co_await ("array used as initializer").
template <class... Words>
Arguments words(const Words&... each) {
  return Arguments{std::string(each)...};
}

RedisReply status(std::string text) {
  return RedisReply{.kind = Kind::status, .text = std::move(text), .integer = 0, .elements = {}};
}
RedisReply bulk(std::string text) {
  return RedisReply{.kind = Kind::bulk, .text = std::move(text), .integer = 0, .elements = {}};
}
RedisReply integer(std::int64_t value) {
  return RedisReply{.kind = Kind::integer, .text = {}, .integer = value, .elements = {}};
}

TEST(RedisConnection, ReturnsRepliesOfEveryKindAsValues) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    EXPECT_EQ(co_await connection.command(words("PING")), status("PONG"));
    EXPECT_EQ(co_await connection.command(words("SET", "greeting", "ciao")), status("OK"));
    EXPECT_EQ(co_await connection.command(words("GET", "greeting")), bulk("ciao"));
    EXPECT_TRUE((co_await connection.command(words("GET", "nothing"))).is_nil());
    EXPECT_EQ(co_await connection.command(words("RPUSH", "list", "a", "b")), integer(2));
    const RedisReply list = co_await connection.command(words("LRANGE", "list", "0", "-1"));
    EXPECT_EQ(list.kind, Kind::array);
    EXPECT_EQ(list.elements, (std::vector<RedisReply>{bulk("a"), bulk("b")}));
    const RedisReply wrong = co_await connection.command(words("NOSUCHCOMMAND"));
    EXPECT_TRUE(wrong.is_error());
    EXPECT_EQ(wrong.text.rfind("ERR unknown command", 0), 0U) << wrong.text;
    EXPECT_THROW((void)wrong.or_throw("NOSUCHCOMMAND"), RedisError);
    EXPECT_TRUE(connection.is_open());  // an error reply does not break the connection
  }());
}

TEST(RedisConnection, AuthenticatesFirstWhenGivenCredentials) {
  const std::string secret = "a pizza password";
  test::RedisServer redis(test::RedisServer::Durability::none, secret);
  // Named, not temporaries in the co_await: GCC 12 copies an aggregate
  // temporary of a co_await's full-expression bytewise.
  const RedisCredentials right{.user = {}, .password = secret};
  // requirepass is the password of the ACL user "default".
  const RedisCredentials as_default{.user = "default", .password = secret};
  const RedisCredentials wrong{.user = {}, .password = "wrong one"};
  run([&]() -> Task<void> {
    RedisConnection anonymous = co_await RedisConnection::open("127.0.0.1", redis.port());
    const RedisReply refused = co_await anonymous.command(words("PING"));
    EXPECT_EQ(refused.text.rfind("NOAUTH", 0), 0U) << refused.text;
    RedisConnection known = co_await RedisConnection::open("127.0.0.1", redis.port(), right);
    EXPECT_EQ(co_await known.command(words("PING")), status("PONG"));
    RedisConnection user = co_await RedisConnection::open("127.0.0.1", redis.port(), as_default);
    EXPECT_EQ(co_await user.command(words("PING")), status("PONG"));
    std::string message;
    try {
      (void)co_await RedisConnection::open("127.0.0.1", redis.port(), wrong);
    } catch (const RedisError& error) {
      message = error.what();
    }
    EXPECT_EQ(message.rfind("Redis at " + redis.address() + " refused AUTH: WRONGPASS", 0), 0U)
        << message;
    EXPECT_EQ(message.find("wrong one"), std::string::npos) << message;  // never the password
  }());
}

TEST(RedisConnection, SendsArgumentsBinarySafe) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    const std::string awkward("line\r\nbreak\0nul *3 $5", 20);
    EXPECT_EQ(co_await connection.command(words("SET", awkward, awkward)), status("OK"));
    EXPECT_EQ(co_await connection.command(words("GET", awkward)), bulk(awkward));
  }());
}

TEST(RedisConnection, AnswersAPipelineInOrder) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::vector<Arguments> commands(1000, words("INCR", "counter"));
    const std::vector<RedisReply> replies = co_await connection.pipeline(std::move(commands));
    EXPECT_EQ(replies.size(), 1000U);
    for (std::size_t i = 0; i < replies.size(); ++i) {
      EXPECT_EQ(replies.at(i), integer(static_cast<std::int64_t>(i + 1)));
    }
    EXPECT_TRUE((co_await connection.pipeline({})).empty());
  }());
}

TEST(RedisConnection, GivesEachOfManyConcurrentTasksItsOwnReply) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    auto echo_twice = [&connection](int number) -> Task<std::string> {
      const std::string mine = "task " + std::to_string(number);
      std::vector<Arguments> commands{words("ECHO", mine), words("ECHO", mine + "!")};
      const std::vector<RedisReply> replies = co_await connection.pipeline(std::move(commands));
      co_return replies.at(0).text + "|" + replies.at(1).text;
    };
    std::vector<Task<std::string>> tasks;
    for (int number = 0; number < 200; ++number) {
      tasks.push_back(echo_twice(number));
    }
    const std::vector<std::string> answers = co_await gather(std::move(tasks));
    for (int number = 0; number < 200; ++number) {
      const std::string mine = "task " + std::to_string(number);
      EXPECT_EQ(answers[static_cast<std::size_t>(number)], mine + "|" + mine + "!");
    }
  }());
}

TEST(RedisConnection, DropsTheReplyOfACancelledCommandAndKeepsTheOthersMatched) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    // BLPOP on an empty list waits for ever; the caller gives up.
    EXPECT_THROW(co_await timeout(10ms, connection.command(words("BLPOP", "dough", "0"))),
                 TimeoutError);
    // Now its reply comes: the pushed value, which must not go to the ECHO.
    RedisConnection other = co_await RedisConnection::open("127.0.0.1", redis.port());
    EXPECT_EQ(co_await other.command(words("LPUSH", "dough", "ball")), integer(1));
    EXPECT_EQ(co_await connection.command(words("ECHO", "after")), bulk("after"));
    EXPECT_EQ(co_await connection.command(words("ECHO", "again")), bulk("again"));
    EXPECT_EQ(co_await other.command(words("LLEN", "dough")), integer(0));  // BLPOP took it
  }());
}

TEST(RedisConnection, KeepsTheRepliesThatCameBeforeTheConnectionBroke) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    // Six tasks at once: Redis answers up to QUIT, then closes the
    // connection. Whatever it answered is an answer.
    auto send = [&connection](std::vector<Arguments> commands) -> Task<std::string> {
      try {
        const std::vector<RedisReply> replies = co_await connection.pipeline(std::move(commands));
        std::string texts;
        for (const RedisReply& reply : replies) {
          texts += reply.text + ";";
        }
        co_return texts;
      } catch (const std::runtime_error&) {
        co_return "failed";
      }
    };
    std::vector<Task<std::string>> tasks;
    tasks.push_back(send({words("ECHO", "t1"), words("ECHO", "t2")}));
    tasks.push_back(send({words("ECHO", "r1")}));
    tasks.push_back(send({words("ECHO", "r2")}));
    tasks.push_back(send({words("QUIT")}));
    tasks.push_back(send({words("ECHO", "r4")}));
    tasks.push_back(send({words("ECHO", "r5")}));
    const std::vector<std::string> outcomes = co_await gather(std::move(tasks));
    EXPECT_EQ(outcomes,
              (std::vector<std::string>{"t1;t2;", "r1;", "r2;", "OK;", "failed", "failed"}));
    EXPECT_FALSE(connection.is_open());
  }());
}

TEST(RedisConnection, FailsWaitingAndLaterCommandsWhenTheServerDies) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    RedisConnection waiting_on_it = connection;  // a second handle shares the connection
    redis.crash();
    EXPECT_THROW(co_await connection.command(words("PING")), std::exception);
    EXPECT_FALSE(connection.is_open());
    EXPECT_FALSE(waiting_on_it.is_open());
    try {
      (void)co_await waiting_on_it.command(words("PING"));
      ADD_FAILURE() << "a broken connection took a command";
    } catch (const std::exception& error) {
      EXPECT_NE(std::string(error.what()).find("Redis connection"), std::string::npos)
          << error.what();
    }
  }());
}

TEST(RedisConnection, NoticesWhileIdleThatTheServerWentAway) {
  test::RedisServer redis;
  run([&]() -> Task<void> {
    RedisConnection connection = co_await RedisConnection::open("127.0.0.1", redis.port());
    EXPECT_TRUE(connection.is_alive());
    redis.crash();  // the kernel closes its sockets: our end sees the FIN
    EXPECT_FALSE(connection.is_alive());
    EXPECT_FALSE(connection.is_open());
  }());
}

TEST(RedisConnection, RefusesCommandsWhenNeverConnected) {
  run([]() -> Task<void> {
    RedisConnection connection;
    EXPECT_FALSE(connection.is_open());
    EXPECT_THROW(co_await connection.command(words("PING")), std::logic_error);
  }());
}

}  // namespace
}  // namespace pz
