#include "pizzeria/core/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pz {

namespace {

constexpr int kHalfBits = LatencyHistogram::kSubBucketBits - 1;  // 128 buckets per octave
constexpr std::uint64_t kExactLimit = std::uint64_t{1} << LatencyHistogram::kSubBucketBits;
constexpr std::uint64_t kHalfCount = std::uint64_t{1} << kHalfBits;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

std::size_t LatencyHistogram::bucket_index(std::uint64_t value) noexcept {
  if (value < kExactLimit) {
    return static_cast<std::size_t>(value);
  }
  // shift keeps the top 8 significant bits of the value: value >> shift lies
  // in [128, 256), so octave `shift` owns indices [(shift+1)*128, (shift+2)*128)
  // and the exact range [0, 256) joins on without a gap.
  const int shift = (63 - std::countl_zero(value)) - kHalfBits;
  return (static_cast<std::size_t>(shift) << kHalfBits) + static_cast<std::size_t>(value >> shift);
}

std::uint64_t LatencyHistogram::bucket_lowest(std::size_t index) noexcept {
  if (index < kExactLimit) {
    return index;
  }
  const int shift = static_cast<int>(index >> kHalfBits) - 1;
  const std::uint64_t mantissa = (index & (kHalfCount - 1)) + kHalfCount;
  return mantissa << shift;
}

std::uint64_t LatencyHistogram::bucket_highest(std::size_t index) noexcept {
  if (index < kExactLimit) {
    return index;
  }
  const int shift = static_cast<int>(index >> kHalfBits) - 1;
  return bucket_lowest(index) + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::uint64_t value, std::uint64_t count) noexcept {
  if (count == 0) {
    return;
  }
  counts_[bucket_index(value)] += count;
  total_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  if (other.total_ == 0) {
    return;
  }
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    counts_[i] += other.counts_[i];
  }
  total_ += other.total_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

double LatencyHistogram::mean() const noexcept {
  if (total_ == 0) {
    return 0.0;
  }
  double sum = 0.0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    if (counts_[i] != 0) {
      const double middle =
          (static_cast<double>(bucket_lowest(i)) + static_cast<double>(bucket_highest(i))) / 2.0;
      sum += middle * static_cast<double>(counts_[i]);
    }
  }
  return sum / static_cast<double>(total_);
}

std::uint64_t LatencyHistogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) {
    return 0;
  }
  if (!(percentile > 0.0)) {  // also catches NaN
    return min_;
  }
  if (percentile >= 100.0) {
    return max_;
  }
  // The rank of the value asked for, 1-based: ceil(p% of total), at least 1.
  // A small epsilon absorbs binary rounding (99.9% of 1000 must be rank 999).
  const double exact_rank = percentile / 100.0 * static_cast<double>(total_);
  auto rank = static_cast<std::uint64_t>(std::ceil(exact_rank - 1e-9));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(bucket_highest(i), min_, max_);
    }
  }
  return max_;
}

std::uint64_t LatencyHistogram::count_at_or_above(std::uint64_t value) const noexcept {
  std::uint64_t sum = 0;
  for (std::size_t i = bucket_index(value); i < kBucketCount; ++i) {
    sum += counts_[i];
  }
  return sum;
}

std::vector<LatencyHistogram::PercentilePoint> LatencyHistogram::percentile_spectrum(
    int ticks_per_half) const {
  std::vector<PercentilePoint> points;
  if (total_ == 0) {
    return points;
  }
  ticks_per_half = std::max(1, ticks_per_half);
  const double smallest_fraction = 1.0 / static_cast<double>(total_);
  for (int step = 0;; ++step) {
    const double remaining = std::exp2(-static_cast<double>(step) / ticks_per_half);
    if (remaining < smallest_fraction) {
      break;
    }
    const double percentile = 100.0 * (1.0 - remaining);
    points.push_back({percentile, value_at_percentile(percentile)});
  }
  points.push_back({100.0, max_});
  return points;
}

}  // namespace pz
