#include "pizzeria/programs/load_html_report.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "pizzeria/programs/lab_report.hpp"

namespace pz::programs {

namespace {

// Chart geometry, in pixels.
constexpr double kWidth = 560;
constexpr double kHeight = 250;
constexpr double kLeft = 64;
constexpr double kRight = 12;
constexpr double kTop = 26;
constexpr double kBottom = 36;

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;max-width:80rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}"
    ".targets{display:flex;flex-wrap:wrap;gap:1.5rem}"
    ".target{flex:1 1 34rem;border-top:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5rem 0}"
    "td,th{border:1px solid #ccc;padding:.2rem .6rem;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    ".load-chart text{font-size:11px}.load-chart .chart-title{font-weight:bold;font-size:12px}"
    ".load-chart .axis{stroke:#888;fill:none}.load-chart .grid{stroke:#e4e4e4}"
    ".series{fill:none;stroke-width:1.5}"
    ".series-0{stroke:#4a7ebb}.series-1{stroke:#d9822b}.series-2{stroke:#b33}"
    ".legend-0{fill:#4a7ebb}.legend-1{fill:#d9822b}.legend-2{fill:#b33}"
    ".chart rect{fill:#b33}.chart text{font-size:12px}.chart-title{font-weight:bold}";

std::string latency_text(double nanoseconds) {
  if (!std::isfinite(nanoseconds)) {
    return "n/a";
  }
  if (nanoseconds < 1e3) {
    return LabReport::number(nanoseconds) + " ns";
  }
  if (nanoseconds < 1e6) {
    return LabReport::number(nanoseconds / 1e3) + " us";
  }
  return LabReport::number(nanoseconds / 1e6) + " ms";
}

std::string percentile_label(double log_x) {
  // log10(1/(1-p)) = k  <=>  p = 1 - 10^-k: 0%, 90%, 99%, 99.9%, ...
  const double p = 100.0 * (1.0 - std::pow(10.0, -log_x));
  return fmt::format("{:g}%", std::round(p * 1e6) / 1e6);
}

std::string quoted_argument(const std::string& argument) {
  if (!argument.empty() &&
      argument.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-_./:=,+@%") == std::string::npos) {
    return argument;
  }
  std::string quoted = "'";
  for (const char c : argument) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

}  // namespace

std::string LoadHtmlReport::line_chart(const LineChart& chart) {
  double x_min = INFINITY;
  double x_max = -INFINITY;
  double y_max = 0;
  for (const Series& series : chart.series) {
    for (const auto& [x, y] : series.points) {
      if (std::isfinite(x) && std::isfinite(y)) {
        x_min = std::min(x_min, x);
        x_max = std::max(x_max, x);
        y_max = std::max(y_max, y);
      }
    }
  }
  if (!std::isfinite(x_min)) {
    x_min = 0;
    x_max = 1;
  }
  if (chart.log_percentile_x) {
    x_min = 0;
    x_max = std::max(1.0, std::ceil(x_max));
  }
  if (x_max <= x_min) {
    x_max = x_min + 1;
  }
  if (y_max <= 0) {
    y_max = 1;
  }
  const double plot_width = kWidth - kLeft - kRight;
  const double plot_height = kHeight - kTop - kBottom;
  const auto px = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_width; };
  const auto py = [&](double y) { return kTop + plot_height - y / y_max * plot_height; };

  auto out = fmt::memory_buffer();
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<svg class=\"load-chart\" id=\"{0}\" data-series=\"{1}\" width=\"{2}\" "
                 "height=\"{3}\" viewBox=\"0 0 {2} {3}\" role=\"img\" aria-label=\"{4}\">\n"
                 "<text class=\"chart-title\" x=\"0\" y=\"14\">{4}</text>\n",
                 LabReport::escape(chart.id), chart.series.size(), kWidth, kHeight,
                 LabReport::escape(chart.title));
  // Axes, three horizontal grid lines with their values, x ticks.
  fmt::format_to(put, "<path class=\"axis\" d=\"M{0} {1}V{2}H{3}\"/>\n", kLeft, kTop,
                 kTop + plot_height, kLeft + plot_width);
  for (int i = 1; i <= 2; ++i) {
    const double y = y_max * i / 2;
    fmt::format_to(put,
                   "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\"/>"
                   "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                   kLeft, kLeft + plot_width, py(y), kLeft - 4, py(y) + 4, LabReport::number(y));
  }
  fmt::format_to(put, "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">0</text>\n", kLeft - 4,
                 kTop + plot_height + 4);
  const int ticks = chart.log_percentile_x ? static_cast<int>(x_max) : 4;
  for (int i = 0; i <= ticks; ++i) {
    const double x = x_min + (x_max - x_min) * i / ticks;
    const std::string label = chart.log_percentile_x ? percentile_label(x) : LabReport::number(x);
    fmt::format_to(put, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px(x),
                   kTop + plot_height + 14, LabReport::escape(label));
  }
  fmt::format_to(put,
                 "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>"
                 "<text x=\"{}\" y=\"{}\">{}</text>\n",
                 kLeft + plot_width / 2, kHeight - 4, LabReport::escape(chart.x_label), kLeft + 4,
                 kTop - 2, LabReport::escape(chart.y_label));
  for (std::size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    std::string points;
    std::size_t count = 0;
    for (const auto& [x, y] : series.points) {
      if (std::isfinite(x) && std::isfinite(y)) {
        fmt::format_to(std::back_inserter(points), "{}{:.1f},{:.1f}", count == 0 ? "" : " ", px(x),
                       py(y));
        ++count;
      }
    }
    fmt::format_to(put,
                   "<polyline class=\"series series-{0}\" data-name=\"{1}\" data-points=\"{2}\" "
                   "points=\"{3}\"/>\n"
                   "<rect class=\"legend-{0}\" x=\"{4:.1f}\" y=\"4\" width=\"10\" height=\"10\"/>"
                   "<text x=\"{5:.1f}\" y=\"13\">{1}</text>\n",
                   s % 3, LabReport::escape(series.name), count, points,
                   kWidth - kRight - 90.0 * static_cast<double>(chart.series.size() - s),
                   kWidth - kRight - 90.0 * static_cast<double>(chart.series.size() - s) + 14);
  }
  fmt::format_to(put, "</svg>\n");
  return fmt::to_string(out);
}

std::string LoadHtmlReport::html() const {
  auto out = fmt::memory_buffer();
  auto put = std::back_inserter(out);
  fmt::format_to(put,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>pizzeria load report</title>\n<style>{}</style>\n</head>\n<body>\n"
                 "<h1>pizzeria load report</h1>\n",
                 kStyle);
  fmt::format_to(put, "<p>Command:</p>\n<pre id=\"command-line\">{}</pre>\n",
                 LabReport::escape(command_line));
  fmt::format_to(put, "<p>Machine: <span id=\"machine\">{}</span></p>\n",
                 LabReport::escape(machine));
  fmt::format_to(put, "<div class=\"targets\">\n");
  for (std::size_t t = 0; t < results.size(); ++t) {
    const LoadResult& result = results[t];
    const std::string name = t < target_names.size() ? target_names[t] : result.target.to_string();
    fmt::format_to(put, "<section class=\"target\" id=\"target-{}\">\n<h2>{} ({})</h2>\n", t,
                   LabReport::escape(name), LabReport::escape(result.target.to_string()));
    fmt::format_to(put,
                   "<table class=\"numbers\" id=\"numbers-{}\">\n"
                   "<tr><th>replies</th><td>{}</td></tr>\n"
                   "<tr><th>measured</th><td>{} s</td></tr>\n"
                   "<tr><th>replies per second</th><td>{}</td></tr>\n",
                   t, result.replies,
                   LabReport::number(std::chrono::duration<double>(result.measured).count()),
                   LabReport::number(result.replies_per_second()));
    for (const auto& [label, percentile] : {std::pair{"p50", 50.0}, std::pair{"p90", 90.0},
                                            std::pair{"p99", 99.0}, std::pair{"p99.9", 99.9}}) {
      fmt::format_to(
          put, "<tr><th>{}</th><td>{}</td></tr>\n", label,
          latency_text(static_cast<double>(result.latency.value_at_percentile(percentile))));
    }
    fmt::format_to(put,
                   "<tr><th>max</th><td>{}</td></tr>\n<tr><th>errors</th><td>{}</td></tr>\n"
                   "</table>\n",
                   latency_text(static_cast<double>(result.latency.max())), result.errors.total());
    if (!result.abort_reason.empty()) {
      fmt::format_to(put, "<p class=\"gave-up\">Gave up: {}</p>\n",
                     LabReport::escape(result.abort_reason));
    }

    LineChart throughput{fmt::format("throughput-{}", t),
                         "Replies per second",
                         "second",
                         "replies/s",
                         false,
                         {{"replies/s", {}}}};
    LineChart latency{fmt::format("latency-{}", t),
                      "Corrected latency per second (ms)",
                      "second",
                      "ms",
                      false,
                      {{"p50", {}}, {"p99", {}}, {"p99.9", {}}}};
    for (std::size_t second = 0; second < result.timeline.size(); ++second) {
      const LoadSecond& row = result.timeline[second];
      const auto x = static_cast<double>(second);
      throughput.series[0].points.emplace_back(x, static_cast<double>(row.replies));
      if (row.replies > 0) {
        latency.series[0].points.emplace_back(x, static_cast<double>(row.p50) / 1e6);
        latency.series[1].points.emplace_back(x, static_cast<double>(row.p99) / 1e6);
        latency.series[2].points.emplace_back(x, static_cast<double>(row.p99_9) / 1e6);
      }
    }
    LineChart percentiles{fmt::format("percentiles-{}", t),
                          "Latency by percentile (ms)",
                          "percentile",
                          "ms",
                          true,
                          {{"corrected", {}}, {"uncorrected", {}}}};
    const auto curve = [](const LatencyHistogram& histogram, Series& series) {
      for (const auto& point : histogram.percentile_spectrum(5)) {
        if (point.percentile < 100.0) {
          series.points.emplace_back(std::log10(100.0 / (100.0 - point.percentile)),
                                     static_cast<double>(point.value) / 1e6);
        }
      }
    };
    curve(result.latency, percentiles.series[0]);
    curve(result.uncorrected_latency, percentiles.series[1]);
    fmt::format_to(put, "{}{}{}", line_chart(throughput), line_chart(latency),
                   line_chart(percentiles));
    const auto& errors = result.errors;
    LabReport::Chart error_chart{
        "Errors by kind",
        "",
        {{"connect failed", static_cast<double>(errors.connect_failed)},
         {"reset", static_cast<double>(errors.reset)},
         {"closed", static_cast<double>(errors.closed)},
         {"timeout", static_cast<double>(errors.timeout)},
         {"unexpected reply", static_cast<double>(errors.unexpected_reply)}}};
    fmt::format_to(put, "<div class=\"errors\" id=\"errors-{}\">\n{}</div>\n</section>\n", t,
                   LabReport::bar_chart(error_chart));
  }
  fmt::format_to(put, "</div>\n");
  if (results.size() > 1) {
    const LoadResult& first = results.front();
    fmt::format_to(put,
                   "<h2>Compared with {}</h2>\n<table id=\"ratios\">\n"
                   "<tr><th>target</th><th>replies/s ratio</th><th>p99 ratio</th></tr>\n",
                   LabReport::escape(first.target.to_string()));
    const double rate = first.replies_per_second();
    const auto p99 = static_cast<double>(first.latency.value_at_percentile(99.0));
    for (std::size_t t = 1; t < results.size(); ++t) {
      const LoadResult& other = results[t];
      fmt::format_to(put, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     LabReport::escape(other.target.to_string()),
                     rate > 0 ? LabReport::number(other.replies_per_second() / rate) + "x" : "n/a",
                     p99 > 0
                         ? LabReport::number(
                               static_cast<double>(other.latency.value_at_percentile(99.0)) / p99) +
                               "x"
                         : "n/a");
    }
    fmt::format_to(put, "</table>\n");
  }
  fmt::format_to(put, "</body>\n</html>\n");
  return fmt::to_string(out);
}

std::string LoadHtmlReport::this_machine() {
  utsname name{};
  std::string text = "unknown kernel";
  if (::uname(&name) == 0) {
    text = fmt::format("{} {} {}", name.sysname, name.release, name.machine);
  }
  text += fmt::format(", {} CPUs", std::thread::hardware_concurrency());
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      if (const auto colon = line.find(':'); colon != std::string::npos) {
        text += " (" + line.substr(line.find_first_not_of(' ', colon + 1)) + ")";
      }
      break;
    }
  }
  return text;
}

std::string LoadHtmlReport::this_command_line() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::string text;
  for (std::string argument; std::getline(file, argument, '\0');) {
    text += (text.empty() ? "" : " ") + quoted_argument(argument);
  }
  return text;
}

}  // namespace pz::programs
