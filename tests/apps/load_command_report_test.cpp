// `pizzeria load`'s report files and thresholds as a user meets them: the
// .hgrm percentile distribution read back against the JSON percentiles, the
// per-second CSV against the JSON timeline, --fail-if's exit codes and
// messages, over loopback against scripted pizza servers; and the --html
// report as headless Chromium renders it, whose DOM must hold every chart
// with its data points (screenshot: <build dir>/screenshots/load-report.png).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "programs/program_runner.hpp"
#include "support/headless_browser.hpp"
#include "support/scripted_server.hpp"

namespace {

using pz::test::ScriptedConnection;
using pz::test::ScriptedServer;

void thank_every_order(ScriptedConnection& c) {
  for (std::string line = c.read_line(); !line.empty(); line = c.read_line()) {
    c.send("Thank you for ordering 3 pizzas!\n");
  }
}

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "load_report_" + std::to_string(::getpid()) + "_" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

pz::test::ProgramResult run_load(const ScriptedServer& server, std::vector<std::string> extra) {
  std::vector<std::string> argv{pz::test::pizzeria_binary(),
                                "load",
                                server.address_text(),
                                "-c",
                                "2",
                                "-t",
                                "2",
                                "-n",
                                "400"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return pz::test::run_program(argv);
}

struct HgrmRow {
  double value_ms = 0;
  double percentile = 0;  // a fraction
  std::uint64_t total_count = 0;
};

// The rows of an .hgrm file, checking its header and footer on the way.
std::vector<HgrmRow> parse_hgrm(const std::string& text, std::uint64_t count) {
  const auto lines = lines_of(text);
  EXPECT_GE(lines.size(), 6U) << text;
  if (lines.size() < 6) {
    return {};
  }
  EXPECT_EQ(lines[0], "       Value     Percentile TotalCount 1/(1-Percentile)");
  EXPECT_EQ(lines[1], "");
  const auto footer = lines.size() - 3;
  EXPECT_EQ(lines[footer].rfind("#[Mean    = ", 0), 0U) << lines[footer];
  EXPECT_NE(lines[footer].find(", StdDeviation   = "), std::string::npos) << lines[footer];
  char total[64];
  std::snprintf(total, sizeof total, ", Total count    = %12llu]",
                static_cast<unsigned long long>(count));
  EXPECT_NE(lines[footer + 1].find(total), std::string::npos) << lines[footer + 1];
  EXPECT_EQ(lines[footer + 2], "#[Buckets =           57, SubBuckets     =          256]");
  std::vector<HgrmRow> rows;
  for (std::size_t i = 2; i < footer; ++i) {
    HgrmRow row;
    double inverse = 0;
    unsigned long long total_count = 0;
    const int fields = std::sscanf(lines[i].c_str(), "%lf %lf %llu %lf", &row.value_ms,
                                   &row.percentile, &total_count, &inverse);
    row.total_count = total_count;
    // Every row has four columns but the last, percentile 1, which has three.
    EXPECT_EQ(fields, i + 1 == footer ? 3 : 4) << lines[i];
    if (fields == 4) {
      EXPECT_NEAR(inverse, 1.0 / (1.0 - row.percentile), 0.01 + inverse * 1e-6) << lines[i];
    }
    rows.push_back(row);
  }
  return rows;
}

TEST(LoadCommandReport, WritesBothPercentileDistributionsThatMatchTheJsonPercentiles) {
  ScriptedServer server(thank_every_order);
  const auto json_path = temp_path("run.json");
  const auto hgrm_path = temp_path("run.hgrm");
  const auto uncorrected_path = temp_path("run.uncorrected.hgrm");
  const auto result = run_load(server, {"--json", json_path, "--hgrm", hgrm_path});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const auto json = nlohmann::json::parse(read_file(json_path));
  for (const auto& [path, key] :
       {std::pair{hgrm_path, "latency"}, std::pair{uncorrected_path, "uncorrected_latency"}}) {
    SCOPED_TRACE(path);
    const auto& histogram = json[key];
    ASSERT_EQ(histogram["count"], 400);
    const auto rows = parse_hgrm(read_file(path), 400);
    const auto& spectrum = histogram["spectrum"];
    ASSERT_EQ(rows.size(), spectrum.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      // Milliseconds with three decimals: the nanoseconds rounded to 1 us.
      EXPECT_NEAR(rows[i].value_ms, spectrum[i]["value"].get<double>() / 1e6, 0.0005 + 1e-9);
      EXPECT_NEAR(rows[i].percentile, spectrum[i]["percentile"].get<double>() / 100.0, 1e-12);
      EXPECT_LE(rows[i].total_count, 400U);
      if (i > 0) {
        EXPECT_GE(rows[i].total_count, rows[i - 1].total_count);
      }
    }
    EXPECT_EQ(rows.back().total_count, 400U);
    EXPECT_DOUBLE_EQ(rows.back().percentile, 1.0);
    // The spectrum's p50 point is the JSON's p50.
    bool median = false;
    for (const auto& row : rows) {
      if (row.percentile == 0.5) {
        median = true;
        EXPECT_NEAR(row.value_ms, histogram["p50"].get<double>() / 1e6, 0.0005 + 1e-9);
      }
    }
    EXPECT_TRUE(median);
    EXPECT_NEAR(rows.back().value_ms, histogram["max"].get<double>() / 1e6, 0.0005 + 1e-9);
  }
  std::remove(json_path.c_str());
  std::remove(hgrm_path.c_str());
  std::remove(uncorrected_path.c_str());
}

TEST(LoadCommandReport, WritesOneCsvRowPerSecondOfTheJsonTimeline) {
  ScriptedServer server(thank_every_order);
  const auto json_path = temp_path("timeline.json");
  const auto csv_path = temp_path("timeline.csv");
  const auto result = run_load(server, {"--json", json_path, "--csv", csv_path});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const auto json = nlohmann::json::parse(read_file(json_path));
  const auto lines = lines_of(read_file(csv_path));
  const auto& timeline = json["timeline"];
  ASSERT_FALSE(timeline.empty());
  ASSERT_EQ(lines.size(), 1 + timeline.size());
  EXPECT_EQ(lines[0],
            "target,second,replies,errors,connect_failed,reset,closed,timeout,unexpected_reply,"
            "p50_ns,p99_ns,p99.9_ns");
  std::uint64_t replies = 0;
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    const auto& second = timeline[i];
    EXPECT_EQ(lines[i + 1], server.address_text() + "," + std::to_string(i) + "," +
                                std::to_string(second["replies"].get<std::uint64_t>()) +
                                ",0,0,0,0,0,0," +
                                std::to_string(second["p50"].get<std::uint64_t>()) + "," +
                                std::to_string(second["p99"].get<std::uint64_t>()) + "," +
                                std::to_string(second["p99.9"].get<std::uint64_t>()));
    replies += second["replies"].get<std::uint64_t>();
  }
  EXPECT_EQ(replies, 400U);
  std::remove(json_path.c_str());
  std::remove(csv_path.c_str());
}

TEST(LoadCommandReport, ExitsWithFiveNamingEveryBrokenThreshold) {
  ScriptedServer server(thank_every_order);
  // No reply over loopback comes back within a nanosecond, and 400 replies
  // cannot take 1000 s; errors>0 holds.
  const auto result =
      run_load(server, {"--fail-if", "p99>1ns", "--fail-if", "errors>0", "--fail-if", "rps<0.4"});
  EXPECT_EQ(result.exit_status, 5) << result.err;
  const auto lines = lines_of(result.err);
  ASSERT_EQ(lines.size(), 1U) << result.err;
  EXPECT_EQ(lines[0].rfind("pizzeria load: threshold p99>1ns broken: p99 was ", 0), 0U) << lines[0];
  EXPECT_TRUE(lines[0].ends_with(" on " + server.address_text())) << lines[0];
}

TEST(LoadCommandReport, ExitsWithZeroWhenEveryThresholdHolds) {
  ScriptedServer server(thank_every_order);
  const auto result = run_load(
      server, {"--fail-if", "p99>1000s", "--fail-if", "max>1000s", "--fail-if", "errors>0"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.err, "");
}

TEST(LoadCommandReport, RejectsABadThresholdBeforeTheRunWithExitTwo) {
  ScriptedServer server(thank_every_order);
  const auto result = run_load(server, {"--fail-if", "p99>5"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_EQ(result.err,
            "pizzeria load: --fail-if 'p99>5': a latency needs a unit: ns, us, ms or s (e.g. "
            "p99>5ms)\n");
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(server.accepted(), 0);
  const auto ratio = run_load(server, {"--fail-if", "ratio.p99>1.1"});
  EXPECT_EQ(ratio.exit_status, 2);
  EXPECT_EQ(ratio.err,
            "pizzeria load: --fail-if 'ratio.p99>1.1': a ratio needs --compare-with (the ratios "
            "are to the first target)\n");
}

TEST(LoadCommandReport, DocumentsTheNewOptionsAndTheThresholdExitCodeInHelp) {
  const auto result = pz::test::run_program({pz::test::pizzeria_binary(), "load", "--help"});
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_NE(result.out.find("--hgrm FILE"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("--csv FILE"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("--html FILE"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("--fail-if EXPR"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("  5  a --fail-if threshold was broken"), std::string::npos)
      << result.out;
}

// The element with this id, from its opening tag to `closing`.
std::string element(const std::string& dom, const std::string& id, const std::string& closing) {
  const auto start = dom.find("id=\"" + id + "\"");
  if (start == std::string::npos) {
    return {};
  }
  const auto open = dom.rfind('<', start);
  const auto end = dom.find(closing, start);
  return end == std::string::npos ? std::string() : dom.substr(open, end - open);
}

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// Every line of the chart has data-points > 0 and as many x,y pairs.
void expect_chart_drew(const std::string& dom, const std::string& id, int lines) {
  SCOPED_TRACE(id);
  const std::string svg = element(dom, id, "</svg>");
  ASSERT_FALSE(svg.empty()) << "no chart " << id;
  EXPECT_NE(svg.find("data-series=\"" + std::to_string(lines) + "\""), std::string::npos) << svg;
  const std::regex polyline(
      "<polyline class=\"series series-[0-9]\" data-name=\"([^\"]+)\" data-points=\"([0-9]+)\" "
      "points=\"([^\"]*)\"");
  int seen = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline);
       it != std::sregex_iterator(); ++it) {
    ++seen;
    const auto points = std::stoul((*it)[2]);
    EXPECT_GT(points, 0U) << "line " << (*it)[1] << " is empty";
    const std::string coordinates = (*it)[3];
    EXPECT_EQ(count_of(coordinates, ","), points) << (*it)[1];
  }
  EXPECT_EQ(seen, lines) << svg;
}

TEST(LoadCommandReport, ABrowserDrawsEveryChartOfBothTargetsWithData) {
  if (pz::test::chromium_binary().empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
  ScriptedServer first(thank_every_order);
  ScriptedServer second(thank_every_order);
  const std::string path =
      ::testing::TempDir() + "load_report_" + std::to_string(::getpid()) + ".html";
  const auto run = pz::test::run_program({pz::test::pizzeria_binary(), "load", first.address_text(),
                                          "-c", "1", "-d", "500ms", "--compare-with",
                                          second.address_text(), "--html", path});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  const auto page = pz::test::render_headless(path, "load-report.png");
  std::remove(path.c_str());
  ASSERT_EQ(page.exit_status, 0) << page.errors;
  const std::string& dom = page.dom;
  ASSERT_NE(dom.find("<h1>pizzeria load report</h1>"), std::string::npos) << dom;
  for (const std::string target : {"0", "1"}) {
    expect_chart_drew(dom, "throughput-" + target, 1);
    expect_chart_drew(dom, "latency-" + target, 3);
    expect_chart_drew(dom, "percentiles-" + target, 2);
    const std::string errors = element(dom, "errors-" + target, "</div>");
    EXPECT_EQ(count_of(errors, "<rect"), 5U) << errors;
    const std::string numbers = element(dom, "numbers-" + target, "</table>");
    EXPECT_TRUE(std::regex_search(numbers, std::regex("<th>replies</th><td>[1-9][0-9]*</td>")))
        << numbers;
    EXPECT_TRUE(std::regex_search(numbers, std::regex("<th>p99</th><td>[0-9.]+ (ns|us|ms)</td>")))
        << numbers;
  }
  const std::string ratios = element(dom, "ratios", "</table>");
  EXPECT_TRUE(std::regex_search(ratios, std::regex("<td>" + second.address_text() +
                                                   "</td><td>[0-9.]+x</td><td>[0-9.]+x</td>")))
      << ratios;
  const std::string command = element(dom, "command-line", "</pre>");
  EXPECT_NE(command.find(" load " + first.address_text() + " -c 1 -d 500ms --compare-with "),
            std::string::npos)
      << command;
  const std::string machine = element(dom, "machine", "</span>");
  EXPECT_TRUE(std::regex_search(machine, std::regex("Linux .*, [1-9][0-9]* CPUs"))) << machine;
  // Self-contained: nothing for the browser to fetch.
  EXPECT_EQ(count_of(dom, "<script"), 0U);
  EXPECT_EQ(count_of(dom, "src="), 0U);
  EXPECT_EQ(count_of(dom, "href="), 0U);
}

}  // namespace
