#include "pizzeria/pizza/server_model.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

#include "pizzeria/pizza/pizza_server.hpp"

namespace pz::pizza {
namespace {

TEST(ServerModel, RegistersTheWaitingModelsInLessonOrder) {
  const std::string names = server_model_names();
  EXPECT_TRUE(names.starts_with("threads, pool, polling, select, poll")) << names;
}

TEST(ServerModel, NamesTheAlternativesToOneModel) {
  EXPECT_EQ(server_model_names("uring"), "threads, pool, polling, select, poll, reactor, coro");
  EXPECT_EQ(server_model_names("threads"), "pool, polling, select, poll, reactor, coro, uring");
}

TEST(ServerModel, FindsEveryRegisteredModelByItsUniqueName) {
  std::set<std::string_view> seen;
  for (const ServerModel& model : server_models()) {
    EXPECT_TRUE(seen.insert(model.name).second) << "duplicate model " << model.name;
    EXPECT_EQ(find_server_model(model.name), &model);
    EXPECT_FALSE(model.summary.empty()) << model.name;
    EXPECT_NE(model.run, nullptr) << model.name;
  }
  EXPECT_EQ(find_server_model("carrier-pigeon"), nullptr);
}

TEST(ServerModel, RejectsAnUnknownModelListingTheKnownOnes) {
  ServerOptions options;
  options.port = 0;
  options.model = "carrier-pigeon";
  try {
    (void)open_server_listener(options);
    FAIL() << "an unknown model was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()),
              "unknown server model 'carrier-pigeon': choose one of " + server_model_names());
  }
}

TEST(ServerModel, RejectsOptionsThatCannotServeAnyOrder) {
  ServerOptions options;
  options.port = 0;
  options.model = "poll";
  options.max_order = 0;
  EXPECT_THROW((void)open_server_listener(options), std::invalid_argument);
  options.max_order = 1;
  options.max_connections = 0;
  EXPECT_THROW((void)open_server_listener(options), std::invalid_argument);
  options.max_connections = 1;
  options.host = "pizza.example";
  EXPECT_THROW((void)open_server_listener(options), std::invalid_argument);
}

}  // namespace
}  // namespace pz::pizza
