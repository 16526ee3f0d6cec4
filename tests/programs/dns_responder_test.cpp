#include "pizzeria/programs/dns_responder.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace pz::programs {
namespace {

using namespace std::string_literals;

const DnsZone& test_zone() {
  static const DnsZone zone = DnsZone::parse(
      "# comment\n"
      "\n"
      "pizza.test A 10.0.0.7\n"
      "Pizza.Test. AAAA 2001:db8::7\n"
      "two.test\tA\t1.2.3.4\n"
      "two.test A 1.2.3.5\n");
  return zone;
}

// Header: id 0xBEEF, RD set, one question; then "pizza.test" type/class.
std::string query(std::uint16_t type, const std::string& name = "\x05pizza\x04test\x00"s,
                  std::string flags = "\x01\x00"s) {
  return "\xBE\xEF"s + flags + "\x00\x01\x00\x00\x00\x00\x00\x00"s + name + "\x00"s +
         static_cast<char>(type) + "\x00\x01"s;
}

TEST(DnsResponder, AnswersAQueryWithTheRecordByteForByte) {
  const std::string q = query(dns::kTypeA);
  const auto reply = answer_dns_query(q, test_zone());
  ASSERT_TRUE(reply);
  const std::string expected =
      "\xBE\xEF\x85\x00\x00\x01\x00\x01\x00\x00\x00\x00"s  // id, QR AA RD, 1 question, 1 answer
      "\x05pizza\x04test\x00\x00\x01\x00\x01"s             // the question, echoed
      "\xC0\x0C\x00\x01\x00\x01\x00\x00\x01\x2C\x00\x04\x0A\x00\x00\x07"s;  // A 10.0.0.7 TTL 300
  EXPECT_EQ(*reply, expected);
}

TEST(DnsResponder, AnswersAaaaAndEchoesTheQuestionsLetterCase) {
  const std::string q = query(dns::kTypeAAAA, "\x05PiZZa\x04TEST\x00"s);
  const auto reply = answer_dns_query(q, test_zone());
  ASSERT_TRUE(reply);
  const std::string expected =
      "\xBE\xEF\x85\x00\x00\x01\x00\x01\x00\x00\x00\x00"s
      "\x05PiZZa\x04TEST\x00\x00\x1C\x00\x01"s
      "\xC0\x0C\x00\x1C\x00\x01\x00\x00\x01\x2C\x00\x10"s
      "\x20\x01\x0D\xB8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07"s;
  EXPECT_EQ(*reply, expected);
}

TEST(DnsResponder, UnknownNameIsNxDomainWithTheQuestionEchoed) {
  const std::string q = query(dns::kTypeA, "\x04nope\x04test\x00"s);
  const auto reply = answer_dns_query(q, test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply,
            "\xBE\xEF\x85\x03\x00\x01\x00\x00\x00\x00\x00\x00"s
            "\x04nope\x04test\x00\x00\x01\x00\x01"s);
}

// One label "pizza.test" (dig's `pizza\.test`) is not the two labels
// "pizza" and "test", though joining labels with dots spells both the same.
TEST(DnsResponder, ALabelContainingADotIsNotTheNameItSpells) {
  const std::string q = query(dns::kTypeA, "\x0apizza.test\x00"s);
  const auto reply = answer_dns_query(q, test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply,
            "\xBE\xEF\x85\x03\x00\x01\x00\x00\x00\x00\x00\x00"s
            "\x0apizza.test\x00\x00\x01\x00\x01"s);
}

TEST(DnsResponder, KnownNameWithoutRecordsOfTheTypeIsNoData) {
  const auto reply = answer_dns_query(query(15 /* MX */), test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->substr(0, 12), "\xBE\xEF\x85\x00\x00\x01\x00\x00\x00\x00\x00\x00"s);
}

TEST(DnsResponder, EveryAddressOfANameIsAnswered) {
  const auto reply = answer_dns_query(query(dns::kTypeA, "\x03two\x04test\x00"s), test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->substr(6, 2), "\x00\x02"s);
  EXPECT_EQ(reply->size(), 12u + 14u + 2 * 16u);
}

TEST(DnsResponder, RecordsAfterTheQuestionSuchAsEdnsAreIgnored) {
  const std::string opt = "\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00"s;
  std::string q = query(dns::kTypeA) + opt;
  q[11] = 1;  // ARCOUNT
  const auto reply = answer_dns_query(q, test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, *answer_dns_query(query(dns::kTypeA), test_zone()));
}

TEST(DnsResponder, MalformedQuestionsGetAHeaderOnlyFormErr) {
  const std::string formerr = "\xBE\xEF\x81\x01\x00\x00\x00\x00\x00\x00\x00\x00"s;
  // Truncated name, compression pointer, label over 63, missing type/class.
  for (const std::string& name : {"\x05piz"s, "\xC0\x0C"s, "\x40"s + std::string(64, 'a')}) {
    std::string q = "\xBE\xEF\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"s + name;
    EXPECT_EQ(answer_dns_query(q, test_zone()), formerr);
  }
  EXPECT_EQ(
      answer_dns_query("\xBE\xEF\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00"s, test_zone()),
      formerr);
  // Two questions.
  std::string two = query(dns::kTypeA);
  two[5] = 2;
  EXPECT_EQ(answer_dns_query(two, test_zone()), formerr);
}

TEST(DnsResponder, NamesLongerThan255BytesAreFormErr) {
  std::string name;
  for (int i = 0; i < 5; ++i) {
    name += "\x3F"s + std::string(63, 'a');
  }
  name += '\0';
  const auto reply = answer_dns_query(query(dns::kTypeA, name), test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(static_cast<int>((*reply)[3]), dns::kFormErr);
}

TEST(DnsResponder, OtherOpcodesAreNotImplemented) {
  const auto reply = answer_dns_query(query(dns::kTypeA, "\x05pizza\x04test\x00"s, "\x10\x00"s),
                                      test_zone());  // opcode 2 (STATUS)
  EXPECT_EQ(reply, "\xBE\xEF\x90\x04\x00\x00\x00\x00\x00\x00\x00\x00"s);
}

TEST(DnsResponder, NonInternetClassIsRefused) {
  std::string q = query(dns::kTypeA);
  q[q.size() - 1] = 3;  // CHAOS
  const auto reply = answer_dns_query(q, test_zone());
  ASSERT_TRUE(reply);
  EXPECT_EQ(static_cast<int>((*reply)[3]), dns::kRefused);
}

TEST(DnsResponder, ShortDatagramsAndResponsesGetNoReply) {
  EXPECT_FALSE(answer_dns_query("", test_zone()));
  EXPECT_FALSE(answer_dns_query("\xBE\xEF\x01\x00\x00\x01\x00\x00\x00\x00\x00"s, test_zone()));
  EXPECT_FALSE(
      answer_dns_query(query(dns::kTypeA, "\x05pizza\x04test\x00"s, "\x81\x00"s), test_zone()));
}

TEST(DnsResponder, AnswersThatDoNotFitFiveHundredTwelveBytesSetTruncation) {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "many.test A 10.0.0." + std::to_string(i) + "\n";
  }
  const DnsZone zone = DnsZone::parse(text);
  // 100 bytes of an additional record (ignored) make the query large enough
  // that 512 bytes, not the amplification bound, is what limits the reply.
  const std::string padded = query(dns::kTypeA, "\x04many\x04test\x00"s) + std::string(100, '\0');
  const auto reply = answer_dns_query(padded, zone);
  ASSERT_TRUE(reply);
  EXPECT_LE(reply->size(), dns::kMaxUdpReply);
  EXPECT_EQ((*reply)[2] & 0x02, 0x02);
  EXPECT_EQ(static_cast<unsigned char>((*reply)[7]), (512u - 28u) / 16u);
}

TEST(DnsResponder, NoReplyIsMoreThanFourTimesItsQueryAnswersBeyondAreTruncated) {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "many.test A 10.0.0." + std::to_string(i) + "\n";
  }
  const DnsZone zone = DnsZone::parse(text);
  const std::string small = query(dns::kTypeA, "\x04many\x04test\x00"s);  // 27 bytes
  ASSERT_EQ(small.size(), 27u);
  const auto reply = answer_dns_query(small, zone);
  ASSERT_TRUE(reply);
  // 27 bytes of header and question, then 16 per A record: 5 fit in 108.
  EXPECT_EQ(reply->size(), 27u + 5 * 16);
  EXPECT_LE(reply->size(), dns::kMaxAmplification * small.size());
  EXPECT_EQ((*reply)[2] & 0x02, 0x02);  // TC
  EXPECT_EQ((*reply)[7], 5);
  // A name whose answers fit is answered whole, without TC.
  const auto one = answer_dns_query(query(dns::kTypeA), test_zone());
  ASSERT_TRUE(one);
  EXPECT_EQ((*one)[2] & 0x02, 0);
}

TEST(DnsZone, BadLinesAreRejectedWithTheLineNumberAndReason) {
  EXPECT_THROW((void)DnsZone::parse("a.test A 1.2.3\n"), std::invalid_argument);
  EXPECT_THROW((void)DnsZone::parse("a.test MX mail\n"), std::invalid_argument);
  EXPECT_THROW((void)DnsZone::parse("a.test A\n"), std::invalid_argument);
  try {
    (void)DnsZone::parse("ok.test A 1.1.1.1\nbad.test AAAA 1.2.3.4\n");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("zone line 2"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("not an IPv6 address"), std::string::npos);
  }
}

TEST(DnsZone, AnAddressWithANulByteInsideIsRejectedNotReadUpToTheNul) {
  try {
    (void)DnsZone::parse("a.test A 1.2.3.4\0junk\n"s);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("NUL byte"), std::string::npos) << error.what();
  }
}

TEST(DnsZone, NamesThatNoQueryCanAskForAreRejected) {
  EXPECT_THROW((void)DnsZone::parse(std::string(64, 'x') + ".test A 1.2.3.4\n"),
               std::invalid_argument);
  EXPECT_THROW((void)DnsZone::parse("a..test A 1.2.3.4\n"), std::invalid_argument);
  EXPECT_THROW((void)DnsZone::parse(".test A 1.2.3.4\n"), std::invalid_argument);
  EXPECT_NO_THROW((void)DnsZone::parse(std::string(63, 'x') + ".test A 1.2.3.4\n"));
}

TEST(DnsZone, TheRootWrittenAsADotIsAnsweredForTheRootQuestion) {
  const DnsZone zone = DnsZone::parse(". A 1.2.3.4\n");
  const auto reply = answer_dns_query(query(dns::kTypeA, "\x00"s), zone);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)[3] & 0x0F, dns::kNoError);
  EXPECT_EQ((*reply)[7], 1);  // one answer
}

}  // namespace
}  // namespace pz::programs
