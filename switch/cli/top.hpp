// vswitchctl top: every port's rates and every segment's FDB activity, from two `stats`
// samples --interval seconds apart, redrawn until Ctrl-C or q; --once prints one sample of
// rates and exits, --json as JSON (one object a line when not --once).
#pragma once

#include <string>
#include <vector>

namespace vswitch::cli {

// args: "top" and its options. The exit status, as vswitchctl's.
int run_top(const std::string& socket_path, const std::vector<std::string>& args, bool json);

}  // namespace vswitch::cli
