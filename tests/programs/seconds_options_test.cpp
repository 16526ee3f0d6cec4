// Every command's options in seconds go through one check (seconds_between,
// apps/pizzeria/seconds_option.cpp): out of range, not finite or not a
// number is refused before anything runs, exit status 2, with a message
// naming the option and the limit. One test per command family, running
// the real binary.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "program_runner.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// Runs `pizzeria args...` and expects exit status 2 with `message` on stderr.
void expect_refused(std::vector<std::string> args, const std::string& message) {
  args.insert(args.begin(), pizzeria_binary());
  const auto result = run_program(args);
  std::string command;
  for (const auto& arg : args) {
    command += arg + " ";
  }
  EXPECT_EQ(result.exit_status, 2) << command << "\n" << result.err;
  EXPECT_NE(result.err.find(message), std::string::npos) << command << "\n" << result.err;
  EXPECT_EQ(result.out, "") << command;  // nothing ran
}

TEST(SecondsOptions, AnyOtherCommandLineErrorIsExitStatusTwoLikeThem) {
  // Not CLI11's own codes (109 for an unknown option, 105 for a bad value):
  // a script tells "you called me wrong" from "it failed" by 2 against 1.
  expect_refused({"serve", "--bogus"}, "The following argument was not expected: --bogus");
  expect_refused({"dns", "--rate-limit", "many"}, "--rate-limit");
}

TEST(SecondsOptions, ThePizzaServerAndClientRefuseDurationsNoClockCanHold) {
  expect_refused({"serve", "--port", "0", "--idle-timeout", "1e10"},
                 "--idle-timeout: '1e10' is above the limit of 31536000 seconds");
  expect_refused({"serve", "--port", "0", "--shutdown-timeout", "-1"},
                 "--shutdown-timeout: '-1' is below the limit of 0 seconds");
  expect_refused({"serve", "--port", "0", "--idle-timeout", "nan"},
                 "--idle-timeout: 'nan' is not a number");
  expect_refused({"order", "--timeout", "inf", "1"}, "--timeout: 'inf' is not a number");
  expect_refused({"order", "--timeout", "1e7", "1"},
                 "--timeout: '1e7' is above the limit of 1000000 seconds");
}

TEST(SecondsOptions, AValueAtTheLimitIsAccepted) {
  // Port 1 refuses the connection: exit 1, past the parsing.
  const auto result =
      run_program({pizzeria_binary(), "order", "--port", "1", "--timeout", "1e6", "1"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err.find("limit"), std::string::npos) << result.err;
}

TEST(SecondsOptions, TheEchoServerAndClientRefuseThem) {
  expect_refused({"echo-server", "--port", "0", "--idle-timeout", "inf"},
                 "--idle-timeout: 'inf' is not a number");
  expect_refused({"echo-client", "--timeout", "0"},
                 "--timeout: '0' is below the limit of 0.001 seconds");
}

TEST(SecondsOptions, TheSortServerAndClientRefuseThem) {
  expect_refused({"sort-server", "--port", "0", "--idle-timeout", "1e10"},
                 "--idle-timeout: '1e10' is above the limit of 1000000000 seconds");
  // A NaN passed CLI11's range check and ran with an undefined timeout.
  expect_refused({"sort-client", "--timeout", "nan"}, "--timeout: 'nan' is not a number");
  expect_refused({"sort-client", "--duration", "-5"},
                 "--duration: '-5' is below the limit of 0 seconds");
}

TEST(SecondsOptions, TheKitchenRefusesThem) {
  expect_refused({"kitchen", "--bake-time", "3601"},
                 "--bake-time: '3601' is above the limit of 3600 seconds");
  expect_refused({"kitchen", "--reclaim-after", "1e300"},
                 "--reclaim-after: '1e300' is above the limit of 1000000 seconds");
}

TEST(SecondsOptions, TheSeedDemosRefuseThem) {
  expect_refused({"io-demo", "--seconds", "1e10"},
                 "--seconds: '1e10' is above the limit of 1000000 seconds");
  expect_refused({"sleepers", "--scale", "nan"}, "--scale: 'nan' is not a number");
  expect_refused({"sleepers", "--scale", "1e10"}, "--scale: '1e10' is above the limit of 1000000");
}

TEST(SecondsOptions, TheLoadGeneratorRefusesThemWithItsOwnUnits) {
  expect_refused({"load", "127.0.0.1:1", "--timeout", "1e10s"}, "--timeout '1e10s'");
  expect_refused({"load", "127.0.0.1:1", "--duration", "nan"}, "--duration 'nan'");
}

}  // namespace
}  // namespace pz::programs
