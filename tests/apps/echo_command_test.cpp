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

// Three clients of a server with --idle-timeout 0.3: one silent from the
// start and one that sends without ever reading (its echo fills the
// buffers) are closed, each with a logged line. Both would be held for ever
// without the timeout, and the 20 s limits here fail the test instead.
// A third, an ordinary client, still has every byte echoed.
constexpr const char* kIdleClients = R"(
import select, socket, sys
address = ("127.0.0.1", int(sys.argv[1]))
silent = socket.create_connection(address)
flooding = socket.socket()
flooding.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
flooding.connect(address)
flooding.setblocking(False)
sent = 0
while sent < 64 * 1024 * 1024:
    try:
        sent += flooding.send(b"x" * 65536)
    except BlockingIOError:
        break
silent.settimeout(20)
print("silent:", "closed" if silent.recv(10) == b"" else "answered")
poller = select.poll()
poller.register(flooding, select.POLLRDHUP)
events = poller.poll(20000)
print("flooding:", "closed" if events else "still open")  # a FIN or a reset
ordinary = socket.create_connection(address)
ordinary.settimeout(20)
ordinary.sendall(b"hello\n")
echoed = b""
while len(echoed) < 6:
    echoed += ordinary.recv(100)
print("ordinary:", echoed.decode().strip())
)";

TEST(EchoCommand, ServerClosesConnectionsThatNeitherSendNorTakeBytesForTheIdleTimeout) {
  pz::test::ChildProcess server(
      {pz::test::pizzeria_binary(), "echo-server", "--port", "0", "--idle-timeout", "0.3"});
  const std::string listening = server.read_line();
  const std::string prefix = "listening on 127.0.0.1:";
  ASSERT_TRUE(listening.starts_with(prefix)) << listening;
  const std::string port = listening.substr(prefix.size());

  const auto clients = pz::test::run_program({"python3", "-c", kIdleClients, port});
  EXPECT_EQ(clients.exit_status, 0) << clients.err;
  EXPECT_EQ(clients.out, "silent: closed\nflooding: closed\nordinary: hello\n") << clients.err;

  // Both closes were logged (in either order), before the stop.
  int logged = 0;
  while (logged < 2) {
    const std::string line = server.read_line();
    if (line.empty()) {
      break;  // the output ended, or 30 s without a line
    }
    if (line.find("no bytes either way for 0.3 s (--idle-timeout)") != std::string::npos) {
      ++logged;
    }
  }
  EXPECT_EQ(logged, 2);
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
