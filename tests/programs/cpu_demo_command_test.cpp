// `pizzeria cpu-demo`: checks ratios and counts only, never absolute times,
// with tiny work so it stays fast under sanitizers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "program_runner.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// The number after `label` in `text`, or -1.
double number_after(const std::string& text, const std::string& label) {
  const auto at = text.find(label);
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + label.size());
}

TEST(CpuDemoCommand, TheGlobalLockLetsOneThreadRunAtATimeSoThreadsStopScaling) {
  const auto result = run_program(
      {pizzeria_binary(), "cpu-demo", "--workers", "2", "--iterations", "3000000", "--gil"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("threads running at once, at most: 1\n"), std::string::npos)
      << result.out;
  // Serialised work cannot beat one worker doing its share alone; noise
  // aside the ratio is at most 1 (the ideal for 2 workers would be 2).
  const double gil_seconds = number_after(result.out, "(GIL)");
  const auto at = result.out.find("speed-up", result.out.find("(GIL)"));
  ASSERT_NE(at, std::string::npos) << result.out;
  const double ratio = std::atof(result.out.c_str() + at + 8);
  EXPECT_GT(gil_seconds, 0) << result.out;
  EXPECT_LT(ratio, 1.5) << result.out;
}

TEST(CpuDemoCommand, WithoutTheLockThreadsRunTheirWorkSideBySideAndProcessesToo) {
  const auto result =
      run_program({pizzeria_binary(), "cpu-demo", "--workers", "2", "--iterations", "3000000"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("2 threads "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("2 processes "), std::string::npos) << result.out;
  const double peak = number_after(result.out, "threads running at once, at most: ");
  EXPECT_GE(peak, 1) << result.out;
  EXPECT_LE(peak, 2) << result.out;
}

TEST(CpuDemoCommand, JsonPrintsOneObjectWithEveryTimingAndNoLines) {
  const auto result = run_program({pizzeria_binary(), "cpu-demo", "--workers", "2", "--iterations",
                                   "3000000", "--gil", "--json"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  ASSERT_EQ(result.out.find('\n'), result.out.size() - 1) << result.out;  // one line
  const nlohmann::json json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json.at("workers"), 2);
  EXPECT_EQ(json.at("iterations"), 3000000);
  EXPECT_EQ(json.at("gil"), true);
  EXPECT_EQ(json.at("peak_threads_running"), 1);
  for (const char* key :
       {"alone_s", "threads_s", "threads_speedup", "processes_s", "processes_speedup"}) {
    EXPECT_GT(json.at(key).get<double>(), 0) << key;
  }
}

}  // namespace
}  // namespace pz::programs
