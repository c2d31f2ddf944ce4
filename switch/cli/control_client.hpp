// One request to vswitchd's control socket from a program that goes on afterwards (vswitchctl
// top asks for `stats` again and again): the --json reply as a Value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "value.hpp"

namespace vswitch::cli {

struct ControlError {
  bool unreachable = false;  // no switch answered, rather than a refused command
  std::string message;
};

// The reply's value, or nullopt with the reason in *error.
std::optional<daemon::Value> request_json(const std::string& socket_path,
                                          const std::vector<std::string>& args,
                                          ControlError* error);

}  // namespace vswitch::cli
