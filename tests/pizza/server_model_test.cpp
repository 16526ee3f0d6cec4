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

// A model that runs on one thread would ignore --workers 4, and a user who
// asked for four shards would measure one without being told.
TEST(ServerModel, RefusesWorkersForAModelThatRunsOnOneThread) {
  ServerOptions options;
  options.port = 0;
  options.workers = 4;
  for (const char* single : {"threads", "polling"}) {
    options.model = single;
    try {
      (void)open_server_listener(options);
      ADD_FAILURE() << "--workers 4 was accepted by " << single;
    } catch (const std::invalid_argument& error) {
      EXPECT_EQ(std::string(error.what()),
                "--workers 4: the " + std::string(single) +
                    " model runs on one thread; --workers counts the shards of select, poll, "
                    "reactor, coro and uring and the threads of pool");
    }
  }
  for (const char* counting : {"pool", "select", "poll", "reactor", "coro"}) {
    options.model = counting;
    EXPECT_NO_THROW((void)open_server_listener(options)) << counting;
  }
  options.model = "polling";
  options.workers = 1;  // what the lab and bench/server_bench.py pass to every model
  EXPECT_NO_THROW((void)open_server_listener(options));
}

}  // namespace
}  // namespace pz::pizza
