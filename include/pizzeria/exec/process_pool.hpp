// pz::ProcessPool: CPU-bound work in separate worker processes, like
// multiprocessing.Pool / concurrent.futures.ProcessPoolExecutor.
//
//   // at namespace scope, so parent and workers both register it:
//   std::vector<long> prime_factor(long value);
//   inline const auto kPrimeFactor = pz::register_task("prime_factor", &prime_factor);
//
//   int main() {
//     if (auto status = pz::run_process_worker_if_requested()) return *status;
//     pz::ProcessPool pool(4);
//     auto factors = pool.map(kPrimeFactor, numbers);           // ordered, chunked
//     pz::Future<std::vector<long>> f = pool.submit(kPrimeFactor, 42L);
//     auto stream = pool.imap(kPrimeFactor, endless_numbers);  // ordered, lazy
//     while (auto next_factors = stream.next()) { ... }
//     for (auto& factors : pool.imap(kPrimeFactor, numbers)) { ... }  // the same
//   }
//
// Workers: started by re-executing the program (/proc/self/exe) through
// posix_spawn, which is safe however many threads the parent has, and gives a
// clean process (docs/exec.md argues the choice against a fork server). Hence
// the call at the top of main (pizzeria/exec/process_worker.hpp).
//
// Tasks: registered functions named by string (task_registry.hpp); arguments
// and results travel in the tagged wire format (wire.hpp). Each worker runs
// one task message at a time; map() packs `chunksize` items per message.
//
// Failures: a task that throws fails its future with pz::RemoteTaskError
// carrying the message. A worker that dies (signal or exit) fails the task it
// was running with pz::WorkerDied naming the cause, and is replaced; the pool
// keeps serving. A worker that dies before taking any task three times in a
// row (a broken executable or initializer) breaks the pool: every pending and
// later task fails with the reason. An initializer that throws breaks the
// pool the same way.
//
// Supervision (docs/exec.md): an idempotent task (RemoteFunction::idempotent)
// is run again when its worker dies, up to its max_retries, and fails with
// every attempt's cause when none succeeds; an input that killed
// `quarantine_after` workers fails with pz::TaskQuarantined instead. A task
// past its deadline has its worker killed and fails with pz::TimeoutError. A
// worker over its soft memory cap is replaced after its task, over its hard
// cap at once. More than `max_restarts` worker deaths within
// `restart_window` break the pool instead of respawning for ever. stats()
// counts all of it.
//
// Shutdown: shutdown(wait, cancel_pending) stops accepting tasks;
// cancel_pending fails queued tasks with pz::TaskCancelled; the workers finish
// the task they run, get end-of-stream, exit and are reaped. The destructor is
// shutdown(true, true). Nothing is left behind: no child, zombie or fd.
//
// Callbacks (futures' continuations) run on the pool's manager thread.
//
// Thread safety: submit, map, imap, imap_unordered, shutdown and the counters
// are safe from any thread. An Imap or ImapUnordered object is for one thread.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "pizzeria/core/clock.hpp"
#include "pizzeria/core/unique_function.hpp"
#include "pizzeria/exec/blocking_queue.hpp"
#include "pizzeria/exec/detail/next_iterator.hpp"
#include "pizzeria/exec/future.hpp"
#include "pizzeria/exec/future_awaiter.hpp"
#include "pizzeria/exec/process_pool_error.hpp"
#include "pizzeria/exec/task_registry.hpp"
#include "pizzeria/exec/wire.hpp"

namespace pz {

struct ProcessPoolOptions {
  std::size_t workers = 0;  // 0: std::thread::hardware_concurrency()
  // A registered task run once in every worker before its first task (also in
  // replacements); its arguments encoded as a tuple. Set with set_initializer.
  std::string initializer;
  std::string initializer_arguments;
  // Replace a worker after it has run this many task messages (map chunks count
  // as one, as in Python); 0: never.
  std::size_t max_tasks_per_child = 0;
  // The program to run as a worker; it must call run_process_worker_if_requested.
  std::string executable = "/proc/self/exe";
  // argv[1...] for workers (argv[0] is `executable`).
  std::vector<std::string> arguments;
  // A worker that has not reached its worker loop after this long is killed
  // and counts as failing to start (e.g. main() lacks the hook).
  std::chrono::milliseconds start_timeout{10'000};
  // Descriptors every worker inherits (e.g. a ProcessQueue end); worker code
  // finds them with pz::inherited_fd(index). Nothing else is inherited.
  std::vector<int> inherited_fds;

  // ---- supervision (docs/exec.md); every default costs nothing per task ----
  // The deadline of a task item whose RemoteFunction has none; zero: no
  // deadline. A message of n items (a map chunk, a batch) gets n times it.
  std::chrono::milliseconds task_deadline{0};
  // At a deadline the worker gets SIGTERM, then SIGKILL this much later;
  // zero: SIGKILL at once.
  std::chrono::milliseconds term_grace{0};
  // Resident memory (bytes, read from /proc/PID/statm) above which a worker
  // is replaced once its current task is done (soft) or killed at once
  // (hard; its task fails or is retried by its policy). Zero: no cap.
  std::size_t memory_soft_limit = 0;
  std::size_t memory_hard_limit = 0;
  // How often a busy worker's memory is read while a cap is set.
  std::chrono::milliseconds memory_check_interval{20};
  // An input whose workers died this many times is not run again
  // (pz::TaskQuarantined); only tasks with retries are run again at all.
  std::uint32_t quarantine_after = 2;
  // More than max_restarts unexpected worker deaths within restart_window
  // break the pool (OTP's restart intensity); 0: no limit.
  std::uint32_t max_restarts = 20;
  std::chrono::milliseconds restart_window{10'000};
  // Where restart_window's time comes from (tests pass a ManualClock); null:
  // the steady clock. Deadlines and start timeouts use the steady clock.
  const Clock* clock = nullptr;

  template <typename R, typename... Params, typename... Args>
  void set_initializer(const RemoteFunction<R(Params...)>& function, Args&&... args) {
    static_assert(sizeof...(Params) == sizeof...(Args), "initializer argument count mismatch");
    initializer = function.name;
    WireWriter writer;
    wire_encode(writer, std::tuple<std::decay_t<Params>...>(std::forward<Args>(args)...));
    initializer_arguments = writer.take();
  }
};

namespace detail {

// One message's worth of work for a worker.
struct ProcessJob {
  std::string name;
  std::uint32_t count = 0;
  std::string items;  // count x (u32 size, encoded argument tuple)
  TaskPolicy policy;
  // The causes of the worker deaths this job has been through, oldest first.
  std::vector<std::string> failures;
  // Called exactly once, on the manager thread: with a reader at the first of
  // `count` results, or with an error that fails the whole job.
  UniqueFunction<void(WireReader* results, std::exception_ptr error)> done;
};

template <typename... Params, typename... Args>
void append_item(WireWriter& items, Args&&... args) {
  // Length-prefixed, the length written once the item is encoded in place.
  const std::size_t length_at = items.size();
  items.put_u32(0);
  wire_encode_as_tuple<std::decay_t<Params>...>(items, args...);
  items.put_size_at(length_at, items.size() - length_at - 4);
}

// One item's outcome as read from a kResults message.
template <typename R>
struct ResultItem {
  using Stored = std::conditional_t<std::is_void_v<R>, std::monostate, std::decay_t<R>>;
  std::optional<Stored> value;
  std::exception_ptr error;
  bool corrupt = false;  // the message could not be decoded: later items are unreadable
};

template <typename R>
ResultItem<R> read_result(WireReader& results) {
  ResultItem<R> item;
  try {
    if (results.get_u8() == 0) {
      item.error = std::make_exception_ptr(RemoteTaskError(wire_decode<std::string>(results)));
    } else if constexpr (std::is_void_v<R>) {
      results.expect_tag(wire_tag::kNone, "a void result");
      item.value.emplace();
    } else {
      item.value.emplace(wire_decode<std::decay_t<R>>(results));
    }
  } catch (const WireError&) {
    item.error = std::current_exception();
    item.corrupt = true;
  }
  return item;
}

template <typename R>
void complete_from_result(FutureState<R>& state, WireReader& results) {
  auto item = read_result<R>(results);
  if (item.error) {
    state.complete_error(std::move(item.error));
  } else if constexpr (std::is_void_v<R>) {
    state.complete_value();
  } else {
    state.complete_value(std::move(*item.value));
  }
}

}  // namespace detail

class ProcessPool {
 public:
  struct Counters {
    std::uint64_t tasks_completed = 0;  // items whose result (or error) came back
    std::uint64_t workers_started = 0;  // including replacements
    std::uint64_t workers_died = 0;     // unexpectedly (not retired or shut down)
    std::uint64_t retried = 0;          // messages run again after their worker died
    std::uint64_t timed_out = 0;        // messages whose worker was killed at their deadline
    std::uint64_t over_memory = 0;      // workers replaced (soft) or killed (hard) over a cap
    std::uint64_t quarantined = 0;      // messages failed as having killed too many workers
  };
  using Stats = Counters;

  explicit ProcessPool(std::size_t workers = 0);
  explicit ProcessPool(ProcessPoolOptions options);
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;
  ~ProcessPool();

  template <typename R, typename... Params, typename... Args>
  Future<R> submit(const RemoteFunction<R(Params...)>& function, Args&&... args) {
    static_assert(sizeof...(Params) == sizeof...(Args), "task argument count mismatch");
    detail::ProcessJob job;
    job.name = function.name;
    job.policy = function.policy;
    job.count = 1;
    WireWriter items;
    detail::append_item<Params...>(items, std::forward<Args>(args)...);
    job.items = items.take();
    auto state = std::make_shared<detail::FutureState<R>>();
    Future<R> future(state);
    job.done = [state](WireReader* results, std::exception_ptr error) {
      if (error) {
        state->complete_error(std::move(error));
      } else {
        detail::complete_from_result(*state, *results);
      }
    };
    enqueue(std::move(job));
    return future;
  }

  // The same as submit, named for coroutines: `co_await pool.run(task, args...)`.
  template <typename R, typename... Params, typename... Args>
  Future<R> run(const RemoteFunction<R(Params...)>& function, Args&&... args) {
    return submit(function, std::forward<Args>(args)...);
  }

  // Many items in ONE message to one worker, which runs them in order and
  // answers them in one message: a server that gathers small requests pays
  // one round trip per batch instead of per request. Unlike map, each item
  // keeps its own outcome: the future holds one completed future per input, in
  // input order, with that item's value or error. It fails as a whole only
  // when the message does (its worker died, the pool broke or shut down).
  // An empty range gives an empty vector at once.
  template <typename R, typename Param, typename Range>
  Future<std::vector<Future<R>>> submit_batch(const RemoteFunction<R(Param)>& function,
                                              Range&& inputs);

  // All results in input order, computed in chunks of `chunksize` items per
  // message (0: ceil(len / (4 * workers)), as Python). The future fails with the
  // error of the first failed item in input order.
  template <typename R, typename Param, typename Range>
  Future<std::vector<R>> map_async(const RemoteFunction<R(Param)>& function, Range&& inputs,
                                   std::size_t chunksize = 0);

  template <typename R, typename Param, typename Range>
  std::vector<R> map(const RemoteFunction<R(Param)>& function, Range&& inputs,
                     std::size_t chunksize = 0) {
    return map_async(function, std::forward<Range>(inputs), chunksize).result();
  }
  // pool.map(task, {1, 2, 3}) and map_async with a braced list, which cannot
  // bind to `Range&&` (it has no type of its own).
  template <typename R, typename Param, typename T>
  Future<std::vector<R>> map_async(const RemoteFunction<R(Param)>& function,
                                   std::initializer_list<T> inputs, std::size_t chunksize = 0) {
    return map_async(function, std::vector<T>(inputs), chunksize);
  }
  template <typename R, typename Param, typename T>
  std::vector<R> map(const RemoteFunction<R(Param)>& function, std::initializer_list<T> inputs,
                     std::size_t chunksize = 0) {
    return map_async(function, std::vector<T>(inputs), chunksize).result();
  }

  // Results in completion order, pulled one by one with next(); at most
  // `max_in_flight` items are submitted ahead (0: 2 * workers), and inputs are
  // read from the range only as slots free up, so an endless range works.
  // An lvalue range is referenced (it must outlive the result), an rvalue one
  // is moved into it. Any type with begin()/end() works, including endless
  // ranges whose end() is a sentinel.
  template <typename R, typename Param, typename Range>
  class ImapUnordered;

  template <typename R, typename Param, typename Range>
  ImapUnordered<R, Param, Range> imap_unordered(const RemoteFunction<R(Param)>& function,
                                                Range&& inputs, std::size_t max_in_flight = 0) {
    return ImapUnordered<R, Param, Range>(*this, function, std::forward<Range>(inputs),
                                          max_in_flight == 0 ? 2 * worker_count() : max_in_flight);
  }

  // Results in input order, pulled one by one with next(), as
  // multiprocessing.Pool.imap. At most `max_in_flight` items (0: 2 * workers)
  // are submitted and not yet returned by next(), counting those that finished
  // but wait for an earlier item: a slow early item holds back the input
  // instead of letting later results pile up. Inputs are read from the range
  // only as results are taken, so an endless range works. Ranges are taken as
  // imap_unordered takes them.
  template <typename R, typename Param, typename Range>
  class Imap;

  template <typename R, typename Param, typename Range>
  Imap<R, Param, Range> imap(const RemoteFunction<R(Param)>& function, Range&& inputs,
                             std::size_t max_in_flight = 0) {
    return Imap<R, Param, Range>(*this, function, std::forward<Range>(inputs),
                                 max_in_flight == 0 ? 2 * worker_count() : max_in_flight);
  }

  void shutdown(bool wait = true, bool cancel_pending = false);

  [[nodiscard]] std::size_t worker_count() const noexcept;
  // The pids of the live workers (for tests and monitoring).
  [[nodiscard]] std::vector<pid_t> worker_pids() const;
  [[nodiscard]] Counters counters() const;
  // The same counters, under the name the supervision docs use.
  [[nodiscard]] Stats stats() const { return counters(); }

 private:
  struct Impl;
  void enqueue(detail::ProcessJob job);
  std::unique_ptr<Impl> impl_;
};

template <typename R, typename Param, typename Range>
Future<std::vector<R>> ProcessPool::map_async(const RemoteFunction<R(Param)>& function,
                                              Range&& inputs, std::size_t chunksize) {
  static_assert(!std::is_void_v<R>, "map needs tasks that return a value");
  // Materialised like Python's Pool.map, which needs len() for the chunk size;
  // use imap_unordered for unbounded inputs.
  std::vector<std::string> encoded;
  for (auto&& input : inputs) {
    WireWriter item;
    wire_encode(item, std::tuple<std::decay_t<Param>>(input));
    encoded.push_back(item.take());
  }
  const std::size_t count = encoded.size();
  if (chunksize == 0) {
    const std::size_t parts = 4 * worker_count();
    chunksize = std::max<std::size_t>(1, (count + parts - 1) / parts);
  }
  // Shared by the chunk callbacks, which all run on the manager thread, so
  // no synchronisation is needed among them.
  struct Gather {
    std::vector<std::optional<R>> values;
    std::size_t chunks_left = 0;
    std::size_t first_error_index = static_cast<std::size_t>(-1);
    std::exception_ptr first_error;
    std::shared_ptr<detail::FutureState<std::vector<R>>> output;
    void fail(std::size_t index, std::exception_ptr error) {
      if (index < first_error_index) {
        first_error_index = index;
        first_error = std::move(error);
      }
    }
    void chunk_done() {
      if (--chunks_left != 0) {
        return;
      }
      if (first_error) {
        output->complete_error(std::move(first_error));
        return;
      }
      std::vector<R> results;
      results.reserve(values.size());
      for (auto& value : values) {
        results.push_back(std::move(*value));
      }
      output->complete_value(std::move(results));
    }
  };
  auto gather = std::make_shared<Gather>();
  gather->values.resize(count);
  gather->output = std::make_shared<detail::FutureState<std::vector<R>>>();
  Future<std::vector<R>> future(gather->output);
  if (count == 0) {
    gather->output->complete_value();
    return future;
  }
  gather->chunks_left = (count + chunksize - 1) / chunksize;
  for (std::size_t begin = 0; begin < count; begin += chunksize) {
    const std::size_t end = std::min(count, begin + chunksize);
    detail::ProcessJob job;
    job.name = function.name;
    job.policy = function.policy;
    job.count = static_cast<std::uint32_t>(end - begin);
    WireWriter items;
    for (std::size_t i = begin; i < end; ++i) {
      items.put_size(encoded[i].size());
      items.put_bytes(encoded[i]);
    }
    job.items = items.take();
    job.done = [gather, begin, end](WireReader* results, std::exception_ptr error) {
      if (error) {
        gather->fail(begin, std::move(error));
      } else {
        for (std::size_t i = begin; i < end; ++i) {
          auto item = detail::read_result<R>(*results);
          if (item.error) {
            gather->fail(i, std::move(item.error));
            if (item.corrupt) {
              break;
            }
          } else {
            gather->values[i] = std::move(item.value);
          }
        }
      }
      gather->chunk_done();
    };
    enqueue(std::move(job));
  }
  return future;
}

template <typename R, typename Param, typename Range>
Future<std::vector<Future<R>>> ProcessPool::submit_batch(const RemoteFunction<R(Param)>& function,
                                                         Range&& inputs) {
  detail::ProcessJob job;
  job.name = function.name;
  job.policy = function.policy;
  WireWriter items;
  std::size_t count = 0;
  for (auto&& input : inputs) {
    detail::append_item<Param>(items, std::forward<decltype(input)>(input));
    ++count;
  }
  auto output = std::make_shared<detail::FutureState<std::vector<Future<R>>>>();
  Future<std::vector<Future<R>>> future(output);
  if (count == 0) {
    output->complete_value();
    return future;
  }
  job.count = static_cast<std::uint32_t>(count);
  job.items = items.take();
  job.done = [output, count](WireReader* results, std::exception_ptr error) {
    if (error) {
      output->complete_error(std::move(error));
      return;
    }
    std::vector<Future<R>> outcomes;
    outcomes.reserve(count);
    std::exception_ptr unreadable;
    for (std::size_t i = 0; i < count; ++i) {
      auto state = std::make_shared<detail::FutureState<R>>();
      if (unreadable) {
        // A corrupt message: the items after the bad one cannot be found.
        state->complete_error(unreadable);
      } else {
        auto item = detail::read_result<R>(*results);
        if (item.corrupt) {
          unreadable = item.error;
        }
        if (item.error) {
          state->complete_error(std::move(item.error));
        } else if constexpr (std::is_void_v<R>) {
          state->complete_value();
        } else {
          state->complete_value(std::move(*item.value));
        }
      }
      outcomes.emplace_back(std::move(state));
    }
    output->complete_value(std::move(outcomes));
  };
  enqueue(std::move(job));
  return future;
}

template <typename R, typename Param, typename Range>
class ProcessPool::ImapUnordered {
  // A reference for an lvalue range, the range itself for an rvalue.
  using Stored =
      std::conditional_t<std::is_lvalue_reference_v<Range>, Range, std::remove_cvref_t<Range>>;

 public:
  ImapUnordered(ProcessPool& pool, RemoteFunction<R(Param)> function, Range&& inputs,
                std::size_t max_in_flight)
      : pool_(&pool),
        function_(std::move(function)),
        inputs_(std::forward<Range>(inputs)),
        next_input_(std::begin(inputs_)),
        max_in_flight_(max_in_flight),
        // Never more outcomes than tasks in flight, so a completion never
        // blocks the manager thread.
        outcomes_(std::make_shared<BlockingQueue<Outcome>>(max_in_flight)) {}
  ImapUnordered(ImapUnordered&&) = delete;  // the iterator points into inputs_

  // The next result to finish, std::nullopt when the input is exhausted and
  // all results were returned. A failed item rethrows its error here; calling
  // next() again continues with the remaining items.
  std::optional<R> next() {
    while (in_flight_ < max_in_flight_ && next_input_ != std::end(inputs_)) {
      detail::ProcessJob job;
      job.name = function_.name;
      job.policy = function_.policy;
      job.count = 1;
      WireWriter items;
      detail::append_item<Param>(items, *next_input_);
      job.items = items.take();
      job.done = [outcomes = outcomes_](WireReader* results, std::exception_ptr error) {
        Outcome outcome;
        if (error) {
          outcome.error = std::move(error);
        } else {
          auto item = detail::read_result<R>(*results);
          outcome.error = std::move(item.error);
          outcome.value = std::move(item.value);
        }
        outcomes->push(std::move(outcome));
      };
      pool_->enqueue(std::move(job));
      ++next_input_;
      ++in_flight_;
    }
    if (in_flight_ == 0) {
      return std::nullopt;
    }
    Outcome outcome = *outcomes_->pop();
    --in_flight_;
    if (outcome.error) {
      std::rethrow_exception(outcome.error);
    }
    return std::move(outcome.value);
  }

  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }

  // `for (R result : pool.imap_unordered(...))`: next() until it ends; a
  // failed item throws out of the loop (detail/next_iterator.hpp).
  detail::NextIterator<ImapUnordered, R> begin() {
    return detail::NextIterator<ImapUnordered, R>(*this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  struct Outcome {
    std::optional<R> value;
    std::exception_ptr error;
  };

  ProcessPool* pool_;
  RemoteFunction<R(Param)> function_;
  Stored inputs_;
  decltype(std::begin(std::declval<Stored&>())) next_input_;
  std::size_t max_in_flight_;
  std::size_t in_flight_ = 0;
  std::shared_ptr<BlockingQueue<Outcome>> outcomes_;
};

template <typename R, typename Param, typename Range>
class ProcessPool::Imap {
  static_assert(!std::is_void_v<R>, "imap needs tasks that return a value");
  // A reference for an lvalue range, the range itself for an rvalue.
  using Stored =
      std::conditional_t<std::is_lvalue_reference_v<Range>, Range, std::remove_cvref_t<Range>>;

 public:
  Imap(ProcessPool& pool, RemoteFunction<R(Param)> function, Range&& inputs,
       std::size_t max_in_flight)
      : pool_(&pool),
        function_(std::move(function)),
        inputs_(std::forward<Range>(inputs)),
        next_input_(std::begin(inputs_)),
        max_in_flight_(max_in_flight) {}
  Imap(Imap&&) = delete;  // the iterator points into inputs_

  // The result of the next item in input order, waiting for it; std::nullopt
  // when the input is exhausted and all results were returned. A failed item
  // (pz::RemoteTaskError when its task threw, pz::WorkerDied when its worker
  // died) rethrows its error here, at its turn, as next() on Python's imap
  // iterator raises it; calling next() again continues with the item after
  // it, as Python's iterator does and as ImapUnordered::next does.
  std::optional<R> next() {
    // Refilled before waiting, not while: only handing a result out frees a
    // slot, so the items held here never exceed the bound however the
    // completions are ordered.
    while (pending_.size() < max_in_flight_ && next_input_ != std::end(inputs_)) {
      pending_.push_back(pool_->submit(function_, *next_input_));
      ++next_input_;
    }
    if (pending_.empty()) {
      return std::nullopt;
    }
    // Out of the queue before waiting, so an item that throws is consumed
    // and the next call moves on to the one after it.
    Future<R> oldest = std::move(pending_.front());
    pending_.pop_front();
    return std::move(oldest).result();
  }

  // Items submitted and not yet returned by next(), running or finished.
  [[nodiscard]] std::size_t in_flight() const noexcept { return pending_.size(); }

  // `for (R result : pool.imap(...))`, as Python's `for r in pool.imap(...)`:
  // next() until it ends; a failed item throws out of the loop
  // (detail/next_iterator.hpp).
  detail::NextIterator<Imap, R> begin() { return detail::NextIterator<Imap, R>(*this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  ProcessPool* pool_;
  RemoteFunction<R(Param)> function_;
  Stored inputs_;
  decltype(std::begin(std::declval<Stored&>())) next_input_;
  std::size_t max_in_flight_;
  // In input order: the front is the next result to hand out.
  std::deque<Future<R>> pending_;
};

}  // namespace pz
