// Finishing a TCP or UDP checksum the sender left to the hardware. A frame sent by a stack on
// this host through a veth (a container, a LAN namespace) reaches an AF_PACKET socket with
// TP_STATUS_CSUMNOTREADY: its checksum field holds only the pseudo-header's sum, which a NIC
// would have completed on the way out. A guest behind the switch has no such NIC and would
// drop the frame, so the switch completes it.
#pragma once

#include <cstdint>
#include <optional>

namespace vswitch::plugs::packet {

struct ChecksumFix {
  uint32_t offset;  // of the checksum field in the frame
  uint16_t value;   // in network byte order's bytes: value >> 8 first
};

// For an Ethernet frame (802.1Q/802.1ad tags allowed) carrying IPv4 or IPv6 with TCP or UDP:
// where its checksum goes and what it must be, the field's present content taken as the
// pseudo-header's sum. Nothing for any other frame, or one cut short.
std::optional<ChecksumFix> finish_partial_checksum(const uint8_t* frame, uint32_t len);

}  // namespace vswitch::plugs::packet
