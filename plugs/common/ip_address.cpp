#include "common/ip_address.hpp"

namespace vswitch::plugs {

std::string to_string(in_addr a) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

std::string to_string(const in6_addr& a) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &a, text, sizeof text);
  return text;
}

std::string ipv4_string(uint32_t addr) {
  return to_string(from_host_order(addr));
}

std::string net_string(in_addr network, in_addr netmask) {
  return to_string(network) + "/" + std::to_string(__builtin_popcount(netmask.s_addr));
}

bool is_netmask(uint32_t mask) {
  const uint32_t host_bits = ~mask;
  return (host_bits & (host_bits + 1)) == 0;
}

}  // namespace vswitch::plugs
