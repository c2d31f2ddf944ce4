// The networking modes a VM user knows, each one key on a segment (network=): the policy the
// mode means and the ports it needs, made with the segment, with the segment's other keys
// passed on to them. `--segment default,network=nat,hostfwd=tcp::2222-:22` is QEMU's
// `-netdev user,hostfwd=tcp::2222-:22` shared by every guest of the segment.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vswitch::daemon {

using SpecKeys = std::vector<std::pair<std::string, std::string>>;

struct NetworkPreset {
  std::string_view name;
  std::string_view policy;  // unless the segment names its own
  // Before the segment's DHCP keys are read: the ones the mode implies (host-only's range from
  // the host's subnet); may be null.
  void (*complete)(const std::string& segment, SpecKeys& keys);
  // The port specs the mode adds to `segment`, given the keys the segment itself did not know;
  // throws ConfigError for a key the mode does not take either.
  std::vector<std::string> (*ports)(const std::string& segment, const SpecKeys& keys);
};

const NetworkPreset* find_network(std::string_view name);

// The segment keys of its DHCP server, taken out of `keys`: dhcp=START-END, router=, dns=,
// lease=, dhcp-host=MAC,IP[,NAME] (repeatable), dhcp-netmask=, dhcp-server=, dhcp-leases=,
// dhcp-taken=. With
// dhcp= among them, the spec of the dhcp port SEGMENT-dhcp they describe; without it, nullopt,
// dns= left where it is (a NAT has one too) and the other keys a ConfigError saying that they
// need dhcp=.
std::optional<std::string> take_dhcp_keys(const std::string& segment, SpecKeys& keys);
// Whether a segment key belongs to the DHCP server, for messages.
bool is_dhcp_key(std::string_view key);
// "nat, bridged, host-only, internal", for messages.
std::string network_names();

}  // namespace vswitch::daemon
