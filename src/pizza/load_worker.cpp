#include "load_worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace pz::detail {

namespace {

using namespace std::chrono_literals;

constexpr Duration kPublishInterval = 250ms;
// Pauses before reopening a connection: long enough that a server refusing
// everything is not hammered in a busy loop, short enough to be negligible
// in a run of seconds.
constexpr Duration kReconnectAfterError = 50ms;
constexpr Duration kReconnectAfterConnectFailure = 100ms;
constexpr std::size_t kReadBufferSize = 64 * 1024;
// recv(2) calls one readiness event may make before the rest waits for the
// loop's next iteration (1 MiB): a server that sends faster than its lines
// are counted would otherwise keep one connection's read going for ever, and
// with it the end of the run, Ctrl-C and every other connection.
constexpr int kReadsPerTurn = 16;
// Edge-triggered: on_readable reads until the socket is drained and flush
// writes until EAGAIN. Level-triggered epoll would hand a connection that
// was just served, and already has its reply, ahead of connections waiting
// longer: an unfairness of the client's own that showed up as server tail
// latency (docs/benchmarks.md).
constexpr Interest kReading = Interest::readable | Interest::edge;

std::uint64_t nanoseconds(Duration duration) noexcept {
  return duration.count() < 0 ? 0 : static_cast<std::uint64_t>(duration.count());
}

std::string error_text(int error) {
  return std::strerror(error);
}

}  // namespace

// ---------------------------------------------------------------- turns

int LoadSchedule::owner_at(TimePoint when) const noexcept {
  if (slots == 1 || when < turn_origin) {
    return 0;
  }
  const auto slot = static_cast<int>((origin_index + (when - turn_origin) / turn) % slots);
  const int target = slot - first_slot;
  return target >= 0 && target < targets ? target : -1;
}

int LoadSchedule::sender_at(TimePoint when) const noexcept {
  if (slots > 1 && drain > Duration::zero() && when >= turn_origin &&
      (when - turn_origin) % turn >= turn - drain) {
    return -1;
  }
  return owner_at(when);
}

TimePoint LoadSchedule::next_turn_after(TimePoint when) const noexcept {
  if (when < turn_origin) {
    return turn_origin;
  }
  return turn_origin + ((when - turn_origin) / turn + 1) * turn;
}

Duration LoadSchedule::turn_time(int target, TimePoint from, TimePoint to) const noexcept {
  if (to <= from) {
    return Duration::zero();
  }
  if (slots == 1) {
    return to - from;
  }
  const std::int64_t slot = first_slot + target;
  const Duration sending = turn - drain;
  // The slot's share of [turn_origin, when): of the first `turns` turns,
  // those whose index (origin_index + k) % slots is the slot, plus the time
  // into the current turn if it is one of them; all less the drains.
  const auto owned_before = [this, slot, sending](TimePoint when) {
    if (when <= turn_origin) {
      return Duration::zero();
    }
    const auto elapsed = when - turn_origin;
    const std::int64_t turns = elapsed / turn;
    const auto into_turn = elapsed % turn;
    const std::int64_t skip = ((slot - origin_index) % slots + slots) % slots;  // first k with it
    const std::int64_t whole = turns / slots + (skip < turns % slots ? 1 : 0);
    Duration owned = whole * sending;
    if ((origin_index + turns) % slots == slot) {
      owned += std::min(into_turn, sending);
    }
    return owned;
  };
  return owned_before(to) - owned_before(from);
}

// ---------------------------------------------------------------- timeline

TargetTimeline::Second* TargetTimeline::at(std::size_t index) {
  if (index >= kMaxTimelineSeconds) {
    return nullptr;
  }
  if (index >= seconds.size()) {
    seconds.resize(index + 1);
  }
  return &seconds[index];
}

void TargetTimeline::compact() {
  if (current.empty()) {
    return;
  }
  Second* second = at(current_second);
  if (second != nullptr) {
    for (std::size_t i = 0; i < LatencyHistogram::kBucketCount; ++i) {
      if (const auto count = current.bucket_count(i); count != 0) {
        second->buckets.emplace_back(static_cast<std::uint32_t>(i), count);
      }
    }
  }
  current.reset();
}

// ---------------------------------------------------------------- the worker

LoadWorker::LoadWorker(const LoadOptions& options, const LoadSchedule& schedule,
                       int first_connection, int connection_count, std::uint64_t quota,
                       const std::atomic<bool>& stop_requested, LoadCompletion& completion)
    : options_(options),
      schedule_(schedule),
      connection_count_(connection_count),
      requests_mode_(options.requests > 0),
      open_loop_(options.rate > 0.0),
      quota_(quota),
      send_interval_(open_loop_
                         ? std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                               static_cast<double>(options.connections) / options.rate))
                         : Duration::zero()),
      stop_requested_(stop_requested),
      completion_(completion),
      connections_(static_cast<std::size_t>(connection_count) *
                   static_cast<std::size_t>(schedule.targets)),
      read_buffer_(kReadBufferSize),
      any_connected_(static_cast<std::size_t>(schedule.targets), false),
      first_attempts_failed_(static_cast<std::size_t>(schedule.targets), 0) {
  live_.targets.resize(static_cast<std::size_t>(schedule.targets));
  timeline_.resize(static_cast<std::size_t>(schedule.targets));
  // Interleaved by target (connection i of target t at i * targets + t), so
  // that a connect ramp, which follows this order, opens every target's
  // connections at the same pace.
  for (std::size_t slot = 0; slot < connections_.size(); ++slot) {
    auto& connection = connections_[slot];
    connection.target = static_cast<int>(slot % static_cast<std::size_t>(schedule.targets));
    connection.index =
        first_connection + static_cast<int>(slot / static_cast<std::size_t>(schedule.targets));
    connection.window.resize(static_cast<std::size_t>(options.pipeline));
    connection.reply_prefix.reserve(options.expect.size());
  }
}

LoadWorker::~LoadWorker() = default;

void LoadWorker::run() noexcept {
  // The kernel may defer a timed wake-up by the thread's timer slack (50 us
  // by default) to batch it with others; an open-loop schedule would charge
  // that delay to the server as latency. Ask for the tightest wake-ups.
  (void)::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  try {
    EventLoopOptions loop_options;
    loop_options.busy_poll = options_.busy_poll;
    EventLoop loop(loop_options);
    loop_ = &loop;
    last_reply_ = schedule_.start;
    last_publish_ = loop.time();
    try {
      if (requests_mode_ && quota_ == 0) {
        finish();
      } else {
        if (!requests_mode_) {
          end_timer_ = loop.call_at(schedule_.end, [this] { finish(); });
        }
        const Duration tick = std::clamp<Duration>(options_.timeout / 4, 1ms, kPublishInterval);
        // A self-rearming tick: timeouts, the stop flag, progress.
        struct Tick {
          LoadWorker* worker;
          Duration period;
          void operator()() const {
            worker->housekeeping();
            if (!worker->finished_) {
              worker->housekeeping_timer_ = worker->loop_->call_later(period, Tick{*this});
            }
          }
        };
        housekeeping_timer_ = loop.call_later(tick, Tick{this, tick});
        if (schedule_.slots > 1) {
          turn_timer_ =
              loop.call_at(schedule_.next_turn_after(loop.time()), [this] { next_turn(); });
        }
        if (options_.connect_rate > 0.0) {
          // Ramp-up: this worker's share of the rate, one connection at a time.
          const double per_worker =
              options_.connect_rate * connection_count_ / options_.connections;
          for (std::size_t i = 0; i < connections_.size(); ++i) {
            const auto delay = std::chrono::duration_cast<Duration>(
                std::chrono::duration<double>(static_cast<double>(i) / per_worker));
            Connection& connection = connections_[i];
            connection.reconnect_timer = loop.call_at(
                schedule_.start + delay, [this, &connection] { start_connect(connection); });
          }
        } else {
          for (auto& connection : connections_) {
            start_connect(connection);
          }
        }
      }
      if (!finished_) {
        loop.run();
      }
    } catch (const std::exception& error) {
      live_.abort_reason = std::string("load worker failed: ") + error.what();
      finish();
    }
    for (auto& connection : connections_) {
      close(connection);
    }
    housekeeping_timer_.cancel();
    end_timer_.cancel();
    turn_timer_.cancel();
    loop_ = nullptr;
  } catch (const std::exception& error) {
    live_.abort_reason = std::string("load worker failed: ") + error.what();
  }
  try {
    for (auto& target : timeline_) {
      target.compact();
    }
  } catch (const std::exception& error) {
    live_.abort_reason = std::string("load worker failed: ") + error.what();
  }
  publish(true);
  {
    std::lock_guard lock(completion_.mutex);
    ++completion_.finished;
  }
  completion_.finished_changed.notify_all();
}

// ---------------------------------------------------------------- connecting

void LoadWorker::start_connect(Connection& connection) {
  if (!sending_) {
    return;
  }
  const auto& target = options_.target_address(static_cast<std::size_t>(connection.target));
  const int fd = ::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    // EMFILE/ENFILE most likely: a connection we cannot even try.
    on_connect_result(connection, errno);
    return;
  }
  connection.fd.reset(fd);
  int one = 1;
  // Small requests must leave at once, not wait for the previous one's ACK.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  connection.state = State::connecting;
  connection.state_since = loop_->time();
  if (::connect(fd, target.data(), target.size()) == 0) {
    on_connect_result(connection, 0);
    return;
  }
  if (errno != EINPROGRESS) {
    on_connect_result(connection, errno);
    return;
  }
  connection.watch = loop_->watch(
      fd, Interest::writable, [this, &connection](IoEvents events) { on_io(connection, events); });
}

void LoadWorker::on_connect_result(Connection& connection, int error) {
  if (error != 0) {
    last_connect_error_ = error_text(error);
    const auto target = static_cast<std::size_t>(connection.target);
    if (!connection.ever_connected && !connection.first_attempt_failed) {
      connection.first_attempt_failed = true;
      ++first_attempts_failed_[target];
    }
    fail(connection, ErrorKind::connect_failed, error);
    if (!any_connected_[target] && first_attempts_failed_[target] == connection_count_) {
      abort("connect to " +
            options_.target_address(static_cast<std::size_t>(connection.target)).to_string() +
            " failed: " + last_connect_error_);
    }
    return;
  }
  connection.state = State::open;
  connection.ever_connected = true;
  any_connected_[static_cast<std::size_t>(connection.target)] = true;
  ++counters(connection).connects;
  ++counters(connection).open_connections;
  const TimePoint now = loop_->time();
  connection.state_since = now;
  if (!connection.watch) {
    connection.watch =
        loop_->watch(connection.fd.get(), kReading,
                     [this, &connection](IoEvents events) { on_io(connection, events); });
  } else {
    connection.watch.set_interest(kReading);
  }
  if (open_loop_) {
    // Stagger the connections over one interval so that together they send
    // at an even pace rather than in bursts of `connections` requests.
    connection.next_intended =
        now + std::chrono::duration_cast<Duration>(
                  std::chrono::duration<double>(connection.index / options_.rate));
  }
  pump(connection, now);
}

// ---------------------------------------------------------------- I/O

void LoadWorker::on_io(Connection& connection, IoEvents events) {
  if (connection.state == State::connecting) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(connection.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
      error = errno;
    }
    if (error == 0 && (events.error || events.hangup) && !events.writable) {
      error = ECONNREFUSED;
    }
    on_connect_result(connection, error);
    return;
  }
  if (connection.state != State::open) {
    return;
  }
  if (events.readable || events.hangup || events.error) {
    on_readable(connection, events.peer_finished());
    if (connection.state != State::open) {
      return;
    }
  }
  if (events.writable) {
    flush(connection);
  }
}

void LoadWorker::on_readable(Connection& connection, bool peer_finished) {
  const std::string& expect = options_.expect;
  for (int reads = 0;; ++reads) {
    if (reads == kReadsPerTurn) {
      // Edge-triggered: no new event comes for bytes already waiting, so
      // the rest is read by a callback of the next iteration, after the
      // timers (the end of the run among them) have had their turn.
      connection.read_again.cancel();
      connection.read_again = loop_->call_soon([this, &connection] {
        if (connection.state == State::open) {
          on_readable(connection, true);
        }
      });
      break;
    }
    const ssize_t got = ::recv(connection.fd.get(), read_buffer_.data(), read_buffer_.size(), 0);
    if (got == 0) {
      fail(connection, ErrorKind::closed, 0);
      return;
    }
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      fail(connection, ErrorKind::reset, errno);
      return;
    }
    counters(connection).bytes_received += static_cast<std::uint64_t>(got);
    // One clock read per chunk: the replies in it arrived together.
    const TimePoint now = loop_->time();
    const char* position = read_buffer_.data();
    const char* const end = position + got;
    while (position < end) {
      const auto* newline = static_cast<const char*>(
          std::memchr(position, '\n', static_cast<std::size_t>(end - position)));
      const char* segment_end = newline != nullptr ? newline : end;
      if (connection.reply_prefix.size() < expect.size()) {
        const auto wanted = expect.size() - connection.reply_prefix.size();
        connection.reply_prefix.append(
            position, std::min(wanted, static_cast<std::size_t>(segment_end - position)));
      }
      if (newline == nullptr) {
        break;
      }
      on_reply_line(connection, now, connection.reply_prefix == expect);
      connection.reply_prefix.clear();
      if (connection.state != State::open) {
        return;  // the run ended inside on_reply_line
      }
      position = newline + 1;
    }
    if (static_cast<std::size_t>(got) < read_buffer_.size() && !peer_finished) {
      // Drained: save the recv(2) that would say EAGAIN. Not after the
      // peer's shutdown, whose end of stream no new edge would announce.
      break;
    }
  }
  pump(connection, loop_->time());
}

void LoadWorker::on_reply_line(Connection& connection, TimePoint now, bool expected) {
  last_reply_ = now;
  error_since_reply_ = false;
  TargetCounters& counted = counters(connection);
  if (connection.in_flight == 0) {
    // A line nobody asked for (a greeting, a second line per request).
    ++counted.errors.unexpected_reply;
    if (auto* second = second_at(connection, now)) {
      ++second->errors.unexpected_reply;
    }
    return;
  }
  const Outstanding request = connection.window[connection.head];
  connection.head = (connection.head + 1) % connection.window.size();
  --connection.in_flight;
  auto* second = second_at(connection, now);
  if (!expected) {
    ++counted.errors.unexpected_reply;
    if (second != nullptr) {
      ++second->errors.unexpected_reply;
    }
  }
  if (request.measured) {
    ++counted.replies;
    ++quota_finished_;
    const auto latency = nanoseconds(now - request.intended);
    counted.latency.record(latency);
    if (second != nullptr) {
      ++second->replies;
      auto& timeline = timeline_[static_cast<std::size_t>(connection.target)];
      const auto index = static_cast<std::size_t>(second - timeline.seconds.data());
      if (index != timeline.current_second) {
        timeline.compact();
        timeline.current_second = index;
      }
      timeline.current.record(latency);
    }
    counted.uncorrected_latency.record(nanoseconds(now - request.sent));
    check_done();
  }
}

TargetTimeline::Second* LoadWorker::second_at(const Connection& connection, TimePoint now) {
  if (now < schedule_.measure_start) {
    return nullptr;
  }
  const auto index = static_cast<std::size_t>((now - schedule_.measure_start) / 1s);
  return timeline_[static_cast<std::size_t>(connection.target)].at(index);
}

bool LoadWorker::may_send(const Connection& connection, TimePoint intended) const noexcept {
  if (!sending_) {
    return false;
  }
  // From the clock, not from the turn timer: a loop that is late to run the
  // timer must not let the last turn's target go on sending into the next.
  if (schedule_.slots > 1 && schedule_.sender_at(intended) != connection.target) {
    return false;
  }
  if (requests_mode_) {
    return !measuring(intended) || quota_sent_ < quota_;
  }
  return intended < schedule_.end;
}

void LoadWorker::pump(Connection& connection, TimePoint now) {
  if (connection.state != State::open) {
    return;
  }
  const std::size_t window = connection.window.size();
  if (!open_loop_) {
    while (connection.in_flight < window && may_send(connection, now)) {
      enqueue(connection, now, now);
    }
  } else {
    while (connection.in_flight < window && connection.next_intended <= now &&
           may_send(connection, connection.next_intended)) {
      enqueue(connection, connection.next_intended, now);
      connection.next_intended += send_interval_;
    }
    // A free slot waits for the schedule; a full window waits for a reply
    // (which calls pump again), and the requests it delays are sent late but
    // charged from their intended time.
    if (connection.in_flight < window && !connection.send_timer.pending() &&
        may_send(connection, connection.next_intended)) {
      connection.send_timer = loop_->call_at(
          connection.next_intended, [this, &connection] { pump(connection, loop_->time()); });
    }
  }
  flush(connection);
}

void LoadWorker::enqueue(Connection& connection, TimePoint intended, TimePoint now) {
  const std::size_t tail = (connection.head + connection.in_flight) % connection.window.size();
  const bool measured = measuring(intended);
  connection.window[tail] = Outstanding{intended, now, measured};
  ++connection.in_flight;
  connection.out.append(options_.request);
  if (measured) {
    ++counters(connection).requests_sent;
    ++quota_sent_;
  }
}

void LoadWorker::flush(Connection& connection) {
  if (connection.state != State::open) {
    return;
  }
  while (connection.out_offset < connection.out.size()) {
    const ssize_t sent = ::send(connection.fd.get(), connection.out.data() + connection.out_offset,
                                connection.out.size() - connection.out_offset, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        connection.watch.set_interest(Interest::both | Interest::edge);
        return;
      }
      fail(connection, ErrorKind::reset, errno);
      return;
    }
    connection.out_offset += static_cast<std::size_t>(sent);
    counters(connection).bytes_sent += static_cast<std::uint64_t>(sent);
  }
  connection.out.clear();
  connection.out_offset = 0;
  connection.watch.set_interest(kReading);
}

// ---------------------------------------------------------------- errors

void LoadWorker::fail(Connection& connection, ErrorKind kind, int error) {
  const char* what = "";
  TargetCounters& counted = counters(connection);
  LoadErrors this_one;
  switch (kind) {
    case ErrorKind::connect_failed:
      this_one.connect_failed = 1;
      what = "connect failed";
      break;
    case ErrorKind::reset:
      this_one.reset = 1;
      what = "reset";
      break;
    case ErrorKind::closed:
      this_one.closed = 1;
      what = "closed";
      break;
    case ErrorKind::timeout:
      this_one.timeout = 1;
      what = "timeout";
      break;
  }
  counted.errors += this_one;
  if (loop_ != nullptr) {
    if (auto* second = second_at(connection, loop_->time())) {
      second->errors += this_one;
    }
  }
  counted.last_error =
      std::string(what) + ": " +
      (error != 0 ? error_text(error) : std::string("the server closed the connection"));
  error_since_reply_ = true;
  // Requests in flight die with the connection: in requests mode they still
  // count towards the total, or the run would wait for them forever.
  for (std::size_t i = 0; i < connection.in_flight; ++i) {
    const auto& request = connection.window[(connection.head + i) % connection.window.size()];
    if (request.measured) {
      ++counted.unanswered;
      ++quota_finished_;
    }
  }
  close(connection);
  if (sending_) {
    schedule_reconnect(connection, kind == ErrorKind::connect_failed ? kReconnectAfterConnectFailure
                                                                     : kReconnectAfterError);
  }
  check_done();
}

void LoadWorker::close(Connection& connection) noexcept {
  if (connection.state == State::open) {
    --counters(connection).open_connections;
  }
  connection.state = State::idle;
  // The watch goes before the fd (see FdWatch).
  connection.watch.reset();
  connection.fd.reset();
  connection.head = 0;
  connection.in_flight = 0;
  connection.out.clear();
  connection.out_offset = 0;
  connection.reply_prefix.clear();
  connection.send_timer.cancel();
  connection.reconnect_timer.cancel();
  connection.read_again.cancel();
}

void LoadWorker::schedule_reconnect(Connection& connection, Duration delay) {
  connection.reconnect_timer =
      loop_->call_later(delay, [this, &connection] { start_connect(connection); });
}

// ---------------------------------------------------------------- run control

void LoadWorker::housekeeping() {
  if (finished_) {
    return;
  }
  if (stop_requested_.load(std::memory_order_relaxed)) {
    finish();
    return;
  }
  const TimePoint now = loop_->time();
  for (auto& connection : connections_) {
    if (connection.state == State::connecting && now - connection.state_since > options_.timeout) {
      on_connect_result(connection, ETIMEDOUT);
    } else if (connection.state == State::open && connection.in_flight > 0 &&
               now - connection.window[connection.head].sent > options_.timeout) {
      fail(connection, ErrorKind::timeout, ETIMEDOUT);
    }
    if (finished_) {
      return;
    }
  }
  // Nothing is sent in other processes' turns (--turn-slot) or in a drain,
  // so nothing is answered either: those do not count as silence.
  const Duration others_turns =
      (schedule_.slots - schedule_.targets) * schedule_.turn + schedule_.drain;
  if (error_since_reply_ && now - last_reply_ > 2 * options_.timeout + others_turns) {
    std::string targets = options_.target.to_string();
    for (const auto& other : options_.compare_with) {
      targets += ", " + other.to_string();
    }
    abort("no reply from " + targets + " for " +
          std::to_string(
              std::chrono::duration_cast<std::chrono::milliseconds>(now - last_reply_).count()) +
          " ms while connections kept failing" +
          (last_connect_error_.empty() ? std::string()
                                       : " (last connect error: " + last_connect_error_ + ")"));
    return;
  }
  if (now - last_publish_ >= kPublishInterval) {
    last_publish_ = now;
    publish(false);
  }
}

void LoadWorker::next_turn() {
  if (finished_) {
    return;
  }
  const TimePoint now = loop_->time();
  const int owner = schedule_.owner_at(now);
  turn_timer_ = loop_->call_at(schedule_.next_turn_after(now), [this] { next_turn(); });
  if (owner < 0) {
    return;  // another process's turn
  }
  // Its connections are idle, their last replies in: fill their windows.
  const auto targets = static_cast<std::size_t>(schedule_.targets);
  for (std::size_t slot = static_cast<std::size_t>(owner); slot < connections_.size();
       slot += targets) {
    pump(connections_[slot], now);
    if (finished_) {
      return;
    }
  }
}

void LoadWorker::check_done() {
  if (requests_mode_ && !finished_ && quota_sent_ >= quota_ && quota_finished_ >= quota_) {
    finish();
  }
}

void LoadWorker::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  sending_ = false;
  live_.finished_at = loop_ != nullptr ? loop_->time() : schedule_.start;
  for (auto& connection : connections_) {
    for (std::size_t i = 0; i < connection.in_flight; ++i) {
      if (connection.window[(connection.head + i) % connection.window.size()].measured) {
        ++counters(connection).in_flight_at_end;
      }
    }
    close(connection);
  }
  housekeeping_timer_.cancel();
  end_timer_.cancel();
  turn_timer_.cancel();
  if (loop_ != nullptr) {
    loop_->stop();
  }
}

void LoadWorker::abort(std::string reason) {
  if (live_.abort_reason.empty()) {
    live_.abort_reason = std::move(reason);
  }
  finish();
}

void LoadWorker::publish(bool final) {
  live_.finished = final;
  std::lock_guard lock(publish_mutex_);
  published_ = live_;
}

void LoadWorker::add_progress(LoadProgress& out, LatencyHistogram* latency) const {
  std::lock_guard lock(publish_mutex_);
  for (const auto& target : published_.targets) {
    out.replies += target.replies;
    out.errors += target.errors;
    out.open_connections += target.open_connections;
    if (latency != nullptr) {
      latency->merge(target.latency);
    }
  }
}

}  // namespace pz::detail
