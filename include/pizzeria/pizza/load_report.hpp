// The files `pizzeria load` writes besides its text and JSON reports: the
// percentile distribution in HdrHistogram's `.hgrm` text format and the
// per-second timeline as CSV. Pure formatting of a LoadResult; the command
// writes the text to the files. docs/load-generator.md describes both.
#pragma once

#include <string>
#include <vector>

#include "pizzeria/core/latency_histogram.hpp"
#include "pizzeria/pizza/load_generator.hpp"

namespace pz {

// HdrHistogram's percentile distribution, as its outputPercentileDistribution
// and wrk2 print it: a header, one "Value Percentile TotalCount
// 1/(1-Percentile)" row per point of percentile_spectrum(5) (values in
// milliseconds, 3 decimals; the last row, percentile 1, has no fourth
// column), then the "#[Mean ...", "#[Max ..." and "#[Buckets ..." footer.
// Buckets and SubBuckets describe LatencyHistogram's layout (57 octaves of
// 256 sub-buckets' resolution). An empty histogram gives the header and a
// footer of zeros.
[[nodiscard]] std::string hgrm_text(const LatencyHistogram& histogram);

// One row per second of each target's timeline, after the header
//   target,second,replies,errors,connect_failed,reset,closed,timeout,
//   unexpected_reply,p50_ns,p99_ns,p99.9_ns
// `second` counts from 0 at the start of the measured phase; the latencies
// are the corrected ones. `targets` names each result (as given on the
// command line), in the same order.
[[nodiscard]] std::string timeline_csv(const std::vector<LoadResult>& results,
                                       const std::vector<std::string>& targets);

}  // namespace pz
