#include "process_protocol.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/exec/wire.hpp"

namespace pz::process_protocol {

namespace {

// Returns the number of bytes read before end of stream.
std::size_t read_all(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::read(fd, data + done, size - done);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("process pool: reading from a worker connection failed");
    }
    if (got == 0) {
      break;
    }
    done += static_cast<std::size_t>(got);
  }
  return done;
}

}  // namespace

void write_frame(int fd, const std::string& payload) {
  write_frame(fd, payload, std::string_view());
}

void write_frame(int fd, std::string_view head, std::string_view tail) {
  const std::size_t size = head.size() + tail.size();
  if (size > kMaxFrame) {
    throw WireError("a message of " + std::to_string(size) +
                    " bytes exceeds the process pool's 1 GiB frame limit");
  }
  WireWriter header;
  header.put_u32(static_cast<std::uint32_t>(size));
  // One sendmsg for header and payload: a frame costs one system call and
  // wakes the reader once, without copying a large payload to join them.
  constexpr std::size_t kParts = 3;
  iovec parts[kParts] = {
      {const_cast<char*>(header.data().data()), header.data().size()},
      {const_cast<char*>(head.data()), head.size()},
      {const_cast<char*>(tail.data()), tail.size()},
  };
  std::size_t first = 0;
  while (first < kParts) {
    if (parts[first].iov_len == 0) {
      ++first;
      continue;
    }
    msghdr message{};
    message.msg_iov = parts + first;
    message.msg_iovlen = kParts - first;
    // MSG_NOSIGNAL: a dead peer must give EPIPE, not kill us with SIGPIPE.
    ssize_t written = ::sendmsg(fd, &message, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("process pool: writing to a worker connection failed");
    }
    while (first < kParts && static_cast<std::size_t>(written) >= parts[first].iov_len) {
      written -= static_cast<ssize_t>(parts[first].iov_len);
      ++first;
    }
    if (first < kParts) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + written;
      parts[first].iov_len -= static_cast<std::size_t>(written);
    }
  }
}

bool read_frame(int fd, std::string& payload) {
  char header[4];
  const std::size_t got = read_all(fd, header, sizeof header);
  if (got == 0) {
    return false;
  }
  if (got < sizeof header) {
    throw WireError("connection closed inside a frame header");
  }
  WireReader reader(std::string_view(header, sizeof header));
  const std::uint32_t size = reader.get_u32();
  if (size > kMaxFrame) {
    throw WireError("frame of " + std::to_string(size) + " bytes exceeds the 1 GiB limit");
  }
  // Grown as the bytes arrive, not to the declared size up front: a header
  // alone (a worker gone bad, found by process_wire_fuzz) must not cost
  // the parent up to 1 GiB.
  constexpr std::size_t kStep = std::size_t{1} << 20;
  payload.clear();
  while (payload.size() < size) {
    const std::size_t have = payload.size();
    const std::size_t want = std::min<std::size_t>(kStep, size - have);
    payload.resize(have + want);
    if (read_all(fd, payload.data() + have, want) < want) {
      throw WireError("connection closed inside a frame");
    }
  }
  return true;
}

}  // namespace pz::process_protocol
