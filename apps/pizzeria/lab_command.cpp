// `pizzeria lab`: the seeds' claims as measured experiments, written as one
// self-contained HTML report. The experiments are pz::programs::Lab; this
// file is options, the run and the report file.
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "commands.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/programs/lab/lab.hpp"
#include "pizzeria/programs/lab/lab_children.hpp"
#include "pizzeria/programs/lab/sibling_command.hpp"

namespace pz::app {

namespace {

struct LabArguments {
  programs::LabSettings settings;
  std::string out = "lab-report.html";
};

// 1000 connections need about 2000 descriptors between the load generator
// and the server, both children inheriting this limit.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_lab(const LabArguments& arguments) {
  raise_descriptor_limit();
  programs::LabChildren::stop_children_on_signals();
  const programs::Lab lab(arguments.settings, programs::SiblingCommand::self_path());
  const programs::LabReport report = pz::run(lab.run());
  std::ofstream file(arguments.out, std::ios::trunc);
  file << report.html();
  file.close();
  if (!file) {
    std::fprintf(stderr, "lab: writing the report to %s failed: %s\n", arguments.out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::fputs(report.summary().c_str(), stdout);
  std::printf("report: %s\n", arguments.out.c_str());
  return report.any_failed() ? 1 : 0;
}

}  // namespace

std::optional<int> die_with_lab_if_requested() {
  return programs::LabChildren::die_with_lab_if_requested();
}

void register_lab_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<LabArguments>();
  programs::LabSettings& settings = arguments->settings;
  auto* command = app.add_subcommand(
      "lab",
      "Run the seeds' claims as measured experiments (threads vs processes, I/O-bound waits, "
      "thread per client vs reactor, races, deadlock) and write one HTML report");
  command->add_option("--out", arguments->out, "Report file (default lab-report.html)");
  command->add_flag("--quick", settings.quick, "Small runs: the whole lab in a few seconds");
  command
      ->add_option("--connections", settings.connections,
                   "Connections for the server experiment (default 1000, or 100 with --quick)")
      ->check(CLI::Range(1U, 10000U));
  // For the tests: the named experiment's child gets an unknown option, so
  // the failure path runs for real.
  command->add_option("--inject-failure", settings.inject_failure)->group("");
  command->add_option("--only", settings.only)->group("");
  command->callback([arguments, &exit_code] { exit_code = run_lab(*arguments); });
}

}  // namespace pz::app
