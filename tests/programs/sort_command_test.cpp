// `pizzeria sort-server` with the seed's Python client (asyncio.run in place
// of its failing event-loop call), and bad frames that must close only their
// own connection.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "program_runner.hpp"
#include "support/child_process.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// `pizzeria sort-server --port 0 --workers 2`; the port is read from its
// first line.
class SortServerProcess {
 public:
  SortServerProcess()
      : process_({pizzeria_binary(), "sort-server", "--port", "0", "--workers", "2"},
                 test::ChildProcess::Output::stdout_only) {
    const std::string line = process_.read_line();
    const auto colon = line.rfind(':');
    port_ = colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
  }

  // SIGINT: the server must stop by itself and say so.
  int interrupt_and_wait(std::string& last_line) {
    process_.signal(SIGINT);
    last_line = process_.read_line();
    const int status = process_.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  [[nodiscard]] int port() const { return port_; }

 private:
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
