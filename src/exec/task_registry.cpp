#include "pizzeria/exec/task_registry.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

namespace pz::task_registry {

namespace {

struct Table {
  std::mutex mutex;
  // std::less<> for lookups by string_view; a map keeps pointers stable, so
  // find() can hand out a pointer that stays valid after later registrations.
  std::map<std::string, ErasedTask, std::less<>> tasks;
};

// A function-local static: registration runs during static initialisation of
// other translation units, in an order we do not control.
Table& table() {
  static Table instance;
  return instance;
}

}  // namespace

void add(std::string name, ErasedTask task) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  const auto [it, inserted] = t.tasks.try_emplace(name, std::move(task));
  if (!inserted) {
    throw std::logic_error("pz::register_task: the name '" + name +
                           "' is already registered; task names must be unique");
  }
}

const ErasedTask* find(std::string_view name) {
  Table& t = table();
  std::lock_guard lock(t.mutex);
  const auto it = t.tasks.find(name);
  return it == t.tasks.end() ? nullptr : &it->second;
}

}  // namespace pz::task_registry
