// `pizzeria order` against servers that misbehave (tests/support/scripted_server.hpp):
// every case ends with a message naming the server and what went wrong, an
// exit status of 1, and the replies that did arrive printed. The client runs
// under timeout(1) so that a client that would wait for ever fails its test
// (exit 124) instead of hanging it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "programs/program_runner.hpp"
#include "support/client_against.hpp"
#include "support/scripted_server.hpp"

namespace {

using pz::test::ScriptedConnection;
using pz::test::ScriptedServer;

pz::test::ProgramResult order(const ScriptedServer& server, const std::vector<std::string>& extra) {
  return pz::test::run_client_against(server, "order", extra);
}

TEST(OrderCommand, GivesUpOnAServerSilentForTheTimeoutAndKeepsTheRepliesItGot) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send("Thank you for ordering 3 pizzas!\n");
    c.hold();  // the second reply never comes, and the connection stays open
  });
  const auto result = order(server, {"--timeout", "0.2", "3", "4"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "Thank you for ordering 3 pizzas!\n");
  EXPECT_EQ(result.err, "pizzeria order: no reply from " + server.address_text() +
                            " for 200 ms (--timeout) after 1 of 2 replies\n");
}

TEST(OrderCommand, StopsAtALineTooLongToBeAReplyInsteadOfBufferingItAll) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send(std::string(1 << 20, 'x'));  // a megabyte, no newline, and more to come
    c.hold();
  });
  const auto result = order(server, {"3"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "pizzeria order: " + server.address_text() +
                            " sent 4096 bytes without a newline after 0 of 1 replies: not a "
                            "pizza reply\n");
}

TEST(OrderCommand, PrintsOnlyTheRepliesItOwedWhenTheServerSendsMore) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.read_line();  // both orders read: the close is a FIN, not a reset
    c.send("one\ntwo\nthree\n");
  });
  const auto result = order(server, {"3", "4"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "one\ntwo\n");
  EXPECT_EQ(result.err, "pizzeria order: " + server.address_text() +
                            " sent more than the 2 replies it owed; the rest is not printed\n");
}

TEST(OrderCommand, NamesTheServerThatResetTheConnectionAfterPrintingTheRepliesBefore) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send("Thank you for ordering 3 pizzas!\nThank you for ord");
    c.reset();
  });
  const auto result = order(server, {"3", "4"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "Thank you for ordering 3 pizzas!\n");
  EXPECT_EQ(result.err, "pizzeria order: reading the replies from " + server.address_text() +
                            " failed after 1 of 2 replies: Connection reset by peer\n");
}

TEST(OrderCommand, CountsTheUnfinishedReplyOfAServerThatClosedInItsMiddle) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send("Thank you for ordering 3 pizzas!\nThank you");
    c.shutdown_write();
    c.hold();
  });
  const auto result = order(server, {"3", "4"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "Thank you for ordering 3 pizzas!\n");
  EXPECT_EQ(result.err, "pizzeria order: " + server.address_text() +
                            " closed the connection after 1 of 2 replies and 9 bytes of the "
                            "next\n");
}

TEST(OrderCommand, SucceedsOnceEveryReplyIsInEvenIfTheServerKeepsTheConnectionOpen) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.read_line();
    c.send("Thank you for ordering 3 pizzas!\nThank you for ordering 4 pizzas!\n");
    c.hold();
  });
  const auto result = order(server, {"--timeout", "0.2", "3", "4"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "Thank you for ordering 3 pizzas!\nThank you for ordering 4 pizzas!\n");
  EXPECT_EQ(result.err, "");
}

TEST(OrderCommand, FailsWhenTheRepliesCannotBeWrittenToStandardOutput) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send("Thank you for ordering 3 pizzas!\n");
  });
  // /dev/full takes nothing: every write fails with ENOSPC.
  const auto result =
      pz::test::run_program({"sh", "-c", "exec \"$0\" order --port \"$1\" 3 > /dev/full",
                             pz::test::pizzeria_binary(), server.port_text()});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err,
            "pizzeria order: writing the replies to standard output failed: No space left on "
            "device\n");
}

// The server's busy reply is its whole answer, however many orders were sent:
// printed, exit status 1, and no second message about the close that follows.
TEST(OrderCommand, PrintsTheBusyReplyAloneWhenTheServerClosesAfterIt) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.read_line();  // both orders read: the close is a FIN, not a reset
    c.send("Server busy, please try again later\n");
  });
  const auto result = order(server, {"3", "4"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "Server busy, please try again later\n");
  EXPECT_EQ(result.err, "");
}

// pizzeria serve at its --max-connections closes without reading the orders
// that have arrived, so the kernel ends the connection with a reset after the
// busy reply. (The script waits for an order first: a reset before the
// client has seen its connect complete would fail the connect instead.)
TEST(OrderCommand, PrintsTheBusyReplyAloneWhenTheServerResetsAfterIt) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send("Server busy, please try again later\n");
    c.reset();
  });
  const auto result = order(server, {"3", "4"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.out, "Server busy, please try again later\n");
  EXPECT_EQ(result.err, "");
}

// A connect the kernel would retry for about two minutes.
TEST(OrderCommand, GivesUpOnAConnectThatGetsNoAnswerWithinTheTimeout) {
  const pz::test::FullBacklogListener hole;
  const auto result = pz::test::run_program({"timeout", "60", pz::test::pizzeria_binary(), "order",
                                             "--port", hole.port_text(), "--timeout", "0.2", "3"});
  EXPECT_EQ(result.exit_status, 1) << result.err;
  EXPECT_EQ(result.err, "pizzeria: connect 127.0.0.1:" + hole.port_text() +
                            ": no answer within 200 ms (--timeout)\n");
}

TEST(OrderCommand, ResolvesAHostNameAsLoadAndKitchenDo) {
  ScriptedServer server([](ScriptedConnection& c) {
    c.read_line();
    c.send("Thank you for ordering 3 pizzas!\n");
  });
  const auto result = order(server, {"--host", "localhost", "3"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "Thank you for ordering 3 pizzas!\n");
}

}  // namespace
