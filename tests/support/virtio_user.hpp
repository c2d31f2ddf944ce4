// A guest at DPDK speed without a VM: DPDK's virtio_user PMD in this process, the virtio-net
// front end QEMU's guest driver would be, speaking vhost-user on a socket. The way DPDK itself
// tests vhost.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frames.hpp"

namespace vswitch::test {

class VirtioUser {
 public:
  // Connects to a vhost-user server at path, or (server) listens there for the switch to
  // connect. ok() says whether the device started.
  // queues > 1 makes a multi-queue guest, which sends on its last queue.
  explicit VirtioUser(const std::string& path, bool server = false, bool mergeable = true,
                      uint16_t queues = 1);
  ~VirtioUser();
  VirtioUser(const VirtioUser&) = delete;
  VirtioUser& operator=(const VirtioUser&) = delete;

  bool ok() const { return started_; }
  const std::string& error() const { return error_; }
  // Frames bigger than an mbuf go as a chain, as a guest's scattered buffers would.
  bool send(const Bytes& frame);
  std::optional<Bytes> recv(int timeout_ms = 2000);
  std::vector<Bytes> drain(int quiet_ms = 200);

 private:
  std::string name_;
  uint16_t port_ = 0;
  uint16_t queues_ = 1;
  bool probed_ = false, started_ = false;
  std::string error_;
};

}  // namespace vswitch::test
