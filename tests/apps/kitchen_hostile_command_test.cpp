// `pizzeria serve --kitchen` and `pizzeria kitchen` pointed at a fake Redis
// (test::FakeRedis) that misbehaves in exact, scripted ways.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/fake_redis.hpp"
#include "support/pizzeria_binary.hpp"
#include "support/round_trip.hpp"

namespace pz::app {
namespace {

using test::round_trip;

TEST(ServeWithABadKitchen, NeverThanksForAnOrderTheKitchenDidNotConfirm) {
  // The first XADD is answered twice (an id, then another id nobody asked
  // for); every later XADD, on any connection, is refused. The extra id
  // used to answer the next order's XADD: "Thank you" for an order that
  // the kitchen refused.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    bool first = peer.number() == 1;
    while (!peer.read_command().empty()) {
      if (!peer.send(first ? "$3\r\n1-0\r\n$3\r\n2-0\r\n" : "-ERR refused\r\n")) {
        return;
      }
      first = false;
    }
  });
  test::ChildProcess server({test::pizzeria_binary(), "serve", "--port", "0", "--workers", "1",
                             "--kitchen", "127.0.0.1:" + std::to_string(fake.port())});
  const std::string line = server.read_line();
  const auto colon = line.rfind(':');
  ASSERT_EQ(line.rfind("Starting up at: ", 0), 0U) << line;
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
  EXPECT_EQ(round_trip(port, "3\n"), "Thank you for ordering 3 pizzas!\n");
  EXPECT_EQ(round_trip(port, "4\n"), "Sorry, the kitchen is closed, please try again later\n");
  server.signal(SIGINT);
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(ServeWithABadKitchen, TellsTheCustomerTheOrderMayHaveGoneThroughWhenNothingAnswers) {
  // A kitchen that takes the order and then never answers, not even the
  // lookup of its token (5 s, then 5 s more). "Closed" would be a guess:
  // a paused Redis runs what it read once it resumes.
  test::FakeRedis fake([](test::FakeRedis::Peer& peer) {
    while (!peer.read_command().empty()) {
    }
  });
  test::ChildProcess server({test::pizzeria_binary(), "serve", "--port", "0", "--workers", "1",
                             "--kitchen", "127.0.0.1:" + std::to_string(fake.port())});
  const std::string line = server.read_line();
  const auto colon = line.rfind(':');
  ASSERT_EQ(line.rfind("Starting up at: ", 0), 0U) << line;
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
  EXPECT_EQ(round_trip(port, "3\n"),
            "Sorry, the kitchen did not answer in time: your order may have gone through\n");
  server.signal(SIGINT);
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(KitchenCommandArguments, RefusesABakeTimeOrReclaimTimeItCannotRepresent) {
  // Seconds far beyond a day were converted to milliseconds with an
  // overflow (undefined behaviour; UBSan stopped the program).
  for (const char* option : {"--bake-time", "--reclaim-after"}) {
    test::ChildProcess kitchen(
        {test::pizzeria_binary(), "kitchen", "--redis", "127.0.0.1:1", option, "1e300"},
        test::ChildProcess::Output::stdout_and_stderr);
    std::string output;
    for (std::string line = kitchen.read_line(); !line.empty(); line = kitchen.read_line()) {
      output += line + "\n";
    }
    EXPECT_NE(output.find(option), std::string::npos) << output;
    EXPECT_EQ(output.find("cannot reach Redis"), std::string::npos) << output;
    const int status = kitchen.wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  }
}

TEST(KitchenCommandArguments, RefusesADurationFinerThanAMillisecondInsteadOfRoundingIt) {
  // 0.0005 s per pizza used to become 0 ms, silently; 1.0015 s became 1 s.
  for (const char* option : {"--bake-time", "--reclaim-after", "--forget-cooks-after"}) {
    test::ChildProcess kitchen(
        {test::pizzeria_binary(), "kitchen", "--redis", "127.0.0.1:1", option, "1.0005"},
        test::ChildProcess::Output::stdout_and_stderr);
    std::string output;
    for (std::string line = kitchen.read_line(); !line.empty(); line = kitchen.read_line()) {
      output += line + "\n";
    }
    EXPECT_NE(output.find("takes whole milliseconds"), std::string::npos) << output;
    EXPECT_NE(output.find(option), std::string::npos) << output;
    const int status = kitchen.wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  }
}

}  // namespace
}  // namespace pz::app
