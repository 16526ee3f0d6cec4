// pizzeria: one executable, a subcommand per program of the seeds.
#include <csignal>
#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "pizzeria/exec/process_worker.hpp"

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // Bad arguments are exit status 2 in every command (as GNU tools and
    // `pizzeria load` say), not CLI11's own codes (105, 106, ...).
    return app.exit(error) == 0 ? 0 : 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pizzeria: %s\n", error.what());
    return 1;
  }
  return exit_code;
}
