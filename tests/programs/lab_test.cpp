// `pizzeria lab`: the report builder's exact output, the whole lab run small
// (--quick) as the user runs it, and a lab killed by SIGKILL taking its
// children along. Never checks timings: only that every experiment produced
// finite numbers and a verdict, that the page stays one self-contained
// document, and what ended the children.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/programs/lab_report.hpp"
#include "program_runner.hpp"
#include "support/children_of.hpp"
#include "support/headless_browser.hpp"

namespace pz::programs {
namespace {

using test::children_of;
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
  for (const char* id :
       {"cpu-bound", "io-bound", "server", "race", "deadlock", "distributed-locks"}) {
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
  // Across processes the forced outcomes hold too; the stall findings may be
  // inconclusive on a loaded machine (a stall that came too late), never
  // contradicted.
  EXPECT_NE(html.find("Coffman conditions holds"), std::string::npos) << html;
  EXPECT_EQ(html.find("does not hold"), std::string::npos) << html;
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
                      "--increments 100000 --json --lab-injected-failure` exited with status "),
            std::string::npos)
      << html;
  // The child's own complaint, from its standard error.
  EXPECT_NE(html.find("lab-injected-failure"), html.rfind("lab-injected-failure")) << html;
}

TEST(LabCommand, TheDistributedLocksSectionFailsWithTheReasonWhenRedisCannotStart) {
  const TemporaryReport report("no-redis");
  const auto result =
      run_program({pizzeria_binary(), "lab", "--quick", "--only", "distributed-locks",
                   "--inject-failure", "distributed-locks", "--out", report.path});
  EXPECT_EQ(result.exit_status, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("distributed-locks: FAILED: /nonexistent/redis-server not found "
                            "(Debian redis-server, scripts/install-deps.sh)"),
            std::string::npos)
      << result.out;
  const std::string html = read_file(report.path);
  expect_self_contained(html);
  EXPECT_NE(html.find("<section id=\"distributed-locks\" class=\"failed\">"), std::string::npos);
}

// Its first argument after the program (the subcommand), or "" once gone.
std::string subcommand_of(pid_t pid) {
  const std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  const auto first_end = cmdline.find('\0');
  if (first_end == std::string::npos) {
    return {};
  }
  return cmdline.substr(first_end + 1, cmdline.find('\0', first_end + 1) - first_end - 1);
}

// This process adopts the orphans of its descendants while it lives, so the
// test can wait for a killed lab's children and see what ended them.
struct Subreaper {
  Subreaper() { adopted = ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0; }
  ~Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  bool adopted = false;
};

// Waits up to `limit` for child `pid` to end; kills it if it is still
// running then. Its wait status, or -1 if it was not this process's child.
int wait_bounded(pid_t pid, std::chrono::seconds limit, bool& was_running) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      return status;
    }
    if (done < 0 && errno != EINTR) {
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      // Still unreaped, so the pid is still this child's.
      was_running = true;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(LabCommand, ALabKilledWithSigkillTakesItsRunningChildrenAlong) {
  const Subreaper subreaper;
  ASSERT_TRUE(subreaper.adopted) << "prctl(PR_SET_CHILD_SUBREAPER): " << std::strerror(errno);
  const TemporaryReport report("killed");
  // The server experiment's first child is a server, which stops only when
  // the lab tells it to (after a 3 s load run, with --connections 1).
  std::vector<std::string> argv = {pizzeria_binary(), "lab", "--only", "server",
                                   "--connections",   "1",   "--out",  report.path};
  std::vector<char*> pointers;
  for (std::string& arg : argv) {
    pointers.push_back(arg.data());
  }
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t lab = -1;
  const int spawned = ::posix_spawn(&lab, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(spawned, 0) << std::strerror(spawned);

  // Waits (bounded) for the lab to run a server, then stops the lab so that
  // it cannot stop its children itself: from then on only a signal ends the
  // server.
  std::vector<pid_t> children;
  std::vector<pid_t> servers;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (servers.empty() && std::chrono::steady_clock::now() < deadline) {
    bool running_server = false;
    for (const pid_t child : children_of(lab)) {
      running_server = running_server || subcommand_of(child) == "serve";
    }
    if (!running_server) {
      ASSERT_EQ(::waitpid(lab, &status, WNOHANG), 0) << "the lab ended before running a server";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    ASSERT_EQ(::kill(lab, SIGSTOP), 0);
    ASSERT_EQ(::waitpid(lab, &status, WUNTRACED), lab);
    ASSERT_TRUE(WIFSTOPPED(status));
    children = children_of(lab);
    for (const pid_t child : children) {
      if (subcommand_of(child) == "serve") {
        servers.push_back(child);
      }
    }
    if (servers.empty()) {
      ::kill(lab, SIGCONT);  // the server stopped in the meantime: wait for the next
    }
  }
  if (servers.empty()) {
    ::kill(lab, SIGKILL);
    ::waitpid(lab, &status, 0);
    FAIL() << "the lab ran no server within 60 s";
  }

  ASSERT_EQ(::kill(lab, SIGKILL), 0);
  ASSERT_EQ(::waitpid(lab, &status, 0), lab);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // The lab's children are now this process's (the subreaper's). A server
  // must have been killed by SIGKILL, the lab's death signal; any other child
  // (a load generator) must have ended.
  for (const pid_t child : children) {
    const bool server = std::find(servers.begin(), servers.end(), child) != servers.end();
    bool was_running = false;
    const int child_status = wait_bounded(child, std::chrono::seconds(60), was_running);
    ASSERT_NE(child_status, -1) << "child " << child << " of the lab was not adopted";
    EXPECT_FALSE(was_running) << "child " << child << " still ran 60 s after the lab was killed";
    if (server) {
      EXPECT_TRUE(WIFSIGNALED(child_status) && WTERMSIG(child_status) == SIGKILL)
          << "server " << child << " ended with wait status " << child_status;
    }
  }
  // Reaps anything else adopted meanwhile (nothing is expected).
  while (::waitpid(-1, &status, WNOHANG) > 0) {
  }
  // Whatever a load generator wrote, the lab can no longer remove; removed
  // once the children are gone, so none writes it afterwards.
  for (const char* model : {"threads", "reactor"}) {
    std::remove(("/tmp/pizzeria-lab-" + std::to_string(lab) + "-" + model + ".json").c_str());
  }
}

TEST(LabChild, AProcessWhoseLabHasAlreadyExitedKillsItselfAtOnce) {
  // The parent here is this test, not the pid the variable names.
  const pid_t not_parent = ::getpid() == 1 ? 2 : 1;
  const auto result = run_program({pizzeria_binary(), "version"}, {},
                                  {"PZ_LAB_PARENT=" + std::to_string(not_parent)});
  EXPECT_EQ(result.exit_status, 128 + SIGKILL) << result.out << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "pizzeria: the lab that started this process (pid " +
                            std::to_string(not_parent) + ") has exited; stopping\n");
}

TEST(LabChild, AProcessStartedByItsLabRunsNormally) {
  const auto result = run_program({pizzeria_binary(), "version"}, {},
                                  {"PZ_LAB_PARENT=" + std::to_string(::getpid())});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out, "");
  EXPECT_EQ(result.err, "");
}

TEST(LabChild, AVariableThatIsNotAProcessIdIsRefused) {
  for (const char* value : {"", "abc", "12x", "-5", "0", "99999999999999999999"}) {
    const auto result =
        run_program({pizzeria_binary(), "version"}, {}, {std::string("PZ_LAB_PARENT=") + value});
    EXPECT_EQ(result.exit_status, 2) << value;
    EXPECT_EQ(result.out, "") << value;
    EXPECT_EQ(result.err, std::string("pizzeria: PZ_LAB_PARENT=") + value +
                              " is not a process id (the variable names the `pizzeria lab` "
                              "that started this process)\n")
        << value;
  }
}

// Rendered by headless Chromium (screenshot: <build dir>/screenshots/lab-report.png).
TEST(LabCommand, ABrowserDrawsEveryChartOfTheQuickReportWithItsBarsAndNumbers) {
  if (pz::test::chromium_binary().empty()) {
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it)";
  }
  const TemporaryReport report("browser");
  const auto run = run_program({pizzeria_binary(), "lab", "--quick", "--out", report.path});
  ASSERT_EQ(run.exit_status, 0) << run.out << run.err;
  const auto page = pz::test::render_headless(report.path, "lab-report.png");
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
}  // namespace pz::programs
