#include "control_path.hpp"

#include <unistd.h>

#include <cstdlib>

namespace vswitch::daemon {

std::string default_control_path() {
  if (geteuid() == 0) return "/run/vswitchd/vswitchd.sock";
  if (const char* xdg = getenv("XDG_RUNTIME_DIR"); xdg && *xdg) {
    return std::string(xdg) + "/vswitchd.sock";
  }
  return "/tmp/vswitchd-" + std::to_string(geteuid()) + ".sock";
}

}  // namespace vswitch::daemon
