// pz_kitchen_audit: the kitchen's promises checked under faults, as Jepsen's
// total-queue checker checks a queue (docs/kitchen.md, "The fault audit").
//
//   build/release/tests/pz_kitchen_audit --seed 7 --seconds 60 --json audit.json
//
// It starts a redis-server (appendonly, appendfsync always) in a temporary
// directory on a free loopback port, two `pizzeria serve --kitchen` front
// ends and two `pizzeria kitchen`s, and customers that place traceable
// orders: order k is k pizzas, each k once. Meanwhile a fault schedule
// drawn from the seed kills and restarts each process (Redis on its own
// files), and pauses them (SIGSTOP) for less and for more than their
// timeouts. Then the faults stop, everything is restarted, the kitchens
// empty the stream, and the history is checked:
// - lost: thanked, and never on the stream (Redis's append-only file, which
//   records every entry ever added, is the history of the stream);
// - wrong answers: told "closed", and on the stream;
// - never baked: on the stream, neither baked nor dead-lettered;
// - undetected duplicates: baked more than once without a duplicate line;
// - pending: on the stream, or pending in the group, at the end.
// Any of them non-zero fails the run (exit status 1). Detected duplicates
// and "may have gone through" answers are counted, not failures: those are
// the promises as they stand (at least once, and a distinct reply when the
// server cannot know).
//
// A harness, not a `pizzeria` command: it needs what only tests have (a
// redis-server to start and kill, the built `pizzeria` to run), and its
// users are the project's CI and whoever changes the kitchen.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/coro/run.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "support/child_process.hpp"
#include "support/pizzeria_binary.hpp"
#include "support/redis_server.hpp"
#include "support/round_trip.hpp"

namespace pz::audit {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kStream = "pizzeria:orders";

// One pizzeria process across its restarts: its output, every line of
// every life, is read by a thread (so its pipe never fills) and kept.
class Component {
 public:
  Component(std::string name, std::vector<std::string> argv, bool serves)
      : name_(std::move(name)), argv_(std::move(argv)), serves_(serves) {}
  Component(const Component&) = delete;
  Component& operator=(const Component&) = delete;
  ~Component() { stop(SIGKILL); }

  void start() {
    stop(SIGKILL);
    process_ = std::make_unique<test::ChildProcess>(argv_);
    if (serves_) {
      // "Starting up at: 127.0.0.1:PORT" first.
      const std::string first = process_->read_line();
      keep(first);
      const auto colon = first.rfind(':');
      if (first.rfind("Starting up at: ", 0) != 0 || colon == std::string::npos) {
        throw std::runtime_error(name_ + " did not start: " + first);
      }
      port_.store(static_cast<std::uint16_t>(std::stoi(first.substr(colon + 1))));
    }
    done_.store(false);
    reader_ = std::thread([this] {
      for (;;) {
        std::string line = process_->read_line(200ms);
        if (!line.empty()) {
          keep(std::move(line));
        } else if (done_.load()) {
          return;
        }
      }
    });
    running_ = true;
  }

  // Sends `signal` (SIGKILL: killed; SIGINT: closed), waits for the exit,
  // and reads what is left of its output.
  void stop(int signal) {
    if (!running_) {
      return;
    }
    process_->signal(SIGCONT);  // a paused process cannot close
    process_->signal(signal);
    process_->wait();
    done_.store(true);
    reader_.join();
    process_.reset();
    port_.store(0);
    running_ = false;
  }

  void pause() const {
    if (running_) {
      process_->signal(SIGSTOP);
    }
  }
  void resume() const {
    if (running_) {
      process_->signal(SIGCONT);
    }
  }

  [[nodiscard]] std::uint16_t port() const { return port_.load(); }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] std::vector<std::string> lines() {
    const std::lock_guard guard(mutex_);
    return lines_;
  }

 private:
  void keep(std::string line) {
    const std::lock_guard guard(mutex_);
    lines_.push_back(std::move(line));
  }

  std::string name_;
  std::vector<std::string> argv_;
  bool serves_;
  bool running_ = false;
  std::unique_ptr<test::ChildProcess> process_;
  std::thread reader_;
  std::atomic<bool> done_{false};
  std::atomic<std::uint16_t> port_{0};
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

// What a customer heard for one order.
enum class Answer { thanked, closed, unsure, unsent, unanswered, other };

const char* answer_name(Answer answer) {
  switch (answer) {
    case Answer::thanked:
      return "thanked";
    case Answer::closed:
      return "closed";
    case Answer::unsure:
      return "may have gone through";
    case Answer::unsent:
      return "not sent (front end down)";
    case Answer::unanswered:
      return "no answer (front end died)";
    default:
      return "other";
  }
}

Answer classify(int pizzas, const std::string& reply) {
  if (reply == "Thank you for ordering " + std::to_string(pizzas) + " pizzas!\n") {
    return Answer::thanked;
  }
  if (reply == "Sorry, the kitchen is closed, please try again later\n") {
    return Answer::closed;
  }
  if (reply == "Sorry, the kitchen did not answer in time: your order may have gone through\n") {
    return Answer::unsure;
  }
  return reply.empty() ? Answer::unanswered : Answer::other;
}

// The RESP commands of a Redis append-only file, as far as they are whole
// (a crash may cut the last one short).
std::vector<std::vector<std::string>> aof_commands(const std::string& bytes) {
  std::vector<std::vector<std::string>> commands;
  std::size_t at = 0;
  const auto number = [&](char prefix) -> std::optional<long> {
    if (at >= bytes.size() || bytes[at] != prefix) {
      return std::nullopt;
    }
    const std::size_t end = bytes.find("\r\n", at);
    if (end == std::string::npos) {
      return std::nullopt;
    }
    const long value = std::stol(bytes.substr(at + 1, end - at - 1));
    at = end + 2;
    return value;
  };
  while (at < bytes.size()) {
    const std::optional<long> count = number('*');
    if (!count) {
      break;
    }
    std::vector<std::string> words;
    for (long i = 0; i < *count; ++i) {
      const std::optional<long> size = number('$');
      if (!size || at + static_cast<std::size_t>(*size) + 2 > bytes.size()) {
        return commands;
      }
      words.push_back(bytes.substr(at, static_cast<std::size_t>(*size)));
      at += static_cast<std::size_t>(*size) + 2;
    }
    commands.push_back(std::move(words));
  }
  return commands;
}

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// What Redis's append-only file (appendonlydir/*.aof) says happened.
struct History {
  std::multiset<int> added;             // every `pizzas` value ever added to the stream
  std::map<int, std::string> entry_of;  // pizzas -> the entry's id
  // Entry id -> the cook whose acknowledgement took it off the pending
  // list (the key the acknowledgement script writes, "STREAM:baked:ID").
  std::map<std::string, std::string> acknowledged_by;
};

History read_history(const std::string& directory) {
  History history;
  const std::string baked_prefix = std::string(kStream) + ":baked:";
  const std::filesystem::path parts = std::filesystem::path(directory) / "appendonlydir";
  for (const auto& file : std::filesystem::directory_iterator(parts)) {
    if (file.path().extension() != ".aof") {
      continue;
    }
    std::ifstream in(file.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& command : aof_commands(bytes)) {
      if (command.size() >= 3 && same_word(command[0], "SET") &&
          command[1].rfind(baked_prefix, 0) == 0) {
        history.acknowledged_by[command[1].substr(baked_prefix.size())] = command[2];
        continue;
      }
      if (command.size() < 5 || command[1] != kStream || !same_word(command[0], "XADD")) {
        continue;
      }
      for (std::size_t i = 3; i + 1 < command.size(); i += 2) {
        if (command[i] == "pizzas") {
          const int pizzas = std::stoi(command[i + 1]);
          history.added.insert(pizzas);
          history.entry_of[pizzas] = command[2];
        }
      }
    }
  }
  return history;
}

struct Settings {
  unsigned seed = 1;
  int seconds = 30;
  std::string json;
};

struct Counts {
  std::map<std::string, long> answers;
  std::map<std::string, long> faults;
  long ordered = 0;
  long on_stream = 0;
  long baked = 0;
  long duplicates_detected = 0;
  long dead_lettered = 0;
  long unprinted_bakes = 0;  // acknowledged, and the kitchen killed before it printed
  // The broken promises:
  long lost = 0;
  long wrong_answers = 0;
  long never_baked = 0;
  long undetected_duplicates = 0;
  long pending_at_end = 0;
  std::vector<std::string> details;  // one line per broken promise
};

int run_audit(const Settings& settings) {
  std::mt19937 random(settings.seed);
  test::RedisServer redis(test::RedisServer::Durability::every_write);
  const std::string binary = test::pizzeria_binary();
  constexpr int kMaxOrder = 100000;
  std::vector<std::unique_ptr<Component>> fronts;
  std::vector<std::unique_ptr<Component>> kitchens;
  for (int i = 1; i <= 2; ++i) {
    fronts.push_back(std::make_unique<Component>(
        "serve-" + std::to_string(i),
        std::vector<std::string>{binary, "serve", "--port", "0", "--workers", "1", "--max-order",
                                 std::to_string(kMaxOrder), "--kitchen", redis.address()},
        true));
    kitchens.push_back(std::make_unique<Component>(
        "kitchen-" + std::to_string(i),
        std::vector<std::string>{binary, "kitchen", "--redis", redis.address(), "--cooks", "2",
                                 "--bake-time", "0", "--reclaim-after", "2", "--max-order",
                                 std::to_string(kMaxOrder), "--forget-cooks-after", "10"},
        false));
  }
  for (auto& component : fronts) {
    component->start();
  }
  for (auto& component : kitchens) {
    component->start();
  }

  // Customers: each order k is k pizzas, placed once, at a front end
  // chosen at random; one connection per order.
  std::atomic<int> next_order{1};
  std::atomic<bool> ordering{true};
  std::mutex answers_mutex;
  std::map<int, Answer> answers;
  std::vector<std::thread> customers;
  for (int c = 0; c < 4; ++c) {
    customers.emplace_back([&, c] {
      std::mt19937 choose(settings.seed * 31 + static_cast<unsigned>(c));
      while (ordering.load()) {
        const int order = next_order.fetch_add(1);
        if (order > kMaxOrder) {
          return;
        }
        const std::uint16_t port = fronts[choose() % fronts.size()]->port();
        Answer answer = Answer::unsent;
        if (port != 0) {
          try {
            answer = classify(order, test::round_trip(port, std::to_string(order) + "\n"));
          } catch (const std::exception&) {
            answer = Answer::unsent;  // no connection (it was down or restarting)
          }
        }
        {
          const std::lock_guard guard(answers_mutex);
          answers[order] = answer;
        }
        std::this_thread::sleep_for(20ms);  // a customer's pace, not a timing
      }
    });
  }

  // The fault schedule, drawn from the seed.
  Counts counts;
  const auto end_of_faults = Clock::now() + std::chrono::seconds(settings.seconds);
  const auto wait = [](std::chrono::milliseconds span) { std::this_thread::sleep_for(span); };
  while (Clock::now() < end_of_faults) {
    wait(std::chrono::milliseconds(1000 + random() % 1500));
    const unsigned fault = random() % 8;
    Component& front = *fronts[random() % fronts.size()];
    Component& kitchen = *kitchens[random() % kitchens.size()];
    std::string what;
    switch (fault) {
      case 0:
        what = "SIGKILL and restart of a front end";
        front.stop(SIGKILL);
        front.start();
        break;
      case 1:
        what = "SIGKILL and restart of a kitchen";
        kitchen.stop(SIGKILL);
        kitchen.start();
        break;
      case 2:
        what = "SIGKILL of Redis, restart on its files";
        redis.crash();
        wait(500ms);
        redis.start();
        break;
      case 3:
        what = "Redis paused 1.5 s (shorter than the 5 s timeouts)";
        redis.pause();
        wait(1500ms);
        redis.resume();
        break;
      case 4:
        what = "Redis paused 7 s (longer than the front ends' 5 s timeout)";
        redis.pause();
        wait(7000ms);
        redis.resume();
        break;
      case 5:
        what = "kitchen paused 4 s (longer than --reclaim-after 2 s)";
        kitchen.pause();
        wait(4000ms);
        kitchen.resume();
        break;
      case 6:
        what = "front end paused 2 s";
        front.pause();
        wait(2000ms);
        front.resume();
        break;
      default:
        what = "Redis paused 12 s (longer than the timeout and the lookup together)";
        redis.pause();
        wait(12000ms);
        redis.resume();
        break;
    }
    ++counts.faults[what];
  }
  ordering.store(false);
  for (std::thread& customer : customers) {
    customer.join();
  }

  // Quiescence: the kitchens empty the stream (reclaims take up to
  // --reclaim-after; a generous bound for a loaded machine).
  const std::string dead_stream = std::string(kStream) + ":dead";
  const auto state = [&]() {
    return run([&]() -> Task<std::pair<long long, long long>> {
      RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
      std::vector<std::string> length{"XLEN", std::string(kStream)};
      std::vector<std::string> summary{"XPENDING", std::string(kStream), "kitchen"};
      const RedisReply entries = co_await check.command(std::move(length));
      const RedisReply pending = co_await check.command(std::move(summary));
      co_return std::pair{entries.integer,
                          pending.kind == RedisReply::Kind::array && !pending.elements.empty()
                              ? pending.elements[0].integer
                              : 0LL};
    }());
  };
  std::pair<long long, long long> left{-1, -1};
  for (int i = 0; i < 120; ++i) {
    try {
      left = state();
      if (left.first == 0 && left.second == 0) {
        break;
      }
    } catch (const std::exception&) {
      // Redis restarting: again
    }
    wait(500ms);
  }
  for (auto& component : kitchens) {
    component->stop(SIGINT);
  }
  for (auto& component : fronts) {
    component->stop(SIGINT);
  }
  left = state();
  counts.pending_at_end = left.first + left.second;
  if (counts.pending_at_end != 0) {
    counts.details.push_back("at the end: " + std::to_string(left.first) +
                             " entries on the stream, " + std::to_string(left.second) +
                             " pending in the group");
  }

  // The history.
  std::map<int, int> baked;       // order -> normal bakes
  std::map<int, int> duplicated;  // order -> bakes reported as duplicates
  const std::regex bake(R"(Cook \d+ baked (\d+) pizzas?( again)? \(order [0-9-]+\).*)");
  for (auto& component : kitchens) {
    for (const std::string& line : component->lines()) {
      std::smatch match;
      if (std::regex_match(line, match, bake)) {
        (match[2].matched ? duplicated : baked)[std::stoi(match[1].str())] += 1;
      }
    }
  }
  std::set<int> dead;
  run([&]() -> Task<void> {
    RedisConnection check = co_await RedisConnection::open("127.0.0.1", redis.port());
    std::vector<std::string> range{"XRANGE", dead_stream, "-", "+"};
    const RedisReply letters = co_await check.command(std::move(range));
    for (const RedisReply& entry : letters.elements) {
      const auto& fields = entry.elements.at(1).elements;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].text == "pizzas") {
          dead.insert(std::stoi(fields[i + 1].text));
        }
      }
    }
  }());
  redis.crash();  // its append-only file is then complete and still
  const History history = read_history(redis.directory());
  const std::multiset<int>& added = history.added;

  for (const auto& [order, answer] : answers) {
    ++counts.answers[answer_name(answer)];
    ++counts.ordered;
    const bool on_stream = added.count(order) > 0;
    counts.on_stream += on_stream ? 1 : 0;
    if (answer == Answer::thanked && !on_stream) {
      ++counts.lost;
      counts.details.push_back("order " + std::to_string(order) + ": thanked, never on the stream");
    }
    if (answer == Answer::closed && on_stream) {
      ++counts.wrong_answers;
      counts.details.push_back("order " + std::to_string(order) +
                               ": told the kitchen is closed, and on the stream");
    }
    if (answer == Answer::other) {
      ++counts.wrong_answers;
      counts.details.push_back("order " + std::to_string(order) + ": an unexpected reply");
    }
    if (added.count(order) > 1) {
      counts.details.push_back("order " + std::to_string(order) + ": added to the stream " +
                               std::to_string(added.count(order)) + " times");
      ++counts.wrong_answers;
    }
    const int bakes = baked.count(order) ? baked[order] : 0;
    // A kitchen SIGKILLed after Redis applied its acknowledgement and
    // before it printed the bake: Redis's record of who acknowledged it
    // (written only after a bake) is the bake's trace.
    const auto entry = history.entry_of.find(order);
    const bool acknowledged =
        entry != history.entry_of.end() && history.acknowledged_by.count(entry->second) > 0;
    if (on_stream && bakes == 0 && dead.count(order) == 0) {
      if (acknowledged) {
        ++counts.unprinted_bakes;
      } else {
        ++counts.never_baked;
        counts.details.push_back("order " + std::to_string(order) + " (entry " +
                                 (entry == history.entry_of.end() ? "?" : entry->second) +
                                 "): on the stream, never baked");
      }
    }
    if (bakes > 1) {
      ++counts.undetected_duplicates;
      counts.details.push_back("order " + std::to_string(order) + ": baked " +
                               std::to_string(bakes) + " times, not reported as a duplicate");
    }
    counts.baked += bakes > 0 || acknowledged ? 1 : 0;
    counts.duplicates_detected += duplicated.count(order) ? duplicated[order] : 0;
    counts.dead_lettered += dead.count(order) ? 1 : 0;
  }

  // The report.
  std::printf("Kitchen fault audit: seed %u, %d s of faults\n\n", settings.seed, settings.seconds);
  std::printf("Faults injected:\n");
  for (const auto& [what, times] : counts.faults) {
    std::printf("  %4ld  %s\n", times, what.c_str());
  }
  std::printf("\nAnswers to %ld orders:\n", counts.ordered);
  for (const auto& [what, times] : counts.answers) {
    std::printf("  %4ld  %s\n", times, what.c_str());
  }
  std::printf("\n| check | count |\n|---|---|\n");
  std::printf("| orders on the stream (append-only file) | %ld |\n", counts.on_stream);
  std::printf("| baked | %ld |\n", counts.baked);
  std::printf("| duplicates detected and reported | %ld |\n", counts.duplicates_detected);
  std::printf("| dead-lettered | %ld |\n", counts.dead_lettered);
  std::printf("| baked, its kitchen killed before it printed (Redis's record) | %ld |\n",
              counts.unprinted_bakes);
  std::printf("| **lost** (thanked, never on the stream) | %ld |\n", counts.lost);
  std::printf("| **wrong answers** (told closed, on the stream) | %ld |\n", counts.wrong_answers);
  std::printf("| **never baked** | %ld |\n", counts.never_baked);
  std::printf("| **baked twice, undetected** | %ld |\n", counts.undetected_duplicates);
  std::printf("| **pending at the end** | %ld |\n", counts.pending_at_end);
  for (const std::string& detail : counts.details) {
    std::printf("broken: %s\n", detail.c_str());
  }
  // Under ASan or TSan, a report by any process is a failure of the run
  // too: the processes' stderr is theirs, not the audit's, so it is read.
  long sanitizer_reports = 0;
  for (const auto* group : {&fronts, &kitchens}) {
    for (const auto& component : *group) {
      for (const std::string& line : component->lines()) {
        if (line.find("Sanitizer") != std::string::npos) {
          ++sanitizer_reports;
          std::printf("%s: %s\n", component->name().c_str(), line.c_str());
        }
      }
    }
  }
  const bool kept = counts.lost == 0 && counts.wrong_answers == 0 && counts.never_baked == 0 &&
                    counts.undetected_duplicates == 0 && counts.pending_at_end == 0 &&
                    sanitizer_reports == 0;
  std::printf("\n%s\n", kept ? "Every promise kept." : "PROMISES BROKEN.");
  if (!kept) {
    for (auto& component : kitchens) {
      for (const std::string& line : component->lines()) {
        if (line.rfind("Cook ", 0) != 0) {
          std::printf("%s: %s\n", component->name().c_str(), line.c_str());
        }
      }
    }
  }

  if (!settings.json.empty()) {
    std::ofstream out(settings.json);
    const auto object = [&](const std::map<std::string, long>& map) {
      std::string text = "{";
      for (const auto& [key, value] : map) {
        text += (text.size() > 1 ? ", \"" : "\"") + key + "\": " + std::to_string(value);
      }
      return text + "}";
    };
    out << "{\"seed\": " << settings.seed << ", \"seconds\": " << settings.seconds
        << ", \"faults\": " << object(counts.faults) << ", \"answers\": " << object(counts.answers)
        << ", \"ordered\": " << counts.ordered << ", \"on_stream\": " << counts.on_stream
        << ", \"baked\": " << counts.baked
        << ", \"duplicates_detected\": " << counts.duplicates_detected
        << ", \"dead_lettered\": " << counts.dead_lettered
        << ", \"unprinted_bakes\": " << counts.unprinted_bakes << ", \"lost\": " << counts.lost
        << ", \"wrong_answers\": " << counts.wrong_answers
        << ", \"never_baked\": " << counts.never_baked
        << ", \"undetected_duplicates\": " << counts.undetected_duplicates
        << ", \"pending_at_end\": " << counts.pending_at_end
        << ", \"kept\": " << (kept ? "true" : "false") << "}\n";
  }
  return kept ? 0 : 1;
}

}  // namespace
}  // namespace pz::audit

int main(int argc, char** argv) {
  pz::audit::Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: %s [--seed N] [--seconds S] [--json PATH]\n", argv[0]);
      return 2;
    }
    const std::string value = argv[++i];
    if (option == "--seed") {
      settings.seed = static_cast<unsigned>(std::stoul(value));
    } else if (option == "--seconds") {
      settings.seconds = std::stoi(value);
    } else if (option == "--json") {
      settings.json = value;
    } else {
      std::fprintf(stderr, "unknown option %s\n", option.c_str());
      return 2;
    }
  }
  try {
    return pz::audit::run_audit(settings);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pz_kitchen_audit: %s\n", error.what());
    return 2;
  }
}
