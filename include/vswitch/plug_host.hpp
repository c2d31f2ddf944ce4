// What a plug that makes ports of its own accord (a listener: a VDE switch directory, a TCP
// server) needs of the switch, without knowing segments or FDBs. The daemon implements it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vswitch/port.hpp"

namespace vswitch {

// The plug that owns a port, asked to let it go when an operator removes it.
class PortOwner {
 public:
  virtual ~PortOwner() = default;
  // Close the port's transport and detach it from the switch.
  virtual void remove(Port& port) = 0;
  // The port reported closed() (its peer went away); by default it is removed.
  virtual void closed(Port& port) { remove(port); }
  // Figures of the plug itself, which outlive its ports (connections taken, refusals...).
  virtual std::vector<std::pair<std::string, std::string>> details() const { return {}; }
};

class PlugHost {
 public:
  using TimerId = uint64_t;
  virtual ~PlugHost() = default;

  // Throws ConfigError when the switch refuses the port (its settings, a full segment).
  virtual void attach(std::unique_ptr<Port> port, PortOwner* owner) = 0;
  virtual std::unique_ptr<Port> detach(Port& port) = 0;
  virtual void reconfigure(Port& port, const PortSettings& settings) = 0;
  // Forgets the addresses learned on the port: its peer changed (a reconnection).
  virtual void forget(Port& port) = 0;

  // Control-plane descriptors and timers, served between bursts on the datapath's thread.
  virtual void watch(int fd, uint32_t events, std::function<void(uint32_t)> cb) = 0;
  virtual void unwatch(int fd) = 0;
  virtual TimerId every(uint32_t period_ms, std::function<void(uint64_t now_ms)> fn) = 0;
  virtual void cancel(TimerId id) = 0;
  virtual uint64_t now_ms() const = 0;
};

}  // namespace vswitch
