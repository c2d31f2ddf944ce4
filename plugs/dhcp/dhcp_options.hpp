// The settings of a segment's DHCP server: its range, the network's netmask, router and DNS
// servers as the clients are told them, the lease time, static reservations, its own address
// and where the leases are kept. Keys as dnsmasq names the same things:
//   range=192.168.100.10-192.168.100.20 netmask=255.255.255.0 router=192.168.100.1
//   dns=192.168.100.1:9.9.9.9 lease=3600 host=52:54:00:12:34:56,192.168.100.20,web
//   server=192.168.100.254 leases=/var/lib/vswitchd/lab.leases|none
// and taken=192.168.100.1:192.168.100.2, addresses others on the segment hold (the host's own):
// never handed out, never the server's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/ether.hpp"

struct rte_mempool;

namespace vswitch::plugs::dhcp {

// A client that always gets the same address, and perhaps a name.
struct Reservation {
  MacAddr mac;
  uint32_t address = 0;  // host byte order, as every address here
  std::string name;

  // "MAC,IP[,NAME]"; throws ConfigError.
  static Reservation parse(std::string_view text);
};

struct DhcpOptions {
  static constexpr uint32_t kMaxRange = 65536;
  static constexpr size_t kMaxDns = 4;
  static constexpr size_t kMaxTaken = 16;

  uint32_t first = 0, last = 0;  // the range handed out, both included
  uint32_t netmask = 0;          // default: /24 around the range's start
  uint32_t router = 0;           // 0: none told
  std::vector<uint32_t> dns;
  std::vector<uint32_t> taken;  // by others on the segment
  uint32_t lease_s = 3600;
  std::vector<Reservation> hosts;
  uint32_t server = 0;  // default: the highest free address of the subnet
  // Where the leases persist: nullopt until leases= (the daemon then picks the default), empty
  // for none (leases=none).
  std::optional<std::string> lease_file;
  rte_mempool* pool = nullptr;

  // One key; throws ConfigError naming it. host= may repeat.
  void set(std::string_view key, std::string_view value);
  static bool knows(std::string_view key);
  // Fills in the defaults and checks that everything fits the subnet; throws ConfigError.
  void finish();

  uint32_t network() const { return first & netmask; }
  uint32_t broadcast() const { return network() | ~netmask; }
  bool in_subnet(uint32_t a) const { return (a & netmask) == network(); }
  bool in_range(uint32_t a) const { return a >= first && a <= last; }
  const Reservation* reservation_of(MacAddr mac) const;
  const Reservation* reservation_at(uint32_t address) const;

 private:
  bool range_given_ = false, netmask_given_ = false;
};

}  // namespace vswitch::plugs::dhcp
