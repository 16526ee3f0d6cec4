// `pizzeria factor [NUMBER]...`: GNU factor's output, computed in parallel
// (seed 002, section 0.5: "Multiprocessing Pools").
//
// Operands come from the arguments or, when there are none, from standard
// input. They are cut into batches at separator boundaries; each batch is
// factored in a pz::ProcessPool worker (as the seed's multiprocessing Pool
// does; --threads uses a pz::ThreadPool instead, for comparison), and the
// reports are written strictly in input order,
// so the output is byte for byte what GNU factor prints. Before blocking on
// an idle standard input, everything finished so far is written and flushed,
// so an interactive user sees each answer as soon as the line is typed.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "commands.hpp"
#include "pizzeria/exec/process_pool.hpp"
#include "pizzeria/exec/task_registry.hpp"
#include "pizzeria/exec/thread_pool.hpp"
#include "pizzeria/programs/factor_operands.hpp"

namespace pz::app {

namespace {

using programs::FactorReport;
using programs::QuoteStyle;

struct FactorArguments {
  std::vector<std::string> numbers;
  std::size_t workers = 0;
  bool threads = false;
};

// What travels back from a worker process: (stdout text, stderr text, failed).
using WireReport = std::tuple<std::string, std::string, bool>;

WireReport to_wire(FactorReport report) {
  return {std::move(report.out), std::move(report.errors), report.failed};
}

WireReport factor_text_task(std::string text, bool utf8) {
  FactorReport report;
  programs::factor_text(text, utf8 ? QuoteStyle::utf8 : QuoteStyle::c_locale, report);
  return to_wire(std::move(report));
}

WireReport factor_operands_task(std::vector<std::string> operands, bool utf8) {
  FactorReport report;
  for (const std::string& operand : operands) {
    programs::factor_operand(operand, utf8 ? QuoteStyle::utf8 : QuoteStyle::c_locale, report);
  }
  return to_wire(std::move(report));
}

// Registered at static initialisation, so the worker processes (this same
// binary, re-executed) know them too.
// Idempotent (pure functions of their input): a batch whose worker dies is
// factored again on another, so the output still matches GNU factor.
const auto kFactorText = register_task("pizzeria.factor.text", &factor_text_task).idempotent();
const auto kFactorOperands =
    register_task("pizzeria.factor.operands", &factor_operands_task).idempotent();

// Operands per batch taken from the command line.
constexpr std::size_t kArgumentBatch = 256;
// Bytes of standard input per batch: ~3,000 numbers, enough to amortise the
// hand-off, small enough to keep every worker busy on modest inputs.
constexpr std::size_t kInputBatchBytes = 64 * 1024;

class OrderedWriter {
 public:
  // Returns false once stdout has failed (e.g. a closed pipe); the caller
  // stops, as GNU factor does.
  bool write(const FactorReport& report) {
    if (!report.errors.empty()) {
      std::fflush(stdout);  // keep stdout and stderr in order on a terminal
      std::fwrite(report.errors.data(), 1, report.errors.size(), stderr);
    }
    failed_ = failed_ || report.failed;
    if (!report.out.empty() &&
        std::fwrite(report.out.data(), 1, report.out.size(), stdout) != report.out.size()) {
      return write_failed();
    }
    return true;
  }

  bool flush() { return std::fflush(stdout) == 0 || write_failed(); }

  [[nodiscard]] bool any_invalid() const { return failed_; }
  [[nodiscard]] bool broken() const { return broken_; }

 private:
  bool write_failed() {
    if (!broken_) {
      std::fprintf(stderr, "factor: write error: %s\n", std::strerror(errno));
    }
    broken_ = true;
    return false;
  }

  bool failed_ = false;
  bool broken_ = false;
};

class FactorPipeline {
 public:
  FactorPipeline(std::size_t workers, bool threads, QuoteStyle style)
      : utf8_(style == QuoteStyle::utf8), max_pending_(4 * workers) {
    if (threads) {
      thread_pool_.emplace(
          ThreadPoolOptions{.threads = workers, .queue_capacity = 0, .name = "pz-factor"});
    } else {
      process_pool_.emplace(workers);
    }
  }

  bool submit_operands(std::vector<std::string> operands) {
    if (process_pool_) {
      pending_.push_back(process_pool_->submit(kFactorOperands, std::move(operands), utf8_));
    } else {
      pending_.push_back(thread_pool_->submit(&factor_operands_task, std::move(operands), utf8_));
    }
    return write_finished();
  }

  bool submit_text(std::string text) {
    if (process_pool_) {
      pending_.push_back(process_pool_->submit(kFactorText, std::move(text), utf8_));
    } else {
      pending_.push_back(thread_pool_->submit(&factor_text_task, std::move(text), utf8_));
    }
    return write_finished();
  }

  // Writes every report, waiting for those still running.
  bool drain() {
    while (!pending_.empty()) {
      if (!write_front()) {
        return false;
      }
    }
    return writer_.flush();
  }

  [[nodiscard]] bool has_pending() const { return !pending_.empty(); }
  [[nodiscard]] int exit_status() const {
    return writer_.any_invalid() || writer_.broken() ? 1 : 0;
  }

 private:
  // Writes the reports already done at the front, and waits for the front
  // one while too many are in flight (bounding memory on huge inputs).
  bool write_finished() {
    while (!pending_.empty() && (pending_.size() > max_pending_ || pending_.front().done())) {
      if (!write_front()) {
        return false;
      }
    }
    return true;
  }

  bool write_front() {
    auto [out, errors, failed] = std::move(pending_.front()).result();
    pending_.pop_front();
    return writer_.write(FactorReport{std::move(out), std::move(errors), failed});
  }

  bool utf8_;
  std::size_t max_pending_;
  // Exactly one of the two; the pending futures are declared after them so
  // they are destroyed first.
  std::optional<ProcessPool> process_pool_;
  std::optional<ThreadPool> thread_pool_;
  std::deque<Future<WireReport>> pending_;
  OrderedWriter writer_;
};

bool standard_input_ready() {
  pollfd entry{STDIN_FILENO, POLLIN, 0};
  return ::poll(&entry, 1, 0) > 0;
}

int factor_standard_input(FactorPipeline& pipeline) {
  std::string carry;
  std::vector<char> buffer(kInputBatchBytes);
  bool at_end = false;
  while (!at_end) {
    if (pipeline.has_pending() && !standard_input_ready()) {
      // About to block on the user: show what is done first.
      if (!pipeline.drain()) {
        return pipeline.exit_status();
      }
    }
    // Gather up to a batch from what is already available, blocking only for
    // the first read.
    do {
      const ssize_t count = ::read(STDIN_FILENO, buffer.data(), buffer.size());
      if (count < 0 && errno == EINTR) {
        continue;
      }
      if (count < 0) {
        std::fprintf(stderr, "factor: error reading standard input: %s\n", std::strerror(errno));
        pipeline.drain();
        return 1;
      }
      if (count == 0) {
        at_end = true;
        break;
      }
      carry.append(buffer.data(), static_cast<std::size_t>(count));
    } while (carry.size() < kInputBatchBytes && standard_input_ready());

    // A batch ends at the last separator; a number cut by the read waits in
    // `carry` for the rest of its digits.
    std::size_t cut = carry.size();
    if (!at_end) {
      cut = 0;
      for (std::size_t i = carry.size(); i > 0; --i) {
        if (programs::is_operand_separator(carry[i - 1])) {
          cut = i;
          break;
        }
      }
    }
    if (cut > 0) {
      std::string batch = carry.substr(0, cut);
      carry.erase(0, cut);
      if (!pipeline.submit_text(std::move(batch))) {
        return pipeline.exit_status();
      }
    }
  }
  pipeline.drain();
  return pipeline.exit_status();
}

int run_factor(const FactorArguments& arguments) {
  std::setlocale(LC_ALL, "");
  const QuoteStyle style = programs::quote_style_from_environment();
  std::size_t workers = arguments.workers;
  if (workers == 0) {
    workers = std::max(1u, std::thread::hardware_concurrency());
  }
  FactorPipeline pipeline(workers, arguments.threads, style);
  if (arguments.numbers.empty()) {
    return factor_standard_input(pipeline);
  }
  for (std::size_t begin = 0; begin < arguments.numbers.size(); begin += kArgumentBatch) {
    const std::size_t end = std::min(arguments.numbers.size(), begin + kArgumentBatch);
    std::vector<std::string> batch(arguments.numbers.begin() + static_cast<std::ptrdiff_t>(begin),
                                   arguments.numbers.begin() + static_cast<std::ptrdiff_t>(end));
    if (!pipeline.submit_operands(std::move(batch))) {
      return pipeline.exit_status();
    }
  }
  pipeline.drain();
  return pipeline.exit_status();
}

}  // namespace

void register_factor_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<FactorArguments>();
  auto* command = app.add_subcommand(
      "factor",
      "Print the prime factors of each NUMBER (or of the numbers on standard input), exactly as "
      "GNU factor does, using several workers");
  command->add_option("numbers", arguments->numbers,
                      "Positive integers below 2^128; read from standard input when absent");
  command->add_option("--workers", arguments->workers, "Worker processes (default: one per core)");
  command->add_flag("--threads", arguments->threads,
                    "Use worker threads instead of processes (to compare the two)");
  command->callback([arguments, &exit_code] { exit_code = run_factor(*arguments); });
}

}  // namespace pz::app
