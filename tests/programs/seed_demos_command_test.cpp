// sleepers, io-demo and input-reader: outputs and ratios, never absolute times.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "program_runner.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  return lines;
}

TEST(SleepersCommand, PrintedDelaysAreTheScaledTimesItSleeps) {
  const auto result =
      run_program({pizzeria_binary(), "sleepers", "--seed", "3", "--scale", "0.001"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 14u) << result.out;
  for (int i = 0; i < 5; ++i) {
    const std::string prefix = std::to_string(i) + " sleeps for ";
    ASSERT_EQ(lines[1 + i].rfind(prefix, 0), 0u) << lines[1 + i];
    // Delays are drawn from 0-5 s; scaled by 0.001 they are at most 5 ms.
    EXPECT_LE(std::atof(lines[1 + i].c_str() + prefix.size()), 0.005) << lines[1 + i];
  }
}

TEST(SleepersCommand, ANegativeScaleIsRefusedNamingTheBound) {
  const auto result = run_program({pizzeria_binary(), "sleepers", "--scale", "-1"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_EQ(result.err,
            "--scale: '-1' is below the limit of 1e-06\nRun with --help for more information.\n");
}

TEST(SleepersCommand, WakeupsComeInDelayOrderAroundTheMainTasksTwoSecondSleep) {
  const auto result =
      run_program({pizzeria_binary(), "sleepers", "--seed", "3", "--scale", "0.02"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 14u) << result.out;
  EXPECT_EQ(lines[0], "creating five tasks");
  // Each sleeper's delay, then the order the timers must fire in: the five
  // wake-ups and the main task's 2 s sleep, by deadline.
  std::vector<std::pair<double, std::string>> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string prefix = std::to_string(i) + " sleeps for ";
    ASSERT_EQ(lines[1 + i].rfind(prefix, 0), 0u) << lines[1 + i];
    expected.emplace_back(std::atof(lines[1 + i].c_str() + prefix.size()),
                          std::to_string(i) + " awakens");
  }
  EXPECT_EQ(lines[6], "Sleeping after starting five tasks");
  expected.emplace_back(2.0 * 0.02, "Waking and waiting for five tasks");
  std::sort(expected.begin(), expected.end());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(lines[7 + k], expected[k].second) << result.out;
  }
  EXPECT_EQ(lines[13], "Done five tasks");
}

// The ratio after "of sequential" on the line starting with `label`.
double ratio_on(const std::string& out, const std::string& label) {
  for (const std::string& line : lines_of(out)) {
    if (line.find(label) != std::string::npos) {
      const auto at = line.find(" s   ");
      return at == std::string::npos ? -1 : std::atof(line.c_str() + at + 5);
    }
  }
  return -1;
}

TEST(IoDemoCommand, ThreadsAndCoroutinesOverlapTheWaitsThatSequentialCodeAddsUp) {
  const auto result =
      run_program({pizzeria_binary(), "io-demo", "--tasks", "10", "--seconds", "0.2"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const double threaded = ratio_on(result.out, "10 threads");
  const double coroutines = ratio_on(result.out, "10 coroutines");
  // Sequential takes at least 10 waits; overlapped waits take about one, so
  // the ratio is near 0.1. Half is a bound no loaded machine should break,
  // as long as a wait is long beside starting ten threads (about 16 ms each
  // under ThreadSanitizer, which put 30 ms waits at 0.62).
  EXPECT_GT(threaded, 0) << result.out;
  EXPECT_LT(threaded, 0.5) << result.out;
  EXPECT_GT(coroutines, 0) << result.out;
  EXPECT_LT(coroutines, 0.5) << result.out;
}

TEST(IoDemoCommand, JsonPrintsOneObjectWithTheThreeTimings) {
  const auto result =
      run_program({pizzeria_binary(), "io-demo", "--tasks", "4", "--seconds", "0.01", "--json"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  ASSERT_EQ(result.out.find('\n'), result.out.size() - 1) << result.out;  // one line
  const nlohmann::json json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json.at("tasks"), 4);
  EXPECT_EQ(json.at("seconds"), 0.01);
  // Four sequential waits of 10 ms take at least 40 ms.
  EXPECT_GE(json.at("sequential_s").get<double>(), 0.04);
  EXPECT_GT(json.at("threads_s").get<double>(), 0);
  EXPECT_GT(json.at("coroutines_s").get<double>(), 0);
}

TEST(InputReaderCommand, SquaresAreComputedUntilTheLineArrivesAndTheLineIsEchoed) {
  const auto result = run_program({pizzeria_binary(), "input-reader"}, "pizza please\n");
  ASSERT_EQ(result.exit_status, 0) << result.err;
  const auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 3u) << result.out;
  EXPECT_EQ(lines[0], "Enter some text and press enter: ");
  unsigned long long count = 0;
  unsigned long long again = 0;
  unsigned long long square = 0;
  ASSERT_EQ(std::sscanf(lines[1].c_str(), "calculated squares up to %llu * %llu = %llu", &count,
                        &again, &square),
            3)
      << lines[1];
  EXPECT_EQ(count, again);
  EXPECT_GE(count, 1u);
  // A true equation: the square printed is the count's.
  EXPECT_EQ(square, count * count);
  EXPECT_EQ(lines[2], "while you typed pizza please");
}

}  // namespace
}  // namespace pz::programs
