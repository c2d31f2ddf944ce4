#include "daemon_privileges.hpp"

#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "control_server.hpp"
#include "daemon.hpp"
#include "dhcp/lease_file.hpp"
#include "vde/vde_server.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

std::string detail(const Port& p, const std::string& key) {
  for (const auto& [k, v] : p.details()) {
    if (k == key) return v;
  }
  return "";
}

// net.ipv4.ping_group_range, as this network namespace has it: the groups that may open ICMP
// ping sockets, which need no capability.
bool ping_sockets_open_to(const Identity& who) {
  std::ifstream in("/proc/sys/net/ipv4/ping_group_range");
  long lo = 1, hi = 0;
  if (!(in >> lo >> hi)) return false;
  return std::any_of(who.groups.begin(), who.groups.end(), [&](gid_t g) {
    return static_cast<long>(g) >= lo && static_cast<long>(g) <= hi;
  });
}

// A port that uses a capability after it opened. Every other kind needs none once open, as
// measured: a tap and an uplink send and receive on the descriptors they opened with; a tap
// vswitchd created goes when its descriptor closes; DPDK's net_tap, whose stop cannot set its
// interface's flags without CAP_NET_ADMIN, still stops and closes, and its interface goes.
struct RunningNeed {
  std::string_view kind;
  int capability;
  // The reason, or empty when this port does not need it.
  std::string (*reason)(const Port& p, const Identity& who);
};

std::string nat_reason(const Port& p, const Identity& who) {
  // A restricted network reaches nothing outside, pings included.
  if (detail(p, "restrict") == "on" || ping_sockets_open_to(who)) return "";
  return "libslirp forwards guests' pings through raw ICMP sockets, and ping sockets are closed "
         "to its groups (net.ipv4.ping_group_range)";
}

constexpr RunningNeed kRunningNeeds[] = {
    {"nat", CAP_NET_RAW, nat_reason},
};

}  // namespace

std::vector<KeptCapability> capabilities_needed(Daemon& d, const Identity& who) {
  std::vector<KeptCapability> out;
  d.engine().for_each_port([&](Segment&, uint16_t, Port& p) {
    for (const RunningNeed& need : kRunningNeeds) {
      if (p.kind() != need.kind) continue;
      const std::string why = need.reason(p, who);
      if (why.empty()) continue;
      auto same = [&](const KeptCapability& k) { return k.number == need.capability; };
      if (auto it = std::find_if(out.begin(), out.end(), same); it != out.end()) {
        it->reason += "; port " + p.name();
      } else {
        out.push_back({need.capability, std::string(p.kind()) + " port " + p.name() + ": " + why});
      }
    }
  });
  return out;
}

std::vector<std::string> files_to_hand_over(Daemon& d) {
  std::vector<std::string> paths;
  const ControlServer& control = d.control_server();
  if (!control.made_directory().empty()) paths.push_back(control.made_directory());
  paths.push_back(control.path());
  if (d.config().console && !d.config().console->path.empty()) {
    paths.push_back(d.config().console->path);
  }
  for (const auto& l : d.listeners()) {
    if (!l->vde) continue;
    paths.push_back(l->vde->dir());
    paths.push_back(l->vde->dir() + "/ctl");
  }
  d.engine().for_each_port([&](Segment& seg, uint16_t, Port& p) {
    if (p.kind() != "dhcp") return;
    const std::string file = detail(p, "lease_file");
    if (file.empty() || file == "none") return;
    // Its own directory, /var/lib/vswitchd, is the daemon's; one the user named stays theirs.
    if (file == plugs::dhcp::default_lease_file(seg.name())) {
      paths.push_back(file.substr(0, file.rfind('/')));
    }
    paths.push_back(file);
  });
  return paths;
}

void hand_over(const std::vector<std::string>& paths, const Identity& who) {
  for (const std::string& path : paths) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || st.st_uid == who.uid) continue;  // none, or theirs
    if (lchown(path.c_str(), who.uid, static_cast<gid_t>(-1)) != 0) {
      throw ConfigError("giving " + path + " to " + who.user + ": " + std::strerror(errno));
    }
  }
}

void drop_privileges(Daemon& d, const Identity& who, std::vector<std::string> more) {
  std::vector<std::string> paths = files_to_hand_over(d);
  paths.insert(paths.end(), more.begin(), more.end());
  hand_over(paths, who);
  const Change change = become(who, capabilities_needed(d, who));
  log(LogLevel::info, "%s", describe(who, change).c_str());
  for (const KeptCapability& c : change.lacked) {
    log(LogLevel::warn, "%s is wanted (%s) but vswitchd never had it",
        capability_name(c.number).c_str(), c.reason.c_str());
  }
  std::string kept;
  for (const KeptCapability& c : change.kept)
    kept += (kept.empty() ? "" : ", ") + capability_name(c.number);
  d.set_privilege_note("vswitchd runs as " + who.user + " since start-up (--user) with " +
                       (kept.empty() ? "no capabilities" : "only " + kept) +
                       "; give the port at start-up instead");
}

}  // namespace vswitch::daemon
