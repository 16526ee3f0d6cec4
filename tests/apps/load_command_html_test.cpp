// `pizzeria load --html` as a browser shows it: the report of a run in
// turns against two scripted servers over loopback, rendered by headless
// Chromium, whose DOM must hold every chart with its data points, the
// numbers, the ratios, the command line and the machine. The screenshot is
// kept in <build dir>/screenshots/load-report.png.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>

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

TEST(LoadCommandHtml, ABrowserDrawsEveryChartOfBothTargetsWithData) {
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
