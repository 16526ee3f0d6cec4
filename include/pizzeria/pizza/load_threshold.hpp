// pz::LoadThreshold: one `pizzeria load --fail-if` condition, such as
// `p99>5ms`, `errors>0`, `rps<10000` or `ratio.p99>1.1`, the k6 idea of
// thresholds that fail a CI job. The expression says when the run FAILS.
//
//   auto threshold = LoadThreshold::parse("p99>5ms");   // throws on bad text
//   auto broken = broken_thresholds({threshold}, results);
//   for (const auto& b : broken) std::cerr << b.message << '\n';
//
// Grammar (no spaces): METRIC OP VALUE, where
//   p50|p90|p99|p99.9|max  >|<  DURATION   (corrected latency; ns, us, ms, s)
//   errors                 >    N          (every kind, whole run)
//   rps                    <    N          (replies per second)
//   ratio.p99              >    X          (with --compare-with: each other
//   ratio.rps              <    X           target's p99 or rps over the first's)
// The plain metrics are checked for every target; the ratios need two or more.
//
// Thread safety: a value type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/pizza/load_generator.hpp"

namespace pz {

struct LoadThreshold {
  enum class Metric { p50, p90, p99, p99_9, max, errors, rps, ratio_p99, ratio_rps };

  Metric metric = Metric::p99;
  bool above = true;   // broken when the measured value is above `limit` (else below)
  double limit = 0.0;  // nanoseconds for latencies; a count, a rate or a ratio otherwise
  std::string text;    // as written, to name it in messages

  // Throws std::invalid_argument naming the expression and what is wrong.
  [[nodiscard]] static LoadThreshold parse(std::string_view text);
  [[nodiscard]] bool is_ratio() const noexcept {
    return metric == Metric::ratio_p99 || metric == Metric::ratio_rps;
  }
};

struct BrokenThreshold {
  std::string threshold;  // LoadThreshold::text
  std::string target;     // the target it was measured on
  std::string measured;   // e.g. "35.2us", "3", "1234.5", "1.213x"
  // "p99>1us broken: p99 was 35.2us on 127.0.0.1:4000"
  std::string message;
};

// Every threshold each result (`results` as LoadGenerator::run_each returns
// them) breaks, in the order given.
[[nodiscard]] std::vector<BrokenThreshold> broken_thresholds(
    const std::vector<LoadThreshold>& thresholds, const std::vector<LoadResult>& results);

}  // namespace pz
