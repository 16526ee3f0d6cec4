// ServerContext's accept pause, honoured by every model: the real `pizzeria
// serve` (PZ_PIZZERIA_BIN) runs under a seccomp filter that makes accept4
// fail with ENOMEM or ENOBUFS, as when the kernel is short of memory for new
// sockets, while a client waits in the backlog. The server must log pauses
// that double (the old code logged nothing and spun), make one accept call
// per pause (the filter counts them), serve the client once an accept
// succeeds and start the backoff over, and still stop cleanly on a signal,
// mid-pause.
#include "pizzeria/pizza/server_context.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/pizza/server_model.hpp"
#include "support/child_process.hpp"
#include "support/model_unavailable.hpp"
#include "support/pizzeria_binary.hpp"

namespace pz::pizza {
namespace {

using namespace std::chrono_literals;
using test::ChildProcess;

using test::pizzeria_binary;

// The pause's length in ms if `line` announces an accept pause for
// `error_name` on `address`, else -1.
long pause_ms(const std::string& line, const std::string& address, const std::string& error_name) {
  const std::string head = "accept on " + address + " failed: ";
  const std::string tail =
      " (" + error_name + "), the kernel is short of memory; pausing accepts for ";
  const auto at = line.find(tail);
  if (!line.starts_with(head) || at == std::string::npos || !line.ends_with(" ms")) {
    return -1;
  }
  return std::stol(line.substr(at + tail.size()));
}

// A blocking client; the receive timeout is a safety net only (a broken
// server fails the test instead of hanging it).
UniqueFd connect_client(std::uint16_t port) {
  UniqueFd fd = connect_tcp(SocketAddress::parse("127.0.0.1", port));
  timeval timeout{20, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

std::string read_exactly(int fd, std::size_t size) {
  std::string data(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    const ssize_t received = ::recv(fd, data.data() + got, size - got, 0);
    if (received < 0 && errno == EINTR) {
      continue;
    }
    if (received <= 0) {
      break;
    }
    got += static_cast<std::size_t>(received);
  }
  data.resize(got);
  return data;
}

std::string error_name(int error) {
  return error == ENOMEM ? "ENOMEM" : "ENOBUFS";
}

// `pizzeria serve ARGUMENTS` under the accept failer, started (its start-up
// lines read), with the accept pauses it logs for `error` collected.
class PausingServer {
 public:
  PausingServer(std::vector<std::string> arguments, ChildProcess::FailingAccept failing)
      : error_(error_name(failing.error)),
        process_(with_binary(std::move(arguments)), ChildProcess::Output::stdout_and_stderr,
                 ChildProcess::IoUring::allowed, failing) {
    const std::string starting = process_.read_line();
    const std::string prefix = "Starting up at: ";
    if (!starting.starts_with(prefix)) {
      throw std::runtime_error("expected the start-up line, got: '" + starting + "'");
    }
    address_ = starting.substr(prefix.size());
    const std::string listening = process_.read_line();
    if (listening != "Server listening for incoming connections") {
      throw std::runtime_error("expected the listening line, got: '" + listening + "'");
    }
    port_ = static_cast<std::uint16_t>(std::stoi(address_.substr(address_.rfind(':') + 1)));
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::vector<long>& pauses() const noexcept { return pauses_; }
  ChildProcess& process() noexcept { return process_; }

  // The next `count` lines must each announce a pause; false, with the
  // failure recorded, at the first that does not. The timeout only keeps a
  // server that never pauses from hanging the test.
  [[nodiscard]] bool read_pauses(int count) {
    for (int i = 0; i < count; ++i) {
      const std::string line = process_.read_line(10s);
      const long ms = pause_ms(line, address_, error_);
      if (ms < 0) {
        ADD_FAILURE() << "expected accept pause number " << pauses_.size() + 1 << ", got: '" << line
                      << "'";
        return false;
      }
      pauses_.push_back(ms);
    }
    return true;
  }

  // Sends `signal`, collects the pauses still logged on the way out, and
  // returns the first other line.
  std::string stop(int signal) {
    process_.signal(signal);
    std::string line = process_.read_line(10s);
    while (pause_ms(line, address_, error_) >= 0) {
      pauses_.push_back(pause_ms(line, address_, error_));
      line = process_.read_line(10s);
    }
    return line;
  }

 private:
  static std::vector<std::string> with_binary(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {pizzeria_binary(), "serve"});
    return arguments;
  }

  std::string error_;
  ChildProcess process_;
  std::string address_;
  std::uint16_t port_ = 0;
  std::vector<long> pauses_;
};

struct Case {
  std::string model;
  int error;
  int signal;
};

// For gtest's messages ("GetParam() = reactor, ENOMEM, SIGINT").
void PrintTo(const Case& param, std::ostream* out) {
  *out << param.model << ", " << error_name(param.error) << ", "
       << (param.signal == SIGINT ? "SIGINT" : "SIGTERM");
}

class AcceptPause : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (const auto why = test::model_unavailable(GetParam().model)) {
      GTEST_SKIP() << *why;
    }
  }
};

// Every model, with both errors and both signals (paired, to keep it short).
std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const ServerModel& model : server_models()) {
    cases.push_back({std::string(model.name), ENOMEM, SIGINT});
    cases.push_back({std::string(model.name), ENOBUFS, SIGTERM});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryModel, AcceptPause, ::testing::ValuesIn(all_cases()),
                         [](const auto& param_info) {
                           const Case& param = param_info.param;
                           return param.model + "_" + error_name(param.error) +
                                  (param.signal == SIGINT ? "_SIGINT" : "_SIGTERM");
                         });

TEST_P(AcceptPause, PausesLongerAfterEachFailureStartsOverAfterASuccessAndStopsOnASignal) {
  const Case& param = GetParam();
  // Accept calls 1-4 fail, 5 succeeds (the memory came back for a moment),
  // the rest fail again. One shard: a second shard's listener could see a
  // client during a pause and try once before it looks (by design).
  PausingServer server({"--port", "0", "--model", param.model, "--workers", "1"},
                       ChildProcess::FailingAccept{param.error, 5});
  const long first = ServerContext::kFirstAcceptPause.count();

  // The handshake completes in the backlog; accepting it fails four times.
  // A failure inside a pause starts none, so each line is a failure after
  // the last pause ran out.
  const UniqueFd waiting = connect_client(server.port());
  ASSERT_TRUE(server.read_pauses(4));
  ASSERT_EQ(server.pauses(), (std::vector<long>{first, 2 * first, 4 * first, 8 * first}));
  // The fifth accept takes it, and it is served.
  const std::string order = "7\n";
  ASSERT_EQ(::send(waiting.get(), order.data(), order.size(), MSG_NOSIGNAL), 2);
  const std::string thanks = "Thank you for ordering 7 pizzas!\n";
  EXPECT_EQ(read_exactly(waiting.get(), thanks.size()), thanks);

  // The success started the backoff over: accepting the next client (or
  // draining the backlog after the success) fails from the first pause on.
  const UniqueFd next = connect_client(server.port());
  ASSERT_TRUE(server.read_pauses(2));
  EXPECT_EQ(std::vector<long>(server.pauses().begin() + 4, server.pauses().end()),
            (std::vector<long>{first, 2 * first}));

  // Stopping works mid-pause (a pause may still be logged on the way out).
  EXPECT_EQ(server.stop(param.signal), "Server stopped.");
  EXPECT_EQ(server.process().read_line(), "");
  const int status = server.process().wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);

  // The proof that it waited: a failure inside a pause starts none, so a
  // model that retried at once would have failed many more accept calls (a
  // spinning one, thousands) than it logged pauses.
  EXPECT_EQ(server.process().failed_accepts(), server.pauses().size());
}

// Sharded models: one pause for the whole server. Eight clients land on
// both shards' SO_REUSEPORT listeners (all on one has odds of 1 in 128,
// and then this only checks less), and every accept fails. Pauses kept per
// shard would log 10, 10, 20, 20 ms; shared, they double once per pause,
// and each shard makes at most one accept call per pause.
class ShardedAcceptPause : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (const auto why = test::model_unavailable(GetParam())) {
      GTEST_SKIP() << *why;
    }
  }
};

std::vector<std::string> sharded_models() {
  std::vector<std::string> names;
  for (const ServerModel& model : server_models()) {
    if (model.shards_with_reuseport) {
      names.emplace_back(model.name);
    }
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryShardedModel, ShardedAcceptPause,
                         ::testing::ValuesIn(sharded_models()),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(ShardedAcceptPause, ShardsShareOnePauseThatDoublesOncePerPause) {
  constexpr int kShards = 2;
  PausingServer server({"--port", "0", "--model", GetParam(), "--workers", std::to_string(kShards)},
                       ChildProcess::FailingAccept{ENOMEM, 0});
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(connect_client(server.port()));
  }
  ASSERT_TRUE(server.read_pauses(4));
  const long first = ServerContext::kFirstAcceptPause.count();
  EXPECT_EQ(server.pauses(), (std::vector<long>{first, 2 * first, 4 * first, 8 * first}));

  EXPECT_EQ(server.stop(SIGINT), "Server stopped.");
  const int status = server.process().wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // A shard that finds a client during another's pause tries once, then
  // honours the pause; retrying at once would fail far more often.
  EXPECT_LE(server.process().failed_accepts(), kShards * server.pauses().size());
  EXPECT_GE(server.process().failed_accepts(), server.pauses().size());
}

}  // namespace
}  // namespace pz::pizza
