// pz::run_sharded: the shards of an event-driven server, and what happens
// when one of them fails.
#include "pizzeria/server/run_sharded.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/server/server_context.hpp"
#include "pizzeria/server/shutdown_signal.hpp"

namespace pz {
namespace {

ServerPolicy sharded_policy(unsigned workers) {
  return ServerPolicy{.workers = workers};
}

// The first listener of a sharded server.
UniqueFd shared_listener() {
  return open_shared_listener(SocketAddress::parse("127.0.0.1", 0));
}

// Waits for the shutdown request, up to 10 s (a safety net: the test fails
// rather than hangs if nobody asks).
bool wait_for_shutdown(const ServerContext& context) {
  pollfd waiting{.fd = context.shutdown_fd(), .events = POLLIN, .revents = 0};
  return ::poll(&waiting, 1, 10'000) == 1 && context.stopping();
}

TEST(RunSharded, RunsOneShardPerWorkerEachOnItsOwnListener) {
  const ServerPolicy policy = sharded_policy(3);
  ShutdownSignal shutdown;
  std::ostringstream log;
  ServerContext context(policy, shared_listener(), shutdown, log);
  std::mutex mutex;
  std::set<int> listeners;
  run_sharded(context, [&](ServerContext& shard_context, int listener) {
    {
      std::lock_guard lock(mutex);
      listeners.insert(listener);
      if (listeners.size() == 3) {
        shard_context.request_shutdown();  // the last one to start ends the test
      }
    }
    EXPECT_TRUE(wait_for_shutdown(shard_context));
  });
  EXPECT_EQ(listeners.size(), 3U);
  EXPECT_EQ(listeners.count(context.listener()), 1U);
}

TEST(RunSharded, AShardThatFailsStopsTheOthersAndItsErrorIsRethrown) {
  const ServerPolicy policy = sharded_policy(3);
  ShutdownSignal shutdown;
  std::ostringstream log;
  ServerContext context(policy, shared_listener(), shutdown, log);
  std::atomic<int> stopped_by_request{0};
  std::atomic<bool> failed{false};
  const auto serve = [&](ServerContext& shard_context, int listener) {
    if (listener != shard_context.listener()) {
      if (!failed.exchange(true)) {
        throw std::runtime_error("shard setup failed");
      }
    }
    if (wait_for_shutdown(shard_context)) {
      ++stopped_by_request;
    }
  };
  try {
    run_sharded(context, serve);
    FAIL() << "the shard's error was not rethrown";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "shard setup failed");
  }
  // Without the shutdown request the two healthy shards would have waited
  // the full 10 s and then counted nothing.
  EXPECT_EQ(stopped_by_request.load(), 2);
  EXPECT_TRUE(context.stopping());
}

}  // namespace
}  // namespace pz
