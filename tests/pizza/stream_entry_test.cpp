#include "pizzeria/pizza/stream_entry.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pz::pizza {
namespace {

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

TEST(StreamEntry, AnEntryIsAnIdAndAnArrayOfFields) {
  RedisReply reply = array({bulk("1-0"), array({bulk("pizzas"), bulk("3")})});
  const auto entry = StreamEntry::from_reply(reply);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->id, "1-0");
  EXPECT_EQ(entry->pizzas(), 3);
}

TEST(StreamEntry, RepliesOfAnyOtherShapeAreNotEntries) {
  std::vector<RedisReply> others{
      RedisReply{},
      bulk("1-0"),
      array({}),
      array({bulk("1-0")}),
      array({bulk("1-0"), bulk("pizzas")}),
      array({integer(1), array({})}),
      array({bulk("1-0"), array({}), array({})}),
  };
  for (RedisReply& reply : others) {
    EXPECT_FALSE(StreamEntry::from_reply(reply)) << reply.describe();
  }
}

TEST(StreamEntry, PizzasIsTheFirstPizzasFieldWhenItIsAWholeNumberOfAtLeastOne) {
  const auto pizzas_of = [](std::vector<RedisReply> fields) {
    StreamEntry entry;
    entry.fields = std::move(fields);
    return entry.pizzas();
  };
  EXPECT_EQ(pizzas_of({bulk("note"), bulk("x"), bulk("pizzas"), bulk("12")}), 12);
  EXPECT_EQ(pizzas_of({bulk("pizzas"), bulk("0")}), std::nullopt);
  EXPECT_EQ(pizzas_of({bulk("pizzas"), bulk("-1")}), std::nullopt);
  EXPECT_EQ(pizzas_of({bulk("pizzas"), bulk("3 ")}), std::nullopt);
  EXPECT_EQ(pizzas_of({bulk("pizzas"), bulk("99999999999")}), std::nullopt);
  EXPECT_EQ(pizzas_of({bulk("pizzas"), bulk("x"), bulk("pizzas"), bulk("2")}), std::nullopt);
  EXPECT_EQ(pizzas_of({bulk("pizzas")}), std::nullopt);  // a field without a value
}

TEST(StreamEntry, AnIdIsTwoRunsOfDigitsAroundADash) {
  EXPECT_TRUE(StreamEntry::is_id(bulk("1700000000000-0")));
  for (const char* text : {"", "-", "1-", "-1", "1", "1-2-3", "a-1", "1-0 "}) {
    EXPECT_FALSE(StreamEntry::is_id(bulk(text))) << text;
  }
  EXPECT_FALSE(StreamEntry::is_id(reply_of(RedisReply::Kind::status, "1-0")));
}

TEST(StreamEntry, DescribedFieldsAreEscapedAndCutWithTheirFullSize) {
  StreamEntry forged;
  forged.fields = {bulk("note"), bulk("a\nb\x1b")};
  EXPECT_EQ(forged.describe_fields(), "note a\\nb\\x1b");
  StreamEntry huge;
  huge.fields = {bulk("note"), bulk(std::string(100000, 'y'))};
  EXPECT_EQ(huge.describe_fields(), "note " + std::string(195, 'y') + "... (100005 bytes)");
  EXPECT_EQ(StreamEntry{}.describe_fields(), "no fields");
}

}  // namespace
}  // namespace pz::pizza
