#include "process_protocol.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "pizzeria/core/system_error.hpp"
#include "pizzeria/exec/wire.hpp"

namespace pz::process_protocol {

namespace {

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    // MSG_NOSIGNAL: a dead peer must give EPIPE, not kill us with SIGPIPE.
    const ssize_t written = ::send(fd, data, size, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("process pool: writing to a worker connection failed");
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

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
  WireWriter header;
  header.put_u32(static_cast<std::uint32_t>(payload.size()));
  // Two writes rather than a copy into one buffer: payloads can be large.
  write_all(fd, header.data().data(), header.data().size());
  write_all(fd, payload.data(), payload.size());
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
  payload.resize(size);
  if (read_all(fd, payload.data(), size) < size) {
    throw WireError("connection closed inside a frame");
  }
  return true;
}

}  // namespace pz::process_protocol
