// The addresses the NAT's DHCP server gave, as the exchange between the guests and libslirp
// shows them: libslirp keeps its table to itself. A malformed packet is simply not a lease.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace vswitch::plugs::nat {

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
