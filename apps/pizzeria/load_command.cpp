// `pizzeria load [HOST:]PORT`: drives any newline-delimited request/response
// server with pz::LoadGenerator and reports throughput, errors and latency
// percentiles (text on stdout, optional JSON file, live progress on stderr).
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pizzeria/pizza/load_generator.hpp"
#include "pizzeria/pizza/load_report.hpp"
#include "pizzeria/pizza/load_threshold.hpp"
#include "pizzeria/programs/load_html_report.hpp"

namespace pz::app {

namespace {

using namespace std::chrono_literals;

// Exit codes, as --help lists them.
constexpr int kExitClean = 0;
constexpr int kExitErrorsCounted = 1;
constexpr int kExitBadArguments = 2;
constexpr int kExitGaveUp = 3;
constexpr int kExitOutputFailed = 4;
constexpr int kExitThresholdBroken = 5;

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  the run completed and every reply was as expected\n"
    "  1  the run completed but errors were counted (connect failed, reset, closed,\n"
    "     timeout, unexpected reply)\n"
    "  2  bad arguments: unknown host, port out of range, a rate below the\n"
    "     connection count, a malformed number or duration, ...\n"
    "  3  the run gave up: no connection could be made, or no reply came for twice\n"
    "     --timeout while connections kept failing\n"
    "  4  the report could not be written (to standard output or the --json, --hgrm,\n"
    "     --csv or --html file)\n"
    "  5  a --fail-if threshold was broken (each is named on stderr with the value)\n"
    "  (unknown or missing options are reported by the option parser, with codes\n"
    "  above 100)\n"
    "Ctrl-C ends the run early and reports what was measured so far.\n"
    "\n"
    "Examples:\n"
    "  pizzeria load 12345 --connections 100 --duration 10s\n"
    "  pizzeria load 127.0.0.1:6379 --request 'PING\\r\\n' --expect +PONG -c 50 -t 2\n"
    "  pizzeria load 12345 --rate 20000 -c 200 -t 2 --duration 30s --json run.json\n"
    "  pizzeria load 12345 --compare-with 12346 -c 50 -d 5s   (in 100 ms turns, 10 s)\n"
    "  pizzeria load 12345 -d 30s --fail-if 'p99>5ms' --fail-if 'errors>0' --hgrm run.hgrm";

// Only the handler touches it: stop() is async-signal-safe.
LoadGenerator* interrupted_generator = nullptr;

extern "C" void on_interrupt(int /*signal*/) {
  if (interrupted_generator != nullptr) {
    interrupted_generator->stop();
  }
}

struct ArgumentError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

template <typename Integer>
Integer parse_whole(const std::string& option, const std::string& text, Integer minimum) {
  Integer value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error == std::errc::invalid_argument || end != text.data() + text.size()) {
    throw ArgumentError(fmt::format("{} '{}' is not a whole number", option, text));
  }
  if (error == std::errc::result_out_of_range || value < minimum) {
    throw ArgumentError(fmt::format("{} {} is out of range (at least {})", option, text, minimum));
  }
  return value;
}

double parse_rate(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !(value >= 0.0) || value > 1e12) {
    throw ArgumentError(
        fmt::format("{} '{}' is not a non-negative number per second", option, text));
  }
  return value;
}

// "10s", "500ms", "250us", "2m", "1.5" (seconds).
Duration parse_duration(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used > 0 ? text.substr(used) : std::string();
  double seconds_per_unit = 0;
  if (unit.empty() || unit == "s") {
    seconds_per_unit = 1;
  } else if (unit == "ms") {
    seconds_per_unit = 1e-3;
  } else if (unit == "us") {
    seconds_per_unit = 1e-6;
  } else if (unit == "m") {
    seconds_per_unit = 60;
  } else if (unit == "h") {
    seconds_per_unit = 3600;
  }
  if (used == 0 || seconds_per_unit == 0 || !(number >= 0) || number * seconds_per_unit > 1e7) {
    throw ArgumentError(
        fmt::format("{} '{}' is not a duration (a number with s, ms, us, m or h; seconds if bare)",
                    option, text));
  }
  // Rounded, not truncated: 50us is 4.9999...e-5 s as a double.
  return std::chrono::round<Duration>(std::chrono::duration<double>(number * seconds_per_unit));
}

// 950ns, 412us, 1.23ms, 2.10s: three significant digits are what 1% buckets support.
std::string human(std::uint64_t nanoseconds) {
  const auto value = static_cast<double>(nanoseconds);
  if (nanoseconds < 1'000) {
    return fmt::format("{}ns", nanoseconds);
  }
  if (nanoseconds < 1'000'000) {
    return fmt::format("{:.{}f}us", value / 1e3, value < 1e4 ? 2 : value < 1e5 ? 1 : 0);
  }
  if (nanoseconds < 1'000'000'000) {
    return fmt::format("{:.{}f}ms", value / 1e6, value < 1e7 ? 2 : value < 1e8 ? 1 : 0);
  }
  return fmt::format("{:.2f}s", value / 1e9);
}

double seconds(Duration duration) {
  return std::chrono::duration<double>(duration).count();
}

const std::pair<const char*, double> kSummaryPercentiles[] = {
    {"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p99.9", 99.9}, {"p99.99", 99.99}};

std::string latency_row(const char* name, const LatencyHistogram& histogram) {
  std::string row =
      fmt::format("  {:<12}{:>9}", name, human(static_cast<std::uint64_t>(histogram.mean())));
  for (const auto& [label, percentile] : kSummaryPercentiles) {
    row += fmt::format("{:>9}", human(histogram.value_at_percentile(percentile)));
  }
  row += fmt::format("{:>9}\n", human(histogram.max()));
  return row;
}

nlohmann::json histogram_json(const LatencyHistogram& histogram) {
  nlohmann::json out;
  out["count"] = histogram.count();
  out["min"] = histogram.min();
  out["mean"] = histogram.mean();
  out["max"] = histogram.max();
  for (const auto& [label, percentile] : kSummaryPercentiles) {
    out[label] = histogram.value_at_percentile(percentile);
  }
  auto spectrum = nlohmann::json::array();
  for (const auto& point : histogram.percentile_spectrum(5)) {
    spectrum.push_back({{"percentile", point.percentile}, {"value", point.value}});
  }
  out["spectrum"] = std::move(spectrum);
  return out;
}

nlohmann::json result_json(const LoadOptions& options, const LoadResult& result,
                           const std::string& target_text) {
  nlohmann::json out;
  out["target"] = target_text;
  out["address"] = result.target.to_string();
  out["mode"] = result.open_loop ? "open" : "closed";
  out["connections"] = options.connections;
  out["threads"] = options.threads;
  out["pipeline"] = options.pipeline;
  out["rate"] = options.rate;
  out["connect_rate"] = options.connect_rate;
  if (options.requests > 0) {
    out["requests"] = options.requests;
  } else {
    out["duration_s"] = seconds(options.duration);
  }
  out["warmup_s"] = seconds(options.warmup);
  if (!options.compare_with.empty() || options.turn_slots > 0) {
    out["turn_s"] = seconds(options.turn);
    out["turn_drain_s"] = seconds(options.turn_drain);
  }
  if (options.turn_slots > 0) {
    out["turn_slot"] = fmt::format("{}/{}", options.turn_slot + 1, options.turn_slots);
  }
  out["timeout_s"] = seconds(options.timeout);
  out["busy_poll_s"] = seconds(options.busy_poll);
  out["request"] = options.request;
  out["expect"] = options.expect;
  out["measured_s"] = seconds(result.measured);
  out["requests_sent"] = result.requests_sent;
  out["replies"] = result.replies;
  out["replies_per_second"] = result.replies_per_second();
  out["unanswered"] = result.unanswered;
  out["in_flight_at_end"] = result.in_flight_at_end;
  out["connects"] = result.connects;
  out["bytes_sent"] = result.bytes_sent;
  out["bytes_received"] = result.bytes_received;
  out["errors"] = {{"connect_failed", result.errors.connect_failed},
                   {"reset", result.errors.reset},
                   {"closed", result.errors.closed},
                   {"timeout", result.errors.timeout},
                   {"unexpected_reply", result.errors.unexpected_reply},
                   {"total", result.errors.total()}};
  out["abort_reason"] =
      result.abort_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.abort_reason);
  out["last_error"] =
      result.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(result.last_error);
  out["latency_unit"] = "ns";
  out["latency"] = histogram_json(result.latency);
  out["uncorrected_latency"] = histogram_json(result.uncorrected_latency);
  auto timeline = nlohmann::json::array();
  for (const LoadSecond& second : result.timeline) {
    timeline.push_back({{"replies", second.replies},
                        {"errors", second.errors.total()},
                        {"p50", second.p50},
                        {"p99", second.p99},
                        {"p99.9", second.p99_9}});
  }
  out["timeline"] = std::move(timeline);
  return out;
}

std::string report_text(const LoadOptions& options, const LoadResult& result) {
  std::string text;
  text += fmt::format("pizzeria load {}: {} loop{}, {} connection{} on {} thread{}, pipeline {}",
                      result.target.to_string(), result.open_loop ? "open" : "closed",
                      result.open_loop ? fmt::format(" at {:.0f} requests/s", options.rate) : "",
                      options.connections, options.connections == 1 ? "" : "s", options.threads,
                      options.threads == 1 ? "" : "s", options.pipeline);
  const double turn_ms = std::chrono::duration<double, std::milli>(options.turn).count();
  const std::string drain =
      options.turn_drain > Duration::zero()
          ? fmt::format(" (each ending in a {:g} ms drain)",
                        std::chrono::duration<double, std::milli>(options.turn_drain).count())
          : std::string();
  if (!options.compare_with.empty()) {
    text += fmt::format(", in {:g} ms turns{} with {} other target{}", turn_ms, drain,
                        options.compare_with.size(), options.compare_with.size() == 1 ? "" : "s");
  }
  if (options.turn_slots > 0) {
    text += fmt::format("{} slot {} of {}", options.compare_with.empty() ? ", in turns:" : ";",
                        options.turn_slot + 1, options.turn_slots);
    if (options.compare_with.empty()) {
      text += fmt::format(" ({:g} ms each{})", turn_ms, drain);
    }
  }
  if (options.busy_poll > Duration::zero()) {
    text += fmt::format(", busy polling {}",
                        human(static_cast<std::uint64_t>(options.busy_poll.count())));
  }
  text += '\n';
  text += fmt::format("  replies     {} in {:.2f} s = {:.1f} per second\n", result.replies,
                      seconds(result.measured), result.replies_per_second());
  text +=
      fmt::format("  requests    {} sent, {} lost with their connection, {} in flight at the end\n",
                  result.requests_sent, result.unanswered, result.in_flight_at_end);
  const auto& errors = result.errors;
  text += fmt::format(
      "  errors      {} (connect failed {}, reset {}, closed {}, timeout {}, unexpected reply "
      "{})\n",
      errors.total(), errors.connect_failed, errors.reset, errors.closed, errors.timeout,
      errors.unexpected_reply);
  text += fmt::format("  {:<12}{:>9}", "latency", "mean");
  for (const auto& [label, percentile] : kSummaryPercentiles) {
    text += fmt::format("{:>9}", label);
  }
  text += fmt::format("{:>9}\n", "max");
  if (result.open_loop) {
    text += latency_row("corrected", result.latency);
    text += latency_row("uncorrected", result.uncorrected_latency);
  } else {
    text += latency_row("", result.latency);
  }
  if (!result.last_error.empty()) {
    text += fmt::format("  last error  {}\n", result.last_error);
  }
  if (!result.abort_reason.empty()) {
    text += fmt::format("  gave up: {}\n", result.abort_reason);
  }
  return text;
}

// Each target's report; with --compare-with, then each other target's ratios
// to the first (throughput: above 1 is faster; p99: below 1 is better).
void print_report(const LoadOptions& options, const std::vector<LoadResult>& results) {
  std::string text;
  for (const auto& result : results) {
    text += report_text(options, result);
  }
  if (results.size() > 1) {
    const LoadResult& first = results.front();
    text += fmt::format("compared with {} (turn by turn, in the same run):\n",
                        first.target.to_string());
    for (std::size_t i = 1; i < results.size(); ++i) {
      const LoadResult& other = results[i];
      const double rate = first.replies_per_second();
      const auto p99 = first.latency.value_at_percentile(99.0);
      text += fmt::format(
          "  {:<22} replies/s {}, p99 {}\n", other.target.to_string(),
          rate > 0.0 ? fmt::format("{:.3f}x", other.replies_per_second() / rate) : "n/a",
          p99 > 0 ? fmt::format("{:.3f}x",
                                static_cast<double>(other.latency.value_at_percentile(99.0)) /
                                    static_cast<double>(p99))
                  : "n/a");
    }
  }
  // The report is the run's result: a failed write (a full disk, a closed
  // pipe) must not end in an exit status that says all went well.
  if (std::fputs(text.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
    throw std::runtime_error(std::string("writing the report to standard output failed: ") +
                             std::strerror(errno));
  }
}

struct Arguments {
  std::string target;
  std::string connections = "10";
  std::string threads = "1";
  std::string duration;
  std::string requests;
  std::string warmup = "0s";
  std::string pipeline = "1";
  std::string request = "3\\n";
  std::string expect;
  std::string rate = "0";
  std::string connect_rate = "0";
  std::string timeout = "2s";
  std::string json_file;
  std::string hgrm_file;
  std::string csv_file;
  std::string html_file;
  std::vector<std::string> fail_if;
  std::vector<std::string> compare_with;
  std::string turn;  // empty: 100ms
  std::string turn_slot;
  std::string turn_drain;  // empty: 0s
  std::string busy_poll = "0s";
  bool progress = false;
};

std::vector<LoadThreshold> build_thresholds(const Arguments& arguments) {
  std::vector<LoadThreshold> thresholds;
  for (const auto& text : arguments.fail_if) {
    try {
      thresholds.push_back(LoadThreshold::parse(text));
    } catch (const std::invalid_argument& error) {
      throw ArgumentError(error.what());
    }
    if (thresholds.back().is_ratio() && arguments.compare_with.empty()) {
      throw ArgumentError(fmt::format(
          "--fail-if '{}': a ratio needs --compare-with (the ratios are to the first target)",
          text));
    }
  }
  return thresholds;
}

// "run.hgrm" -> "run.uncorrected.hgrm"; "run" -> "run.uncorrected".
std::string uncorrected_path(const std::string& path) {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
      dot == (slash == std::string::npos ? 0 : slash + 1)) {
    return path + ".uncorrected";
  }
  return path.substr(0, dot) + ".uncorrected" + path.substr(dot);
}

// False, with the reason on stderr, when the file cannot be written whole.
bool write_file(const char* option, const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.close();
  if (!file) {
    std::fprintf(stderr, "pizzeria load: cannot write %s file '%s': %s\n", option, path.c_str(),
                 std::strerror(errno));
    return false;
  }
  return true;
}

LoadOptions build_options(const Arguments& arguments) {
  LoadOptions options;
  try {
    options.target = resolve_load_target(arguments.target);
    for (const auto& other : arguments.compare_with) {
      options.compare_with.push_back(resolve_load_target(other));
    }
    options.request = unescape_request(arguments.request);
    options.expect = unescape_request(arguments.expect);
  } catch (const std::invalid_argument& error) {
    throw ArgumentError(error.what());
  }
  options.connections = parse_whole<int>("--connections", arguments.connections, 1);
  options.threads = parse_whole<int>("--threads", arguments.threads, 1);
  options.pipeline = parse_whole<int>("--pipeline", arguments.pipeline, 1);
  if (!arguments.duration.empty() && !arguments.requests.empty()) {
    throw ArgumentError("give --duration or --requests, not both: each ends the run");
  }
  if (!arguments.requests.empty()) {
    options.requests = parse_whole<std::uint64_t>("--requests", arguments.requests, 1);
  } else {
    options.duration =
        parse_duration("--duration", arguments.duration.empty() ? "10s" : arguments.duration);
  }
  options.warmup = parse_duration("--warmup", arguments.warmup);
  options.timeout = parse_duration("--timeout", arguments.timeout);
  options.rate = parse_rate("--rate", arguments.rate);
  options.connect_rate = parse_rate("--connect-rate", arguments.connect_rate);
  options.busy_poll = parse_duration("--busy-poll", arguments.busy_poll);
  if (!arguments.turn.empty()) {
    if (arguments.compare_with.empty() && arguments.turn_slot.empty()) {
      throw ArgumentError("--turn applies only with --compare-with or --turn-slot");
    }
    options.turn = parse_duration("--turn", arguments.turn);
  }
  if (!arguments.turn_drain.empty()) {
    options.turn_drain = parse_duration("--turn-drain", arguments.turn_drain);
  }
  if (!arguments.turn_slot.empty()) {
    const auto slash = arguments.turn_slot.find('/');
    if (slash == std::string::npos) {
      throw ArgumentError(
          fmt::format("--turn-slot '{}' is not I/N (e.g. 2/3: the second of three slots)",
                      arguments.turn_slot));
    }
    options.turn_slot =
        parse_whole<int>("--turn-slot", arguments.turn_slot.substr(0, slash), 1) - 1;
    options.turn_slots = parse_whole<int>("--turn-slot", arguments.turn_slot.substr(slash + 1), 1);
  }
  if (auto problem = check_load_options(options); !problem.empty()) {
    throw ArgumentError(problem);
  }
  // Each connection is a descriptor; leave room for the loops' own.
  const auto targets = 1 + options.compare_with.size();
  if (auto shortage = open_file_shortage("--connections", options.connections,
                                         targets * static_cast<std::uint64_t>(options.connections) +
                                             16 + 4 * static_cast<std::uint64_t>(options.threads));
      !shortage.empty()) {
    throw ArgumentError(shortage);
  }
  return options;
}

int run_load(const Arguments& arguments) {
  LoadOptions options;
  std::vector<LoadThreshold> thresholds;
  try {
    options = build_options(arguments);
    thresholds = build_thresholds(arguments);
  } catch (const ArgumentError& error) {
    std::fprintf(stderr, "pizzeria load: %s\n", error.what());
    return kExitBadArguments;
  }
  if (arguments.progress || ::isatty(STDERR_FILENO) == 1) {
    options.on_progress = [](const LoadProgress& progress) {
      std::fprintf(stderr, "[%5.1fs]%s %10.0f replies/s now, p99 %s, errors %llu, open %llu\n",
                   seconds(progress.elapsed), progress.warming_up ? " warm-up" : "",
                   progress.replies_per_second_now, human(progress.p99_so_far).c_str(),
                   static_cast<unsigned long long>(progress.errors.total()),
                   static_cast<unsigned long long>(progress.open_connections));
    };
  }
  LoadGenerator generator(options);
  interrupted_generator = &generator;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  // A second Ctrl-C kills the process the usual way.
  action.sa_flags = SA_RESETHAND;
  struct sigaction previous {};
  ::sigaction(SIGINT, &action, &previous);
  const std::vector<LoadResult> results = generator.run_each();
  ::sigaction(SIGINT, &previous, nullptr);
  interrupted_generator = nullptr;
  const LoadResult& result = results.front();

  try {
    print_report(options, results);
  } catch (const std::runtime_error& error) {
    std::fprintf(stderr, "pizzeria load: %s\n", error.what());
    return kExitOutputFailed;
  }
  bool written = true;
  if (!arguments.json_file.empty()) {
    auto json = result_json(options, result, arguments.target);
    if (results.size() > 1) {
      auto compared = nlohmann::json::array();
      for (std::size_t i = 1; i < results.size(); ++i) {
        compared.push_back(result_json(options, results[i], arguments.compare_with[i - 1]));
      }
      json["compared"] = std::move(compared);
    }
    written = write_file("--json", arguments.json_file, json.dump(2) + "\n") && written;
  }
  if (!arguments.hgrm_file.empty()) {
    written = write_file("--hgrm", arguments.hgrm_file, hgrm_text(result.latency)) && written;
    written = write_file("--hgrm", uncorrected_path(arguments.hgrm_file),
                         hgrm_text(result.uncorrected_latency)) &&
              written;
  }
  if (!arguments.csv_file.empty()) {
    std::vector<std::string> names{arguments.target};
    names.insert(names.end(), arguments.compare_with.begin(), arguments.compare_with.end());
    written = write_file("--csv", arguments.csv_file, timeline_csv(results, names)) && written;
  }
  if (!arguments.html_file.empty()) {
    programs::LoadHtmlReport report;
    report.command_line = programs::LoadHtmlReport::this_command_line();
    report.machine = programs::LoadHtmlReport::this_machine();
    report.target_names.push_back(arguments.target);
    report.target_names.insert(report.target_names.end(), arguments.compare_with.begin(),
                               arguments.compare_with.end());
    report.results = results;
    written = write_file("--html", arguments.html_file, report.html()) && written;
  }
  const auto broken = broken_thresholds(thresholds, results);
  for (const auto& each : broken) {
    std::fprintf(stderr, "pizzeria load: threshold %s\n", each.message.c_str());
  }
  if (!written) {
    return kExitOutputFailed;
  }
  if (!result.abort_reason.empty()) {
    std::fprintf(stderr, "pizzeria load: gave up: %s\n", result.abort_reason.c_str());
    return kExitGaveUp;
  }
  if (!broken.empty()) {
    return kExitThresholdBroken;
  }
  for (const auto& each : results) {
    if (each.errors.total() != 0) {
      return kExitErrorsCounted;
    }
  }
  return kExitClean;
}

}  // namespace

void register_load_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<Arguments>();
  auto* command = app.add_subcommand(
      "load",
      "Load-test a server that answers one line per request line (wrk2-style, closed or open "
      "loop, latency corrected for coordinated omission)");
  command->footer(kExitCodesHelp);
  command
      ->add_option("target", arguments->target, "[HOST:]PORT to load (host 127.0.0.1 if omitted)")
      ->required()
      ->type_name("[HOST:]PORT");
  command
      ->add_option("-c,--connections", arguments->connections,
                   "Connections kept open (to each target with --compare-with) (10)")
      ->type_name("N");
  command
      ->add_option("-t,--threads", arguments->threads,
                   "Threads, one event loop each; connections are split across them (1)")
      ->type_name("N");
  command
      ->add_option("-d,--duration", arguments->duration,
                   "Length of the measured phase: 10s, 500ms, 2m (10s)")
      ->type_name("DURATION");
  command
      ->add_option("-n,--requests", arguments->requests,
                   "Instead of a duration: send and await exactly N requests")
      ->type_name("N");
  command
      ->add_option("--warmup", arguments->warmup,
                   "Run this long before measuring; its replies are not counted (0s)")
      ->type_name("DURATION");
  command->add_option("-p,--pipeline", arguments->pipeline, "Requests in flight per connection (1)")
      ->type_name("N");
  command
      ->add_option("--request", arguments->request,
                   "Request text; escapes \\n \\r \\t \\\\; must end with \\n (3\\n)")
      ->type_name("TEXT");
  command
      ->add_option("--expect", arguments->expect,
                   "Reply prefix; a reply line not starting with it counts as an error "
                   "(default: any line)")
      ->type_name("PREFIX");
  command
      ->add_option("-R,--rate", arguments->rate,
                   "Open loop: total requests per second, on a fixed schedule per connection; "
                   "at least --connections (0: closed loop)")
      ->type_name("PER_SECOND");
  command
      ->add_option("--connect-rate", arguments->connect_rate,
                   "Open at most this many connections per second at the start (0: all at once)")
      ->type_name("PER_SECOND");
  command
      ->add_option("--timeout", arguments->timeout,
                   "A request or connect unanswered this long is a timeout error (2s)")
      ->type_name("DURATION");
  command
      ->add_option("--json", arguments->json_file,
                   "Write the whole result, with the percentile spectrum, to this file")
      ->type_name("FILE");
  command
      ->add_option("--hgrm", arguments->hgrm_file,
                   "Write the corrected latency's percentile distribution in HdrHistogram's .hgrm "
                   "text format (milliseconds) to FILE, the uncorrected one to FILE with "
                   "'.uncorrected' before the extension")
      ->type_name("FILE");
  command
      ->add_option("--csv", arguments->csv_file,
                   "Write one row per second of the measured phase (replies, errors by kind, "
                   "p50/p99/p99.9 in ns) to FILE, after a header row")
      ->type_name("FILE");
  command
      ->add_option("--html", arguments->html_file,
                   "Write a self-contained HTML report (charts per second, latency by "
                   "percentile, errors by kind, with --compare-with side by side) to FILE")
      ->type_name("FILE");
  command
      ->add_option("--fail-if", arguments->fail_if,
                   "Exit with 5 if the run breaks this threshold (repeatable): "
                   "p50|p90|p99|p99.9|max>DURATION or <DURATION (ns, us, ms, s), errors>N, "
                   "rps<N, and with --compare-with ratio.p99>X, ratio.rps<X")
      ->type_name("EXPR");
  command
      ->add_option("--compare-with", arguments->compare_with,
                   "Another [HOST:]PORT to load in turns with the target, each with its own "
                   "connections (repeatable); each target gets --warmup and --duration of turns, "
                   "and the report ends with each one's ratios to the first")
      ->type_name("[HOST:]PORT");
  command
      ->add_option("--turn", arguments->turn,
                   "With --compare-with: how long each target's turn lasts (100ms)")
      ->type_name("DURATION");
  command
      ->add_option("--turn-slot", arguments->turn_slot,
                   "Share turns with other pizzeria load processes started with the same --turn "
                   "and N: this run takes slot I of every N turns (its targets slots I, I+1, ...), "
                   "counted from the Unix epoch; the run lasts N times --warmup and --duration")
      ->type_name("I/N");
  command
      ->add_option("--turn-drain", arguments->turn_drain,
                   "The last DURATION of every turn sends nothing, so that the requests in flight "
                   "are answered before the next target's turn; drains are not measured (0s)")
      ->type_name("DURATION");
  command
      ->add_option("--busy-poll", arguments->busy_poll,
                   "After events, each thread keeps polling without sleeping for up to this long "
                   "(a core spins, replies need no wake-up) before it sleeps; an idle thread "
                   "sleeps at once (0s: never spin)")
      ->type_name("DURATION");
  command->add_flag("--progress", arguments->progress,
                    "Print progress every second on stderr even when it is not a terminal");
  command->callback([arguments, &exit_code] { exit_code = run_load(*arguments); });
}

}  // namespace pz::app
