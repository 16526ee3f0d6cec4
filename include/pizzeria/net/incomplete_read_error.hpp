// pz::IncompleteReadError: TcpStream::read_exactly reached end of stream
// before `expected` bytes (asyncio.IncompleteReadError). The bytes that did
// arrive are in partial(): consumed from the stream, handed to the caller.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace pz {

class IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial, std::size_t expected)
      : std::runtime_error("read_exactly: end of stream after " + std::to_string(partial.size()) +
                           " of " + std::to_string(expected) + " bytes"),
        partial_(std::move(partial)),
        expected_(expected) {}

  [[nodiscard]] const std::string& partial() const noexcept { return partial_; }
  [[nodiscard]] std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

}  // namespace pz
