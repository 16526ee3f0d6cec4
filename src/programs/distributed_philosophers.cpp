#include "pizzeria/programs/distributed_philosophers.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/sleep.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_lock.hpp"

namespace pz::programs {

namespace {

using namespace std::chrono_literals;
using Arguments = std::vector<std::string>;

// Waiting for a fork has no time limit: a deadlock must be able to last.
constexpr Duration kForever = Duration::max();
// How often the observer looks at the table. Each look is one script in
// Redis, far cheaper than the philosophers' own traffic.
constexpr auto kLookEvery = 5ms;
// How often a philosopher looks at a gate or the rendezvous count.
constexpr auto kGatePoll = 2ms;

std::string philosopher_name(std::size_t p) {
  return "P" + std::to_string(p + 1);
}
std::string fork_name(std::size_t r) {
  return "R" + std::to_string(r + 1);
}

// Every key of one dinner, under a prefix of its own, so that dinners on one
// Redis never meet and the observer can delete all of them at the end.
struct Keys {
  std::string prefix;
  std::size_t count = 0;

  [[nodiscard]] std::string fork(std::size_t r) const { return prefix + ":" + fork_name(r); }
  [[nodiscard]] std::string wait(std::size_t p) const {
    return prefix + ":wait:" + philosopher_name(p);
  }
  [[nodiscard]] std::string plate(std::size_t r) const { return prefix + ":plate:" + fork_name(r); }
  [[nodiscard]] std::string stats() const { return prefix + ":stats"; }
  [[nodiscard]] std::string gate() const { return prefix + ":gate"; }
  [[nodiscard]] std::string first_gate() const { return prefix + ":gate:P1"; }
  [[nodiscard]] std::string settled() const { return prefix + ":settled"; }
  [[nodiscard]] std::string stall() const { return prefix + ":stall"; }

  [[nodiscard]] Arguments all() const {
    Arguments keys{stats(), gate(), first_gate(), settled(), stall()};
    for (std::size_t i = 0; i < count; ++i) {
      keys.push_back(fork(i));
      keys.push_back(fork(i) + ":fence");
      keys.push_back(wait(i));
      keys.push_back(plate(i));
    }
    return keys;
  }
};

std::string fresh_prefix() {
  std::uint32_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    random = static_cast<std::uint32_t>(::getpid());
  }
  return "pizzeria:dinner:" + std::to_string(::getpid()) + "-" + std::to_string(random);
}

// A philosopher's wait, with Redis's clock for "since": every process's
// waits are then on one clock, whatever the machines' clocks say.
const char* const kPublishWait = R"lua(
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'holds', ARGV[1], 'waits_for', ARGV[2],
           'since_ms', t[1] .. string.format('%03d', math.floor(t[2] / 1000)))
return 1
)lua";

// One instant of the whole table. KEYS: the n wait hashes, then the n
// forks. Returns Redis's time in ms, then holds, waits_for and since_ms of
// each philosopher ('' when it does not wait), then each fork's value ('':
// free).
const char* const kSnapshot = R"lua(
local n = #KEYS / 2
local t = redis.call('TIME')
local out = {t[1] .. string.format('%03d', math.floor(t[2] / 1000))}
for i = 1, n do
  local w = redis.call('HMGET', KEYS[i], 'holds', 'waits_for', 'since_ms')
  out[#out + 1] = w[1] or ''
  out[#out + 1] = w[2] or ''
  out[#out + 1] = w[3] or ''
end
for i = 1, n do out[#out + 1] = redis.call('GET', KEYS[n + i]) or '' end
return out
)lua";

// The plate: the resource the forks protect. A meal writes to both forks'
// plates with their fencing tokens, checked and written in one script. A
// token older than one a plate has seen is a stale write from a holder
// whose lease has passed. KEYS: the two plates, the stats. ARGV: the two
// tokens, '1' to refuse stale writes, the writer. Returns 1: written,
// 2: written although stale, 0: refused.
const char* const kEat = R"lua(
local stale = false
for i = 1, 2 do
  local seen = tonumber(redis.call('HGET', KEYS[i], 'max_fence') or '0')
  if tonumber(ARGV[i]) < seen then stale = true end
end
if stale and ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[3], 'stale_refused', 1)
  return 0
end
for i = 1, 2 do
  local seen = tonumber(redis.call('HGET', KEYS[i], 'max_fence') or '0')
  if tonumber(ARGV[i]) > seen then redis.call('HSET', KEYS[i], 'max_fence', ARGV[i]) end
  redis.call('HSET', KEYS[i], 'last_writer', ARGV[4])
  redis.call('HINCRBY', KEYS[i], 'writes', 1)
end
if stale then
  redis.call('HINCRBY', KEYS[3], 'stale_accepted', 1)
  redis.call('HINCRBY', KEYS[3], 'meals', 1)
  return 2
end
redis.call('HINCRBY', KEYS[3], 'meals', 1)
return 1
)lua";

// The dinner's counts, in one reply.
const char* const kCounts =
    "return redis.call('HMGET', KEYS[1], 'meals', 'stale_accepted', 'stale_refused', "
    "'forks_lost')";

Arguments script(const char* body, const Arguments& keys, const Arguments& arguments) {
  Arguments words{"EVAL", body, std::to_string(keys.size())};
  words.insert(words.end(), keys.begin(), keys.end());
  words.insert(words.end(), arguments.begin(), arguments.end());
  return words;
}

// A command's words. Taken by reference: GCC 12 fails on a string literal
// copied into a temporary inside a co_await ("array used as initializer").
template <class... Words>
Arguments words(const Words&... each) {
  return Arguments{std::string(each)...};
}

std::uint64_t to_number(const std::string& text) {
  std::uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// A command whose error reply is a failure of the dinner (RedisError
// naming the command).
Task<RedisReply> ask(RedisConnection& redis, Arguments command) {
  const std::string name = command.front();
  RedisReply reply = co_await redis.command(std::move(command));
  co_return std::move(reply).or_throw(name);
}

Task<RedisConnection> connect(const DistributedPhilosophers::Options& options) {
  RedisCredentials credentials = options.credentials;  // named: see RedisConnection::open
  co_return co_await RedisConnection::open(options.host, options.port, credentials);
}

Task<void> wait_for_key(RedisConnection& redis, std::string key) {
  while (true) {
    Arguments exists = words("EXISTS", key);
    const RedisReply found = co_await ask(redis, std::move(exists));
    if (found.integer != 0) {
      break;
    }
    co_await sleep(kGatePoll);
  }
}

Task<void> publish_wait(RedisConnection& redis, const std::string& key, std::string holds,
                        std::string waits_for) {
  Arguments keys{key};
  Arguments arguments{std::move(holds), std::move(waits_for)};
  (void)(co_await ask(redis, script(kPublishWait, keys, arguments)));
}

// One philosopher, in a process of its own. Returns its exit status.
Task<int> philosopher(const DistributedPhilosophers::Options& options, const Keys& keys,
                      std::size_t me) {
  using Strategy = DistributedPhilosophers::Strategy;
  RedisConnection redis = co_await connect(options);
  const std::size_t count = options.processes;
  const std::size_t own = me;
  const std::size_t next = (me + 1) % count;
  RedisLock::Options lock_options;
  lock_options.lease = options.lease;
  lock_options.owner = philosopher_name(me);
  lock_options.max_backoff = 20ms;
  RedisLock own_fork(redis, keys.fork(own), lock_options);
  RedisLock next_fork(redis, keys.fork(next), lock_options);
  const std::array<RedisLock*, 2> both{&own_fork, &next_fork};
  const bool victim = options.stall && me == 0;
  const std::string wait_key = keys.wait(me);
  const std::string stats = keys.stats();

  std::string gate = victim ? keys.first_gate() : keys.gate();
  co_await wait_for_key(redis, std::move(gate));
  bool settled = false;  // counted at the forced first meal's rendezvous
  bool stalled = false;
  const auto settle = [&]() -> Task<void> {
    if (!settled) {
      settled = true;
      (void)(co_await ask(redis, words("INCR", keys.settled())));
    }
  };
  // Everyone holds a first fork or waits for one before anyone reaches
  // for a second: the interleaving that deadlocks.
  const auto rendezvous = [&]() -> Task<void> {
    co_await settle();
    while (true) {
      Arguments get = words("GET", keys.settled());
      const RedisReply arrived = co_await redis.command(std::move(get));
      if (to_number(arrived.text) >= count) {
        break;
      }
      co_await sleep(kGatePoll);
    }
  };
  std::uint64_t eaten = 0;
  while (eaten < options.meals) {
    const bool force = options.force_first_meal && eaten == 0;
    if (options.strategy == Strategy::both_at_once) {
      if (!co_await RedisLock::try_acquire_all(both)) {
        if (force) {
          co_await settle();  // blocked counts as settled, as in ResourceTable
        }
        std::string nothing;
        std::string wanted = fork_name(own) + "," + fork_name(next);
        co_await publish_wait(redis, wait_key, std::move(nothing), std::move(wanted));
        (void)co_await RedisLock::acquire_all(both, kForever);
        (void)co_await redis.command(words("DEL", wait_key));
      }
      if (force) {
        co_await rendezvous();  // holding both, so that the others must wait
      }
    } else {
      const std::size_t first = options.strategy == Strategy::ordered ? std::min(own, next) : own;
      const std::size_t second = first == own ? next : own;
      RedisLock& first_fork = first == own ? own_fork : next_fork;
      RedisLock& second_fork = first == own ? next_fork : own_fork;
      if (!co_await first_fork.try_acquire()) {
        if (force) {
          co_await settle();
        }
        std::string nothing;
        std::string wanted = fork_name(first);
        co_await publish_wait(redis, wait_key, std::move(nothing), std::move(wanted));
        (void)co_await first_fork.acquire(kForever);
      }
      if (force) {
        co_await rendezvous();
      }
      std::string holding = fork_name(first);
      std::string wanted = fork_name(second);
      co_await publish_wait(redis, wait_key, std::move(holding), std::move(wanted));
      (void)co_await second_fork.acquire(kForever);
      (void)co_await redis.command(words("DEL", wait_key));
    }
    if (options.lease.count() > 0) {
      // A lease may have run out while this philosopher waited: Redis says.
      const bool own_kept = co_await own_fork.renew();
      const bool next_kept = co_await next_fork.renew();
      if (!own_kept || !next_kept) {
        (void)co_await redis.command(words("HINCRBY", stats, "forks_lost", "1"));
        (void)co_await own_fork.release();
        (void)co_await next_fork.release();
        continue;
      }
    }
    if (victim && !stalled) {
      // Redis has just said (renew) that it holds both forks. Now it stops,
      // as a process does in a long pause, between the check and the write.
      stalled = true;
      (void)(co_await ask(redis, words("SET", keys.stall(),
                                       std::to_string(own_fork.fencing_token()) + " " +
                                           std::to_string(next_fork.fencing_token()))));
      ::raise(SIGSTOP);
    }
    Arguments plates{keys.plate(own), keys.plate(next), stats};
    Arguments tokens{std::to_string(own_fork.fencing_token()),
                     std::to_string(next_fork.fencing_token()),
                     options.fencing ? std::string("1") : std::string("0"), philosopher_name(me)};
    const RedisReply ate = (co_await ask(redis, script(kEat, plates, tokens)));
    (void)co_await own_fork.release();
    (void)co_await next_fork.release();
    if (ate.integer != 0) {
      ++eaten;  // refused: its forks were not its own any more; try again
    }
  }
  co_return 0;
}

[[noreturn]] void run_philosopher_process(const DistributedPhilosophers::Options& options,
                                          const Keys& keys, std::size_t me, pid_t parent) {
  // A philosopher never outlives the dinner's observer.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(1);
  }
  int status = 1;
  try {
    status = pz::run(philosopher(options, keys, me));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pizzeria: philosopher %s: %s\n", philosopher_name(me).c_str(),
                 error.what());
  }
  std::fflush(stderr);
  ::_exit(status);  // not exit(): the parent's atexit handlers are not ours
}

struct Child {
  pid_t pid = -1;
  bool exited = false;
  bool stopped = false;
  int status = 0;
};

// Reaps what has changed; throws for a philosopher that failed.
void reap(std::vector<Child>& children, bool watch_stops) {
  for (std::size_t i = 0; i < children.size(); ++i) {
    Child& child = children[i];
    if (child.exited) {
      continue;
    }
    int status = 0;
    const pid_t got = ::waitpid(child.pid, &status, WNOHANG | (watch_stops ? WUNTRACED : 0));
    if (got != child.pid) {
      continue;
    }
    if (WIFSTOPPED(status)) {
      child.stopped = true;
      continue;
    }
    child.exited = true;
    child.status = status;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("philosopher " + philosopher_name(i) + " failed (" +
                               (WIFEXITED(status)
                                    ? "exit status " + std::to_string(WEXITSTATUS(status))
                                    : "killed by signal " + std::to_string(WTERMSIG(status))) +
                               ")");
    }
  }
}

void stop_all(std::vector<Child>& children) {
  for (Child& child : children) {
    if (!child.exited && child.pid > 0) {
      ::kill(child.pid, SIGKILL);
      ::kill(child.pid, SIGCONT);  // a stopped process dies only once continued
      int status = 0;
      ::waitpid(child.pid, &status, 0);
      child.exited = true;
      child.status = status;
    }
  }
}

struct Snapshot {
  std::uint64_t now_ms = 0;
  std::vector<std::vector<std::size_t>> waits_for;  // per philosopher
  std::vector<std::uint64_t> since_ms;
  std::vector<std::optional<std::size_t>> owner;  // per fork: its philosopher
};

std::optional<std::size_t> index_after(const std::string& text, char letter, std::size_t count) {
  if (text.size() < 2 || text[0] != letter) {
    return std::nullopt;
  }
  const std::uint64_t number = to_number(text.substr(1));
  if (number < 1 || number > count) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(number - 1);
}

Snapshot parse_snapshot(const RedisReply& reply, std::size_t count) {
  if (reply.kind != RedisReply::Kind::array || reply.elements.size() != 1 + 4 * count) {
    throw std::runtime_error("the wait-for graph's snapshot came back as " + reply.describe());
  }
  Snapshot snapshot;
  snapshot.now_ms = to_number(reply.elements[0].text);
  for (std::size_t p = 0; p < count; ++p) {
    std::vector<std::size_t> waits;
    const std::string& list = reply.elements[1 + 3 * p + 1].text;
    std::size_t start = 0;
    while (start < list.size()) {
      const std::size_t comma = std::min(list.find(',', start), list.size());
      if (auto r = index_after(list.substr(start, comma - start), 'R', count)) {
        waits.push_back(*r);
      }
      start = comma + 1;
    }
    snapshot.waits_for.push_back(std::move(waits));
    snapshot.since_ms.push_back(to_number(reply.elements[1 + 3 * p + 2].text));
  }
  for (std::size_t r = 0; r < count; ++r) {
    snapshot.owner.push_back(
        index_after(RedisLock::owner_of(reply.elements[1 + 3 * count + r].text), 'P', count));
  }
  return snapshot;
}

// A cycle of "Pi waits for Rj, which Pk holds", starting at its
// lowest-numbered philosopher; none if there is none.
std::optional<ResourceTable::Cycle> find_cycle(const Snapshot& snapshot) {
  const std::size_t count = snapshot.waits_for.size();
  for (std::size_t start = 0; start < count; ++start) {
    ResourceTable::Cycle path;
    std::vector<bool> seen(count, false);
    std::size_t at = start;
    seen[at] = true;
    while (true) {
      std::optional<ResourceTable::Wait> step;
      for (const std::size_t r : snapshot.waits_for[at]) {
        if (snapshot.owner[r] && *snapshot.owner[r] != at) {
          step = ResourceTable::Wait{at, r};
          break;
        }
      }
      if (!step) {
        break;
      }
      path.push_back(*step);
      const std::size_t holder = *snapshot.owner[step->resource];
      if (holder == start) {
        return path;  // starts at `start`, the lowest index on it
      }
      if (seen[holder] || holder < start) {
        break;  // a cycle not through `start`: found from its own lowest member
      }
      seen[holder] = true;
      at = holder;
    }
  }
  return std::nullopt;
}

Task<DistributedPhilosophers::Result> observe(const DistributedPhilosophers::Options& options,
                                              const Keys& keys, std::vector<Child>& children) {
  DistributedPhilosophers::Result result;
  RedisConnection redis = co_await connect(options);
  const std::size_t count = options.processes;
  // Named, not temporaries in the co_await: GCC 12 copies some temporaries
  // of a co_await's full-expression bytewise, and then frees them twice.
  const std::string first_gate = options.stall ? keys.first_gate() : keys.gate();
  Arguments open_gate = words("SET", first_gate, "open");
  (void)co_await ask(redis, std::move(open_gate));
  enum class Stall { waiting_for_stop, waiting_for_takeover, over };
  Stall stall = options.stall ? Stall::waiting_for_stop : Stall::over;
  std::vector<std::uint64_t> stalled_tokens(2, 0);
  Arguments snapshot_keys;
  for (std::size_t p = 0; p < count; ++p) {
    snapshot_keys.push_back(keys.wait(p));
  }
  for (std::size_t r = 0; r < count; ++r) {
    snapshot_keys.push_back(keys.fork(r));
  }
  const Arguments no_arguments;
  const TimePoint deadline = EventLoop::current()->time() + options.time_limit;
  std::string last_cycle;
  while (true) {
    reap(children, options.stall);
    if (std::all_of(children.begin(), children.end(), [](const Child& c) { return c.exited; })) {
      result.completed = true;
      break;
    }
    if (stall == Stall::waiting_for_stop && children[0].stopped) {
      const RedisReply tokens = (co_await ask(redis, words("GET", keys.stall())));
      const std::size_t space = tokens.text.find(' ');
      stalled_tokens[0] = to_number(tokens.text.substr(0, space));
      stalled_tokens[1] = to_number(tokens.text.substr(space + 1));
      (void)(co_await ask(redis, words("SET", keys.gate(), "open")));
      stall = Stall::waiting_for_takeover;
    } else if (stall == Stall::waiting_for_takeover) {
      // P1 stays stopped until a neighbour has taken a fork over and eaten
      // with it: only then is P1's own write a late one.
      for (std::size_t i = 0; i < 2 && stall != Stall::over; ++i) {
        const std::size_t fork = i == 0 ? 0 : 1 % count;
        const RedisReply seen =
            co_await redis.command(words("HGET", keys.plate(fork), "max_fence"));
        if (to_number(seen.text) > stalled_tokens[i]) {
          result.stalled = true;
          result.stalled_fork = fork;
          result.stalled_token = stalled_tokens[i];
          result.takeover_token = to_number(seen.text);
          children[0].stopped = false;
          ::kill(children[0].pid, SIGCONT);
          stall = Stall::over;
        }
      }
    }
    Arguments look = script(kSnapshot, snapshot_keys, no_arguments);
    const RedisReply seen_table = co_await redis.command(std::move(look));
    const Snapshot snapshot = parse_snapshot(seen_table, count);
    if (auto cycle = find_cycle(snapshot)) {
      std::string signature;
      std::uint64_t oldest = snapshot.now_ms;
      for (const auto& wait : *cycle) {
        signature += std::to_string(wait.worker) + "@" +
                     std::to_string(snapshot.since_ms[wait.worker]) + " ";
        oldest = std::min(oldest, snapshot.since_ms[wait.worker]);
      }
      if (signature != last_cycle) {
        last_cycle = signature;
        ++result.circular_waits_seen;
      }
      if (!result.cycle) {
        result.cycle = std::move(cycle);
        result.cycle_age_ms = snapshot.now_ms - oldest;
      }
      if (options.lease.count() == 0) {
        // No lease, no giving up: every member holds a fork and waits
        // without end for the next one's. Nothing can break this.
        result.deadlocked = true;
        break;
      }
    }
    if (EventLoop::current()->time() >= deadline) {
      result.timed_out = true;
      break;
    }
    co_await sleep(kLookEvery);
  }
  stop_all(children);
  const Arguments stats_key(1, keys.stats());
  const RedisReply stats = (co_await ask(redis, script(kCounts, stats_key, no_arguments)));
  if (stats.kind == RedisReply::Kind::array && stats.elements.size() == 4) {
    result.meals_eaten = to_number(stats.elements[0].text);
    result.stale_accepted = to_number(stats.elements[1].text);
    result.stale_refused = to_number(stats.elements[2].text);
    result.forks_lost = to_number(stats.elements[3].text);
  }
  Arguments del{std::string("DEL")};
  const Arguments all = keys.all();
  del.insert(del.end(), all.begin(), all.end());
  (void)co_await redis.command(std::move(del));
  co_return result;
}

Task<void> delete_keys(const DistributedPhilosophers::Options& options, const Keys& keys) {
  RedisConnection redis = co_await connect(options);
  Arguments del{std::string("DEL")};
  const Arguments all = keys.all();
  del.insert(del.end(), all.begin(), all.end());
  (void)co_await redis.command(std::move(del));
}

}  // namespace

DistributedPhilosophers::DistributedPhilosophers(Options options) : options_(std::move(options)) {
  if (options_.processes < 2 || options_.processes > 64) {
    throw std::invalid_argument("philosopher processes must be 2 to 64, got " +
                                std::to_string(options_.processes));
  }
  if (options_.meals < 1) {
    throw std::invalid_argument("each philosopher needs at least one meal");
  }
  if (options_.lease.count() < 0) {
    throw std::invalid_argument("the lease cannot be negative (0: no lease)");
  }
  if (options_.stall && options_.lease.count() == 0) {
    throw std::invalid_argument(
        "a stall needs a lease: without one a stalled holder keeps its forks and nobody takes "
        "them over");
  }
  if (options_.stall && options_.force_first_meal) {
    throw std::invalid_argument(
        "a stall and a forced first meal are separate demonstrations: run them one at a time");
  }
  if (options_.time_limit.count() < 1) {
    throw std::invalid_argument("the time limit must be at least 1 ms");
  }
}

DistributedPhilosophers::Result DistributedPhilosophers::run() const {
  const Keys keys{fresh_prefix(), options_.processes};
  std::vector<Child> children(options_.processes);
  std::fflush(nullptr);  // the children must not print the parent's buffered output again
  const pid_t parent = ::getpid();
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t me = 0; me < children.size(); ++me) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      stop_all(children);
      throw std::system_error(errno, std::generic_category(), "forking a philosopher");
    }
    if (pid == 0) {
      run_philosopher_process(options_, keys, me, parent);
    }
    children[me].pid = pid;
  }
  Result result;
  try {
    result = pz::run(observe(options_, keys, children));
  } catch (...) {
    stop_all(children);
    try {
      pz::run(delete_keys(options_, keys));
    } catch (const std::exception&) {
      // Redis is gone too: nothing to clean up there.
    }
    throw;
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.meals_expected = options_.meals * options_.processes;
  result.completed = result.completed && result.meals_eaten == result.meals_expected;
  return result;
}

int DistributedPhilosophers::exit_status(const Result& result) noexcept {
  if (result.deadlocked) {
    return kExitDeadlocked;
  }
  return result.completed ? 0 : kExitUnfinished;
}

std::string DistributedPhilosophers::header() const {
  const Options& o = options_;
  std::string text = fmt::format(
      "deadlock: {} philosopher processes, {} forks as Redis locks at {}:{}, {} meals each{}\n",
      o.processes, o.processes, o.host, o.port, o.meals,
      o.force_first_meal ? ", first meal forced" : "");
  text += fmt::format("  strategy: {}\n", DiningPhilosophers::describe(o.strategy));
  if (o.lease.count() == 0) {
    text += "  lease: none (no preemption: a fork stays held until put down)\n";
  } else {
    text += fmt::format("  lease: {} ms (a fork held longer is taken over), fencing {}{}\n",
                        o.lease.count(), o.fencing ? "on" : "off",
                        o.stall ? ", P1 stalls past its lease" : "");
  }
  return text;
}

std::string DistributedPhilosophers::report(const Result& r) const {
  const bool leased = options_.lease.count() > 0;
  std::string text;
  if (r.cycle) {
    text += fmt::format("  {}, seen from outside in Redis's wait-for graph: {}\n",
                        r.deadlocked ? "deadlock" : "first circular wait",
                        ResourceTable::notation(*r.cycle));
    text += "    mutual exclusion: each fork is a Redis lock with one holder\n";
    text += fmt::format(
        "    hold and wait:    each of the {} holds one fork and waits for another (the longest "
        "for {} ms)\n",
        r.cycle->size(), r.cycle_age_ms);
    text += leased ? "    no preemption:    broken by the leases: a fork held too long is lost\n"
                   : "    no preemption:    the locks have no lease; no one takes a fork away\n";
    text += "    circular wait:    the chain above closes on itself\n";
    if (r.deadlocked) {
      text += "    the philosophers were stopped: nothing else would ever end this wait\n";
    }
  }
  if (leased) {
    text += fmt::format(
        "  circular waits seen: {}, each broken by a lease running out; forks lost to an "
        "expired lease: {}\n",
        r.circular_waits_seen, r.forks_lost);
  }
  if (r.stalled) {
    text += fmt::format(
        "  stall: P1 stopped (SIGSTOP) holding its forks past its lease; R{} was taken over "
        "(token {} after P1's {}); P1 continued (SIGCONT) and wrote late\n",
        r.stalled_fork + 1, r.takeover_token, r.stalled_token);
  }
  if (options_.stall || options_.fencing) {
    text += fmt::format("  plate: stale writes accepted: {}, refused by fencing: {}\n",
                        r.stale_accepted, r.stale_refused);
  }
  text += fmt::format("  meals eaten: {} of {}, {:.3f} s ({:.0f} meals/s){}\n", r.meals_eaten,
                      r.meals_expected, r.seconds, r.meals_per_second(),
                      r.timed_out ? ", stopped at the time limit" : "");
  return text;
}

}  // namespace pz::programs
