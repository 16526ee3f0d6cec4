// `pizzeria load` whose report cannot be written: the run's result is lost,
// so the exit status must say so (4), with the reason, not 0.
#include <gtest/gtest.h>

#include <string>

#include "programs/program_runner.hpp"
#include "support/scripted_server.hpp"

namespace {

using pz::test::ScriptedConnection;
using pz::test::ScriptedServer;

TEST(LoadCommandOutput, ExitsWithFourWhenTheReportCannotBeWrittenToStandardOutput) {
  ScriptedServer server([](ScriptedConnection& c) {
    for (std::string line = c.read_line(); !line.empty(); line = c.read_line()) {
      c.send("Thank you for ordering 3 pizzas!\n");
    }
  });
  // /dev/full takes nothing: every write fails with ENOSPC.
  const auto result =
      pz::test::run_program({"sh", "-c", "exec \"$0\" load \"127.0.0.1:$1\" -c 1 -n 3 > /dev/full",
                             pz::test::pizzeria_binary(), server.port_text()});
  EXPECT_EQ(result.exit_status, 4) << result.err;
  EXPECT_EQ(result.err,
            "pizzeria load: writing the report to standard output failed: No space left on "
            "device\n");
}

}  // namespace
