// One real daemon for the harnesses that drive its front ends (the control commands, the
// vde_switch console): EAL as the tests start it, two segments, a VDE directory and a control
// socket in a temporary directory. Started once per process, as the real one is.
#pragma once

#include <string>
#include <vector>

#include "daemon.hpp"
#include "vde_console.hpp"

namespace vswitch::fuzz {

struct FuzzDaemon {
  std::string dir;  // the temporary directory; removed at exit
  daemon::Daemon* daemon;
  daemon::VdeConsole* console;
};

FuzzDaemon& fuzz_daemon();

// An input line with each "@/" turned into the temporary directory: the inputs' way of naming
// paths the harness lets a port use (its directory's name changes from run to run).
std::string in_dir(const FuzzDaemon& d, std::string line);

// Whether the harness lets a control command run: what would reach outside the temporary
// directory, or take memory without bound across runs, is kept out (the .cpp says which).
bool allowed(const FuzzDaemon& d, const std::vector<std::string>& args);

// Removes the ports one input added and puts back the ones it removed, so mbufs and DPDK
// ports do not run out over a long run. Segments and listeners cannot be removed and stay.
void restore_ports(FuzzDaemon& d);

}  // namespace vswitch::fuzz
