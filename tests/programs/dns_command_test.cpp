// `pizzeria dns` queried with dig (Debian bind9-dnsutils), as a user would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "program_runner.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// Starts `pizzeria dns --port 0` and reads the port from its first line.
class DnsServerProcess {
 public:
  explicit DnsServerProcess(const std::string& zone_file) {
    int out[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::string binary = pizzeria_binary();
    std::string command = "dns";
    std::string zone_flag = "--zone";
    std::string zone = zone_file;
    std::string port_flag = "--port";
    std::string port = "0";
    char* argv[] = {binary.data(),    command.data(), zone_flag.data(), zone.data(),
                    port_flag.data(), port.data(),    nullptr};
    EXPECT_EQ(::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    std::string line;
    char c = 0;
    pollfd entry{out[0], POLLIN, 0};
    // Bounded: a server that never starts fails the test instead of hanging it.
    while (::poll(&entry, 1, 30000) == 1 && ::read(out[0], &c, 1) == 1 && c != '\n') {
      line += c;
    }
    ::close(out[0]);
    const auto colon = line.rfind(':');
    if (colon != std::string::npos) {
      port_ = std::atoi(line.c_str() + colon + 1);
    }
    first_line_ = line;
  }
  ~DnsServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  DnsServerProcess(const DnsServerProcess&) = delete;
  DnsServerProcess& operator=(const DnsServerProcess&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& first_line() const { return first_line_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string first_line_;
};

class DnsCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/pz-dns-zone-XXXXXX";
    const int fd = ::mkstemp(name);
    ASSERT_GE(fd, 0);
    ::close(fd);
    zone_file_ = name;
    std::ofstream(zone_file_) << "pizza.test A 10.0.0.7\n"
                                 "pizza.test AAAA 2001:db8::7\n"
                                 "menu.pizza.test A 10.0.0.8\n"
                                 "menu.pizza.test A 10.0.0.9\n";
  }
  void TearDown() override { std::remove(zone_file_.c_str()); }

  std::string dig(int port, const std::vector<std::string>& query) {
    std::vector<std::string> argv{"dig",      "@127.0.0.1", "-p", std::to_string(port),
                                  "+tries=3", "+time=2"};
    argv.insert(argv.end(), query.begin(), query.end());
    const auto result = run_program(argv);
    EXPECT_EQ(result.exit_status, 0) << result.out << result.err;
    return result.out;
  }

  std::string zone_file_;
};

TEST_F(DnsCommand, DigGetsTheARecord) {
  DnsServerProcess server(zone_file_);
  ASSERT_GT(server.port(), 0) << server.first_line();
  EXPECT_EQ(dig(server.port(), {"+short", "pizza.test"}), "10.0.0.7\n");
}

TEST_F(DnsCommand, DigGetsTheAaaaRecordWhateverTheLetterCase) {
  DnsServerProcess server(zone_file_);
  ASSERT_GT(server.port(), 0) << server.first_line();
  EXPECT_EQ(dig(server.port(), {"+short", "PiZZa.TeSt", "AAAA"}), "2001:db8::7\n");
}

TEST_F(DnsCommand, DigGetsEveryAddressOfAName) {
  DnsServerProcess server(zone_file_);
  ASSERT_GT(server.port(), 0) << server.first_line();
  const std::string out = dig(server.port(), {"+short", "menu.pizza.test"});
  EXPECT_TRUE(out == "10.0.0.8\n10.0.0.9\n" || out == "10.0.0.9\n10.0.0.8\n") << out;
}

TEST_F(DnsCommand, DigReportsNxDomainForAnUnknownNameAndAnAuthoritativeAnswer) {
  DnsServerProcess server(zone_file_);
  ASSERT_GT(server.port(), 0) << server.first_line();
  const std::string missing = dig(server.port(), {"nothing.test"});
  EXPECT_NE(missing.find("status: NXDOMAIN"), std::string::npos) << missing;
  const std::string found = dig(server.port(), {"pizza.test"});
  EXPECT_NE(found.find("status: NOERROR"), std::string::npos) << found;
  EXPECT_NE(found.find("flags: qr aa rd;"), std::string::npos) << found;
  EXPECT_NE(found.find("pizza.test.\t\t300\tIN\tA\t10.0.0.7"), std::string::npos) << found;
}

TEST_F(DnsCommand, ABadZoneFileIsRefusedWithTheLineAtFault) {
  std::ofstream(zone_file_) << "pizza.test A 10.0.0.7\npizza.test A not-an-address\n";
  const auto result = run_program({pizzeria_binary(), "dns", "--zone", zone_file_, "--port", "0"});
  EXPECT_EQ(result.exit_status, 1);
  EXPECT_NE(result.err.find("zone line 2"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace pz::programs
