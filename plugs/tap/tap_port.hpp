// The host's own interface on a segment: a kernel tap opened through /dev/net/tun. A tap that
// vswitchd creates it also configures (MTU, addresses, link up, over rtnetlink) and loses when
// it exits; an existing persistent tap made for the user (`ip tuntap add dev NAME mode tap user
// USER`) lets an unprivileged vswitchd in, and keeps its addresses unless the port names some.
//
// A link brought down costs the frames sent to it (counted tx_error); an interface deleted from
// outside closes the port, reported once, since its descriptor stays in error for good.
//
// A tap moves one frame per read() or write(): a burst is up to kBurst system calls, the
// kernel's tap has no batched interface short of vhost-net.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/dgram_io.hpp"
#include "common/fd.hpp"
#include "common/netlink.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::tap {

struct TapOptions {
  std::string ifname;
  std::vector<netlink::Cidr> addresses;
  rte_mempool* pool = nullptr;
};

class TapPort final : public Port {
 public:
  // Throws ConfigError, saying what to run when the tap cannot be had without privileges.
  static std::unique_ptr<TapPort> open(PortSettings settings, TapOptions options);

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return fd_.get(); }
  std::string_view kind() const override { return "tap"; }
  std::vector<std::pair<std::string, std::string>> details() const override;
  // The interface's MAC as it was opened (one the host sets later is learned as any other).
  std::vector<MacAddr> own_macs() const override;

 private:
  TapPort(PortSettings settings, TapOptions options);
  void configure();
  // The kernel deleted the interface: report it once and hand the port back to the engine.
  void lose_interface();

  TapOptions options_;
  Fd fd_;
  int ifindex_ = 0;
  std::optional<MacAddr> mac_;
  bool created_ = false;  // by us: gone when we close it
  RxStash stash_;
};

}  // namespace vswitch::plugs::tap
