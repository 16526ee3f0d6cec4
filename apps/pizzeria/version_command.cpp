#include <cstdio>

#include "commands.hpp"

namespace pz::app {

void register_version_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("version", "Print pizzeria's version");
  command->callback([&exit_code] {
    std::printf("pizzeria 0.1.0\n");
    exit_code = 0;
  });
}

}  // namespace pz::app
