#include "fuzz_daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "eal.hpp"
#include "spec.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::fuzz {

namespace {

// The ports the daemon starts with, by name, and their specs.
const std::map<std::string, std::string> kStartPorts = {
    {"null0", "dpdk,name=null0,dev=net_null0,segment=lab"},
    {"null1", "dpdk,name=null1,dev=net_null1,segment=default,tag=10"},
};
// Their segments and settings once started, to tell which ones an input changed.
std::map<std::string, std::pair<const Segment*, PortSettings>> g_start_settings;

bool same(const Port& p, const Segment& seg) {
  auto it = g_start_settings.find(p.name());
  if (it == g_start_settings.end()) return false;
  const auto& [start_seg, s] = it->second;
  const PortSettings& now = p.settings();
  return &seg == start_seg && now.role == s.role && now.vlan == s.vlan && now.mtu == s.mtu;
}

constexpr size_t kMaxSegments = 16;
constexpr size_t kMaxListeners = 16;
// An FDB is sized up front; the 2^24 entries a spec may ask for cost about a gigabyte, a user's
// choice rather than a defect, and more than libFuzzer's memory limit.
constexpr uint64_t kLargestFdb = 1u << 16;

bool over_largest_fdb(std::string_view value) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  return ec == std::errc::result_out_of_range || (ec == std::errc{} && n > kLargestFdb);
}

bool inside(const FuzzDaemon& d, const std::optional<std::string>& path) {
  if (!path || path->rfind(d.dir + "/", 0) != 0) return false;
  return path->find("..") == std::string::npos;
}

// Port types whose transport stays inside the temporary directory (or is DPDK's null device, or
// is a DHCP server whose lease file is there or nowhere),
// with what must hold of their keys. TCP and UDP sockets, and DPDK devices that create
// interfaces or write files, are left out.
bool allowed_port(const FuzzDaemon& d, daemon::PortSpec& spec) {
  auto unix_inside = [&](const std::string& prefix) {
    return spec.take(prefix + ".type") == "unix" && inside(d, spec.take(prefix + ".path"));
  };
  if (spec.type == "dpdk") {
    const auto dev = spec.take("dev");
    return dev && dev->rfind("net_null", 0) == 0 && dev->find(',') == std::string::npos;
  }
  if (spec.type == "vde") return inside(d, spec.take("path"));
  if (spec.type == "stream") return unix_inside("addr");
  if (spec.type == "dgram") return unix_inside("local") && unix_inside("remote");
  if (spec.type == "dhcp") {
    const auto leases = spec.take("leases");
    return leases == "none" || inside(d, leases);
  }
  return false;
}

bool listener_type(const std::string& type) {
  return type == "vde" || type == "stream";
}

// The segment keys that set the segment's own tables. Any other may make ports of its own
// (user networking with host forwards, say), which the port rules above would not see.
bool segment_keys_allowed(const std::vector<std::string>& items) {
  static const std::set<std::string, std::less<>> kKeys = {
      "mode", "policy", "fdb-size", "ageing", "aging", "flap-hold", "max-ports"};
  for (const auto& item : items) {
    const std::string_view key = std::string_view(item).substr(0, item.find('='));
    if (!item.empty() && !kKeys.count(key)) return false;
    if (key == "fdb-size" && over_largest_fdb(item.substr(std::min(item.size(), key.size() + 1)))) {
      return false;
    }
  }
  return true;
}

constexpr const char* kDirPrefix = "/tmp/vswitch-fuzz-";

// A run that ends in a finding exits without its atexit() handlers, leaving its directory (and
// sockets) behind; the next run clears those whose process is gone.
void remove_dirs_of_dead_runs() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/tmp", ec)) {
    const std::string name = e.path().string();
    if (name.rfind(kDirPrefix, 0) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + strlen(kDirPrefix), &end, 10);
    if (pid > 0 && *end == '-' && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::filesystem::remove_all(e.path(), ec);
    }
  }
}

}  // namespace

FuzzDaemon& fuzz_daemon() {
  static FuzzDaemon* d = [] {
    if (!test::start_eal()) abort();
    set_log_level(LogLevel::error);
    remove_dirs_of_dead_runs();
    std::string dir = kDirPrefix + std::to_string(getpid()) + "-XXXXXX";
    if (!mkdtemp(dir.data())) abort();
    auto* fd = new FuzzDaemon{dir, nullptr, nullptr};
    std::atexit([] { std::filesystem::remove_all(fuzz_daemon().dir); });
    daemon::DaemonConfig c;
    c.control_path = fd->dir + "/ctl";
    c.segments = {"default", "lab,mode=hub,policy=host-only"};
    c.ports = {"vde,path=" + fd->dir + "/vde,numports=8,segment=default"};
    for (const auto& [name, spec] : kStartPorts)
      c.ports.push_back(spec);
    c.mbufs = 8191;
    // Never destroyed: the harness ends by exit(), with EAL's threads still running.
    fd->daemon = new daemon::Daemon(c);
    fd->daemon->start();
    fd->daemon->engine().for_each_port([](Segment& s, uint16_t, Port& p) {
      g_start_settings[p.name()] = {&s, p.settings()};
    });
    daemon::ConsoleConfig console;
    console.path = fd->dir + "/mgmt";
    fd->console = new daemon::VdeConsole(*fd->daemon, console);
    return fd;
  }();
  return *d;
}

std::string in_dir(const FuzzDaemon& d, std::string line) {
  for (size_t at = 0; (at = line.find("@/", at)) != std::string::npos; at += d.dir.size())
    line.replace(at, 1, d.dir);
  return line;
}

bool allowed(const FuzzDaemon& d, const std::vector<std::string>& args) {
  const std::string cmd = args.empty() ? "" : args[0];
  const std::string sub = args.size() > 1 ? args[1] : "";
  Engine& engine = d.daemon->engine();
  if (cmd == "port" && sub == "add" && args.size() > 2) {
    daemon::PortSpec spec;
    try {
      spec = daemon::parse_port_spec(args[2]);
    } catch (const ConfigError&) {
      return true;  // refused before anything is opened
    }
    if (listener_type(spec.type) && d.daemon->listeners().size() >= kMaxListeners) return false;
    try {
      return allowed_port(d, spec);
    } catch (const ConfigError&) {
      // A key given twice can make take() throw: keep the spec out rather than work out how
      // far the daemon would get with it.
      return false;
    }
  }
  if (cmd == "segment" && sub == "add" && args.size() > 2) {
    if (engine.segments().size() >= kMaxSegments) return false;
    auto items = daemon::split_spec(args[2]);
    items.erase(items.begin());  // the name
    return segment_keys_allowed(items);
  }
  if (cmd == "segment" && sub == "set" && args.size() > 3) {
    return segment_keys_allowed({args.begin() + 3, args.end()});
  }
  // `shutdown` stays: the engine never runs here, so stopping it only raises a flag.
  return true;
}

void restore_ports(FuzzDaemon& d) {
  std::vector<std::string> gone;
  std::set<std::string> kept;
  d.daemon->engine().for_each_port([&](Segment& seg, uint16_t, Port& p) {
    if (same(p, seg)) {
      kept.insert(p.name());
    } else {
      gone.push_back(p.name());
    }
  });
  for (const auto& name : gone)
    d.daemon->remove_port(name);
  for (const auto& [name, spec] : kStartPorts) {
    if (!kept.count(name)) d.daemon->add_port(spec);
  }
}

}  // namespace vswitch::fuzz
