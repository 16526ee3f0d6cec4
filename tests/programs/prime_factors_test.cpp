#include "pizzeria/programs/prime_factors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace pz::programs {
namespace {

UInt128 product(const std::vector<UInt128>& factors) {
  UInt128 result = 1;
  for (const UInt128 factor : factors) {
    result *= factor;
  }
  return result;
}

UInt128 from_decimal(const char* digits) {
  UInt128 value = 0;
  for (; *digits != '\0'; ++digits) {
    value = value * 10 + static_cast<unsigned>(*digits - '0');
  }
  return value;
}

TEST(PrimeFactors, ZeroAndOneHaveNoFactors) {
  EXPECT_TRUE(prime_factors(0).empty());
  EXPECT_TRUE(prime_factors(1).empty());
}

TEST(PrimeFactors, SmallNumbersFactorIntoAscendingPrimesWithMultiplicity) {
  EXPECT_EQ(prime_factors(360), (std::vector<UInt128>{2, 2, 2, 3, 3, 5}));
  EXPECT_EQ(prime_factors(97), (std::vector<UInt128>{97}));
  EXPECT_EQ(prime_factors(4095u * 4093u), (std::vector<UInt128>{3, 3, 5, 7, 13, 4093}));
}

TEST(PrimeFactors, LargestSixtyFourBitNumberFactorsLikeGnuFactor) {
  EXPECT_EQ(prime_factors(UINT64_MAX), (std::vector<UInt128>{3, 5, 17, 257, 641, 65537, 6700417}));
}

TEST(PrimeFactors, LargestOneHundredTwentyEightBitNumberFactorsLikeGnuFactor) {
  EXPECT_EQ(prime_factors(~UInt128{0}),
            (std::vector<UInt128>{3, 5, 17, 257, 641, 65537, 274177, 6700417, 67280421310721}));
}

TEST(PrimeFactors, SemiprimeOfTwoThirtyTwoBitPrimesSplits) {
  const UInt128 p = 4294967291u;  // largest prime below 2^32
  const UInt128 q = 4294967279u;
  EXPECT_EQ(prime_factors(p * q), (std::vector<UInt128>{q, p}));
}

TEST(PrimeFactors, SquareOfALargePrimeSplitsIntoTwoEqualFactors) {
  const UInt128 p = 4294967291u;
  EXPECT_EQ(prime_factors(p * p), (std::vector<UInt128>{p, p}));
}

TEST(PrimeFactors, MixedWidthSemiprimeAboveTwoToTheSixtyFourSplits) {
  const UInt128 small = 1000003;                               // prime
  const UInt128 large = from_decimal("18446744073709551557");  // largest prime below 2^64
  const UInt128 big = from_decimal("170141183460469231731687303715884105727");  // 2^127 - 1
  EXPECT_EQ(prime_factors(small * large), (std::vector<UInt128>{small, large}));
  EXPECT_EQ(prime_factors(big), (std::vector<UInt128>{big}));
}

TEST(PrimeFactors, RandomNumbersFactorIntoPrimesWhoseProductIsTheNumber) {
  std::mt19937_64 random(12345);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t n = random() >> (random() % 64);
    const std::vector<UInt128> factors = prime_factors(n);
    if (n < 2) {
      EXPECT_TRUE(factors.empty());
      continue;
    }
    EXPECT_EQ(product(factors), UInt128{n});
    for (std::size_t k = 0; k < factors.size(); ++k) {
      EXPECT_TRUE(is_prime(factors[k])) << to_decimal(factors[k]);
      if (k > 0) {
        EXPECT_LE(factors[k - 1], factors[k]);
      }
    }
  }
}

TEST(IsPrime, KnownStrongPseudoprimesAreRejected) {
  // Strong pseudoprimes to several small bases; a weak base set accepts them.
  EXPECT_FALSE(is_prime(3215031751u));                               // bases 2, 3, 5, 7
  EXPECT_FALSE(is_prime(3825123056546413051ull));                    // bases 2..23
  EXPECT_FALSE(is_prime(from_decimal("318665857834031151167461")));  // bases 2..37
  EXPECT_TRUE(is_prime(from_decimal("18446744073709551557")));
  EXPECT_FALSE(is_prime(0));
  EXPECT_FALSE(is_prime(1));
  EXPECT_TRUE(is_prime(2));
}

TEST(Decimal, OneHundredTwentyEightBitValuesPrintWithInnerZeroPadding) {
  EXPECT_EQ(to_decimal(0), "0");
  EXPECT_EQ(to_decimal(~UInt128{0}), "340282366920938463463374607431768211455");
  EXPECT_EQ(to_decimal(from_decimal("10000000000000000000000000000001")),
            "10000000000000000000000000000001");
}

}  // namespace
}  // namespace pz::programs
