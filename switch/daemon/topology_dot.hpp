// The switch's topology as a Graphviz graph (`vswitchctl show --dot | dot -Tsvg`): each
// segment a cluster around its switch, each port a node drawn by its plug and role, and behind
// each port the MAC addresses its segment's FDB holds there.
#pragma once

#include <string>

#include "vswitch/engine.hpp"

namespace vswitch::daemon {

// Node names: "segment:NAME", "port:NAME", "macs:NAME" (the addresses behind port NAME).
std::string topology_dot(const Engine& engine);

}  // namespace vswitch::daemon
