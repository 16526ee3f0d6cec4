// pz::pizza::ServerContext: the server framework's context (pz::ServerContext:
// accepting, limits, shutdown, logging) plus the pizza options a model needs
// (max_order, the kitchen). A model is then only "how to wait".
//
// Thread safety: as pz::ServerContext; options() is immutable.
#pragma once

#include <ostream>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/pizza/server_options.hpp"
#include "pizzeria/server/server_context.hpp"

namespace pz::pizza {

class ServerContext : public pz::ServerContext {
 public:
  ServerContext(const ServerOptions& options, UniqueFd listener, ShutdownSignal& shutdown,
                std::ostream& log)
      : pz::ServerContext(options.policy(), std::move(listener), shutdown, log),
        options_(options) {}

  [[nodiscard]] const ServerOptions& options() const noexcept { return options_; }

 private:
  const ServerOptions options_;
};

}  // namespace pz::pizza
