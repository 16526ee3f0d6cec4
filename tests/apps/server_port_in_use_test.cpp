// Only the shards of one server share a port: a second `pizzeria serve`
// (every model, sharded or not), echo-server or sort-server on a port in use
// fails at start with "Address already in use" and exit status 1, instead
// of joining the first one's SO_REUSEPORT group and taking a share of its
// customers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pizzeria/pizza/server_model.hpp"
#include "programs/program_runner.hpp"
#include "support/child_process.hpp"
#include "support/model_unavailable.hpp"
#include "support/pizzeria_binary.hpp"

namespace pz {
namespace {

using test::pizzeria_binary;

// The port at the end of a start-up line ("... 127.0.0.1:PORT"), or "".
std::string port_at_end(const std::string& line) {
  const auto colon = line.rfind(':');
  return colon == std::string::npos ? "" : line.substr(colon + 1);
}

// Runs `argv` (a second server on `port`, which is in use) to its end: it
// prints nothing on stdout and the bind error on stderr.
void expect_address_in_use(const std::vector<std::string>& argv, const std::string& port) {
  const test::ProgramResult second = test::run_program(argv);
  EXPECT_EQ(second.exit_status, 1) << second.out << second.err;
  EXPECT_EQ(second.out, "");
  EXPECT_EQ(second.err, "pizzeria: bind 127.0.0.1:" + port + ": Address already in use\n");
}

void stop(test::ChildProcess& server) {
  server.signal(SIGINT);
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status)) << status;
}

class ServePortInUse : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (const auto why = test::model_unavailable(GetParam())) {
      GTEST_SKIP() << *why;
    }
  }
};

std::vector<std::string> all_model_names() {
  std::vector<std::string> names;
  for (const pizza::ServerModel& model : pizza::server_models()) {
    names.emplace_back(model.name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryModel, ServePortInUse, ::testing::ValuesIn(all_model_names()),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(ServePortInUse, ASecondServerOnThePortFailsAtStartWhateverTheFirstOneRuns) {
  const pizza::ServerModel& model = *pizza::find_server_model(GetParam());
  const std::string workers = model.reads_workers() ? "2" : "1";
  test::ChildProcess first(
      {pizzeria_binary(), "serve", "--port", "0", "--model", GetParam(), "--workers", workers});
  const std::string port = port_at_end(first.read_line());
  ASSERT_FALSE(port.empty());
  ASSERT_EQ(first.read_line(), "Server listening for incoming connections");
  // The second runs the default model (coro, sharded with SO_REUSEPORT),
  // which is the one that used to join any group.
  expect_address_in_use({pizzeria_binary(), "serve", "--port", port, "--workers", "2"}, port);
  expect_address_in_use(
      {pizzeria_binary(), "serve", "--port", port, "--model", GetParam(), "--workers", workers},
      port);
  stop(first);
}

TEST(EchoServerPortInUse, ASecondEchoServerOnThePortFailsAtStart) {
  test::ChildProcess first({pizzeria_binary(), "echo-server", "--port", "0"});
  const std::string port = port_at_end(first.read_line());
  ASSERT_FALSE(port.empty());
  expect_address_in_use({pizzeria_binary(), "echo-server", "--port", port}, port);
  // Nor may a pizza server join it.
  expect_address_in_use({pizzeria_binary(), "serve", "--port", port}, port);
  stop(first);
}

TEST(SortServerPortInUse, ASecondSortServerOnThePortFailsAtStart) {
  test::ChildProcess first({pizzeria_binary(), "sort-server", "--port", "0", "--workers", "1"},
                           test::ChildProcess::Output::stdout_only);
  const std::string port = port_at_end(first.read_line());
  ASSERT_FALSE(port.empty());
  expect_address_in_use({pizzeria_binary(), "sort-server", "--port", port, "--workers", "1"}, port);
  stop(first);
}

}  // namespace
}  // namespace pz
