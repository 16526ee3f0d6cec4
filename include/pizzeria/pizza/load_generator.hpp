// pz::LoadGenerator: the engine of `pizzeria load`, a wrk2-style load
// generator for any newline-delimited request/response protocol (the pizza
// protocol, Redis inline commands, ...). docs/load-generator.md explains the
// measurement.
//
//   LoadOptions options;
//   options.target = SocketAddress::parse("127.0.0.1", port);
//   options.connections = 50;
//   options.requests = 100'000;
//   LoadResult result = LoadGenerator(options).run();
//   result.latency.value_at_percentile(99.0);    // nanoseconds
//
// Threads: run() starts `threads` worker threads, each with its own
// pz::EventLoop and its share of the connections (one loop per thread, no
// locks on the request path); every worker records into its own histograms,
// merged when the run ends. The calling thread only waits, reports progress
// and merges. Each connection keeps up to `pipeline` requests in flight.
//
// Closed loop (rate == 0): a connection sends a new request as soon as a reply
// frees a slot in its window. Open loop (rate > 0): every connection follows
// a fixed schedule of intended send times (rate / connections per second,
// connections staggered over one interval); a request whose slot is not free
// at its intended time is sent as soon as one is, and its latency counts from
// the intended time. That is the correction for coordinated omission: a
// server that stalls for 300 ms is charged, for every request that was due
// during the stall, the time from its due moment to its reply, not just
// once, for the one request that was waiting. `uncorrected_latency`
// keeps the latency counted from the actual send, for comparison.
//
// Turns (`compare_with`): to compare servers on a machine whose speed drifts
// from second to second, one run loads several targets in turns of `turn`
// (100 ms): each target has `connections` connections of its own, and only
// the target whose turn it is sends new requests (replies to requests sent
// earlier still arrive and count). A slow spell of the machine then falls on
// every target alike, which back-to-back runs cannot promise. Each target
// gets `warmup` and `duration` of turns, so the run lasts that times the
// number of targets; run_each() returns one result per target, each measured
// over its own turns only. Closed loop and duration mode only. Runs in
// separate processes (when one process cannot hold every target's
// connections) can share turns through the clock: `turn_slots`.
//
// Errors are counted by kind and the run goes on: a connection that fails is
// closed, its requests in flight are lost (`unanswered`), and it reconnects
// after a short pause. The run gives up (LoadResult::abort_reason) only when a
// worker's every connection to one target failed to connect without any ever
// succeeding, or no reply arrived for twice the timeout while errors kept
// happening.
//
// Thread safety: run() once, from any thread (it only waits; the workers
// create their own loops). stop() from any thread, including a signal
// handler (it only stores to a lock-free atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/latency_histogram.hpp"
#include "pizzeria/net/socket_address.hpp"

namespace pz {

struct LoadErrors {
  std::uint64_t connect_failed = 0;    // connect(2) failed or did not finish in time
  std::uint64_t reset = 0;             // ECONNRESET/EPIPE or another socket error
  std::uint64_t closed = 0;            // the server closed the connection
  std::uint64_t timeout = 0;           // a request unanswered within the timeout
  std::uint64_t unexpected_reply = 0;  // a reply not starting with `expect`, or unasked for

  [[nodiscard]] std::uint64_t total() const noexcept {
    return connect_failed + reset + closed + timeout + unexpected_reply;
  }
  LoadErrors& operator+=(const LoadErrors& other) noexcept;
};

struct LoadProgress {
  Duration elapsed{};  // since the run started, warm-up included
  bool warming_up = false;
  std::uint64_t replies = 0;            // measured so far
  double replies_per_second_now = 0.0;  // since the previous progress report
  std::uint64_t p99_so_far = 0;         // corrected latency, nanoseconds
  LoadErrors errors;
  std::uint64_t open_connections = 0;
};

struct LoadOptions {
  SocketAddress target;
  int connections = 10;
  int threads = 1;  // at most `connections`
  // Exactly one of the two ends the measured phase: a duration, or a number of
  // requests sent and answered (or lost to errors) after the warm-up.
  Duration duration = std::chrono::seconds(10);
  std::uint64_t requests = 0;  // when > 0, used instead of `duration`
  // Traffic before measuring starts: replies to requests sent during it are
  // not recorded and do not count towards `requests`.
  Duration warmup = Duration::zero();
  int pipeline = 1;  // requests in flight per connection
  std::string request = "3\n";
  std::string expect;  // required reply prefix; empty: any line
  double rate = 0.0;   // total requests per second; 0: closed loop
  // New connections per second at the start, to all targets together; 0: all at once.
  double connect_rate = 0.0;
  // A request unanswered (or a connect unfinished) after this long counts as
  // a timeout and its connection is closed and reopened.
  Duration timeout = std::chrono::seconds(2);
  // More servers to load in turns with `target` (see the top of this file);
  // empty: `target` alone, all the time.
  std::vector<SocketAddress> compare_with;
  Duration turn = std::chrono::milliseconds(100);
  // Turns shared with other runs, in other processes, that use the same
  // `turn` and `turn_slots`: turns are then counted from the Unix epoch, so
  // all agree on them without talking, and this run's targets take slots
  // turn_slot, turn_slot + 1, ... of every `turn_slots` turns. The run lasts
  // turn_slots times the warm-up and the duration. 0: not shared.
  int turn_slots = 0;
  int turn_slot = 0;  // 0-based
  // The last `turn_drain` of every turn sends nothing: the requests still in
  // flight are answered before the next target's turn starts, instead of
  // competing with its first requests (and the latency of both paying for
  // it). The drain is not measured: each target's measured time is its turns
  // less their drains. Shorter than `turn`; runs sharing slots must agree on
  // it as on `turn`. 0: none.
  Duration turn_drain = Duration::zero();
  // Each worker's EventLoopOptions::busy_poll: after replies, look for more
  // without sleeping for up to this long. Takes the wake-up of a sleeping
  // thread out of each reply's path, so a load generator whose core is the
  // bottleneck sends more. 0: never spin.
  Duration busy_poll = Duration::zero();
  // Called on run()'s thread about once a second while the run lasts.
  std::function<void(const LoadProgress&)> on_progress;

  // Target `index` in run_each()'s order: `target`, then `compare_with`.
  [[nodiscard]] const SocketAddress& target_address(std::size_t index) const noexcept {
    return index == 0 ? target : compare_with[index - 1];
  }
};

// Validates options that cannot work together; returns an empty string when
// they are fine, else a message saying what is wrong and why.
[[nodiscard]] std::string check_load_options(const LoadOptions& options);

// One second of the measured phase (`LoadResult::timeline`), counted by when
// the reply (or the error) arrived.
struct LoadSecond {
  std::uint64_t replies = 0;
  LoadErrors errors;  // errors of that second, by kind
  // Corrected latency of that second's replies, nanoseconds; 0 without replies.
  std::uint64_t p50 = 0;
  std::uint64_t p99 = 0;
  std::uint64_t p99_9 = 0;
};

// The timeline covers at most this many seconds (the first hour of the
// measured phase); a longer run's later seconds count in the totals only.
inline constexpr std::size_t kMaxTimelineSeconds = 3600;

struct LoadResult {
  SocketAddress target;
  bool open_loop = false;
  Duration measured{};                 // length of the measured phase (of this target's turns)
  std::uint64_t requests_sent = 0;     // measured requests written
  std::uint64_t replies = 0;           // measured replies (expected or not)
  std::uint64_t unanswered = 0;        // measured requests lost with their connection
  std::uint64_t in_flight_at_end = 0;  // duration mode: still unanswered when time ran out
  LoadErrors errors;
  std::uint64_t connects = 0;  // successful connects, reconnects included
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  // Nanoseconds, per reply. `latency` counts from the intended send time (the
  // actual send in closed loop, where the two are equal).
  LatencyHistogram latency;
  LatencyHistogram uncorrected_latency;
  // Second k holds what happened in [k s, (k+1) s) after the measured phase
  // began (wall seconds: with turns, only this target's turns fall in them).
  // The last second may be partial. Up to kMaxTimelineSeconds entries.
  std::vector<LoadSecond> timeline;
  std::string abort_reason;  // non-empty when the run gave up early
  std::string last_error;    // the last socket error, e.g. "reset: Connection reset by peer"

  [[nodiscard]] double replies_per_second() const noexcept;
};

class LoadGenerator {
 public:
  // Throws std::invalid_argument with check_load_options()'s message.
  explicit LoadGenerator(LoadOptions options);
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;
  ~LoadGenerator();

  // Runs the load to its end (or stop()) and returns the merged result for
  // `target`.
  LoadResult run();
  // The same, with one result per target: `target`, then `compare_with` in
  // order. The run's end, abort reason and progress are shared.
  std::vector<LoadResult> run_each();

  // Ends the run early, as if its time were up. Any thread; async-signal-safe.
  void stop() noexcept { stop_requested_.store(true, std::memory_order_relaxed); }

 private:
  LoadOptions options_;
  // Polled by the workers' housekeeping tick and by run()'s wait; relaxed is
  // enough: it carries no data, only "finish soon".
  std::atomic<bool> stop_requested_{false};
  static_assert(std::atomic<bool>::is_always_lock_free,
                "stop() must be callable from a signal handler");
};

// "HOST:PORT", "[V6]:PORT" or "PORT" (host 127.0.0.1) resolved to one address
// (getaddrinfo, IPv4 preferred). Throws std::invalid_argument saying what is
// wrong: "port 70000 is out of range (1-65535)", "unknown host 'nosuch': ...".
[[nodiscard]] SocketAddress resolve_load_target(std::string_view text);

// Turns the escapes \n, \r, \t and \\ into their characters. Throws
// std::invalid_argument for any other escape.
[[nodiscard]] std::string unescape_request(std::string_view text);

// Raises RLIMIT_NOFILE's soft limit to the hard limit, so thousands of
// connections fit; returns the soft limit now in force.
std::uint64_t raise_open_file_limit() noexcept;

}  // namespace pz
