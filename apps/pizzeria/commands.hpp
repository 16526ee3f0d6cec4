// Every `pizzeria` subcommand registers itself through one function here.
// Each command lives in its own file: apps/pizzeria/<name>_command.cpp.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pz::app {

// A command adds its CLI11 subcommand to `app` and sets its callback. The
// callback reports the exit status through `exit_code`.
void register_version_command(CLI::App& app, int& exit_code);
void register_serve_command(CLI::App& app, int& exit_code);
void register_order_command(CLI::App& app, int& exit_code);
void register_factor_command(CLI::App& app, int& exit_code);
void register_find_command(CLI::App& app, int& exit_code);
void register_dns_command(CLI::App& app, int& exit_code);
void register_cpu_demo_command(CLI::App& app, int& exit_code);
void register_sleepers_command(CLI::App& app, int& exit_code);
void register_io_demo_command(CLI::App& app, int& exit_code);
void register_input_reader_command(CLI::App& app, int& exit_code);
void register_sort_commands(CLI::App& app, int& exit_code);
void register_load_command(CLI::App& app, int& exit_code);
void register_echo_commands(CLI::App& app, int& exit_code);  // echo-server, echo-client
void register_race_command(CLI::App& app, int& exit_code);
void register_deadlock_command(CLI::App& app, int& exit_code);
void register_lab_command(CLI::App& app, int& exit_code);
void register_kitchen_command(CLI::App& app, int& exit_code);

// Checks of a number option whose messages name the bound and the value
// ("must be 0 or more, got -1"), for CLI11's NonNegativeNumber and
// PositiveNumber.
CLI::Validator zero_or_more();
CLI::Validator more_than_zero();

// Makes every long option of `command` readable from the environment too,
// as `prefix` + the option's name upper-cased, '-' as '_' (for serve,
// --max-connections is PIZZERIA_MAX_CONNECTIONS); --help shows each name.
// The command line wins over the environment. Call after the last option.
void read_options_from_environment(CLI::App& command, std::string_view prefix);

// Clients that open one descriptor per connection check the open-file
// limit first (raised to the hard limit), so that a count the machine
// cannot hold is refused before anything connects instead of failing half
// way. Empty when `descriptors` fit; else why not, naming `option` and
// its `count`, and the fix.
std::string open_file_shortage(std::string_view option, std::uint64_t count,
                               std::uint64_t descriptors);

// The check of every option given in seconds ("1.5"), so that each command
// refuses the same way what no clock can hold: text that is not a finite
// number, or a value outside [min, max], with a message naming the limit
// ("--timeout: '1e10' is above the limit of 1000000 seconds"), exit status
// 2. kMaxSeconds (about 31 years) is the most any duration may be: beyond
// ~9.2e9 s a duration overflows the nanosecond clock, and a deadline (now
// plus the duration) must not come near that.
inline constexpr double kMaxSeconds = 1e9;
CLI::Validator seconds_between(double min, double max);
// The same for any other number that scales a duration (a factor).
CLI::Validator number_between(double min, double max, const std::string& unit = {});

// In a child of `pizzeria lab` (PZ_LAB_PARENT set): arms a SIGKILL for the
// lab's death, even by SIGKILL. An exit status when the process must not go
// on. Called first thing in main (lab_command.cpp says why).
std::optional<int> die_with_lab_if_requested();

}  // namespace pz::app
