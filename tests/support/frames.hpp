// Building Ethernet frames for tests: plain, 802.1Q-tagged, runts and jumbos, byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vswitch/ether.hpp"

namespace vswitch::test {

using Bytes = std::vector<uint8_t>;

inline MacAddr mac(uint64_t n) {
  // Locally administered unicast: 02:00:nn:nn:nn:nn.
  uint8_t b[6] = {0x02,
                  0,
                  static_cast<uint8_t>(n >> 24),
                  static_cast<uint8_t>(n >> 16),
                  static_cast<uint8_t>(n >> 8),
                  static_cast<uint8_t>(n)};
  return MacAddr::from_bytes(b);
}
inline const MacAddr kBroadcast = MacAddr((uint64_t{1} << 48) - 1);

// dst, src, ethertype, then `payload` bytes counting up from `seed`.
Bytes frame(MacAddr dst, MacAddr src, size_t payload = 46, uint8_t seed = 0,
            uint16_t type = 0x0800);
// The same frame with an 802.1Q tag inserted after the source MAC.
Bytes tagged(const Bytes& plain, uint16_t vid, uint8_t pcp = 0);
// The frame with its first tag removed.
Bytes untagged(const Bytes& tagged_frame);

// An ARP request (broadcast) from `from`, whose address is `sender`, for `target`.
using Ipv4 = std::array<uint8_t, 4>;
Bytes arp_request(MacAddr from, Ipv4 sender, Ipv4 target);
// Whether the frame is an ARP reply saying where `target` is, to `sender`.
bool is_arp_reply(const Bytes& f, Ipv4 target, Ipv4 sender);

// An IPv4 address in host byte order, from its text.
uint32_t ipv4(const char* text);

// A DHCP client's message in a frame, built byte by byte here rather than by the switch's own
// codec, so the two can check each other. Broadcast from 0.0.0.0 unless told otherwise.
struct DhcpFrame {
  MacAddr client;
  uint8_t type = 1;  // DHCPDISCOVER
  uint32_t xid = 1;
  uint32_t ciaddr = 0;
  uint32_t requested = 0;  // option 50, when not 0
  uint32_t server = 0;     // option 54, when not 0
  std::string hostname;    // option 12
  Bytes client_id;         // option 61
  bool broadcast_flag = true;
  MacAddr dst_mac = kBroadcast;
  uint32_t dst_ip = 0xffffffff;
};
Bytes dhcp_frame(const DhcpFrame& d);
inline constexpr uint8_t kDhcpDiscover = 1, kDhcpOffer = 2, kDhcpRequest = 3, kDhcpDecline = 4,
                         kDhcpAck = 5, kDhcpNak = 6, kDhcpRelease = 7, kDhcpInform = 8;

// A DHCP server's reply to `client`, as a client reads it.
struct DhcpReply {
  MacAddr dst_mac;
  uint32_t src_ip = 0, dst_ip = 0;
  uint8_t type = 0;
  uint32_t xid = 0;
  uint32_t ciaddr = 0, your_address = 0;
  uint32_t server = 0, lease_s = 0, netmask = 0, router = 0;
  std::vector<uint32_t> dns;
  std::string hostname;
};
std::optional<DhcpReply> dhcp_reply(const Bytes& f, MacAddr client);

std::string hex(const Bytes& b);

}  // namespace vswitch::test
