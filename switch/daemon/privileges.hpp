// Running with less than vswitchd started with (--user USER[:GROUP]): who to become, and the
// change itself, done on every thread of the process. Capabilities are set through the capget
// and capset system calls directly, so no library is needed for them.
//
// Started as root, vswitchd takes USER's groups, gid and uid, keeping across the change only the
// capabilities its running ports still need. Started as USER already (systemd's User= with
// AmbientCapabilities=), it only sheds the capabilities no port needs. Either way, afterwards:
// - the main thread (the engine's: control plane and datapath) holds exactly those
//   capabilities, permitted and effective, and none inheritable or ambient;
// - every other thread (DPDK's interrupt thread, vhost's) holds none;
// - the bounding set is narrowed to them, where the process may narrow it (CAP_SETPCAP);
// - no thread may gain privileges again through exec (PR_SET_NO_NEW_PRIVS).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace vswitch::daemon {

struct Identity {
  std::string user;   // the name, or the number when the user has no name
  std::string group;  // likewise
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary: USER's, as initgroups would give them
};

// "USER[:GROUP]", each a name or a number, to an identity; throws ConfigError. Without GROUP,
// USER's own group; a number with no user of that number needs GROUP.
Identity parse_identity(const std::string& text);

// Why this process cannot become `who` (empty when it can): root may become anyone, anyone else
// only who it already is.
std::string why_cannot_become(const Identity& who);

// A capability kept, and what needs it ("nat port nat0: ...").
struct KeptCapability {
  int number = 0;
  std::string reason;
};

// "CAP_NET_ADMIN"; "capability N" for one this table does not name.
std::string capability_name(int number);

struct Change {
  std::vector<KeptCapability> kept;    // of those asked for, the ones the process had
  std::vector<KeptCapability> lacked;  // asked for, but the process never had them
  bool bounding_narrowed = false;      // false: it lacked CAP_SETPCAP
};

// Becomes `who` keeping `keep`, as the header says; throws ConfigError when any step fails, or
// when a thread does not take its part within a second.
Change become(const Identity& who, const std::vector<KeptCapability>& keep);

// One line for the log: who the process runs as now, and what it kept and why.
std::string describe(const Identity& who, const Change& change);

}  // namespace vswitch::daemon
