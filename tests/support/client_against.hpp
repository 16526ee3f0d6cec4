// Runs a pizzeria client subcommand against a test::ScriptedServer:
// `timeout 30 pizzeria SUBCOMMAND --port PORT extra...`. The outer timeout
// bounds a client that hangs on a misbehaving server (the bug such tests
// look for) instead of hanging the test suite.
#pragma once

#include <string>
#include <vector>

#include "programs/program_runner.hpp"
#include "support/pizzeria_binary.hpp"
#include "support/scripted_server.hpp"

namespace pz::test {

inline ProgramResult run_client_against(const ScriptedServer& server, const std::string& subcommand,
                                        const std::vector<std::string>& extra) {
  std::vector<std::string> argv{"timeout",  "30",     pizzeria_binary(),
                                subcommand, "--port", server.port_text()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_program(argv);
}

}  // namespace pz::test
