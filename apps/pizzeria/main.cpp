// pizzeria: one executable, a subcommand per program of the seeds.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "pizzeria/core/version.hpp"
#include "pizzeria/exec/process_worker.hpp"

namespace {

// One scheme for every command, written in `pizzeria --help`.
constexpr int exit_ok = 0;
constexpr int exit_usage = 2;

// CLI11 would answer "A subcommand is required" to a misspelt command.
// Empty when `name` is a command (or an option, which CLI11 judges).
std::string unknown_command(const CLI::App& app, std::string_view name) {
  if (name.empty() || name.front() == '-') {
    return {};
  }
  std::string commands;
  for (const CLI::App* command : app.get_subcommands({})) {
    if (command->check_name(std::string(name))) {
      return {};
    }
    commands += (commands.empty() ? "" : ", ") + command->get_name();
  }
  return "pizzeria: unknown command '" + std::string(name) + "'; the commands are: " + commands +
         " (pizzeria --help)";
}

}  // namespace

int main(int argc, char** argv) {
  // A child of `pizzeria lab` dies with the lab, even one killed by SIGKILL.
  if (auto status = pz::app::die_with_lab_if_requested()) {
    return *status;
  }
  // ProcessPool workers are this same binary, re-executed: a worker runs its
  // task loop here and never reaches the command line parser.
  if (auto status = pz::run_process_worker_if_requested()) {
    return *status;
  }

  // A peer that closes its socket must never kill the process: every write in
  // pizzeria handles EPIPE itself.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"pizzeria: a C++20 concurrency toolkit and the pizza-ordering service built on it"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pizzeria " + std::string(pz::version));
  app.footer(
      "Exit status: 0 done; 1 a runtime failure (the message says what failed); 2 a usage "
      "error (an unknown command, a bad option or argument). Each command's --help lists its "
      "options.");
  int exit_code = 0;
  pz::app::register_version_command(app, exit_code);
  pz::app::register_serve_command(app, exit_code);
  pz::app::register_order_command(app, exit_code);
  pz::app::register_factor_command(app, exit_code);
  pz::app::register_find_command(app, exit_code);
  pz::app::register_dns_command(app, exit_code);
  pz::app::register_cpu_demo_command(app, exit_code);
  pz::app::register_sleepers_command(app, exit_code);
  pz::app::register_io_demo_command(app, exit_code);
  pz::app::register_input_reader_command(app, exit_code);
  pz::app::register_sort_commands(app, exit_code);
  pz::app::register_load_command(app, exit_code);
  pz::app::register_echo_commands(app, exit_code);
  pz::app::register_race_command(app, exit_code);
  pz::app::register_deadlock_command(app, exit_code);
  pz::app::register_lab_command(app, exit_code);
  pz::app::register_kitchen_command(app, exit_code);
  if (argc > 1) {
    if (const std::string unknown = unknown_command(app, argv[1]); !unknown.empty()) {
      std::fprintf(stderr, "%s\n", unknown.c_str());
      return exit_usage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version end the parse with a "success" error; the rest
    // is a usage error, whatever CLI11's own code for it.
    return app.exit(error) == exit_ok ? exit_ok : exit_usage;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pizzeria: %s\n", error.what());
    return 1;
  }
  return exit_code;
}
