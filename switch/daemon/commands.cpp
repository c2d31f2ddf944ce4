#include "commands.hpp"

#include <rte_version.h>

#include "common/ip_address.hpp"
#include "daemon.hpp"
#include "dhcp/dhcp_port.hpp"
#include "nat/nat_port.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

Value drops_value(const PortCounters& c) {
  Value d = Value::object();
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    d.set(std::string(to_string(static_cast<DropReason>(r))), c.drops[r]);
  }
  return d;
}

Value port_row(const Segment& seg, Port& p) {
  const PortCounters& c = p.counters();
  Value row = Value::object();
  row.set("name", p.name())
      .set("segment", seg.name())
      .set("type", p.kind())
      .set("role", to_string(p.settings().role))
      .set("vlan", p.settings().vlan.str())
      .set("mtu", p.settings().mtu)
      .set("in_packets", c.in_packets)
      .set("out_packets", c.out_packets)
      .set("dropped", c.dropped_total());
  return row;
}

Value segment_row(const Segment& s) {
  const Fdb& f = s.fdb();
  Value row = Value::object();
  row.set("name", s.name())
      .set("mode", to_string(s.settings().forwarding))
      .set("policy", s.settings().policy.str())
      .set("ports", static_cast<uint64_t>(s.port_count()))
      .set("fdb_entries", static_cast<uint64_t>(f.size()))
      .set("fdb_limit", f.limit())
      .set("learned", f.counters().learned)
      .set("moved", f.counters().moved)
      .set("aged", f.counters().aged)
      .set("evicted", f.counters().evicted)
      .set("flooded", s.counters().flooded);
  return row;
}

Value listener_row(const Listener& l) {
  Value stats = Value::object();
  for (auto& [k, v] : l.plug->details())
    stats.set(k, v);
  Value row = Value::object();
  row.set("name", l.name)
      .set("type", l.type)
      .set("segment", l.segment)
      .set("where", l.where)
      .set("stats", std::move(stats));
  return row;
}

// "key=value" arguments into a lookup; positional ones are left for the caller.
std::optional<std::string> option(const std::vector<std::string>& args, size_t from,
                                  const std::string& key) {
  for (size_t i = from; i < args.size(); ++i) {
    if (args[i].rfind(key + "=", 0) == 0) return args[i].substr(key.size() + 1);
  }
  return std::nullopt;
}

MacAddr parse_mac(const std::string& text) {
  auto mac = MacAddr::parse(text);
  if (!mac) throw ConfigError("'" + text + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  if (mac->is_multicast()) throw ConfigError(text + " is a multicast address");
  return *mac;
}

}  // namespace

void need(const Commands::Args& args, size_t n, const char* syntax) {
  if (args.size() < n) throw ConfigError(std::string("usage: ") + syntax);
}

std::string Commands::usage() {
  return "commands:\n"
         "  show                                  segments and ports with their counters\n"
         "  show --dot                            the topology as a Graphviz graph\n"
         "  stats                                 every counter, stamped with the time in ms\n"
         "  metrics                               every counter in the Prometheus text format\n"
         "  top [--interval S] [--once]           rates from two stats samples (vswitchctl's)\n"
         "  segment list | segment show NAME\n"
         "  segment add NAME[,key=value...]       mode=switch|hub policy=... fdb-size=N ageing=S\n"
         "  segment set NAME key=value...         mode, policy, fdb-size, ageing, flap-hold\n"
         "  port list [SEGMENT] | port show NAME\n"
         "  port add TYPE,key=value...            same syntax as --port\n"
         "  port del NAME\n"
         "  port set NAME key=value...            role, vlan-mode, tag, trunks, mtu,\n"
         "                                        storm-broadcast|multicast|unknown=PPS,\n"
         "                                        max-macs=N, macs=MAC[,MAC], sticky=on|off\n"
         "  fdb show SEGMENT [vlan=V] [port=P] [mac=M]\n"
         "  fdb flush SEGMENT [port=P]\n"
         "  fdb add SEGMENT MAC PORT [VLAN]       a static entry\n"
         "  fdb del SEGMENT MAC [VLAN]\n"
         "  nat hostfwd add|del PORT RULE         RULE as QEMU's: tcp::2222-:22\n"
         "  dhcp leases [SEGMENT]                 the DHCP servers' leases and reservations\n"
         "  counters reset [PORT]\n"
         "  capture PORT[,PORT...] [--direction in|out|both|none] [--drops] [--filter EXPR]\n"
         "          [--count N] [--snaplen N]   a pcapng stream (vswitchctl capture ... -w "
         "FILE|-)\n"
         "  mirror add NAME src=PORT[,PORT...] dst=PORT [direction=in|out|both] [vlan=LIST]\n"
         "  mirror del NAME | mirror list\n"
         "  trace PORT [--count N] [--filter EXPR] [--json]\n"
         "                                        the next N (10) frames entering PORT, each "
         "stage's\n"
         "                                        decision (vswitchctl trace ... until Ctrl-C)\n"
         "  trace --synthetic PORT FRAME-HEX      what the switch would do with that frame, "
         "doing\n"
         "                                        nothing\n"
         "  version | shutdown | help\n";
}

// Frames a second of each kind, 0 for no limit.
Value storm_value(const StormLimits& l) {
  Value v = Value::object();
  v.set("broadcast", l.broadcast).set("multicast", l.multicast).set("unknown", l.unknown);
  return v;
}

Value security_value(const SourceGuard& g) {
  Value macs = Value::array();
  for (MacAddr mac : g.macs)
    macs.push(mac.str());
  Value v = Value::object();
  v.set("max_macs", g.max_macs).set("macs", std::move(macs)).set("sticky", g.sticky);
  return v;
}

Value Commands::port_info(const std::string& name) const {
  Engine& engine = daemon_.engine();
  auto ref = engine.find_port(name);
  if (!ref) throw ConfigError("no port named " + name);
  Port& p = *ref->segment->port(ref->id);
  const PortSettings& s = p.settings();
  const PortCounters& c = p.counters();
  Value vlan = Value::object();
  vlan.set("mode", to_string(s.vlan.mode));
  if (s.vlan.mode != VlanMode::trunk) vlan.set("tag", s.vlan.tag);
  if (s.vlan.mode != VlanMode::access) {
    vlan.set("trunks", s.vlan.trunks.empty() ? std::string("all") : s.vlan.trunks.str());
  }
  Value counters = Value::object();
  counters.set("in_packets", c.in_packets)
      .set("in_bytes", c.in_bytes)
      .set("out_packets", c.out_packets)
      .set("out_bytes", c.out_bytes)
      .set("dropped", c.dropped_total())
      .set("drops", drops_value(c));
  Value details = Value::object();
  for (auto& [k, v] : p.details())
    details.set(k, v);
  Value info = Value::object();
  info.set("name", p.name())
      .set("segment", ref->segment->name())
      .set("type", p.kind())
      .set("role", to_string(s.role))
      .set("vlan", std::move(vlan))
      .set("mtu", s.mtu)
      .set("storm", storm_value(s.storm))
      .set("security", security_value(s.security))
      .set("fdb_entries", static_cast<uint64_t>(ref->segment->fdb().dynamic_entries_of(ref->id)))
      .set("counters", std::move(counters))
      .set("details", std::move(details));
  return info;
}

Value Commands::segment_info(const std::string& name) const {
  Segment* s = daemon_.engine().segment(name);
  if (!s) throw ConfigError("no segment named " + name);
  const Fdb& f = s->fdb();
  Value fdb = Value::object();
  fdb.set("entries", static_cast<uint64_t>(f.size()))
      .set("limit", f.limit())
      .set("ageing_s", s->settings().ageing_s)
      .set("flap_hold_ms", s->settings().flap_hold_ms)
      .set("learned", f.counters().learned)
      .set("moved", f.counters().moved)
      .set("aged", f.counters().aged)
      .set("evicted", f.counters().evicted)
      .set("refused", f.counters().refused);
  Value counters = Value::object();
  counters.set("flooded", s->counters().flooded)
      .set("unknown_unicast", s->counters().unknown)
      .set("flap_events", s->counters().flap_events)
      .set("copies", s->counters().copies);
  Value ports = Value::array();
  s->for_each_port([&](uint16_t, Port& p) { ports.push(port_row(*s, p)); });
  Value info = Value::object();
  info.set("name", s->name())
      .set("mode", to_string(s->settings().forwarding))
      .set("policy", s->settings().policy.str())
      .set("fdb", std::move(fdb))
      .set("counters", std::move(counters))
      .set("ports", std::move(ports));
  return info;
}

Segment& Commands::segment_arg(const Args& args, size_t i) const {
  need(args, i + 1, "... SEGMENT");
  Segment* s = daemon_.engine().segment(args[i]);
  if (!s) throw ConfigError("no segment named " + args[i]);
  return *s;
}

namespace {

uint16_t port_in(const Segment& seg, const std::string& name) {
  auto id = seg.find(name);
  if (!id) throw ConfigError("no port named " + name + " in segment " + seg.name());
  return *id;
}

Reply done(Value v) {
  return Reply{true, std::move(v), {}, nullptr};
}

}  // namespace

Reply Commands::help(const Args&) {
  return done(Value(usage()));
}

Reply Commands::version(const Args&) {
  Value v = Value::object();
  v.set("vswitchd", VSWITCH_VERSION).set("dpdk", rte_version());
  return done(std::move(v));
}

Reply Commands::shutdown(const Args&) {
  daemon_.shutdown();
  return done(Value("shutting down"));
}

Reply Commands::show(const Args& args) {
  if (args.size() > 1 && args[1] == "--dot") return show_dot(args);
  Engine& engine = daemon_.engine();
  Value segs = Value::array();
  Value ports = Value::array();
  for (auto& s : engine.segments()) {
    segs.push(segment_row(*s));
    s->for_each_port([&](uint16_t, Port& p) { ports.push(port_row(*s, p)); });
  }
  Value listeners = Value::array();
  for (auto& l : daemon_.listeners())
    listeners.push(listener_row(*l));
  const EngineStats& es = engine.stats();
  Value eng = Value::object();
  eng.set("idle", engine.options().idle == IdleMode::busy ? "busy" : "adaptive")
      .set("rounds", es.rounds)
      .set("sleeps", es.sleeps)
      .set("frames", es.frames);
  Value v = Value::object();
  v.set("segments", std::move(segs))
      .set("ports", std::move(ports))
      .set("listeners", std::move(listeners))
      .set("engine", std::move(eng));
  return done(std::move(v));
}

Reply Commands::segment(const Args& args) {
  Engine& engine = daemon_.engine();
  const std::string sub = args.size() > 1 ? args[1] : "";
  if (sub == "list") {
    Value segs = Value::array();
    for (auto& s : engine.segments())
      segs.push(segment_row(*s));
    return done(std::move(segs));
  }
  if (sub == "show") {
    need(args, 3, "segment show NAME");
    return done(segment_info(args[2]));
  }
  if (sub == "add") {
    need(args, 3, "segment add NAME[,key=value...]");
    return done(Value(daemon_.add_segment(args[2]).name()));
  }
  if (sub == "set") {
    need(args, 4, "segment set NAME key=value...");
    Segment& seg = segment_arg(args, 2);
    for (size_t i = 3; i < args.size(); ++i) {
      const size_t eq = args[i].find('=');
      if (eq == std::string::npos) throw ConfigError("'" + args[i] + "' is not key=value");
      apply_segment_setting(seg, args[i].substr(0, eq), args[i].substr(eq + 1));
    }
    return done(segment_info(seg.name()));
  }
  throw ConfigError("usage: segment list|show|add|set ...");
}

Reply Commands::port(const Args& args) {
  Engine& engine = daemon_.engine();
  const std::string sub = args.size() > 1 ? args[1] : "";
  if (sub == "list") {
    if (args.size() > 2 && !engine.segment(args[2])) {
      throw ConfigError("no segment named " + args[2]);
    }
    Value ports = Value::array();
    for (auto& s : engine.segments()) {
      if (args.size() > 2 && s->name() != args[2]) continue;
      s->for_each_port([&](uint16_t, Port& p) { ports.push(port_row(*s, p)); });
    }
    return done(std::move(ports));
  }
  if (sub == "show") {
    need(args, 3, "port show NAME");
    return done(port_info(args[2]));
  }
  if (sub == "add") {
    need(args, 3, "port add TYPE,key=value...");
    const std::string name = daemon_.add_port(args[2]);
    // A listener makes its ports as clients come: what was created is the listener.
    if (const Listener* l = daemon_.find_listener(name)) return done(listener_row(*l));
    return done(port_info(name));
  }
  if (sub == "del") {
    need(args, 3, "port del NAME");
    daemon_.remove_port(args[2]);
    return done(Value("removed " + args[2]));
  }
  if (sub == "set") {
    need(args, 4, "port set NAME key=value...");
    auto ref = engine.find_port(args[2]);
    if (!ref) throw ConfigError("no port named " + args[2]);
    PortSettings s = ref->segment->port(ref->id)->settings();
    for (size_t i = 3; i < args.size(); ++i) {
      const size_t eq = args[i].find('=');
      if (eq == std::string::npos) throw ConfigError("'" + args[i] + "' is not key=value");
      apply_port_setting(s, std::string_view(args[i]).substr(0, eq),
                         std::string_view(args[i]).substr(eq + 1));
    }
    ref->segment->reconfigure(ref->id, s);
    return done(port_info(s.name));
  }
  throw ConfigError("usage: port list|show|add|del|set ...");
}

Reply Commands::fdb(const Args& args) {
  const std::string sub = args.size() > 1 ? args[1] : "";
  if (sub == "show") {
    Segment& seg = segment_arg(args, 2);
    const auto vlan = option(args, 3, "vlan");
    const auto port = option(args, 3, "port");
    std::optional<MacAddr> mac;
    if (auto m = option(args, 3, "mac")) mac = parse_mac(*m);
    std::optional<uint16_t> port_id;
    if (port) port_id = port_in(seg, *port);
    Value rows = Value::array();
    seg.fdb().for_each(daemon_.engine().now_ms(), [&](const Fdb::Entry& e) {
      if (vlan && std::to_string(e.vlan) != *vlan) return;
      if (mac && e.mac != *mac) return;
      if (port_id && e.port != *port_id) return;
      Port* p = seg.port(e.port);
      Value row = Value::object();
      row.set("mac", e.mac.str())
          .set("vlan", e.vlan)
          .set("port", p ? p->name() : std::string("?"))
          .set("type", e.is_static ? "static" : "learned")
          .set("age_s", e.idle_s);
      rows.push(std::move(row));
    });
    return done(std::move(rows));
  }
  if (sub == "flush") {
    Segment& seg = segment_arg(args, 2);
    const auto port = option(args, 3, "port");
    const size_t n = port ? seg.flush_fdb(port_in(seg, *port)) : seg.flush_fdb();
    Value v = Value::object();
    v.set("flushed", static_cast<uint64_t>(n));
    return done(std::move(v));
  }
  if (sub == "add") {
    need(args, 5, "fdb add SEGMENT MAC PORT [VLAN]");
    Segment& seg = segment_arg(args, 2);
    const MacAddr mac = parse_mac(args[3]);
    const uint16_t id = port_in(seg, args[4]);
    const uint16_t vlan =
        args.size() > 5 ? static_cast<uint16_t>(parse_uint("vlan", args[5], 0, kVlanMax)) : 0;
    if (!PortVlan::from(seg.port(id)->settings().vlan).member.test(vlan)) {
      throw ConfigError("port " + args[4] + " is not in VLAN " + std::to_string(vlan));
    }
    if (!seg.fdb().add_static(Fdb::key(mac.bits(), vlan), id)) {
      throw ConfigError("the FDB of " + seg.name() + " is full of static entries");
    }
    return done(Value("added"));
  }
  if (sub == "del") {
    need(args, 4, "fdb del SEGMENT MAC [VLAN]");
    Segment& seg = segment_arg(args, 2);
    const MacAddr mac = parse_mac(args[3]);
    const uint16_t vlan =
        args.size() > 4 ? static_cast<uint16_t>(parse_uint("vlan", args[4], 0, kVlanMax)) : 0;
    if (!seg.fdb().remove(Fdb::key(mac.bits(), vlan))) {
      throw ConfigError("no entry for " + args[3] + " in VLAN " + std::to_string(vlan));
    }
    return done(Value("deleted"));
  }
  throw ConfigError("usage: fdb show|flush|add|del SEGMENT ...");
}

Reply Commands::nat(const Args& args) {
  need(args, 5, "nat hostfwd add|del PORT RULE");
  if (args[1] != "hostfwd") throw ConfigError("usage: nat hostfwd add|del PORT RULE");
  Engine& engine = daemon_.engine();
  auto ref = engine.find_port(args[3]);
  auto* nat = ref ? dynamic_cast<plugs::nat::NatPort*>(ref->segment->port(ref->id)) : nullptr;
  if (!nat) throw ConfigError("no nat port named " + args[3]);
  const auto rule = plugs::nat::HostForward::parse(args[4]);
  if (args[2] == "add") {
    nat->add_forward(rule);
  } else if (args[2] == "del") {
    nat->remove_forward(rule);
  } else {
    throw ConfigError("usage: nat hostfwd add|del PORT RULE");
  }
  return done(port_info(args[3]));
}

Reply Commands::dhcp(const Args& args) {
  if (args.size() < 2 || args[1] != "leases" || args.size() > 3) {
    throw ConfigError("usage: dhcp leases [SEGMENT]");
  }
  if (args.size() > 2) segment_arg(args, 2);
  Value rows = Value::array();
  daemon_.engine().for_each_port([&](Segment& seg, uint16_t, Port& p) {
    auto* server = dynamic_cast<plugs::dhcp::DhcpPort*>(&p);
    if (!server || (args.size() > 2 && seg.name() != args[2])) return;
    for (const plugs::dhcp::LeaseRow& l : server->leases()) {
      Value row = Value::object();
      row.set("segment", seg.name())
          .set("mac", l.mac.str())
          .set("ip", plugs::ipv4_string(l.address))
          .set("hostname", l.hostname)
          .set("expires_in", l.expires_in ? Value(*l.expires_in) : Value())
          .set("state", l.state);
      rows.push(std::move(row));
    }
  });
  return done(std::move(rows));
}

Reply Commands::counters(const Args& args) {
  if (args.size() < 2 || args[1] != "reset") throw ConfigError("usage: counters reset [PORT]");
  uint64_t n = 0;
  daemon_.engine().for_each_port([&](Segment&, uint16_t, Port& p) {
    if (args.size() > 2 && p.name() != args[2]) return;
    p.counters() = PortCounters{};
    ++n;
  });
  if (args.size() > 2 && n == 0) throw ConfigError("no port named " + args[2]);
  return done(Value("reset " + std::to_string(n) + " ports"));
}

// Every command, by its first word.
const std::map<std::string, Commands::Handler, std::less<>>& Commands::table() {
  // One command a line.
  // clang-format off
  static const std::map<std::string, Handler, std::less<>> commands = {
      {"help", &Commands::help},
      {"version", &Commands::version},
      {"shutdown", &Commands::shutdown},
      {"show", &Commands::show},
      {"segment", &Commands::segment},
      {"port", &Commands::port},
      {"fdb", &Commands::fdb},
      {"nat", &Commands::nat},
      {"dhcp", &Commands::dhcp},
      {"counters", &Commands::counters},
      {"capture", &Commands::capture},
      {"mirror", &Commands::mirror},
      {"stats", &Commands::stats},
      {"metrics", &Commands::metrics},
      {"trace", &Commands::trace},
  };
  // clang-format on
  return commands;
}

Reply Commands::run(const Args& args) try {
  if (args.empty()) return help(args);
  const auto it = table().find(args[0]);
  if (it == table().end()) return Reply::fail("unknown command '" + args[0] + "'; try 'help'");
  return (this->*(it->second))(args);
} catch (const ConfigError& e) {
  return Reply::fail(e.what());
} catch (const std::exception& e) {
  // A bug, not a bad request: said loudly, and the daemon goes on serving.
  log(LogLevel::error, "command %s failed: %s", args.empty() ? "" : args[0].c_str(), e.what());
  return Reply::fail(std::string("internal error: ") + e.what());
}

Served Commands::serve(const std::string& request) {
  auto req = Value::parse_json(request);
  const Value* args = req ? req->get("args") : nullptr;
  if (!args || !args->is_array()) return Served{"error\nmalformed request\n", nullptr};
  std::vector<std::string> argv;
  for (const Value& a : args->items())
    argv.push_back(a.as_string());
  const Value* format = req->get("format");
  const bool json = format && format->as_string() == "json";
  Reply r = run(argv);
  if (!r.ok) return Served{"error\n" + r.error + "\n", nullptr};
  // A stream's bytes follow its "ok" line as they come, in their own format.
  if (r.stream) return Served{"ok\n", std::move(r.stream)};
  return Served{"ok\n" + (json ? r.body.json() + "\n" : r.body.text()), nullptr};
}

}  // namespace vswitch::daemon
