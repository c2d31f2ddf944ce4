#include "networks.hpp"

#include <net/if.h>

#include <algorithm>
#include <cstring>

#include "common/ip_address.hpp"
#include "common/netlink.hpp"
#include "nat/nat_options.hpp"
#include "spec.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

using plugs::ipv4_string;
using plugs::netlink::Cidr;

void refuse_keys(std::string_view network, const SpecKeys& keys) {
  if (!keys.empty()) {
    throw ConfigError("segment: unknown key '" + keys.front().first +
                      "' for network=" + std::string(network));
  }
}

// One NAT port, role nat, taking every -netdev user key the segment was given.
std::vector<std::string> nat_ports(const std::string& segment, const SpecKeys& keys) {
  std::string spec = "nat,name=" + spec_value(segment) + "-nat,segment=" + spec_value(segment);
  for (const auto& [k, v] : keys) {
    if (!plugs::nat::NatOptions::knows(k)) {
      throw ConfigError("segment " + segment + ": unknown key '" + k +
                        "' (network=nat passes QEMU's -netdev user keys to its NAT)");
    }
    spec += "," + k + "=" + spec_value(v);
  }
  return {spec};
}

std::vector<std::string> no_ports(const std::string&, const SpecKeys& keys) {
  refuse_keys("internal", keys);
  return {};
}

// The value of `key` taken out of `keys`; nullopt when it is not there.
std::optional<std::string> take_key(SpecKeys& keys, std::string_view key) {
  const auto it =
      std::find_if(keys.begin(), keys.end(), [&](const auto& kv) { return kv.first == key; });
  if (it == keys.end()) return std::nullopt;
  std::string value = std::move(it->second);
  keys.erase(it);
  return value;
}

bool has_key(const SpecKeys& keys, std::string_view key) {
  return std::any_of(keys.begin(), keys.end(), [&](const auto& kv) { return kv.first == key; });
}

// network=host-only's own address on the segment, address=CIDR (IPv4: its DHCP range comes
// from that subnet).
Cidr host_address(const std::string& segment, const SpecKeys& keys) {
  const auto it =
      std::find_if(keys.begin(), keys.end(), [](const auto& kv) { return kv.first == "address"; });
  if (it == keys.end()) {
    throw ConfigError("segment " + segment +
                      ": network=host-only needs the host's address on it, e.g. "
                      "address=192.168.100.1/24");
  }
  Cidr cidr = Cidr::parse("address", it->second);
  if (cidr.family != AF_INET) {
    throw ConfigError("segment " + segment + ": address=" + it->second +
                      ": network=host-only takes an IPv4 subnet (address6= may follow)");
  }
  return cidr;
}

// The addresses a host-only segment hands out, unless dhcp= names them: the half of the subnet
// the host's address is not in, the top address left for the server.
std::string derived_range(const std::string& segment, const Cidr& cidr) {
  if (cidr.prefix > 28) {
    throw ConfigError("segment " + segment + ": address=" + cidr.str() +
                      " leaves too few addresses to hand out; give dhcp=START-END (or dhcp=off)");
  }
  uint32_t host = 0;
  std::memcpy(&host, &cidr.addr, sizeof host);
  host = ntohl(host);
  const uint32_t size = uint32_t{1} << (32 - cidr.prefix);
  const uint32_t network = host & ~(size - 1);
  const uint32_t half = network + size / 2;
  const bool host_low = host < half;
  const uint32_t first = host_low ? half : network + 1;
  const uint32_t last = host_low ? network + size - 3 : half - 1;
  return ipv4_string(first) + "-" + ipv4_string(last);
}

// Before the DHCP keys are read: a host-only segment serves DHCP on the host's subnet unless
// told dhcp=off, never handing out (or taking for its server) the host's own address.
void complete_host_only(const std::string& segment, SpecKeys& keys) {
  const Cidr cidr = host_address(segment, keys);
  const auto dhcp =
      std::find_if(keys.begin(), keys.end(), [](const auto& kv) { return kv.first == "dhcp"; });
  if (dhcp != keys.end() && dhcp->second == "off") {
    keys.erase(dhcp);
    return;
  }
  if (dhcp == keys.end()) keys.emplace_back("dhcp", derived_range(segment, cidr));
  if (!has_key(keys, "dhcp-netmask")) {
    keys.emplace_back("dhcp-netmask", std::to_string(cidr.prefix));
  }
  const std::string host = cidr.str().substr(0, cidr.str().find('/'));
  if (auto taken = take_key(keys, "dhcp-taken")) {
    keys.emplace_back("dhcp-taken", *taken + ":" + host);
  } else {
    keys.emplace_back("dhcp-taken", host);
  }
}

// The host's tap: ifname= (default vsw-SEGMENT), address=, address6=.
std::vector<std::string> host_only_ports(const std::string& segment, const SpecKeys& given) {
  SpecKeys keys = given;
  std::string ifname = take_key(keys, "ifname").value_or("vsw-" + segment);
  if (ifname.size() >= IFNAMSIZ) {
    throw ConfigError("segment " + segment + ": the host's interface would be " + ifname +
                      ", longer than " + std::to_string(IFNAMSIZ - 1) +
                      " characters; name it with ifname=");
  }
  std::string spec = "tap,name=" + spec_value(segment) + "-host,segment=" + spec_value(segment) +
                     ",ifname=" + spec_value(ifname);
  while (auto a = take_key(keys, "address"))
    spec += ",address=" + spec_value(*a);
  while (auto a = take_key(keys, "address6"))
    spec += ",address6=" + spec_value(*a);
  refuse_keys("host-only", keys);
  return {spec};
}

// The LAN's side: uplink=IFNAME, the host's NIC on that LAN.
std::vector<std::string> bridged_ports(const std::string& segment, const SpecKeys& given) {
  SpecKeys keys = given;
  const std::optional<std::string> ifname = take_key(keys, "uplink");
  if (!ifname) {
    throw ConfigError("segment " + segment +
                      ": network=bridged needs the host's interface on the LAN, e.g. "
                      "uplink=eth1");
  }
  std::string spec = "uplink,name=" + spec_value(segment) +
                     "-uplink,segment=" + spec_value(segment) + ",ifname=" + spec_value(*ifname);
  if (auto bypass = take_key(keys, "qdisc-bypass")) spec += ",qdisc-bypass=" + spec_value(*bypass);
  refuse_keys("bridged", keys);
  return {spec};
}

// Segment keys and the dhcp port keys they become.
struct DhcpKey {
  std::string_view segment_key;
  std::string_view port_key;
};
constexpr DhcpKey kDhcpKeys[] = {
    {"dhcp", "range"},         {"router", "router"},      {"dns", "dns"},
    {"lease", "lease"},        {"dhcp-host", "host"},     {"dhcp-netmask", "netmask"},
    {"dhcp-server", "server"}, {"dhcp-leases", "leases"}, {"dhcp-taken", "taken"},
};

const DhcpKey* dhcp_key(std::string_view key) {
  for (const DhcpKey& k : kDhcpKeys) {
    if (k.segment_key == key) return &k;
  }
  return nullptr;
}

constexpr NetworkPreset kNetworks[] = {
    {"nat", "nat", nullptr, nat_ports},
    {"bridged", "bridged", nullptr, bridged_ports},
    {"host-only", "host-only", complete_host_only, host_only_ports},
    {"internal", "internal", nullptr, no_ports},
};

}  // namespace

const NetworkPreset* find_network(std::string_view name) {
  for (const NetworkPreset& n : kNetworks) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

bool is_dhcp_key(std::string_view key) {
  return dhcp_key(key) != nullptr;
}

std::optional<std::string> take_dhcp_keys(const std::string& segment, SpecKeys& keys) {
  const bool serving =
      std::any_of(keys.begin(), keys.end(), [](const auto& kv) { return kv.first == "dhcp"; });
  if (!serving) {
    for (const auto& [k, v] : keys) {
      if (k != "dns" && is_dhcp_key(k)) {
        throw ConfigError("segment " + segment + ": " + k +
                          "= is a setting of the segment's DHCP server; give it "
                          "dhcp=START-END too");
      }
    }
    return std::nullopt;
  }
  std::string spec = "dhcp,name=" + spec_value(segment) + "-dhcp,segment=" + spec_value(segment);
  size_t ranges = 0;
  for (auto it = keys.begin(); it != keys.end();) {
    const DhcpKey* k = dhcp_key(it->first);
    if (k == nullptr) {
      ++it;
      continue;
    }
    if (k->segment_key == "dhcp" && ++ranges > 1) {
      throw ConfigError("segment " + segment + ": dhcp= given twice");
    }
    spec += "," + std::string(k->port_key) + "=" + spec_value(it->second);
    it = keys.erase(it);
  }
  return spec;
}

std::string network_names() {
  std::string out;
  for (const NetworkPreset& n : kNetworks)
    out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

}  // namespace vswitch::daemon
