// pz::pizza::ServerModel: one way of serving the pizza protocol (`--model`),
// and the registry of all of them.
//
// Adding a model is one file, src/pizza/models/<name>_model.cpp, defining a
// `const ServerModel k<Name>Model`, plus one line in the registry table
// (src/pizza/server_models.cpp). The table is explicit on purpose: models
// live in a static library, and a linker drops object files nobody
// references, so self-registering static objects would silently vanish.
//
// Thread safety: the registry is immutable.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace pz::pizza {

class ServerContext;

struct ServerModel {
  std::string_view name;
  // One line for `pizzeria serve --help` and docs/pizza-service.md.
  std::string_view summary;
  // True for models that shard over --workers loops with one SO_REUSEPORT
  // listener each (the framework then binds the first listener with it).
  bool shards_with_reuseport = false;
  // True for models that honour --kitchen (ServerOptions::kitchen_host).
  bool supports_kitchen = false;
  // True for a model that is not sharded but still reads --workers (pool:
  // its thread count). The others run one thread and refuse --workers > 1
  // rather than ignore it.
  bool counts_workers = false;
  // Whether --workers means anything to this model.
  [[nodiscard]] constexpr bool reads_workers() const noexcept {
    return shards_with_reuseport || counts_workers;
  }
  // Serves until context.stopping(), then answers complete orders, closes
  // every connection by context.shutdown_deadline() and returns. Throws only
  // for failures of the server itself (not of a connection).
  void (*run)(ServerContext& context) = nullptr;
  // Throws, saying why, when this model cannot run on this machine (uring
  // without io_uring); called before the port is bound, so nothing claims
  // to be listening. nullptr: always available.
  void (*check_available)() = nullptr;
};

// Every model, in the order `--help` lists them.
[[nodiscard]] std::span<const ServerModel> server_models() noexcept;
// nullptr when no model has that name.
[[nodiscard]] const ServerModel* find_server_model(std::string_view name) noexcept;
// "threads, polling, select, poll" — for error messages and help; `except`
// leaves one out (the alternatives to a model that cannot run).
[[nodiscard]] std::string server_model_names(std::string_view except = {});

}  // namespace pz::pizza
