#include "options.hpp"

#include "common/unix_socket.hpp"
#include "control_path.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "metrics_server.hpp"
#include "mirrors.hpp"
#include "port_factory.hpp"
#include "privileges.hpp"
#include "vswitch/error.hpp"

namespace po = boost::program_options;

namespace vswitch::daemon {

namespace {

constexpr const char* kExamples = R"(Examples:
  vswitchd
      as vde_switch with no options: a learning switch serving a VDE directory at
      /tmp/vde.ctl; add more ports at run time with `vswitchctl port add`
  vswitchd --port dpdk,dev=net_tap0,dev.iface=vs0,role=host \
           --port dpdk,dev=net_af_packet0,dev.iface=eth1,role=uplink
  vswitchd --segment lab,mode=hub --segment lan,policy=host-only \
           --port dpdk,segment=lan,dev=net_pcap0,dev.rx_pcap=in.pcap,tag=10
  vswitchd --eal "-l 2 -a 0000:03:00.0" --port dpdk,dev=0000:03:00.0,role=uplink
  vswitchd --config /etc/vswitchd/vswitchd.conf   (lines like: port = dpdk,dev=net_null0)
  vswitchd -s /tmp/vms --segment default,network=nat,hostfwd=tcp::2222-:22
      user networking for every guest of /tmp/vms, as QEMU's -netdev user gives one guest
  vswitchd -s /tmp/lab --segment lab,policy=host-only,dhcp=192.168.100.10-192.168.100.20,router=192.168.100.1
      a DHCP server for the guests of /tmp/lab, as dnsmasq on a host-only tap would be
  vswitchd -s /tmp/sw -M /tmp/sw.mgmt -d -p /tmp/sw.pid
      as vde_switch would: a VDE switch directory, its console, in the background
  qemu-system-x86_64 ... -netdev vde,id=n0,sock=/tmp/sw -device virtio-net-pci,netdev=n0

Port keys, common to every type: name=, segment=, role=vm|host|uplink|nat|service,
  vlan-mode=access|trunk|native-tagged|native-untagged, tag=N, trunks=10:20-30, mtu=N.
  A port with no VLAN keys carries every VLAN (tagged as they come, untagged in VLAN 0).
  Storm control, frames a second the port may flood (0: no limit; bursts of a tenth of a
  second pass): storm-broadcast=PPS, storm-multicast=PPS, storm-unknown=PPS (unknown unicast).
  Port security: max-macs=N (the most FDB entries the port holds; frames from further sources
  are dropped), macs=MAC[,MAC...] (the only sources allowed, pinned to the port), sticky=on
  (the first max-macs addresses learned stay, static). Frames claiming an address pinned to
  another port (its macs=, a NAT's or host tap's own) are dropped, reason "source".
  dpdk: dev=DEVARGS, dev.KEY=VALUE (one more devarg), rxd=N, txd=N.
  vde: path=DIR (a VDE switch directory; --vde DIR is short for it), numports=N, mode=0600,
    dirmode=02700, group=G; its ports are named NAME:N (NAME from name=, default vde) and
    take the port keys above as their defaults.
  QEMU's socket backends, with QEMU's keys seen from the switch's side:
    stream: server=on|off, addr.type=inet|unix, addr.host=, addr.port=, addr.path=
    socket: listen=HOST:PORT | connect=HOST:PORT | udp=HOST:PORT,localaddr=HOST:PORT
            | mcast=GROUP:PORT[,localaddr=IP]
    dgram: local.type=, local.host=, local.port=, local.path=, remote.type=, remote.host=...
    A server's clients become ports NAME:1, NAME:2...; a client side (server=off, connect=)
    reconnects with back-off: reconnect=MS (100), reconnect-max=MS (5000).
  Socket ports (vde, stream, socket, dgram) default to mtu=9216.
  nat: user networking for the whole segment (libslirp), with QEMU's -netdev user keys:
    net=10.0.2.0/24, host=, dhcpstart=, dns=, restrict=on|off, ipv6=on|off, ipv6-net=,
    ipv6-host=, ipv6-dns=, hostname=, domainname=, dnssearch=, tftp=, bootfile=,
    hostfwd=[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport (repeatable); role nat.
  dhcp: a DHCP server for the segment, role service: range=START-END, netmask=, router=,
    dns=A[:B...], lease=SECONDS (3600), host=MAC,IP[,NAME] (repeatable), server=IP,
    leases=PATH|none (default /var/lib/vswitchd/SEGMENT.leases, or ~/.local/state/vswitchd/).
  Write a comma inside a value twice (,,), as in QEMU.
Without --port, --vde or -s, vswitchd serves a VDE switch directory where vde_switch would
(/tmp/vde.ctl, /var/run/vde.ctl for root).
Segment keys: mode=switch|hub, policy=bridged|host-only|internal|nat|PAIRS
  (PAIRS like vm-vm+vm-nat), fdb-size=N, ageing=SECONDS, flap-hold=MS, and
  network=nat|internal: the mode's policy and ports in one key; network=nat adds a nat port
  named SEGMENT-nat and passes it the segment's other keys (hostfwd=...).
  dhcp=START-END adds a dhcp port SEGMENT-dhcp, with router=, dns=, lease=,
  dhcp-host=MAC,IP[,NAME] (repeatable), dhcp-netmask=, dhcp-server=, dhcp-leases=.
)";

uint32_t eal_memory_mb(uint32_t mbufs) {
  // An mbuf with its headroom and header is about 2.4 KiB. Without hugepages EAL's memory is
  // only reserved, and pages cost nothing until touched, so leave generous room for jumbo
  // pools and ports added at run time.
  const uint64_t pool_mb = (uint64_t{mbufs} * 2432 + (1u << 20) - 1) >> 20;
  return static_cast<uint32_t>(512 + pool_mb);
}

std::string cpu_list() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "0";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    if (!out.empty()) out += ',';
    out += std::to_string(c);
  }
  return out.empty() ? "0" : out;
}

int dpdk_level(LogLevel l) {
  // DPDK's own chatter (lcore counts, IOVA mode) is debug-level for a switch's user.
  return l == LogLevel::debug ? 7 : l == LogLevel::error ? 4 : 5;
}

}  // namespace

std::string default_vde_dir() {
  return geteuid() == 0 ? "/var/run/vde.ctl" : "/tmp/vde.ctl";
}

namespace {

// Boost 1.74 formats an error by replacing placeholders such as %value% in a loop that never
// ends when the user's text holds one. Boost therefore sees no '%' at all: each is escaped
// (with a control character no option needs) on the way in and restored on the way out.
constexpr char kEscape = '\x1a';

std::string hide_percents(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == kEscape) {
      out += kEscape;
      out += c == '%' ? 'p' : 'e';
    } else {
      out += c;
    }
  }
  return out;
}

std::string show_percents(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == kEscape && i + 1 < s.size()) {
      out += s[++i] == 'p' ? '%' : kEscape;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The config file's text, or why there is none.
std::optional<std::string> read_config(const std::string& path, std::string& why) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    why = "cannot read config file '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    why = "config file '" + path + "' is a directory";
    return std::nullopt;
  }
  std::ifstream in(path);
  std::ostringstream text;
  if (!(text << in.rdbuf()) && st.st_size > 0) {
    why = "cannot read config file '" + path + "'";
    return std::nullopt;
  }
  return text.str();
}

// The memory the pool of --mbufs needs must exist: without hugepages EAL only reserves it,
// and filling the pool would then take the host's memory page by page.
std::optional<std::string> check_mbufs(uint32_t mbufs) {
  if (mbufs < 1023) return "--mbufs " + std::to_string(mbufs) + ": at least 1023";
  const uint64_t need_mb = eal_memory_mb(mbufs);
  const uint64_t have_mb =
      uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGESIZE)) >> 20;
  if (need_mb > have_mb) {
    return "--mbufs " + std::to_string(mbufs) + " needs about " + std::to_string(need_mb) +
           " MiB of memory; this machine has " + std::to_string(have_mb) + " MiB";
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> default_eal_args(uint32_t memory_mb, LogLevel level) {
  return {"--no-huge",
          "--no-pci",
          "--no-shconf",
          "--no-telemetry",
          "-m",
          std::to_string(memory_mb),
          "--lcores",
          "0@(" + cpu_list() + ")",
          "--log-level=" + std::to_string(dpdk_level(level))};
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) throw ConfigError("unbalanced quote in '" + text + "'");
  if (in_word) words.push_back(std::move(cur));
  return words;
}

namespace {

// The options' values as the user wrote them, before they become Options.
struct RawOptions {
  std::string config_file, log_level = "info", control_mode = "0600", idle = "adaptive", eal,
                           metrics_listen, user;
  std::vector<std::string> segments, ports, vdes, mirrors;
  uint32_t mbufs = 0;
  std::string vde_sock, vde_mode = "0600", vde_dirmode, vde_group, mgmt, mgmt_mode = "0600",
                        mgmt_group, pidfile, rcfile;
  uint32_t numports = 32;
};

// Why the options cannot be used, or nothing when they can.
using Failure = std::optional<std::string>;

constexpr unsigned kWidth = 100;

po::options_description general_options(RawOptions& raw) {
  po::options_description general("General", kWidth);
  general.add_options()("help,h", "show this help and exit")("version",
                                                             "show the version and exit")(
      "config", po::value(&raw.config_file)->value_name("FILE"),
      "read options from FILE: one `key = value` per line, keys as the long options")(
      "log-level", po::value(&raw.log_level)->value_name("LEVEL"),
      "error, warn, info (default) or debug; logs go to stderr")(
      "control", po::value<std::string>()->value_name("PATH"),
      ("control socket for vswitchctl (default " + default_control_path() + ")").c_str())(
      "control-mode", po::value(&raw.control_mode)->value_name("MODE"),
      "octal permissions of the control socket (default 0600: owner only)")(
      "metrics-listen", po::value(&raw.metrics_listen)->value_name("[ADDR:]PORT"),
      "serve every counter to Prometheus at http://ADDR:PORT/metrics; ADDR 127.0.0.1 unless "
      "given, and a loopback address unless --metrics-remote")(
      "metrics-remote", po::bool_switch(),
      "let --metrics-listen take an address other hosts can reach")(
      "user", po::value(&raw.user)->value_name("USER[:GROUP]"),
      "once every port is open, run as USER (in GROUP, else USER's own) with only the "
      "capabilities the running ports need; from root, or as USER already");
  return general;
}

po::options_description switching_options(RawOptions& raw) {
  po::options_description switching("Switching", kWidth);
  switching.add_options()(
      "segment", po::value(&raw.segments)->composing()->value_name("NAME[,KEY=VALUE...]"),
      "a switch instance (repeatable); without any, one segment named `default`")(
      "port", po::value(&raw.ports)->composing()->value_name("TYPE,KEY=VALUE..."),
      "a port (repeatable); see the keys below")(
      "mirror", po::value(&raw.mirrors)->composing()->value_name("\"NAME src=P[,P] dst=P\""),
      "also send what ports src= receive and send to port dst= (repeatable; keys "
      "direction=in|out|both, vlan=LIST)")(
      "idle", po::value(&raw.idle)->value_name("MODE"),
      "adaptive (default: sleep when no frames move) or busy (poll without pause)");
  return switching;
}

po::options_description vde_options(RawOptions& raw) {
  po::options_description vde("VDE, and vde_switch's own options (same meaning)", kWidth);
  vde.add_options()("vde", po::value(&raw.vdes)->composing()->value_name("DIR[,KEY=VALUE...]"),
                    "serve a VDE switch directory (repeatable); short for --port vde,path=DIR")(
      "sock,s", po::value(&raw.vde_sock)->value_name("DIR"), "vde_switch -s: the switch directory")(
      "numports,n", po::value(&raw.numports)->value_name("N"),
      "number of ports of -s (default 32)")("hub,x", po::bool_switch(),
                                            "hub mode: the segment of -s repeats every frame")(
      "mode,m", po::value(&raw.vde_mode)->value_name("MODE"), "octal mode of -s's sockets (0600)")(
      "dirmode", po::value(&raw.vde_dirmode)->value_name("MODE"), "octal mode of -s's directory")(
      "group,g", po::value(&raw.vde_group)->value_name("GROUP"), "group of -s's sockets")(
      "mgmt,M", po::value(&raw.mgmt)->value_name("PATH"), "vde_switch management console socket")(
      "mgmtmode", po::value(&raw.mgmt_mode)->value_name("MODE"),
      "octal mode of the console (0600)")(
      "mgmtgroup", po::value(&raw.mgmt_group)->value_name("GROUP"), "group of the console")(
      "rcfile,f", po::value(&raw.rcfile)->value_name("FILE"), "console commands run at start-up")(
      "daemon,d", po::bool_switch(), "run in the background, logging to syslog")(
      "pidfile,p", po::value(&raw.pidfile)->value_name("FILE"), "write the process id to FILE");
  return vde;
}

po::options_description dpdk_options(RawOptions& raw) {
  po::options_description dpdk("DPDK", kWidth);
  dpdk.add_options()("eal", po::value(&raw.eal)->value_name("ARGS"),
                     "EAL arguments replacing the default (--no-huge --no-pci --no-shconf -m ...), "
                     "for hugepages and NICs")("mbufs", po::value(&raw.mbufs)->value_name("N"),
                                               "mbuf pool size (default: from the ports)");
  return dpdk;
}

// Every option, its value stored into raw; the order is --help's.
po::options_description describe_options(RawOptions& raw) {
  po::options_description all("Usage: vswitchd [OPTIONS]", kWidth);
  all.add(general_options(raw))
      .add(switching_options(raw))
      .add(vde_options(raw))
      .add(dpdk_options(raw));
  return all;
}

// The command line, then the config file it names, into vm and raw.
Failure read_variables(int argc, const char* const argv[], const po::options_description& all,
                       RawOptions& raw, po::variables_map& vm) {
  try {
    std::vector<std::string> words;
    for (int i = 1; i < argc; ++i)
      words.push_back(hide_percents(argv[i]));
    po::store(po::command_line_parser(words).options(all).run(), vm);
    if (vm.count("config")) {
      raw.config_file = show_percents(vm["config"].as<std::string>());
      std::string why;
      const auto text = read_config(raw.config_file, why);
      if (!text) return why;
      std::istringstream in(hide_percents(*text));
      po::store(po::parse_config_file(in, all), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return show_percents(e.what());
  }
  for (std::string* text :
       {&raw.log_level, &raw.control_mode, &raw.idle, &raw.eal, &raw.metrics_listen, &raw.user,
        &raw.vde_sock, &raw.vde_mode, &raw.vde_dirmode, &raw.vde_group, &raw.mgmt, &raw.mgmt_mode,
        &raw.mgmt_group, &raw.pidfile, &raw.rcfile}) {
    *text = show_percents(*text);
  }
  for (auto* list : {&raw.segments, &raw.ports, &raw.vdes, &raw.mirrors}) {
    for (std::string& text : *list)
      text = show_percents(text);
  }
  return std::nullopt;
}

// --help and --version: the text to print and exit with, if either was given.
std::optional<std::string> exit_message(const po::variables_map& vm,
                                        const po::options_description& all) {
  if (vm.count("help")) {
    std::ostringstream text;
    text << all << "\n" << kExamples;
    return text.str();
  }
  if (vm.count("version")) return std::string("vswitchd ") + VSWITCH_VERSION + "\n";
  return std::nullopt;
}

Failure take_user_and_log_level(const RawOptions& raw, const po::variables_map& vm, Options& out) {
  if (vm.count("user")) {
    try {
      out.user = parse_identity(raw.user);
    } catch (const ConfigError& e) {
      return "--user '" + raw.user + "': " + e.what();
    }
    if (const std::string why = why_cannot_become(*out.user); !why.empty()) {
      return "--user '" + raw.user + "': " + why;
    }
  }
  auto level = parse_log_level(raw.log_level);
  if (!level) return "--log-level '" + raw.log_level + "': use error, warn, info or debug";
  out.log_level = *level;
  return std::nullopt;
}

// The control socket, the modes and the metrics listener.
Failure take_sockets(const RawOptions& raw, const po::variables_map& vm, DaemonConfig& c) {
  c.control_path =
      vm.count("control") ? show_percents(vm["control"].as<std::string>()) : default_control_path();
  for (auto [flag, text] : {std::pair{"--control-mode", &raw.control_mode},
                            {"--mode", &raw.vde_mode},
                            {"--mgmtmode", &raw.mgmt_mode},
                            {"--dirmode", &raw.vde_dirmode}}) {
    if (!text->empty() && !plugs::parse_file_mode(*text)) {
      return std::string(flag) + " '" + *text + "' is not an octal mode like 0660";
    }
  }
  c.control_mode = *plugs::parse_file_mode(raw.control_mode);
  const bool remote = vm["metrics-remote"].as<bool>();
  if (!raw.metrics_listen.empty()) {
    try {
      c.metrics_listen = metrics_listen_address(raw.metrics_listen, remote);
    } catch (const ConfigError& e) {
      return "--metrics-listen '" + raw.metrics_listen + "': " + e.what();
    }
  } else if (remote) {
    return "--metrics-remote without --metrics-listen";
  }
  return std::nullopt;
}

Failure take_idle(const RawOptions& raw, DaemonConfig& c) {
  static const std::map<std::string, IdleMode, std::less<>> modes = {
      {"adaptive", IdleMode::adaptive}, {"busy", IdleMode::busy}};
  const auto it = modes.find(raw.idle);
  if (it == modes.end()) return "--idle '" + raw.idle + "': use adaptive or busy";
  c.engine.idle = it->second;
  return std::nullopt;
}

// vde_switch's options become a VDE port spec, a hub segment and the console; with no port at
// all, vswitchd serves the directory vde_switch would.
void take_vde_switch_options(RawOptions& raw, const po::variables_map& vm, DaemonConfig& c) {
  for (const auto& v : raw.vdes)
    raw.ports.push_back("vde,path=" + v);
  if (!raw.vde_sock.empty() || (raw.ports.empty() && raw.vdes.empty())) {
    std::string spec =
        "vde,path=" + spec_value(raw.vde_sock.empty() ? default_vde_dir() : raw.vde_sock) +
        ",numports=" + std::to_string(raw.numports) + ",mode=" + raw.vde_mode +
        ",port0-mode=" + raw.mgmt_mode;
    if (!raw.vde_dirmode.empty()) spec += ",dirmode=" + raw.vde_dirmode;
    if (!raw.vde_group.empty()) spec += ",group=" + spec_value(raw.vde_group);
    if (!raw.mgmt_group.empty()) spec += ",port0-group=" + spec_value(raw.mgmt_group);
    if (raw.segments.size() > 1) spec += ",segment=" + split_spec(raw.segments[0])[0];
    raw.ports.insert(raw.ports.begin(), spec);
  }
  if (vm["hub"].as<bool>()) {
    if (raw.segments.empty()) {
      raw.segments.push_back("default,mode=hub");
    } else {
      raw.segments[0] += ",mode=hub";
    }
  }
  if (!raw.mgmt.empty() || !raw.rcfile.empty()) {
    ConsoleConfig console;
    console.path = raw.mgmt;
    console.group = raw.mgmt_group;
    console.rcfile = raw.rcfile;
    console.mode = *plugs::parse_file_mode(raw.mgmt_mode);
    c.console = console;
  }
}

// Specs are checked now, so a typo costs a line and no DPDK start-up. Sets preset_ports to
// the ports the segments' network= bring.
Failure check_specs(const RawOptions& raw, std::vector<std::string>& preset_ports) {
  try {
    for (const auto& s : raw.segments) {
      for (const auto& p : parse_segment(s).ports) {
        check_port_spec(parse_port_spec(p));
        preset_ports.push_back(p);
      }
    }
    for (const auto& p : raw.ports)
      check_port_spec(parse_port_spec(p));
  } catch (const ConfigError& e) {
    return e.what();
  }
  try {
    for (const auto& m : raw.mirrors)
      parse_mirror(split_words(m));
  } catch (const ConfigError& e) {
    return "--mirror: " + std::string(e.what());
  }
  return std::nullopt;
}

// The mbuf pool and EAL's arguments, sized from every port the daemon will open.
Failure take_memory(const RawOptions& raw, const po::variables_map& vm,
                    std::vector<std::string> all_ports, Options& out) {
  DaemonConfig& c = out.config;
  c.mbufs = raw.mbufs ? raw.mbufs : default_mbufs(all_ports);
  if (auto err = check_mbufs(c.mbufs)) return err;
  try {
    if (!vm.count("eal")) out.eal_memory_mb = eal_memory_mb(c.mbufs);
    c.eal_args =
        vm.count("eal") ? split_words(raw.eal) : default_eal_args(out.eal_memory_mb, out.log_level);
  } catch (const ConfigError& e) {
    return std::string("--eal: ") + e.what();
  }
  return std::nullopt;
}

// The variables read into Options, checked; the first failure found, if any.
Failure take_variables(RawOptions& raw, const po::variables_map& vm, Options& out) {
  DaemonConfig& c = out.config;
  if (auto why = take_user_and_log_level(raw, vm, out)) return why;
  if (auto why = take_sockets(raw, vm, c)) return why;
  if (auto why = take_idle(raw, c)) return why;
  take_vde_switch_options(raw, vm, c);
  out.daemonize = vm["daemon"].as<bool>();
  out.pidfile = raw.pidfile;
  std::vector<std::string> preset_ports;
  if (auto why = check_specs(raw, preset_ports)) return why;
  c.segments = raw.segments;
  c.ports = raw.ports;
  c.mirrors = raw.mirrors;
  preset_ports.insert(preset_ports.end(), raw.ports.begin(), raw.ports.end());
  return take_memory(raw, vm, std::move(preset_ports), out);
}

}  // namespace

Options parse_options(int argc, const char* const argv[]) {
  Options out;
  RawOptions raw;
  const po::options_description all = describe_options(raw);
  po::variables_map vm;
  Failure why = read_variables(argc, argv, all, raw, vm);
  if (!why) {
    if (auto message = exit_message(vm, all)) {
      out.action = Options::Action::exit;
      out.message = *message;
      return out;
    }
    why = take_variables(raw, vm, out);
  }
  if (why) {
    out.action = Options::Action::exit;
    out.exit_status = 2;
    out.message = "vswitchd: " + *why + " (see vswitchd --help)\n";
  }
  return out;
}

}  // namespace vswitch::daemon
