// The addresses the NAT's DHCP server gave, as the exchange between the guests and libslirp
// shows them: libslirp keeps its table to itself. A malformed packet is simply not a lease.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "vswitch/ether.hpp"

namespace vswitch::plugs::nat {

// The parts of a DHCP message (RFC 2131) a lease needs, from an untagged Ethernet frame.
struct DhcpMessage {
  uint8_t op = 0;    // 1 request, 2 reply
  uint8_t type = 0;  // option 53: 1 DISCOVER ... 5 ACK, 7 RELEASE
  MacAddr client;
  in_addr your_address{};
  std::string hostname;  // option 12
};
// nullopt unless the frame is a well-formed DHCP message from UDP port `from_port`.
std::optional<DhcpMessage> parse_dhcp(const uint8_t* frame, size_t len, uint16_t from_port);

class Leases {
 public:
  struct Lease {
    in_addr address{};
    std::string hostname;
  };

  void from_guest(const uint8_t* frame, size_t len);
  void to_guest(const uint8_t* frame, size_t len);
  const std::map<uint64_t, Lease>& by_mac() const { return leases_; }

 private:
  static constexpr size_t kMaxTracked = 256;
  std::map<uint64_t, Lease> leases_;           // by MAC
  std::map<uint64_t, std::string> hostnames_;  // asked for in a request, before the ACK
};

}  // namespace vswitch::plugs::nat
