// What a test wants to know of an exception: its message.
//
//   EXPECT_TRUE(pz::test::contains(pz::test::message_of<pz::RemoteTaskError>(
//                   [&] { (void)future.result(); }), "the oven is cold"));
#pragma once

#include <exception>
#include <string>

namespace pz::test {

// The message of the Error that `action` throws; another exception (or
// none) gives a text saying so, which the callers' checks then reject.
template <typename Error, typename Action>
std::string message_of(Action action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  } catch (const std::exception& other) {
    return std::string("(another exception: ") + other.what() + ")";
  }
  return "(no exception)";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace pz::test
