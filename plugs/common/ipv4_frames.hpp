// The IPv4 frames a service port speaks, read and written in untagged Ethernet: ARP requests
// for its address and UDP datagrams. Reading is total: a frame that is not well formed is
// nullopt, and nothing is read past its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "vswitch/ether.hpp"

namespace vswitch::plugs {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint32_t kIpv4Broadcast = 0xffffffff;
inline constexpr size_t kUdpHeadersLen = kEtherHeaderLen + 20 + 8;  // no IP options
inline constexpr size_t kMinFrameLen = 60;  // Ethernet's minimum without the FCS
inline constexpr MacAddr kBroadcastMac{(uint64_t{1} << 48) - 1};

struct UdpDatagram {
  MacAddr src_mac, dst_mac;
  uint32_t src_ip = 0, dst_ip = 0;  // host byte order
  uint16_t src_port = 0, dst_port = 0;
  const uint8_t* payload = nullptr;  // inside the frame
  size_t len = 0;
};

// A UDP datagram in an IPv4 packet that is not a fragment; the lengths of the IP and UDP
// headers bound the payload, whatever padding follows.
std::optional<UdpDatagram> parse_udp(const uint8_t* frame, size_t len);

// Writes the Ethernet, IPv4 and UDP headers (checksums included) in front of the `payload_len`
// bytes the caller put at frame + kUdpHeadersLen, and zero padding up to Ethernet's minimum;
// returns the frame's length. `d.payload` is not used.
size_t finish_udp(uint8_t* frame, const UdpDatagram& d, size_t payload_len);

struct ArpRequest {
  MacAddr sender_mac;
  uint32_t sender_ip = 0, target_ip = 0;
};
// An ARP request of Ethernet and IPv4 addresses.
std::optional<ArpRequest> parse_arp_request(const uint8_t* frame, size_t len);
// The reply that `mac` has `ip`, to the requester: kMinFrameLen bytes at `out`.
size_t build_arp_reply(uint8_t* out, MacAddr mac, uint32_t ip, const ArpRequest& to);

}  // namespace vswitch::plugs
