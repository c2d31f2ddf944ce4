// The command layer: every way of inspecting or changing the running switch, as functions of
// argument lists returning values. vswitchctl reaches it through the control socket; the
// vde_switch console is another front end over the same functions.
#pragma once

#include <string>
#include <vector>

#include "value.hpp"

namespace vswitch::daemon {

class Daemon;

struct Reply {
  bool ok = true;
  Value body;
  std::string error;

  static Reply fail(std::string message) { return Reply{false, Value(), std::move(message)}; }
};

class Commands {
 public:
  explicit Commands(Daemon& daemon) : daemon_(daemon) {}

  Reply run(const std::vector<std::string>& args);
  // A control-socket request line in, the reply bytes out (see ControlServer).
  std::string serve(const std::string& request);
  static std::string usage();

  // Pieces the other front ends reuse.
  Value port_info(const std::string& name) const;
  Value segment_info(const std::string& name) const;

 private:
  Daemon& daemon_;
};

}  // namespace vswitch::daemon
