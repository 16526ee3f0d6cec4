#include "pizzeria/net/redis_reply_reader.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/net/redis_reply_too_large_error.hpp"

namespace pz {
namespace {

std::vector<RedisReply> read_all(RedisReplyReader& reader, const std::string& bytes,
                                 std::size_t chunk) {
  std::vector<RedisReply> replies;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    reader.feed(std::string_view(bytes).substr(at, chunk));
    while (std::optional<RedisReply> reply = reader.next()) {
      replies.push_back(std::move(*reply));
    }
  }
  return replies;
}

RedisReply reply_of(RedisReply::Kind kind, std::string text = {}) {
  RedisReply reply;
  reply.kind = kind;
  reply.text = std::move(text);
  return reply;
}
RedisReply bulk(std::string text) {
  return reply_of(RedisReply::Kind::bulk, std::move(text));
}
RedisReply array(std::vector<RedisReply> elements) {
  RedisReply reply = reply_of(RedisReply::Kind::array);
  reply.elements = std::move(elements);
  return reply;
}
RedisReply integer(std::int64_t value) {
  RedisReply reply = reply_of(RedisReply::Kind::integer);
  reply.integer = value;
  return reply;
}

TEST(RedisReplyReader, EveryKindOfReplyIsReadInOrderWhateverTheCutOfTheBytes) {
  const std::string bytes =
      "+OK\r\n-ERR no\r\n:-42\r\n$3\r\na\r\n\r\n$-1\r\n*2\r\n$1\r\nx\r\n*0\r\n";
  const std::vector<RedisReply> expected{
      reply_of(RedisReply::Kind::status, "OK"),
      reply_of(RedisReply::Kind::error, "ERR no"),
      integer(-42),
      bulk("a\r\n"),
      RedisReply{},
      array({bulk("x"), array({})}),
  };
  for (std::size_t chunk = 1; chunk <= bytes.size(); ++chunk) {
    RedisReplyReader reader;
    EXPECT_EQ(read_all(reader, bytes, chunk), expected) << "fed " << chunk << " bytes at a time";
    EXPECT_EQ(reader.unparsed(), 0u);
  }
}

TEST(RedisReplyReader, AnIncompleteReplyWaitsForItsBytes) {
  RedisReplyReader reader;
  reader.feed("$5\r\nhel");
  EXPECT_FALSE(reader.next());
  reader.feed("lo\r\n+O");
  EXPECT_EQ(reader.next(), bulk("hello"));
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(reader.unparsed(), 2u);
}

TEST(RedisReplyReader, AnArrayAnnouncingMoreElementsThanTheLimitIsRefusedAtItsCount) {
  RedisReplyReader reader(RedisReplyReader::kMaxReplyBytes, 3);
  reader.feed("*2147483647\r\n");
  EXPECT_THROW((void)reader.next(), RedisReplyTooLargeError);
}

TEST(RedisReplyReader, NestedElementsCountTowardsTheLimit) {
  RedisReplyReader within(RedisReplyReader::kMaxReplyBytes, 4);
  within.feed("*1\r\n*2\r\n:1\r\n:2\r\n");
  EXPECT_TRUE(within.next());
  RedisReplyReader over(RedisReplyReader::kMaxReplyBytes, 4);
  over.feed("*1\r\n*3\r\n:1\r\n:2\r\n:3\r\n");
  EXPECT_THROW((void)over.next(), RedisReplyTooLargeError);
}

TEST(RedisReplyReader, TheElementCountStartsAgainForEachReply) {
  RedisReplyReader reader(RedisReplyReader::kMaxReplyBytes, 3);
  EXPECT_EQ(read_all(reader, "*2\r\n:1\r\n:2\r\n*2\r\n:3\r\n:4\r\n", 64).size(), 2u);
}

TEST(RedisReplyReader, BytesBeyondTheLimitForOneReplyAreRefusedWhenFed) {
  RedisReplyReader reader(16, RedisReplyReader::kMaxReplyElements);
  reader.feed("$100\r\n0123456789");
  EXPECT_FALSE(reader.next());
  EXPECT_THROW(reader.feed("0123456789"), RedisReplyTooLargeError);
}

TEST(RedisReplyReader, TheByteCountStartsAgainAfterEachReplyFromWhatIsLeft) {
  RedisReplyReader reader(12, RedisReplyReader::kMaxReplyElements);
  reader.feed("+OK\r\n+OK\r\n");  // 10 bytes: two replies
  EXPECT_TRUE(reader.next());
  EXPECT_TRUE(reader.next());
  reader.feed("+0123456\r\n");  // 10 more: a reply of its own, within 12
  EXPECT_TRUE(reader.next());
}

TEST(RedisReplyReader, BytesThatAreNotRespAreAnErrorNamingTheProblem) {
  RedisReplyReader reader;
  reader.feed("HTTP/1.1 400 Bad Request\r\n");
  try {
    (void)reader.next();
    FAIL() << "no exception";
  } catch (const RedisReplyTooLargeError&) {
    FAIL() << "not a size problem";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("not RESP"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace pz
