// The few rtnetlink requests a plug needs to set up an interface it made (a host tap): its
// link up, its MTU, an address. No shelling out to ip(8).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace vswitch::plugs::netlink {

// "192.168.100.1/24" or "fd00::1/64"; throws ConfigError naming `key` when it is neither.
struct Cidr {
  int family = AF_INET;
  in6_addr addr{};  // the first 4 bytes for IPv4
  uint8_t prefix = 0;
  static Cidr parse(const std::string& key, const std::string& text);
  std::string str() const;
};

// Each returns 0 or the errno of the kernel's refusal.
int set_link_up(int ifindex);
int set_mtu(int ifindex, uint32_t mtu);
int add_address(int ifindex, const Cidr& cidr);

}  // namespace vswitch::plugs::netlink
