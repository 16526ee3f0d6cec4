// Seed 002's MuchCPU: `cpu-demo` with and without its emulated GIL.
#include <fmt/format.h>

#include "programs/lab/experiments.hpp"

namespace pz::programs::lab {

namespace {

void report(const nlohmann::json& a, const nlohmann::json& b, LabReport::Experiment& result) {
  const auto number = [](const nlohmann::json& json, const char* key) {
    return json.at(key).get<double>();
  };
  const double alone = number(a, "alone_s");
  const double threads_s = number(a, "threads_s");
  const double threads = number(a, "threads_speedup");
  const double processes_s = number(a, "processes_s");
  const double processes = number(a, "processes_speedup");
  const double gil_alone = number(b, "alone_s");
  const double gil_s = number(b, "threads_s");
  const double gil_up = number(b, "threads_speedup");
  result.columns = {"run", "seconds", "speed-up (ideal 2)"};
  result.rows = {
      {"one worker alone", LabReport::number(alone), "1"},
      {"2 threads", LabReport::number(threads_s), LabReport::number(threads)},
      {"2 processes", LabReport::number(processes_s), LabReport::number(processes)},
      {"one worker alone (--gil run)", LabReport::number(gil_alone), "1"},
      {"2 threads (GIL)", LabReport::number(gil_s), LabReport::number(gil_up)},
  };
  result.charts = {
      {"Speed-up of 2 workers over one (ideal 2)",
       "x",
       {{"2 threads", threads}, {"2 processes", processes}, {"2 threads with a GIL", gil_up}}}};
  result.verdict = fmt::format(
      "threads scaled {:.2f} of 2 and processes {:.2f} of 2: {}; with --gil threads "
      "scaled {:.2f} of 2: {}",
      threads, processes,
      threads > 1.5 ? "no GIL in C++, threads run CPU work in parallel"
                    : "threads did not scale here (a busy or single-core machine?)",
      gil_up,
      gil_up < 1.3 ? "a global lock serialises them, as the seed says"
                   : "the lock did not serialise them, unlike the seed's claim");
}

Task<void> measure(SiblingCommand free, SiblingCommand gil, LabReport::Experiment& result) {
  const nlohmann::json a = co_await free.json(kLimit);
  const nlohmann::json b = co_await gil.json(kLimit);
  report(a, b, result);
}

}  // namespace

Plan cpu_bound_experiment(const Commands& commands) {
  auto experiment =
      make_experiment("cpu-bound", "CPU-bound work: threads vs processes, with and without a GIL",
                      "seed 002, section 0.3.2 (Global Interpreter Lock) and 0.4 (MuchCPU)",
                      "The GIL prevents any two threads from doing work at the exact same time: "
                      "threads are useless in Python for parallel processing, so CPU-bound work "
                      "goes to processes. C++ has no GIL; --gil adds one to show the difference.");
  const std::string iterations = commands.settings().quick ? "20000000" : "200000000";
  SiblingCommand free = commands.make(
      "cpu-bound", {"cpu-demo", "--workers", "2", "--iterations", iterations, "--json"});
  SiblingCommand gil = commands.make(
      "cpu-bound", {"cpu-demo", "--workers", "2", "--iterations", iterations, "--gil", "--json"});
  experiment.commands = {free.line(), gil.line()};
  return {std::move(experiment),
          [free, gil](LabReport::Experiment& result) { return measure(free, gil, result); }};
}

}  // namespace pz::programs::lab
