// `pizzeria echo-server` and `pizzeria echo-client`, as real processes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <string>

#include "programs/program_runner.hpp"
#include "support/child_process.hpp"

namespace {

TEST(EchoCommand, ServerEchoesEveryByteToTheClientAndStopsOnSigint) {
  pz::test::ChildProcess server({pz::test::pizzeria_binary(), "echo-server", "--port", "0"});
  const std::string listening = server.read_line();
  const std::string prefix = "listening on 127.0.0.1:";
  ASSERT_TRUE(listening.starts_with(prefix)) << listening;
  const std::string port = listening.substr(prefix.size());

  const auto client =
      pz::test::run_program({pz::test::pizzeria_binary(), "echo-client", "--port", port,
                             "--clients", "50", "--lines", "100", "--line-size", "40"});
  EXPECT_EQ(client.exit_status, 0) << client.out << client.err;
  EXPECT_NE(client.out.find("50 clients x 100 lines: every byte echoed"), std::string::npos)
      << client.out;

  server.signal(SIGINT);
  EXPECT_EQ(server.read_line(), "Server stopped.");
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(EchoCommand, ClientReportsAServerThatIsNotThere) {
  const auto client = pz::test::run_program(
      {pz::test::pizzeria_binary(), "echo-client", "--port", "1", "--clients", "1"});
  EXPECT_NE(client.exit_status, 0);
  EXPECT_NE(client.err.find("connect"), std::string::npos) << client.err;
}

}  // namespace
