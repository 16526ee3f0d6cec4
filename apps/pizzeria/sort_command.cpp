// `pizzeria sort-server` and `pizzeria sort-client`: the seed's remote sort
// (seed 002, sections 0.14 and 0.15), TCP port 2015 by default.
//
// Frame: an 8-byte big-endian length, then that many bytes of a JSON array of
// numbers as Python's json.dumps writes it. Reply: the same array sorted
// (pz::programs::sort_json_numbers: same texts and separators, so exactly the
// request's length), with no length prefix; then the server closes. The
// sorting runs in a pz::ProcessPool, off the event loop, as the seed's
// run_in_executor with a ProcessPoolExecutor does. A frame over --max-frame,
// a short frame, invalid JSON or a non-number closes only that connection,
// with a logged error.
//
// What a client can make the server hold is what it has sent: the body's
// buffer grows with the bytes that arrive (at most twice them plus 64 KiB),
// never to the length a header merely declares, or 100 eight-byte headers
// would pin 1.6 GB. A connection that makes no progress (no bytes in while
// its frame is incomplete, none out while its reply waits) for
// --idle-timeout seconds is closed, so clients that connect and stall
// cannot keep descriptors and buffers forever. Beyond --max-connections
// open connections, a new one is accepted and closed at once (logged): the
// protocol has no busy reply, so the client sees the connection close
// before any reply, at once, instead of queueing behind thousands of others.
#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <list>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/fd_watch.hpp"
#include "pizzeria/core/handle.hpp"
#include "pizzeria/core/system_error.hpp"
#include "pizzeria/core/timer_handle.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/event.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/coro/task_group.hpp"
#include "pizzeria/coro/timeout.hpp"
#include "pizzeria/coro/timeout_error.hpp"
#include "pizzeria/exec/future_awaiter.hpp"
#include "pizzeria/exec/process_pool.hpp"
#include "pizzeria/exec/task_registry.hpp"
#include "pizzeria/net/accept_throttle.hpp"
#include "pizzeria/net/incomplete_read_error.hpp"
#include "pizzeria/net/listen_socket.hpp"
#include "pizzeria/net/open_connection.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/load_generator.hpp"
#include "pizzeria/programs/json_number_sort.hpp"

namespace pz::app {

namespace {

constexpr std::uint16_t kSortPort = 2015;  // the seed's port

// The wire format carries std::string, not string_view: a by-value wrapper.
std::string sort_json_task(std::string json) {
  return programs::sort_json_numbers(json);
}
// Idempotent (a pure function of the list): a request whose worker dies is
// sorted again on another instead of failing.
const auto kSortJson = register_task("pizzeria.sort.json", &sort_json_task).idempotent();

struct SortServerArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = kSortPort;
  std::size_t workers = 0;
  std::uint64_t max_frame = 16 * 1024 * 1024;
  double idle_timeout = 60;  // seconds; 0 = never
  // 1,000: the usual soft RLIMIT_NOFILE is 1,024, so this sheds load by the
  // server's own rule (an immediate close the client sees) before accept4
  // meets EMFILE, leaving room for the listener, the pool's pipes and stdio.
  // It also bounds memory: each connection holds at most its socket
  // buffers and the body it has sent (64 KiB for a 10,000-number list), so
  // 1,000 of them hold tens of MB where a storm had queued 8,865 and
  // ~600 MB. And 1,000 requests waiting for a few sorting processes are
  // already about a second of work: a client further back would wait
  // longer than being told at once to come back.
  std::size_t max_connections = 1000;
};

struct SortClientArguments {
  std::string host = "127.0.0.1";
  std::uint16_t port = kSortPort;
  int count = 10000;      // the seed's list of 10,000 numbers below 10,000
  int connections = 0;    // > 0: load mode (see load_sorts)
  double duration = 5.0;  // load mode: seconds
  // Seconds a request may take, connect to reply; in load mode a request
  // over it fails (and its client starts the next), so a silent server
  // cannot hold the run beyond --duration plus this.
  double timeout = 30.0;
};

// The server is callback-driven on the EventLoop rather than a coroutine
// per connection: each request is one short-lived connection, so what it
// costs is system calls and hops between threads and processes, and this
// shape does the fewest (docs/benchmarks.md, sort-server, has the counts):
// - accept4 until the backlog is empty, non-blocking and close-on-exec at
//   once, the peer address from accept4 itself;
// - the frame read with one recv when it has arrived already (the usual
//   case); the loop watches the fd only if it has not;
// - complete frames are gathered while the loop iteration runs and go to the
//   ProcessPool as batches (ProcessPool::submit_batch: one message to one
//   worker and one back for the whole batch), at most two batches per
//   worker in flight, so batches grow by themselves when requests arrive
//   faster than the workers answer, and a worker that finishes one batch
//   finds the next already queued in the pool instead of idling while its
//   results go back to the loop and a new batch is built (with the seed's
//   10,000-number lists: 6,513 against 6,336 requests/s, medians of 5
//   alternating rounds, 4 of 5 pairs ahead);
// - the reply is one send, then close.
class SortServer {
 public:
  SortServer(EventLoop& loop, ProcessPool& pool, int listen_fd, std::uint64_t max_frame,
             Duration idle_timeout, std::size_t max_connections, TaskGroup& batches)
      : loop_(loop),
        pool_(pool),
        listen_fd_(listen_fd),
        max_frame_(max_frame),
        idle_timeout_(idle_timeout),
        max_connections_(max_connections),
        batches_(batches),
        max_in_flight_(2 * std::max<std::size_t>(1, pool.worker_count())),
        throttle_(AcceptThrottleOptions{.first_pause = std::chrono::milliseconds(10),
                                        .last_pause = std::chrono::seconds(1),
                                        .keep_spare = false,
                                        .label = SocketAddress::local_of(listen_fd).to_string(),
                                        .log =
                                            [](std::string_view line) {
                                              std::fprintf(stderr, "sort-server: %.*s\n",
                                                           static_cast<int>(line.size()),
                                                           line.data());
                                            }}),
        listener_(loop.watch(listen_fd, Interest::readable, [this](IoEvents) { accept_all(); })) {}
  SortServer(const SortServer&) = delete;
  SortServer& operator=(const SortServer&) = delete;
  ~SortServer() {
    stop();
    // A timer left armed would call back into a destroyed server.
    for (Connection& connection : connections_) {
      connection.idle_timer.cancel();
    }
  }

  // Stops accepting; connections still open are closed by the destructor,
  // after the batches (which point at them) have been joined.
  void stop() {
    stopped_ = true;
    listener_.reset();
    resume_accepting_.cancel();
    flush_call_.cancel();
    refusal_log_timer_.cancel();
    if (refused_unlogged_ > 0) {
      last_refusal_log_ = TimePoint{};  // the last word on refusals, now
      log_refusals();
    }
    pending_.clear();
  }

 private:
  struct Connection {
    UniqueFd fd;
    FdWatch watch;
    SocketAddress peer;
    std::uint64_t length = 0;  // the frame's, once its header is in
    std::size_t header_have = 0;
    unsigned char header[8] = {};
    std::string data;      // the body as it arrives (grown with it), then the reply
    std::size_t done = 0;  // body bytes read, then reply bytes sent
    bool has_header = false;
    // Armed only while the connection waits on its client (the usual
    // request is read and answered without waiting, and needs none).
    TimerHandle idle_timer;
    TimePoint last_progress{};
  };
  using Connections = std::list<Connection>;

  void accept_all() {
    // Bounded per iteration, so a flood of connections cannot starve replies.
    for (int i = 0; i < 256; ++i) {
      // Through the accept throttle every server shares (pz::AcceptThrottle):
      // out of descriptors or kernel memory, accepting pauses from 10 ms
      // doubling to 1 s (the clients wait in the backlog), the listener
      // unwatched meanwhile so that the loop cannot spin on it. No spare
      // descriptor: the protocol has no busy reply to send with it.
      AcceptThrottle::Result accepted;
      try {
        accepted = throttle_.accept(listen_fd_, loop_.time(), SOCK_NONBLOCK);
      } catch (const std::system_error& error) {
        std::fprintf(stderr, "sort-server: %s\n", error.what());
        break;
      }
      if (accepted.outcome == AcceptThrottle::Outcome::paused) {
        listener_.set_interest(Interest::none);
        resume_accepting_ = loop_.call_at(throttle_.paused_until(),
                                          [this] { listener_.set_interest(Interest::readable); });
        break;
      }
      if (accepted.outcome == AcceptThrottle::Outcome::none) {
        if (accepted.error == EAGAIN || accepted.error == EWOULDBLOCK) {
          break;
        }
        continue;  // that client gave up; the next may be fine
      }
      if (accepted.outcome == AcceptThrottle::Outcome::refuse) {
        continue;  // not returned without keep_spare; closed if it were
      }
      const auto peer = SocketAddress::from_sockaddr(
          reinterpret_cast<const sockaddr*>(&accepted.peer), accepted.peer_length);
      if (connections_.size() >= max_connections_) {
        // Accepted only to be closed: left in the backlog it would wait
        // there, and its client with it, until the backlog overflows.
        accepted.client.reset();
        ++refused_unlogged_;
        open_at_last_refusal_ = connections_.size();
        last_refused_ = peer;
        continue;
      }
      connections_.emplace_front();
      Connection& connection = connections_.front();
      connection.fd = std::move(accepted.client);
      connection.peer = peer;
      read_some(connections_.begin());
    }
    if (refused_unlogged_ > 0) {
      log_refusals();
    }
  }

  // At most one line a second, however the refusals come (one client at a
  // time makes a burst per client): a storm must not turn into a storm of
  // writes to the log. A line due within the second waits for a timer.
  void log_refusals() {
    const TimePoint now = loop_.time();
    if (now < last_refusal_log_ + std::chrono::seconds(1)) {
      if (!refusal_log_timer_.pending()) {
        refusal_log_timer_ =
            loop_.call_at(last_refusal_log_ + std::chrono::seconds(1), [this] { log_refusals(); });
      }
      return;
    }
    last_refusal_log_ = now;
    std::fprintf(stderr,
                 "sort-server: %zu connections open (--max-connections %zu): closed %zu new "
                 "connection(s) at once, the last from %s\n",
                 open_at_last_refusal_, max_connections_, refused_unlogged_,
                 last_refused_.to_string().c_str());
    refused_unlogged_ = 0;
  }

  void read_some(Connections::iterator it) {
    Connection& c = *it;
    for (;;) {
      ssize_t got = 0;
      if (!c.has_header) {
        // The header and (usually) the whole body in one call: the body goes
        // to a scratch buffer until its size is known.
        got = ::recv(c.fd.get(), scratch_.data(), scratch_.size(), 0);
        if (got > 0) {
          c.last_progress = loop_.time();  // a header's bytes are progress too
          std::size_t used = take_header(c, static_cast<std::size_t>(got));
          if (!c.has_header) {
            continue;
          }
          if (c.length > max_frame_) {
            return fail(it, "frame of " + std::to_string(c.length) + " bytes exceeds --max-frame " +
                                std::to_string(max_frame_));
          }
          const std::size_t body = std::min<std::size_t>(static_cast<std::size_t>(got) - used,
                                                         static_cast<std::size_t>(c.length));
          grow_body(c, body);
          std::memcpy(c.data.data(), scratch_.data() + used, body);
          c.done = body;
        }
      } else {
        grow_body(c, c.done + 1);
        got = ::recv(c.fd.get(), c.data.data() + c.done, c.data.size() - c.done, 0);
        if (got > 0) {
          c.done += static_cast<std::size_t>(got);
          c.last_progress = loop_.time();
        }
      }
      if (got > 0 && c.has_header && c.done == c.length) {
        // Anything after the frame is ignored, as a reader that reads
        // exactly the frame would.
        if (c.watch) {
          c.watch.set_interest(Interest::none);  // nothing to hear while sorting
        }
        // Sorting is the server's wait, not the client's: no timeout, and a
        // batch holds this iterator, so nothing may close the connection.
        c.idle_timer.cancel();
        pending_.push_back(it);
        schedule_flush();
        return;
      }
      if (got == 0) {
        return fail(it, "client closed the connection after " +
                            std::to_string(c.has_header ? 8 + c.done : c.header_have) + " of " +
                            (c.has_header ? std::to_string(8 + c.length) : std::string("8+")) +
                            " bytes");
      }
      if (got < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (!c.watch) {
            c.watch = loop_.watch(c.fd.get(), Interest::readable,
                                  [this, it](IoEvents) { read_some(it); });
            start_idle_timer(it);
          }
          return;
        }
        return fail(it, std::string("reading the request failed: ") + std::strerror(errno));
      }
    }
  }

  // Copies header bytes from the scratch buffer; returns how many it used.
  std::size_t take_header(Connection& c, std::size_t got) {
    const std::size_t used = std::min(got, sizeof c.header - c.header_have);
    std::memcpy(c.header + c.header_have, scratch_.data(), used);
    c.header_have += used;
    if (c.header_have == sizeof c.header) {
      c.has_header = true;
      for (const unsigned char byte : c.header) {
        c.length = (c.length << 8) | byte;
      }
    }
    return used;
  }

  // Makes room in the body for at least `need` bytes (never beyond the
  // declared length), growing geometrically from 64 KiB: the buffer follows
  // the bytes that have arrived, not the length the header claims.
  static void grow_body(Connection& c, std::size_t need) {
    const auto length = static_cast<std::size_t>(c.length);
    if (c.data.size() >= need || c.data.size() == length) {
      return;
    }
    constexpr std::size_t kFirstChunk = 64 * 1024;
    c.data.resize(std::min(length, std::max({need, 2 * c.data.size(), kFirstChunk})));
  }

  // While the connection waits on its client; closes it once the client has
  // made no progress for the idle timeout. Progress does not touch the timer
  // (no timer call per recv): when it fires early, it re-arms for the rest.
  void start_idle_timer(Connections::iterator it) {
    if (idle_timeout_ <= Duration::zero()) {
      return;
    }
    it->idle_timer.cancel();  // a reply that blocks again re-arms it
    it->last_progress = loop_.time();
    arm_idle_timer(it);
  }
  void arm_idle_timer(Connections::iterator it) {
    it->idle_timer = loop_.call_at(it->last_progress + idle_timeout_, [this, it] {
      if (loop_.time() < it->last_progress + idle_timeout_) {
        arm_idle_timer(it);
        return;
      }
      fail(it, fmt::format("no progress for {:g} s (--idle-timeout)",
                           std::chrono::duration<double>(idle_timeout_).count()));
    });
  }

  void schedule_flush() {
    if (!flush_scheduled_) {
      flush_scheduled_ = true;
      // Runs after this iteration's I/O callbacks, so every frame that came
      // in with them joins the same batch.
      // Kept, so stop() can cancel it: it must not run on a stopped (and
      // then destroyed) server.
      flush_call_ = loop_.call_soon([this] {
        flush_scheduled_ = false;
        flush();
      });
    }
  }

  // Splits what is pending over the workers that have no batch.
  void flush() {
    // Once stopped, no new batch: a frame completed while the batches are
    // joined waits in pending_ and its connection is closed with the rest.
    while (!stopped_ && !pending_.empty() && in_flight_ < max_in_flight_) {
      const std::size_t slots = max_in_flight_ - in_flight_;
      const std::size_t take = (pending_.size() + slots - 1) / slots;
      std::vector<Connections::iterator> batch(pending_.begin(), pending_.begin() + take);
      pending_.erase(pending_.begin(), pending_.begin() + take);
      ++in_flight_;
      batches_.spawn(sort_batch(std::move(batch)));
    }
  }

  Task<void> sort_batch(std::vector<Connections::iterator> batch) {
    std::vector<std::string> bodies;
    bodies.reserve(batch.size());
    for (auto it : batch) {
      bodies.push_back(std::move(it->data));
    }
    std::vector<Future<std::string>> sorted;
    try {
      sorted = co_await pool_.submit_batch(kSortJson, std::move(bodies));
    } catch (const CancelledError&) {
      throw;  // the server is stopping
    } catch (const std::exception& error) {
      // The whole batch was lost (its worker died, say): each client hears
      // of it by its connection closing.
      for (auto it : batch) {
        fail(it, std::string("sorting failed: ") + error.what());
      }
    }
    // One connection at a time from here: replying may close and erase a
    // connection, so nothing after this point may go back over the batch.
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      try {
        batch[i]->data = std::move(sorted[i]).result();
        batch[i]->done = 0;
      } catch (const std::exception& error) {
        fail(batch[i], error.what());
        continue;
      }
      write_some(batch[i]);
    }
    --in_flight_;
    flush();
  }

  void write_some(Connections::iterator it) {
    Connection& c = *it;
    while (c.done < c.data.size()) {
      // MSG_MORE: close() follows at once, and the kernel then sends the
      // FIN in the reply's last segment instead of a segment of its own.
      const ssize_t sent = ::send(c.fd.get(), c.data.data() + c.done, c.data.size() - c.done,
                                  MSG_NOSIGNAL | MSG_MORE);
      if (sent >= 0) {
        c.done += static_cast<std::size_t>(sent);
        c.last_progress = loop_.time();
        continue;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // A large reply the socket buffer cannot take at once.
        if (c.watch) {
          c.watch.reset();
        }
        c.watch =
            loop_.watch(c.fd.get(), Interest::writable, [this, it](IoEvents) { write_some(it); });
        start_idle_timer(it);
        return;
      }
      return fail(it, std::string("sending the reply failed: ") + std::strerror(errno));
    }
    // Everything is in the kernel's hands; close sends it, then the FIN.
    close(it);
  }

  void fail(Connections::iterator it, const std::string& why) {
    std::fprintf(stderr, "sort-server: %s: %s; closing the connection\n",
                 it->peer.to_string().c_str(), why.c_str());
    close(it);
  }

  void close(Connections::iterator it) {
    it->idle_timer.cancel();  // its callback holds the iterator
    it->watch.reset();        // before the fd closes (see FdWatch)
    connections_.erase(it);
  }

  EventLoop& loop_;
  ProcessPool& pool_;
  int listen_fd_;
  std::uint64_t max_frame_;
  Duration idle_timeout_;
  std::size_t max_connections_;
  TaskGroup& batches_;
  std::size_t max_in_flight_;
  AcceptThrottle throttle_;
  std::size_t in_flight_ = 0;
  bool flush_scheduled_ = false;
  std::vector<char> scratch_ = std::vector<char>(64 * 1024);
  Connections connections_;                    // stable iterators: watches and batches hold them
  std::deque<Connections::iterator> pending_;  // complete frames not yet sent to a worker
  FdWatch listener_;
  TimerHandle resume_accepting_;
  Handle flush_call_;
  bool stopped_ = false;
  std::size_t refused_unlogged_ = 0;  // over --max-connections, not yet logged
  SocketAddress last_refused_;
  // The open connections that made the last refusal: a line that waited
  // for its second (or for the stop) would otherwise show the count at the
  // time of writing, which may be below the limit ("0 connections open").
  std::size_t open_at_last_refusal_ = 0;
  TimePoint last_refusal_log_{};
  TimerHandle refusal_log_timer_;
};

Task<void> serve_sorts(int listen_fd, ProcessPool& pool, std::uint64_t max_frame,
                       Duration idle_timeout, std::size_t max_connections) {
  TaskGroup batches;
  SortServer server(*EventLoop::current(), pool, listen_fd, max_frame, idle_timeout,
                    max_connections, batches);
  Event stopped;  // never set: the server runs until it is cancelled
  try {
    co_await stopped.wait();
  } catch (const CancelledError&) {
    // Stopping: below.
  }
  server.stop();
  batches.cancel();
  try {
    co_await batches.join();
  } catch (const CancelledError&) {
    // Expected: the batches were cancelled on purpose.
  }
}

int run_sort_server(const SortServerArguments& arguments) {
  EventLoop loop;
  StopSource stop;
  loop.add_signal_handler(SIGINT, [&stop] { stop.request_stop(); });
  loop.add_signal_handler(SIGTERM, [&stop] { stop.request_stop(); });
  // After the handlers: the signals are blocked before the pool starts its
  // threads, which inherit the mask, so only the loop's signalfd sees them.
  ProcessPool pool(arguments.workers);
  ListenOptions listen_options;
  listen_options.non_blocking = true;
  const UniqueFd listener =
      open_listen_socket(SocketAddress::parse(arguments.host, arguments.port), listen_options);
  std::printf("sort-server: listening on %s\n",
              SocketAddress::local_of(listener.get()).to_string().c_str());
  std::fflush(stdout);
  const auto idle_timeout =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(arguments.idle_timeout));
  run(serve_sorts(listener.get(), pool, arguments.max_frame, idle_timeout,
                  arguments.max_connections),
      {}, stop.token());
  std::printf("Server stopped.\n");
  return 0;
}

std::string random_list(int count) {
  std::mt19937 random(std::random_device{}());
  std::string data = "[";
  for (int i = 0; i < count; ++i) {
    data += (i == 0 ? "" : ", ") + std::to_string(random() % 10000);
  }
  data += "]";
  return data;
}

std::string frame_header(std::size_t size) {
  std::string header(8, '\0');
  for (int i = 0; i < 8; ++i) {
    header[static_cast<std::size_t>(i)] =
        static_cast<char>((static_cast<std::uint64_t>(size) >> (56 - 8 * i)) & 0xFF);
  }
  return header;
}

Duration seconds_option(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// The seed's remote_sort client, which also checks the reply: the same
// numbers (the same texts, as the request wrote them) in ascending order.
// Every step is bounded by --timeout; a failure says which step, with which
// server, and why.
Task<int> remote_sort(const SortClientArguments& arguments) {
  const Duration limit = seconds_option(arguments.timeout);
  std::string peer = arguments.host + ":" + std::to_string(arguments.port);
  std::string step = "connecting to " + peer;
  std::string data;
  std::string sorted;
  std::string failure;
  try {
    TcpStream stream = co_await timeout(limit, open_connection(arguments.host, arguments.port));
    peer = stream.peer_address().to_string();
    std::printf("Generating random list...\n");
    data = random_list(arguments.count);
    std::printf("List Generated, Sending data\n");
    step = "sending the list to " + peer;
    stream.write(frame_header(data.size()));
    stream.write(data);
    std::printf("Waiting for data...\n");
    std::fflush(stdout);
    step = "waiting for the sorted list from " + peer;
    sorted = co_await timeout(limit, stream.read_exactly(data.size()));
  } catch (const TimeoutError&) {
    failure =
        step + ": nothing within " + fmt::format("{:g}", arguments.timeout) + " s (--timeout)";
  } catch (const IncompleteReadError& error) {
    failure = step + ": the server closed the connection after " +
              std::to_string(error.partial().size()) + " of " + std::to_string(error.expected()) +
              " bytes";
  } catch (const std::exception& error) {
    // open_connection's own message names the server already.
    failure = data.empty() ? error.what() : step + ": " + error.what();
  }
  if (!failure.empty()) {
    std::fflush(stdout);
    std::fprintf(stderr, "sort-client: %s\n", failure.c_str());
    co_return 1;
  }
  std::printf("Received data\n%s\n\n", sorted.c_str());
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "sort-client: writing the sorted list to standard output failed: %s\n",
                 std::strerror(errno));
    co_return 1;
  }
  const std::string expected = programs::sort_json_numbers(data);
  if (sorted != expected) {
    const auto difference = std::mismatch(sorted.begin(), sorted.end(), expected.begin());
    std::fprintf(stderr,
                 "sort-client: the reply from %s is not the list sent, sorted: they differ from "
                 "byte %zu on\n",
                 peer.c_str(), static_cast<std::size_t>(difference.first - sorted.begin()));
    co_return 1;
  }
  co_return 0;
}

// Load mode: `connections` clients each send the same list on a fresh
// connection, check the reply, and repeat until the deadline; prints the
// number of checked replies. The clients are callbacks on one EventLoop
// doing the fewest system calls a seed-style request allows (socket,
// connect, send, recv, close, and registering for the reply), because the
// benchmark runs the loader on the same cores as the server it measures:
// every microsecond the loader spends is one the server does not get.
//
// A request that fails (refused, reset, closed before the whole reply, or
// unanswered for --timeout) is counted with its reason and its client
// starts the next one after a short pause: a server that sheds load by
// closing connections, as sort-server does over --max-connections, must
// not end the run and lose its count. Only when no connection can be made
// at all and none ever could does the run give up at once.
class SortLoad {
 public:
  SortLoad(EventLoop& loop, const SortClientArguments& arguments, const SocketAddress& target)
      : loop_(loop),
        target_(target),
        data_(random_list(arguments.count)),
        expected_(programs::sort_json_numbers(data_)),
        request_(frame_header(data_.size()) + data_),
        deadline_(loop.time() + seconds_option(arguments.duration)),
        timeout_(seconds_option(arguments.timeout)),
        clients_(static_cast<std::size_t>(arguments.connections)) {
    for (Client& client : clients_) {
      start(client);
      if (!gave_up_.empty()) {
        return;  // refused already: the others would be too
      }
    }
    const Duration sweep = std::clamp<Duration>(timeout_ / 4, std::chrono::milliseconds(1),
                                                std::chrono::milliseconds(100));
    sweep_timer_ = loop_.call_later(sweep, [this, sweep] { sweep_timeouts(sweep); });
  }
  SortLoad(const SortLoad&) = delete;
  SortLoad& operator=(const SortLoad&) = delete;
  ~SortLoad() {
    sweep_timer_.cancel();
    for (Client& client : clients_) {
      client.retry.cancel();
    }
  }

  [[nodiscard]] std::uint64_t replies() const { return replies_; }
  [[nodiscard]] std::uint64_t wrong() const { return wrong_; }
  [[nodiscard]] std::uint64_t failed() const { return failed_; }
  [[nodiscard]] const std::string& last_failure() const { return last_failure_; }
  [[nodiscard]] const std::string& gave_up() const { return gave_up_; }

 private:
  struct Client {
    UniqueFd fd;
    FdWatch watch;
    std::size_t sent = 0;
    std::string reply;
    std::size_t got = 0;
    TimePoint started{};
    bool busy = false;  // a request is in progress
    TimerHandle retry;
  };

  void start(Client& c) {
    c.sent = 0;
    c.got = 0;
    c.reply.resize(data_.size());
    c.started = loop_.time();
    c.busy = true;
    c.fd = UniqueFd(::socket(target_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!c.fd) {
      return fail(c, std::string("socket: ") + std::strerror(errno), true);
    }
    if (::connect(c.fd.get(), target_.data(), target_.size()) != 0 && errno != EINPROGRESS) {
      return fail(c, "connect to " + target_.to_string() + ": " + std::strerror(errno), true);
    }
    send_some(c);
  }

  void send_some(Client& c) {
    while (c.sent < request_.size()) {
      const ssize_t sent =
          ::send(c.fd.get(), request_.data() + c.sent, request_.size() - c.sent, MSG_NOSIGNAL);
      if (sent >= 0) {
        c.sent += static_cast<std::size_t>(sent);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN) {
        // Still connecting, or the socket buffer is full: wait for room.
        wait_for(c, Interest::writable);
        return;
      } else if (errno != EINTR) {
        // Before the first byte left, an error other than a reset or a
        // closed pipe (a server that accepted, then closed) is the
        // connect's own: refused, unreachable, timed out.
        const bool connecting = c.sent == 0 && errno != ECONNRESET && errno != EPIPE;
        return fail(c,
                    (connecting ? "connect to " : "sending to ") + target_.to_string() + ": " +
                        std::strerror(errno),
                    connecting);
      }
    }
    wait_for(c, Interest::readable);
  }

  void receive_some(Client& c) {
    for (;;) {
      const ssize_t got = ::recv(c.fd.get(), c.reply.data() + c.got, c.reply.size() - c.got, 0);
      if (got > 0) {
        c.got += static_cast<std::size_t>(got);
        if (c.got == c.reply.size()) {
          ++(c.reply == expected_ ? replies_ : wrong_);
          ever_answered_ = true;
          return next(c);
        }
      } else if (got == 0) {
        return fail(c,
                    target_.to_string() + " closed the connection after " + std::to_string(c.got) +
                        " of the reply's " + std::to_string(c.reply.size()) + " bytes",
                    false);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      } else if (errno != EINTR) {
        return fail(c, "receiving from " + target_.to_string() + ": " + std::strerror(errno),
                    false);
      }
    }
  }

  void wait_for(Client& c, Interest interest) {
    if (c.watch) {
      c.watch.set_interest(interest);
      return;
    }
    c.watch = loop_.watch(c.fd.get(), interest, [this, &c](IoEvents) {
      if (c.sent < request_.size()) {
        send_some(c);
      } else {
        receive_some(c);
      }
    });
  }

  // Counts the request as failed and starts the client's next one after a
  // pause (never from inside the failing call: a connect refused at once
  // would otherwise recurse). `connecting`: no connection was made.
  void fail(Client& c, std::string why, bool connecting) {
    ++failed_;
    last_failure_ = std::move(why);
    c.busy = false;
    c.watch.reset();  // before the fd closes (see FdWatch)
    c.fd.reset();
    if (connecting && !ever_answered_ && !ever_connected_) {
      gave_up_ = last_failure_;
      loop_.stop();
      return;
    }
    ever_connected_ = ever_connected_ || !connecting;
    c.retry = loop_.call_later(std::chrono::milliseconds(10), [this, &c] { next(c); });
  }

  void next(Client& c) {
    c.busy = false;
    c.watch.reset();  // before the fd closes (see FdWatch)
    c.fd.reset();
    if (loop_.time() < deadline_) {
      start(c);
    } else if (++finished_ == clients_.size()) {
      loop_.stop();
    }
  }

  void sweep_timeouts(Duration period) {
    const TimePoint now = loop_.time();
    for (Client& c : clients_) {
      if (c.busy && now - c.started > timeout_) {
        const std::string limit =
            fmt::format("{:g} s (--timeout)", std::chrono::duration<double>(timeout_).count());
        // Nothing sent yet: the connect itself never completed (a host that
        // drops the SYN, a listener whose backlog is full).
        if (c.sent == 0) {
          fail(c, "connect to " + target_.to_string() + ": no answer within " + limit, true);
        } else {
          fail(c, "no reply from " + target_.to_string() + " within " + limit, false);
        }
      }
    }
    sweep_timer_ = loop_.call_later(period, [this, period] { sweep_timeouts(period); });
  }

  EventLoop& loop_;
  SocketAddress target_;
  std::string data_;
  std::string expected_;
  std::string request_;
  TimePoint deadline_;
  Duration timeout_;
  std::vector<Client> clients_;  // never resized: watches and timers point at its elements
  std::size_t finished_ = 0;
  std::uint64_t replies_ = 0;
  std::uint64_t wrong_ = 0;
  std::uint64_t failed_ = 0;
  std::string last_failure_;
  std::string gave_up_;
  bool ever_answered_ = false;
  bool ever_connected_ = false;
  TimerHandle sweep_timer_;
};

int load_sorts(const SortClientArguments& arguments) {
  // The name is resolved once, before the clock starts, as the single-request
  // mode's open_connection would (so --host localhost works in both modes).
  const std::vector<SocketAddress> addresses = pz::run(resolve(arguments.host, arguments.port));
  if (addresses.empty()) {
    throw std::runtime_error("sort-client: " + arguments.host + " has no address");
  }
  // A client is a descriptor: a count that cannot fit would fail on the
  // machine's limit, not the server's, so it is refused before anything
  // connects (the soft limit is raised to the hard one first, as load does).
  if (const auto shortage =
          open_file_shortage("--connections", static_cast<std::uint64_t>(arguments.connections),
                             static_cast<std::uint64_t>(arguments.connections) + 16);
      !shortage.empty()) {
    std::fprintf(stderr, "sort-client: %s\n", shortage.c_str());
    return 1;
  }
  EventLoop loop;
  SortLoad load(loop, arguments, addresses.front());
  if (load.gave_up().empty()) {
    loop.run();
  }
  std::printf("%llu\n", static_cast<unsigned long long>(load.replies()));
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    std::fprintf(stderr, "sort-client: writing the count to standard output failed: %s\n",
                 std::strerror(errno));
    return 1;
  }
  if (!load.gave_up().empty()) {
    std::fprintf(stderr, "sort-client: gave up: %s\n", load.gave_up().c_str());
    return 1;
  }
  if (load.wrong() != 0) {
    std::fprintf(stderr, "sort-client: %llu replies were not the sorted list\n",
                 static_cast<unsigned long long>(load.wrong()));
  }
  if (load.failed() != 0) {
    std::fprintf(stderr, "sort-client: %llu requests failed; the last: %s\n",
                 static_cast<unsigned long long>(load.failed()), load.last_failure().c_str());
  }
  return load.wrong() == 0 && load.failed() == 0 ? 0 : 1;
}

}  // namespace

void register_sort_commands(CLI::App& app, int& exit_code) {
  auto server = std::make_shared<SortServerArguments>();
  auto* server_command = app.add_subcommand(
      "sort-server", "Sort JSON arrays of numbers for clients, in a process pool (seed 002, 0.14)");
  server_command->add_option("--host", server->host, "Address to listen on (default 127.0.0.1)");
  server_command->add_option("--port", server->port, "TCP port (default 2015; 0: any free port)");
  server_command->add_option("--workers", server->workers,
                             "Sorting processes (default: one per core)");
  server_command->add_option("--max-frame", server->max_frame,
                             "Largest request accepted, in bytes (default 16 MiB)");
  server_command
      ->add_option("--idle-timeout", server->idle_timeout,
                   "Seconds a connection may make no progress (send none of its frame, take "
                   "none of its reply) before it is closed (default 60; 0 = never)")
      ->check(seconds_between(0, kMaxSeconds));
  server_command
      ->add_option("--max-connections", server->max_connections,
                   "Open connections beyond which a new client is accepted and closed at once, "
                   "with a logged line (default 1000)")
      ->check(CLI::PositiveNumber);
  server_command->callback([server, &exit_code] { exit_code = run_sort_server(*server); });

  auto client = std::make_shared<SortClientArguments>();
  auto* client_command = app.add_subcommand(
      "sort-client", "Send a random list to sort-server and print it sorted (seed 002, 0.15)");
  client_command->add_option("--host", client->host, "Server address (default 127.0.0.1)");
  client_command->add_option("--port", client->port, "Server port (default 2015)");
  client_command->footer(
      "Exit status: 0 when every reply was the list sent, sorted; 1 when a reply was not,\n"
      "or a request failed (refused, reset, closed early, nothing for --timeout): stderr\n"
      "says which server, at which step, and why. Load mode counts failures and goes on.");
  // 100 million numbers make a request of about 600 MB: beyond sort-server's
  // --max-frame long before, and a bound on what a typo can allocate here.
  client_command->add_option("--count", client->count, "Numbers to send (default 10000)")
      ->check(CLI::Range(0, 100'000'000));
  client_command
      ->add_option("--connections", client->connections,
                   "Load mode: this many concurrent clients, each sending the same "
                   "list again and again; prints the number of correct replies")
      ->check(CLI::Range(0, 100'000));
  client_command
      ->add_option("--duration", client->duration,
                   "Load mode: seconds to start requests in (default 5); the run ends "
                   "when the requests in progress then have ended, within --timeout")
      ->check(seconds_between(0, kMaxSeconds));
  client_command
      ->add_option("--timeout", client->timeout,
                   "Seconds a request may take, connect to whole reply, before it fails "
                   "(default 30)")
      ->check(seconds_between(0.001, 1e6));
  client_command->callback([client, &exit_code] {
    exit_code = client->connections > 0 ? load_sorts(*client) : run(remote_sort(*client));
  });
}

}  // namespace pz::app
