// `threads`: a thread per connection, blocking I/O (seed 000's first server,
// Exercise 4). Simple, and each client may block as long as it likes without
// holding up the others; the cost is a thread (stack, scheduler entry,
// context switches) per client, which Exercise 5 asks about. When no thread
// can be started (memory, RLIMIT_NPROC) the client gets the busy reply
// instead of crashing the server.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "pizza/models/blocking_connection.hpp"
#include "pizza/models/models.hpp"
#include "pizza/models/pizza_connection.hpp"
#include "pizzeria/core/system_error.hpp"

namespace pz::pizza {

namespace {

// Connection threads, joined once finished. A finished thread leaves its id
// here and wakes the acceptor (reaped_fd), which joins it: no thread ever
// joins itself, none outlives run(), and a finished thread's stack is freed
// promptly rather than at the next accept.
class ConnectionThreads {
 public:
  ConnectionThreads() : finished_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!finished_event_) {
      throw_errno("eventfd for the threads model");
    }
  }

  // Readable while finished threads wait to be joined.
  [[nodiscard]] int finished_fd() const noexcept { return finished_event_.get(); }

  template <class Body>
  void start(Body body) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = next_id_++;
    threads_.emplace(id, std::thread([this, id, body = std::move(body)]() mutable {
                       body();
                       std::lock_guard finished_lock(mutex_);
                       finished_.push_back(id);
                       const std::uint64_t one = 1;
                       [[maybe_unused]] const auto written =
                           ::write(finished_event_.get(), &one, sizeof(one));
                     }));
  }

  void join_finished() {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto got = ::read(finished_event_.get(), &count, sizeof(count));
    std::vector<std::thread> done;
    {
      std::lock_guard lock(mutex_);
      for (const std::uint64_t id : finished_) {
        auto node = threads_.extract(id);
        done.push_back(std::move(node.mapped()));
      }
      finished_.clear();
    }
    for (std::thread& thread : done) {
      thread.join();
    }
  }

  void join_all() {
    while (true) {
      std::unordered_map<std::uint64_t, std::thread> all;
      {
        std::lock_guard lock(mutex_);
        all.swap(threads_);
        finished_.clear();
      }
      if (all.empty()) {
        return;
      }
      for (auto& [id, thread] : all) {
        thread.join();
      }
    }
  }

 private:
  UniqueFd finished_event_;
  std::mutex mutex_;
  std::uint64_t next_id_ = 0;                               // guarded by mutex_
  std::unordered_map<std::uint64_t, std::thread> threads_;  // guarded by mutex_
  std::vector<std::uint64_t> finished_;                     // guarded by mutex_
};

void run_threads(ServerContext& context) {
  ConnectionThreads threads;
  while (!context.stopping()) {
    // During an accept pause the listener is left out (it stays readable).
    const auto now = PizzaConnection::Clock::now();
    const auto [listening, wake_at] = context.listener_wait(now);
    pollfd fds[3] = {{listening ? context.listener() : -1, POLLIN, 0},
                     {context.shutdown_fd(), POLLIN, 0},
                     {threads.finished_fd(), POLLIN, 0}};
    if (::poll(fds, 3, poll_timeout_ms(wake_at, now)) < 0 && errno != EINTR) {
      break;
    }
    threads.join_finished();
    if (!listening || (fds[0].revents & POLLIN) == 0 || context.stopping()) {
      continue;
    }
    std::optional<AcceptedClient> client = context.accept();
    if (!client) {
      continue;
    }
    // Held outside the thread's closure so a failed thread start can still
    // answer the client.
    auto shared = std::make_shared<AcceptedClient>(std::move(*client));
    try {
      threads.start([&context, shared] { serve_connection_blocking(context, std::move(*shared)); });
    } catch (const std::system_error& error) {
      context.verbose("Refused {}: cannot start a thread: {}", shared->peer.to_string(),
                      error.what());
      context.refuse(std::move(shared->fd));
    }
  }
  context.close_listener();
  threads.join_all();
}

}  // namespace

const ServerModel kThreadsModel{
    .name = "threads",
    .summary = "a thread per connection, blocking I/O (the seed's first server)",
    .run = run_threads,
};

}  // namespace pz::pizza
