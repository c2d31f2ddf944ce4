// --user for the daemon: what it still needs once its ports are open (the capabilities of the
// ports that use one after opening, the files it made that it must still change or remove), and
// the drop itself.
#pragma once

#include <string>
#include <vector>

#include "privileges.hpp"

namespace vswitch::daemon {

class Daemon;

// Each capability a running port of `d` needs, with the port and the reason; a port that
// needed one only to open (a tap, an uplink's AF_PACKET socket) needs none.
std::vector<KeptCapability> capabilities_needed(Daemon& d, const Identity& who);

// The files and directories the daemon made that it must keep using as `who`: the control and
// console sockets (removed at exit), the VDE directories (a data socket per client), the DHCP
// lease files and the directory of the default ones (rewritten through a rename).
std::vector<std::string> files_to_hand_over(Daemon& d);

// Gives each path to `who` (its group stays); throws ConfigError naming the first that fails.
void hand_over(const std::vector<std::string>& paths, const Identity& who);

// Hands the daemon's files (and `more`, the pid file) over, becomes `who` keeping what the ports
// need, and logs who it is now and why it kept what it kept; throws ConfigError.
void drop_privileges(Daemon& d, const Identity& who, std::vector<std::string> more);

}  // namespace vswitch::daemon
