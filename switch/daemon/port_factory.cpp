#include "port_factory.hpp"

#include <sys/socket.h>

#include <algorithm>

#include "common/socket_address.hpp"
#include "common/unix_socket.hpp"
#include "dhcp/dhcp_port.hpp"
#include "dpdk/ethdev_port.hpp"
#include "nat/nat_port.hpp"
#include "packet/uplink_port.hpp"
#include "qemu/dgram_port.hpp"
#include "qemu/stream_client.hpp"
#include "qemu/stream_server.hpp"
#include "tap/tap_port.hpp"
#include "vde/vde_server.hpp"
#include "vhost/vhost_port.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

using plugs::SocketAddress;

mode_t parse_mode(const std::string& what, const std::string& text) {
  auto mode = plugs::parse_file_mode(text);
  if (!mode) throw ConfigError(what + ": '" + text + "' is not an octal mode like 0660");
  return *mode;
}

gid_t parse_group(const std::string& text) {
  auto g = plugs::lookup_group(text);
  if (!g) throw ConfigError("no group named '" + text + "'");
  return *g;
}

bool on_off(PortSpec& spec, const std::string& key, bool fallback) {
  auto v = spec.take(key);
  if (!v) return fallback;
  if (*v == "on" || *v == "yes" || *v == "true") return true;
  if (*v == "off" || *v == "no" || *v == "false") return false;
  throw ConfigError(key + "='" + *v + "': use on or off");
}

// QEMU's SocketAddress keys under a prefix: PREFIX.type=inet|unix, .host, .port, .path.
SocketAddress qemu_address(PortSpec& spec, const std::string& prefix, bool host_needed) {
  const std::string type = spec.take(prefix + ".type").value_or("inet");
  if (type == "unix") {
    auto path = spec.take(prefix + ".path");
    if (!path) throw ConfigError(prefix + ".type=unix needs " + prefix + ".path");
    return SocketAddress::unix_path(*path);
  }
  if (type != "inet") throw ConfigError(prefix + ".type=" + type + ": use inet or unix");
  const std::string host = spec.take(prefix + ".host").value_or("");
  auto port = spec.take(prefix + ".port");
  if (!port) throw ConfigError(prefix + ".type=inet needs " + prefix + ".port");
  if (host.empty() && host_needed) throw ConfigError(prefix + " needs " + prefix + ".host");
  return SocketAddress::inet(host, *port);
}

std::unique_ptr<Port> open_dpdk(PortSpec& spec, Daemon& d) {
  plugs::EthdevOptions o;
  o.pool = d.pool();
  o.large_pool = [&d](uint32_t room) { return d.large_pool(room); };
  auto dev = spec.take("dev");
  if (!dev) throw ConfigError("port " + spec.settings.name + ": a dpdk port needs dev=DEVARGS");
  o.devargs = *dev;
  // dev.KEY=VALUE adds a devarg, so a spec needs no doubled commas for them.
  for (auto it = spec.params.begin(); it != spec.params.end();) {
    if (it->first.rfind("dev.", 0) == 0) {
      if (spec.params.count(it->first) > 1) throw ConfigError(it->first + " given twice");
      o.devargs += "," + it->first.substr(4) + "=" + it->second;
      it = spec.params.erase(it);
    } else {
      ++it;
    }
  }
  if (auto v = spec.take("rxd"))
    o.rx_descriptors = static_cast<uint16_t>(parse_uint("rxd", *v, 64, 16384));
  if (auto v = spec.take("txd"))
    o.tx_descriptors = static_cast<uint16_t>(parse_uint("txd", *v, 64, 16384));
  spec.expect_consumed();
  return plugs::EthdevPort::open(spec.settings, o);
}

std::unique_ptr<Listener> listener(const std::string& type, const std::string& name, Daemon& d,
                                   Segment& seg) {
  auto l = std::make_unique<Listener>();
  l->type = type;
  l->name = name;
  l->segment = seg.name();
  l->host = d.host_for(seg);
  return l;
}

std::unique_ptr<Listener> open_vde(PortSpec& spec, Daemon& d, Segment& seg) {
  plugs::vde::ServerOptions o;
  auto path = spec.take("path");
  if (!path || path->empty()) throw ConfigError("a vde port needs path=DIR (its switch directory)");
  o.dir = *path;
  if (auto v = spec.take("numports")) o.numports = parse_uint("numports", *v, 1, 4096);
  if (auto v = spec.take("mode")) o.mode = parse_mode("mode", *v);
  if (auto v = spec.take("dirmode")) o.dirmode = parse_mode("dirmode", *v);
  if (auto v = spec.take("group")) o.group = parse_group(*v);
  if (auto v = spec.take("port0-mode")) o.port0_mode = parse_mode("port0-mode", *v);
  if (auto v = spec.take("port0-group")) o.port0_group = parse_group(*v);
  spec.expect_consumed();
  o.defaults = spec.settings;
  o.pool = d.pool();
  o.name = spec.settings.name.empty() ? d.unique_prefix("vde") : spec.settings.name;
  auto l = listener("vde", o.name, d, seg);
  auto server = std::make_unique<plugs::vde::VdeServer>(*l->host, std::move(o));
  l->where = server->dir();
  l->vde = server.get();
  l->plug = std::move(server);
  return l;
}

// A stream endpoint, listening or connecting: the plug's name, the address and which side.
std::unique_ptr<Listener> open_stream(PortSpec& spec, Daemon& d, Segment& seg,
                                      const SocketAddress& addr, bool server,
                                      const std::string& type) {
  const std::string name = spec.settings.name.empty() ? d.unique_prefix(type) : spec.settings.name;
  auto l = listener(type, name, d, seg);
  l->where = (server ? "listening on " : "connecting to ") + addr.str();
  if (server) {
    plugs::qemu::StreamServerOptions o;
    o.name = name;
    o.address = addr;
    if (auto v = spec.take("mode")) o.mode = parse_mode("mode", *v);
    spec.expect_consumed();
    o.defaults = spec.settings;
    o.pool = d.pool();
    auto s = std::make_unique<plugs::qemu::StreamServer>(*l->host, std::move(o));
    l->where = "listening on " + s->address().str();
    l->plug = std::move(s);
  } else {
    plugs::qemu::StreamClientOptions o;
    o.name = name;
    o.address = addr;
    if (auto v = spec.take("reconnect")) o.retry_min_ms = parse_uint("reconnect", *v, 10, 600000);
    if (auto v = spec.take("reconnect-max")) {
      o.retry_max_ms = parse_uint("reconnect-max", *v, o.retry_min_ms, 3600000);
    }
    spec.expect_consumed();
    o.defaults = spec.settings;
    o.pool = d.pool();
    l->plug = std::make_unique<plugs::qemu::StreamClient>(*l->host, std::move(o));
  }
  return l;
}

std::unique_ptr<Port> open_dgram(PortSpec& spec, Daemon& d, plugs::qemu::DgramOptions o) {
  if (auto v = spec.take("mode")) o.mode = parse_mode("mode", *v);
  spec.expect_consumed();
  o.pool = d.pool();
  if (spec.settings.name.empty()) spec.settings.name = d.unique_name(spec.type);
  return plugs::qemu::DgramPort::open(spec.settings, std::move(o));
}

Built build_dpdk(PortSpec& spec, Daemon& d, Segment&) {
  if (spec.settings.name.empty()) spec.settings.name = d.unique_name("dpdk");
  return {open_dpdk(spec, d), nullptr};
}

Built build_vde(PortSpec& spec, Daemon& d, Segment& seg) {
  return {nullptr, open_vde(spec, d, seg)};
}

// QEMU's -netdev stream keys; server=on means vswitchd listens.
Built build_stream(PortSpec& spec, Daemon& d, Segment& seg) {
  const bool server = on_off(spec, "server", false);
  const SocketAddress addr = qemu_address(spec, "addr", !server);
  return {nullptr, open_stream(spec, d, seg, addr, server, "stream")};
}

// QEMU's -netdev socket keys, seen from vswitchd's side.
Built build_socket(PortSpec& spec, Daemon& d, Segment& seg) {
  auto listen = spec.take("listen");
  auto connect = spec.take("connect");
  auto udp = spec.take("udp");
  auto mcast = spec.take("mcast");
  auto localaddr = spec.take("localaddr");
  if ((listen ? 1 : 0) + (connect ? 1 : 0) + (udp ? 1 : 0) + (mcast ? 1 : 0) != 1) {
    throw ConfigError("a socket port takes one of listen=, connect=, udp=, mcast=");
  }
  if (listen || connect) {
    if (localaddr) throw ConfigError("localaddr= goes with udp= or mcast=");
    return {nullptr,
            open_stream(spec, d, seg, SocketAddress::inet(listen ? *listen : *connect, !connect),
                        listen.has_value(), "socket")};
  }
  plugs::qemu::DgramOptions o;
  if (udp) {
    if (!localaddr) throw ConfigError("udp= needs localaddr=HOST:PORT, where vswitchd listens");
    o.remote = SocketAddress::inet(*udp, false);
    o.local = SocketAddress::inet(*localaddr);
  } else {
    o.remote = SocketAddress::inet(*mcast, false);
    if (!o.remote.is_multicast())
      throw ConfigError("mcast=" + *mcast + " is not a multicast group");
    o.multicast_interface = localaddr.value_or("");
  }
  return {open_dgram(spec, d, std::move(o)), nullptr};
}

// QEMU's -netdev dgram keys: local is where vswitchd receives, remote where it sends.
Built build_dgram(PortSpec& spec, Daemon& d, Segment&) {
  plugs::qemu::DgramOptions o;
  o.remote = qemu_address(spec, "remote", true);
  if (o.remote.is_multicast()) {
    if (auto v = spec.take("local.host")) o.multicast_interface = *v;
    spec.take("local.type");
    spec.take("local.port");
  } else {
    o.local = qemu_address(spec, "local", false);
  }
  return {open_dgram(spec, d, std::move(o)), nullptr};
}

// Every key of the spec that a plug's options know, into them: the repeatable ones in the order
// given, then the rest; a key no one knows is the spec's error.
template <typename Options>
void take_plug_keys(PortSpec& spec, Options& o, std::initializer_list<const char*> repeatable) {
  for (const char* key : repeatable) {
    for (const std::string& v : spec.take_all(key))
      o.set(key, v);
  }
  std::vector<std::string> keys;
  for (const auto& [k, v] : spec.params) {
    if (Options::knows(k)) keys.push_back(k);
  }
  for (const std::string& k : keys)
    o.set(k, *spec.take(k));
  spec.expect_consumed();
  o.finish();
}

// A plug that speaks untagged Ethernet (libslirp, the DHCP server) is an access port, of VLAN 0
// unless told.
void untagged_access(PortSpec& spec) {
  if (spec.was_given("vlan-mode") || spec.was_given("trunks")) {
    if (spec.settings.vlan.mode != VlanMode::access) {
      throw ConfigError("port " + spec.text + ": a " + spec.type +
                        " port takes untagged frames; give it tag=N");
    }
  } else {
    spec.settings.vlan.mode = VlanMode::access;
  }
}

// QEMU's -netdev user keys; hostfwd= and dnssearch= may repeat.
plugs::nat::NatOptions nat_options(PortSpec& spec) {
  plugs::nat::NatOptions o;
  take_plug_keys(spec, o, {"hostfwd", "dnssearch"});
  return o;
}

void check_nat(PortSpec spec) {
  nat_options(spec);
}

Built build_nat(PortSpec& spec, Daemon& d, Segment&) {
  plugs::nat::NatOptions o = nat_options(spec);
  untagged_access(spec);
  o.pool = d.pool();
  if (spec.settings.name.empty()) spec.settings.name = d.unique_name("nat");
  return {plugs::nat::NatPort::open(spec.settings, std::move(o)), nullptr};
}

// The segment's DHCP server; host= may repeat.
plugs::dhcp::DhcpOptions dhcp_options(PortSpec& spec) {
  plugs::dhcp::DhcpOptions o;
  take_plug_keys(spec, o, {"host"});
  return o;
}

void check_dhcp(PortSpec spec) {
  dhcp_options(spec);
}

Built build_dhcp(PortSpec& spec, Daemon& d, Segment& seg) {
  plugs::dhcp::DhcpOptions o = dhcp_options(spec);
  untagged_access(spec);
  if (!o.lease_file) {
    o.lease_file = plugs::dhcp::default_lease_file(seg.name());
    plugs::dhcp::LeaseFile(*o.lease_file).make_directory();
  }
  o.pool = d.pool();
  if (spec.settings.name.empty()) spec.settings.name = d.unique_name("dhcp");
  return {plugs::dhcp::DhcpPort::open(spec.settings, std::move(o)), nullptr};
}

// The host's own interface: ifname=, and address=/address6= as often as wanted.
Built build_tap(PortSpec& spec, Daemon& d, Segment&) {
  plugs::tap::TapOptions o;
  o.ifname = spec.take("ifname").value_or("");
  if (o.ifname.empty()) throw ConfigError("a tap port needs ifname=NAME");
  for (const char* key : {"address", "address6"}) {
    for (const std::string& v : spec.take_all(key))
      o.addresses.push_back(plugs::netlink::Cidr::parse(key, v));
  }
  spec.expect_consumed();
  o.pool = d.pool();
  if (spec.settings.name.empty()) spec.settings.name = o.ifname;
  return {plugs::tap::TapPort::open(spec.settings, std::move(o)), nullptr};
}

// The host's NIC on the LAN: ifname=; the port's mtu follows the interface's unless given.
Built build_uplink(PortSpec& spec, Daemon& d, Segment&) {
  plugs::packet::UplinkOptions o;
  o.ifname = spec.take("ifname").value_or("");
  if (o.ifname.empty())
    throw ConfigError("an uplink port needs ifname=NAME (the host's interface)");
  o.qdisc_bypass = on_off(spec, "qdisc-bypass", true);
  spec.expect_consumed();
  o.pool = d.pool();
  o.mtu_from_interface = !spec.was_given("mtu");
  if (spec.settings.name.empty()) spec.settings.name = o.ifname;
  return {plugs::packet::UplinkPort::open(spec.settings, std::move(o)), nullptr};
}

// A guest's virtio-net rings: path=, server=on (vswitchd listens, the default) or off (QEMU does).
Built build_vhost(PortSpec& spec, Daemon& d, Segment&) {
  plugs::vhost::VhostOptions o;
  o.path = spec.take("path").value_or("");
  if (o.path.empty()) throw ConfigError("a vhost-user port needs path=SOCKET");
  o.server = on_off(spec, "server", true);
  spec.expect_consumed();
  o.pool = d.pool();
  if (spec.settings.name.empty()) spec.settings.name = d.unique_name("vhost");
  return {plugs::vhost::VhostPort::open(spec.settings, std::move(o)), nullptr};
}

struct PortType {
  std::string_view name;
  Built (*build)(PortSpec&, Daemon&, Segment&);
  Role role;   // unless the spec names one
  bool jumbo;  // a transport that carries whatever a guest sends: mtu 9216 unless given
  // What can be checked of the spec before anything opens, so that a bad key costs a line at
  // start-up and no DPDK; may be null.
  void (*check)(PortSpec spec) = nullptr;
};

constexpr PortType kPortTypes[] = {
    {"dpdk", build_dpdk, Role::vm, false},
    {"vde", build_vde, Role::vm, true},
    {"stream", build_stream, Role::vm, true},
    {"socket", build_socket, Role::vm, true},
    {"dgram", build_dgram, Role::vm, true},
    {"nat", build_nat, Role::nat, false, check_nat},
    {"tap", build_tap, Role::host, false},
    {"uplink", build_uplink, Role::uplink, false},
    {"vhost-user", build_vhost, Role::vm, true},
    {"dhcp", build_dhcp, Role::service, false, check_dhcp},
};

const PortType* port_type(std::string_view name) {
  for (const PortType& t : kPortTypes) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace

void check_port_spec(const PortSpec& spec) {
  if (const PortType* t = port_type(spec.type)) {
    if (t->check) t->check(spec);
    return;
  }
  std::string known;
  for (const PortType& t : kPortTypes)
    known += (known.empty() ? "" : ", ") + std::string(t.name);
  throw ConfigError("port '" + spec.text + "': unknown type '" + spec.type + "' (known: " + known +
                    ")");
}

Built build_port(PortSpec& spec, Daemon& d, Segment& seg) {
  check_port_spec(spec);
  const PortType& type = *port_type(spec.type);
  if (!spec.was_given("role")) spec.settings.role = type.role;
  if (type.jumbo && !spec.was_given("mtu")) spec.settings.mtu = kMaxMtu;
  PortSettings check = spec.settings;
  if (check.name.empty()) check.name = spec.type;
  seg.check(check);  // before a device or socket is opened for nothing
  return type.build(spec, d, seg);
}

}  // namespace vswitch::daemon
