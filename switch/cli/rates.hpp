// Rates from two `stats` samples of the same switch: per port frames and bits a second in and
// out and drops a second by reason, per segment the FDB's activity a second. What
// `vswitchctl top` shows, and its --json.
#pragma once

#include <optional>
#include <string>

#include "value.hpp"

namespace vswitch::cli {

// `before` and `after` as `stats --json` gives them, after taken later. A counter that went
// down was reset in between (`counters reset`) and counts from zero; a port or segment that
// came in between counts from zero too, one that went is left out. nullopt when the samples
// are not in time order.
std::optional<daemon::Value> rates(const daemon::Value& before, const daemon::Value& after);

}  // namespace vswitch::cli
