// Every counter of the switch in the Prometheus text format: what `vswitchctl metrics` prints
// and what the /metrics endpoint serves.
#pragma once

#include <string>

#include "vswitch/engine.hpp"

namespace vswitch::daemon {

std::string metrics_text(const Engine& engine);

}  // namespace vswitch::daemon
