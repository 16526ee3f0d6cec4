// multiprocessing.Pool / ProcessPoolExecutor in C++: CPU-bound work in worker
// processes (seed 002, "Multiprocessing Pools", prime_factor).
//
// A worker is this same program started again, so it cannot be handed a
// lambda: tasks are plain functions registered by name at namespace scope,
// where the parent and every worker register them the same way. That is
// also why main() must begin with run_process_worker_if_requested(): in a
// worker it serves tasks and returns the exit status; here it returns nullopt.
#include "pizzeria/exec/process_pool.hpp"

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "pizzeria/exec/process_worker.hpp"

std::vector<long> prime_factors(long value) {
  if (value < 2) {
    throw std::invalid_argument("no prime factors below 2");
  }
  std::vector<long> factors;
  for (long divisor = 2; divisor * divisor <= value; ++divisor) {
    for (; value % divisor == 0; value /= divisor) {
      factors.push_back(divisor);
    }
  }
  if (value > 1) {
    factors.push_back(value);
  }
  return factors;
}

const auto kPrimeFactors = pz::register_task("examples.prime_factors", &prime_factors);

int main() {
  if (auto status = pz::run_process_worker_if_requested()) {
    return *status;
  }
  pz::ProcessPool pool(2);

  // pool.map(prime_factor, to_factor): chunked, results in input order.
  std::vector<long> to_factor = {10'000'019, 4'999'999, 123'456, 600'851'475'143};
  std::vector<std::vector<long>> results = pool.map(kPrimeFactors, to_factor);
  for (std::size_t i = 0; i < to_factor.size(); ++i) {
    std::printf("the factors of %ld are", to_factor[i]);
    for (long factor : results[i]) {
      std::printf(" %ld", factor);
    }
    std::printf("\n");
  }

  // submit: one task, one future. The argument type is checked at compile
  // time against the registered signature (long here).
  pz::Future<std::vector<long>> one = pool.submit(kPrimeFactors, 84L);
  std::printf("84 has %zu prime factors\n", one.result().size());

  // The worker's exception cannot cross the process boundary as an object:
  // it comes back as pz::RemoteTaskError carrying the task name and message.
  try {
    pool.submit(kPrimeFactors, 1L).result();
  } catch (const pz::RemoteTaskError& error) {
    std::printf("%s\n", error.what());
  }
}
