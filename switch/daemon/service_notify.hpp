// Readiness for a service manager (systemd's Type=notify): a datagram per state, "READY=1" once
// every port is up and the control socket listens, "STOPPING=1" when shutting down, sent to the
// AF_UNIX socket $NOTIFY_SOCKET names (a path, or an abstract name written with a leading '@').
// Without the variable it says nothing. The socket is connected when this is made, so it is
// reached with the rights vswitchd started with, whatever --user takes away later.
#pragma once

#include <string>

#include "common/fd.hpp"

namespace vswitch::daemon {

class ServiceNotifier {
 public:
  // Reads $NOTIFY_SOCKET and removes it from the environment, as sd_notify's callers may.
  ServiceNotifier();

  bool enabled() const { return static_cast<bool>(fd_); }
  // One "KEY=VALUE" line or several; false when it could not be sent (logged once).
  bool send(const std::string& state);
  void ready() { send("READY=1"); }
  void stopping() { send("STOPPING=1"); }

 private:
  plugs::Fd fd_;
  std::string where_;
};

}  // namespace vswitch::daemon
