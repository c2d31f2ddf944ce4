#include "networks.hpp"

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

std::string network_names() {
  std::string out;
  for (const NetworkPreset& n : kNetworks)
    out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

}  // namespace vswitch::daemon
