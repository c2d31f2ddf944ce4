// Turns a port spec into what it describes: a port (dpdk, dgram) or a listener that makes ports
// as peers come (a VDE directory, a stream server, a reconnecting stream client).
#pragma once

#include <memory>

#include "daemon.hpp"
#include "spec.hpp"

namespace vswitch::daemon {

struct Built {
  std::unique_ptr<Port> port;
  std::unique_ptr<Listener> listener;
};

// Throws ConfigError when the spec names no plug vswitchd has, or keys its plug can tell are
// wrong without opening anything.
void check_port_spec(const PortSpec& spec);

// Throws ConfigError naming what is wrong with the spec or why the transport cannot open.
Built build_port(PortSpec& spec, Daemon& daemon, Segment& segment);

}  // namespace vswitch::daemon
