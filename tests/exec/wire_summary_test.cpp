#include "pizzeria/exec/wire_summary.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "pizzeria/exec/wire.hpp"

namespace {

template <typename T>
std::string encoded(const T& value) {
  pz::WireWriter writer;
  pz::wire_encode(writer, value);
  return writer.take();
}

TEST(WireSummary, RendersATaskArgumentTupleReadably) {
  const auto value = std::make_tuple(12L, std::string("margherita"), std::vector<double>{1.5, 2},
                                     true, std::map<std::string, int>{{"a", 1}});
  EXPECT_EQ(pz::wire_summary(encoded(value)), R"((12, "margherita", [1.5, 2], true, {"a": 1}))");
}

TEST(WireSummary, EscapesAndCutsLongStrings) {
  const std::string text = std::string("a\"b\n") + std::string(100, 'z');
  const std::string summary = pz::wire_summary(encoded(text));
  EXPECT_EQ(summary.substr(0, 9), R"("a\"b\x0a)");
  EXPECT_NE(summary.find("...\" (104 bytes)"), std::string::npos) << summary;
}

TEST(WireSummary, ShowsTheFirstElementsOfALongListAndItsLength) {
  std::vector<long> many(1000, 7);
  EXPECT_EQ(pz::wire_summary(encoded(many)), "[7, 7, 7, 7, 7, 7, 7, 7, ... 1000 in all]");
}

TEST(WireSummary, StaysWithinItsLimit) {
  std::vector<std::string> long_strings(8, std::string(40, 'q'));
  const std::string summary = pz::wire_summary(encoded(long_strings), 50);
  EXPECT_EQ(summary.size(), 50U);
  EXPECT_EQ(summary.substr(47), "...");
}

TEST(WireSummary, MarksUndecodableBytesInsteadOfThrowing) {
  EXPECT_EQ(pz::wire_summary(std::string("i\x01", 2)), "<undecodable>");
  EXPECT_EQ(
      pz::wire_summary(std::string("l\x02\x00\x00\x00i\x01\x00\x00\x00\x00\x00\x00\x00?", 15)),
      "[1, <undecodable>");
  EXPECT_EQ(pz::wire_summary(""), "<undecodable>");
}

}  // namespace
