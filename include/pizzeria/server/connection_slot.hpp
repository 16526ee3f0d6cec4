// pz::ConnectionSlot: one of a server's max_connections places, given back
// when destroyed (or release()d). Handed out by pz::ServerContext::accept.
//
// Thread safety: a slot is owned by one thread at a time; releasing is safe
// while other threads accept.
#pragma once

#include <utility>

namespace pz {

class ServerContext;

class ConnectionSlot {
 public:
  ConnectionSlot() noexcept = default;
  explicit ConnectionSlot(ServerContext* context) noexcept : context_(context) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : context_(std::exchange(other.context_, nullptr)) {}
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { release(); }
  void release() noexcept;

 private:
  ServerContext* context_ = nullptr;
};

}  // namespace pz
