#include "pizzeria/exec/blocking_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

TEST(BlockingQueue, DeliversEveryItemExactlyOnceAcrossManyProducersAndConsumers) {
  constexpr int kProducers = 4;
  constexpr int kConsumers = 4;
  constexpr int kPerProducer = 5000;
  pz::BlockingQueue<int> queue(8);  // small, so producers really block
  std::vector<std::vector<int>> received(kConsumers);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&queue, &received, c] {
      while (auto item = queue.pop()) {
        received[static_cast<std::size_t>(c)].push_back(*item);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&queue, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        ASSERT_TRUE(queue.push(p * kPerProducer + i));
      }
    });
  }
  for (auto& producer : producers) {
    producer.join();
  }
  queue.close();
  for (auto& thread : threads) {
    thread.join();
  }
  std::vector<int> seen(kProducers * kPerProducer, 0);
  for (const auto& items : received) {
    for (int item : items) {
      ++seen[static_cast<std::size_t>(item)];
    }
  }
  for (int count : seen) {
    ASSERT_EQ(count, 1);
  }
}

TEST(BlockingQueue, KeepsFifoOrderForOneProducerAndOneConsumer) {
  pz::BlockingQueue<int> queue(3);
  std::thread producer([&queue] {
    for (int i = 0; i < 1000; ++i) {
      queue.push(i);
    }
    queue.close();
  });
  int expected = 0;
  while (auto item = queue.pop()) {
    ASSERT_EQ(*item, expected++);
  }
  EXPECT_EQ(expected, 1000);
  producer.join();
}

TEST(BlockingQueue, CloseWakesEveryBlockedConsumer) {
  pz::BlockingQueue<int> queue(1);
  std::atomic<int> ended{0};
  std::vector<std::thread> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.emplace_back([&queue, &ended] {
      EXPECT_FALSE(queue.pop().has_value());
      ended.fetch_add(1);
    });
  }
  queue.close();
  for (auto& consumer : consumers) {
    consumer.join();
  }
  EXPECT_EQ(ended.load(), 3);
}

TEST(BlockingQueue, CloseWakesEveryBlockedProducerWithFailure) {
  pz::BlockingQueue<int> queue(1);
  ASSERT_TRUE(queue.push(0));
  std::vector<std::thread> producers;
  std::atomic<int> failed{0};
  for (int i = 0; i < 3; ++i) {
    producers.emplace_back([&queue, &failed] {
      if (!queue.push(1)) {
        failed.fetch_add(1);
      }
    });
  }
  queue.close();
  for (auto& producer : producers) {
    producer.join();
  }
  EXPECT_EQ(failed.load(), 3);
  // What was queued before close() is still delivered, then the end.
  EXPECT_EQ(queue.pop(), 0);
  EXPECT_EQ(queue.pop(), std::nullopt);
}

TEST(BlockingQueue, TryOperationsNeverBlockAndMoveOnlyOnSuccess) {
  pz::BlockingQueue<std::unique_ptr<int>> queue(1);
  auto first = std::make_unique<int>(1);
  auto second = std::make_unique<int>(2);
  EXPECT_TRUE(queue.try_push(first));
  EXPECT_EQ(first, nullptr);
  EXPECT_FALSE(queue.try_push(second));
  ASSERT_NE(second, nullptr);  // not moved from on failure
  EXPECT_EQ(*queue.try_pop().value(), 1);
  EXPECT_FALSE(queue.try_pop().has_value());
  EXPECT_FALSE(queue.pop_for(1ms).has_value());
  EXPECT_FALSE(queue.closed());
  EXPECT_EQ(queue.capacity(), 1U);
  EXPECT_THROW(pz::BlockingQueue<int>(0), std::invalid_argument);
}

// queue.Queue's join(): the producer waits for the work, not just for the
// items to leave the queue. The consumer holds the last item (taken, not
// done) until the test lets it go, so join_for must report unfinished work
// however long it waits, and join() must then return with everything done.
TEST(BlockingQueue, JoinWaitsUntilEveryPushedItemIsMarkedDone) {
  pz::BlockingQueue<int> queue(4);
  std::promise<void> finish_last;
  std::shared_future<void> last_may_finish = finish_last.get_future().share();
  std::atomic<int> processed{0};
  std::thread consumer([&] {
    while (auto item = queue.pop()) {
      if (*item == 3) {
        last_may_finish.wait();
      }
      processed.fetch_add(1);
      queue.task_done();
    }
  });
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(queue.push(i));
  }
  EXPECT_FALSE(queue.join_for(20ms));  // item 3 is taken but not done
  EXPECT_GE(queue.unfinished(), 1U);
  finish_last.set_value();
  queue.join();
  EXPECT_EQ(processed.load(), 3);
  EXPECT_EQ(queue.unfinished(), 0U);
  EXPECT_TRUE(queue.join_for(0ms));
  queue.close();
  consumer.join();
}

TEST(BlockingQueue, JoinOnAQueueThatNeverHadItemsReturnsAtOnce) {
  pz::BlockingQueue<int> queue(1);
  queue.join();
  EXPECT_TRUE(queue.join_for(0ms));
}

TEST(BlockingQueue, TaskDoneMoreTimesThanItemsWerePushedIsAnError) {
  pz::BlockingQueue<int> queue(2);
  ASSERT_TRUE(queue.push(1));
  (void)queue.pop();
  queue.task_done();
  EXPECT_THROW(queue.task_done(), std::logic_error);
  EXPECT_EQ(queue.unfinished(), 0U);
}

}  // namespace
