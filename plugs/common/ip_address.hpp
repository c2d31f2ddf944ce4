// IP addresses as plugs show them and compute with them: text for users and logs, IPv4 in host
// byte order where ranges and masks are arithmetic.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace vswitch::plugs {

inline uint32_t host_order(in_addr a) {
  return ntohl(a.s_addr);
}
inline in_addr from_host_order(uint32_t v) {
  return in_addr{htonl(v)};
}

std::string to_string(in_addr a);
std::string to_string(const in6_addr& a);
// An IPv4 address in host byte order, "192.168.100.1".
std::string ipv4_string(uint32_t addr);
std::string net_string(in_addr network, in_addr netmask);  // 10.0.2.0/24
// A netmask's bits are ones then zeros.
bool is_netmask(uint32_t mask);

}  // namespace vswitch::plugs
