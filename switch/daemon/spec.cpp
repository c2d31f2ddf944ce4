#include "spec.hpp"

#include <algorithm>
#include <charconv>

#include "networks.hpp"

namespace vswitch::daemon {

namespace {

// Keys whose value is a list with commas of its own, "dhcp-host=MAC,IP,NAME", written as users
// write them for dnsmasq and QEMU; "macs=MAC,MAC" likewise.
constexpr std::string_view kListKeys[] = {"host", "dhcp-host", "macs"};

bool is_list_key(std::string_view part) {
  const size_t eq = part.find('=');
  if (eq == std::string_view::npos) return false;
  return std::find(std::begin(kListKeys), std::end(kListKeys), part.substr(0, eq)) !=
         std::end(kListKeys);
}

}  // namespace

std::vector<std::string> split_spec(std::string_view text) {
  std::vector<std::string> parts;
  std::string cur;
  // A part with no '=' right after a list key's continues its value.
  auto close = [&] {
    const bool bare = !parts.empty() && !cur.empty() && cur.find('=') == std::string::npos;
    if (bare && parts.size() > 1 && is_list_key(parts.back())) {
      parts.back() += "," + cur;
    } else {
      parts.push_back(std::move(cur));
    }
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',') {
      cur += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ',') {
      cur += ',';
      ++i;
    } else {
      close();
    }
  }
  close();
  return parts;
}

std::string spec_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

uint32_t parse_uint(std::string_view what, std::string_view text, uint32_t min, uint32_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || v < min || v > max) {
    throw ConfigError(std::string(what) + ": '" + std::string(text) + "' is not a number in " +
                      std::to_string(min) + "-" + std::to_string(max));
  }
  return static_cast<uint32_t>(v);
}

std::optional<std::string> PortSpec::take(const std::string& key) {
  auto it = params.find(key);
  if (it == params.end()) return std::nullopt;
  if (params.count(key) > 1)
    throw ConfigError("port '" + text + "': key '" + key + "' given twice");
  std::string v = std::move(it->second);
  params.erase(it);
  return v;
}

std::vector<std::string> PortSpec::take_all(const std::string& key) {
  std::vector<std::string> values;
  auto [from, to] = params.equal_range(key);
  for (auto it = from; it != to; ++it)
    values.push_back(std::move(it->second));
  params.erase(from, to);
  return values;
}

void PortSpec::expect_consumed() const {
  if (!params.empty()) {
    throw ConfigError("port " + settings.name + ": unknown key '" + params.begin()->first +
                      "' for type " + type);
  }
}

namespace {

// Whether the user named a mode; without one the port is access if it has a tag, as in OVS.
struct VlanKeys {
  std::optional<VlanMode> mode;
  bool tag_given = false;
};

// Frames a second: far above what any port can send, so a typo is not a silent limit.
constexpr uint32_t kMaxStormPps = 100000000;

std::vector<MacAddr> parse_macs(std::string_view value) {
  std::vector<MacAddr> macs;
  if (value.empty()) return macs;  // macs= clears the list
  size_t from = 0;
  for (;;) {
    const size_t comma = value.find(',', from);
    const std::string_view item = value.substr(from, comma - from);
    const auto mac = MacAddr::parse(item);
    if (!mac) throw ConfigError("macs: '" + std::string(item) + "' is not a MAC address");
    macs.push_back(*mac);
    if (comma == std::string_view::npos) return macs;
    from = comma + 1;
  }
}

// Storm control and port security: storm-broadcast=, storm-multicast=, storm-unknown=,
// max-macs=, macs=, sticky=.
bool apply_guard_key(PortSettings& s, std::string_view key, std::string_view value) {
  const std::pair<std::string_view, uint32_t StormLimits::*> storm_keys[] = {
      {"storm-broadcast", &StormLimits::broadcast},
      {"storm-multicast", &StormLimits::multicast},
      {"storm-unknown", &StormLimits::unknown},
  };
  for (const auto& [name, field] : storm_keys) {
    if (key == name) {
      s.storm.*field = parse_uint(name, value, 0, kMaxStormPps);
      return true;
    }
  }
  if (key == "max-macs") {
    s.security.max_macs = parse_uint("max-macs", value, 0, 1u << 20);
  } else if (key == "macs") {
    s.security.macs = parse_macs(value);
  } else if (key == "sticky") {
    if (value != "on" && value != "off") throw ConfigError("sticky is on or off");
    s.security.sticky = value == "on";
  } else {
    return false;
  }
  return true;
}

bool apply_common(PortSettings& s, VlanKeys& vk, std::string_view key, std::string_view value) {
  if (key == "name") {
    if (value.empty()) throw ConfigError("port name is empty");
    s.name = value;
  } else if (key == "role") {
    auto r = parse_role(value);
    if (!r) throw ConfigError("role '" + std::string(value) + "': use " + role_names());
    s.role = *r;
  } else if (key == "vlan-mode") {
    auto m = parse_vlan_mode(value);
    if (!m) {
      throw ConfigError("vlan-mode '" + std::string(value) +
                        "': use access, trunk, native-tagged or native-untagged");
    }
    vk.mode = *m;
  } else if (key == "tag") {
    s.vlan.tag = static_cast<uint16_t>(parse_uint("tag", value, 0, kVlanMax));
    vk.tag_given = true;
  } else if (key == "trunks") {
    auto set = VlanSet::parse(value);
    if (!set) throw ConfigError("trunks '" + std::string(value) + "': use a list like 10:20-30");
    s.vlan.trunks = *set;
  } else if (key == "mtu") {
    s.mtu = parse_uint("mtu", value, 68, kMaxMtu);
  } else {
    return apply_guard_key(s, key, value);
  }
  return true;
}

void settle_vlan_mode(PortSettings& s, const VlanKeys& vk) {
  if (vk.mode) {
    s.vlan.mode = *vk.mode;
  } else if (vk.tag_given) {
    s.vlan.mode = VlanMode::access;
  }
  if (auto err = s.vlan.validate()) throw ConfigError("port " + s.name + ": " + *err);
}

std::pair<std::string_view, std::string_view> key_value(std::string_view item) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) return {item, {}};
  return {item.substr(0, eq), item.substr(eq + 1)};
}

}  // namespace

PortSpec parse_port_spec(std::string_view text) {
  PortSpec spec;
  spec.text = text;
  const auto parts = split_spec(text);
  spec.type = parts[0];
  if (spec.type.empty() || spec.type.find('=') != std::string::npos) {
    throw ConfigError("port '" + std::string(text) +
                      "': start with the port type, e.g. dpdk,dev=...");
  }
  VlanKeys vk;
  for (size_t i = 1; i < parts.size(); ++i) {
    const auto [key, value] = key_value(parts[i]);
    if (key.empty()) continue;
    if (parts[i].find('=') == std::string::npos) {
      throw ConfigError("port '" + std::string(text) + "': '" + parts[i] + "' is not key=value");
    }
    if (key == "segment") {
      spec.segment = value;
    } else if (apply_common(spec.settings, vk, key, value)) {
      spec.given.emplace_back(key);
    } else {
      spec.params.emplace(key, value);
    }
  }
  settle_vlan_mode(spec.settings, vk);
  return spec;
}

void apply_port_setting(PortSettings& s, std::string_view key, std::string_view value) {
  VlanKeys vk{s.vlan.mode, false};
  if (key == "trunks" && value == "all") {
    s.vlan.trunks = VlanSet{};
    return;
  }
  if (!apply_common(s, vk, key, value)) {
    throw ConfigError("cannot set '" + std::string(key) +
                      "' (settable: name, role, vlan-mode, tag, trunks, mtu, storm-broadcast, "
                      "storm-multicast, storm-unknown, max-macs, macs, sticky)");
  }
  // Giving a tag to a plain trunk port makes it an access port, as in a new port spec.
  if (key == "tag" && s.vlan.mode == VlanMode::trunk) vk.mode = VlanMode::access;
  if (key == "vlan-mode" && *vk.mode == VlanMode::access) s.vlan.trunks = VlanSet{};
  if (key == "vlan-mode" && *vk.mode == VlanMode::trunk) s.vlan.tag = 0;
  settle_vlan_mode(s, vk);
}

namespace {

bool is_segment_key(std::string_view key) {
  for (std::string_view k :
       {"mode", "policy", "fdb-size", "ageing", "aging", "flap-hold", "max-ports"}) {
    if (k == key) return true;
  }
  return false;
}

void apply_segment_key(SegmentSettings& s, std::string_view key, std::string_view value) {
  if (key == "mode") {
    if (value == "switch") {
      s.forwarding = Forwarding::learning;
    } else if (value == "hub") {
      s.forwarding = Forwarding::hub;
    } else {
      throw ConfigError("segment mode '" + std::string(value) + "': use switch or hub");
    }
  } else if (key == "policy") {
    s.policy = Policy::parse(value);
  } else if (key == "fdb-size") {
    s.fdb_limit = parse_uint("fdb-size", value, 1, 1u << 24);
  } else if (key == "ageing" || key == "aging") {
    s.ageing_s = parse_uint("ageing", value, 1, 1000000);
  } else if (key == "flap-hold") {
    s.flap_hold_ms = parse_uint("flap-hold", value, 0, 3600000);
  } else if (key == "max-ports") {
    s.max_ports = static_cast<uint16_t>(parse_uint("max-ports", value, 1, 4096));
  } else {
    throw ConfigError(
        "segment: unknown key '" + std::string(key) +
        "' (use mode, policy, fdb-size, ageing, flap-hold, max-ports, network, dhcp)");
  }
}

}  // namespace

SegmentSettings parse_segment_spec(std::string_view text) {
  return parse_segment(text).settings;
}

SegmentSpec parse_segment(std::string_view text) {
  const auto parts = split_spec(text);
  SegmentSpec spec;
  SegmentSettings& s = spec.settings;
  s.name = parts[0];
  if (s.name.empty() || s.name.find('=') != std::string::npos) {
    throw ConfigError("segment '" + std::string(text) +
                      "': start with its name, e.g. lan,mode=hub");
  }
  const NetworkPreset* network = nullptr;
  bool policy_given = false;
  SpecKeys others;  // for the network's ports
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    if (parts[i].find('=') == std::string::npos) {
      throw ConfigError("segment '" + std::string(text) + "': '" + parts[i] + "' is not key=value");
    }
    const auto [key, value] = key_value(parts[i]);
    if (key == "network") {
      network = find_network(value);
      if (!network) {
        throw ConfigError("network=" + std::string(value) + ": use " + network_names());
      }
    } else if (key == "policy" || is_segment_key(key)) {
      apply_segment_key(s, key, value);
      policy_given |= key == "policy";
    } else {
      others.emplace_back(key, value);
    }
  }
  if (network && network->complete) network->complete(s.name, others);
  std::optional<std::string> dhcp = take_dhcp_keys(s.name, others);
  if (network) {
    if (dhcp && network->name == "nat") {
      throw ConfigError("segment " + s.name +
                        ": network=nat has a DHCP server of its own (libslirp's); dhcp= is for "
                        "segments without one");
    }
    if (!policy_given) apply_segment_key(s, "policy", network->policy);
    spec.ports = network->ports(s.name, others);
  } else if (!others.empty()) {
    if (is_dhcp_key(others.front().first)) {
      throw ConfigError("segment " + s.name + ": " + others.front().first +
                        "= goes with dhcp=START-END (or network=nat)");
    }
    apply_segment_key(s, others.front().first, others.front().second);  // says it is unknown
  }
  if (dhcp) {
    if (!s.policy.matrix.allows(Role::vm, Role::service)) {
      throw ConfigError("segment " + s.name + ": policy " + s.policy.str() +
                        " keeps the guests from its DHCP server; add vm-service to it");
    }
    spec.ports.push_back(std::move(*dhcp));
  }
  return spec;
}

void apply_segment_setting(Segment& seg, std::string_view key, std::string_view value) {
  SegmentSettings s = seg.settings();
  apply_segment_key(s, key, value);
  if (key == "max-ports" || key == "name") throw ConfigError("cannot change " + std::string(key));
  if (s.forwarding != seg.settings().forwarding) seg.set_forwarding(s.forwarding);
  if (!(s.policy.matrix == seg.settings().policy.matrix) ||
      s.policy.mode != seg.settings().policy.mode) {
    seg.set_policy(s.policy);
  }
  if (s.fdb_limit != seg.settings().fdb_limit) seg.set_fdb_limit(s.fdb_limit);
  seg.set_ageing(s.ageing_s);
  seg.set_flap_hold(s.flap_hold_ms);
}

std::vector<std::string> port_name_list(const std::string& list) {
  std::vector<std::string> names;
  for (size_t at = 0; at <= list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    if (comma == at) throw ConfigError("'" + list + "' is not a list of port names");
    names.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return names;
}

}  // namespace vswitch::daemon
