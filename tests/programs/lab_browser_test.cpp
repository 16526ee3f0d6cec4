// `pizzeria lab --quick`'s HTML report as a browser shows it: rendered by
// headless Chromium, every experiment's section must hold its charts, each
// with its bars and their numbers. The screenshot is kept in
// <build dir>/screenshots/lab-report.png.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>

#include "programs/program_runner.hpp"
#include "support/headless_browser.hpp"
#include "support/pizzeria_binary.hpp"

namespace {

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

TEST(LabReportInBrowser, ABrowserDrawsEveryChartOfTheQuickReportWithItsBarsAndNumbers) {
  if (pz::test::chromium_binary().empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
  const std::string path =
      ::testing::TempDir() + "lab_browser_" + std::to_string(::getpid()) + ".html";
  const auto run =
      pz::test::run_program({pz::test::pizzeria_binary(), "lab", "--quick", "--out", path});
  ASSERT_EQ(run.exit_status, 0) << run.out << run.err;
  const auto page = pz::test::render_headless(path, "lab-report.png");
  std::remove(path.c_str());
  ASSERT_EQ(page.exit_status, 0) << page.errors;
  const std::string& dom = page.dom;
  const std::regex value_text("<text x=\"[0-9.]+\" y=\"[0-9]+\">[0-9.]+( [A-Za-z/%]+)?</text>");
  for (const std::string id : {"cpu-bound", "io-bound", "server", "race", "deadlock"}) {
    SCOPED_TRACE(id);
    const auto start = dom.find("<section id=\"" + id + "\">");
    ASSERT_NE(start, std::string::npos) << dom;
    const std::string section = dom.substr(start, dom.find("</section>", start) - start);
    EXPECT_NE(section.find("Verdict: "), std::string::npos);
    for (auto at = section.find("<svg class=\"chart\""); at != std::string::npos;
         at = section.find("<svg class=\"chart\"", at + 1)) {
      const std::string svg = section.substr(at, section.find("</svg>", at) - at);
      const auto bars = count_of(svg, "<rect ");
      EXPECT_GT(bars, 0U) << svg;
      const auto numbers = static_cast<std::size_t>(std::distance(
          std::sregex_iterator(svg.begin(), svg.end(), value_text), std::sregex_iterator()));
      EXPECT_EQ(numbers, bars) << svg;
    }
  }
  EXPECT_GE(count_of(dom, "<svg class=\"chart\""), 5U);
}

}  // namespace
