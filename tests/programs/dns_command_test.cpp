// `pizzeria dns` queried with dig (Debian bind9-dnsutils), as a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "program_runner.hpp"
#include "support/child_process.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// Starts `pizzeria dns --port 0` and reads the port from its first line.
class DnsServerProcess {
 public:
  explicit DnsServerProcess(const std::string& zone_file)
      : process_({pizzeria_binary(), "dns", "--zone", zone_file, "--port", "0"},
                 test::ChildProcess::Output::stdout_only),
        first_line_(process_.read_line()) {
    const auto colon = first_line_.rfind(':');
    if (colon != std::string::npos) {
      port_ = std::atoi(first_line_.c_str() + colon + 1);
    }
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& first_line() const { return first_line_; }

  // Sends `number`; returns the exit code (128 + the signal if one ended
  // it) and the server's next line in `last_line`.
  int stop_with(int number, std::string& last_line) {
    process_.signal(number);
    last_line = process_.read_line();
    const int status = process_.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  test::ChildProcess process_;
  std::string first_line_;
  int port_ = 0;
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

TEST_F(DnsCommand, AnEscapedDotMakesOneLabelThatNoZoneNameMatches) {
  DnsServerProcess server(zone_file_);
  ASSERT_GT(server.port(), 0) << server.first_line();
  // dig sends `pizza\.test` as the single label "pizza.test".
  const std::string out = dig(server.port(), {"pizza\\.test"});
  EXPECT_NE(out.find("status: NXDOMAIN"), std::string::npos) << out;
  EXPECT_EQ(out.find("10.0.0.7"), std::string::npos) << out;
}

// SIGINT and SIGTERM stop it as they stop the other servers; the signal
// had killed it (status 130 or 143, no line).
TEST_F(DnsCommand, SigintAndSigtermStopTheServerGracefully) {
  for (const int number : {SIGINT, SIGTERM}) {
    DnsServerProcess server(zone_file_);
    ASSERT_GT(server.port(), 0) << server.first_line();
    EXPECT_EQ(dig(server.port(), {"+short", "pizza.test"}), "10.0.0.7\n");
    std::string last_line;
    EXPECT_EQ(server.stop_with(number, last_line), 0) << "signal " << number;
    EXPECT_EQ(last_line, "Server stopped.") << "signal " << number;
  }
}

TEST_F(DnsCommand, ABadZoneFileIsRefusedWithTheLineAtFault) {
  std::ofstream(zone_file_) << "pizza.test A 10.0.0.7\npizza.test A not-an-address\n";
  const auto result = run_program({pizzeria_binary(), "dns", "--zone", zone_file_, "--port", "0"});
  EXPECT_EQ(result.exit_status, 1);
  EXPECT_NE(result.err.find("zone line 2"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace pz::programs
