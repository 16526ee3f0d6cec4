// pz::ProcessPool::map of the seed's prime_factor workload (seed 002 section
// 0.5, bugs fixed: see bench/prime_factor_pool.py, which runs the same
// algorithm on the same inputs under Python's multiprocessing.Pool).
// bench/process_pool_vs_python.sh runs both and prints the ratio.
//
// Both pools have 2 workers, are started before timing, and map the same
// PZ_PRIME_COUNT values (default 20,000) with the default chunk size
// (ceil(len / (4 * workers)), as Python). The "checksum" counter (sum of all
// factors) must equal the Python script's.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "pizzeria/exec/process_pool.hpp"
#include "pizzeria/exec/process_worker.hpp"

namespace {

// The seed's algorithm step for step: find the smallest divisor up to
// isqrt(value), then factor the divisor and the quotient recursively; a value
// without one is prime. Two C++ liberties that do not change the algorithm:
// results are appended to one vector instead of building a list per call,
// and values that fit in 32 bits use 32-bit division (the seed's inputs are
// at most 5,000,000), which is several times cheaper than 64-bit division.
template <typename Unsigned>
void prime_factor_into(Unsigned value, std::vector<long>& factors) {
  for (Unsigned divisor = 2; divisor * divisor <= value; ++divisor) {
    if (value % divisor == 0) {
      prime_factor_into(divisor, factors);
      prime_factor_into(static_cast<Unsigned>(value / divisor), factors);
      return;
    }
  }
  factors.push_back(static_cast<long>(value));
}

std::vector<long> prime_factor(long value) {
  std::vector<long> factors;
  if (value < 2) {
    return {value};  // the seed's loop is empty for these: the value itself
  }
  if (value <= 0xFFFFFFFFL / 2) {
    prime_factor_into(static_cast<std::uint32_t>(value), factors);
  } else {
    prime_factor_into(static_cast<std::uint64_t>(value), factors);
  }
  return factors;
}
const auto kPrimeFactor = pz::register_task("bench.prime_factor", &prime_factor);

// Same generator as prime_factor_pool.py.
std::vector<long> inputs(std::size_t count) {
  std::uint64_t state = 2002;
  std::vector<long> values;
  values.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    values.push_back(10000 + static_cast<long>((state >> 33) % 4990001));
  }
  return values;
}

std::size_t prime_count() {
  const char* text = std::getenv("PZ_PRIME_COUNT");
  return text != nullptr ? static_cast<std::size_t>(std::atol(text)) : 20'000;
}

void BM_ProcessPool_MapPrimeFactor(benchmark::State& state) {
  const std::vector<long> values = inputs(prime_count());
  pz::ProcessPool pool(2);
  pool.map(kPrimeFactor, std::vector<long>(values.begin(), values.begin() + 100));  // warm up
  std::uint64_t checksum = 0;
  for (auto _ : state) {
    const auto results = pool.map(kPrimeFactor, values);
    checksum = 0;
    for (const auto& factors : results) {
      for (long factor : factors) {
        checksum += static_cast<std::uint64_t>(factor);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values.size()));
  state.counters["checksum"] = static_cast<double>(checksum);
}
BENCHMARK(BM_ProcessPool_MapPrimeFactor)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same work on one thread of this process: how much of the pool's time is
// the computation itself.
void BM_Sequential_PrimeFactor(benchmark::State& state) {
  const std::vector<long> values = inputs(prime_count());
  for (auto _ : state) {
    for (long value : values) {
      benchmark::DoNotOptimize(prime_factor(value));
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(values.size()));
}
BENCHMARK(BM_Sequential_PrimeFactor)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  // Workers are this program re-executed (see pizzeria/exec/process_worker.hpp).
  if (auto status = pz::run_process_worker_if_requested()) {
    return *status;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
