#include "networks.hpp"

#include <algorithm>

#include "nat/nat_options.hpp"
#include "spec.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

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

// Segment keys and the dhcp port keys they become.
struct DhcpKey {
  std::string_view segment_key;
  std::string_view port_key;
};
constexpr DhcpKey kDhcpKeys[] = {
    {"dhcp", "range"},         {"router", "router"},      {"dns", "dns"},
    {"lease", "lease"},        {"dhcp-host", "host"},     {"dhcp-netmask", "netmask"},
    {"dhcp-server", "server"}, {"dhcp-leases", "leases"},
};

const DhcpKey* dhcp_key(std::string_view key) {
  for (const DhcpKey& k : kDhcpKeys) {
    if (k.segment_key == key) return &k;
  }
  return nullptr;
}

constexpr NetworkPreset kNetworks[] = {
    {"nat", "nat", nat_ports},
    {"internal", "internal", no_ports},
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
