#include "pizzeria/programs/resource_table.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pz::programs {

ResourceTable::ResourceTable(std::size_t resources, std::size_t workers)
    : owner_(resources, kNone),
      waiting_for_(workers, kNone),
      blocked_(workers, false),
      arrived_(workers, false) {}

void ResourceTable::check_worker(std::size_t worker) const {
  if (worker >= waiting_for_.size()) {
    throw std::out_of_range("no worker " + std::to_string(worker) + " in a table of " +
                            std::to_string(waiting_for_.size()));
  }
}

void ResourceTable::check_resource(std::size_t resource) const {
  if (resource >= owner_.size()) {
    throw std::out_of_range("no resource " + std::to_string(resource) + " in a table of " +
                            std::to_string(owner_.size()));
  }
}

std::optional<ResourceTable::Cycle> ResourceTable::cycle_if_waiting(std::size_t worker,
                                                                    std::size_t resource) const {
  Cycle chain{{worker, resource}};
  std::size_t holder = owner_[resource];
  // No cycle exists among current waiters (each wait was checked when it
  // began), so the chain ends within one step per worker; the bound only
  // guards that invariant.
  for (std::size_t steps = 0; steps <= waiting_for_.size(); ++steps) {
    if (holder == worker) {
      return chain;
    }
    if (holder == kNone) {
      return std::nullopt;  // being handed over right now: no one waits on it
    }
    const std::size_t wanted = waiting_for_[holder];
    if (wanted == kNone) {
      return std::nullopt;  // the holder is running: it will release
    }
    chain.push_back({holder, wanted});
    holder = owner_[wanted];
  }
  throw std::logic_error("ResourceTable: a cycle of waits exists that no acquire detected");
}

bool ResourceTable::acquire(std::size_t worker, std::size_t resource) {
  check_worker(worker);
  check_resource(resource);
  std::unique_lock lock(mutex_);
  if (owner_[resource] == worker || waiting_for_[worker] != kNone) {
    throw std::logic_error("ResourceTable: worker " + std::to_string(worker) +
                           " already owns or waits for a resource it asks for again");
  }
  if (owner_[resource] != kNone) {
    if (auto cycle = cycle_if_waiting(worker, resource)) {
      ++deadlocks_;
      if (!first_deadlock_) {
        first_deadlock_ = std::move(cycle);
      }
      return false;
    }
    waiting_for_[worker] = resource;
    blocked_[worker] = true;
    changed_.notify_all();  // a rendezvous may count this worker as settled now
    changed_.wait(lock, [&] { return owner_[resource] == kNone; });
    waiting_for_[worker] = kNone;
    blocked_[worker] = false;
  }
  owner_[resource] = worker;
  return true;
}

void ResourceTable::acquire_both(std::size_t worker, std::size_t first, std::size_t second) {
  check_worker(worker);
  check_resource(first);
  check_resource(second);
  if (first == second) {
    throw std::logic_error("ResourceTable::acquire_both: the two resources are the same");
  }
  std::unique_lock lock(mutex_);
  if (owner_[first] != kNone || owner_[second] != kNone) {
    blocked_[worker] = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return owner_[first] == kNone && owner_[second] == kNone; });
    blocked_[worker] = false;
  }
  owner_[first] = worker;
  owner_[second] = worker;
}

void ResourceTable::release(std::size_t worker, std::size_t resource) {
  check_worker(worker);
  check_resource(resource);
  {
    const std::lock_guard lock(mutex_);
    if (owner_[resource] != worker) {
      throw std::logic_error("ResourceTable: worker " + std::to_string(worker) +
                             " releases resource " + std::to_string(resource) +
                             " that it does not own");
    }
    owner_[resource] = kNone;
  }
  changed_.notify_all();
}

void ResourceTable::arrive_and_wait_for_others(std::size_t worker) {
  check_worker(worker);
  std::unique_lock lock(mutex_);
  arrived_[worker] = true;
  changed_.notify_all();
  changed_.wait(lock, [&] {
    for (std::size_t w = 0; w < arrived_.size(); ++w) {
      if (!arrived_[w] && !blocked_[w]) {
        return false;
      }
    }
    return true;
  });
}

std::uint64_t ResourceTable::deadlocks() const {
  const std::lock_guard lock(mutex_);
  return deadlocks_;
}

std::optional<ResourceTable::Cycle> ResourceTable::first_deadlock() const {
  const std::lock_guard lock(mutex_);
  return first_deadlock_;
}

std::string ResourceTable::notation(const Cycle& cycle) {
  std::string text;
  for (const auto& wait : cycle) {
    text += "P" + std::to_string(wait.worker + 1) + " -> R" + std::to_string(wait.resource + 1) +
            " -> ";
  }
  return cycle.empty() ? text : text + "P" + std::to_string(cycle.front().worker + 1);
}

}  // namespace pz::programs
