#include "pizzeria/pizza/load_threshold.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace pz {
namespace {

std::string parse_error(const std::string& text) {
  try {
    (void)LoadThreshold::parse(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "parsed";
}

LoadResult result_on(std::uint16_t port, std::uint64_t latency, std::uint64_t replies) {
  LoadResult result;
  result.target = SocketAddress::parse("127.0.0.1", port);
  result.measured = std::chrono::seconds(1);
  result.replies = replies;
  for (std::uint64_t i = 0; i < replies; ++i) {
    result.latency.record(latency);
  }
  return result;
}

TEST(LoadThreshold, ParsesEachLatencyInEveryUnit) {
  auto p99 = LoadThreshold::parse("p99>5ms");
  EXPECT_EQ(p99.metric, LoadThreshold::Metric::p99);
  EXPECT_TRUE(p99.above);
  EXPECT_DOUBLE_EQ(p99.limit, 5e6);
  EXPECT_EQ(p99.text, "p99>5ms");
  EXPECT_EQ(LoadThreshold::parse("p99.9>2.5us").metric, LoadThreshold::Metric::p99_9);
  EXPECT_DOUBLE_EQ(LoadThreshold::parse("p99.9>2.5us").limit, 2500);
  EXPECT_DOUBLE_EQ(LoadThreshold::parse("p50<300ns").limit, 300);
  EXPECT_FALSE(LoadThreshold::parse("p50<300ns").above);
  EXPECT_DOUBLE_EQ(LoadThreshold::parse("max>1s").limit, 1e9);
  EXPECT_EQ(LoadThreshold::parse("p90>1s").metric, LoadThreshold::Metric::p90);
}

TEST(LoadThreshold, ParsesCountsRatesAndRatios) {
  EXPECT_EQ(LoadThreshold::parse("errors>0").metric, LoadThreshold::Metric::errors);
  EXPECT_DOUBLE_EQ(LoadThreshold::parse("rps<10000").limit, 10000);
  EXPECT_FALSE(LoadThreshold::parse("rps<10000").above);
  EXPECT_TRUE(LoadThreshold::parse("ratio.p99>1.1").is_ratio());
  EXPECT_DOUBLE_EQ(LoadThreshold::parse("ratio.rps<0.9").limit, 0.9);
  EXPECT_FALSE(LoadThreshold::parse("rps<1").is_ratio());
}

TEST(LoadThreshold, RejectsBadExpressionsNamingThem) {
  EXPECT_EQ(parse_error("p98>1ms"),
            "--fail-if 'p98>1ms': not a threshold; write p50|p90|p99|p99.9|max >|< DURATION "
            "(ns, us, ms, s), errors>N, rps<N, ratio.p99>X or ratio.rps<X");
  EXPECT_EQ(parse_error("p99>5"),
            "--fail-if 'p99>5': a latency needs a unit: ns, us, ms or s (e.g. p99>5ms)");
  EXPECT_EQ(parse_error("p99>fast"), "--fail-if 'p99>fast': 'fast' is not a non-negative number");
  EXPECT_EQ(parse_error("p99>-1ms"), "--fail-if 'p99>-1ms': '-1ms' is not a non-negative number");
  EXPECT_EQ(parse_error("p99> 1ms"), "--fail-if 'p99> 1ms': ' 1ms' is not a non-negative number");
  EXPECT_EQ(parse_error("errors<3"),
            "--fail-if 'errors<3': only '>' makes sense here (more is worse)");
  EXPECT_EQ(parse_error("rps>3"), "--fail-if 'rps>3': only '<' makes sense here (less is worse)");
  EXPECT_EQ(parse_error("errors>1.5"), "--fail-if 'errors>1.5': a number of errors is whole");
  EXPECT_EQ(parse_error("rps<10k"), "--fail-if 'rps<10k': unexpected 'k' after the number");
  EXPECT_EQ(parse_error("errors>inf"),
            "--fail-if 'errors>inf': 'inf' is not a non-negative number");
  EXPECT_NE(parse_error(""), "parsed");
  EXPECT_NE(parse_error("p99"), "parsed");
}

TEST(LoadThreshold, NamesEveryBrokenThresholdWithItsMeasuredValue) {
  const std::vector<LoadResult> results{result_on(4000, 35'000, 100)};
  const std::vector<LoadThreshold> thresholds{
      LoadThreshold::parse("p99>1us"), LoadThreshold::parse("p99>1ms"),
      LoadThreshold::parse("errors>0"), LoadThreshold::parse("rps<1000")};
  const auto broken = broken_thresholds(thresholds, results);
  ASSERT_EQ(broken.size(), 2U);
  EXPECT_EQ(broken[0].threshold, "p99>1us");
  EXPECT_EQ(broken[0].target, "127.0.0.1:4000");
  EXPECT_EQ(broken[0].message,
            "p99>1us broken: p99 was " + broken[0].measured + " on 127.0.0.1:4000");
  EXPECT_EQ(broken[0].measured.substr(broken[0].measured.size() - 2), "us");
  EXPECT_EQ(broken[1].message, "rps<1000 broken: rps was 100.0 on 127.0.0.1:4000");
}

TEST(LoadThreshold, WritesALatencyJustBelowAUnitAsAPlainNumber) {
  // Three significant digits of 999,900 ns in microseconds would be "1e+03".
  for (const std::uint64_t nanoseconds : {999'900ULL, 999'900'000ULL}) {
    const auto broken =
        broken_thresholds({LoadThreshold::parse("max>1ns")}, {result_on(4000, nanoseconds, 10)});
    ASSERT_EQ(broken.size(), 1U);
    EXPECT_EQ(broken[0].measured.find('e'), std::string::npos) << broken[0].measured;
    EXPECT_TRUE(broken[0].measured.starts_with("1")) << broken[0].measured;
  }
}

TEST(LoadThreshold, HoldsWhenTheMeasuredValueEqualsTheLimit) {
  const std::vector<LoadResult> results{result_on(4000, 100, 50)};
  EXPECT_TRUE(broken_thresholds({LoadThreshold::parse("max>100ns"), LoadThreshold::parse("rps<50")},
                                results)
                  .empty());
}

TEST(LoadThreshold, ComparesEachOtherTargetWithTheFirst) {
  const std::vector<LoadResult> results{result_on(4000, 100, 100), result_on(4001, 200, 100),
                                        result_on(4002, 100, 40)};
  const auto broken = broken_thresholds(
      {LoadThreshold::parse("ratio.p99>1.5"), LoadThreshold::parse("ratio.rps<0.5")}, results);
  ASSERT_EQ(broken.size(), 2U);
  EXPECT_EQ(broken[0].message, "ratio.p99>1.5 broken: ratio.p99 was 2.000x on 127.0.0.1:4001");
  EXPECT_EQ(broken[1].message, "ratio.rps<0.5 broken: ratio.rps was 0.400x on 127.0.0.1:4002");
}

TEST(LoadThreshold, ARatioToAFirstTargetThatMeasuredNothingIsBroken) {
  const std::vector<LoadResult> results{result_on(4000, 0, 0), result_on(4001, 200, 100)};
  const auto broken = broken_thresholds({LoadThreshold::parse("ratio.rps<0.5")}, results);
  ASSERT_EQ(broken.size(), 1U);
  EXPECT_EQ(broken[0].measured, "n/a");
  EXPECT_EQ(broken[0].message,
            "ratio.rps<0.5 broken: ratio.rps has no value (127.0.0.1:4000 measured nothing)");
}

}  // namespace
}  // namespace pz
