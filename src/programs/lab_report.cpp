#include "pizzeria/programs/lab_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace pz::programs {

namespace {

// Chart geometry, in pixels: a label column, then bars scaled so the
// largest fills kBarSpace, then room for the value text.
constexpr int kWidth = 520;
constexpr int kLabelColumn = 180;
constexpr double kBarSpace = 260;
constexpr int kTop = 24;
constexpr int kRow = 22;
constexpr int kBarHeight = 16;

bool drawable(double value) {
  return std::isfinite(value) && value >= 0;
}

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "section{border-top:1px solid #ccc;padding-top:.5rem;margin-top:1.5rem}"
    "blockquote{margin:.5rem 0;padding-left:1rem;border-left:3px solid #bbb;color:#444}"
    "pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}"
    "table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}"
    "td:first-child,th:first-child,.summary td{text-align:left}"
    ".verdict{font-weight:bold}.failed .verdict{color:#b00}"
    ".chart rect{fill:#4a7ebb}.chart text{font-size:12px}.chart-title{font-weight:bold}";

}  // namespace

bool LabReport::any_failed() const {
  return std::any_of(experiments_.begin(), experiments_.end(),
                     [](const Experiment& experiment) { return experiment.failed; });
}

std::string LabReport::escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string LabReport::number(double value) {
  if (!std::isfinite(value)) {
    return "n/a";
  }
  // Large numbers (replies per second, thread counts) read better whole
  // than in exponent notation.
  return std::fabs(value) >= 999.5 ? fmt::format("{:.0f}", value) : fmt::format("{:.3g}", value);
}

std::string LabReport::bar_chart(const Chart& chart) {
  double largest = 0;
  for (const Bar& bar : chart.bars) {
    if (drawable(bar.value)) {
      largest = std::max(largest, bar.value);
    }
  }
  const int height = kTop + static_cast<int>(chart.bars.size()) * kRow;
  std::string svg = fmt::format(
      "<svg class=\"chart\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"{2}\">\n<text class=\"chart-title\" x=\"0\" y=\"14\">{2}</text>\n",
      kWidth, height, escape(chart.title));
  int y = kTop;
  for (const Bar& bar : chart.bars) {
    const bool ok = drawable(bar.value);
    // A chart of zeros has nothing to scale by: every bar stays empty.
    const double length = ok && largest > 0 ? kBarSpace * bar.value / largest : 0;
    const std::string value_text =
        ok ? (chart.unit.empty() ? number(bar.value) : number(bar.value) + " " + chart.unit)
           : std::string("n/a");
    fmt::format_to(std::back_inserter(svg),
                   "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
                   "<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\"/>"
                   "<text x=\"{:.1f}\" y=\"{}\">{}</text>\n",
                   kLabelColumn - 6, y + 12, escape(bar.label), kLabelColumn, y, length, kBarHeight,
                   kLabelColumn + length + 6, y + 12, escape(value_text));
    y += kRow;
  }
  svg += "</svg>\n";
  return svg;
}

std::string LabReport::html() const {
  auto out = fmt::memory_buffer();
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>{0}</title>\n<style>{1}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
                 escape(title_), kStyle);
  fmt::format_to(put, "<table class=\"summary\">\n<tr><th>experiment</th><th>verdict</th></tr>\n");
  for (const Experiment& experiment : experiments_) {
    fmt::format_to(
        put, "<tr><td>{}</td><td>{}</td></tr>\n", escape(experiment.title),
        escape(experiment.failed ? "FAILED: " + experiment.failure : experiment.verdict));
  }
  fmt::format_to(put, "</table>\n");
  for (const Experiment& experiment : experiments_) {
    fmt::format_to(put, "<section id=\"{}\"{}>\n<h2>{}</h2>\n", escape(experiment.id),
                   experiment.failed ? " class=\"failed\"" : "", escape(experiment.title));
    fmt::format_to(put, "<p>The claim ({}):</p>\n<blockquote>{}</blockquote>\n",
                   escape(experiment.seed), escape(experiment.claim));
    fmt::format_to(put, "<p>Run:</p>\n<pre>");
    for (const std::string& command : experiment.commands) {
      fmt::format_to(put, "{}\n", escape(command));
    }
    fmt::format_to(put, "</pre>\n");
    if (experiment.failed) {
      fmt::format_to(put, "<p class=\"verdict\">Verdict: FAILED: {}</p>\n",
                     escape(experiment.failure));
      if (!experiment.stderr_tail.empty()) {
        fmt::format_to(put, "<p>End of its standard error:</p>\n<pre>{}</pre>\n",
                       escape(experiment.stderr_tail));
      }
      fmt::format_to(put, "</section>\n");
      continue;
    }
    if (!experiment.columns.empty()) {
      fmt::format_to(put, "<table>\n<tr>");
      for (const std::string& column : experiment.columns) {
        fmt::format_to(put, "<th>{}</th>", escape(column));
      }
      fmt::format_to(put, "</tr>\n");
      for (const auto& row : experiment.rows) {
        fmt::format_to(put, "<tr>");
        for (const std::string& cell : row) {
          fmt::format_to(put, "<td>{}</td>", escape(cell));
        }
        fmt::format_to(put, "</tr>\n");
      }
      fmt::format_to(put, "</table>\n");
    }
    for (const Chart& chart : experiment.charts) {
      fmt::format_to(put, "{}", bar_chart(chart));
    }
    fmt::format_to(put, "<p class=\"verdict\">Verdict: {}</p>\n</section>\n",
                   escape(experiment.verdict));
  }
  fmt::format_to(put, "</body>\n</html>\n");
  return fmt::to_string(out);
}

std::string LabReport::summary() const {
  std::string text;
  for (const Experiment& experiment : experiments_) {
    text += experiment.failed ? fmt::format("{}: FAILED: {}\n", experiment.id, experiment.failure)
                              : fmt::format("{}: {}\n", experiment.id, experiment.verdict);
  }
  return text;
}

}  // namespace pz::programs
