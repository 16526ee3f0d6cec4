// ProcessPool::submit_batch: many items in one message, one outcome each.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "pizzeria/exec/process_pool.hpp"
#include "support/message_of.hpp"

namespace {

// ---- tasks, registered in the parent and in every re-executed worker ----

const auto kBatchSquare =
    pz::register_task<long(long)>("test.batch.square", [](long x) -> long { return x * x; });

const auto kBatchPid =
    pz::register_task<long(int)>("test.batch.pid", [](int) -> long { return ::getpid(); });

// Throws for "bad", so one item of a batch can fail on its own.
const auto kBatchShout =
    pz::register_task<std::string(std::string)>("test.batch.shout", [](std::string text) {
      if (text == "bad") {
        throw std::invalid_argument("cannot shout 'bad'");
      }
      return text + "!";
    });

// Kills its worker for a negative input: the whole message is lost.
const auto kBatchDie = pz::register_task<int(int)>("test.batch.die", [](int x) -> int {
  if (x < 0) {
    ::kill(::getpid(), SIGKILL);
  }
  return x;
});

const auto kBatchNothing = pz::register_task<void(int)>("test.batch.nothing", [](int) {});

const auto kBatchRepeat = pz::register_task<std::string(std::string)>(
    "test.batch.repeat", [](std::string text) { return text + text; });

// A result of `size` bytes, made in the worker: large results cost the test
// no large arguments.
const auto kBatchBytes = pz::register_task<std::string(long)>(
    "test.batch.bytes", [](long size) { return std::string(static_cast<std::size_t>(size), 'z'); });

// A task written against the registry directly, whose encoder throws after
// writing part of its value: for 1 it writes half a long and throws.
const int kHalfWrittenRegistered = [] {
  pz::task_registry::add("test.batch.half_written", [](pz::WireReader& args, pz::WireWriter& out) {
    const auto [x] = pz::wire_decode<std::tuple<int>>(args);
    if (x == 1) {
      out.put_u32(0xDEADBEEF);
      throw std::runtime_error("the encoder gave up half way");
    }
    pz::wire_encode<long>(out, 10L * x);
  });
  return 0;
}();
const pz::RemoteFunction<long(int)> kBatchHalfWritten{"test.batch.half_written"};

TEST(ProcessPoolBatch, ReturnsEachItemsResultInInputOrder) {
  pz::ProcessPool pool(2);
  const std::vector<long> inputs{3, -4, 5, 0, 12};
  std::vector<pz::Future<long>> results = pool.submit_batch(kBatchSquare, inputs).result();
  ASSERT_EQ(results.size(), inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(results[i].result(), inputs[i] * inputs[i]) << i;
  }
  EXPECT_EQ(pool.counters().tasks_completed, inputs.size());
}

TEST(ProcessPoolBatch, RunsTheWholeBatchInOneWorker) {
  pz::ProcessPool pool(2);
  const std::vector<int> inputs(50, 0);
  std::vector<pz::Future<long>> pids = pool.submit_batch(kBatchPid, inputs).result();
  ASSERT_EQ(pids.size(), inputs.size());
  const std::vector<pid_t> workers = pool.worker_pids();
  EXPECT_NE(std::find(workers.begin(), workers.end(), static_cast<pid_t>(pids[0].result())),
            workers.end());
  for (auto& pid : pids) {
    EXPECT_EQ(pid.result(), pids[0].result());
  }
}

TEST(ProcessPoolBatch, AFailingItemFailsOnlyItsOwnFuture) {
  pz::ProcessPool pool(1);
  const std::vector<std::string> inputs{"a", "bad", "c"};
  std::vector<pz::Future<std::string>> results = pool.submit_batch(kBatchShout, inputs).result();
  ASSERT_EQ(results.size(), 3U);
  EXPECT_EQ(results[0].result(), "a!");
  const std::string message =
      pz::test::message_of<pz::RemoteTaskError>([&] { (void)results[1].result(); });
  EXPECT_TRUE(pz::test::contains(message, "cannot shout 'bad'")) << message;
  EXPECT_EQ(results[2].result(), "c!");
  // The pool keeps serving.
  EXPECT_EQ(pool.submit(kBatchShout, std::string("d")).result(), "d!");
}

TEST(ProcessPoolBatch, AnEmptyBatchCompletesAtOnceWithNoResults) {
  pz::ProcessPool pool(1);
  pz::Future<std::vector<pz::Future<long>>> future =
      pool.submit_batch(kBatchSquare, std::vector<long>{});
  EXPECT_TRUE(future.done());
  EXPECT_TRUE(future.result().empty());
}

TEST(ProcessPoolBatch, VoidTasksGiveFuturesThatCompleteWithoutValues) {
  pz::ProcessPool pool(1);
  std::vector<pz::Future<void>> results =
      pool.submit_batch(kBatchNothing, std::vector<int>{1, 2}).result();
  ASSERT_EQ(results.size(), 2U);
  for (auto& result : results) {
    EXPECT_NO_THROW(result.result());
  }
}

TEST(ProcessPoolBatch, AWorkerThatDiesFailsTheWholeBatchAndIsReplaced) {
  pz::ProcessPool pool(1);
  auto batch = pool.submit_batch(kBatchDie, std::vector<int>{1, -1, 2});
  EXPECT_THROW((void)batch.result(), pz::WorkerDied);
  std::vector<pz::Future<int>> after = pool.submit_batch(kBatchDie, std::vector<int>{7}).result();
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(after[0].result(), 7);
}

}  // namespace

// Results are encoded in place in the batch's reply; what a throwing task
// wrote before it threw must go, or the next item's outcome would be read
// from the wrong bytes.
TEST(ProcessPoolBatch, ATaskThatThrowsHalfWayThroughItsResultLeavesTheOthersIntact) {
  pz::ProcessPool pool(1);
  std::vector<pz::Future<long>> results =
      pool.submit_batch(kBatchHalfWritten, std::vector<int>{0, 1, 2}).result();
  ASSERT_EQ(results.size(), 3U);
  EXPECT_EQ(results[0].result(), 0);
  const std::string message =
      pz::test::message_of<pz::RemoteTaskError>([&] { (void)results[1].result(); });
  EXPECT_TRUE(pz::test::contains(message, "the encoder gave up half way")) << message;
  EXPECT_EQ(results[2].result(), 20);
}

// Megabytes each way, in messages larger than a socket buffer, so frames
// arrive in many reads and leave in many partial writes: every byte must
// come back in its place, several batches in a row on the same workers.
TEST(ProcessPoolBatch, CarriesMegabytesOfItemsBothWaysIntact) {
  pz::ProcessPool pool(2);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> inputs;
    for (int i = 0; i < 12; ++i) {
      std::string text(100'000 + 7'919 * i + round, ' ');
      for (std::size_t j = 0; j < text.size(); ++j) {
        text[j] = static_cast<char>('a' + (j * 31 + static_cast<std::size_t>(i)) % 26);
      }
      inputs.push_back(std::move(text));
    }
    std::vector<pz::Future<std::string>> results = pool.submit_batch(kBatchRepeat, inputs).result();
    ASSERT_EQ(results.size(), inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(results[i].result(), inputs[i] + inputs[i]) << "round " << round << " item " << i;
    }
  }
}

// A message the worker would refuse as corrupt (over the 1 GiB frame limit)
// fails its batch at once with the reason, and the pool keeps serving.
TEST(ProcessPoolBatch, ABatchTooLargeForOneMessageFailsWithTheLimitAndThePoolGoesOn) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a 1 GiB batch is too heavy under ThreadSanitizer's shadow memory";
#else
  pz::ProcessPool pool(1);
  std::vector<std::string> inputs{std::string((std::size_t{1} << 30) - 100, 'x'),
                                  std::string(200, 'y')};
  const std::string message = pz::test::message_of<pz::WireError>(
      [&] { (void)pool.submit_batch(kBatchRepeat, std::move(inputs)).result(); });
  EXPECT_TRUE(pz::test::contains(message, "exceeds the process pool's 1 GiB frame limit"))
      << message;
  EXPECT_EQ(pool.submit(kBatchSquare, 9L).result(), 81);
#endif
}

// Results that together exceed the 1 GiB frame limit: the items that do not
// fit fail with the reason, the others keep their results, and the worker
// lives on (sending the message whole would have killed it, and with it every
// item of the batch).
TEST(ProcessPoolBatch, ResultsTooLargeForOneMessageFailOnlyTheItemsThatDoNotFit) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a 1 GiB result is too heavy under ThreadSanitizer's shadow memory";
#else
  pz::ProcessPool pool(1);
  const long worker = pool.submit(kBatchPid, 0).result();
  constexpr long kHalf = (1L << 29) + 1000;  // two of them are over 1 GiB
  std::vector<pz::Future<std::string>> results =
      pool.submit_batch(kBatchBytes, std::vector<long>{kHalf, kHalf, 10}).result();
  ASSERT_EQ(results.size(), 3U);
  EXPECT_EQ(results[0].result().size(), static_cast<std::size_t>(kHalf));
  const std::string message =
      pz::test::message_of<pz::RemoteTaskError>([&] { (void)results[1].result(); });
  EXPECT_TRUE(pz::test::contains(message, "the limit is 1 GiB")) << message;
  // The size it names is the value's, plus a few bytes of encoding.
  const auto at = message.find("its encoded result of ");
  ASSERT_NE(at, std::string::npos) << message;
  const long named = std::stol(message.substr(at + std::string("its encoded result of ").size()));
  EXPECT_GE(named, kHalf);
  EXPECT_LE(named, kHalf + 16);
  EXPECT_EQ(results[2].result(), std::string(10, 'z'));
  EXPECT_EQ(pool.submit(kBatchPid, 0).result(), worker);
#endif
}
