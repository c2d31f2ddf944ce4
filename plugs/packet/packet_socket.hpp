// An AF_PACKET socket on one host interface, set up for a switch port: every frame of every
// protocol (ETH_P_ALL), the interface promiscuous, the socket's own transmissions never read
// back (PACKET_IGNORE_OUTGOING), a TPACKET_V3 receive ring mapped into our memory. Frames leave
// by sendmmsg: a TPACKET transmit ring measured 10-20 % slower through a veth and cost more
// CPU per frame (bench/RESULTS.md).
#pragma once

#include <cstdint>
#include <string>

#include "common/fd.hpp"
#include "packet/rings.hpp"

namespace vswitch::plugs::packet {

struct RingGeometry {
  uint32_t rx_block_size = 64 * 1024;  // holds the longest frame the kernel hands whole
  uint32_t rx_blocks = 64;
  uint32_t retire_ms = 1;     // a block that does not fill is handed over this late at most
  uint32_t tx_slot_size = 0;  // 0: no transmit ring
  uint32_t tx_slots = 0;
};

struct PacketSocketOptions {
  std::string ifname;
  RingGeometry rings;
  bool qdisc_bypass = true;
};

class PacketSocket {
 public:
  // Throws ConfigError: no such interface (named), not Ethernet, no CAP_NET_RAW (saying how to
  // grant it), or a kernel refusal of a socket option (named).
  explicit PacketSocket(const PacketSocketOptions& options);
  ~PacketSocket();
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  int fd() const { return fd_.get(); }
  int ifindex() const { return ifindex_; }
  uint32_t interface_mtu() const { return mtu_; }
  bool link_up_at_open() const { return up_; }
  RxRing& rx() { return rx_; }
  const RxRing& rx() const { return rx_; }
  uint32_t retire_ms() const { return retire_ms_; }
  // The largest frame the receive ring holds whole; longer ones arrive cut short.
  uint32_t rx_frame_limit() const { return rx_frame_limit_; }

 private:
  Fd fd_;
  int ifindex_ = 0;
  uint32_t mtu_ = 0;
  bool up_ = false;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  RxRing rx_;
  uint32_t retire_ms_ = 0;
  uint32_t rx_frame_limit_ = 0;
};

}  // namespace vswitch::plugs::packet
