// ServerContext's accept pause, honoured by every model: the real `pizzeria
// serve` (PZ_PIZZERIA_BIN) runs under a seccomp filter that makes accept4
// fail with ENOMEM, as when the kernel is short of memory for new sockets,
// and a client waits in the backlog. The server must log pauses that double
// (the old code logged nothing and spun), make one accept call per pause
// (the filter counts them), and a signal must still stop it cleanly,
// mid-pause.
#include "pizzeria/pizza/server_context.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/pizza/server_model.hpp"
#include "support/child_process.hpp"

namespace pz::pizza {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;

std::string pizzeria_binary() {
  const char* binary = std::getenv("PZ_PIZZERIA_BIN");
  if (binary == nullptr) {
    throw std::runtime_error("PZ_PIZZERIA_BIN is not set (CTest sets it)");
  }
  return binary;
}

// The pause's length in ms if `line` announces an accept pause for ENOMEM on
// `address`, else -1.
long pause_ms(const std::string& line, const std::string& address) {
  const std::string head = "accept on " + address + " failed: ";
  const std::string tail = " (ENOMEM), the kernel is short of memory; pausing accepts for ";
  const auto at = line.find(tail);
  if (!line.starts_with(head) || at == std::string::npos || !line.ends_with(" ms")) {
    return -1;
  }
  return std::stol(line.substr(at + tail.size()));
}

class AcceptPause : public ::testing::TestWithParam<std::tuple<std::string, int>> {
 protected:
  void SetUp() override {
    const ServerModel* model = find_server_model(std::get<0>(GetParam()));
    ASSERT_NE(model, nullptr);
    if (model->check_available != nullptr) {
      try {
        model->check_available();
      } catch (const std::exception& error) {
        GTEST_SKIP() << error.what();
      }
    }
  }
};

std::vector<std::string> all_model_names() {
  std::vector<std::string> names;
  for (const ServerModel& model : server_models()) {
    names.emplace_back(model.name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryModel, AcceptPause,
                         ::testing::Combine(::testing::ValuesIn(all_model_names()),
                                            ::testing::Values(SIGINT, SIGTERM)),
                         [](const auto& param_info) {
                           return std::get<0>(param_info.param) +
                                  (std::get<1>(param_info.param) == SIGINT ? "_SIGINT"
                                                                           : "_SIGTERM");
                         });

TEST_P(AcceptPause, PausesLongerAfterEachFailedAcceptAndStillStopsOnASignal) {
  const auto& [model, signal] = GetParam();
  ChildProcess server(
      {pizzeria_binary(), "serve", "--port", "0", "--model", model, "--workers", "2"},
      ChildProcess::Output::stdout_and_stderr, ChildProcess::IoUring::allowed,
      ChildProcess::FailingAccept{ENOMEM});
  const std::string starting = server.read_line();
  const std::string prefix = "Starting up at: ";
  ASSERT_TRUE(starting.starts_with(prefix)) << starting;
  const std::string address = starting.substr(prefix.size());
  ASSERT_EQ(server.read_line(), "Server listening for incoming connections");

  // The handshake completes in the backlog; accepting it fails.
  const auto port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  const UniqueFd client = connect_tcp(SocketAddress::parse("127.0.0.1", port));

  // A failure inside a pause starts none, so each line is a pause that ran
  // out. The timeout only keeps a server that never pauses from hanging the
  // test.
  std::vector<long> pauses;
  for (int i = 0; i < 4; ++i) {
    const std::string line = server.read_line(10s);
    const long ms = pause_ms(line, address);
    ASSERT_GE(ms, 0) << "expected accept pause number " << i + 1 << ", got: '" << line << "'";
    pauses.push_back(ms);
  }
  const long first = ServerContext::kFirstAcceptPause.count();
  EXPECT_EQ(pauses, (std::vector<long>{first, 2 * first, 4 * first, 8 * first}));

  // Stopping works mid-pause (a pause may still be logged on the way out).
  server.signal(signal);
  std::string line = server.read_line(10s);
  while (pause_ms(line, address) >= 0) {
    pauses.push_back(pause_ms(line, address));
    line = server.read_line(10s);
  }
  EXPECT_EQ(line, "Server stopped.");
  EXPECT_EQ(server.read_line(), "");
  const int status = server.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);

  // The proof that it waited: a failure inside a pause starts none, so a
  // model that retried at once would have made many more accept calls (a
  // spinning one, thousands) than it logged pauses.
  EXPECT_EQ(server.failed_accepts(), pauses.size());
}

}  // namespace
}  // namespace pz::pizza
