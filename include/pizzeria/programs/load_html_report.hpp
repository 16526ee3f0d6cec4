// The HTML report of `pizzeria load --html`: one self-contained page (inline
// CSS and SVG, no script, nothing fetched) with, per target, the numbers,
// throughput and p50/p99/p99.9 per second over the run, the latency by
// percentile on a log "1/(1-p)" axis (HdrHistogram's plot) and the errors
// by kind; then, with --compare-with, each other target's ratios to the
// first; and the command line and the machine. Pure formatting, like
// LabReport, whose escaping, numbers and bar chart it uses.
//
// Every chart is an <svg class="load-chart"> with a stable id
// ("throughput-0", "latency-0", "percentiles-0", for target 0, ...) and
// data-series (how many lines it has); every line is a <polyline
// class="series" data-name="p99" data-points="N">, so a test can check from
// the DOM that each chart drew its data.
#pragma once

#include <string>
#include <vector>

#include "pizzeria/pizza/load_generator.hpp"

namespace pz::programs {

class LoadHtmlReport {
 public:
  struct Series {
    std::string name;
    std::vector<std::pair<double, double>> points;  // x, y
  };

  struct LineChart {
    std::string id;
    std::string title;
    std::string x_label;
    std::string y_label;
    bool log_percentile_x = false;  // x is log10(1/(1-p)): ticks read 90%, 99%, ...
    std::vector<Series> series;
  };

  std::string command_line;
  std::string machine;
  std::vector<std::string> target_names;  // as given, one per result
  std::vector<LoadResult> results;        // LoadGenerator::run_each's order

  [[nodiscard]] std::string html() const;

  // An inline <svg> line chart; points that are not finite are left out.
  [[nodiscard]] static std::string line_chart(const LineChart& chart);
  // "Linux 6.1.0-18-amd64 x86_64, 2 CPUs (AMD EPYC ...)".
  [[nodiscard]] static std::string this_machine();
  // This process's arguments from /proc/self/cmdline, quoted where needed.
  [[nodiscard]] static std::string this_command_line();
};

}  // namespace pz::programs
