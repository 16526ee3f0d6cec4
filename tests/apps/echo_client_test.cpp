// `pizzeria echo-client` against servers that misbehave
// (tests/support/scripted_server.hpp): a failing client says why, naming the
// server, and the others run to their end and are counted. The client runs
// under timeout(1), so one that would wait for ever fails its test (exit
// 124) instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "programs/program_runner.hpp"
#include "support/client_against.hpp"
#include "support/scripted_server.hpp"

namespace {

using pz::test::ScriptedConnection;
using pz::test::ScriptedServer;

pz::test::ProgramResult echo_client(const ScriptedServer& server,
                                    const std::vector<std::string>& extra) {
  return pz::test::run_client_against(server, "echo-client", extra);
}

// Echoes line by line until the client ends its stream.
void echo_lines(ScriptedConnection& c) {
  for (std::string line = c.read_line(); !line.empty(); line = c.read_line()) {
    c.send(line);
  }
}

TEST(EchoClientCommand, ReportsTheClientWhoseConnectionWasResetAndRunsTheOthersToTheEnd) {
  std::atomic<int> connections{0};
  ScriptedServer server([&connections](ScriptedConnection& c) {
    if (++connections == 1) {
      c.read_line();
      c.reset();
      return;
    }
    echo_lines(c);
  });
  const auto result = echo_client(server, {"--clients", "3", "--lines", "5"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "1 of 3 clients failed (stderr says why)\n");
  EXPECT_NE(result.err.find("the echo of line 0 from " + server.address_text() + ": "),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("Connection reset by peer\n"), std::string::npos) << result.err;
  EXPECT_EQ(server.accepted(), 3);
}

TEST(EchoClientCommand, GivesUpOnAServerThatNeverClosesAfterTheLastEcho) {
  ScriptedServer server([](ScriptedConnection& c) {
    echo_lines(c);
    c.hold();  // the client's end of stream is never answered by ours
  });
  const auto result = echo_client(server, {"--clients", "1", "--lines", "2", "--timeout", "0.2"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "1 of 1 clients failed (stderr says why)\n");
  EXPECT_EQ(result.err, "echo-client: client 0: the end of stream from " + server.address_text() +
                            ": nothing for 0.2 s (--timeout)\n");
}

TEST(EchoClientCommand, StopsReadingAnEchoLongerThanTheLineItSent) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send(std::string(1 << 20, 'z'));  // a megabyte without a newline
    c.hold();
  });
  const auto result = echo_client(server, {"--clients", "1", "--lines", "1"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "1 of 1 clients failed (stderr says why)\n");
  EXPECT_EQ(result.err, "echo-client: client 0: the echo of line 0 from " + server.address_text() +
                            ": no end of line within 33 bytes, longer than the line sent\n");
}

TEST(EchoClientCommand, FailsWhenTheSummaryCannotBeWrittenToStandardOutput) {
  ScriptedServer server(echo_lines);
  // /dev/full takes nothing: every write fails with ENOSPC.
  const auto result = pz::test::run_program(
      {"sh", "-c", "exec \"$0\" echo-client --port \"$1\" --clients 2 --lines 3 > /dev/full",
       pz::test::pizzeria_binary(), server.port_text()});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err,
            "echo-client: writing the summary to standard output failed: No space left on "
            "device\n");
}

TEST(EchoClientCommand, RefusesMoreClientsThanTheOpenFileLimitAllows) {
  // dash's ulimit sets the soft and the hard limit: it cannot be raised.
  const auto result = pz::test::run_program(
      {"sh", "-c", "ulimit -n 64 && exec \"$0\" echo-client --port 1 --clients 100",
       pz::test::pizzeria_binary()});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "echo-client: --clients 100 needs about 116 open files but the limit is 64 (raise "
            "the hard limit: ulimit -Hn)\n");
}

}  // namespace
