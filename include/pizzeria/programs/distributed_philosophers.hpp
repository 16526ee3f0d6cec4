// Seed 003's dining philosophers across processes: each philosopher is a
// process of its own, each fork a pz::RedisLock on one Redis server, so no
// memory is shared and a deadlock can only be seen from outside, in Redis
// (`pizzeria deadlock --redis`, docs/seeds/distributed-locks-and-deadlock.md).
//
//   DistributedPhilosophers dinner({.host = "127.0.0.1", .port = 6379, .processes = 5,
//                                   .force_first_meal = true});
//   DistributedPhilosophers::Result r = dinner.run();   // r.deadlocked, *r.cycle
//
// The wait-for graph: before each wait, a philosopher writes what it holds,
// what it waits for and since when (Redis's clock) into a hash of its own;
// it deletes it once it has the fork. An observer (the process that called
// run(), never a philosopher) reads every hash and every fork's holder in
// one script, so it sees one instant of the whole table, and follows
// "Pi waits for Rj, which Pk holds". A cycle there is a circular wait in
// which each member holds a fork and waits, without a time limit, for the
// next one's: with no lease, nothing can ever break it, and it is reported
// as the deadlock (the philosophers are then stopped).
//
// A lease is preemption. A philosopher does not renew a fork while it waits
// for the other one; once it has both, it renews both, and a fork whose
// lease ran out meanwhile is lost: it puts the other one down and tries the
// meal again. So no circular wait lasts longer than a lease. The hazard
// leases bring is shown with `stall`: P1 takes its two forks first, checks
// it holds them, and stops (SIGSTOP, as a process paused by a collector or
// a VM migration). Its leases run out, a neighbour takes a fork over and
// eats; then the observer continues P1 (SIGCONT), which eats late, still
// believing it holds its forks. The plate (the protected resource, a
// script that checks and writes in one step in Redis) counts such a write
// as stale when its fencing token is older than one it has already seen:
// without `fencing` it accepts it anyway (it cannot tell), with `fencing`
// it refuses it and the philosopher tries the meal again.
//
// Thread safety: run() forks the philosophers, so call it from a process
// with one thread and no running event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/programs/dining_philosophers.hpp"
#include "pizzeria/programs/resource_table.hpp"

namespace pz::programs {

class DistributedPhilosophers {
 public:
  using Strategy = DiningPhilosophers::Strategy;

  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    RedisCredentials credentials;
    unsigned processes = 5;    // philosophers and forks
    std::uint64_t meals = 20;  // per philosopher
    Strategy strategy = Strategy::left_then_right;
    // Every philosopher holds its first fork (or waits for it) before any
    // reaches for the second, as the in-process --force.
    bool force_first_meal = false;
    // 0: the forks have no lease (no preemption).
    std::chrono::milliseconds lease{0};
    bool fencing = false;  // the plate refuses stale writes
    bool stall = false;    // P1 stops past its lease (needs a lease; not with force_first_meal)
    // The whole dinner; a dinner still running then is stopped.
    std::chrono::milliseconds time_limit{60'000};
  };

  struct Result {
    std::uint64_t meals_eaten = 0;  // accepted by the plate
    std::uint64_t meals_expected = 0;
    bool completed = false;   // every philosopher ate every meal and exited
    bool deadlocked = false;  // a circular wait with no lease: stopped
    bool timed_out = false;   // stopped at the time limit
    // The first circular wait the observer saw, and how long its oldest
    // wait had lasted then (Redis's clock).
    std::optional<ResourceTable::Cycle> cycle;
    std::uint64_t cycle_age_ms = 0;
    std::uint64_t circular_waits_seen = 0;  // distinct ones; with leases, each was broken
    std::uint64_t forks_lost = 0;           // found expired at the meal: put down, tried again
    std::uint64_t stale_accepted = 0;       // late writes the plate took (no fencing)
    std::uint64_t stale_refused = 0;        // late writes the plate refused (fencing)
    // The stall: P1 was stopped and continued, and the fork taken over with
    // P1's token and the newer one.
    bool stalled = false;
    std::size_t stalled_fork = 0;  // 0-based
    std::uint64_t stalled_token = 0;
    std::uint64_t takeover_token = 0;
    double seconds = 0;

    [[nodiscard]] double meals_per_second() const noexcept {
      return seconds > 0 ? static_cast<double>(meals_eaten) / seconds : 0.0;
    }
  };

  // What `pizzeria deadlock --redis` exits with: 0 every meal eaten, 2 a
  // deadlock (formed with no lease; reported and stopped), 3 not finished
  // within the time limit.
  static constexpr int kExitDeadlocked = 2;
  static constexpr int kExitUnfinished = 3;
  [[nodiscard]] static int exit_status(const Result& result) noexcept;

  // Throws std::invalid_argument for fewer than 2 or more than 64
  // processes, no meals, a stall without a lease or with
  // force_first_meal, or a time limit under 1 ms.
  explicit DistributedPhilosophers(Options options);

  // Throws if Redis cannot be reached or a philosopher fails (the message
  // says which and why); the run's keys are deleted from Redis either way.
  [[nodiscard]] Result run() const;

  // The text of `pizzeria deadlock --redis`: what runs (before the run),
  // and what happened, in the notation of the in-process program.
  [[nodiscard]] std::string header() const;
  [[nodiscard]] std::string report(const Result& result) const;

 private:
  Options options_;
};

}  // namespace pz::programs
