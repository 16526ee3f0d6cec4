// Seed 004's waits: `io-demo` sequentially, on threads and as coroutines.
#include <fmt/format.h>

#include <algorithm>

#include "programs/lab/experiments.hpp"

namespace pz::programs::lab {

namespace {

void report(const nlohmann::json& out, LabReport::Experiment& result) {
  const double sequential = out.at("sequential_s").get<double>();
  const double threads = out.at("threads_s").get<double>();
  const double coroutines = out.at("coroutines_s").get<double>();
  result.columns = {"run", "elapsed seconds", "fraction of sequential"};
  result.rows = {
      {"sequential", LabReport::number(sequential), "1"},
      {"10 threads", LabReport::number(threads), LabReport::number(threads / sequential)},
      {"10 coroutines", LabReport::number(coroutines), LabReport::number(coroutines / sequential)},
  };
  result.charts = {
      {"Elapsed time of 10 waits",
       "s",
       {{"sequential", sequential}, {"10 threads", threads}, {"10 coroutines", coroutines}}}};
  const double worst = std::max(threads, coroutines) / sequential;
  result.verdict = fmt::format(
      "threads took {:.2f} and coroutines {:.2f} of the sequential time (ideal 0.1): {}",
      threads / sequential, coroutines / sequential,
      worst < 0.5 ? "the waits overlap, as the seed says"
                  : "the waits did not overlap, unlike the seed's claim");
}

Task<void> measure(SiblingCommand demo, LabReport::Experiment& result) {
  report(co_await demo.json(kLimit), result);
}

}  // namespace

Plan io_bound_experiment(const Commands& commands) {
  auto experiment =
      make_experiment("io-bound", "I/O-bound work: sequential vs threads vs coroutines",
                      "seed 004 (Threading) and seed 002, section 0.9",
                      "For I/O-bound concurrency problems the GIL does not matter much: while one "
                      "operation waits on the I/O subsystem another can run, so threads (and "
                      "coroutines) overlap the waits that sequential code adds up.");
  const std::string seconds = commands.settings().quick ? "0.05" : "0.5";
  SiblingCommand demo =
      commands.make("io-bound", {"io-demo", "--tasks", "10", "--seconds", seconds, "--json"});
  experiment.commands = {demo.line()};
  return {std::move(experiment),
          [demo](LabReport::Experiment& result) { return measure(demo, result); }};
}

}  // namespace pz::programs::lab
