// The settings of a NAT port, in the keys and with the defaults of QEMU's -netdev user, so a
// user's command line carries over: net=10.0.2.0/24, host=10.0.2.2, dhcpstart=10.0.2.15,
// dns=10.0.2.3, hostfwd=tcp::2222-:22 and the rest.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.hpp"

struct rte_mempool;

namespace vswitch::plugs::nat {

// hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport: connections to the host's port
// go to the guest's. An empty host address is every address; an empty guest address is the
// first one DHCP hands out.
struct HostForward {
  bool udp = false;
  in_addr host_addr{};
  uint16_t host_port = 0;
  in_addr guest_addr{};
  uint16_t guest_port = 0;

  // Throws ConfigError naming what is wrong with the rule.
  static HostForward parse(std::string_view rule);
  std::string str() const;
  bool same_host_side(const HostForward& o) const {
    return udp == o.udp && host_addr.s_addr == o.host_addr.s_addr && host_port == o.host_port;
  }
};

struct NatOptions {
  in_addr network{};  // 10.0.2.0
  in_addr netmask{};  // 255.255.255.0
  in_addr host{};     // the gateway, and the host as the guests see it: network + 2
  in_addr dhcp_start{};
  in_addr dns{};
  bool restricted = false;  // no way out: only the NAT's own services and hostfwd
  bool ipv6 = true;
  in6_addr prefix6{};  // fec0::
  uint8_t prefix6_len = 64;
  in6_addr host6{};
  in6_addr dns6{};
  std::string hostname;  // given to the guests by DHCP
  std::string domainname;
  std::vector<std::string> dnssearch;
  std::string tftp;  // a directory served over TFTP
  std::string bootfile;
  std::vector<HostForward> forwards;
  rte_mempool* pool = nullptr;

  NatOptions();
  // One key of -netdev user; throws ConfigError naming the key. hostfwd= may repeat.
  void set(std::string_view key, std::string_view value);
  static bool knows(std::string_view key);
  // Fills in what follows from net= and checks that the addresses fit it; throws ConfigError.
  void finish();

 private:
  bool host_given_ = false, dhcp_given_ = false, dns_given_ = false;
  bool host6_given_ = false, dns6_given_ = false;
};

}  // namespace vswitch::plugs::nat
