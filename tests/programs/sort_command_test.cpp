// `pizzeria sort-server` with the seed's Python client (asyncio.run in place
// of its failing event-loop call), and bad frames that must close only their
// own connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/core/unique_fd.hpp"
#include "program_runner.hpp"
#include "support/child_process.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// The port a sort-server printed in its first line, "... HOST:PORT"; 0 if
// the line is not that.
int port_from_first_line(test::ChildProcess& server) {
  const std::string line = server.read_line();
  const auto colon = line.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
}

// `pizzeria sort-server --port 0 --workers 2` plus `extra` arguments; the
// port is read from its first line.
class SortServerProcess {
 public:
  explicit SortServerProcess(const std::vector<std::string>& extra = {})
      : process_(arguments(extra), test::ChildProcess::Output::stdout_only),
        port_(port_from_first_line(process_)) {}

  // SIGINT: the server must stop by itself and say so.
  int interrupt_and_wait(std::string& last_line) {
    process_.signal(SIGINT);
    last_line = process_.read_line();
    const int status = process_.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return process_.pid(); }

 private:
  static std::vector<std::string> arguments(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{
        pizzeria_binary(), "sort-server", "--port", "0", "--workers", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  test::ChildProcess process_;
  int port_ = 0;
};

// The seed's remote_sort, with asyncio.run; it also checks the reply.
constexpr const char* kSeedClient = R"(
import asyncio, json, random, sys

async def remote_sort(port, count):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    numbers = [random.randrange(10000) for r in range(count)]
    data = json.dumps(numbers).encode()
    writer.write(len(data).to_bytes(8, "big"))
    writer.write(data)
    reply = await reader.readexactly(len(data))
    sorted_values = json.loads(reply.decode())
    assert sorted_values == sorted(numbers), "not sorted"
    assert reply == json.dumps(sorted(numbers)).encode(), "not json.dumps text"
    assert await reader.read() == b"", "the server did not close"
    writer.close()

async def main(port, clients):
    await asyncio.gather(*(remote_sort(port, 10000) for _ in range(clients)))
    print("sorted")

asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
)";

// Sends raw bytes and reports what came back before the server closed.
constexpr const char* kRawClient = R"(
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(bytes.fromhex(sys.argv[2]))
s.shutdown(socket.SHUT_WR)  # so a short frame is known to be short
s.settimeout(20)
received = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    received += chunk
print("closed after %d bytes" % len(received))
)";

TEST(SortServerCommand, TheSeedsPythonClientGetsItsListSortedFromManyConcurrentClients) {
  SortServerProcess server;
  ASSERT_GT(server.port(), 0);
  const auto result =
      run_program({"python3", "-c", kSeedClient, std::to_string(server.port()), "8"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "sorted\n") << result.err;
  std::string last_line;
  EXPECT_EQ(server.interrupt_and_wait(last_line), 0);
  EXPECT_EQ(last_line, "Server stopped.");
}

TEST(SortServerCommand, BadFramesCloseOnlyTheirOwnConnection) {
  SortServerProcess server;
  ASSERT_GT(server.port(), 0);
  const std::string port = std::to_string(server.port());
  // Not a number; a frame over the limit; a frame cut short by the client.
  for (const char* hex :
       {"00000000000000055b312c785d", "00000000ffffffff5b5d", "00000000000000105b31"}) {
    const auto result = run_program({"python3", "-c", kRawClient, port, hex});
    EXPECT_EQ(result.exit_status, 0) << result.err;
    EXPECT_EQ(result.out, "closed after 0 bytes\n") << hex;
  }
  // The server still serves.
  const auto good = run_program({"python3", "-c", kSeedClient, port, "1"});
  EXPECT_EQ(good.out, "sorted\n") << good.err;
}

// A large list of large numbers, its frame sent in pieces (the server must
// wait for the rest), and a reply bigger than a socket buffer usually takes
// at once.
constexpr const char* kPiecesClient = R"(
import json, random, socket, sys, time
numbers = [random.randrange(-10**17, 10**17) for _ in range(200000)]
data = json.dumps(numbers).encode()
frame = len(data).to_bytes(8, "big") + data
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
for piece in (frame[:5], frame[5:1000], frame[1000:]):
    s.sendall(piece)
    time.sleep(0.05)  # lets the pieces arrive separately; correctness does not depend on it
reply = b""
while len(reply) < len(data):
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    reply += chunk
assert reply == json.dumps(sorted(numbers)).encode(), "wrong reply of %d bytes" % len(reply)
print("sorted")
)";

TEST(SortServerCommand, AFrameArrivingInPiecesAndALargeReplyAreServed) {
  SortServerProcess server;
  ASSERT_GT(server.port(), 0);
  const auto result = run_program({"python3", "-c", kPiecesClient, std::to_string(server.port())});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "sorted\n") << result.err;
}

// 64 clients each send a header declaring a 16 MiB frame (the default
// --max-frame) and two bytes of it, then stall; a good client is served after
// them (the server accepts and reads in arrival order, so by then it has seen
// every header). The server had sized each body to the declared length at
// once: 1 GiB resident for 1 KiB received. Prints the server's VmRSS in KiB.
constexpr const char* kDeclaredLengthClient = R"(
import socket, sys
port, pid = int(sys.argv[1]), sys.argv[2]
stalled = []
for _ in range(64):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall((16 << 20).to_bytes(8, "big") + b"[1")
    stalled.append(s)
good = socket.create_connection(("127.0.0.1", port))
good.sendall((9).to_bytes(8, "big") + b"[3, 1, 2]")
good.settimeout(20)
assert good.recv(100) == b"[1, 2, 3]", "the good client was not served"
for line in open("/proc/%s/status" % pid):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]))
)";

TEST(SortServerCommand, AHeaderDeclaringAHugeFrameCostsOnlyTheBytesThatArrive) {
  SortServerProcess server;
  ASSERT_GT(server.port(), 0);
  const auto result = run_program({"python3", "-c", kDeclaredLengthClient,
                                   std::to_string(server.port()), std::to_string(server.pid())});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  // 64 stalled clients hold a few KiB each now; sized by their headers they
  // held 1 GiB. 256 MiB leaves room for the sanitizers' own memory.
  EXPECT_LT(std::atol(result.out.c_str()), 256L * 1024) << "VmRSS in KiB: " << result.out;
}

// Clients that stall: mid-header, mid-body, silent from the start. With
// --idle-timeout each is closed (EOF, not the 20 s socket timeout), while a
// client that keeps sending, byte by byte, is served.
constexpr const char* kStallingClients = R"(
import socket, sys
address = ("127.0.0.1", int(sys.argv[1]))
stalled = [socket.create_connection(address) for _ in range(3)]
stalled[0].sendall(b"\0\0\0")
stalled[1].sendall((100).to_bytes(8, "big") + b"[1,")
for s in stalled:
    s.settimeout(20)
    print("closed" if s.recv(10) == b"" else "answered")
frame = (5).to_bytes(8, "big") + b"[2,1]"
s = socket.create_connection(address)
for i in range(len(frame)):
    s.sendall(frame[i:i + 1])
s.settimeout(20)
print(s.recv(100).decode())
)";

TEST(SortServerCommand, ClientsThatStallAreClosedAfterTheIdleTimeout) {
  SortServerProcess server({"--idle-timeout", "0.3"});
  ASSERT_GT(server.port(), 0);
  const auto result =
      run_program({"python3", "-c", kStallingClients, std::to_string(server.port())});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "closed\nclosed\nclosed\n[1,2]\n") << result.err;
}

// A slow client, a byte every quarter second, with an idle timeout of 1.5 s:
// each byte is progress, so it is served though its header alone takes
// longer than the timeout (header bytes had not counted, and it was closed
// mid-header). Only a stall of 1.5 s between two of its sends, six times the
// pace, could fail this.
constexpr const char* kSlowClient = R"(
import socket, sys, time
frame = (5).to_bytes(8, "big") + b"[2,1]"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(len(frame)):
    s.sendall(frame[i:i + 1])
    time.sleep(0.25)
s.settimeout(20)
print(s.recv(100).decode())
)";

TEST(SortServerCommand, AClientThatKeepsSendingSlowerThanTheTimeoutAllowsIsServed) {
  SortServerProcess server({"--idle-timeout", "1.5"});
  ASSERT_GT(server.port(), 0);
  const auto result = run_program({"python3", "-c", kSlowClient, std::to_string(server.port())});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "[1,2]\n") << result.err;
}

// A client that sends a 12 MB frame and one byte more, and never reads the
// reply: more than the kernel's buffers take, so the server waits to send.
// With --idle-timeout it gives up and closes; the byte it never read makes
// that close a reset, which the client sees without reading.
constexpr const char* kNonReadingClient = R"(
import json, select, socket, sys
data = json.dumps(list(range(1500000))).encode()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(len(data).to_bytes(8, "big") + data)
s.sendall(b"x")
poller = select.poll()
poller.register(s, select.POLLRDHUP)
events = poller.poll(20000)
print("reset" if events and events[0][1] & (select.POLLHUP | select.POLLERR) else "still open")
)";

TEST(SortServerCommand, AClientThatNeverReadsItsReplyIsClosedAfterTheIdleTimeout) {
  SortServerProcess server({"--idle-timeout", "0.3"});
  ASSERT_GT(server.port(), 0);
  const auto result =
      run_program({"python3", "-c", kNonReadingClient, std::to_string(server.port())});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "reset\n") << result.err;
}

// A blocking loopback connection with a 20 s receive timeout (a server that
// neither answers nor closes fails the test instead of hanging it).
UniqueFd connect_loopback(int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const timeval timeout{20, 0};
  if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(std::string("connecting to the server: ") + std::strerror(errno));
  }
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error(std::string("sending to the server: ") + std::strerror(errno));
  }
}

// Everything until the server closes: "" for a connection closed before
// any reply; "error: ..." if the receive failed (a timeout, say).
std::string receive_until_closed(int fd) {
  std::string received;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got == 0) {
      return received;
    }
    if (got < 0) {
      return std::string("error: ") + std::strerror(errno);
    }
    received.append(buffer, static_cast<std::size_t>(got));
  }
}

// The server's lines up to and including the first that contains `text`
// ("" if its output ends first).
std::string wait_for_line(test::ChildProcess& server, const std::string& text) {
  for (;;) {
    const std::string line = server.read_line();
    if (line.empty() || line.find(text) != std::string::npos) {
      return line;
    }
  }
}

// --max-connections 2 with two clients holding their connections open
// mid-header (and no idle timeout): a third client is closed at once,
// before any reply, with a logged line, where it had waited for as long as
// the two stayed. Once one of the two has gone, a new client is served.
TEST(SortServerCommand, BeyondMaxConnectionsANewClientIsClosedAtOnceAndLogged) {
  test::ChildProcess server({pizzeria_binary(), "sort-server", "--port", "0", "--workers", "1",
                             "--idle-timeout", "0", "--max-connections", "2"});
  const int port = port_from_first_line(server);
  ASSERT_GT(port, 0);

  const std::string frame = std::string(7, '\0') + '\5' + "[2,1]";
  UniqueFd held_a = connect_loopback(port);
  send_all(held_a.get(), frame.substr(0, 3));
  UniqueFd held_b = connect_loopback(port);
  send_all(held_b.get(), frame.substr(0, 3));

  // The backlog is first in, first out: the two held ones are accepted
  // before this one, which finds two open.
  UniqueFd refused = connect_loopback(port);
  EXPECT_EQ(receive_until_closed(refused.get()), "");
  const std::string logged = wait_for_line(server, "--max-connections 2");
  EXPECT_NE(logged.find("2 connections open (--max-connections 2): closed 1 new connection"),
            std::string::npos)
      << logged;

  held_a.reset();
  EXPECT_NE(wait_for_line(server, "client closed the connection"), "");
  UniqueFd served = connect_loopback(port);
  send_all(served.get(), frame);
  EXPECT_EQ(receive_until_closed(served.get()), "[1,2]");

  server.signal(SIGINT);
  EXPECT_EQ(wait_for_line(server, "Server stopped."), "Server stopped.");
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// The pause a sort-server logs when accept fails with ENOMEM ("sort-server:
// accept on ADDRESS failed: Cannot allocate memory (ENOMEM), the kernel is
// short of memory; pausing accepts for N ms"): N, or -1 for another line.
long enomem_pause_ms(const std::string& line, const std::string& address) {
  const std::string head = "sort-server: accept on " + address +
                           " failed: Cannot allocate memory (ENOMEM), the kernel is short of "
                           "memory; pausing accepts for ";
  if (!line.starts_with(head) || !line.ends_with(" ms")) {
    return -1;
  }
  return std::stol(line.substr(head.size()));
}

// Accept calls fail with ENOMEM (a seccomp filter, see
// test::ChildProcess::FailingAccept) but the fifth: sort-server backs off
// through the accept throttle all servers share, 10 ms doubling, with one
// accept call per pause (a server that retried at once would fail
// thousands), serves the client the fifth call takes, starts the back-off
// over, and still stops on SIGINT mid-pause.
TEST(SortServerCommand, ShortOfKernelMemoryItPausesAcceptsLongerEachTimeAndDoesNotSpin) {
  test::ChildProcess server({pizzeria_binary(), "sort-server", "--port", "0", "--workers", "1"},
                            test::ChildProcess::Output::stdout_and_stderr,
                            test::ChildProcess::IoUring::allowed,
                            test::ChildProcess::FailingAccept{ENOMEM, 5});
  const std::string listening = server.read_line();
  const std::string prefix = "sort-server: listening on ";
  ASSERT_TRUE(listening.starts_with(prefix)) << listening;
  const std::string address = listening.substr(prefix.size());
  const int port = std::atoi(address.c_str() + address.rfind(':') + 1);
  std::vector<long> pauses;
  const auto read_pauses = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const std::string line = server.read_line();
      const long ms = enomem_pause_ms(line, address);
      if (ms < 0) {
        ADD_FAILURE() << "expected an accept pause, got: '" << line << "'";
        return false;
      }
      pauses.push_back(ms);
    }
    return true;
  };

  UniqueFd client = connect_loopback(port);
  ASSERT_TRUE(read_pauses(4));
  EXPECT_EQ(pauses, (std::vector<long>{10, 20, 40, 80}));
  send_all(client.get(), std::string(7, '\0') + '\5' + "[2,1]");
  EXPECT_EQ(receive_until_closed(client.get()), "[1,2]");
  // The success started the back-off over: accepting the next client
  // fails from the first pause on.
  const UniqueFd next = connect_loopback(port);
  ASSERT_TRUE(read_pauses(2));
  EXPECT_EQ(std::vector<long>(pauses.begin() + 4, pauses.end()), (std::vector<long>{10, 20}));

  server.signal(SIGINT);
  std::string line = server.read_line();
  while (enomem_pause_ms(line, address) >= 0) {
    pauses.push_back(enomem_pause_ms(line, address));
    line = server.read_line();
  }
  EXPECT_EQ(line, "Server stopped.");
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(server.failed_accepts(), pauses.size());
}

// Where a refusal line ("... (--max-connections N): closed K new
// connection(s) ...") gives its count.
constexpr std::string_view kRefusal = "): closed ";

// Stops `server` with SIGINT and returns its refusal lines up to
// "Server stopped." (or the end of its output).
std::vector<std::string> refusal_lines_to_the_stop(test::ChildProcess& server) {
  server.signal(SIGINT);
  std::vector<std::string> refusals;
  for (std::string line = server.read_line(); line != "Server stopped." && !line.empty();
       line = server.read_line()) {
    if (line.find(kRefusal) != std::string::npos) {
      refusals.push_back(line);
    }
  }
  return refusals;
}

// A sort server that admits one connection, with that one held open by part
// of a frame header, so that every later client is refused.
struct SortServerAtItsLimit {
  test::ChildProcess server{{pizzeria_binary(), "sort-server", "--port", "0", "--workers", "1",
                             "--idle-timeout", "0", "--max-connections", "1"}};
  int port = port_from_first_line(server);
  UniqueFd held = hold_a_connection(port);

  static UniqueFd hold_a_connection(int port) {
    if (port <= 0) {
      return UniqueFd();  // the test's ASSERT on the port reports it
    }
    UniqueFd connection = connect_loopback(port);
    send_all(connection.get(), std::string(3, '\0'));
    return connection;
  }
};

TEST(SortServerCommand, LogsRefusedClientsInAtMostALineASecondAndCountsEveryOne) {
  SortServerAtItsLimit limit;
  test::ChildProcess& server = limit.server;
  const int port = limit.port;
  ASSERT_GT(port, 0);
  // One at a time, each refused before the next connects: a burst per
  // client, which used to be a log line per client.
  for (int i = 0; i < 20; ++i) {
    UniqueFd refused = connect_loopback(port);
    EXPECT_EQ(receive_until_closed(refused.get()), "");
  }
  // The last word on refusals comes at the stop.
  const std::vector<std::string> refusals = refusal_lines_to_the_stop(server);
  int counted = 0;
  for (const std::string& line : refusals) {
    counted += std::atoi(line.c_str() + line.find(kRefusal) + kRefusal.size());
  }
  EXPECT_EQ(counted, 20);
  EXPECT_LT(refusals.size(), 20U);  // a line a second; the 20 clients take far less than 19 s
  EXPECT_TRUE(WIFEXITED(server.wait()));
}

// A refusal whose line waits (for its second, or here for the stop) is
// logged with the connections open when it happened, not with those open
// when the line is written, which may be below the limit.
TEST(SortServerCommand, ALaterLineCountsTheConnectionsOpenAtTheRefusal) {
  SortServerAtItsLimit limit;
  test::ChildProcess& server = limit.server;
  const int port = limit.port;
  ASSERT_GT(port, 0);
  UniqueFd& held = limit.held;
  {
    UniqueFd refused = connect_loopback(port);
    EXPECT_EQ(receive_until_closed(refused.get()), "");
  }
  // Logged at once; the next refusal, within the second, waits for its line.
  EXPECT_NE(wait_for_line(server, std::string(kRefusal)), "");
  {
    UniqueFd refused = connect_loopback(port);
    EXPECT_EQ(receive_until_closed(refused.get()), "");
  }
  held.reset();
  EXPECT_NE(wait_for_line(server, "client closed the connection"), "");
  const std::vector<std::string> refusals = refusal_lines_to_the_stop(server);
  ASSERT_FALSE(refusals.empty());
  for (const std::string& line : refusals) {
    EXPECT_NE(line.find("1 connections open (--max-connections 1)"), std::string::npos) << line;
  }
  EXPECT_TRUE(WIFEXITED(server.wait()));
}

TEST(SortServerCommand, RefusesAnIdleTimeoutTooLongToCount) {
  // Seconds beyond ~9.2e9 overflow the nanosecond clock: refused up front.
  const auto result = run_program({pizzeria_binary(), "sort-server", "--idle-timeout", "1e10"});
  EXPECT_EQ(result.exit_status, 2);
  EXPECT_NE((result.out + result.err)
                .find("--idle-timeout: '1e10' is above the limit of 1000000000 seconds"),
            std::string::npos)
      << result.out << result.err;
}

TEST(SortClientCommand, LoadModeCountsCheckedRepliesFromEveryConnection) {
  SortServerProcess server;
  ASSERT_GT(server.port(), 0);
  const auto result =
      run_program({pizzeria_binary(), "sort-client", "--port", std::to_string(server.port()),
                   "--connections", "4", "--count", "100", "--duration", "0.2"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  // Each connection completes at least the request it started with.
  EXPECT_GE(std::atoi(result.out.c_str()), 4) << result.out;
}

TEST(SortClientCommand, LoadModeResolvesAHostName) {
  SortServerProcess server;
  ASSERT_GT(server.port(), 0);
  const auto result = run_program({pizzeria_binary(), "sort-client", "--host", "localhost",
                                   "--port", std::to_string(server.port()), "--connections", "2",
                                   "--count", "10", "--duration", "0.1"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_GE(std::atoi(result.out.c_str()), 2) << result.out;
}

}  // namespace
}  // namespace pz::programs
