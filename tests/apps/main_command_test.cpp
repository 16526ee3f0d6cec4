// `pizzeria` itself, before any command runs: --version, an unknown command,
// and one exit-status scheme for every command (0 ok, 1 runtime failure, 2
// usage error), parser errors included.
#include <gtest/gtest.h>

#include <string>

#include "pizzeria/core/version.hpp"
#include "programs/program_runner.hpp"

namespace {

using pz::test::pizzeria_binary;
using pz::test::run_program;

const std::string usage_hint = "Run with --help for more information.\n";

TEST(PizzeriaCommand, VersionFlagPrintsWhatTheVersionCommandPrints) {
  const auto flag = run_program({pizzeria_binary(), "--version"});
  const auto command = run_program({pizzeria_binary(), "version"});
  EXPECT_EQ(flag.exit_status, 0) << flag.err;
  EXPECT_EQ(command.exit_status, 0) << command.err;
  EXPECT_EQ(flag.out, "pizzeria " + std::string(pz::version) + "\n");
  EXPECT_EQ(command.out, flag.out);
}

TEST(PizzeriaCommand, AnUnknownCommandIsNamedWithTheListOfCommands) {
  const auto result = run_program({pizzeria_binary(), "bogus", "--port", "1"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err.rfind("pizzeria: unknown command 'bogus'; the commands are: version, serve, "
                             "order, ",
                             0),
            0u)
      << result.err;
  EXPECT_NE(result.err.find(", kitchen (pizzeria --help)\n"), std::string::npos) << result.err;
}

TEST(PizzeriaCommand, ParserErrorsExitWithTheUsageStatus) {
  const auto no_command = run_program({pizzeria_binary()});
  EXPECT_EQ(no_command.exit_status, 2);
  EXPECT_EQ(no_command.err, "A subcommand is required\n" + usage_hint);
  const auto unknown_option = run_program({pizzeria_binary(), "serve", "--nope"});
  EXPECT_EQ(unknown_option.exit_status, 2);
  EXPECT_EQ(unknown_option.err, "The following argument was not expected: --nope\n" + usage_hint);
  const auto bad_number = run_program({pizzeria_binary(), "order", "--port", "pizza", "3"});
  EXPECT_EQ(bad_number.exit_status, 2) << bad_number.err;
}

TEST(PizzeriaCommand, ARuntimeFailureExitsWithOne) {
  const auto result = run_program({pizzeria_binary(), "serve", "--port", "0", "--model", "nope"});
  EXPECT_EQ(result.exit_status, 1);
  EXPECT_EQ(result.err.rfind("pizzeria: unknown server model 'nope'", 0), 0u) << result.err;
}

TEST(PizzeriaCommand, HelpWritesTheExitStatusScheme) {
  const auto result = run_program({pizzeria_binary(), "--help"});
  EXPECT_EQ(result.exit_status, 0);
  EXPECT_NE(result.out.find("Exit status: 0 done; 1 a runtime failure (the message says what "
                            "failed); 2 a usage error"),
            std::string::npos)
      << result.out;
}

TEST(PizzeriaCommand, ANegativeTimeoutIsRefusedNamingTheBoundNotThe309DigitLimit) {
  for (const char* option : {"--idle-timeout", "--shutdown-timeout"}) {
    const auto result = run_program({pizzeria_binary(), "serve", option, "-1"});
    EXPECT_EQ(result.exit_status, 2);
    EXPECT_EQ(result.err,
              std::string(option) + ": '-1' is below the limit of 0 seconds\n" + usage_hint);
  }
}

}  // namespace
