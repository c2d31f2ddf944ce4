// Building Ethernet frames for tests: plain, 802.1Q-tagged, runts and jumbos, byte for byte.
#pragma once

#include <array>
#include <cstdint>
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

std::string hex(const Bytes& b);

}  // namespace vswitch::test
