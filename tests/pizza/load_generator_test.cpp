#include "pizzeria/pizza/load_generator.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pizza/load_worker.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/pizza_server.hpp"
#include "pizzeria/pizza/server_options.hpp"
#include "pizzeria/server/shutdown_signal.hpp"

using namespace std::chrono_literals;

namespace pz {
namespace {

// A line server on 127.0.0.1:0 with its own loop thread, under the test's
// control: it answers each line with respond(line, number), counts lines, and
// can stall (read and answer nothing) for a while once it has seen a given
// number of lines, or close every connection it accepts.
class LineServer {
 public:
  struct Options {
    std::function<std::string(std::string_view line, std::uint64_t number)> respond =
        [](std::string_view, std::uint64_t) { return std::string("ok\n"); };
    std::uint64_t stall_before_line = 0;  // 0: never stall
    Duration stall_for = Duration::zero();
    bool close_on_accept = false;
    bool never_reply = false;
    std::function<void(std::uint64_t lines)> on_line;  // runs on the server thread
  };

  // `configure` adjusts the default Options before the server starts.
  explicit LineServer(const std::function<void(Options&)>& configure = {})
      : options_(make_options(configure)),
        listener_(open_listen_socket(SocketAddress::parse("127.0.0.1", 0),
                                     ListenOptions{.non_blocking = true})),
        port_(SocketAddress::local_of(listener_.get()).port()) {
    std::promise<EventLoop*> started;
    auto loop_ready = started.get_future();
    thread_ = std::thread([this, &started] {
      EventLoop loop;
      loop_ = &loop;
      FdWatch accept_watch =
          loop.watch(listener_.get(), Interest::readable, [this](IoEvents) { accept_all(); });
      started.set_value(&loop);
      loop.run();
      connections_.clear();
      accept_watch.reset();
    });
    loop_ready.get();
  }

  ~LineServer() {
    loop_->call_soon_threadsafe([this] { loop_->stop(); });
    thread_.join();
  }

  LineServer(const LineServer&) = delete;
  LineServer& operator=(const LineServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] SocketAddress address() const { return SocketAddress::parse("127.0.0.1", port_); }
  // Stable once the load run has returned: every line it counts was answered
  // before the client could have seen the reply.
  [[nodiscard]] std::uint64_t lines() const { return lines_.load(std::memory_order_acquire); }

 private:
  static Options make_options(const std::function<void(Options&)>& configure) {
    Options options;
    if (configure) {
      configure(options);
    }
    return options;
  }

  struct Connection {
    UniqueFd fd;
    FdWatch watch;
    std::string inbox;
    std::string outbox;
  };

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        return;
      }
      if (options_.close_on_accept) {
        ::close(fd);
        continue;
      }
      auto connection = std::make_unique<Connection>();
      connection->fd.reset(fd);
      Connection* raw = connection.get();
      connection->watch = loop_->watch(fd, stalled_ ? Interest::none : Interest::readable,
                                       [this, raw](IoEvents events) { on_io(raw, events); });
      connections_.emplace(fd, std::move(connection));
    }
  }

  void on_io(Connection* connection, IoEvents events) {
    if (events.writable) {
      write_out(connection);
    }
    if (events.readable || events.hangup || events.error) {
      char buffer[16384];
      const auto got = ::recv(connection->fd.get(), buffer, sizeof buffer, 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) {
          return;
        }
        connections_.erase(connection->fd.get());  // destroys the watch inside its callback
        return;
      }
      connection->inbox.append(buffer, static_cast<std::size_t>(got));
      process(connection);
    }
  }

  void process(Connection* connection) {
    std::size_t newline;
    while (!stalled_ && (newline = connection->inbox.find('\n')) != std::string::npos) {
      const std::uint64_t number = lines_.load(std::memory_order_relaxed) + 1;
      if (number == options_.stall_before_line && !stall_done_) {
        stall_done_ = true;
        stalled_ = true;
        for (auto& [fd, each] : connections_) {
          each->watch.set_interest(Interest::none);
        }
        loop_->call_later(options_.stall_for, [this] { resume(); });
        return;
      }
      const std::string line = connection->inbox.substr(0, newline);
      connection->inbox.erase(0, newline + 1);
      if (!options_.never_reply) {
        connection->outbox += options_.respond(line, number);
      }
      // Release: the test thread reads the count after the run, and must see
      // every line that was answered.
      lines_.store(number, std::memory_order_release);
      if (options_.on_line) {
        options_.on_line(number);
      }
    }
    write_out(connection);
  }

  void resume() {
    stalled_ = false;
    for (auto& [fd, each] : connections_) {
      each->watch.set_interest(Interest::readable);
    }
    // Copy the pointers: process() never erases, but keep iteration simple.
    std::vector<Connection*> all;
    for (auto& [fd, each] : connections_) {
      all.push_back(each.get());
    }
    for (auto* each : all) {
      process(each);
    }
  }

  void write_out(Connection* connection) {
    while (!connection->outbox.empty()) {
      const auto sent = ::send(connection->fd.get(), connection->outbox.data(),
                               connection->outbox.size(), MSG_NOSIGNAL);
      if (sent <= 0) {
        if (sent < 0 && errno == EAGAIN) {
          connection->watch.set_interest(stalled_ ? Interest::writable : Interest::both);
        }
        return;
      }
      connection->outbox.erase(0, static_cast<std::size_t>(sent));
    }
    connection->watch.set_interest(stalled_ ? Interest::none : Interest::readable);
  }

  Options options_;
  UniqueFd listener_;
  std::uint16_t port_;
  std::thread thread_;
  EventLoop* loop_ = nullptr;
  std::map<int, std::unique_ptr<Connection>> connections_;
  std::atomic<std::uint64_t> lines_{0};
  bool stalled_ = false;
  bool stall_done_ = false;
};

std::string thank_you(std::string_view line, std::uint64_t) {
  return "Thank you for ordering " + std::string(line) + " pizzas!\n";
}

LoadOptions options_for(const LineServer& server) {
  LoadOptions options;
  options.target = server.address();
  return options;
}

TEST(LoadGenerator, RequestsModeSendsAndReceivesExactlyTheNumberAsked) {
  LineServer server([](auto& o) { o.respond = thank_you; });
  auto options = options_for(server);
  options.connections = 4;
  options.threads = 2;
  options.requests = 1000;
  options.expect = "Thank you for ordering 3 pizzas!";
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.requests_sent, 1000U);
  EXPECT_EQ(result.replies, 1000U);
  EXPECT_EQ(server.lines(), 1000U);
  EXPECT_EQ(result.errors.total(), 0U);
  EXPECT_EQ(result.unanswered, 0U);
  EXPECT_EQ(result.latency.count(), 1000U);
  EXPECT_EQ(result.uncorrected_latency.count(), 1000U);
  EXPECT_EQ(result.connects, 4U);
  EXPECT_EQ(result.bytes_sent, 2000U);  // "3\n" each
  EXPECT_TRUE(result.abort_reason.empty()) << result.abort_reason;
  EXPECT_FALSE(result.open_loop);
  EXPECT_GT(result.replies_per_second(), 0.0);
}

TEST(LoadGenerator, PipeliningKeepsCountsExactWhenTheTotalDoesNotDivideEvenly) {
  LineServer server([](auto& o) { o.respond = thank_you; });
  auto options = options_for(server);
  options.connections = 3;
  options.threads = 2;
  options.pipeline = 16;
  options.requests = 1001;
  options.request = "7\n";
  options.expect = "Thank you for ordering 7 pizzas!";
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.requests_sent, 1001U);
  EXPECT_EQ(result.replies, 1001U);
  EXPECT_EQ(server.lines(), 1001U);
  EXPECT_EQ(result.errors.total(), 0U);
  EXPECT_EQ(result.latency.count(), 1001U);
  EXPECT_EQ(result.bytes_received,
            1001U * std::string("Thank you for ordering 7 pizzas!\n").size());
}

TEST(LoadGenerator, CountsRepliesThatDoNotStartWithTheExpectedPrefix) {
  LineServer server([](auto& o) {
    o.respond = [](std::string_view line, std::uint64_t number) {
      return number % 10 == 0 ? std::string("Wrong number of pizzas, please try again\r\n")
                              : "Thank you for ordering " + std::string(line) + " pizzas!\r\n";
    };
  });
  auto options = options_for(server);
  options.connections = 2;
  options.pipeline = 4;
  options.requests = 200;
  options.expect = "Thank you";
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 200U);
  EXPECT_EQ(result.errors.unexpected_reply, 20U);
  EXPECT_EQ(result.errors.total(), 20U);
  EXPECT_TRUE(result.abort_reason.empty()) << result.abort_reason;
}

TEST(LoadGenerator, AnyLineIsAcceptedWhenNoPrefixIsExpected) {
  LineServer server([](auto& o) {
    o.respond = [](std::string_view, std::uint64_t number) {
      return std::to_string(number) + "\n";
    };
  });
  auto options = options_for(server);
  options.requests = 50;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 50U);
  EXPECT_EQ(result.errors.total(), 0U);
}

TEST(LoadGenerator, ReportsAClosedPortAsConnectFailuresAndGivesUp) {
  // Bound but not listening: the port is ours and refuses connections.
  UniqueFd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(holder.valid());
  const auto any_port = SocketAddress::parse("127.0.0.1", 0);
  ASSERT_EQ(::bind(holder.get(), any_port.data(), any_port.size()), 0);
  LoadOptions options;
  options.target = SocketAddress::local_of(holder.get());
  options.connections = 3;
  options.requests = 10;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 0U);
  EXPECT_EQ(result.errors.connect_failed, 3U);
  EXPECT_EQ(result.connects, 0U);
  EXPECT_NE(result.abort_reason.find("Connection refused"), std::string::npos)
      << result.abort_reason;
  EXPECT_NE(result.abort_reason.find(options.target.to_string()), std::string::npos)
      << result.abort_reason;
  EXPECT_EQ(result.last_error, "connect failed: Connection refused");
}

TEST(LoadGenerator, CountsConnectionsTheServerClosesAndGivesUpWhenNothingIsAnswered) {
  LineServer server([](auto& o) { o.close_on_accept = true; });
  auto options = options_for(server);
  options.connections = 2;
  // Every connection loses one request per 50 ms reconnect cycle: far too
  // slow to use up 100,000 before the 200 ms without a reply ends the run.
  options.requests = 100'000;
  options.timeout = 100ms;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 0U);
  EXPECT_GT(result.errors.closed + result.errors.reset, 0U);
  EXPECT_NE(result.abort_reason.find("no reply"), std::string::npos) << result.abort_reason;
}

TEST(LoadGenerator, CountsARequestUnansweredWithinTheTimeoutAsATimeout) {
  LineServer server([](auto& o) { o.never_reply = true; });
  auto options = options_for(server);
  options.connections = 1;
  options.requests = 10;
  options.timeout = 100ms;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 0U);
  EXPECT_GE(result.errors.timeout, 1U);
  EXPECT_EQ(result.last_error, "timeout: Connection timed out");
  EXPECT_GE(result.unanswered, 1U);
  // Each timeout costs one request; the run gives up long before all ten.
  EXPECT_LT(result.unanswered, 10U);
  EXPECT_NE(result.abort_reason.find("no reply"), std::string::npos) << result.abort_reason;
}

TEST(LoadGenerator, DurationModeMeasuresExactlyTheRequestedDuration) {
  LineServer server;
  auto options = options_for(server);
  options.connections = 2;
  options.duration = 200ms;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.measured, 200ms);
  EXPECT_GT(result.replies, 0U);
  EXPECT_EQ(result.replies + result.in_flight_at_end + result.unanswered, result.requests_sent);
  EXPECT_EQ(result.errors.total(), 0U);
}

TEST(LoadGenerator, WarmupRepliesAreNotCounted) {
  LineServer server;
  auto options = options_for(server);
  options.requests = 100;
  options.warmup = 100ms;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.requests_sent, 100U);
  EXPECT_EQ(result.replies, 100U);
  EXPECT_EQ(result.latency.count(), 100U);
  EXPECT_GE(server.lines(), 100U);
}

TEST(LoadGenerator, StopFromAnotherThreadEndsTheRun) {
  LoadGenerator* generator = nullptr;
  std::atomic<bool> stop_sent{false};
  LineServer server([&](auto& o) {
    o.on_line = [&](std::uint64_t lines) {
      if (lines >= 100 && !stop_sent.exchange(true)) {
        generator->stop();
      }
    };
  });
  auto options = options_for(server);
  options.duration = 60s;
  LoadGenerator load(options);
  generator = &load;
  const auto result = load.run();
  // The server saw 100 requests; with one in flight per connection, at
  // most one per connection (10) can still have been unanswered.
  EXPECT_GE(result.replies, 90U);
  EXPECT_LT(result.measured, 60s);
}

TEST(LoadGenerator, OpenLoopChargesAServerStallToEveryRequestItDelayed) {
  // 200 requests/s on one connection: one every 5 ms. The server stops for
  // 300 ms before answering line 50, so the ~60 requests due during the stall
  // are sent late. Corrected latency counts from when each was due: about 20
  // of them waited 200 ms or more. Uncorrected latency sees one slow request.
  LineServer server([](auto& o) {
    o.stall_before_line = 50;
    o.stall_for = 300ms;
  });
  auto options = options_for(server);
  options.connections = 1;
  options.rate = 200;
  options.requests = 200;
  const auto result = LoadGenerator(options).run();
  ASSERT_EQ(result.replies, 200U);
  EXPECT_TRUE(result.open_loop);
  const std::uint64_t slow = std::chrono::nanoseconds(200ms).count();
  EXPECT_GE(result.latency.value_at_percentile(99.0), slow);
  EXPECT_GE(result.latency.count_at_or_above(slow), 5U);
  EXPECT_GT(result.latency.count_at_or_above(slow),
            result.uncorrected_latency.count_at_or_above(slow));
  // The request the server held waited the whole stall either way.
  EXPECT_GE(result.uncorrected_latency.max(), std::chrono::nanoseconds(300ms).count());
}

TEST(LoadGenerator, OpenLoopSendsTheScheduledNumberOfRequests) {
  LineServer server;
  auto options = options_for(server);
  options.connections = 4;
  options.threads = 2;
  options.rate = 2000;
  options.requests = 300;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 300U);
  EXPECT_EQ(server.lines(), 300U);
  EXPECT_EQ(result.errors.total(), 0U);
}

TEST(LoadGenerator, ConnectRateRampStillOpensEveryConnection) {
  LineServer server;
  auto options = options_for(server);
  options.connections = 5;
  options.connect_rate = 100;  // one every 10 ms
  options.requests = 100;
  const auto result = LoadGenerator(options).run();
  EXPECT_EQ(result.replies, 100U);
  EXPECT_GE(result.connects, 1U);
  EXPECT_LE(result.connects, 5U);
}

TEST(LoadGenerator, ReportsProgressWhileTheRunLasts) {
  // Two workers publish while run()'s thread reads their snapshots (a case
  // for ThreadSanitizer). Values are only bounded: a starved worker may not
  // have published yet when the first report is due.
  LineServer server;
  auto options = options_for(server);
  options.duration = 1200ms;
  options.connections = 4;
  options.threads = 2;
  std::vector<LoadProgress> reports;
  options.on_progress = [&](const LoadProgress& progress) { reports.push_back(progress); };
  const auto result = LoadGenerator(options).run();
  ASSERT_GE(reports.size(), 1U);
  EXPECT_GE(reports.front().elapsed, 1s);
  EXPECT_FALSE(reports.front().warming_up);
  for (const auto& report : reports) {
    EXPECT_LE(report.open_connections, 4U);
    EXPECT_LE(report.replies, result.replies);
    EXPECT_EQ(report.errors.total(), 0U);
  }
  EXPECT_GT(result.replies, 0U);
}

// The real pizza server (the library's run_server, in this process) with two
// models, pipelined: every order answered with its thank-you line.
TEST(LoadGenerator, DrivesThePizzaServerWithExactCounts) {
  for (const char* model : {"reactor", "poll"}) {
    SCOPED_TRACE(model);
    pizza::ServerOptions server_options;
    server_options.host = "127.0.0.1";
    server_options.port = 0;
    server_options.model = model;
    UniqueFd listener = pizza::open_server_listener(server_options);
    const auto address = SocketAddress::local_of(listener.get());
    ShutdownSignal shutdown;
    std::ostringstream log;
    std::thread server(
        [&] { pizza::run_server(server_options, std::move(listener), shutdown, log); });

    LoadOptions options;
    options.target = address;
    options.connections = 4;
    options.threads = 2;
    options.pipeline = 8;
    options.requests = 2000;
    options.request = "12\n";
    options.expect = "Thank you for ordering 12 pizzas!";
    const auto good = LoadGenerator(options).run();

    options.requests = 100;
    options.request = "0\n";  // not a valid order: every reply is the wrong-number line
    const auto wrong = LoadGenerator(options).run();

    shutdown.request();
    server.join();
    EXPECT_EQ(good.replies, 2000U);
    EXPECT_EQ(good.errors.total(), 0U);
    EXPECT_EQ(wrong.replies, 100U);
    EXPECT_EQ(wrong.errors.unexpected_reply, 100U);
  }
}

// A bound, unlistened port: connecting to it is refused.
class RefusingPort {
 public:
  RefusingPort() : holder_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const auto any_port = SocketAddress::parse("127.0.0.1", 0);
    if (!holder_.valid() || ::bind(holder_.get(), any_port.data(), any_port.size()) != 0) {
      throw std::runtime_error("cannot bind a port on 127.0.0.1");
    }
  }
  [[nodiscard]] SocketAddress address() const { return SocketAddress::local_of(holder_.get()); }

 private:
  UniqueFd holder_;
};

// Which of several LineServers read each line, in the order read: server(id)
// configures a LineServer to log under `id`. Loaded in turns, the log
// switches server about once a turn; loaded together, every few lines.
class ReadLog {
 public:
  [[nodiscard]] std::function<void(LineServer::Options&)> server(int id) {
    return [this, id](LineServer::Options& options) {
      options.on_line = [this, id](std::uint64_t) {
        std::lock_guard lock(mutex_);
        ids_.push_back(id);
      };
    };
  }

  // Once the servers are idle: lines logged, and how often the server changed.
  [[nodiscard]] std::pair<std::size_t, int> lines_and_switches() const {
    std::lock_guard lock(mutex_);
    int switches = 0;
    for (std::size_t i = 1; i < ids_.size(); ++i) {
      switches += ids_[i] != ids_[i - 1] ? 1 : 0;
    }
    return {ids_.size(), switches};
  }

 private:
  mutable std::mutex mutex_;
  std::vector<int> ids_;
};

TEST(LoadGenerator, TurnsGiveEachTargetTheWarmupAndDurationAskedAndReportEachApart) {
  LineServer first([](auto& o) { o.respond = thank_you; });
  LineServer second;
  auto options = options_for(first);
  options.compare_with = {second.address()};
  options.connections = 2;
  options.pipeline = 2;
  options.warmup = 100ms;
  options.duration = 200ms;
  options.turn = 50ms;
  options.expect = "Thank";
  const auto results = LoadGenerator(options).run_each();
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[0].target.to_string(), first.address().to_string());
  EXPECT_EQ(results[1].target.to_string(), second.address().to_string());
  for (const auto& result : results) {
    // Four 50 ms turns each, out of the 400 ms measured: the boundaries fall
    // on turn boundaries, so each target's share is exact.
    EXPECT_EQ(result.measured, 200ms) << result.target.to_string();
    EXPECT_GT(result.replies, 0U) << result.target.to_string();
    EXPECT_EQ(result.replies + result.in_flight_at_end + result.unanswered, result.requests_sent);
    EXPECT_EQ(result.connects, 2U);
  }
  // Each result counts its own server's replies: the second answers "ok",
  // which is not the expected prefix, so only it has unexpected replies (its
  // warm-up's among them: errors count over the whole run).
  EXPECT_EQ(results[0].errors.total(), 0U);
  EXPECT_GE(results[1].errors.unexpected_reply, results[1].replies);
  EXPECT_EQ(results[1].errors.total(), results[1].errors.unexpected_reply);
  EXPECT_LE(results[0].replies, first.lines());
  EXPECT_LE(results[1].replies, second.lines());
}

TEST(LoadGenerator, TargetsInTurnsAreLoadedOneAtATimeNotTogether) {
  // Both servers log which of them read each line, in the order read. Sent
  // together, the two would alternate every few lines; in turns, the log
  // switches server about once a turn (a few more at a boundary, where the
  // last turn's requests may still be read while the next turn's start).
  ReadLog log;
  LineServer first(log.server(0));
  LineServer second(log.server(1));
  LineServer third(log.server(2));
  auto options = options_for(first);
  options.compare_with = {second.address(), third.address()};
  options.connections = 2;
  options.pipeline = 4;
  options.duration = 200ms;
  options.turn = 40ms;
  const auto results = LoadGenerator(options).run_each();
  constexpr int kTurns = 3 * 200 / 40;
  const auto [lines, switches] = log.lines_and_switches();
  for (const auto& result : results) {
    EXPECT_GT(result.replies, 0U);
  }
  EXPECT_GT(lines, static_cast<std::size_t>(20 * kTurns));
  EXPECT_GE(switches, 2);
  // At most the eight requests in flight at each boundary can interleave.
  EXPECT_LE(switches, kTurns * 9) << switches << " switches in " << lines << " lines";
}

TEST(LoadSchedule, SharedTurnsBelongToTheirSlotCountedFromTheOriginIndex) {
  // Three slots; this run's two targets hold slots 1 and 2. Turn k is slot
  // (5 + k) % 3: 2, 0, 1, 2, 0, 1, ...
  detail::LoadSchedule schedule{};
  schedule.targets = 2;
  schedule.turn = 10ms;
  schedule.turn_origin = TimePoint{} + 1s;
  schedule.origin_index = 5;
  schedule.slots = 3;
  schedule.first_slot = 1;
  const TimePoint origin = schedule.turn_origin;
  EXPECT_EQ(schedule.owner_at(origin + 5ms), 1);    // slot 2
  EXPECT_EQ(schedule.owner_at(origin + 15ms), -1);  // slot 0: another process's
  EXPECT_EQ(schedule.owner_at(origin + 25ms), 0);   // slot 1
  EXPECT_EQ(schedule.next_turn_after(origin + 15ms), origin + 20ms);
  EXPECT_EQ(schedule.turn_time(0, origin, origin + 60ms), 20ms);        // turns 2 and 5
  EXPECT_EQ(schedule.turn_time(1, origin, origin + 60ms), 20ms);        // turns 0 and 3
  EXPECT_EQ(schedule.turn_time(1, origin + 5ms, origin + 35ms), 10ms);  // halves of 0 and 3
  EXPECT_EQ(schedule.turn_time(0, origin + 25ms, origin + 25ms), 0ms);
}

TEST(LoadSchedule, NobodySendsInTheDrainThatEndsEveryTurnAndDrainsAreNotMeasured) {
  // Two targets alone: turns of 10 ms, the last 3 ms of each a drain.
  detail::LoadSchedule schedule{};
  schedule.targets = 2;
  schedule.turn = 10ms;
  schedule.drain = 3ms;
  schedule.turn_origin = TimePoint{} + 1s;
  schedule.slots = 2;
  const TimePoint origin = schedule.turn_origin;
  EXPECT_EQ(schedule.sender_at(origin + 6ms), 0);
  EXPECT_EQ(schedule.owner_at(origin + 7ms), 0);
  EXPECT_EQ(schedule.sender_at(origin + 7ms), -1);  // target 0's drain
  EXPECT_EQ(schedule.sender_at(origin + 10ms), 1);
  EXPECT_EQ(schedule.sender_at(origin + 19ms), -1);
  EXPECT_EQ(schedule.turn_time(0, origin, origin + 40ms), 14ms);  // turns 0 and 2, 7 ms each
  EXPECT_EQ(schedule.turn_time(1, origin, origin + 40ms), 14ms);
  EXPECT_EQ(schedule.turn_time(0, origin + 5ms, origin + 9ms), 2ms);   // 5-7 ms
  EXPECT_EQ(schedule.turn_time(1, origin + 5ms, origin + 15ms), 5ms);  // 10-15 ms
  // Without a drain the owner sends to the end of its turn.
  schedule.drain = 0ms;
  EXPECT_EQ(schedule.sender_at(origin + 9ms), 0);
  EXPECT_EQ(schedule.turn_time(0, origin, origin + 40ms), 20ms);
}

TEST(LoadGenerator, TurnsWithADrainStopSendingBeforeTheNextTargetsTurn) {
  // Each server takes 30 ms over every reply, and one connection to each has
  // one request out at a time. In 100 ms turns whose last 60 ms are a drain,
  // a target sends at the start of its turn and again when the reply comes
  // (at about 30 ms, before the drain), and never after: at most 2 requests
  // a turn. Without the drain it would send 4 (at 0, 30, 60 and 90 ms). A
  // slow machine can only make replies later, so fewer requests, never more.
  const auto slow = [](LineServer::Options& o) {
    o.on_line = [](std::uint64_t) { std::this_thread::sleep_for(30ms); };
  };
  LineServer first(slow);
  LineServer second(slow);
  auto options = options_for(first);
  options.compare_with = {second.address()};
  options.connections = 1;
  options.duration = 400ms;
  options.turn = 100ms;
  options.turn_drain = 60ms;
  const auto results = LoadGenerator(options).run_each();
  ASSERT_EQ(results.size(), 2U);
  for (const auto& result : results) {
    EXPECT_EQ(result.measured, 160ms) << "four turns of 100 ms, less four drains of 60 ms";
    EXPECT_GE(result.requests_sent, 1U);
    EXPECT_LE(result.requests_sent, 8U) << result.target.to_string();
    EXPECT_EQ(result.errors.total(), 0U);
  }
}

TEST(LoadGenerator, RunsSharingTurnSlotsTakeTurnsWithoutTalking) {
  // Two generators, as two processes would be, each with one target and its
  // own slot of two: the clock alone keeps them apart.
  ReadLog log;
  LineServer first(log.server(0));
  LineServer second(log.server(1));
  auto options = options_for(first);
  options.connections = 2;
  options.pipeline = 4;
  options.duration = 200ms;
  options.turn = 40ms;
  options.turn_slots = 2;
  auto other_options = options;
  other_options.target = second.address();
  other_options.turn_slot = 1;
  auto other = std::async(std::launch::async,
                          [&other_options] { return LoadGenerator(other_options).run(); });
  const auto result = LoadGenerator(options).run();
  const auto other_result = other.get();
  for (const auto* each : {&result, &other_result}) {
    EXPECT_GT(each->replies, 0U);
    // The run starts anywhere in a turn, so its share is the duration give
    // or take one turn.
    EXPECT_GE(each->measured, 160ms);
    EXPECT_LE(each->measured, 240ms);
  }
  const auto [lines, switches] = log.lines_and_switches();
  constexpr int kTurns = 2 * 200 / 40 + 2;  // and the runs' starts apart
  EXPECT_GE(switches, 2);
  EXPECT_LE(switches, kTurns * 9) << switches << " switches in " << lines << " lines";
}

TEST(LoadGenerator, GivesUpWhenOneTargetInTurnsRefusesEveryConnection) {
  LineServer server;
  RefusingPort refusing;
  auto options = options_for(server);
  options.compare_with = {refusing.address()};
  options.connections = 2;
  options.duration = 5s;
  const auto results = LoadGenerator(options).run_each();
  ASSERT_EQ(results.size(), 2U);
  const std::string expected = "connect to " + refusing.address().to_string() + " failed";
  EXPECT_NE(results[0].abort_reason.find(expected), std::string::npos) << results[0].abort_reason;
  EXPECT_EQ(results[1].errors.connect_failed, 2U);
  EXPECT_EQ(results[0].errors.connect_failed, 0U);
}

TEST(LoadGenerator, RejectsTurnsThatCannotWork) {
  LoadOptions options;
  options.target = SocketAddress::parse("127.0.0.1", 9);
  options.compare_with = {SocketAddress::parse("127.0.0.1", 10)};
  EXPECT_EQ(check_load_options(options), "");

  auto no_port = options;
  no_port.compare_with.push_back(SocketAddress::parse("127.0.0.1", 0));
  EXPECT_NE(check_load_options(no_port).find("--compare-with port is 0"), std::string::npos);

  auto no_turn = options;
  no_turn.turn = 0ms;
  EXPECT_NE(check_load_options(no_turn).find("--turn must be at least 1 ms"), std::string::npos);

  // Phases of whole turns only: -d 150ms in 100 ms turns would give the
  // first target two turns and the second one.
  auto uneven = options;
  uneven.duration = 150ms;
  EXPECT_NE(check_load_options(uneven).find("whole multiples of --turn"), std::string::npos);
  auto uneven_warmup = options;
  uneven_warmup.warmup = 50ms;
  EXPECT_NE(check_load_options(uneven_warmup).find("whole multiples of --turn"), std::string::npos);

  auto endless = options;
  endless.turn_slots = 1000;
  endless.duration = std::chrono::hours(24 * 365 * 10);
  EXPECT_NE(check_load_options(endless).find("more than 30 years"), std::string::npos);
  auto too_many_slots = options;
  too_many_slots.turn_slots = 1001;
  EXPECT_NE(check_load_options(too_many_slots).find("at most 1000 slots"), std::string::npos);

  auto endless_drain = options;
  endless_drain.turn_drain = options.turn;
  EXPECT_NE(check_load_options(endless_drain).find("shorter than --turn"), std::string::npos);
  auto negative_drain = options;
  negative_drain.turn_drain = -1ms;
  EXPECT_NE(check_load_options(negative_drain).find("--turn-drain must be at least 0"),
            std::string::npos);
  auto drain_alone = options;
  drain_alone.compare_with.clear();
  drain_alone.turn_drain = 10ms;
  EXPECT_NE(check_load_options(drain_alone).find("--turn-drain applies only to turns"),
            std::string::npos);

  auto counted = options;
  counted.requests = 100;
  EXPECT_NE(check_load_options(counted).find("need --duration"), std::string::npos);

  auto open_loop = options;
  open_loop.rate = 1000;
  EXPECT_NE(check_load_options(open_loop).find("closed loop only"), std::string::npos);
  EXPECT_THROW(LoadGenerator{open_loop}, std::invalid_argument);

  auto shared = options;
  shared.turn_slots = 3;
  shared.turn_slot = 1;
  EXPECT_EQ(check_load_options(shared), "");
  shared.turn_slot = 2;  // two targets from slot 2 of 3: no room
  EXPECT_NE(check_load_options(shared).find("leaves no room"), std::string::npos);

  auto too_many = options;
  too_many.connections = 10'000;
  too_many.pipeline = 600;  // 6 million per target: fine alone, not twice over
  auto alone = too_many;
  alone.compare_with.clear();
  EXPECT_EQ(check_load_options(alone), "");
  EXPECT_NE(check_load_options(too_many).find("to each of 2 targets"), std::string::npos);
}

TEST(LoadGenerator, RejectsOptionsThatCannotWork) {
  LoadOptions options;
  options.target = SocketAddress::parse("127.0.0.1", 9);
  EXPECT_EQ(check_load_options(options), "");

  auto rate_too_low = options;
  rate_too_low.connections = 100;
  rate_too_low.rate = 50;
  EXPECT_NE(check_load_options(rate_too_low).find("below --connections"), std::string::npos);
  EXPECT_THROW(LoadGenerator{rate_too_low}, std::invalid_argument);

  auto too_many_threads = options;
  too_many_threads.threads = 20;
  EXPECT_NE(check_load_options(too_many_threads).find("--threads"), std::string::npos);

  auto no_newline = options;
  no_newline.request = "PING";
  EXPECT_NE(check_load_options(no_newline).find("newline"), std::string::npos);

  auto no_port = options;
  no_port.target = SocketAddress::parse("127.0.0.1", 0);
  EXPECT_NE(check_load_options(no_port).find("port"), std::string::npos);
}

TEST(LoadGenerator, ResolvesTargetsAndExplainsBadOnes) {
  EXPECT_EQ(resolve_load_target("12345").to_string(), "127.0.0.1:12345");
  EXPECT_EQ(resolve_load_target("127.0.0.1:80").to_string(), "127.0.0.1:80");
  EXPECT_EQ(resolve_load_target("localhost:6379").to_string(), "127.0.0.1:6379");
  EXPECT_EQ(resolve_load_target("[::1]:80").to_string(), "[::1]:80");
  try {
    (void)resolve_load_target("127.0.0.1:70000");
    FAIL() << "port 70000 accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("out of range"), std::string::npos) << error.what();
  }
  EXPECT_THROW((void)resolve_load_target("0"), std::invalid_argument);
  EXPECT_THROW((void)resolve_load_target("host:http"), std::invalid_argument);
  EXPECT_THROW((void)resolve_load_target(":80"), std::invalid_argument);
  EXPECT_THROW((void)resolve_load_target("::1:80"), std::invalid_argument);
}

TEST(LoadGenerator, UnescapesRequestText) {
  EXPECT_EQ(unescape_request("PING\\r\\n"), "PING\r\n");
  EXPECT_EQ(unescape_request("3\\n"), "3\n");
  EXPECT_EQ(unescape_request("a\\\\b\\t"), "a\\b\t");
  EXPECT_THROW((void)unescape_request("bad\\x"), std::invalid_argument);
  EXPECT_THROW((void)unescape_request("bad\\"), std::invalid_argument);
}

TEST(LoadGenerator, RaisesTheOpenFileLimitToTheHardLimit) {
  const auto limit = raise_open_file_limit();
  EXPECT_GT(limit, 0U);
  EXPECT_EQ(raise_open_file_limit(), limit);
}

}  // namespace
}  // namespace pz

namespace pz {
namespace {

std::uint64_t timeline_replies(const LoadResult& result) {
  std::uint64_t sum = 0;
  for (const auto& second : result.timeline) {
    sum += second.replies;
  }
  return sum;
}

TEST(LoadGeneratorTimeline, CountsEveryMeasuredReplyAndErrorInExactlyOneSecond) {
  LineServer server([](auto& o) {
    o.respond = [](std::string_view, std::uint64_t number) {
      return number % 10 == 0 ? std::string("no\n") : std::string("ok\n");
    };
  });
  auto options = options_for(server);
  options.connections = 4;
  options.threads = 2;
  options.pipeline = 4;
  options.requests = 2000;
  options.expect = "ok";
  const auto result = LoadGenerator(options).run();
  ASSERT_EQ(result.replies, 2000U);
  ASSERT_FALSE(result.timeline.empty());
  EXPECT_EQ(timeline_replies(result), 2000U);
  LoadErrors errors;
  for (const auto& second : result.timeline) {
    errors += second.errors;
    if (second.replies > 0) {
      EXPECT_LE(second.p50, second.p99);
      EXPECT_LE(second.p99, second.p99_9);
      EXPECT_GE(second.p50, result.latency.min());
      // Per-second values are bucket values: at most one bucket above the max.
      EXPECT_LE(second.p99_9, LatencyHistogram::bucket_highest(
                                  LatencyHistogram::bucket_index(result.latency.max())));
    }
  }
  EXPECT_EQ(errors.unexpected_reply, 200U);
  EXPECT_EQ(errors.total(), result.errors.total());
}

TEST(LoadGeneratorTimeline, KeepsTheFirstHourAndCompactsASecondToItsNonZeroBuckets) {
  detail::TargetTimeline timeline;
  ASSERT_NE(timeline.at(kMaxTimelineSeconds - 1), nullptr);
  EXPECT_EQ(timeline.seconds.size(), kMaxTimelineSeconds);
  EXPECT_EQ(timeline.at(kMaxTimelineSeconds), nullptr);
  EXPECT_EQ(timeline.seconds.size(), kMaxTimelineSeconds);
  timeline.current_second = 7;
  timeline.current.record(1'000);
  timeline.current.record(1'000);
  timeline.current.record(5'000'000);
  timeline.compact();
  EXPECT_TRUE(timeline.current.empty());
  const auto& buckets = timeline.seconds[7].buckets;
  ASSERT_EQ(buckets.size(), 2U);
  EXPECT_EQ(buckets[0].first, LatencyHistogram::bucket_index(1'000));
  EXPECT_EQ(buckets[0].second, 2U);
  EXPECT_EQ(buckets[1].first, LatencyHistogram::bucket_index(5'000'000));
  EXPECT_EQ(buckets[1].second, 1U);
  // A second past the cap is dropped from the timeline, not kept growing.
  timeline.current_second = kMaxTimelineSeconds + 5;
  timeline.current.record(1'000);
  timeline.compact();
  EXPECT_TRUE(timeline.current.empty());
  EXPECT_EQ(timeline.seconds.size(), kMaxTimelineSeconds);
}

TEST(LoadGeneratorTimeline, ASecondWithoutRepliesShowsAsZerosBetweenTheOthers) {
  // The 30th line stalls the server for 2.2 s: no reply comes for longer
  // than 2 s, so at least one whole second between the first reply and the
  // last has none, wherever the stall falls.
  LineServer server([](auto& o) {
    o.stall_before_line = 30;
    o.stall_for = 2200ms;
  });
  auto options = options_for(server);
  options.requests = 60;
  options.timeout = 10s;
  const auto result = LoadGenerator(options).run();
  ASSERT_EQ(result.replies, 60U);
  ASSERT_GE(result.timeline.size(), 3U);
  EXPECT_EQ(timeline_replies(result), 60U);
  bool silent_second = false;
  for (std::size_t i = 1; i + 1 < result.timeline.size(); ++i) {
    if (result.timeline[i].replies == 0) {
      silent_second = true;
      EXPECT_EQ(result.timeline[i].p99, 0U);
    }
  }
  EXPECT_TRUE(silent_second);
  EXPECT_GT(result.timeline.back().replies, 0U);
  // The reply that waited out the stall is in the last second's tail.
  EXPECT_GE(result.timeline.back().p99_9, 2'000'000'000U);
}

}  // namespace
}  // namespace pz
