// The networking modes a VM user knows, each one key on a segment (network=): the policy the
// mode means and the ports it needs, made with the segment, with the segment's other keys
// passed on to them. `--segment default,network=nat,hostfwd=tcp::2222-:22` is QEMU's
// `-netdev user,hostfwd=tcp::2222-:22` shared by every guest of the segment.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vswitch::daemon {

using SpecKeys = std::vector<std::pair<std::string, std::string>>;

struct NetworkPreset {
  std::string_view name;
  std::string_view policy;  // unless the segment names its own
  // The port specs the mode adds to `segment`, given the keys the segment itself did not know;
  // throws ConfigError for a key the mode does not take either.
  std::vector<std::string> (*ports)(const std::string& segment, const SpecKeys& keys);
};

const NetworkPreset* find_network(std::string_view name);
// "nat, internal", for messages.
std::string network_names();

}  // namespace vswitch::daemon
