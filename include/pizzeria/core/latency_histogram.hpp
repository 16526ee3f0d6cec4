// pz::LatencyHistogram: counts of recorded values (latencies in nanoseconds,
// by pizzeria's convention) in log-linear buckets, HdrHistogram's design, so
// that any percentile is known to within 1% of its true value whatever the
// range: 3 ns and 3 minutes are both resolved to better than 1%.
//
//   LatencyHistogram histogram;
//   histogram.record(1'250'000);                 // 1.25 ms
//   histogram.value_at_percentile(99.0);          // within 0.8% of the true p99
//
// Layout. Values below 2^kSubBucketBits (256) get one exact bucket each.
// Above that, each power-of-two range [2^e, 2^(e+1)) is split into 128 equal
// buckets of width 2^(e-7): a bucket is never wider than 1/128 (0.78%) of the
// values it holds. The bucket of a value is found with one count-leading-zeros
// and two shifts, no search and no floating point, so record() costs a few
// nanoseconds and the full uint64 range needs 7,424 counters (58 KiB).
//
// A reported value is the highest value its bucket can hold (never below the
// true value, at most 0.78% above it), capped at the largest value recorded,
// so max() and value_at_percentile(100) are exact.
//
// Per-thread use: give each thread its own histogram and merge() them at the
// end (or at a progress tick, from copies); addition of counts is exact, so a
// merged histogram equals one that saw every value.
//
// Thread safety: none (a value type). Copy it to hand it to another thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pz {

class LatencyHistogram {
 public:
  // Exact buckets below 2^kSubBucketBits; 2^(kSubBucketBits-1) buckets per
  // power of two above.
  static constexpr int kSubBucketBits = 8;
  static constexpr std::size_t kBucketCount =
      (std::size_t{64 - kSubBucketBits + 1} << (kSubBucketBits - 1)) +
      (std::size_t{1} << (kSubBucketBits - 1));

  LatencyHistogram();

  void record(std::uint64_t value) noexcept { record(value, 1); }
  void record(std::uint64_t value, std::uint64_t count) noexcept;

  // Adds every count of `other` to this one.
  void merge(const LatencyHistogram& other) noexcept;
  void reset() noexcept;

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] bool empty() const noexcept { return total_ == 0; }
  // Exact extremes; 0 when empty.
  [[nodiscard]] std::uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  // Mean of the bucket midpoints (within 0.4%); 0 when empty.
  [[nodiscard]] double mean() const noexcept;

  // The smallest recorded value v such that at least `percentile` percent of
  // the values are <= v, reported as described above. `percentile` is clamped
  // to [0, 100]; 0 gives min(), 100 gives max(); 0 when empty.
  [[nodiscard]] std::uint64_t value_at_percentile(double percentile) const noexcept;

  // How many recorded values are >= `value` (counting whole buckets, so
  // values sharing `value`'s bucket count as well).
  [[nodiscard]] std::uint64_t count_at_or_above(std::uint64_t value) const noexcept;

  struct PercentilePoint {
    double percentile;    // in [0, 100]
    std::uint64_t value;  // value_at_percentile(percentile)
  };
  // HdrHistogram's percentile distribution: points at 0, 50, 75, 87.5, ...
  // halving the distance to 100 each step, with `ticks_per_half` points per
  // halving, until the remaining fraction is below one value; then 100. For
  // charts with a logarithmic "1/(1-p)" axis. Empty when empty.
  [[nodiscard]] std::vector<PercentilePoint> percentile_spectrum(int ticks_per_half = 5) const;

  // The bucket arithmetic, public for tests and for readers of the design.
  [[nodiscard]] static std::size_t bucket_index(std::uint64_t value) noexcept;
  [[nodiscard]] static std::uint64_t bucket_lowest(std::size_t index) noexcept;
  [[nodiscard]] static std::uint64_t bucket_highest(std::size_t index) noexcept;
  // The count of one bucket, for writers of other formats (the .hgrm file)
  // and for compact copies (a per-second timeline keeps only non-zero ones).
  [[nodiscard]] std::uint64_t bucket_count(std::size_t index) const noexcept {
    return counts_[index];
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace pz
