// What a test wants to know of an exception: its message.
//
//   EXPECT_TRUE(pz::test::contains(pz::test::message_of<pz::RemoteTaskError>(
//                   [&] { (void)future.result(); }), "the oven is cold"));
#pragma once

#include <exception>
#include <string>
#include <type_traits>

namespace pz::test {

// The message of the Error that `action` throws; another exception (or
// none) gives a text saying so, which the callers' checks then reject.
template <typename Error, typename Action>
std::string message_of(Action action) {
  static_assert(std::is_base_of_v<std::exception, Error>);
  try {
    action();
  } catch (const std::exception& error) {
    // One handler, so that Error may be std::exception itself.
    if constexpr (!std::is_same_v<Error, std::exception>) {
      if (dynamic_cast<const Error*>(&error) == nullptr) {
        return std::string("(another exception: ") + error.what() + ")";
      }
    }
    return error.what();
  }
  return "(no exception)";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace pz::test
