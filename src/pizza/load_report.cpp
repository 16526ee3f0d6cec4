#include "pizzeria/pizza/load_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace pz {

namespace {

constexpr double kNanosecondsPerMillisecond = 1e6;

double milliseconds(std::uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / kNanosecondsPerMillisecond;
}

// Values no greater than the bucket that holds `value`: the cumulative count
// HdrHistogram prints beside a percentile's value.
std::uint64_t count_up_to(const LatencyHistogram& histogram, std::uint64_t value) {
  const auto highest = LatencyHistogram::bucket_highest(LatencyHistogram::bucket_index(value));
  if (highest == UINT64_MAX) {
    return histogram.count();
  }
  return histogram.count() - histogram.count_at_or_above(highest + 1);
}

double standard_deviation(const LatencyHistogram& histogram) {
  if (histogram.count() == 0) {
    return 0.0;
  }
  const double mean = histogram.mean();
  double sum = 0.0;
  for (std::size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
    if (const auto count = histogram.bucket_count(i); count != 0) {
      const double middle = (static_cast<double>(LatencyHistogram::bucket_lowest(i)) +
                             static_cast<double>(LatencyHistogram::bucket_highest(i))) /
                            2.0;
      sum += (middle - mean) * (middle - mean) * static_cast<double>(count);
    }
  }
  return std::sqrt(sum / static_cast<double>(histogram.count()));
}

}  // namespace

std::string hgrm_text(const LatencyHistogram& histogram) {
  auto out = fmt::memory_buffer();
  auto put = std::back_inserter(out);
  fmt::format_to(put, "{:>12} {:>14} {:>10} {:>14}\n\n", "Value", "Percentile", "TotalCount",
                 "1/(1-Percentile)");
  for (const auto& point : histogram.percentile_spectrum(5)) {
    const double fraction = point.percentile / 100.0;
    const auto total = count_up_to(histogram, point.value);
    if (fraction < 1.0) {
      fmt::format_to(put, "{:12.3f} {:2.12f} {:10d} {:14.2f}\n", milliseconds(point.value),
                     fraction, total, 1.0 / (1.0 - fraction));
    } else {
      fmt::format_to(put, "{:12.3f} {:2.12f} {:10d}\n", milliseconds(point.value), fraction, total);
    }
  }
  fmt::format_to(put, "#[Mean    = {:12.3f}, StdDeviation   = {:12.3f}]\n",
                 histogram.mean() / kNanosecondsPerMillisecond,
                 standard_deviation(histogram) / kNanosecondsPerMillisecond);
  fmt::format_to(put, "#[Max     = {:12.3f}, Total count    = {:12d}]\n",
                 milliseconds(histogram.max()), histogram.count());
  // Octaves above the exact range, plus the exact range itself.
  constexpr int kOctaves = 64 - LatencyHistogram::kSubBucketBits + 1;
  fmt::format_to(put, "#[Buckets = {:12d}, SubBuckets     = {:12d}]\n", kOctaves,
                 1 << LatencyHistogram::kSubBucketBits);
  return fmt::to_string(out);
}

std::string timeline_csv(const std::vector<LoadResult>& results,
                         const std::vector<std::string>& targets) {
  auto out = fmt::memory_buffer();
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "target,second,replies,errors,connect_failed,reset,closed,timeout,"
                 "unexpected_reply,p50_ns,p99_ns,p99.9_ns\n");
  for (std::size_t t = 0; t < results.size(); ++t) {
    // A name with a comma or a quote (an IPv6 host cannot have either, but
    // a host name given on the command line is the user's) is quoted.
    std::string name = t < targets.size() ? targets[t] : results[t].target.to_string();
    if (name.find_first_of(",\"\n") != std::string::npos) {
      std::string quoted = "\"";
      for (const char c : name) {
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      }
      name = quoted + "\"";
    }
    const auto& timeline = results[t].timeline;
    for (std::size_t second = 0; second < timeline.size(); ++second) {
      const LoadSecond& row = timeline[second];
      fmt::format_to(put, "{},{},{},{},{},{},{},{},{},{},{},{}\n", name, second, row.replies,
                     row.errors.total(), row.errors.connect_failed, row.errors.reset,
                     row.errors.closed, row.errors.timeout, row.errors.unexpected_reply, row.p50,
                     row.p99, row.p99_9);
    }
  }
  return fmt::to_string(out);
}

}  // namespace pz
