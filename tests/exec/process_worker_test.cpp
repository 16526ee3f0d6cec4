// main() for pz_exec_tests. ProcessPool re-executes the test binary as its
// workers, so main must hand control to the worker loop first (see
// pizzeria/exec/process_worker.hpp); it replaces gtest_main's main.
#include "pizzeria/exec/process_worker.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

TEST(ProcessWorker, IsNotStartedWithoutTheWorkerVariable) {
  ASSERT_EQ(std::getenv(pz::kProcessWorkerFdVariable), nullptr);
  EXPECT_EQ(pz::run_process_worker_if_requested(), std::nullopt);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto status = pz::run_process_worker_if_requested()) {
    return *status;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
