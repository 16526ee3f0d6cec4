// pz::service::notify against a datagram socket the test binds and names in
// NOTIFY_SOCKET, as systemd does for a Type=notify unit.
#include "pizzeria/service/service_notify.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <system_error>

#include "support/notify_socket.hpp"

namespace pz::service {
namespace {

using test::NotifySocket;

TEST(ServiceNotify, ReadyAndStoppingReachTheSocketNamedByNotifySocket) {
  const NotifySocket manager;
  EXPECT_TRUE(notify_ready());
  EXPECT_EQ(manager.receive(), "READY=1");
  EXPECT_TRUE(notify_stopping());
  EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST(ServiceNotify, ReadyCarriesTheStatusLineWhenGivenOne) {
  const NotifySocket manager;
  EXPECT_TRUE(notify_ready("Serving on 127.0.0.1:12345"));
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=Serving on 127.0.0.1:12345");
}

TEST(ServiceNotify, AnAbstractSocketNameWithAnAtSignIsReached) {
  const NotifySocket manager(/*abstract=*/true);
  EXPECT_TRUE(notify_stopping());
  EXPECT_EQ(manager.receive(), "STOPPING=1");
}

TEST(ServiceNotify, WithoutNotifySocketNothingIsSentAndNothingFails) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notify_ready());
  EXPECT_FALSE(notify_stopping());
}

TEST(ServiceNotify, ASocketNobodyListensOnIsAnErrorNamingIt) {
  ::setenv("NOTIFY_SOCKET", "/tmp/pz-notify-nobody-listens-here", 1);
  try {
    notify_ready();
    FAIL() << "notify_ready succeeded without a listener";
  } catch (const std::system_error& error) {
    EXPECT_NE(std::string(error.what()).find("/tmp/pz-notify-nobody-listens-here"),
              std::string::npos)
        << error.what();
  }
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace pz::service
