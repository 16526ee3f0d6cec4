#include "pizzeria/coro/stop_token.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace {

TEST(StopToken, AnEmptyTokenNeverStops) {
  pz::StopToken token;
  EXPECT_FALSE(token.stop_possible());
  EXPECT_FALSE(token.stop_requested());
}

TEST(StopSource, RunsCallbacksOnceInRegistrationOrder) {
  pz::StopSource source;
  std::vector<int> order;
  pz::StopCallback first(source.token(), [&] { order.push_back(1); });
  pz::StopCallback second(source.token(), [&] { order.push_back(2); });
  EXPECT_TRUE(source.request_stop());
  EXPECT_FALSE(source.request_stop());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_TRUE(source.token().stop_requested());
}

TEST(StopSource, DoesNotRunACallbackDestroyedBeforeTheStop) {
  pz::StopSource source;
  int calls = 0;
  {
    pz::StopCallback gone(source.token(), [&] { ++calls; });
  }
  source.request_stop();
  EXPECT_EQ(calls, 0);
}

TEST(StopSource, RunsACallbackRegisteredAfterTheStopAtOnce) {
  pz::StopSource source;
  source.request_stop();
  int calls = 0;
  pz::StopCallback late(source.token(), [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(StopSource, ALinkedSourceStopsWithItsParentButNotTheOtherWay) {
  pz::StopSource parent;
  pz::StopSource child(parent.token());
  pz::StopSource sibling(parent.token());
  child.request_stop();
  EXPECT_FALSE(parent.stop_requested());
  EXPECT_FALSE(sibling.stop_requested());
  parent.request_stop();
  EXPECT_TRUE(sibling.stop_requested());
}

TEST(StopSource, ACallbackMayDestroyACallbackThatHasNotRunYet) {
  using Callback = pz::StopCallback<std::function<void()>>;
  pz::StopSource source;
  int victim_calls = 0;
  Callback* victim = nullptr;
  Callback killer(source.token(), [&] {
    delete victim;
    victim = nullptr;
  });
  victim = new Callback(source.token(), [&] { ++victim_calls; });
  source.request_stop();
  EXPECT_EQ(victim_calls, 0);
  EXPECT_EQ(victim, nullptr);
}

}  // namespace
