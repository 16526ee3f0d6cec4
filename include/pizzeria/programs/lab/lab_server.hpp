// pz::programs::LabServer: a `pizzeria serve` child of the lab on an
// ephemeral loopback port, read from its "Starting up at: 127.0.0.1:PORT"
// line, and stopped with SIGTERM as a service manager would.
//
//   LabServer server = co_await LabServer::start(serve, 60s);
//   ... load 127.0.0.1:server.port() ...
//   co_await server.stop(20s);  // ExperimentFailure unless it exits 0
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "pizzeria/coro/task.hpp"
#include "pizzeria/programs/lab/sibling_command.hpp"

namespace pz::programs {

class LabServer {
 public:
  static Task<LabServer> start(const SiblingCommand& serve, std::chrono::duration<double> limit);

  LabServer(LabServer&&) noexcept;
  LabServer& operator=(LabServer&&) noexcept;
  ~LabServer();

  [[nodiscard]] int port() const noexcept;
  [[nodiscard]] pid_t pid() const noexcept;

  Task<void> stop(std::chrono::duration<double> limit);

 private:
  struct State;
  explicit LabServer(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

}  // namespace pz::programs
