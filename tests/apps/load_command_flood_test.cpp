// `pizzeria load` against a server that floods it with lines nobody asked
// for, faster than the generator can count them. The run must still end at
// --duration: a connection's read is cut into turns, so the loop's timers
// (the end of the run, Ctrl-C's flag) get theirs. The client runs under
// timeout(1), so a run that would go on for ever fails the test (exit 124)
// instead of hanging it.
#include <gtest/gtest.h>

#include <string>

#include "programs/program_runner.hpp"
#include "support/scripted_server.hpp"

namespace {

using pz::test::ScriptedConnection;
using pz::test::ScriptedServer;

TEST(LoadCommandFlood, EndsAtItsDurationWhileTheServerFloodsEveryConnection) {
  ScriptedServer server([](ScriptedConnection& c) {
    // One-byte lines: the most work per byte for the generator, the least
    // for the server. Until the generator closes (or the test ends).
    const std::string flood(1 << 20, '\n');
    while (c.send(flood)) {
    }
  });
  const auto result = pz::test::run_program({"timeout", "30", pz::test::pizzeria_binary(), "load",
                                             "127.0.0.1:" + server.port_text(), "-c", "8", "-d",
                                             "200ms", "--expect", "x"});
  EXPECT_EQ(result.exit_status, 1) << result.out << result.err;  // errors were counted
  EXPECT_NE(result.out.find("unexpected reply "), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("unexpected reply 0)"), std::string::npos) << result.out;
}

}  // namespace
