// pz::RedisReply as a value: or_throw, and describe() for messages about
// replies of the wrong shape.
#include "pizzeria/net/redis_reply.hpp"

#include <gtest/gtest.h>

#include <string>

#include "pizzeria/net/redis_error.hpp"

namespace pz {
namespace {

RedisReply reply_of(RedisReply::Kind kind, std::string text = std::string()) {
  RedisReply reply;
  reply.kind = kind;
  reply.text = std::move(text);
  return reply;
}

TEST(RedisReply, DescribesEachKindWithItsValue) {
  EXPECT_EQ(reply_of(RedisReply::Kind::status, "OK").describe(), "the status OK");
  EXPECT_EQ(reply_of(RedisReply::Kind::error, "ERR no").describe(), "the error ERR no");
  EXPECT_EQ(reply_of(RedisReply::Kind::bulk, "1-1").describe(), "the string 1-1");
  EXPECT_EQ(reply_of(RedisReply::Kind::nil).describe(), "nil");
  RedisReply integer = reply_of(RedisReply::Kind::integer);
  integer.integer = -5;
  EXPECT_EQ(integer.describe(), "the integer -5");
  RedisReply array = reply_of(RedisReply::Kind::array);
  array.elements.resize(3);
  EXPECT_EQ(array.describe(), "an array of 3");
}

TEST(RedisReply, CutsALongTextTo100BytesWhenDescribingIt) {
  // The reply may come from a peer that is not Redis; a message stays a line.
  const std::string long_text(5000, 'x');
  EXPECT_EQ(reply_of(RedisReply::Kind::bulk, long_text).describe(),
            "the string " + std::string(100, 'x') + "... (5000 bytes)");
}

TEST(RedisReply, EscapesControlBytesWhenDescribingOrRaisingIt) {
  // A fake server must not write lines of its own into the log.
  const RedisReply forged = reply_of(RedisReply::Kind::error, "ERR x\nkitchen: all fine\x1b[2J");
  EXPECT_EQ(forged.describe(), "the error ERR x\\nkitchen: all fine\\x1b[2J");
  try {
    (void)forged.or_throw("XADD");
    ADD_FAILURE() << "an error reply passed or_throw";
  } catch (const RedisError& raised) {
    EXPECT_STREQ(raised.what(),
                 "XADD failed: the Redis server replied ERR x\\nkitchen: all fine\\x1b[2J");
  }
}

TEST(RedisReply, OrThrowRaisesARedisErrorNamingTheCommandForAnErrorReply) {
  const RedisReply error = reply_of(RedisReply::Kind::error, "ERR wrong type");
  try {
    (void)error.or_throw("XADD");
    ADD_FAILURE() << "an error reply passed or_throw";
  } catch (const RedisError& raised) {
    EXPECT_STREQ(raised.what(), "XADD failed: the Redis server replied ERR wrong type");
  }
  const RedisReply fine = reply_of(RedisReply::Kind::status, "OK");
  EXPECT_EQ(&fine.or_throw("PING"), &fine);
}

}  // namespace
}  // namespace pz
