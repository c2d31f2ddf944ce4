// vswitchd's command line and config file (Boost.Program_options; the file takes the same keys
// as the long options). Checks everything it can before DPDK starts, so a bad option costs
// one clear line and exit status 2.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "privileges.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

struct Options {
  enum class Action { run, exit };
  Action action = Action::run;
  int exit_status = 0;
  std::string message;  // printed before exiting: help, version or the error line
  DaemonConfig config;
  LogLevel log_level = LogLevel::info;
  bool daemonize = false;  // -d: detach, log to syslog, report start-up through a pipe
  std::string pidfile;
  uint32_t eal_memory_mb = 0;    // what the embedded EAL default reserves; 0 under --eal
  std::optional<Identity> user;  // --user: who to become once the ports are open
};

// Where vde_switch puts its switch directory when not told: /var/run/vde.ctl for root, else
// /tmp/vde.ctl. vswitchd with no ports does the same, so it can replace vde_switch as is.
std::string default_vde_dir();

Options parse_options(int argc, const char* const argv[]);

// The EAL arguments that need no root, hugepages, PCI or shared state.
std::vector<std::string> default_eal_args(uint32_t memory_mb, LogLevel level);

// Splits "-l 1-3 -a '0000:03:00.0'" as a shell would (quotes, backslashes).
std::vector<std::string> split_words(const std::string& text);

}  // namespace vswitch::daemon
