// pz::service::StoppingNotice: STOPPING=1 once the watched descriptor is
// readable, and nothing when it never becomes so.
#include "pizzeria/service/stopping_notice.hpp"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "pizzeria/core/unique_fd.hpp"
#include "support/notify_socket.hpp"

namespace pz::service {
namespace {

TEST(StoppingNotice, StoppingIsSentWhenTheWatchedDescriptorBecomesReadable) {
  const test::NotifySocket manager;
  const UniqueFd shutdown(::eventfd(0, EFD_CLOEXEC));
  const StoppingNotice notice(shutdown.get());
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(shutdown.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
  EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST(StoppingNotice, NothingIsSentWhenTheNoticeEndsFirst) {
  const test::NotifySocket manager;
  const UniqueFd shutdown(::eventfd(0, EFD_CLOEXEC));
  { const StoppingNotice notice(shutdown.get()); }  // joined: its thread is gone
  EXPECT_TRUE(manager.empty());
}

}  // namespace
}  // namespace pz::service
