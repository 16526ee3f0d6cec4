// `pizzeria sort-client`, single request and load mode, against servers that
// misbehave (tests/support/scripted_server.hpp). The client runs under
// timeout(1), so a client that would wait for ever fails its test (exit 124)
// instead of hanging it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "pizzeria/programs/json_number_sort.hpp"
#include "program_runner.hpp"
#include "support/client_against.hpp"
#include "support/scripted_server.hpp"

namespace pz::programs {
namespace {

using test::ScriptedConnection;
using test::ScriptedServer;

// The request's JSON body ("" if the client went away first).
std::string read_frame(ScriptedConnection& c) {
  const std::string header = c.read_exactly(8);
  if (header.size() < 8) {
    return {};
  }
  std::uint64_t length = 0;
  for (const char byte : header) {
    length = (length << 8) | static_cast<unsigned char>(byte);
  }
  return c.read_exactly(static_cast<std::size_t>(length));
}

test::ProgramResult sort_client(const ScriptedServer& server,
                                const std::vector<std::string>& extra) {
  return test::run_client_against(server, "sort-client", extra);
}

TEST(SortClientCommand, FailsNamingTheServerWhenTheReplyIsNotTheListSorted) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.send(read_frame(c));  // the right length, in the order sent: not sorted
  });
  const auto result = sort_client(server, {"--count", "50"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_NE(result.out.find("Received data\n["), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("sort-client: the reply from " + server.address_text() +
                            " is not the list sent, sorted: they differ from byte "),
            std::string::npos)
      << result.err;
}

TEST(SortClientCommand, GivesUpOnASilentServerAfterTheTimeout) {
  ScriptedServer server([](ScriptedConnection& c) {
    read_frame(c);
    c.hold();
  });
  const auto result = sort_client(server, {"--count", "10", "--timeout", "0.2"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err, "sort-client: waiting for the sorted list from " + server.address_text() +
                            ": nothing within 0.2 s (--timeout)\n");
}

TEST(SortClientCommand, SaysHowMuchOfTheReplyCameBeforeTheServerClosed) {
  ScriptedServer server([](ScriptedConnection& c) {
    const std::string sorted = sort_json_numbers(read_frame(c));
    c.send(sorted.substr(0, 10));
  });
  const auto result = sort_client(server, {"--count", "10"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_NE(
      result.err.find("sort-client: waiting for the sorted list from " + server.address_text() +
                      ": the server closed the connection after 10 of "),
      std::string::npos)
      << result.err;
}

// sort-server sheds load by closing connections at once (--max-connections):
// a reset is one failed request, not the end of the run and of its count.
TEST(SortClientCommand, LoadModeCountsResetRequestsAndGoesOn) {
  std::atomic<int> connections{0};
  ScriptedServer server([&connections](ScriptedConnection& c) {
    const std::string body = read_frame(c);
    if (++connections % 2 == 0) {
      c.reset();
      return;
    }
    c.send(sort_json_numbers(body));
  });
  const auto result =
      sort_client(server, {"--count", "20", "--connections", "1", "--duration", "0.3"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_GE(std::atoi(result.out.c_str()), 1) << result.out;
  EXPECT_NE(result.err.find(" requests failed; the last: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Connection reset by peer"), std::string::npos) << result.err;
}

// Requests started before --duration ran out and never answered end at
// --timeout, each counted as failed; the run does not wait for ever.
TEST(SortClientCommand, LoadModeEndsAtTheTimeoutWhenTheServerNeverAnswers) {
  ScriptedServer server([](ScriptedConnection& c) {
    read_frame(c);
    c.hold();
  });
  const auto result = sort_client(
      server, {"--count", "10", "--connections", "2", "--duration", "0.05", "--timeout", "0.2"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "0\n");
  EXPECT_EQ(result.err, "sort-client: 2 requests failed; the last: no reply from " +
                            server.address_text() + " within 0.2 s (--timeout)\n");
}

TEST(SortClientCommand, GivesUpOnAConnectThatGetsNoAnswerWithinTheTimeout) {
  const test::FullBacklogListener hole;
  const auto result = test::run_program({"timeout", "60", test::pizzeria_binary(), "sort-client",
                                         "--port", hole.port_text(), "--timeout", "0.2"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err, "sort-client: connecting to 127.0.0.1:" + hole.port_text() +
                            ": nothing within 0.2 s (--timeout)\n");
}

TEST(SortClientCommand, LoadModeGivesUpWhenNoConnectEverGetsAnAnswer) {
  const test::FullBacklogListener hole;
  const auto result = test::run_program({"timeout", "60", test::pizzeria_binary(), "sort-client",
                                         "--port", hole.port_text(), "--timeout", "0.2",
                                         "--connections", "2", "--duration", "30"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "0\n");
  EXPECT_EQ(result.err, "sort-client: gave up: connect to 127.0.0.1:" + hole.port_text() +
                            ": no answer within 0.2 s (--timeout)\n");
}

TEST(SortClientCommand, FailsWhenTheSortedListCannotBeWrittenToStandardOutput) {
  ScriptedServer server([](ScriptedConnection& c) { c.send(sort_json_numbers(read_frame(c))); });
  // /dev/full takes nothing: every write fails with ENOSPC.
  const auto result =
      test::run_program({"sh", "-c", "exec \"$0\" sort-client --port \"$1\" --count 10 > /dev/full",
                         test::pizzeria_binary(), server.port_text()});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err,
            "sort-client: writing the sorted list to standard output failed: No space left on "
            "device\n");
}

TEST(SortClientCommand, LoadModeRefusesMoreConnectionsThanTheOpenFileLimitAllows) {
  // dash's ulimit sets the soft and the hard limit: it cannot be raised.
  const auto result = test::run_program(
      {"sh", "-c", "ulimit -n 64 && exec \"$0\" sort-client --port 1 --connections 100",
       test::pizzeria_binary()});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err,
            "sort-client: --connections 100 needs about 116 open files but the limit is 64 "
            "(raise the hard limit: ulimit -Hn)\n");
}

TEST(SortClientCommand, RefusesADurationTooLongToCount) {
  // Seconds beyond ~9.2e9 overflow the nanosecond clock (UB, and UBSan's
  // report): refused up front.
  const auto result = test::run_program({test::pizzeria_binary(), "sort-client", "--port", "1",
                                         "--connections", "1", "--duration", "1e300"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE((result.out + result.err)
                .find("--duration: '1e300' is above the limit of 1000000000 seconds"),
            std::string::npos)
      << result.out << result.err;
}

}  // namespace
}  // namespace pz::programs
