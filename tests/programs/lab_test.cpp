// `pizzeria lab`: the report builder's exact output, and the whole lab run
// small (--quick) as the user runs it. Never checks timings: only that every
// experiment produced finite numbers and a verdict, and that the page stays
// one self-contained document.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <string>

#include "pizzeria/programs/lab_report.hpp"
#include "program_runner.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// A report file name of its own per test, removed afterwards.
struct TemporaryReport {
  explicit TemporaryReport(const std::string& name)
      : path(::testing::TempDir() + "pizzeria-lab-" + std::to_string(::getpid()) + "-" + name +
             ".html") {}
  ~TemporaryReport() { std::remove(path.c_str()); }
  std::string path;
};

// The checks every report must pass, whatever it measured.
void expect_self_contained(const std::string& html) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0), 0U);
  EXPECT_EQ(count_of(html, "<html"), 1U);
  EXPECT_EQ(count_of(html, "</html>"), 1U);
  EXPECT_TRUE(html.ends_with("</html>\n"));
  EXPECT_EQ(count_of(html, "<script"), 0U);
  EXPECT_EQ(count_of(html, "://"), 0U);
  EXPECT_EQ(count_of(html, "src="), 0U);
  EXPECT_EQ(count_of(html, "href="), 0U);
  EXPECT_EQ(count_of(html, "url("), 0U);
  EXPECT_EQ(count_of(html, "@import"), 0U);
}

TEST(LabReport, EscapesEveryCharacterThatIsSpecialInHtmlText) {
  EXPECT_EQ(LabReport::escape(R"(a<b> & "c" 'd')"), "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
  EXPECT_EQ(LabReport::escape("plain text, 1.5 s"), "plain text, 1.5 s");
  EXPECT_EQ(LabReport::escape(""), "");
}

TEST(LabReport, DrawsABarChartScaledToTheLargestValue) {
  const LabReport::Chart chart{"Speed <up>", "x", {{"a&b", 2.0}, {"c", 1.0}}};
  EXPECT_EQ(LabReport::bar_chart(chart),
            "<svg class=\"chart\" width=\"520\" height=\"68\" viewBox=\"0 0 520 68\" "
            "role=\"img\" aria-label=\"Speed &lt;up&gt;\">\n"
            "<text class=\"chart-title\" x=\"0\" y=\"14\">Speed &lt;up&gt;</text>\n"
            "<text x=\"174\" y=\"36\" text-anchor=\"end\">a&amp;b</text>"
            "<rect x=\"180\" y=\"24\" width=\"260.0\" height=\"16\"/>"
            "<text x=\"446.0\" y=\"36\">2 x</text>\n"
            "<text x=\"174\" y=\"58\" text-anchor=\"end\">c</text>"
            "<rect x=\"180\" y=\"46\" width=\"130.0\" height=\"16\"/>"
            "<text x=\"316.0\" y=\"58\">1 x</text>\n"
            "</svg>\n");
}

TEST(LabReport, DrawsANumberThatIsNotFiniteAsAnEmptyBarMarkedNotAvailable) {
  const LabReport::Chart chart{
      "t", "", {{"bad", std::numeric_limits<double>::quiet_NaN()}, {"zero", 0.0}}};
  EXPECT_EQ(LabReport::bar_chart(chart),
            "<svg class=\"chart\" width=\"520\" height=\"68\" viewBox=\"0 0 520 68\" "
            "role=\"img\" aria-label=\"t\">\n"
            "<text class=\"chart-title\" x=\"0\" y=\"14\">t</text>\n"
            "<text x=\"174\" y=\"36\" text-anchor=\"end\">bad</text>"
            "<rect x=\"180\" y=\"24\" width=\"0.0\" height=\"16\"/>"
            "<text x=\"186.0\" y=\"36\">n/a</text>\n"
            "<text x=\"174\" y=\"58\" text-anchor=\"end\">zero</text>"
            "<rect x=\"180\" y=\"46\" width=\"0.0\" height=\"16\"/>"
            "<text x=\"186.0\" y=\"58\">0</text>\n"
            "</svg>\n");
  EXPECT_EQ(LabReport::number(std::numeric_limits<double>::infinity()), "n/a");
  EXPECT_EQ(LabReport::number(83245.4), "83245");
  EXPECT_EQ(LabReport::number(1001), "1001");
  EXPECT_EQ(LabReport::number(999.94), "1000");
  EXPECT_EQ(LabReport::number(999.4), "999");
  EXPECT_EQ(LabReport::number(0.98765), "0.988");
}

TEST(LabReport, AFailedExperimentShowsWhyAndItsErrorsInsteadOfNumbers) {
  LabReport report("lab");
  LabReport::Experiment good;
  good.id = "good";
  good.title = "Good";
  good.seed = "seed 1";
  good.claim = "it works";
  good.commands = {"pizzeria good"};
  good.columns = {"run", "value"};
  good.rows = {{"one", "1"}};
  good.charts = {{"values", "", {{"one", 1.0}}}};
  good.verdict = "it worked";
  LabReport::Experiment bad = good;
  bad.id = "bad";
  bad.title = "Bad";
  bad.failed = true;
  bad.failure = "`pizzeria bad` exited with status 3";
  bad.stderr_tail = "bad: no <such> thing\n";
  report.add(good);
  report.add(bad);
  EXPECT_TRUE(report.any_failed());
  EXPECT_EQ(report.summary(),
            "good: it worked\nbad: FAILED: `pizzeria bad` exited with status 3\n");
  const std::string html = report.html();
  expect_self_contained(html);
  const std::string failed_section = html.substr(html.find("<section id=\"bad\""));
  EXPECT_EQ(failed_section.rfind("<section id=\"bad\" class=\"failed\">", 0), 0U);
  EXPECT_NE(failed_section.find(
                "<p class=\"verdict\">Verdict: FAILED: `pizzeria bad` exited with status 3</p>"),
            std::string::npos);
  EXPECT_NE(failed_section.find("<pre>bad: no &lt;such&gt; thing\n</pre>"), std::string::npos);
  // The failed experiment has no table or chart of made-up numbers.
  EXPECT_EQ(count_of(failed_section, "<svg"), 0U);
  EXPECT_EQ(count_of(html, "<svg"), 1U);
  EXPECT_NE(html.find("<p class=\"verdict\">Verdict: it worked</p>"), std::string::npos);
}

TEST(LabCommand, QuickRunMeasuresEveryExperimentAndWritesOneSelfContainedPage) {
  const TemporaryReport report("quick");
  const auto result = run_program({pizzeria_binary(), "lab", "--quick", "--out", report.path});
  ASSERT_EQ(result.exit_status, 0) << result.out << result.err;
  const std::string html = read_file(report.path);
  expect_self_contained(html);
  for (const char* id : {"cpu-bound", "io-bound", "server", "race", "deadlock"}) {
    const auto start = html.find(std::string("<section id=\"") + id + "\">");
    ASSERT_NE(start, std::string::npos) << id;
    const auto end = html.find("</section>", start);
    const std::string section = html.substr(start, end - start);
    EXPECT_NE(section.find("<p class=\"verdict\">Verdict: "), std::string::npos) << id;
    EXPECT_EQ(section.find("FAILED"), std::string::npos) << id;
    EXPECT_NE(section.find("<pre>pizzeria "), std::string::npos) << id;
    EXPECT_NE(section.find("<table>"), std::string::npos) << id;
    EXPECT_NE(section.find("<svg"), std::string::npos) << id;
    EXPECT_NE(result.out.find(std::string(id) + ": "), std::string::npos) << result.out;
  }
  static const std::regex not_finite(R"(\b(nan|inf|infinity|n/a)\b)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, not_finite)) << html;
  EXPECT_FALSE(std::regex_search(result.out, not_finite)) << result.out;
  // The known, forced outcomes (not timings): lockstep loses exactly half,
  // the forced first meal deadlocks only left-then-right.
  EXPECT_NE(html.find("50.0% in lockstep"), std::string::npos);
  EXPECT_NE(html.find("ordered 0, both-at-once 0"), std::string::npos);
  EXPECT_TRUE(std::regex_search(html, std::regex("<td>P[0-9]+ -&gt; R[0-9]+ -&gt; P")));
}

TEST(LabCommand, AnExperimentWhoseChildFailsIsReportedAsFailedAndTheLabExitsOne) {
  const TemporaryReport report("failed");
  const auto result = run_program({pizzeria_binary(), "lab", "--quick", "--only", "race",
                                   "--inject-failure", "race", "--out", report.path});
  EXPECT_EQ(result.exit_status, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("race: FAILED: `pizzeria race "), std::string::npos) << result.out;
  const std::string html = read_file(report.path);
  expect_self_contained(html);
  EXPECT_NE(html.find("<section id=\"race\" class=\"failed\">"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"verdict\">Verdict: FAILED: `pizzeria race --threads 2 "
                      "--increments 100000 --lab-injected-failure` exited with status "),
            std::string::npos)
      << html;
  // The child's own complaint, from its standard error.
  EXPECT_NE(html.find("lab-injected-failure"), html.rfind("lab-injected-failure")) << html;
}

}  // namespace
}  // namespace pz::programs
