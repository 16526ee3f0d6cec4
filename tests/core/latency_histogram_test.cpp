#include "pizzeria/core/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace pz {
namespace {

// The true percentile by the same definition the histogram uses: the value of
// rank ceil(p% of n) in sorted order.
std::uint64_t exact_percentile(const std::vector<std::uint64_t>& sorted, double percentile) {
  auto rank = static_cast<std::size_t>(
      std::ceil(percentile / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double relative_error(std::uint64_t reported, std::uint64_t truth) {
  return std::abs(static_cast<double>(reported) - static_cast<double>(truth)) /
         static_cast<double>(truth);
}

TEST(LatencyHistogram, BucketsAreContiguousAndNeverWiderThanOnePercent) {
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBucketCount; ++i) {
    const auto lowest = LatencyHistogram::bucket_lowest(i);
    const auto highest = LatencyHistogram::bucket_highest(i);
    ASSERT_LE(lowest, highest) << "bucket " << i;
    ASSERT_EQ(highest + 1, LatencyHistogram::bucket_lowest(i + 1)) << "bucket " << i;
    ASSERT_EQ(LatencyHistogram::bucket_index(lowest), i);
    ASSERT_EQ(LatencyHistogram::bucket_index(highest), i);
    if (lowest > 0) {
      ASSERT_LE(static_cast<double>(highest - lowest) / static_cast<double>(lowest), 0.01)
          << "bucket " << i;
    }
  }
  EXPECT_EQ(LatencyHistogram::bucket_highest(LatencyHistogram::kBucketCount - 1), UINT64_MAX);
  EXPECT_EQ(LatencyHistogram::bucket_index(UINT64_MAX), LatencyHistogram::kBucketCount - 1);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram histogram;
  for (std::uint64_t value = 0; value < 256; ++value) {
    histogram.record(value);
  }
  EXPECT_EQ(histogram.count(), 256U);
  EXPECT_EQ(histogram.min(), 0U);
  EXPECT_EQ(histogram.max(), 255U);
  EXPECT_EQ(histogram.value_at_percentile(50.0), 127U);
  EXPECT_EQ(histogram.value_at_percentile(100.0), 255U);
  EXPECT_EQ(histogram.value_at_percentile(0.0), 0U);
}

TEST(LatencyHistogram, UniformDistributionPercentilesAreWithinOnePercent) {
  // 1 ms .. 100 ms in 1 us steps: the true percentile p is 1 ms + p% of the range.
  LatencyHistogram histogram;
  std::vector<std::uint64_t> values;
  for (std::uint64_t us = 1000; us <= 100'000; ++us) {
    values.push_back(us * 1000);
    histogram.record(us * 1000);
  }
  for (double percentile : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const auto truth = exact_percentile(values, percentile);
    const auto reported = histogram.value_at_percentile(percentile);
    EXPECT_LE(relative_error(reported, truth), 0.01)
        << "p" << percentile << " reported " << reported << " true " << truth;
    EXPECT_GE(reported, truth) << "a reported percentile is never below the truth";
  }
  EXPECT_EQ(histogram.max(), 100'000'000U);
  EXPECT_EQ(histogram.min(), 1'000'000U);
}

TEST(LatencyHistogram, LogNormalPercentilesMatchTheSortedSampleWithinOnePercent) {
  // A latency-like long tail spanning microseconds to seconds.
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> distribution(std::log(200'000.0), 1.5);
  LatencyHistogram histogram;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    const auto value = static_cast<std::uint64_t>(distribution(random)) + 1;
    values.push_back(value);
    histogram.record(value);
  }
  std::sort(values.begin(), values.end());
  for (double percentile : {50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const auto truth = exact_percentile(values, percentile);
    const auto reported = histogram.value_at_percentile(percentile);
    EXPECT_LE(relative_error(reported, truth), 0.01)
        << "p" << percentile << " reported " << reported << " true " << truth;
  }
  EXPECT_EQ(histogram.value_at_percentile(100.0), values.back());
  double sum = 0;
  for (auto value : values) {
    sum += static_cast<double>(value);
  }
  EXPECT_NEAR(histogram.mean(), sum / static_cast<double>(values.size()),
              0.01 * sum / static_cast<double>(values.size()));
}

TEST(LatencyHistogram, MergingPerThreadHistogramsEqualsRecordingEverythingInOne) {
  LatencyHistogram whole;
  LatencyHistogram parts[3];
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::uint64_t> distribution(1, 5'000'000'000);
  for (int i = 0; i < 30'000; ++i) {
    const auto value = distribution(random);
    whole.record(value);
    parts[i % 3].record(value);
  }
  LatencyHistogram merged;
  for (const auto& part : parts) {
    merged.merge(part);
  }
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.min(), whole.min());
  EXPECT_EQ(merged.max(), whole.max());
  for (double percentile : {0.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    EXPECT_EQ(merged.value_at_percentile(percentile), whole.value_at_percentile(percentile));
  }
}

TEST(LatencyHistogram, RecordsCountsAndCountsValuesAtOrAbove) {
  LatencyHistogram histogram;
  histogram.record(1'000, 99);
  histogram.record(300'000'000, 1);
  EXPECT_EQ(histogram.count(), 100U);
  // Reported as the top of 1000's bucket (1003: buckets are 4 wide there).
  EXPECT_EQ(histogram.value_at_percentile(99.0),
            LatencyHistogram::bucket_highest(LatencyHistogram::bucket_index(1'000)));
  EXPECT_LE(histogram.value_at_percentile(99.0), 1'010U);
  EXPECT_EQ(histogram.value_at_percentile(99.5), 300'000'000U);
  EXPECT_EQ(histogram.count_at_or_above(200'000'000), 1U);
  EXPECT_EQ(histogram.count_at_or_above(1'000), 100U);
  EXPECT_EQ(histogram.count_at_or_above(1'001'000), 1U);
}

TEST(LatencyHistogram, EmptyHistogramReportsZeros) {
  LatencyHistogram histogram;
  EXPECT_TRUE(histogram.empty());
  EXPECT_EQ(histogram.value_at_percentile(99.0), 0U);
  EXPECT_EQ(histogram.min(), 0U);
  EXPECT_EQ(histogram.max(), 0U);
  EXPECT_EQ(histogram.mean(), 0.0);
  EXPECT_TRUE(histogram.percentile_spectrum().empty());
  histogram.record(5);
  histogram.reset();
  EXPECT_TRUE(histogram.empty());
  EXPECT_EQ(histogram.max(), 0U);
}

TEST(LatencyHistogram, SpectrumRisesFromMinimumToMaximum) {
  LatencyHistogram histogram;
  for (std::uint64_t value = 1; value <= 10'000; ++value) {
    histogram.record(value * 1000);
  }
  const auto spectrum = histogram.percentile_spectrum(5);
  ASSERT_GE(spectrum.size(), 60U);  // 5 ticks per halving, 13 halvings to 1/10000
  EXPECT_EQ(spectrum.front().percentile, 0.0);
  EXPECT_EQ(spectrum.front().value, 1000U);
  EXPECT_EQ(spectrum.back().percentile, 100.0);
  EXPECT_EQ(spectrum.back().value, 10'000'000U);
  EXPECT_DOUBLE_EQ(spectrum[5].percentile, 50.0);
  EXPECT_LE(relative_error(spectrum[5].value, 5'000'000), 0.01);
  for (std::size_t i = 1; i < spectrum.size(); ++i) {
    EXPECT_GT(spectrum[i].percentile, spectrum[i - 1].percentile);
    EXPECT_GE(spectrum[i].value, spectrum[i - 1].value);
  }
}

}  // namespace
}  // namespace pz
