// `pizzeria load` as a user runs it (the PZ_PIZZERIA_BIN binary): its report,
// its JSON file and its documented exit codes, against the pizza server
// running in this process on 127.0.0.1:0.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/pizza_server.hpp"
#include "pizzeria/pizza/server_options.hpp"
#include "pizzeria/server/shutdown_signal.hpp"

namespace pz {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `pizzeria load ARGUMENTS` through the shell (the arguments are the
// test's own, quoted by the caller) and collects its output and exit code.
Outcome run_load(const std::string& arguments) {
  const char* binary = std::getenv("PZ_PIZZERIA_BIN");
  if (binary == nullptr) {
    throw std::runtime_error("PZ_PIZZERIA_BIN is not set (CTest sets it)");
  }
  // Quoted: the build tree may sit under a path with spaces.
  const std::string command = "'" + std::string(binary) + "' load " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    throw std::runtime_error("popen failed for: " + command);
  }
  Outcome outcome;
  char chunk[4096];
  std::size_t got;
  while ((got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) {
    outcome.output.append(chunk, got);
  }
  const int status = ::pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

struct JsonOutcome {
  Outcome outcome;
  nlohmann::json json;  // null when the run wrote no file
};

// run_load() with `--json` to a file of its own, read back and removed.
JsonOutcome run_load_with_json(const std::string& arguments) {
  static int runs = 0;
  const std::string path = ::testing::TempDir() + "load_command_" + std::to_string(::getpid()) +
                           "_" + std::to_string(++runs) + ".json";
  JsonOutcome result{run_load(arguments + " --json " + path), nullptr};
  if (std::ifstream file(path); file) {
    result.json = nlohmann::json::parse(file);
  }
  std::remove(path.c_str());
  return result;
}

class PizzaServer {
 public:
  PizzaServer() {
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.model = "reactor";
    UniqueFd listener = pizza::open_server_listener(options_);
    port_ = SocketAddress::local_of(listener.get()).port();
    thread_ = std::thread([this, listener = std::move(listener)]() mutable {
      pizza::run_server(options_, std::move(listener), shutdown_, log_);
    });
  }
  ~PizzaServer() {
    shutdown_.request();
    thread_.join();
  }
  PizzaServer(const PizzaServer&) = delete;
  PizzaServer& operator=(const PizzaServer&) = delete;

  [[nodiscard]] std::string port() const { return std::to_string(port_); }

 private:
  pizza::ServerOptions options_;
  std::uint16_t port_ = 0;
  ShutdownSignal shutdown_;
  std::ostringstream log_;
  std::thread thread_;
};

TEST(LoadCommand, ReportsACleanRunAndWritesTheWholeResultAsJson) {
  PizzaServer server;
  const auto [outcome, json] =
      run_load_with_json(server.port() + " -c 3 -t 2 -n 300 -p 4 --expect 'Thank you'");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("replies     300 in"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("closed loop, 3 connections on 2 threads, pipeline 4"),
            std::string::npos)
      << outcome.output;

  ASSERT_TRUE(json.is_object()) << "no --json file";
  EXPECT_EQ(json["mode"], "closed");
  EXPECT_EQ(json["replies"], 300);
  EXPECT_EQ(json["requests_sent"], 300);
  EXPECT_EQ(json["errors"]["total"], 0);
  EXPECT_EQ(json["request"], "3\n");
  EXPECT_TRUE(json["abort_reason"].is_null());
  EXPECT_EQ(json["latency"]["count"], 300);
  EXPECT_GE(json["latency"]["spectrum"].size(), 10U);
  EXPECT_EQ(json["latency"]["spectrum"].back()["percentile"], 100.0);
  EXPECT_EQ(json["latency"]["spectrum"].back()["value"], json["latency"]["max"]);
  EXPECT_LE(json["latency"]["p50"].get<std::uint64_t>(),
            json["latency"]["p99"].get<std::uint64_t>());
}

TEST(LoadCommand, ComparesTwoServersInTurnsAndReportsTheRatios) {
  PizzaServer first;
  PizzaServer second;
  const auto [outcome, json] =
      run_load_with_json(first.port() + " --compare-with " + second.port() +
                         " -c 2 -d 200ms --turn 50ms --expect Thank");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const std::string first_address = "127.0.0.1:" + first.port();
  const std::string second_address = "127.0.0.1:" + second.port();
  for (const auto& address : {first_address, second_address}) {
    EXPECT_NE(outcome.output.find("pizzeria load " + address +
                                  ": closed loop, 2 connections on 1 thread, pipeline 1, in 50 ms "
                                  "turns with 1 other target\n"),
              std::string::npos)
        << outcome.output;
  }
  const auto compared = outcome.output.find(
      "compared with " + first_address + " (turn by turn, in the same run):\n  " + second_address);
  ASSERT_NE(compared, std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("replies/s ", compared), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("x, p99 ", compared), std::string::npos) << outcome.output;

  ASSERT_TRUE(json.is_object()) << "no --json file";
  EXPECT_EQ(json["address"], first_address);
  EXPECT_EQ(json["measured_s"], 0.2);
  EXPECT_EQ(json["turn_s"], 0.05);
  ASSERT_EQ(json["compared"].size(), 1U);
  EXPECT_EQ(json["compared"][0]["address"], second_address);
  EXPECT_EQ(json["compared"][0]["target"], second.port());
  EXPECT_EQ(json["compared"][0]["measured_s"], 0.2);
  EXPECT_GT(json["compared"][0]["replies"].get<std::uint64_t>(), 0U);
  EXPECT_EQ(json["compared"][0]["errors"]["total"], 0);
}

TEST(LoadCommand, TurnsWithADrainSayWhatTheyMeasured) {
  PizzaServer first;
  PizzaServer second;
  const auto [outcome, json] =
      run_load_with_json(first.port() + " --compare-with " + second.port() +
                         " -c 2 -d 200ms --turn 50ms --turn-drain 10ms --expect Thank");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find(": closed loop, 2 connections on 1 thread, pipeline 1, in 50 ms "
                                "turns (each ending in a 10 ms drain) with 1 other target\n"),
            std::string::npos)
      << outcome.output;
  ASSERT_TRUE(json.is_object()) << "no --json file";
  EXPECT_EQ(json["turn_drain_s"], 0.01);
  EXPECT_EQ(json["measured_s"], 0.16);  // four 50 ms turns less their drains
  EXPECT_EQ(json["compared"][0]["measured_s"], 0.16);
  EXPECT_EQ(json["compared"][0]["errors"]["total"], 0);
}

TEST(LoadCommand, BusyPollsWhenAsked) {
  PizzaServer server;
  const auto [outcome, json] =
      run_load_with_json(server.port() + " -c 2 -n 200 --busy-poll 50us --expect Thank");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("closed loop, 2 connections on 1 thread, pipeline 1, busy polling "
                                "50.0us\n  replies     200 in"),
            std::string::npos)
      << outcome.output;
  ASSERT_TRUE(json.is_object()) << "no --json file";
  EXPECT_EQ(json["busy_poll_s"], 5e-05);
  EXPECT_EQ(json["replies"], 200);
  EXPECT_EQ(json["errors"]["total"], 0);
}

TEST(LoadCommand, ExitsWithOneWhenRepliesAreUnexpected) {
  PizzaServer server;
  const auto outcome = run_load(server.port() + " -c 2 -n 50 --request '0\\n' --expect Thank");
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("unexpected reply 50"), std::string::npos) << outcome.output;
}

TEST(LoadCommand, ExitsWithFourWhenTheJsonFileCannotBeWritten) {
  PizzaServer server;
  const auto outcome = run_load(server.port() + " -n 10 --json /nonexistent-directory/run.json");
  EXPECT_EQ(outcome.exit_code, 4) << outcome.output;
  EXPECT_NE(outcome.output.find("cannot write --json file"), std::string::npos) << outcome.output;
}

TEST(LoadCommand, ExitsWithTwoForBadArguments) {
  for (const char* arguments : {"70000",
                                "127.0.0.1:0",
                                "12345 -c 10 -R 5",
                                "12345 -c abc",
                                "12345 -d 1x",
                                "12345 -d 1s -n 5",
                                "12345 --request PING",
                                "12345 -t 3 -c 2",
                                "12345 --request 'a\\q'",
                                "12345 --compare-with 12346 -n 5",
                                "12345 --compare-with 12346 --turn 0",
                                "12345 --compare-with 0",
                                "12345 --turn-slot 3/2",
                                "12345 --turn-slot 2",
                                "12345 --turn-slot 0/2",
                                "12345 --turn 50ms",
                                "12345 --compare-with 12346 -d 150ms",
                                "12345 --busy-poll -1ms",
                                "12345 --busy-poll fast",
                                "12345 --turn-drain 1ms",
                                "12345 --compare-with 12346 --turn-drain 100ms"}) {
    const auto outcome = run_load(arguments);
    EXPECT_EQ(outcome.exit_code, 2) << arguments << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("pizzeria load: "), std::string::npos) << outcome.output;
  }
}

TEST(LoadCommand, ExitsWithThreeWhenNothingCanConnect) {
  UniqueFd holder(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const auto any_port = SocketAddress::parse("127.0.0.1", 0);
  ASSERT_EQ(::bind(holder.get(), any_port.data(), any_port.size()), 0);
  const auto port = std::to_string(SocketAddress::local_of(holder.get()).port());
  const auto outcome = run_load(port + " -c 2 -n 10");
  EXPECT_EQ(outcome.exit_code, 3) << outcome.output;
  EXPECT_NE(outcome.output.find("Connection refused"), std::string::npos) << outcome.output;
}

TEST(LoadCommand, DocumentsItsExitCodesInHelp) {
  const auto outcome = run_load("--help");
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* line : {"Exit codes:", "  2  bad arguments", "  3  the run gave up"}) {
    EXPECT_NE(outcome.output.find(line), std::string::npos) << line << "\n" << outcome.output;
  }
}

}  // namespace
}  // namespace pz
