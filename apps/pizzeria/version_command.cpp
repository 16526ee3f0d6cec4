#include <cstdio>

#include "commands.hpp"
#include "pizzeria/core/version.hpp"

namespace pz::app {

void register_version_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("version", "Print pizzeria's version");
  command->callback([&exit_code] {
    std::printf("pizzeria %.*s\n", static_cast<int>(pz::version.size()), pz::version.data());
    exit_code = 0;
  });
}

}  // namespace pz::app
