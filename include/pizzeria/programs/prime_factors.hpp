// Prime factorisation of unsigned integers up to 128 bits, for `pizzeria
// factor` (seed 002, section 0.5: the process-pool factoriser).
//
//   std::vector<pz::programs::UInt128> f = pz::programs::prime_factors(360);
//   // f == {2, 2, 2, 3, 3, 5}
//
// The seed divides by every integer below n, which is hopeless past ~10^9.
// Here: trial division by the primes below 2^12 (a multiply and a compare per
// prime, using the modular inverse of each prime), then a primality test, then
// Pollard's rho in Brent's form for what is left, all in Montgomery
// arithmetic (no division in the inner loops). docs/seeds/process-pools-and-factor.md
// explains the choices.
//
// Primality: below 2^64, Miller-Rabin with a base set proven deterministic
// for that range; up to 2^81, the first 13 primes as bases (also proven);
// above that, the first 24 primes as bases: no composite below 2^128 is known
// to pass, but it is not proven (GNU factor makes a similar bet there).
//
// Cost: fast for numbers whose second-largest prime factor has up to ~60 bits
// (rho needs about sqrt(p) steps for a factor p); a 128-bit product of two
// 64-bit primes would take hours, as it does with GNU factor.
//
// Thread safety: pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pz::programs {

// GNU C++ extension; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef unsigned __int128 UInt128;

// The prime factors of n in ascending order, each repeated by its
// multiplicity. Empty for 0 and 1 (as GNU factor prints "0:" and "1:").
[[nodiscard]] std::vector<UInt128> prime_factors(UInt128 n);

// 64-bit fast path of prime_factors (appends to `out`, ascending).
void append_prime_factors(std::uint64_t n, std::vector<std::uint64_t>& out);

// True when n is prime (see the header comment for how sure "prime" is).
[[nodiscard]] bool is_prime(UInt128 n);

// Decimal text of n, appended to `out`.
void append_decimal(std::string& out, UInt128 n);
[[nodiscard]] std::string to_decimal(UInt128 n);

}  // namespace pz::programs
