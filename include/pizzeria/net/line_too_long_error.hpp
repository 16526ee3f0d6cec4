// pz::LineTooLongError: TcpStream::read_line found no end of line within its
// limit (asyncio's LimitOverrunError). The bytes stay in the stream's
// buffer: the caller decides whether to read them (read_some) or discard them
// (TcpStream::discard).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace pz {

class LineTooLongError : public std::length_error {
 public:
  LineTooLongError(std::size_t limit, std::size_t buffered)
      : std::length_error("read_line: no end of line within " + std::to_string(limit) + " bytes (" +
                          std::to_string(buffered) + " bytes buffered, kept in the stream)"),
        limit_(limit) {}

  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

 private:
  std::size_t limit_;
};

}  // namespace pz
