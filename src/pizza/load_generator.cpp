#include "pizzeria/pizza/load_generator.hpp"

#include <netdb.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include "load_worker.hpp"

namespace pz {

namespace {

using namespace std::chrono_literals;

constexpr Duration kProgressInterval = 1s;
// --pipeline times --connections: 24 bytes of bookkeeping each, 240 MB.
constexpr std::uint64_t kMaxRequestsInFlight = 10'000'000;
// --turn-slot's N: more than any comparison needs.
constexpr int kMaxTurnSlots = 1000;
// How often run()'s thread looks at stop() while it waits.
constexpr Duration kStopPollInterval = 100ms;

// 1500, 0.5, 2.25: no trailing zeros in messages.
std::string number_text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string seconds_text(Duration duration) {
  return number_text(std::chrono::duration<double>(duration).count()) + " s";
}

// Each second's counters added up over the workers, its latency buckets
// merged into one histogram for its percentiles.
std::vector<LoadSecond> merge_timelines(
    const std::vector<std::unique_ptr<detail::LoadWorker>>& workers, std::size_t target) {
  std::size_t length = 0;
  for (const auto& worker : workers) {
    length = std::max(length, worker->timeline()[target].seconds.size());
  }
  std::vector<LoadSecond> timeline(length);
  LatencyHistogram latency;
  for (std::size_t index = 0; index < length; ++index) {
    LoadSecond& second = timeline[index];
    latency.reset();
    for (const auto& worker : workers) {
      const auto& seconds = worker->timeline()[target].seconds;
      if (index >= seconds.size()) {
        continue;
      }
      second.replies += seconds[index].replies;
      second.errors += seconds[index].errors;
      for (const auto& [bucket, count] : seconds[index].buckets) {
        // The bucket's highest value is what a percentile in it reports.
        latency.record(LatencyHistogram::bucket_highest(bucket), count);
      }
    }
    second.p50 = latency.value_at_percentile(50.0);
    second.p99 = latency.value_at_percentile(99.0);
    second.p99_9 = latency.value_at_percentile(99.9);
  }
  return timeline;
}

}  // namespace

LoadErrors& LoadErrors::operator+=(const LoadErrors& other) noexcept {
  connect_failed += other.connect_failed;
  reset += other.reset;
  closed += other.closed;
  timeout += other.timeout;
  unexpected_reply += other.unexpected_reply;
  return *this;
}

double LoadResult::replies_per_second() const noexcept {
  const double seconds = std::chrono::duration<double>(measured).count();
  return seconds > 0.0 ? static_cast<double>(replies) / seconds : 0.0;
}

std::string check_load_options(const LoadOptions& options) {
  if (options.target.port() == 0) {
    return "the target port is 0: give the port the server listens on";
  }
  if (options.connections < 1) {
    return "--connections must be at least 1 (got " + std::to_string(options.connections) + ")";
  }
  if (options.threads < 1) {
    return "--threads must be at least 1 (got " + std::to_string(options.threads) + ")";
  }
  if (options.threads > options.connections) {
    return "--threads " + std::to_string(options.threads) + " exceeds --connections " +
           std::to_string(options.connections) + ": every thread needs a connection";
  }
  if (options.pipeline < 1) {
    return "--pipeline must be at least 1 (got " + std::to_string(options.pipeline) + ")";
  }
  // Every request a window can hold is bookkeeping allocated up front, before
  // the clock starts; 100 million of them took seconds and gigabytes, and a
  // run whose duration passed meanwhile sent nothing and reported success.
  // In turns, every target's connections hold their windows.
  const auto targets = 1 + options.compare_with.size();
  if (targets * static_cast<std::uint64_t>(options.pipeline) *
          static_cast<std::uint64_t>(options.connections) >
      kMaxRequestsInFlight) {
    return "--pipeline " + std::to_string(options.pipeline) + " on " +
           std::to_string(options.connections) + " connection(s)" +
           (targets > 1 ? " to each of " + std::to_string(targets) + " targets" : std::string()) +
           " would keep more than " + std::to_string(kMaxRequestsInFlight) +
           " requests in flight; use a smaller window";
  }
  if (options.requests == 0 && options.duration <= Duration::zero()) {
    return "--duration must be positive (got " + seconds_text(options.duration) + ")";
  }
  if (options.warmup < Duration::zero()) {
    return "--warmup must not be negative";
  }
  if (options.timeout <= Duration::zero()) {
    return "--timeout must be positive (got " + seconds_text(options.timeout) + ")";
  }
  if (options.request.empty() || options.request.back() != '\n') {
    return "--request must end with a newline (\\n): replies are matched to requests line by line";
  }
  if (options.expect.find('\n') != std::string::npos) {
    return "--expect must not contain a newline: it is matched against the start of one reply line";
  }
  if (options.rate < 0.0) {
    return "--rate must not be negative";
  }
  if (options.rate > 0.0 && options.rate < options.connections) {
    return "--rate " + number_text(options.rate) + " is below --connections " +
           std::to_string(options.connections) +
           ": every connection must send at least one request per second; use fewer connections";
  }
  if (options.connect_rate < 0.0) {
    return "--connect-rate must not be negative";
  }
  if (options.busy_poll < Duration::zero()) {
    return "--busy-poll must not be negative";
  }
  if (options.turn_drain != Duration::zero() && options.compare_with.empty() &&
      options.turn_slots == 0) {
    return "--turn-drain applies only to turns (--compare-with or --turn-slot)";
  }
  if (options.turn_slots < 0) {
    return "--turn-slot: the number of slots must be positive";
  }
  if (options.turn_slots > 0 &&
      (options.turn_slot < 0 || static_cast<std::size_t>(options.turn_slot) + targets >
                                    static_cast<std::size_t>(options.turn_slots))) {
    return "--turn-slot " + std::to_string(options.turn_slot + 1) + "/" +
           std::to_string(options.turn_slots) + " leaves no room for this run's " +
           std::to_string(targets) + " target(s), one slot each";
  }
  if (!options.compare_with.empty() || options.turn_slots > 0) {
    for (const auto& other : options.compare_with) {
      if (other.port() == 0) {
        return "a --compare-with port is 0: give the port that server listens on";
      }
    }
    if (options.turn < 1ms) {
      return "--turn must be at least 1 ms (got " + seconds_text(options.turn) + ")";
    }
    // Whole turns, so that every target gets the same share of both phases.
    if (options.requests == 0 && (options.duration % options.turn != Duration::zero() ||
                                  options.warmup % options.turn != Duration::zero())) {
      return "with turns, --duration and --warmup must be whole multiples of --turn (" +
             seconds_text(options.turn) + "), so that every target gets the same time";
    }
    if (options.turn_drain < Duration::zero() || options.turn_drain >= options.turn) {
      return "--turn-drain must be at least 0 and shorter than --turn (" +
             seconds_text(options.turn) + "), or nobody would ever send";
    }
    if (options.turn_slots > kMaxTurnSlots) {
      return "--turn-slot: at most " + std::to_string(kMaxTurnSlots) + " slots";
    }
    // The run lasts that many times both phases, on a clock of 64-bit
    // nanoseconds (292 years): keep far inside it.
    const auto turns_per_cycle =
        std::max<std::size_t>(targets, static_cast<std::size_t>(std::max(options.turn_slots, 0)));
    if (std::chrono::duration<double>(options.warmup + options.duration).count() *
            static_cast<double>(turns_per_cycle) >
        1e9) {
      return "with turns the run lasts " + std::to_string(turns_per_cycle) +
             " times --warmup plus --duration: more than 30 years; use shorter phases";
    }
    if (options.requests > 0) {
      return "turns (--compare-with, --turn-slot) need --duration, not --requests: the targets "
             "take turns of equal time, so they cannot all stop at a number of requests";
    }
    if (options.rate > 0.0) {
      return "turns (--compare-with, --turn-slot) are closed loop only: an open-loop schedule "
             "would stall through the other targets' turns";
    }
  }
  return {};
}

LoadGenerator::LoadGenerator(LoadOptions options) : options_(std::move(options)) {
  if (auto problem = check_load_options(options_); !problem.empty()) {
    throw std::invalid_argument(problem);
  }
}

LoadGenerator::~LoadGenerator() = default;

LoadResult LoadGenerator::run() {
  return run_each().front();
}

std::vector<LoadResult> LoadGenerator::run_each() {
  const int threads = options_.threads;
  const int targets = 1 + static_cast<int>(options_.compare_with.size());
  detail::LoadSchedule schedule{};
  schedule.targets = targets;
  schedule.turn = options_.turn;
  schedule.drain = options_.turn_drain;
  schedule.start = SteadyClock::instance().now();
  schedule.turn_origin = schedule.start;
  schedule.slots = targets;
  if (options_.turn_slots > 0) {
    // Shared turns: counted from the Unix epoch, which the other runs read
    // too. The steady clock keeps them, from the turn that holds now.
    const auto since_epoch =
        std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch());
    schedule.origin_index = since_epoch / options_.turn;
    schedule.turn_origin = schedule.start - since_epoch % options_.turn;
    schedule.slots = options_.turn_slots;
    schedule.first_slot = options_.turn_slot;
  }
  // Each target gets the warm-up and the duration asked for, in turns.
  schedule.measure_start = schedule.start + schedule.slots * options_.warmup;
  schedule.end = options_.requests > 0
                     ? TimePoint::max()
                     : schedule.measure_start + schedule.slots * options_.duration;

  detail::LoadCompletion completion;
  std::vector<std::unique_ptr<detail::LoadWorker>> workers;
  int first = 0;
  for (int t = 0; t < threads; ++t) {
    // Spread connections and requests as evenly as integers allow.
    const int count = options_.connections / threads + (t < options_.connections % threads ? 1 : 0);
    std::uint64_t quota = 0;
    if (options_.requests > 0) {
      const auto share = static_cast<std::uint64_t>(threads);
      quota = options_.requests / share +
              (static_cast<std::uint64_t>(t) < options_.requests % share ? 1 : 0);
    }
    workers.push_back(std::make_unique<detail::LoadWorker>(options_, schedule, first, count, quota,
                                                           stop_requested_, completion));
    first += count;
  }
  std::vector<std::thread> running;
  running.reserve(workers.size());
  for (auto& worker : workers) {
    running.emplace_back([&worker] { worker->run(); });
  }

  std::uint64_t previous_replies = 0;
  TimePoint previous_report = schedule.start;
  TimePoint next_report = schedule.start + kProgressInterval;
  for (;;) {
    {
      std::unique_lock lock(completion.mutex);
      const auto wake = std::min(next_report, SteadyClock::instance().now() + kStopPollInterval);
      completion.finished_changed.wait_until(lock, wake,
                                             [&] { return completion.finished == threads; });
      if (completion.finished == threads) {
        break;
      }
    }
    const TimePoint now = SteadyClock::instance().now();
    if (now < next_report) {
      continue;
    }
    next_report += kProgressInterval;
    if (!options_.on_progress) {
      continue;
    }
    LoadProgress progress;
    LatencyHistogram latency;
    for (const auto& worker : workers) {
      worker->add_progress(progress, &latency);
    }
    progress.elapsed = now - schedule.start;
    progress.warming_up = now < schedule.measure_start;
    progress.p99_so_far = latency.value_at_percentile(99.0);
    const double seconds = std::chrono::duration<double>(now - previous_report).count();
    progress.replies_per_second_now =
        seconds > 0.0 ? static_cast<double>(progress.replies - previous_replies) / seconds : 0.0;
    previous_replies = progress.replies;
    previous_report = now;
    options_.on_progress(progress);
  }
  for (auto& thread : running) {
    thread.join();
  }

  TimePoint finished_at = schedule.measure_start;
  std::string abort_reason;
  for (const auto& worker : workers) {
    const auto& snapshot = worker->final_snapshot();
    finished_at = std::max(finished_at, snapshot.finished_at);
    if (abort_reason.empty()) {
      abort_reason = snapshot.abort_reason;
    }
  }
  std::vector<LoadResult> results(static_cast<std::size_t>(targets));
  for (int target = 0; target < targets; ++target) {
    LoadResult& result = results[static_cast<std::size_t>(target)];
    result.target = options_.target_address(static_cast<std::size_t>(target));
    result.open_loop = options_.rate > 0.0;
    result.abort_reason = abort_reason;
    for (const auto& worker : workers) {
      const auto& counters = worker->final_snapshot().targets[static_cast<std::size_t>(target)];
      result.requests_sent += counters.requests_sent;
      result.replies += counters.replies;
      result.unanswered += counters.unanswered;
      result.in_flight_at_end += counters.in_flight_at_end;
      result.connects += counters.connects;
      result.bytes_sent += counters.bytes_sent;
      result.bytes_received += counters.bytes_received;
      result.errors += counters.errors;
      result.latency.merge(counters.latency);
      result.uncorrected_latency.merge(counters.uncorrected_latency);
      if (result.last_error.empty()) {
        result.last_error = counters.last_error;
      }
    }
    result.timeline = merge_timelines(workers, static_cast<std::size_t>(target));
    // finished_at never precedes measure_start (it starts there), so a run
    // that gave up during the warm-up measured nothing rather than a
    // negative time.
    result.measured =
        schedule.turn_time(target, schedule.measure_start, std::min(finished_at, schedule.end));
  }
  return results;
}

SocketAddress resolve_load_target(std::string_view text) {
  std::string host = "127.0.0.1";
  std::string_view port_text = text;
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
      throw std::invalid_argument("target '" + std::string(text) +
                                  "': write an IPv6 host in brackets, as [::1]:PORT");
    }
    if (host.empty()) {
      throw std::invalid_argument("target '" + std::string(text) + "' has an empty host");
    }
  }
  unsigned long port = 0;
  const auto* first = port_text.data();
  const auto* last = port_text.data() + port_text.size();
  const auto [end, error] = std::from_chars(first, last, port);
  if (port_text.empty() || error == std::errc::invalid_argument || end != last) {
    throw std::invalid_argument("target '" + std::string(text) + "': port '" +
                                std::string(port_text) + "' is not a number");
  }
  if (error == std::errc::result_out_of_range || port < 1 || port > 65535) {
    throw std::invalid_argument("port " + std::string(port_text) + " is out of range (1-65535)");
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int status = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (status != 0) {
    throw std::invalid_argument("unknown host '" + host + "': " + ::gai_strerror(status));
  }
  // IPv4 first: "localhost" often lists ::1 first while servers listen on 127.0.0.1.
  const addrinfo* chosen = found;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    if (entry->ai_family == AF_INET) {
      chosen = entry;
      break;
    }
  }
  SocketAddress address;
  try {
    address = SocketAddress::from_sockaddr(chosen->ai_addr, chosen->ai_addrlen);
  } catch (...) {
    ::freeaddrinfo(found);
    throw;
  }
  ::freeaddrinfo(found);
  address.set_port(static_cast<std::uint16_t>(port));
  return address;
}

std::string unescape_request(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 == text.size()) {
      throw std::invalid_argument("'" + std::string(text) + "' ends with a lone backslash");
    }
    switch (text[++i]) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '\\':
        out.push_back('\\');
        break;
      default:
        throw std::invalid_argument("'" + std::string(text) + "': unknown escape '\\" +
                                    std::string(1, text[i]) + "' (known: \\n \\r \\t \\\\)");
    }
  }
  return out;
}

std::uint64_t raise_open_file_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return 0;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
}

}  // namespace pz
