#include "pizzeria/programs/prime_factors.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstddef>

namespace pz::programs {

namespace {

using U64 = std::uint64_t;

constexpr U64 kMax64 = ~U64{0};

// ---------------------------------------------------------------------------
// Small primes for trial division. For an odd prime p, n is divisible by p
// exactly when n * p^-1 (mod 2^64) <= (2^64 - 1) / p, and then that product is
// n / p: one multiply and one compare per prime instead of a division.

constexpr unsigned kTrialLimit = 4096;  // trial-divide by the primes below this

struct TrialPrime {
  U64 inverse;  // p^-1 mod 2^64
  U64 limit;    // (2^64 - 1) / p
  U64 prime;
};

constexpr U64 inverse_mod_2_64(U64 odd) {
  // Newton's iteration doubles the correct low bits each step; odd * odd is
  // 1 mod 8, so `odd` itself is right to 3 bits, and 5 steps give 96 > 64.
  U64 inverse = odd;
  for (int step = 0; step < 5; ++step) {
    inverse *= 2 - odd * inverse;
  }
  return inverse;
}

constexpr std::size_t count_odd_primes_below(unsigned limit) {
  std::size_t count = 0;
  for (unsigned n = 3; n < limit; n += 2) {
    bool prime = true;
    for (unsigned d = 3; d * d <= n; d += 2) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime ? 1 : 0;
  }
  return count;
}

constexpr std::size_t kTrialPrimeCount = count_odd_primes_below(kTrialLimit);

constexpr std::array<TrialPrime, kTrialPrimeCount> make_trial_primes() {
  std::array<TrialPrime, kTrialPrimeCount> table{};
  std::size_t next = 0;
  for (unsigned n = 3; n < kTrialLimit; n += 2) {
    bool prime = true;
    for (unsigned d = 3; d * d <= n; d += 2) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) {
      table[next++] = TrialPrime{inverse_mod_2_64(n), kMax64 / n, n};
    }
  }
  return table;
}

constexpr auto kTrialPrimes = make_trial_primes();

// After trial division by every prime below kTrialLimit, a cofactor below
// kTrialLimit^2 has no factor small enough to be composite: it is prime.
constexpr U64 kTrialSquare = U64{kTrialLimit} * kTrialLimit;

// ---------------------------------------------------------------------------
// Arithmetic helpers.

int count_trailing_zeros(U64 x) {
  return std::countr_zero(x);
}

int count_trailing_zeros(UInt128 x) {
  const auto low = static_cast<U64>(x);
  return low != 0 ? std::countr_zero(low) : 64 + std::countr_zero(static_cast<U64>(x >> 64));
}

template <typename U>
U binary_gcd(U a, U b) {
  if (a == 0) {
    return b;
  }
  if (b == 0) {
    return a;
  }
  const int shift = count_trailing_zeros(a | b);
  a >>= count_trailing_zeros(a);
  do {
    b >>= count_trailing_zeros(b);
    if (a > b) {
      std::swap(a, b);
    }
    b -= a;
  } while (b != 0);
  return a << shift;
}

struct Wide128 {
  UInt128 high;
  UInt128 low;
};

// The full 256-bit product of two 128-bit numbers, from four 64x64 products.
Wide128 multiply_wide(UInt128 a, UInt128 b) {
  const auto a0 = static_cast<U64>(a);
  const auto a1 = static_cast<U64>(a >> 64);
  const auto b0 = static_cast<U64>(b);
  const auto b1 = static_cast<U64>(b >> 64);
  const UInt128 p00 = static_cast<UInt128>(a0) * b0;
  const UInt128 p01 = static_cast<UInt128>(a0) * b1;
  const UInt128 p10 = static_cast<UInt128>(a1) * b0;
  const UInt128 p11 = static_cast<UInt128>(a1) * b1;
  // Below 3 * 2^64: no overflow.
  const UInt128 middle = (p00 >> 64) + static_cast<U64>(p01) + static_cast<U64>(p10);
  return Wide128{p11 + (p01 >> 64) + (p10 >> 64) + (middle >> 64),
                 (middle << 64) | static_cast<U64>(p00)};
}

// ---------------------------------------------------------------------------
// Montgomery arithmetic modulo an odd n, with R = 2^64 (Montgomery64) or
// R = 2^128 (Montgomery128). Values live in [0, n) as a * R mod n; products
// need no division. Both expose the same interface so Miller-Rabin and rho are
// written once.

class Montgomery64 {
 public:
  using Word = U64;

  explicit Montgomery64(U64 modulus)
      : n_(modulus), inverse_(inverse_mod_2_64(modulus)), one_((0 - modulus) % modulus) {
    r_squared_ = static_cast<U64>(static_cast<UInt128>(one_) * one_ % modulus);
  }

  [[nodiscard]] U64 modulus() const { return n_; }
  [[nodiscard]] U64 one() const { return one_; }
  [[nodiscard]] U64 to_montgomery(U64 a) const { return multiply(a % n_, r_squared_); }

  [[nodiscard]] U64 multiply(U64 a, U64 b) const {
    const UInt128 product = static_cast<UInt128>(a) * b;
    // m * n has the same low word as the product, so the difference of the
    // high words is (product - m * n) / R exactly, in (-n, n).
    const U64 m = static_cast<U64>(product) * inverse_;
    const auto mn_high = static_cast<U64>((static_cast<UInt128>(m) * n_) >> 64);
    const auto high = static_cast<U64>(product >> 64);
    return high >= mn_high ? high - mn_high : high - mn_high + n_;
  }

  [[nodiscard]] U64 add(U64 a, U64 b) const {
    const U64 sum = a + b;
    return (sum < a || sum >= n_) ? sum - n_ : sum;
  }

 private:
  U64 n_;
  U64 inverse_;  // n^-1 mod R
  U64 one_;      // R mod n
  U64 r_squared_ = 0;
};

UInt128 inverse_mod_2_128(UInt128 odd) {
  UInt128 inverse = odd;
  for (int step = 0; step < 6; ++step) {  // 3 -> 192 correct bits
    inverse *= 2 - odd * inverse;
  }
  return inverse;
}

class Montgomery128 {
 public:
  using Word = UInt128;

  explicit Montgomery128(UInt128 modulus)
      : n_(modulus), inverse_(inverse_mod_2_128(modulus)), one_((0 - modulus) % modulus) {
    // R^2 mod n by doubling R mod n 128 times: no 256-bit division needed.
    UInt128 value = one_;
    for (int bit = 0; bit < 128; ++bit) {
      value = add(value, value);
    }
    r_squared_ = value;
  }

  [[nodiscard]] UInt128 modulus() const { return n_; }
  [[nodiscard]] UInt128 one() const { return one_; }
  [[nodiscard]] UInt128 to_montgomery(UInt128 a) const { return multiply(a % n_, r_squared_); }

  [[nodiscard]] UInt128 multiply(UInt128 a, UInt128 b) const {
    const Wide128 product = multiply_wide(a, b);
    const UInt128 m = product.low * inverse_;
    const UInt128 mn_high = multiply_wide(m, n_).high;
    return product.high >= mn_high ? product.high - mn_high : product.high - mn_high + n_;
  }

  [[nodiscard]] UInt128 add(UInt128 a, UInt128 b) const {
    const UInt128 sum = a + b;
    return (sum < a || sum >= n_) ? sum - n_ : sum;
  }

 private:
  UInt128 n_;
  UInt128 inverse_;
  UInt128 one_;
  UInt128 r_squared_ = 0;
};

template <typename M>
typename M::Word power(const M& mont, typename M::Word base, typename M::Word exponent) {
  typename M::Word result = mont.one();
  while (exponent != 0) {
    if ((exponent & 1) != 0) {
      result = mont.multiply(result, base);
    }
    base = mont.multiply(base, base);
    exponent >>= 1;
  }
  return result;
}

// One strong-probable-prime round: false proves n composite.
template <typename M>
bool passes_miller_rabin(const M& mont, typename M::Word base, typename M::Word odd_part,
                         int twos) {
  using Word = typename M::Word;
  const Word n = mont.modulus();
  base %= n;
  if (base == 0) {
    return true;
  }
  const Word minus_one = n - mont.one();
  Word x = power(mont, mont.to_montgomery(base), odd_part);
  if (x == mont.one() || x == minus_one) {
    return true;
  }
  for (int i = 1; i < twos; ++i) {
    x = mont.multiply(x, x);
    if (x == minus_one) {
      return true;
    }
    if (x == mont.one()) {
      return false;
    }
  }
  return false;
}

template <typename M, std::size_t N>
bool passes_bases(const M& mont, const std::array<U64, N>& bases) {
  using Word = typename M::Word;
  const Word n_minus_1 = mont.modulus() - 1;
  const int twos = count_trailing_zeros(n_minus_1);
  const Word odd_part = n_minus_1 >> twos;
  return std::ranges::all_of(
      bases, [&](U64 base) { return passes_miller_rabin(mont, Word{base}, odd_part, twos); });
}

// Deterministic base sets: {2, 7, 61} below 2^32 (Jaeschke); Sinclair's seven
// bases below 2^64; the first 13 primes below psi_13 ~ 3.3 * 10^24 (Sorenson
// and Webster). Above that, 24 prime bases (not proven, see the header).
constexpr std::array<U64, 3> kBases32{2, 7, 61};
constexpr std::array<U64, 7> kBases64{2, 325, 9375, 28178, 450775, 9780504, 1795265022};
constexpr std::array<U64, 13> kBases81{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41};
constexpr std::array<U64, 24> kBases128{2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37,
                                        41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89};

constexpr UInt128 parse_constant(const char* digits) {
  UInt128 value = 0;
  for (; *digits != '\0'; ++digits) {
    value = value * 10 + static_cast<unsigned>(*digits - '0');
  }
  return value;
}
constexpr UInt128 kPsi13 = parse_constant("3317044064679887385961981");

// n odd, n > kTrialLimit.
bool is_odd_prime64(U64 n) {
  const Montgomery64 mont(n);
  return n < (U64{1} << 32) ? passes_bases(mont, kBases32) : passes_bases(mont, kBases64);
}

bool is_odd_prime128(UInt128 n) {
  const Montgomery128 mont(n);
  return n < kPsi13 ? passes_bases(mont, kBases81) : passes_bases(mont, kBases128);
}

// Pollard's rho, Brent's variant: finds a non-trivial factor of the odd
// composite n. Differences are multiplied together and one gcd is taken per
// batch; when a batch overshoots (gcd == n), the batch is replayed step by
// step from its start, and if even that gives n, the polynomial changes.
template <typename M>
typename M::Word pollard_brent(const M& mont) {
  using Word = typename M::Word;
  const Word n = mont.modulus();
  constexpr std::size_t kBatch = 128;
  for (Word increment = 1;; ++increment) {
    const auto step = [&](Word v) { return mont.add(mont.multiply(v, v), increment); };
    Word y = mont.one();
    Word x = y;
    Word saved = y;
    Word product = mont.one();
    Word divisor = 1;
    for (std::size_t run = 1; divisor == 1; run *= 2) {
      x = y;
      for (std::size_t i = 0; i < run; ++i) {
        y = step(y);
      }
      for (std::size_t done = 0; done < run && divisor == 1;) {
        saved = y;
        const std::size_t steps = std::min(kBatch, run - done);
        for (std::size_t i = 0; i < steps; ++i) {
          y = step(y);
          product = mont.multiply(product, x > y ? x - y : y - x);
        }
        divisor = binary_gcd(product, n);
        done += steps;
      }
    }
    if (divisor == n) {
      do {
        saved = step(saved);
        divisor = binary_gcd(x > saved ? x - saved : saved - x, n);
      } while (divisor == 1);
    }
    if (divisor != n) {
      return divisor;
    }
  }
}

// n odd, no prime factor below kTrialLimit, n > 1.
void factor_large64(U64 n, std::vector<U64>& out) {
  if (n < kTrialSquare || is_odd_prime64(n)) {
    out.push_back(n);
    return;
  }
  const U64 divisor = pollard_brent(Montgomery64(n));
  factor_large64(divisor, out);
  factor_large64(n / divisor, out);
}

// Trial division of an odd n by kTrialPrimes[first...]; returns the cofactor.
U64 trial_divide64(U64 n, std::size_t first, std::vector<U64>& out) {
  for (std::size_t i = first; i < kTrialPrimes.size(); ++i) {
    const TrialPrime& entry = kTrialPrimes[i];
    if (entry.prime * entry.prime > n) {
      break;
    }
    while (n * entry.inverse <= entry.limit) {
      n *= entry.inverse;
      out.push_back(entry.prime);
    }
  }
  return n;
}

void factor_odd64(U64 n, std::size_t first_trial, std::vector<U64>& out) {
  n = trial_divide64(n, first_trial, out);
  if (n != 1) {
    const std::size_t large_begin = out.size();
    factor_large64(n, out);
    // Trial factors come out ascending and below every large one.
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(large_begin), out.end());
  }
}

// n odd, no prime factor below kTrialLimit, n >= 2^64.
void factor_large128(UInt128 n, std::vector<UInt128>& out) {
  if (static_cast<U64>(n >> 64) == 0) {
    std::vector<U64> small;
    factor_large64(static_cast<U64>(n), small);
    out.insert(out.end(), small.begin(), small.end());
    return;
  }
  if (is_odd_prime128(n)) {
    out.push_back(n);
    return;
  }
  const UInt128 divisor = pollard_brent(Montgomery128(n));
  factor_large128(divisor, out);
  factor_large128(n / divisor, out);
}

}  // namespace

void append_prime_factors(U64 n, std::vector<U64>& out) {
  if (n < 2) {
    return;
  }
  const int twos = std::countr_zero(n);
  out.insert(out.end(), static_cast<std::size_t>(twos), U64{2});
  factor_odd64(n >> twos, 0, out);
}

std::vector<UInt128> prime_factors(UInt128 n) {
  std::vector<UInt128> out;
  if (static_cast<U64>(n >> 64) == 0) {
    std::vector<U64> small;
    append_prime_factors(static_cast<U64>(n), small);
    out.assign(small.begin(), small.end());
    return out;
  }
  const int twos = count_trailing_zeros(n);
  out.insert(out.end(), static_cast<std::size_t>(twos), UInt128{2});
  n >>= twos;
  // Trial division while n needs two words (a u128 remainder is slow, but
  // this path is rare); once n fits in one word, the fast path takes over
  // at the same prime.
  std::size_t index = 0;
  while (index < kTrialPrimes.size() && static_cast<U64>(n >> 64) != 0) {
    const U64 prime = kTrialPrimes[index].prime;
    if (n % prime == 0) {
      n /= prime;
      out.push_back(prime);
    } else {
      ++index;
    }
  }
  if (static_cast<U64>(n >> 64) == 0) {
    std::vector<U64> small;
    factor_odd64(static_cast<U64>(n), index, small);
    out.insert(out.end(), small.begin(), small.end());
    return out;
  }
  const std::size_t large_begin = out.size();
  factor_large128(n, out);
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(large_begin), out.end());
  return out;
}

bool is_prime(UInt128 n) {
  if (n < 2) {
    return false;
  }
  if ((n & 1) == 0) {
    return n == 2;
  }
  for (const TrialPrime& entry : kTrialPrimes) {
    if (n == entry.prime) {
      return true;
    }
    if (n % entry.prime == 0) {
      return false;
    }
  }
  if (n < kTrialSquare) {
    return true;
  }
  return static_cast<U64>(n >> 64) == 0 ? is_odd_prime64(static_cast<U64>(n)) : is_odd_prime128(n);
}

void append_decimal(std::string& out, UInt128 n) {
  constexpr U64 kTen19 = 10'000'000'000'000'000'000ULL;
  char buffer[48];
  if (static_cast<U64>(n >> 64) == 0) {
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<U64>(n));
    out.append(buffer, result.ptr);
    return;
  }
  // Two or three 19-digit groups; all but the leading one zero-padded.
  append_decimal(out, n / kTen19);
  const auto low = static_cast<U64>(n % kTen19);
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), low);
  const auto length = static_cast<std::size_t>(result.ptr - buffer);
  out.append(19 - length, '0');
  out.append(buffer, length);
}

std::string to_decimal(UInt128 n) {
  std::string text;
  append_decimal(text, n);
  return text;
}

}  // namespace pz::programs
