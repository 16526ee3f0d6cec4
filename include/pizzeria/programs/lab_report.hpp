// The HTML report of `pizzeria lab`: each experiment of the seeds with its
// claim, the command lines that were run, the measured numbers as a table and
// as bar charts, and a verdict. The page is self-contained (inline CSS and
// inline SVG, no script, no external asset) so it can be mailed or archived
// as one file. Pure formatting: the measuring is done by the lab command.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pz::programs {

class LabReport {
 public:
  struct Bar {
    std::string label;
    double value = 0;
  };

  struct Chart {
    std::string title;
    std::string unit;  // printed after each value, e.g. "s" or "x"
    std::vector<Bar> bars;
  };

  struct Experiment {
    std::string id;     // HTML id of the section, e.g. "cpu-bound"
    std::string title;  // e.g. "CPU-bound work: threads vs processes"
    std::string seed;   // e.g. "seed 002, section 0.3.2"
    std::string claim;
    std::vector<std::string> commands;  // exactly as run
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;
    std::vector<Chart> charts;
    std::string verdict;
    // A failed experiment shows why and the end of its child's stderr
    // instead of numbers.
    bool failed = false;
    std::string failure;
    std::string stderr_tail;
  };

  explicit LabReport(std::string title) : title_(std::move(title)) {}

  void add(Experiment experiment) { experiments_.push_back(std::move(experiment)); }
  const std::vector<Experiment>& experiments() const { return experiments_; }
  bool any_failed() const;

  // The whole page.
  std::string html() const;
  // One line per experiment: "<id>: <verdict>" or "<id>: FAILED: <why>".
  std::string summary() const;

  // Text made safe for HTML element content and attribute values.
  static std::string escape(std::string_view text);
  // A horizontal bar chart as an inline <svg> element. Bars are scaled to
  // the largest value; a value that is negative or not finite is drawn
  // as an empty bar labelled "n/a" so one bad number cannot break the page.
  static std::string bar_chart(const Chart& chart);
  // A number with three significant digits (whole from 1000 up), "n/a"
  // when not finite.
  static std::string number(double value);

 private:
  std::string title_;
  std::vector<Experiment> experiments_;
};

}  // namespace pz::programs
