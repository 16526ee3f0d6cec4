// pz::programs::SiblingCommand: runs another subcommand of this executable
// for the lab, bounded in time, and reads its output.
//
//   SiblingCommand race(self, {"race", "--threads", "2", "--json"});
//   nlohmann::json counts = co_await race.json(60s);
//
// The child runs through LabChildren (its own group, dies with the lab).
// run() reads both pipes while waiting, calls `tick` about every 10 ms (the
// server experiment samples /proc with it), kills the group at the limit,
// and after the exit gives processes still holding the pipes 2 s before it
// kills the group. A child that times out or exits with a status not in
// `accepted` raises ExperimentFailure naming the command line and carrying
// the end of its stderr.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pizzeria/coro/task.hpp"

namespace pz::programs {

class SiblingCommand {
 public:
  struct Output {
    int status = -1;  // the shell's $?
    std::string out;
    std::string err;
  };

  // `arguments` follow the program (`self`, /proc/self/exe).
  SiblingCommand(std::string self, std::vector<std::string> arguments);

  [[nodiscard]] const std::vector<std::string>& argv() const noexcept { return argv_; }
  // "pizzeria <arguments>": the line the report shows.
  [[nodiscard]] std::string line() const;

  Task<Output> run(std::chrono::duration<double> limit, std::function<void()> tick = {},
                   std::vector<int> accepted = std::vector<int>(1, 0)) const;
  // run(), then its stdout parsed as one JSON object (ExperimentFailure if
  // it is not).
  Task<nlohmann::json> json(std::chrono::duration<double> limit) const;

  // The last `lines` lines of `text`.
  static std::string tail_of(const std::string& text, std::size_t lines = 15);
  // The path of this executable.
  static std::string self_path();

 private:
  std::vector<std::string> argv_;
};

}  // namespace pz::programs
