// `pizzeria serve` and `pizzeria kitchen` as systemd runs them: readiness
// and stopping on NOTIFY_SOCKET, a listener handed in as descriptor 3
// (LISTEN_FDS=1), and options from the environment.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <csignal>
#include <string>

#include "pizzeria/core/unique_fd.hpp"
#include "programs/program_runner.hpp"
#include "support/child_process.hpp"
#include "support/notify_socket.hpp"
#include "support/pizzeria_binary.hpp"
#include "support/redis_server.hpp"
#include "support/round_trip.hpp"

namespace {

using pz::test::ChildProcess;
using pz::test::NotifySocket;
using pz::test::pizzeria_binary;
using pz::test::ProgramResult;
using pz::test::run_program;

// A listening socket on 127.0.0.1 that a child inherits (no CLOEXEC), as
// systemd's .socket unit makes one.
struct InheritableListener {
  pz::UniqueFd fd{::socket(AF_INET, SOCK_STREAM, 0)};
  std::uint16_t port = 0;

  InheritableListener() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd.get(), 16), 0);
    socklen_t length = sizeof address;
    EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
    port = ntohs(address.sin_port);
  }
};

TEST(ServeUnderSystemd, ReadyIsNotifiedOnceListeningAndStoppingOnSigterm) {
  const NotifySocket manager;
  ChildProcess server({pizzeria_binary(), "serve", "--port", "0"});
  EXPECT_EQ(manager.receive(), "READY=1");
  EXPECT_EQ(server.read_line().rfind("Starting up at: 127.0.0.1:", 0), 0u);
  server.signal(SIGTERM);
  EXPECT_EQ(manager.receive(), "STOPPING=1");
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(ServeUnderSystemd, AListenerHandedInAsDescriptorThreeIsServed) {
  const NotifySocket manager;
  const InheritableListener listener;
  const std::string fd = std::to_string(listener.fd.get());
  // sh sets LISTEN_PID to its own pid, which exec keeps: the server's pid,
  // as systemd sets it. Two shards: the second cannot bind the handed-in
  // address (no SO_REUSEPORT), so it must share the one listener.
  ChildProcess server({"/bin/sh", "-c",
                       "export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$0\" serve --workers 2 3<&" + fd +
                           " " + fd + "<&-",
                       pizzeria_binary()});
  EXPECT_EQ(manager.receive(), "READY=1");
  EXPECT_EQ(server.read_line(), "Starting up at: 127.0.0.1:" + std::to_string(listener.port));
  for (int customer = 0; customer < 8; ++customer) {
    EXPECT_EQ(pz::test::round_trip(listener.port, "3\nabc\n12\n"),
              "Thank you for ordering 3 pizzas!\n"
              "Wrong number of pizzas, please try again\n"
              "Thank you for ordering 12 pizzas!\n");
  }
  server.signal(SIGINT);
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(ServeUnderSystemd, TwoHandedInSocketsAreRefusedWithTheReason) {
  const InheritableListener first;
  const InheritableListener second;
  const std::string a = std::to_string(first.fd.get());
  const std::string b = std::to_string(second.fd.get());
  ChildProcess server({"/bin/sh", "-c",
                       "export LISTEN_FDS=2 LISTEN_PID=$$; exec \"$0\" serve 3<&" + a + " 4<&" + b,
                       pizzeria_binary()});
  EXPECT_EQ(server.read_line(),
            "pizzeria: socket activation handed in 2 sockets (LISTEN_FDS); the service listens "
            "on exactly one: give its .socket unit one ListenStream=");
  const int status = server.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
}

TEST(ServeUnderSystemd, OptionsAreReadFromTheEnvironment) {
  const ProgramResult refused = run_program({pizzeria_binary(), "serve"}, {},
                                            {"PIZZERIA_PORT=0", "PIZZERIA_MODEL=no-such-model"});
  EXPECT_EQ(refused.err.rfind("pizzeria: unknown server model 'no-such-model'", 0), 0u)
      << refused.err;
  EXPECT_EQ(refused.exit_status, 1);
  // The command line wins over the environment.
  ::setenv("PIZZERIA_PORT", "0", 1);
  ::setenv("PIZZERIA_MODEL", "no-such-model", 1);
  ChildProcess served({pizzeria_binary(), "serve", "--model", "poll"});
  ::unsetenv("PIZZERIA_MODEL");
  ::unsetenv("PIZZERIA_PORT");
  EXPECT_EQ(served.read_line().rfind("Starting up at: 127.0.0.1:", 0), 0u);
  served.signal(SIGINT);
  served.wait();
}

TEST(ServeUnderSystemd, HelpNamesTheEnvironmentVariableOfEveryOption) {
  const ProgramResult help = run_program({pizzeria_binary(), "serve", "--help"});
  for (const char* name :
       {"PIZZERIA_HOST", "PIZZERIA_PORT", "PIZZERIA_MODEL", "PIZZERIA_WORKERS",
        "PIZZERIA_MAX_ORDER", "PIZZERIA_MAX_CONNECTIONS", "PIZZERIA_IDLE_TIMEOUT",
        "PIZZERIA_SHUTDOWN_TIMEOUT", "PIZZERIA_VERBOSE", "PIZZERIA_KITCHEN", "PIZZERIA_STREAM"}) {
    EXPECT_NE(help.out.find(name), std::string::npos) << name << " missing from:\n" << help.out;
  }
}

TEST(KitchenUnderSystemd, HelpNamesTheEnvironmentVariableOfEveryOption) {
  const ProgramResult help = run_program({pizzeria_binary(), "kitchen", "--help"});
  for (const char* name :
       {"PIZZERIA_KITCHEN_REDIS", "PIZZERIA_KITCHEN_COOKS", "PIZZERIA_KITCHEN_BAKE_TIME",
        "PIZZERIA_KITCHEN_RECLAIM_AFTER", "PIZZERIA_KITCHEN_MAX_ORDER", "PIZZERIA_KITCHEN_ORDERS",
        "PIZZERIA_KITCHEN_STREAM", "PIZZERIA_KITCHEN_GROUP", "PIZZERIA_KITCHEN_NAME",
        "PIZZERIA_KITCHEN_MAX_DELIVERIES", "PIZZERIA_KITCHEN_FORGET_COOKS_AFTER"}) {
    EXPECT_NE(help.out.find(name), std::string::npos) << name << " missing from:\n" << help.out;
  }
}

TEST(KitchenUnderSystemd, ReadyIsNotifiedOnceRedisAnsweredAndStoppingOnSigterm) {
  const pz::test::RedisServer redis;
  const NotifySocket manager;
  ChildProcess kitchen({pizzeria_binary(), "kitchen", "--redis", std::to_string(redis.port())});
  EXPECT_EQ(kitchen.read_line().rfind("Kitchen open:", 0), 0u);
  EXPECT_EQ(manager.receive(), "READY=1");
  kitchen.signal(SIGTERM);
  EXPECT_EQ(manager.receive(), "STOPPING=1");
  const int status = kitchen.wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
