// Where vswitchd listens for control commands unless told otherwise; vswitchctl agrees.
#pragma once

#include <string>

namespace vswitch::daemon {

// /run/vswitchd/vswitchd.sock for root (a directory of its own, as systemd's
// RuntimeDirectory=vswitchd makes it, and vswitchd when it is missing), else
// $XDG_RUNTIME_DIR/vswitchd.sock or /tmp/vswitchd-UID.sock.
std::string default_control_path();

}  // namespace vswitch::daemon
