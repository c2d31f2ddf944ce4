// Where vswitchd listens for control commands unless told otherwise; vswitchctl agrees.
#pragma once

#include <string>

namespace vswitch::daemon {

// /run/vswitchd.sock for root, else $XDG_RUNTIME_DIR/vswitchd.sock or /tmp/vswitchd-UID.sock.
std::string default_control_path();

}  // namespace vswitch::daemon
