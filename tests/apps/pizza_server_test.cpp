// The pizza server, every registered model, over real loopback sockets with
// exact bytes. Servers run in-process on 127.0.0.1:0 and are stopped through
// their ShutdownSignal argument; the last tests run the real `pizzeria serve`
// binary (PZ_PIZZERIA_BIN) and stop it with SIGINT.
#include "pizzeria/pizza/pizza_server.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
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

using namespace std::chrono_literals;

const std::string kWrong(kWrongNumberReply);
const std::string kBusy(kBusyReply);

std::string thanks(int pizzas) {
  return "Thank you for ordering " + std::to_string(pizzas) + " pizzas!\n";
}

// ---- client side --------------------------------------------------------

// Lifts the soft descriptor limit (500 clients and their server ends live in
// this one process) and reports the limit.
rlim_t raise_fd_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

// A blocking client socket. A broken server must fail the test, not hang it
// until CTest's timeout: reads give up after 20 s (a safety net only; no
// test depends on how long anything takes).
UniqueFd connect_client(const SocketAddress& address, bool high_fd = false) {
  UniqueFd fd = connect_tcp(address);
  timeval timeout{20, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  if (high_fd) {
    // Keep the low descriptor numbers for the server's side, so the select
    // model (FD_SETSIZE = 1024) can hold 500 clients of this same process.
    UniqueFd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 2 * FD_SETSIZE));
    if (high) {
      return high;
    }
  }
  return fd;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent < 0) {
      throw std::system_error(errno, std::generic_category(), "test client send");
    }
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

// Everything until the server closes (or resets) the connection.
std::string read_until_eof(int fd) {
  std::string data;
  char buffer[65536];
  while (true) {
    const ssize_t received = ::recv(fd, buffer, sizeof(buffer), 0);
    if (received < 0 && errno == EINTR) {
      continue;
    }
    if (received <= 0) {
      return data;
    }
    data.append(buffer, static_cast<std::size_t>(received));
  }
}

// Exactly `size` bytes, or fewer if the connection ends first.
std::string read_exactly(int fd, std::size_t size) {
  std::string data;
  char buffer[65536];
  while (data.size() < size) {
    const ssize_t received = ::recv(fd, buffer, std::min(sizeof(buffer), size - data.size()), 0);
    if (received < 0 && errno == EINTR) {
      continue;
    }
    if (received <= 0) {
      break;
    }
    data.append(buffer, static_cast<std::size_t>(received));
  }
  return data;
}

// One connection: send `request`, end our side, return every reply.
std::string round_trip(const SocketAddress& address, std::string_view request) {
  UniqueFd client = connect_client(address);
  send_all(client.get(), request);
  ::shutdown(client.get(), SHUT_WR);
  return read_until_eof(client.get());
}

// ---- server side --------------------------------------------------------

// A server on 127.0.0.1:0 running on its own thread until stop().
class RunningServer {
 public:
  // `later`: the listener is open (clients can connect into its backlog),
  // but nothing accepts until start().
  enum class Start { now, later };

  explicit RunningServer(ServerOptions options, Start when = Start::now)
      : options_(std::move(options)) {
    options_.host = "127.0.0.1";
    options_.port = 0;
    listener_ = open_server_listener(options_);
    address_ = SocketAddress::local_of(listener_.get());
    if (when == Start::now) {
      start();
    }
  }

  void start() {
    thread_ = std::thread([this, listener = std::move(listener_)]() mutable {
      try {
        run_server(options_, std::move(listener), shutdown_, log_);
      } catch (...) {
        failure_ = std::current_exception();
      }
    });
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;
  ~RunningServer() {
    if (thread_.joinable()) {
      shutdown_.request();
      thread_.join();
    }
  }

  [[nodiscard]] const SocketAddress& address() const noexcept { return address_; }
  void request_stop() noexcept { shutdown_.request(); }

  // Stops (if not yet asked), waits, rethrows a server failure, and returns
  // everything the server logged.
  std::string stop() {
    shutdown_.request();
    thread_.join();
    if (failure_) {
      std::rethrow_exception(failure_);
    }
    return log_.str();
  }

 private:
  ServerOptions options_;
  UniqueFd listener_;  // until start()
  SocketAddress address_;
  ShutdownSignal shutdown_;
  std::ostringstream log_;  // read only after the server thread is joined
  std::exception_ptr failure_;
  std::thread thread_;
};

class PizzaServer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // A model this machine cannot run (uring without io_uring or its
    // buffer rings) is skipped, with the model's own explanation.
    if (const auto why = test::model_unavailable(GetParam())) {
      GTEST_SKIP() << *why;
    }
  }

  [[nodiscard]] ServerOptions options() const {
    ServerOptions result;
    result.model = GetParam();
    // Sharded models shard, the pool has 2 threads; the others refuse more
    // than one.
    result.workers = find_server_model(result.model)->reads_workers() ? 2 : 1;
    result.shutdown_timeout = 10s;
    return result;
  }
};

std::vector<std::string> all_model_names() {
  std::vector<std::string> names;
  for (const ServerModel& model : server_models()) {
    names.emplace_back(model.name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryModel, PizzaServer, ::testing::ValuesIn(all_model_names()),
                         [](const auto& param_info) { return param_info.param; });

TEST_P(PizzaServer, AnswersValidAndInvalidOrdersWithTheExactReplies) {
  RunningServer server(options());
  const std::string garbage{'\x00', '\xff', '\x80', '7', '\x1b', '\x7f', '\xc3', '\xa9'};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"7\n", thanks(7)},       {"+7\n", thanks(7)},
      {" 7 \n", thanks(7)},     {"7\r\n", thanks(7)},
      {"0\n", kWrong},          {"-3\n", kWrong},
      {"1001\n", kWrong},       {"abc\n", kWrong},
      {"\n", kWrong},           {"1180591620717411303424\n", kWrong},  // 2^70
      {garbage + "\n", kWrong}, {"1000\n", thanks(1000)},
      {"1\n", thanks(1)},
  };
  for (const auto& [request, reply] : cases) {
    EXPECT_EQ(round_trip(server.address(), request), reply) << "request: " << request;
  }
  server.stop();
}

TEST_P(PizzaServer, HonoursMaxOrder) {
  ServerOptions custom = options();
  custom.max_order = 5;
  RunningServer server(custom);
  EXPECT_EQ(round_trip(server.address(), "5\n6\n"), thanks(5) + kWrong);
  server.stop();
}

TEST_P(PizzaServer, AnswersAMegabyteLineWithoutNewlineOnce) {
  RunningServer server(options());
  const std::string line(1 << 20, '7');
  EXPECT_EQ(round_trip(server.address(), line), kWrong);
  // The over-long line ends at its newline; the next order counts again.
  EXPECT_EQ(round_trip(server.address(), line + "\n8\n"), kWrong + thanks(8));
  server.stop();
}

TEST_P(PizzaServer, AnswersPipelinedOrdersInOrder) {
  RunningServer server(options());
  // Far more than the socket buffers hold, so the server must apply
  // backpressure while we are still sending: send on one thread, read here.
  std::string request;
  std::string expected;
  for (int i = 0; i < 30000; ++i) {
    const int order = i % 1003;  // includes 0, 1001, 1002: wrong numbers
    request += (i % 7 == 0 ? " " : "") + std::to_string(order) + (i % 5 == 0 ? "\r\n" : "\n");
    expected += order >= 1 && order <= 1000 ? thanks(order) : kWrong;
  }
  UniqueFd client = connect_client(server.address());
  std::thread sender([&] {
    send_all(client.get(), request);
    ::shutdown(client.get(), SHUT_WR);
  });
  const std::string replies = read_until_eof(client.get());
  sender.join();
  EXPECT_EQ(replies.size(), expected.size());
  EXPECT_TRUE(replies == expected) << "replies differ from the orders' replies in order";
  server.stop();
}

TEST_P(PizzaServer, AnswersOrdersSplitAcrossManyWrites) {
  RunningServer server(options());
  UniqueFd client = connect_client(server.address());
  for (const char byte : std::string("1\n+2\r\n 3")) {
    send_all(client.get(), std::string_view(&byte, 1));
  }
  EXPECT_EQ(read_exactly(client.get(), thanks(1).size() + thanks(2).size()), thanks(1) + thanks(2));
  ::shutdown(client.get(), SHUT_WR);
  EXPECT_EQ(read_until_eof(client.get()), thanks(3));
  server.stop();
}

TEST_P(PizzaServer, AnswersAFinalUnterminatedOrderAtHalfClose) {
  RunningServer server(options());
  EXPECT_EQ(round_trip(server.address(), "3\n4"), thanks(3) + thanks(4));
  EXPECT_EQ(round_trip(server.address(), "abc"), kWrong);
  EXPECT_EQ(round_trip(server.address(), ""), "");
  server.stop();
}

TEST_P(PizzaServer, Serves500ConcurrentClients) {
  if (raise_fd_limit() < 1100) {
    GTEST_SKIP() << "needs at least 1100 descriptors (ulimit -n)";
  }
  RunningServer server(options());
  constexpr int kClients = 500;
  std::vector<UniqueFd> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect_client(server.address(), /*high_fd=*/true));
  }
  // Every client is connected before any orders: all 500 are open at once.
  for (int i = 0; i < kClients; ++i) {
    send_all(clients[i].get(), std::to_string(i % 1000 + 1) + "\n");
  }
  for (int i = 0; i < kClients; ++i) {
    const std::string expected = thanks(i % 1000 + 1);
    ASSERT_EQ(read_exactly(clients[i].get(), expected.size()), expected) << "client " << i;
  }
  // A second round on the same connections, then an orderly end.
  for (int i = 0; i < kClients; ++i) {
    send_all(clients[i].get(), "2\n");
    ::shutdown(clients[i].get(), SHUT_WR);
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(read_until_eof(clients[i].get()), thanks(2)) << "client " << i;
  }
  server.stop();
}

// A backlog larger than what the event-driven models accept per loop
// iteration (64, or 1,024 for uring): every client is connected, with its
// order sent, before the server starts; the accepting must resume on later
// iterations without a new readiness event, and the listener must be
// watched again once it is empty (the client after the burst).
TEST_P(PizzaServer, ServesABacklogLargerThanOneAcceptBatch) {
  if (GetParam() == "select" || GetParam() == "threads") {
    GTEST_SKIP() << "FD_SETSIZE, or a thread per client: other tests cover their limits";
  }
  constexpr int kClients = 1500;
  if (raise_fd_limit() < 2 * kClients + 100) {
    GTEST_SKIP() << "needs at least " << 2 * kClients + 100 << " descriptors (ulimit -n)";
  }
  // The kernel caps every listen backlog at net.core.somaxconn; a smaller
  // cap would leave connects waiting for a server that has not started.
  int somaxconn = 0;
  std::ifstream("/proc/sys/net/core/somaxconn") >> somaxconn;
  if (somaxconn < kClients + 1) {
    GTEST_SKIP() << "net.core.somaxconn is " << somaxconn << ", below " << kClients + 1;
  }
  RunningServer server(options(), RunningServer::Start::later);
  std::vector<UniqueFd> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect_client(server.address()));
    send_all(clients.back().get(), std::to_string(i % 100 + 1) + "\n");
  }
  server.start();
  for (int i = 0; i < kClients; ++i) {
    const std::string expected = thanks(i % 100 + 1);
    ASSERT_EQ(read_exactly(clients[i].get(), expected.size()), expected) << "client " << i;
  }
  clients.clear();
  EXPECT_EQ(round_trip(server.address(), "9\n"), thanks(9));
  server.stop();
}

TEST_P(PizzaServer, ClosesIdleConnections) {
  ServerOptions custom = options();
  custom.idle_timeout = 100ms;
  RunningServer server(custom);
  UniqueFd silent = connect_client(server.address());
  UniqueFd talker = connect_client(server.address());
  send_all(talker.get(), "5\n");
  EXPECT_EQ(read_exactly(talker.get(), thanks(5).size()), thanks(5));
  // Neither sends anything more: the server closes both (EOF, no bytes).
  EXPECT_EQ(read_until_eof(silent.get()), "");
  EXPECT_EQ(read_until_eof(talker.get()), "");
  server.stop();
}

TEST_P(PizzaServer, SendsTheBusyReplyAtTheConnectionLimit) {
  ServerOptions custom = options();
  custom.max_connections = 2;
  RunningServer server(custom);
  UniqueFd first = connect_client(server.address());
  UniqueFd second = connect_client(server.address());
  // A round trip each proves both hold a slot.
  send_all(first.get(), "1\n");
  send_all(second.get(), "2\n");
  EXPECT_EQ(read_exactly(first.get(), thanks(1).size()), thanks(1));
  EXPECT_EQ(read_exactly(second.get(), thanks(2).size()), thanks(2));

  EXPECT_EQ(round_trip(server.address(), "3\n"), kBusy);

  // An orderly close frees the slot before the server's FIN reaches us.
  ::shutdown(first.get(), SHUT_WR);
  EXPECT_EQ(read_until_eof(first.get()), "");
  EXPECT_EQ(round_trip(server.address(), "4\n"), thanks(4));
  server.stop();
}

TEST_P(PizzaServer, AnswersEveryCompleteOrderInFlightOnShutdown) {
  RunningServer server(options());
  constexpr int kClients = 8;
  std::vector<UniqueFd> clients;
  std::string expected;
  std::string request;
  for (int order = 1; order <= 200; ++order) {
    request += std::to_string(order) + "\n";
    expected += thanks(order);
  }
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect_client(server.address()));
    // A round trip proves the connection is being served...
    send_all(clients.back().get(), "9\n");
    ASSERT_EQ(read_exactly(clients.back().get(), thanks(9).size()), thanks(9));
    // ...then orders the server has received (on loopback, send() returns
    // once they are in the server's socket) but not yet answered, plus an
    // unfinished line, which is not a complete order.
    send_all(clients.back().get(), request + "12");
  }
  server.request_stop();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(read_until_eof(clients[i].get()), expected) << "client " << i;
  }
  const std::string log = server.stop();
  EXPECT_TRUE(log.ends_with("Server stopped.\n")) << log;
}

TEST_P(PizzaServer, ClosesConnectionsThatOutliveTheShutdownDeadline) {
  ServerOptions custom = options();
  custom.shutdown_timeout = 50ms;
  RunningServer server(custom);
  UniqueFd client = connect_client(server.address());
  // Replies we never read: once our receive buffer is full the server cannot
  // finish, and the deadline must end the connection anyway.
  set_non_blocking(client.get());
  const std::string batch(64 * 1024, '\n');
  while (::send(client.get(), batch.data(), batch.size(), MSG_NOSIGNAL) > 0) {
  }
  set_non_blocking(client.get(), false);
  // Returns only because of the deadline.
  EXPECT_TRUE(server.stop().ends_with("Server stopped.\n"));
  // The server closed (or reset) the connection: reading ends.
  (void)read_until_eof(client.get());
}

TEST_P(PizzaServer, AClientThatResetsMidReplyDoesNotDisturbTheOthers) {
  RunningServer server(options());
  UniqueFd bystander = connect_client(server.address());
  send_all(bystander.get(), "1\n");
  EXPECT_EQ(read_exactly(bystander.get(), thanks(1).size()), thanks(1));

  UniqueFd rude = connect_client(server.address());
  // Pipeline orders without reading until the server pushes back, read half
  // a reply, and reset: the server is in the middle of replying.
  std::string batch;
  for (int i = 0; i < 4096; ++i) {
    batch += "7\n";
  }
  set_non_blocking(rude.get());
  std::size_t sent_total = 0;
  while (true) {
    const ssize_t sent = ::send(rude.get(), batch.data(), batch.size(), MSG_NOSIGNAL);
    if (sent <= 0) {
      break;
    }
    sent_total += static_cast<std::size_t>(sent);
  }
  set_non_blocking(rude.get(), false);
  ASSERT_GT(sent_total, 0U);
  EXPECT_EQ(read_exactly(rude.get(), 10), thanks(7).substr(0, 10));
  const linger reset_on_close{1, 0};
  ::setsockopt(rude.get(), SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
  rude.reset();

  send_all(bystander.get(), "2\n3\n");
  ::shutdown(bystander.get(), SHUT_WR);
  EXPECT_EQ(read_until_eof(bystander.get()), thanks(2) + thanks(3));
  EXPECT_EQ(round_trip(server.address(), "4\n"), thanks(4));
  server.stop();
}

TEST_P(PizzaServer, PrintsTheSeedsStartupLinesWithTheRealPortAndStopLine) {
  RunningServer server(options());
  EXPECT_EQ(round_trip(server.address(), "1\n"), thanks(1));
  const std::string log = server.stop();
  const std::string start = "Starting up at: " + server.address().to_string() +
                            "\nServer listening for incoming connections\n";
  EXPECT_NE(server.address().port(), 0);
  EXPECT_TRUE(log.starts_with(start)) << log;
  EXPECT_TRUE(log.ends_with("Server stopped.\n")) << log;
  // Without --verbose: no per-connection lines.
  EXPECT_EQ(log.find("Connected to"), std::string::npos) << log;
}

TEST_P(PizzaServer, LogsEachConnectionWhenVerbose) {
  ServerOptions custom = options();
  custom.verbose = true;
  RunningServer server(custom);
  UniqueFd client = connect_client(server.address());
  const std::string peer = SocketAddress::local_of(client.get()).to_string();
  send_all(client.get(), "1\n");
  ::shutdown(client.get(), SHUT_WR);
  EXPECT_EQ(read_until_eof(client.get()), thanks(1));
  const std::string log = server.stop();
  EXPECT_NE(log.find("Connected to " + peer + "\n"), std::string::npos) << log;
  EXPECT_NE(log.find("Connection with " + peer + " has been closed"), std::string::npos) << log;
}

TEST(PizzaSelectModel, RefusesClientsBeyondFdSetSizeWithTheBusyReply) {
  if (raise_fd_limit() < 4 * FD_SETSIZE) {
    GTEST_SKIP() << "needs at least " << 4 * FD_SETSIZE << " descriptors (ulimit -n)";
  }
  ServerOptions options;
  options.model = "select";
  RunningServer server(options);
  // Our ends sit above 2 * FD_SETSIZE, so the server's ends take the low
  // numbers and run past FD_SETSIZE after about a thousand clients.
  std::vector<UniqueFd> clients;
  for (int i = 0; i < FD_SETSIZE + 50; ++i) {
    clients.push_back(connect_client(server.address(), /*high_fd=*/true));
    send_all(clients.back().get(), "1\n");
  }
  std::size_t served = 0;
  std::size_t refused = 0;
  for (UniqueFd& client : clients) {
    const std::string reply = read_exactly(client.get(), thanks(1).size());
    if (reply == thanks(1)) {
      ++served;
    } else {
      EXPECT_EQ(reply + read_until_eof(client.get()), kBusy);
      ++refused;
    }
  }
  EXPECT_GT(served, 900U);
  EXPECT_GT(refused, 0U);
  clients.clear();
  const std::string log = server.stop();
  EXPECT_NE(log.find("select model: refusing clients whose descriptor is >= FD_SETSIZE (1024)"),
            std::string::npos)
      << log;
}

// ---- the real binary ------------------------------------------------------

// `pizzeria SUBCOMMAND ARGUMENTS...` (by default `serve`) with stdout and
// stderr on one pipe.
class ServeProcess : public test::ChildProcess {
 public:
  using IoUring = test::ChildProcess::IoUring;

  explicit ServeProcess(const std::vector<std::string>& arguments,
                        const std::string& subcommand = "serve",
                        IoUring io_uring = IoUring::allowed)
      : ChildProcess(command_line(arguments, subcommand), Output::stdout_and_stderr, io_uring) {}

 private:
  static std::vector<std::string> command_line(const std::vector<std::string>& arguments,
                                               const std::string& subcommand) {
    const char* binary = std::getenv("PZ_PIZZERIA_BIN");
    if (binary == nullptr) {
      throw std::runtime_error("PZ_PIZZERIA_BIN is not set (CTest sets it)");
    }
    std::vector<std::string> argv{binary, subcommand};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    return argv;
  }
};

TEST_P(PizzaServer, TheServeCommandPrintsItsPortServesAndStopsOnSigint) {
  const std::string workers = find_server_model(GetParam())->reads_workers() ? "2" : "1";
  ServeProcess process({"--port", "0", "--model", GetParam(), "--workers", workers});
  const std::string starting = process.read_line();
  const std::string prefix = "Starting up at: 127.0.0.1:";
  ASSERT_TRUE(starting.starts_with(prefix)) << starting;
  const int port = std::stoi(starting.substr(prefix.size()));
  ASSERT_GT(port, 0);
  EXPECT_EQ(process.read_line(), "Server listening for incoming connections");

  const SocketAddress address = SocketAddress::parse("127.0.0.1", static_cast<std::uint16_t>(port));
  UniqueFd client = connect_client(address);
  send_all(client.get(), "7\n");
  EXPECT_EQ(read_exactly(client.get(), thanks(7).size()), thanks(7));
  // An order in flight when SIGINT arrives is still answered.
  send_all(client.get(), "8\n");
  process.signal(SIGINT);
  EXPECT_EQ(read_until_eof(client.get()), thanks(8));
  EXPECT_EQ(process.read_line(), "Server stopped.");
  EXPECT_EQ(process.read_line(), "");
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(PizzaServeCommand, RejectsAnUnknownModelNamingTheKnownOnes) {
  ServeProcess process({"--port", "0", "--model", "carrier-pigeon"});
  const std::string output = process.read_line();
  EXPECT_EQ(output, "pizzeria: unknown server model 'carrier-pigeon': choose one of " +
                        server_model_names());
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
}

// A year of idle time is plenty; 1e10 s used to overflow the deadline
// arithmetic and close every connection at once.
TEST(PizzaServeCommand, RefusesTimeoutsBeyondAYearNamingTheLimit) {
  for (const std::string option : {"--idle-timeout", "--shutdown-timeout", "--request-timeout"}) {
    ServeProcess process({"--port", "0", option, "1e10"});
    EXPECT_EQ(process.read_line(), option + ": '1e10' is above the limit of 31536000 seconds");
    const int status = process.wait();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << option;
  }
}

TEST(PizzaServeCommand, ATimeoutOfAYearIsAcceptedAndDoesNotCloseConnections) {
  ServeProcess process({"--port", "0", "--idle-timeout", "31536000", "--request-timeout",
                        "31536000", "--shutdown-timeout", "31536000"});
  const std::string starting = process.read_line();
  const std::string prefix = "Starting up at: 127.0.0.1:";
  ASSERT_TRUE(starting.starts_with(prefix)) << starting;
  ASSERT_EQ(process.read_line(), "Server listening for incoming connections");
  const auto port = static_cast<std::uint16_t>(std::stoi(starting.substr(prefix.size())));
  // Served, not closed at once by an overflowed deadline.
  EXPECT_EQ(round_trip(SocketAddress::parse("127.0.0.1", port), "2\n"), reply_for(Order{2}));
  process.signal(SIGINT);
  EXPECT_EQ(process.read_line(), "Server stopped.");
  EXPECT_EQ(process.wait(), 0);
}

TEST(PizzaServeCommand, TheUringModelWithoutIoUringSaysWhyAndNamesTheOtherModels) {
  ServeProcess process({"--port", "0", "--model", "uring"}, "serve", ServeProcess::IoUring::denied);
  // Refused before the port is bound: no line claims the server started.
  EXPECT_EQ(process.read_line(),
            "pizzeria: the uring model needs io_uring, but io_uring_queue_init failed: Function "
            "not implemented (kernel too old, or io_uring disabled by "
            "/proc/sys/kernel/io_uring_disabled or a seccomp filter); use another model: threads, "
            "pool, polling, select, poll, reactor, coro");
  EXPECT_EQ(process.read_line(), "");
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_NE(WEXITSTATUS(status), 0);
}

// The shard threads ("pz-shard-N") of a started `serve` process once at
// least `at_least` run (bounded look; they start after its listening line).
// By name: a sanitizer's runtime has threads of its own.
std::size_t shard_threads_of(const ServeProcess& process, std::size_t at_least) {
  const std::string tasks = "/proc/" + std::to_string(process.pid()) + "/task";
  const auto count = [&tasks] {
    std::size_t shards = 0;
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream comm(task.path() / "comm");
      std::string name;
      if (std::getline(comm, name) && name.starts_with("pz-shard-")) {
        ++shards;
      }
    }
    return shards;
  };
  std::size_t shards = count();
  for (int look = 0; look < 1000 && shards < at_least; ++look) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    shards = count();
  }
  return shards;
}

// A started server's port, read from its first line, and the second line.
std::uint16_t started_port(ServeProcess& process) {
  const std::string starting = process.read_line();
  const std::string prefix = "Starting up at: 127.0.0.1:";
  EXPECT_TRUE(starting.starts_with(prefix)) << starting;
  EXPECT_EQ(process.read_line(), "Server listening for incoming connections");
  return starting.starts_with(prefix)
             ? static_cast<std::uint16_t>(std::stoi(starting.substr(prefix.size())))
             : 0;
}

// --workers N runs N shards: N threads, each with its own SO_REUSEPORT
// listener, all serving. (select and poll ran one thread whatever N was.)
TEST_P(PizzaServer, RunsAThreadPerShardAndServesOnEvery) {
  if (!find_server_model(GetParam())->shards_with_reuseport) {
    GTEST_SKIP() << GetParam() << " is not sharded";
  }
  constexpr std::size_t kShards = 3;
  ServeProcess process(
      {"--port", "0", "--model", GetParam(), "--workers", std::to_string(kShards)});
  const std::uint16_t port = started_port(process);
  ASSERT_NE(port, 0);
  // Shard 0 runs on the main thread; the others have threads of their own.
  EXPECT_EQ(shard_threads_of(process, kShards - 1), kShards - 1);
  // The kernel spreads connections over the listeners: whichever shard
  // gets one must serve it.
  const SocketAddress address = SocketAddress::parse("127.0.0.1", port);
  for (int i = 1; i <= 4 * static_cast<int>(kShards); ++i) {
    UniqueFd client = connect_client(address);
    send_all(client.get(), std::to_string(i) + "\n");
    shutdown(client.get(), SHUT_WR);
    EXPECT_EQ(read_until_eof(client.get()), thanks(i));
  }
  process.signal(SIGINT);
  EXPECT_EQ(process.read_line(), "Server stopped.");
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
}

TEST(PizzaOrderCommand, PipelinesTheOrdersAndPrintsEachReply) {
  ServerOptions options;
  options.model = "poll";
  RunningServer server(options);
  ServeProcess order({"--port", std::to_string(server.address().port()), "7", "-3", "abc", "+2"},
                     "order");
  EXPECT_EQ(order.read_line() + "\n", thanks(7));
  EXPECT_EQ(order.read_line() + "\n", kWrong);
  EXPECT_EQ(order.read_line() + "\n", kWrong);
  EXPECT_EQ(order.read_line() + "\n", thanks(2));
  EXPECT_EQ(order.read_line(), "");
  const int status = order.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  server.stop();
}

TEST(PizzaOrderCommand, ExitsWithAnErrorWhenTheServerIsBusy) {
  ServerOptions options;
  options.model = "poll";
  options.max_connections = 1;
  RunningServer server(options);
  UniqueFd holder = connect_client(server.address());
  send_all(holder.get(), "1\n");
  ASSERT_EQ(read_exactly(holder.get(), thanks(1).size()), thanks(1));
  ServeProcess order({"--port", std::to_string(server.address().port()), "7"}, "order");
  EXPECT_EQ(order.read_line() + "\n", kBusy);
  const int status = order.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  server.stop();
}

TEST(PizzaServeCommand, StopsOnSigterm) {
  ServeProcess process({"--port", "0", "--model", "poll"});
  ASSERT_TRUE(process.read_line().starts_with("Starting up at: 127.0.0.1:"));
  EXPECT_EQ(process.read_line(), "Server listening for incoming connections");
  process.signal(SIGTERM);
  EXPECT_EQ(process.read_line(), "Server stopped.");
  const int status = process.wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace pz::pizza
