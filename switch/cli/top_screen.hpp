// The readable form of `vswitchctl top`'s rates: a table of ports and one of segments, numbers
// right-aligned with k/M/G so that a glance compares them.
#pragma once

#include <string>

#include "value.hpp"

namespace vswitch::cli {

// `rates` as rates() makes it.
std::string top_screen(const daemon::Value& rates);

// 1234567 as "1.23M": three significant digits, SI prefixes.
std::string si(double v);

}  // namespace vswitch::cli
