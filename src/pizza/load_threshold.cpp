#include "pizzeria/pizza/load_threshold.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <utility>

namespace pz {

namespace {

struct MetricName {
  std::string_view name;
  LoadThreshold::Metric metric;
};

// Longest first where one name starts another (p99.9 before p99).
constexpr MetricName kMetrics[] = {
    {"p99.9", LoadThreshold::Metric::p99_9},
    {"p50", LoadThreshold::Metric::p50},
    {"p90", LoadThreshold::Metric::p90},
    {"p99", LoadThreshold::Metric::p99},
    {"max", LoadThreshold::Metric::max},
    {"errors", LoadThreshold::Metric::errors},
    {"rps", LoadThreshold::Metric::rps},
    {"ratio.p99", LoadThreshold::Metric::ratio_p99},
    {"ratio.rps", LoadThreshold::Metric::ratio_rps},
};

bool is_latency(LoadThreshold::Metric metric) {
  return metric == LoadThreshold::Metric::p50 || metric == LoadThreshold::Metric::p90 ||
         metric == LoadThreshold::Metric::p99 || metric == LoadThreshold::Metric::p99_9 ||
         metric == LoadThreshold::Metric::max;
}

// A whole, finite, non-negative number with nothing after it but `rest`.
bool parse_number(std::string_view text, double& value, std::string_view& rest) {
  const std::string copy(text);
  std::size_t used = 0;
  try {
    value = std::stod(copy, &used);
  } catch (const std::exception&) {
    return false;
  }
  // stod accepts leading blanks, "inf" and "nan"; a threshold takes none.
  if (copy.empty() || !(copy[0] >= '0' && copy[0] <= '9') || !std::isfinite(value) || value < 0) {
    return false;
  }
  rest = text.substr(used);
  return true;
}

std::string latency_text(double nanoseconds) {
  // Each bound sits where three significant digits would round up to the
  // next unit ("1e+03us"), so a value is always written as a plain number.
  if (nanoseconds < 999.5) {
    return fmt::format("{:.0f}ns", nanoseconds);
  }
  if (nanoseconds < 999.5e3) {
    return fmt::format("{:.3g}us", nanoseconds / 1e3);
  }
  if (nanoseconds < 999.5e6) {
    return fmt::format("{:.3g}ms", nanoseconds / 1e6);
  }
  return fmt::format("{:.3g}s", nanoseconds / 1e9);
}

double latency_of(LoadThreshold::Metric metric, const LoadResult& result) {
  switch (metric) {
    case LoadThreshold::Metric::p50:
      return static_cast<double>(result.latency.value_at_percentile(50.0));
    case LoadThreshold::Metric::p90:
      return static_cast<double>(result.latency.value_at_percentile(90.0));
    case LoadThreshold::Metric::p99:
    case LoadThreshold::Metric::ratio_p99:
      return static_cast<double>(result.latency.value_at_percentile(99.0));
    case LoadThreshold::Metric::p99_9:
      return static_cast<double>(result.latency.value_at_percentile(99.9));
    default:
      return static_cast<double>(result.latency.max());
  }
}

}  // namespace

LoadThreshold LoadThreshold::parse(std::string_view text) {
  const auto bad = [text](std::string_view why) {
    return std::invalid_argument(fmt::format("--fail-if '{}': {}", text, why));
  };
  constexpr std::string_view kForms =
      "write p50|p90|p99|p99.9|max >|< DURATION (ns, us, ms, s), errors>N, rps<N, "
      "ratio.p99>X or ratio.rps<X";
  LoadThreshold threshold;
  threshold.text = std::string(text);
  std::string_view rest;
  bool named = false;
  for (const auto& [name, metric] : kMetrics) {
    if (text.starts_with(name) && text.size() > name.size() &&
        (text[name.size()] == '<' || text[name.size()] == '>')) {
      threshold.metric = metric;
      threshold.above = text[name.size()] == '>';
      rest = text.substr(name.size() + 1);
      named = true;
      break;
    }
  }
  if (!named) {
    throw bad(fmt::format("not a threshold; {}", kForms));
  }
  double number = 0;
  std::string_view unit;
  if (!parse_number(rest, number, unit)) {
    throw bad(fmt::format("'{}' is not a non-negative number", rest));
  }
  if (is_latency(threshold.metric)) {
    double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else {
      throw bad("a latency needs a unit: ns, us, ms or s (e.g. p99>5ms)");
    }
    threshold.limit = number * scale;
    return threshold;
  }
  if (!unit.empty()) {
    throw bad(fmt::format("unexpected '{}' after the number", unit));
  }
  threshold.limit = number;
  const bool needs_above =
      threshold.metric == Metric::errors || threshold.metric == Metric::ratio_p99;
  if (threshold.above != needs_above) {
    throw bad(needs_above ? "only '>' makes sense here (more is worse)"
                          : "only '<' makes sense here (less is worse)");
  }
  if (threshold.metric == Metric::errors && number != std::floor(number)) {
    throw bad("a number of errors is whole");
  }
  return threshold;
}

std::vector<BrokenThreshold> broken_thresholds(const std::vector<LoadThreshold>& thresholds,
                                               const std::vector<LoadResult>& results) {
  std::vector<BrokenThreshold> broken;
  const auto check = [&broken](const LoadThreshold& threshold, const LoadResult& result,
                               double measured, std::string measured_text, std::string_view what) {
    if (threshold.above ? measured > threshold.limit : measured < threshold.limit) {
      BrokenThreshold out;
      out.threshold = threshold.text;
      out.target = result.target.to_string();
      out.measured = std::move(measured_text);
      out.message =
          fmt::format("{} broken: {} was {} on {}", out.threshold, what, out.measured, out.target);
      broken.push_back(std::move(out));
    }
  };
  for (const LoadThreshold& threshold : thresholds) {
    const std::string name = threshold.text.substr(0, threshold.text.find_first_of("<>"));
    for (std::size_t i = 0; i < results.size(); ++i) {
      const LoadResult& result = results[i];
      switch (threshold.metric) {
        case LoadThreshold::Metric::errors:
          check(threshold, result, static_cast<double>(result.errors.total()),
                std::to_string(result.errors.total()), name);
          break;
        case LoadThreshold::Metric::rps:
          check(threshold, result, result.replies_per_second(),
                fmt::format("{:.1f}", result.replies_per_second()), name);
          break;
        case LoadThreshold::Metric::ratio_p99:
        case LoadThreshold::Metric::ratio_rps: {
          if (i == 0) {
            break;  // the ratios are to the first target
          }
          const bool p99 = threshold.metric == LoadThreshold::Metric::ratio_p99;
          const double first = p99 ? latency_of(threshold.metric, results.front())
                                   : results.front().replies_per_second();
          const double other =
              p99 ? latency_of(threshold.metric, result) : result.replies_per_second();
          // A first target with nothing measured has no ratio: that is a
          // failed comparison, not a pass.
          const double ratio = first > 0 ? other / first : INFINITY;
          const bool undefined = !(first > 0);
          if (undefined) {
            BrokenThreshold out;
            out.threshold = threshold.text;
            out.target = result.target.to_string();
            out.measured = "n/a";
            out.message = fmt::format("{} broken: {} has no value ({} measured nothing)",
                                      threshold.text, name, results.front().target.to_string());
            broken.push_back(std::move(out));
          } else {
            check(threshold, result, ratio, fmt::format("{:.3f}x", ratio), name);
          }
          break;
        }
        default:
          check(threshold, result, latency_of(threshold.metric, result),
                latency_text(latency_of(threshold.metric, result)), name);
      }
    }
  }
  return broken;
}

}  // namespace pz
