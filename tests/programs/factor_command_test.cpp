// `pizzeria factor` against GNU coreutils factor, byte for byte.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/programs/prime_factors.hpp"
#include "program_runner.hpp"
#include "support/children_of.hpp"

namespace pz::programs {
namespace {

using test::pizzeria_binary;
using test::run_program;

// By name, so that its diagnostics say "factor:" as ours do.
constexpr const char* kGnuFactor = "factor";
const std::vector<std::string> kCLocale{"LC_ALL=C"};

UInt128 random_prime(std::mt19937_64& random, int bits) {
  while (true) {
    UInt128 candidate = (UInt128{random()} << 64) | random();
    candidate &= (UInt128{1} << bits) - 1;
    candidate |= (UInt128{1} << (bits - 1)) | 1;
    if (is_prime(candidate)) {
      return candidate;
    }
  }
}

int between(std::mt19937_64& random, int low, int high) {
  return low + static_cast<int>(random() % static_cast<std::uint64_t>(high - low + 1));
}

// 10,000 numbers: random 64-bit values of every size, the seed's range,
// 64-bit semiprimes of two 30-bit primes (the slow case for rho), 128-bit
// products of a small and a large prime, prime powers, large primes, edges.
// All below 2^127: GNU factor 9.1 hands larger numbers to GMP, whose output
// bypasses its own line buffer and comes out of order on a pipe (a GNU bug;
// try `printf '1\n%s\n' $(echo '2^128-1' | bc) | factor | cat`).
std::vector<UInt128> test_numbers() {
  std::mt19937_64 random(20151015);
  std::vector<UInt128> numbers{0, 1, 2, 3, 4, UINT64_MAX, UInt128{UINT64_MAX} + 1};
  for (int i = 0; i < 5500; ++i) {
    numbers.push_back(random() >> (random() % 64));
  }
  for (int i = 0; i < 1000; ++i) {
    numbers.push_back(10000 + random() % 4990001);  // the seed's randint(10000, 5000000)
  }
  for (int i = 0; i < 1500; ++i) {
    numbers.push_back(random_prime(random, between(random, 28, 32)) *
                      random_prime(random, between(random, 28, 32)));
  }
  for (int i = 0; i < 300; ++i) {
    numbers.push_back(random_prime(random, between(random, 14, 30)) *
                      random_prime(random, between(random, 50, 96)));
  }
  for (int i = 0; i < 600; ++i) {
    const UInt128 p = random_prime(random, between(random, 2, 20));
    UInt128 power = p;
    for (int k = between(random, 1, 6); k > 0 && power < (UInt128{1} << 100); --k) {
      power *= p;
    }
    numbers.push_back(power);
  }
  // GNU needs ~20 ms to prove a number above 2^64 prime, so only a few of those.
  for (int i = 0; i < 100; ++i) {
    numbers.push_back(random_prime(random, between(random, 65, 126)));
  }
  while (numbers.size() < 10000) {
    numbers.push_back(random_prime(random, between(random, 33, 64)));
  }
  return numbers;
}

TEST(FactorCommand, AgreesWithGnuFactorOnTenThousandNumbersFromStandardInput) {
  std::string input;
  for (const UInt128 n : test_numbers()) {
    input += to_decimal(n);
    input += '\n';
  }
  const auto gnu = run_program({kGnuFactor}, input, kCLocale);
  const auto ours = run_program({pizzeria_binary(), "factor", "--workers", "2"}, input, kCLocale);
  ASSERT_EQ(gnu.exit_status, 0) << gnu.err;
  EXPECT_EQ(ours.exit_status, 0) << ours.err;
  EXPECT_TRUE(ours.err.empty()) << ours.err;
  EXPECT_EQ(std::count(ours.out.begin(), ours.out.end(), '\n'), 10000);
  EXPECT_TRUE(ours.out == gnu.out)
      << "first difference at byte "
      << std::mismatch(ours.out.begin(), ours.out.end(), gnu.out.begin(), gnu.out.end()).first -
             ours.out.begin()
      << "\nours: " << ours.out.substr(0, 200) << "\nGNU:  " << gnu.out.substr(0, 200);
}

// Writes all of `bytes` to a blocking pipe; false when the reader is gone.
bool write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string contents_of(const std::string& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// The factor tasks are idempotent: a batch whose worker is SIGKILLed while
// it factors is factored again on a new worker, so the output is still GNU
// factor's, byte for byte.
TEST(FactorCommand, AWorkerKilledMidRunLosesNoNumberAndChangesNoByte) {
  // Three times the ten thousand: a dozen batches, so that many are still
  // to do when the first results are out.
  std::string input;
  for (int round = 0; round < 3; ++round) {
    for (const UInt128 n : test_numbers()) {
      input += to_decimal(n);
      input += '\n';
    }
  }
  const auto gnu = run_program({kGnuFactor}, input, kCLocale);
  ASSERT_EQ(gnu.exit_status, 0) << gnu.err;

  const std::string out_path = ::testing::TempDir() + "factor-kill-" + std::to_string(::getpid());
  const std::string err_path = out_path + ".err";
  int pipe_ends[2];
  ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_ends[0], 0);
  ::posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  ::posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  std::vector<std::string> arguments{pizzeria_binary(), "factor", "--workers", "2"};
  std::vector<char*> argv;
  for (std::string& argument : arguments) {
    argv.push_back(argument.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> environment{"LC_ALL=C"};
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::string_view(*variable).rfind("LC_ALL=", 0) != 0) {
      environment.emplace_back(*variable);
    }
  }
  std::vector<char*> envp;
  for (std::string& variable : environment) {
    envp.push_back(variable.data());
  }
  envp.push_back(nullptr);
  pid_t factor = -1;
  const int spawned = ::posix_spawn(&factor, argv[0], &actions, nullptr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_ends[0]);
  ASSERT_EQ(spawned, 0);
  std::thread writer([fd = pipe_ends[1], &input] {
    write_all(fd, input);
    ::close(fd);
  });

  // Once the first results are out the workers are past their start; one
  // that is running (not asleep waiting for a task) is factoring a batch.
  pid_t busy = -1;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (busy < 0 && std::chrono::steady_clock::now() < give_up) {
    if (!contents_of(out_path).empty()) {
      for (const pid_t worker : test::children_of(factor)) {
        if (test::process_state(worker) == 'R') {
          busy = worker;
          break;
        }
      }
    }
    if (busy < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  const bool killed = busy > 0 && ::kill(busy, SIGKILL) == 0;
  int status = 0;
  const pid_t waited = ::waitpid(factor, &status, 0);
  writer.join();
  ASSERT_TRUE(killed) << "no worker was seen at work";
  ASSERT_EQ(waited, factor);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << contents_of(err_path);
  const std::string ours = contents_of(out_path);
  EXPECT_EQ(contents_of(err_path), "");
  EXPECT_EQ(std::count(ours.begin(), ours.end(), '\n'), 30000);
  EXPECT_TRUE(ours == gnu.out)
      << "first difference at byte "
      << std::mismatch(ours.begin(), ours.end(), gnu.out.begin(), gnu.out.end()).first -
             ours.begin();
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
}

TEST(FactorCommand, ArgumentsGiveTheSameOutputErrorsAndExitStatusAsGnuFactor) {
  const std::vector<std::string> operands{
      "12", " +0012", "abc", "", "-5", "0", "1", "12 ", "a'b", "\t7", "18446744073709551616"};
  std::vector<std::string> gnu_argv{kGnuFactor, "--"};
  std::vector<std::string> our_argv{pizzeria_binary(), "factor", "--workers", "2", "--"};
  gnu_argv.insert(gnu_argv.end(), operands.begin(), operands.end());
  our_argv.insert(our_argv.end(), operands.begin(), operands.end());
  const auto gnu = run_program(gnu_argv, {}, kCLocale);
  const auto ours = run_program(our_argv, {}, kCLocale);
  EXPECT_EQ(ours.out, gnu.out);
  EXPECT_EQ(ours.err, gnu.err);
  EXPECT_EQ(gnu.exit_status, 1);
  EXPECT_EQ(ours.exit_status, gnu.exit_status);
}

TEST(FactorCommand, StandardInputSplitsAndComplainsLikeGnuFactorInAUtf8Locale) {
  const std::string input = "  14\t+15\n\n-3 x\r 16\v17 9999999967";
  const std::vector<std::string> utf8{"LC_ALL=C.UTF-8"};
  const auto gnu = run_program({kGnuFactor}, input, utf8);
  const auto ours = run_program({pizzeria_binary(), "factor"}, input, utf8);
  EXPECT_EQ(ours.out, gnu.out);
  EXPECT_EQ(ours.err, gnu.err);
  EXPECT_EQ(ours.exit_status, gnu.exit_status);
}

TEST(FactorCommand, ThreadWorkersGiveTheSameOutputAsProcessWorkers) {
  std::string input;
  for (std::uint64_t n = 999'999'000'000; n < 999'999'002'000; ++n) {
    input += std::to_string(n) + '\n';
  }
  const auto processes = run_program({pizzeria_binary(), "factor", "--workers", "2"}, input);
  const auto threads =
      run_program({pizzeria_binary(), "factor", "--workers", "2", "--threads"}, input);
  EXPECT_EQ(processes.exit_status, 0) << processes.err;
  EXPECT_EQ(std::count(processes.out.begin(), processes.out.end(), '\n'), 2000);
  EXPECT_EQ(threads.out, processes.out);
}

TEST(FactorCommand, EmptyInputPrintsNothingAndSucceeds) {
  const auto ours = run_program({pizzeria_binary(), "factor"}, {}, kCLocale);
  EXPECT_EQ(ours.out, "");
  EXPECT_EQ(ours.exit_status, 0);
}

TEST(FactorCommand, NumbersAboveOneHundredTwentyEightBitsAreRefusedWithAReason) {
  const auto ours = run_program(
      {pizzeria_binary(), "factor", "340282366920938463463374607431768211456"}, {}, kCLocale);
  EXPECT_EQ(ours.err,
            "factor: '340282366920938463463374607431768211456' is too large: pizzeria factors "
            "numbers below 2^128\n");
  EXPECT_EQ(ours.exit_status, 1);
}

}  // namespace
}  // namespace pz::programs
