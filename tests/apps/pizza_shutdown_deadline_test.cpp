// `pizzeria serve` with --idle-timeout 0 stopped by SIGINT while a client
// never reads its replies: every model must end at its shutdown deadline.
// The pool model's workers waited for such a client in a poll(2) that only
// the client could end (or the idle timeout, here never), so the server
// outlived its deadline for as long as the client stayed.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/pizza/protocol.hpp"
#include "pizzeria/pizza/server_model.hpp"
#include "support/child_process.hpp"
#include "support/model_unavailable.hpp"

namespace pz::pizza {
namespace {

std::vector<std::string> serve_command(const std::string& model) {
  const char* binary = std::getenv("PZ_PIZZERIA_BIN");
  if (binary == nullptr) {
    throw std::runtime_error("PZ_PIZZERIA_BIN is not set (CTest sets it)");
  }
  return {binary,
          "serve",
          "--port",
          "0",
          "--model",
          model,
          "--workers",
          find_server_model(model)->reads_workers() ? "2" : "1",
          "--idle-timeout",
          "0",
          "--shutdown-timeout",
          "0.2"};
}

// Sends orders without reading until the server stops reading them: the
// socket stays unwritable for a while (the server's turn is then waiting
// for us to take its replies). How long "a while" is only decides whether
// the server was already waiting when the signal came; the test's outcome
// must not depend on it.
void pipeline_until_the_server_stops_reading(int fd) {
  const std::string orders(64 * 1024, '\n');
  for (int round = 0; round < 1000; ++round) {
    while (::send(fd, orders.data(), orders.size(), MSG_NOSIGNAL | MSG_DONTWAIT) > 0) {
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::runtime_error("the test client's send failed");
    }
    pollfd writable{fd, POLLOUT, 0};
    if (::poll(&writable, 1, 200) == 0) {
      return;
    }
  }
}

class PizzaShutdownDeadline : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (const auto why = test::model_unavailable(GetParam())) {
      GTEST_SKIP() << *why;
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

INSTANTIATE_TEST_SUITE_P(EveryModel, PizzaShutdownDeadline, ::testing::ValuesIn(all_model_names()),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(PizzaShutdownDeadline, ReachedWhileAClientNeverReadsAndIdleTimeoutIsOff) {
  test::ChildProcess process(serve_command(GetParam()));
  const std::string starting = process.read_line();
  const std::string prefix = "Starting up at: 127.0.0.1:";
  ASSERT_TRUE(starting.starts_with(prefix)) << starting;
  ASSERT_EQ(process.read_line(), "Server listening for incoming connections");
  const auto port = static_cast<std::uint16_t>(std::stoi(starting.substr(prefix.size())));
  UniqueFd client = connect_tcp(SocketAddress::parse("127.0.0.1", port));
  pipeline_until_the_server_stops_reading(client.get());

  process.signal(SIGINT);
  // read_line gives up after 30 s: the deadline is 0.2 s, the idle timeout
  // never, so only the deadline can end the connection and the server. (On
  // failure the ChildProcess kills the server that is still running.)
  ASSERT_EQ(process.read_line(), "Server stopped.");
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Sends one endless line (no newline ever) until the server closes the
// connection or `stop` is set; a safety bound of 120 s keeps a broken
// server from hanging the test.
void send_an_endless_line(int fd, const std::atomic<bool>& stop) {
  const std::string bytes(16 * 1024, 'x');
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!stop.load() && std::chrono::steady_clock::now() < give_up) {
    pollfd writable{fd, POLLOUT, 0};
    if (::poll(&writable, 1, 100) == 1 &&
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
        errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return;  // the server closed the connection
    }
  }
}

// Four clients that keep sending one endless line during shutdown: the
// drain for shutdown reads "what the kernel holds", which such a client
// refills for ever, so it must look at the deadline too.
TEST_P(PizzaShutdownDeadline, ReachedWhileClientsSendAnEndlessLineDuringShutdown) {
  std::vector<std::string> command = serve_command(GetParam());
  test::ChildProcess process(command);
  const std::string starting = process.read_line();
  const std::string prefix = "Starting up at: 127.0.0.1:";
  ASSERT_TRUE(starting.starts_with(prefix)) << starting;
  ASSERT_EQ(process.read_line(), "Server listening for incoming connections");
  const auto port = static_cast<std::uint16_t>(std::stoi(starting.substr(prefix.size())));
  std::vector<UniqueFd> clients;
  std::atomic<bool> stop{false};
  std::vector<std::thread> senders;
  // Each client is served before it turns hostile: an order answered
  // shows the server holds the connection (not its backlog).
  const std::string reply = reply_for(Order{2});
  for (int i = 0; i < 4; ++i) {
    clients.push_back(connect_tcp(SocketAddress::parse("127.0.0.1", port)));
    ASSERT_EQ(::send(clients.back().get(), "2\n", 2, MSG_NOSIGNAL), 2);
    std::string got(reply.size(), '\0');
    ASSERT_EQ(::recv(clients.back().get(), got.data(), got.size(), MSG_WAITALL),
              static_cast<ssize_t>(got.size()));
    ASSERT_EQ(got, reply);
  }
  for (const UniqueFd& client : clients) {
    senders.emplace_back([fd = client.get(), &stop] { send_an_endless_line(fd, stop); });
  }
  process.signal(SIGTERM);
  // The deadline is 0.2 s; only it can end these connections.
  const std::string last = process.read_line();
  stop.store(true);
  for (std::thread& sender : senders) {
    sender.join();
  }
  ASSERT_EQ(last, "Server stopped.");
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pz::pizza
