#include "pizzeria/exec/process_queue.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pizzeria/exec/process_pool.hpp"

namespace {

using namespace std::chrono_literals;

// Puts `count` numbers tagged with this worker's pid into inherited queue 0.
const auto kProduce = pz::register_task<long(long)>("test.queue_produce", [](long count) -> long {
  auto queue = pz::ProcessQueue<std::pair<long, long>>::adopt(
      pz::UniqueFd(::dup(pz::inherited_fd(0))), pz::UniqueFd());
  for (long i = 0; i < count; ++i) {
    if (!queue.put({static_cast<long>(::getpid()), i})) {
      throw std::runtime_error("queue closed early");
    }
  }
  return count;
});

// Sums numbers from inherited queue 0 until it is closed.
const auto kConsume = pz::register_task<long()>("test.queue_consume", []() -> long {
  auto queue =
      pz::ProcessQueue<long>::adopt(pz::UniqueFd(), pz::UniqueFd(::dup(pz::inherited_fd(0))));
  long sum = 0;
  while (auto value = queue.get()) {
    sum += *value;
  }
  return sum;
});

TEST(ProcessQueue, CarriesWholeItemsBetweenThreadsInOrder) {
  pz::ProcessQueue<std::string> queue;
  std::thread producer([&queue] {
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(queue.put(std::string(static_cast<std::size_t>(i * 50), 'x')));
    }
    queue.close();
  });
  int expected = 0;
  while (auto item = queue.get()) {
    ASSERT_EQ(item->size(), static_cast<std::size_t>(expected * 50));
    ++expected;
  }
  EXPECT_EQ(expected, 500);
  producer.join();
  EXPECT_FALSE(queue.put("after close"));
}

TEST(ProcessQueue, CloseWakesEveryBlockedReader) {
  pz::ProcessQueue<long> queue;
  std::atomic<int> ended{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&queue, &ended] {
      EXPECT_EQ(queue.get(), std::nullopt);
      ended.fetch_add(1);
    });
  }
  queue.close();
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_EQ(ended.load(), 3);
}

TEST(ProcessQueue, TryAndTimedGetReturnNothingWhenEmptyAndRefuseHugeItems) {
  pz::ProcessQueue<std::string> queue;
  EXPECT_EQ(queue.try_get(), std::nullopt);
  EXPECT_EQ(queue.get_for(1ms), std::nullopt);
  EXPECT_TRUE(queue.put("one"));
  EXPECT_EQ(queue.get_for(1s), "one");
  EXPECT_THROW(queue.put(std::string(pz::ProcessQueue<std::string>::kMaxItemBytes, 'x')),
               pz::WireError);
}

TEST(ProcessQueue, ManyWorkerProcessesPutAndTheParentGetsEveryItemOnce) {
  pz::ProcessQueue<std::pair<long, long>> queue;
  pz::ProcessPoolOptions options;
  options.workers = 2;
  options.inherited_fds = {queue.put_fd()};
  pz::ProcessPool pool(options);
  std::vector<pz::Future<long>> producers;
  for (int i = 0; i < 4; ++i) {
    producers.push_back(pool.submit(kProduce, 300L));
  }
  // The parent drains while the workers produce: the socket buffer is
  // smaller than everything they put, so puts block until we read.
  std::map<long, std::vector<long>> by_pid;
  for (int i = 0; i < 4 * 300; ++i) {
    auto item = queue.get();
    ASSERT_TRUE(item.has_value());
    by_pid[item->first].push_back(item->second);
  }
  for (auto& producer : producers) {
    EXPECT_EQ(producer.result(), 300);
  }
  EXPECT_EQ(queue.try_get(), std::nullopt);
  long total = 0;
  for (const auto& [pid, values] : by_pid) {
    EXPECT_NE(pid, ::getpid());
    total += static_cast<long>(values.size());
    // One producer's items stay in its order.
    for (std::size_t i = 1; i < values.size(); ++i) {
      if (values[i] != 0) {
        EXPECT_EQ(values[i], values[i - 1] + 1);
      }
    }
  }
  EXPECT_EQ(total, 1200);
}

TEST(ProcessQueue, WorkerProcessesConsumeUntilTheParentCloses) {
  pz::ProcessQueue<long> queue;
  pz::ProcessPoolOptions options;
  options.workers = 2;
  options.inherited_fds = {queue.get_fd()};
  pz::ProcessPool pool(options);
  auto first = pool.submit(kConsume);
  auto second = pool.submit(kConsume);
  long expected = 0;
  for (long i = 1; i <= 1000; ++i) {
    ASSERT_TRUE(queue.put(i));
    expected += i;
  }
  queue.close();  // both workers drain, then see the end
  EXPECT_EQ(first.result() + second.result(), expected);
}

}  // namespace
