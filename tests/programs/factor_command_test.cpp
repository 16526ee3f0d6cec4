// `pizzeria factor` against GNU coreutils factor, byte for byte.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "pizzeria/programs/prime_factors.hpp"
#include "program_runner.hpp"

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
