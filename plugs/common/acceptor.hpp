// Taking connections off a listening socket when the process may be out of file descriptors.
//
// With the descriptor limit reached, accept() fails with EMFILE and leaves the connection
// pending, so the listener stays readable and an event loop spins on it. An Acceptor then takes
// the connection with a descriptor kept spare for this and closes it at once: the listener goes
// quiet, the client sees its connection end instead of hanging, and the switch logs it once per
// interval and counts it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "vswitch/log.hpp"

namespace vswitch::plugs {

// Connections a listener takes per wake-up: the rest wait for the next round, so clients
// connecting in a loop cannot hold the engine's thread.
inline constexpr int kAcceptsPerWake = 64;

class Acceptor {
 public:
  // `what` names the listener in the log ("control socket", "vde /run/sw").
  explicit Acceptor(std::string what);

  // The next pending connection, non-blocking and close-on-exec; -1 when none is left to take.
  int accept(int listen_fd, sockaddr* peer = nullptr, socklen_t* peer_len = nullptr);
  // Connections closed unserved for want of a descriptor.
  uint64_t shed() const { return shed_; }

 private:
  // Takes one pending connection with the spare descriptor and closes it; false if none waits.
  bool shed_one(int listen_fd, int error);

  std::string what_;
  uint64_t shed_ = 0;
  LogLimiter log_{10000};
};

}  // namespace vswitch::plugs
