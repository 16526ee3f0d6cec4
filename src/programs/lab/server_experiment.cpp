// Seed 000's thread per client against the reactor: `serve` under `load`,
// with the server's threads and memory sampled from /proc, and the CPU an
// idle polling server burns.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/programs/lab/experiment_failure.hpp"
#include "pizzeria/programs/lab/lab_server.hpp"
#include "pizzeria/programs/lab/process_stats.hpp"
#include "programs/lab/experiments.hpp"

namespace pz::programs::lab {

namespace {

using Clock = std::chrono::steady_clock;

struct LoadResult {
  double replies_per_second = 0;
  double p99_ms = 0;
  double errors = 0;
  long peak_threads = 0;
  long peak_rss_kib = 0;
};

LoadResult parse_load_json(const std::string& path, LoadResult result) {
  std::ifstream file(path);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& error) {
    throw ExperimentFailure(fmt::format("{}: {}", path, error.what()), {});
  }
  try {
    result.replies_per_second = json.at("replies_per_second").get<double>();
    result.p99_ms = json.at("latency").at("p99").get<double>() / 1e6;
    for (const auto& [name, count] : json.at("errors").items()) {
      if (count.is_number()) {
        result.errors += count.get<double>();
      }
    }
  } catch (const nlohmann::json::exception& error) {
    throw ExperimentFailure(fmt::format("load's JSON: {}", error.what()), {});
  }
  return result;
}

Task<LoadResult> load_model(const Commands& commands, std::string model, unsigned connections,
                            std::string duration, std::vector<std::string>& shown) {
  const SiblingCommand serve = commands.make(
      "server",
      {"serve", "--model", model, "--port", "0", "--workers", "1", "--max-connections", "20000"});
  shown.push_back(serve.line());
  LabServer server = co_await LabServer::start(serve, kLimit);
  const std::string json_path = fmt::format("/tmp/pizzeria-lab-{}-{}.json", ::getpid(), model);
  // Removed however this experiment ends.
  const std::unique_ptr<const std::string, void (*)(const std::string*)> remove_json(
      &json_path, [](const std::string* path) { std::remove(path->c_str()); });
  const SiblingCommand load =
      commands.make("server", {"load", fmt::format("127.0.0.1:{}", server.port()), "-c",
                               std::to_string(connections), "-d", duration, "--json", json_path});
  // The report shows the port as PORT and the file as FILE: they change on
  // every run.
  std::vector<std::string> arguments(load.argv().begin() + 1, load.argv().end());
  arguments[1] = "127.0.0.1:PORT";
  arguments[7] = "FILE";
  shown.push_back(SiblingCommand("", arguments).line());
  LoadResult result;
  const pid_t pid = server.pid();
  const auto sample = [&result, pid] {
    if (const auto now = ProcessStats::sample(pid)) {
      result.peak_threads = std::max(result.peak_threads, now->threads);
      result.peak_rss_kib = std::max(result.peak_rss_kib, now->rss_kib);
    }
  };
  // Exit 1 means the run completed but counted errors: the errors are a
  // measurement, shown in the table.
  std::vector<int> completed(2);
  completed[1] = 1;
  co_await load.run(kLimit, sample, std::move(completed));
  co_await server.stop(std::chrono::seconds(20));
  co_return parse_load_json(json_path, result);
}

Task<double> idle_cpu(const Commands& commands, std::string model, double seconds,
                      std::vector<std::string>& shown) {
  const SiblingCommand serve =
      commands.make("server", {"serve", "--model", model, "--port", "0", "--workers", "1"});
  shown.push_back(serve.line() + fmt::format("   (idle for {} s)", seconds));
  LabServer server = co_await LabServer::start(serve, kLimit);
  const double before = ProcessStats::cpu_seconds(server.pid());
  const auto start = Clock::now();
  co_await sleep(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
  const double burned = ProcessStats::cpu_seconds(server.pid()) - before;
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  co_await server.stop(std::chrono::seconds(20));
  co_return burned / wall;
}

void report(unsigned connections, const LoadResult& threads, const LoadResult& reactor,
            double polling_cpu, double reactor_cpu, LabReport::Experiment& result) {
  result.columns = {"model",        "replies/s",    "p99 ms",      "errors",
                    "peak threads", "peak RSS MiB", "idle CPU s/s"};
  const auto row = [](const char* name, const LoadResult& r, std::string idle) {
    return std::vector<std::string>{name,
                                    LabReport::number(r.replies_per_second),
                                    LabReport::number(r.p99_ms),
                                    fmt::format("{:.0f}", r.errors),
                                    std::to_string(r.peak_threads),
                                    LabReport::number(r.peak_rss_kib / 1024.0),
                                    std::move(idle)};
  };
  // "-": not measured for that model.
  result.rows = {row("threads", threads, "-"),
                 row("reactor", reactor, fmt::format("{:.2f}", reactor_cpu)),
                 {"polling", "-", "-", "-", "-", "-", fmt::format("{:.2f}", polling_cpu)}};
  result.charts = {
      {"Replies per second",
       "",
       {{"threads", threads.replies_per_second}, {"reactor", reactor.replies_per_second}}},
      {"p99 latency", "ms", {{"threads", threads.p99_ms}, {"reactor", reactor.p99_ms}}},
      {"Peak server threads",
       "",
       {{"threads", static_cast<double>(threads.peak_threads)},
        {"reactor", static_cast<double>(reactor.peak_threads)}}},
      {"Peak server RSS",
       "MiB",
       {{"threads", threads.peak_rss_kib / 1024.0}, {"reactor", reactor.peak_rss_kib / 1024.0}}},
      {"CPU burned while idle, per second",
       "s",
       {{"polling", polling_cpu}, {"reactor", reactor_cpu}}},
  };
  result.verdict = fmt::format(
      "at {} connections the thread-per-client server peaked at {} threads and {:.1f} "
      "MiB, the reactor at {} thread{} and {:.1f} MiB; reactor throughput {:.2f}x "
      "of threads, p99 {:.2f}x; idle, polling burned {:.2f} CPU-s per s and the "
      "reactor {:.2f}; Exercise 5's arithmetic (100 us of work and a 1 us switch per "
      "thread per second) asks {:.3f} of a core for {} threads, {:.2f} for 10000",
      connections, threads.peak_threads, threads.peak_rss_kib / 1024.0, reactor.peak_threads,
      reactor.peak_threads == 1 ? "" : "s", reactor.peak_rss_kib / 1024.0,
      reactor.replies_per_second / threads.replies_per_second, reactor.p99_ms / threads.p99_ms,
      polling_cpu, reactor_cpu, static_cast<double>(threads.peak_threads) * 101e-6,
      threads.peak_threads, 10000 * 101e-6);
}

Task<void> measure(const Commands& commands, unsigned connections, std::string duration,
                   double idle_seconds, LabReport::Experiment& result) {
  const LoadResult threads =
      co_await load_model(commands, "threads", connections, duration, result.commands);
  const LoadResult reactor =
      co_await load_model(commands, "reactor", connections, duration, result.commands);
  const double polling_cpu = co_await idle_cpu(commands, "polling", idle_seconds, result.commands);
  const double reactor_cpu = co_await idle_cpu(commands, "reactor", idle_seconds, result.commands);
  report(connections, threads, reactor, polling_cpu, reactor_cpu, result);
}

}  // namespace

Plan server_experiment(const Commands& commands) {
  const LabSettings& settings = commands.settings();
  const unsigned connections =
      settings.connections != 0 ? settings.connections : (settings.quick ? 100 : 1000);
  auto experiment = make_experiment(
      "server", fmt::format("Thread per client vs reactor at {} connections", connections),
      "seed 000, Exercises 4, 5 and 7, and the appendix (the reactor pattern)",
      "A thread per client lets the server serve many customers, but with millions "
      "of concurrent requests each thread costs memory and the OS must slice time "
      "between them (Exercise 5: 10000 threads at 1 us per switch). A reactor "
      "waits for all sockets in one thread; busy-waiting on non-blocking sockets "
      "(Exercise 7) burns a core even when no one is connected.");
  const std::string duration = settings.quick ? "300ms" : "3s";
  const double idle_seconds = settings.quick ? 0.3 : 1.0;
  return {std::move(experiment),
          [&commands, connections, duration, idle_seconds](LabReport::Experiment& result) {
            return measure(commands, connections, duration, idle_seconds, result);
          }};
}

}  // namespace pz::programs::lab
