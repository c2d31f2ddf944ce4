// A port on datagrams, one frame each, as QEMU's -netdev dgram and -netdev socket,udp= and
// socket,mcast= send them: UDP unicast, UDP multicast (a segment shared with QEMU's multicast
// "hub") or Unix datagram sockets.
#pragma once

#include <memory>
#include <string>

#include "common/dgram_io.hpp"
#include "common/fd.hpp"
#include "common/socket_address.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::qemu {

struct DgramOptions {
  SocketAddress local;              // where we receive (for multicast: the group and port)
  SocketAddress remote;             // where we send (for multicast: the group and port)
  std::string multicast_interface;  // IPv4 address of the interface, for multicast
  mode_t mode = 0600;               // of a Unix socket
  rte_mempool* pool = nullptr;
};

class DgramPort final : public Port {
 public:
  static std::unique_ptr<DgramPort> open(PortSettings settings, DgramOptions options);
  ~DgramPort() override;

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return rx_.get(); }
  std::string_view kind() const override { return "dgram"; }
  std::vector<std::pair<std::string, std::string>> details() const override;

 private:
  DgramPort(PortSettings settings, DgramOptions options);

  DgramOptions options_;
  Fd rx_;
  Fd tx_;  // the same socket, except for multicast: a socket of its own, to know our echoes
  PeerFilter filter_;
  RxStash stash_;
  bool multicast_ = false;
};

}  // namespace vswitch::plugs::qemu
