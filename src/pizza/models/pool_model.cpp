// `pool`: a fixed pz::ThreadPool does the work with blocking I/O; one
// dispatcher thread only waits (poll) for connections with input and queues
// them (the half-sync/half-async pattern of Apache's worker MPM or a servlet
// container). Threads stay bounded however many clients come, unlike
// `threads`. The lesson is in the blocking: during its turn a worker waits
// for its client to take the replies, so a few slow readers can occupy every
// worker for a while; each turn is bounded by kTurnLimit, after which the
// connection goes back to the dispatcher (so ready clients get a worker),
// and by the request, idle and shutdown deadlines, never by the client's
// goodwill.
//
// A connection is owned by exactly one side at a time: the dispatcher while
// idle, a queued or running task during its turn, which hands it back
// through `returned` and wakes the dispatcher with an eventfd.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/exec/thread_pool.hpp"

namespace pz::pizza {

namespace {

using Clock = PizzaConnection::Clock;

// Connections coming back from their turn on a worker.
class ReturnedConnections {
 public:
  ReturnedConnections() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!wake_) {
      throw_errno("eventfd for the pool model's dispatcher");
    }
  }

  void give_back(std::unique_ptr<PizzaConnection> connection) {
    {
      std::lock_guard lock(mutex_);
      connections_.push_back(std::move(connection));
      --on_workers_;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof(one));
  }
  // A turn that closed its connection gives back nothing but must be counted.
  void finished_closed() {
    {
      std::lock_guard lock(mutex_);
      --on_workers_;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wake_.get(), &one, sizeof(one));
  }
  void handed_out() {
    std::lock_guard lock(mutex_);
    ++on_workers_;
  }

  // Moves the returned connections into `idle`; returns how many
  // connections are still out on workers.
  std::size_t collect(std::vector<std::unique_ptr<PizzaConnection>>& idle) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto got = ::read(wake_.get(), &count, sizeof(count));
    std::lock_guard lock(mutex_);
    for (auto& connection : connections_) {
      idle.push_back(std::move(connection));
    }
    connections_.clear();
    return on_workers_;
  }

  [[nodiscard]] int fd() const noexcept { return wake_.get(); }

 private:
  UniqueFd wake_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<PizzaConnection>> connections_;  // guarded by mutex_
  std::size_t on_workers_ = 0;                                 // guarded by mutex_
};

// The longest turn: a client that keeps sending, or reads its replies
// slowly, goes back to the dispatcher after this, so a few such clients
// cannot hold every worker while ready clients queue behind them.
constexpr std::chrono::milliseconds kTurnLimit{100};

// One turn on a worker: serve the connection with blocking waits until it
// has nothing more to say right now, or its turn is up, then give it back
// (or close it).
void take_turn(ServerContext& context, ReturnedConnections& returned,
               std::unique_ptr<PizzaConnection> connection) {
  const auto turn_ends = Clock::now() + kTurnLimit;
  while (true) {
    const auto now = Clock::now();
    const bool stopping = context.stopping();
    const bool progress = connection->service(/*readable=*/true, stopping, now);
    if (connection->close_if_over(context, now)) {
      returned.finished_closed();
      return;
    }
    if (now >= turn_ends) {
      returned.give_back(std::move(connection));  // the others' turn
      return;
    }
    const auto close_by = std::min(connection->close_by(context), turn_ends);
    if (connection->wants_write()) {
      // The blocking part: wait for the client to take our replies, or for
      // a stop request, which brings close_by forward to the shutdown
      // deadline. (Without it, a turn that began waiting before the signal
      // slept on until the idle timeout, and for ever with --idle-timeout 0,
      // so the server outlived its shutdown deadline.) Once stopping, the
      // shutdown eventfd stays readable and is left out.
      pollfd fds[2] = {{connection->fd(), POLLOUT, 0},
                       {stopping ? -1 : context.shutdown_fd(), POLLIN, 0}};
      ::poll(fds, 2, poll_timeout_ms(close_by, now));
      continue;
    }
    if (!progress) {
      returned.give_back(std::move(connection));  // quiet: back to waiting
      return;
    }
  }
}

void run_pool(ServerContext& context) {
  // Blocking workers spend their turns waiting on clients: more than cores.
  const unsigned fallback = 4 * std::max(1U, std::thread::hardware_concurrency());
  ReturnedConnections returned;
  std::vector<std::unique_ptr<PizzaConnection>> idle;
  std::vector<pollfd> fds;
  {
    ThreadPool pool(ThreadPoolOptions{.threads = context.workers_or(fallback), .name = "pz-pizza"});
    const auto dispatch = [&](std::unique_ptr<PizzaConnection> connection) {
      returned.handed_out();
      pool.post([&context, &returned, connection = std::move(connection)]() mutable {
        take_turn(context, returned, std::move(connection));
      });
    };
    bool accepting = true;
    while (true) {
      const bool stopping = context.stopping();
      if (stopping && accepting) {
        context.close_listener();
        accepting = false;
      }
      returned.collect(idle);
      if (stopping) {
        // Every connection takes one more turn, which drains what the kernel
        // holds, answers it and closes.
        for (auto& connection : idle) {
          dispatch(std::move(connection));
        }
        idle.clear();
        // Turns taken while stopping close their connection, so this ends.
        if (returned.collect(idle) == 0 && idle.empty()) {
          break;
        }
      }
      auto now = Clock::now();
      // During an accept pause the listener is left out (it stays readable).
      const auto pause = context.listener_wait(now);
      const bool listening = accepting && pause.listening;
      fds.clear();
      fds.push_back({listening ? context.listener() : -1, POLLIN, 0});
      fds.push_back({accepting ? context.shutdown_fd() : -1, POLLIN, 0});
      fds.push_back({returned.fd(), POLLIN, 0});
      auto wake_at = accepting ? pause.wake_at : Clock::time_point::max();
      for (const auto& connection : idle) {
        // Back from a turn cut short, it may wait to write (its client
        // reads slowly) rather than to read.
        fds.push_back({connection->fd(),
                       static_cast<short>((connection->wants_read() ? POLLIN : 0) |
                                          (connection->wants_write() ? POLLOUT : 0)),
                       0});
        wake_at = std::min(wake_at, connection->close_by(context));
      }
      const int ready = ::poll(fds.data(), fds.size(), poll_timeout_ms(wake_at, now));
      if (ready < 0 && errno != EINTR) {
        throw_errno("poll in the pool model's dispatcher");
      }
      now = Clock::now();
      std::size_t kept = 0;
      for (std::size_t i = 0; i < idle.size(); ++i) {
        if (ready > 0 && fds[3 + i].revents != 0) {
          dispatch(std::move(idle[i]));
        } else if (!idle[i]->close_if_over(context, now)) {
          idle[kept++] = std::move(idle[i]);
        }
      }
      idle.resize(kept);
      if (listening && ready > 0 && (fds[0].revents & POLLIN) != 0) {
        while (std::optional<AcceptedClient> client = context.accept()) {
          idle.push_back(std::make_unique<PizzaConnection>(std::move(*client),
                                                           context.options().max_order, now));
        }
      }
    }
    pool.shutdown(/*wait=*/true, /*cancel_pending=*/false);
  }
}

}  // namespace

const ServerModel kPoolModel{
    .name = "pool",
    .summary =
        "a fixed thread pool (--workers, default 4 per core) doing blocking I/O; one "
        "thread dispatches ready connections",
    .counts_workers = true,
    .run = run_pool,
};

}  // namespace pz::pizza
