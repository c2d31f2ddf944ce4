// The LAN uplink: a host interface (a NIC, a veth end) on a segment through an AF_PACKET
// socket, the interface promiscuous, so guests appear on the LAN with their own MACs as they
// would behind a Linux bridge. Frames come in from a TPACKET_V3 ring, with no system call per
// burst, and leave with one system call per burst.
//
// 802.1Q tags the kernel took off into the ring's metadata are put back, so a trunk uplink
// carries tags as they were on the wire. A frame the kernel merged past what the ring holds
// (GRO, LRO) arrives cut short and is counted oversize, never passed on truncated. A frame
// from a stack on this host (a veth's peer) whose checksum was left to a NIC gets it finished.
//
// The link brought down is counted and costs the frames sent meanwhile (tx_error); the kernel
// takes the socket back into service when the link is up again. An interface deleted from
// outside closes the port, reported once. The kernel tells the socket only of the link going
// down, deleted or not, so while it is down the port also listens to rtnetlink for the link's
// return or removal; both descriptors sit in one epoll set, the port's wait fd.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/dgram_io.hpp"
#include "common/fd.hpp"
#include "packet/packet_socket.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::packet {

struct UplinkOptions {
  std::string ifname;
  rte_mempool* pool = nullptr;
  bool mtu_from_interface = true;  // the port's mtu= was not given
  bool qdisc_bypass = true;
};

class UplinkPort final : public Port {
 public:
  // Throws ConfigError naming the interface and what is missing (it, or CAP_NET_RAW).
  static std::unique_ptr<UplinkPort> open(PortSettings settings, UplinkOptions options);

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return waits_.get(); }
  std::string_view kind() const override { return "uplink"; }
  std::vector<std::pair<std::string, std::string>> details() const override;

 private:
  UplinkPort(PortSettings settings, UplinkOptions options, std::unique_ptr<PacketSocket> socket);
  static PacketSocketOptions socket_options(const UplinkOptions& o);

  // Copies one frame out of the ring into m (chaining when long), its 802.1Q tag put back.
  bool copy_in(const tpacket3_hdr* h, rte_mbuf* m);
  // A frame from a stack on this host whose TCP/UDP checksum was left to a NIC: finished.
  void finish_checksum(const tpacket3_hdr* h, rte_mbuf* m, uint32_t tag);
  // A failed send or a socket error: the link went down, or the interface is gone.
  void on_error(int err);
  void check_socket_error();
  void link_down(bool event);
  void link_back();
  void read_link_news();
  void lose_interface();

  UplinkOptions options_;
  std::unique_ptr<PacketSocket> socket_;
  Fd waits_;  // epoll: the socket, and the link news while the link is down
  Fd link_news_;
  RxStash stash_;
  bool link_down_ = false;
  uint64_t link_downs_ = 0;
  bool oversize_logged_ = false;
  bool too_long_logged_ = false;
  // The kernel's own drops (the ring full); reading them resets the kernel's count.
  mutable uint64_t kernel_drops_ = 0;
};

}  // namespace vswitch::plugs::packet
