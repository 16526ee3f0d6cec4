// Exclusive resources whose owners and waiters are on record, so that a
// deadlock can be seen as it forms: seed 003's Coffman conditions, made
// observable (`pizzeria deadlock`, docs/seeds/races-and-deadlock.md).
//
//   ResourceTable forks(5, 5);          // 5 resources, 5 workers
//   if (!forks.acquire(worker, left)) { ... }     // false: would deadlock
//
// A std::mutex cannot say who holds it or who waits for it, so a program
// that deadlocks on mutexes just stops. Here every acquire that must wait
// first follows the wait-for graph (resource -> its owner -> the resource
// that owner waits for -> ...). If the chain leads back to the requester,
// waiting would close a cycle in which every worker holds one resource and
// waits for the next one's: a deadlock. The table then refuses that one
// wait, records the cycle, and returns false; the caller is the victim and
// must give up what it holds and try again. That is how database lock
// managers recover, and it breaks the "no preemption" condition after the
// fact. Because every wait is checked when it starts, no cycle ever exists
// among the waiters, and the walk is at most one step per worker.
//
// Thread safety: every member is safe from any thread; one mutex guards the
// whole table (this is a teaching instrument, not a scalable lock).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pz::programs {

class ResourceTable {
 public:
  // One step of a cycle of waits: `worker` waits for `resource`, which the
  // worker of the next step holds (the last step's resource is held by the
  // first step's worker). Indices are 0-based.
  struct Wait {
    std::size_t worker;
    std::size_t resource;
  };
  using Cycle = std::vector<Wait>;

  ResourceTable(std::size_t resources, std::size_t workers);

  // Blocks until `worker` owns `resource`. Returns false, without waiting
  // and without taking it, if waiting would close a cycle of waits; the
  // cycle is recorded (deadlocks(), first_deadlock()).
  // Throws std::logic_error if the worker already owns it or already waits.
  [[nodiscard]] bool acquire(std::size_t worker, std::size_t resource);

  // Waits, holding nothing of the two, until both are free and takes them
  // together: no hold-and-wait, so this never takes part in a deadlock.
  void acquire_both(std::size_t worker, std::size_t first, std::size_t second);

  // Throws std::logic_error if `worker` does not own `resource`.
  void release(std::size_t worker, std::size_t resource);

  // A rendezvous to force the dangerous interleaving: returns once every
  // worker has either called this or is blocked waiting in the table. Each
  // worker calls it at most once.
  void arrive_and_wait_for_others(std::size_t worker);

  [[nodiscard]] std::uint64_t deadlocks() const;
  [[nodiscard]] std::optional<Cycle> first_deadlock() const;

  // The seed's notation, 1-based: "P1 -> R2 -> P2 -> R3 -> ... -> P1", read
  // "P1 waits for R2, which P2 holds; P2 waits for R3, ...".
  [[nodiscard]] static std::string notation(const Cycle& cycle);

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // The cycle that waiting for `resource` would close, if any. Lock held.
  [[nodiscard]] std::optional<Cycle> cycle_if_waiting(std::size_t worker,
                                                      std::size_t resource) const;
  void check_worker(std::size_t worker) const;
  void check_resource(std::size_t resource) const;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::size_t> owner_;        // per resource: its worker, or kNone
  std::vector<std::size_t> waiting_for_;  // per worker: a resource, or kNone
  std::vector<bool> blocked_;             // per worker: inside a wait
  std::vector<bool> arrived_;             // per worker: at the rendezvous
  std::uint64_t deadlocks_ = 0;
  std::optional<Cycle> first_deadlock_;
};

}  // namespace pz::programs
