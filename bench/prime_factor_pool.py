"""Seed 002 section 0.5 (multiprocessing.Pool.map of prime_factor), with the
seed's bugs fixed, as the peer of bench/process_pool_bench.cpp.

Fixes to the seed's code: it mixed the names `factor` and `factors` (a
NameError on the first composite value), and its loop ran
`range(2, value - 1)`, trying every number below the value: correct but O(n)
per prime. The loop now stops at isqrt(value), the standard bound; the C++
task uses exactly the same algorithm and inputs.

Usage: prime_factor_pool.py COUNT REPEATS
Prints one line: "items_per_second=<best of REPEATS> checksum=<sum of all factors>".
"""
import math
import sys
import time
from multiprocessing.pool import Pool


def prime_factor(value):
    factors = []
    for divisor in range(2, math.isqrt(value) + 1):
        quotient, remainder = divmod(value, divisor)
        if not remainder:
            factors.extend(prime_factor(divisor))
            factors.extend(prime_factor(quotient))
            break
    else:
        factors = [value]
    return factors


def inputs(count):
    """The seed's random.randint(10000, 5000000), made reproducible in both
    languages: a 64-bit LCG (Knuth's MMIX constants)."""
    state = 2002
    values = []
    for _ in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        values.append(10000 + (state >> 33) % 4990001)
    return values


if __name__ == "__main__":
    count = int(sys.argv[1])
    repeats = int(sys.argv[2])
    to_factor = inputs(count)
    with Pool(2) as pool:
        pool.map(prime_factor, to_factor[:100])  # warm up: workers started
        best = None
        for _ in range(repeats):
            start = time.perf_counter()
            results = pool.map(prime_factor, to_factor)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
    checksum = sum(sum(factors) for factors in results) % (1 << 64)
    print(f"items_per_second={count / best:.0f} checksum={checksum}")
