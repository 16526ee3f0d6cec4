// pz::ServerContext over real loopback sockets: the connection limit with
// the configured busy reply, the close deadlines, and their clamping.
#include "pizzeria/server/server_context.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>

#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/net/socket_ops.hpp"
#include "pizzeria/server/shutdown_signal.hpp"

namespace pz {
namespace {

using namespace std::chrono_literals;

UniqueFd loopback_listener() {
  return open_listen_socket(SocketAddress::parse("127.0.0.1", 0), {.non_blocking = true});
}

// A blocking client with a receive timeout as a safety net only.
UniqueFd connect_client(const SocketAddress& address) {
  UniqueFd fd = connect_tcp(address);
  timeval timeout{20, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

std::string read_to_end(int fd) {
  std::string data;
  char buffer[256];
  while (true) {
    const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) {
      return data;
    }
    data.append(buffer, static_cast<std::size_t>(got));
  }
}

// Accepts until a client comes (the kernel queues it asynchronously); the
// bound is a safety net.
std::optional<AcceptedClient> accept_when_queued(ServerContext& context) {
  for (int i = 0; i < 20'000; ++i) {
    if (std::optional<AcceptedClient> client = context.accept()) {
      return client;
    }
    ::usleep(1000);
  }
  return std::nullopt;
}

// Accepts (and so refuses, the server being full) until `client` has
// something to read; the bound is a safety net.
void refuse_when_queued(ServerContext& context, int client) {
  for (int i = 0; i < 20'000; ++i) {
    EXPECT_FALSE(context.accept());
    pollfd entry{client, POLLIN, 0};
    if (::poll(&entry, 1, 1) == 1) {
      return;
    }
  }
}

TEST(ServerContext, RefusesAClientOverTheLimitWithTheConfiguredBusyReply) {
  ShutdownSignal shutdown;
  std::ostringstream log;
  ServerContext context(ServerPolicy{.max_connections = 1, .busy_reply = "full, sorry\n"},
                        loopback_listener(), shutdown, log);
  const UniqueFd first = connect_client(context.local_address());
  std::optional<AcceptedClient> admitted = accept_when_queued(context);
  ASSERT_TRUE(admitted);
  EXPECT_EQ(context.open_connections(), 1U);

  const UniqueFd second = connect_client(context.local_address());
  refuse_when_queued(context, second.get());
  EXPECT_EQ(read_to_end(second.get()), "full, sorry\n");
  EXPECT_EQ(context.open_connections(), 1U);

  // Its slot back, the next client is admitted.
  admitted->slot.release();
  EXPECT_EQ(context.open_connections(), 0U);
  const UniqueFd third = connect_client(context.local_address());
  EXPECT_TRUE(accept_when_queued(context));
}

TEST(ServerContext, AnEmptyBusyReplyClosesARefusedClientWithoutAWord) {
  ShutdownSignal shutdown;
  std::ostringstream log;
  ServerContext context(ServerPolicy{.max_connections = 1}, loopback_listener(), shutdown, log);
  const UniqueFd first = connect_client(context.local_address());
  std::optional<AcceptedClient> admitted = accept_when_queued(context);
  ASSERT_TRUE(admitted);
  const UniqueFd second = connect_client(context.local_address());
  refuse_when_queued(context, second.get());
  EXPECT_EQ(read_to_end(second.get()), "");
}

TEST(ServerContext, LogsTheSeedsConnectedLineOnlyWhenVerbose) {
  ShutdownSignal shutdown;
  std::ostringstream quiet_log;
  ServerContext quiet(ServerPolicy{}, loopback_listener(), shutdown, quiet_log);
  const UniqueFd a = connect_client(quiet.local_address());
  ASSERT_TRUE(accept_when_queued(quiet));
  EXPECT_EQ(quiet_log.str(), "");

  std::ostringstream verbose_log;
  ServerContext verbose(ServerPolicy{.verbose = true}, loopback_listener(), shutdown, verbose_log);
  const UniqueFd b = connect_client(verbose.local_address());
  std::optional<AcceptedClient> client = accept_when_queued(verbose);
  ASSERT_TRUE(client);
  EXPECT_EQ(verbose_log.str(), "Connected to " + client->peer.to_string() + "\n");
}

TEST(ServerContext, IdleTimeoutExpiresAConnectionAndShutdownBringsTheDeadlineForward) {
  ShutdownSignal shutdown;
  std::ostringstream log;
  ServerContext context(ServerPolicy{.idle_timeout = 10s, .shutdown_timeout = 1s},
                        loopback_listener(), shutdown, log);
  const auto start = ServerContext::Clock::now();
  EXPECT_EQ(context.close_by(start), start + 10s);
  EXPECT_EQ(context.expired(start, start + 9s), "");
  EXPECT_EQ(context.expired(start, start + 10s), "idle timeout");
  shutdown.request();
  const auto deadline = context.shutdown_deadline();
  EXPECT_EQ(deadline, shutdown.requested_at() + 1s);
  EXPECT_EQ(context.close_by(deadline), deadline);
  EXPECT_EQ(context.expired(deadline, deadline), "shutdown deadline");
}

TEST(ServerContext, HugeTimeoutsAreClampedSoNoDeadlineOverflows) {
  ShutdownSignal shutdown;
  std::ostringstream log;
  const auto huge = std::chrono::milliseconds::max();
  ServerContext context(ServerPolicy{.idle_timeout = huge, .shutdown_timeout = huge},
                        loopback_listener(), shutdown, log);
  EXPECT_EQ(context.policy().idle_timeout, ServerPolicy::kMaxTimeout);
  EXPECT_EQ(context.policy().shutdown_timeout, ServerPolicy::kMaxTimeout);
  const auto now = ServerContext::Clock::now();
  // Overflowed, these would lie in the past and close every connection.
  EXPECT_GT(context.close_by(now), now + std::chrono::hours(24 * 364));
  EXPECT_EQ(context.expired(now, now + std::chrono::hours(1)), "");
  shutdown.request();
  EXPECT_GT(context.shutdown_deadline(), now + std::chrono::hours(24 * 364));
}

}  // namespace
}  // namespace pz
