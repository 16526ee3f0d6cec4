// pz::detail::LoadWorker: one thread's share of a LoadGenerator run — its own
// EventLoop, its connections, its histograms. Private to src/pizza.
//
// Per connection, the request path is: a window (ring) of up to `pipeline`
// outstanding requests, each with its intended and actual send time; an
// output buffer written with one send(2) per loop iteration; and the first
// expect.size() bytes of the reply line being read, which is all that is
// needed to judge it. Replies are matched to requests in order, as every
// line protocol pizzeria speaks answers in order.
//
// Thread safety: the constructor and snapshot() from any thread; run() on the
// worker's own thread, once. snapshot() takes the mutex that the worker holds
// while it publishes (every 250 ms and at the end).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/core/latency_histogram.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/pizza/load_generator.hpp"

namespace pz::detail {

// Time points every worker shares, fixed before any starts.
struct LoadSchedule {
  TimePoint start;
  TimePoint measure_start;  // start + warm-up
  TimePoint end;            // measure_start + duration; TimePoint::max() in requests mode
  // Turns: turn k is [turn_origin + k * turn, turn_origin + (k + 1) * turn);
  // its slot is (origin_index + k) % slots, and local target t owns slot
  // first_slot + t. Alone, the turns start with the run (origin_index 0,
  // slots == targets); shared with other processes, they are counted from
  // the Unix epoch, which every process on the machine agrees on.
  int targets = 1;
  Duration turn{};
  TimePoint turn_origin{};
  std::int64_t origin_index = 0;
  int slots = 1;
  int first_slot = 0;
  Duration drain{};  // the end of every turn in which nobody sends

  // The local target whose turn holds `when`, or -1 for another process's.
  [[nodiscard]] int owner_at(TimePoint when) const noexcept;
  // The local target that may send at `when`: the owner, unless its turn is
  // in its drain; -1 when nobody here may.
  [[nodiscard]] int sender_at(TimePoint when) const noexcept;
  // The start of the first turn after the one that holds `when`.
  [[nodiscard]] TimePoint next_turn_after(TimePoint when) const noexcept;
  // How much of [from, to) is `target`'s turns, less their drains.
  [[nodiscard]] Duration turn_time(int target, TimePoint from, TimePoint to) const noexcept;
};

// Workers count themselves finished here; run() waits on the condition.
struct LoadCompletion {
  std::mutex mutex;
  std::condition_variable finished_changed;
  int finished = 0;
};

// A worker's counters for one target since the run began (measured ones for
// requests, replies and latency; errors over the whole run).
struct TargetCounters {
  std::uint64_t requests_sent = 0;
  std::uint64_t replies = 0;
  std::uint64_t unanswered = 0;
  std::uint64_t in_flight_at_end = 0;
  std::uint64_t connects = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t open_connections = 0;
  LoadErrors errors;
  LatencyHistogram latency;
  LatencyHistogram uncorrected_latency;
  std::string last_error;  // "reset: Connection reset by peer", for the report
};

// One target's timeline on one worker (LoadResult::timeline before the
// merge). Counters are indexed by second. Latency is recorded into one full
// histogram for the current second; when a reply of a later second arrives
// (the loop's clock never goes back) that histogram is compacted into the
// second's non-zero buckets and reset, so recording stays one increment and
// a second costs a few hundred buckets, not the histogram's 58 KiB.
struct TargetTimeline {
  struct Second {
    std::uint64_t replies = 0;
    LoadErrors errors;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;  // index, count
  };
  std::vector<Second> seconds;
  LatencyHistogram current;
  std::size_t current_second = 0;

  // seconds[index], grown as needed; null past kMaxTimelineSeconds.
  Second* at(std::size_t index);
  // Moves `current` into seconds[current_second].buckets.
  void compact();
};

// What a worker publishes.
struct WorkerSnapshot {
  std::vector<TargetCounters> targets;  // LoadOptions::target, then compare_with
  bool finished = false;
  TimePoint finished_at{};
  std::string abort_reason;
};

class LoadWorker {
 public:
  // Connections [first_connection, first_connection + connection_count) of
  // the run's global numbering (used to stagger open-loop schedules), to
  // each target.
  // `quota`: measured requests this worker sends in requests mode.
  LoadWorker(const LoadOptions& options, const LoadSchedule& schedule, int first_connection,
             int connection_count, std::uint64_t quota, const std::atomic<bool>& stop_requested,
             LoadCompletion& completion);
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;
  ~LoadWorker();

  // The worker thread's body: builds the loop, runs to the end, publishes the
  // final snapshot and counts itself finished in `completion`. Never throws:
  // an unexpected exception becomes the abort reason.
  void run() noexcept;

  // Adds the latest published counters (not the histograms) into `out`'s
  // counters, merges its latency into `latency` when not null.
  void add_progress(LoadProgress& out, LatencyHistogram* latency) const;
  // The final snapshot; call after run() returned.
  [[nodiscard]] const WorkerSnapshot& final_snapshot() const noexcept { return published_; }
  // Per target; complete after run() returned.
  [[nodiscard]] const std::vector<TargetTimeline>& timeline() const noexcept { return timeline_; }

 private:
  struct Outstanding {
    TimePoint intended;
    TimePoint sent;
    bool measured;
  };

  enum class State { idle, connecting, open };

  struct Connection {
    int index = 0;   // global connection number, the same for each target
    int target = 0;  // index into WorkerSnapshot::targets
    State state = State::idle;
    UniqueFd fd;
    FdWatch watch;
    TimePoint state_since{};
    bool ever_connected = false;
    bool first_attempt_failed = false;
    // Ring of requests in flight, oldest at `head`.
    std::vector<Outstanding> window;
    std::size_t head = 0;
    std::size_t in_flight = 0;
    // Bytes queued for the socket; out[out_offset..] not yet written.
    std::string out;
    std::size_t out_offset = 0;
    // The first expect.size() bytes of the reply line being read.
    std::string reply_prefix;
    // Open loop: when the next request is due.
    TimePoint next_intended{};
    TimerHandle send_timer;
    TimerHandle reconnect_timer;
    // The rest of a read cut short by its budget (see on_readable).
    Handle read_again;
  };

  enum class ErrorKind { connect_failed, reset, closed, timeout };

  void start_connect(Connection& connection);
  void on_connect_result(Connection& connection, int error);
  void on_io(Connection& connection, IoEvents events);
  // `peer_finished`: the event said the server shut down its side, so a
  // short read does not mean the socket is drained.
  void on_readable(Connection& connection, bool peer_finished);
  void on_reply_line(Connection& connection, TimePoint now, bool expected);
  void pump(Connection& connection, TimePoint now);
  void enqueue(Connection& connection, TimePoint intended, TimePoint now);
  void flush(Connection& connection);
  void fail(Connection& connection, ErrorKind kind, int error);
  void close(Connection& connection) noexcept;
  void schedule_reconnect(Connection& connection, Duration delay);
  void housekeeping();
  // The turn timer: the next target may send, starting now.
  void next_turn();
  void check_done();
  void finish();
  void abort(std::string reason);
  void publish(bool final);
  [[nodiscard]] bool may_send(const Connection& connection, TimePoint intended) const noexcept;
  [[nodiscard]] TargetCounters& counters(const Connection& connection) noexcept {
    return live_.targets[static_cast<std::size_t>(connection.target)];
  }
  // The timeline's second that holds `now` for this connection's target;
  // null before the measured phase or past the timeline's cap.
  [[nodiscard]] TargetTimeline::Second* second_at(const Connection& connection, TimePoint now);
  [[nodiscard]] bool measuring(TimePoint intended) const noexcept {
    return intended >= schedule_.measure_start;
  }

  const LoadOptions& options_;
  const LoadSchedule schedule_;
  const int connection_count_;
  const bool requests_mode_;
  const bool open_loop_;
  const std::uint64_t quota_;
  const Duration send_interval_;  // open loop: between one connection's requests
  const std::atomic<bool>& stop_requested_;
  LoadCompletion& completion_;

  EventLoop* loop_ = nullptr;  // set while run() is in progress
  std::vector<Connection> connections_;
  std::vector<char> read_buffer_;
  TimerHandle housekeeping_timer_;
  TimerHandle end_timer_;
  TimerHandle turn_timer_;
  TimePoint last_publish_{};

  bool sending_ = true;  // false once the end was reached
  bool finished_ = false;
  // Per target: a target none of whose connections ever connected ends the run.
  std::vector<bool> any_connected_;
  std::vector<int> first_attempts_failed_;
  std::string last_connect_error_;
  TimePoint last_reply_{};
  bool error_since_reply_ = false;
  std::uint64_t quota_sent_ = 0;
  std::uint64_t quota_finished_ = 0;

  WorkerSnapshot live_;  // touched only by the worker thread
  // Touched only by the worker thread until run() returns, and not
  // published: copying it every 250 ms would cost more than the run.
  std::vector<TargetTimeline> timeline_;
  mutable std::mutex publish_mutex_;
  WorkerSnapshot published_;  // guarded by publish_mutex_
};

}  // namespace pz::detail
