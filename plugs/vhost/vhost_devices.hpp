// Which port a vhost library callback is about: the library names a device by its socket's
// path, so the ports register theirs here. The callbacks run on the library's threads (and on
// the engine's, inside rte_vhost_driver_unregister); each finds its port under one mutex.
#pragma once

#include <string>

struct rte_vhost_device_ops;

namespace vswitch::plugs::vhost {

class VhostPort;

void add_port(const std::string& path, VhostPort* port);
// Once the library has let go of the path: no callback reaches the port after this returns.
void remove_port(const std::string& path);
const rte_vhost_device_ops* device_ops();

}  // namespace vswitch::plugs::vhost
