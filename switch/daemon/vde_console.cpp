#include "vde_console.hpp"

#include <pwd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>

#include "commands.hpp"
#include "common/unix_socket.hpp"
#include "vde/vde_server.hpp"
#include "vswitch/clock.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

constexpr const char* kBanner =
    "VDE switch V.2.3.2\n(vswitchd " VSWITCH_VERSION ", serving the vde_switch console)\n";
constexpr const char* kPrompt = "\nvde$ ";
constexpr uint16_t kNoVlanVde = 4095;  // vde_switch's "no untagged VLAN"

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;)
    w.push_back(x);
  return w;
}

// vde_switch's status: "1000 Success", or 1 and the errno in three digits with its text.
std::string status_line(int error) {
  char status[160];
  snprintf(status, sizeof status, "1%03d %s\n", error,
           error == 0 ? "Success" : std::strerror(error));
  return status;
}

std::optional<uint32_t> number(const std::string& s) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(s));
}

std::optional<uint32_t> arg_number(const std::vector<std::string>& args, size_t i) {
  std::optional<uint32_t> n;
  if (i < args.size()) n = number(args[i]);
  return n;
}

// The untagged VLAN and tagged set vde_switch would show for a port's VLAN settings.
std::pair<uint16_t, VlanSet> vde_view(const VlanConfig& c) {
  VlanSet tagged;
  switch (c.mode) {
    case VlanMode::access:
      return {c.tag, tagged};
    case VlanMode::trunk:
      if (c.trunks.empty()) return {0, tagged};  // our default: every VLAN passes
      tagged = c.trunks;
      tagged.reset(0);
      return {c.trunks.test(0) ? uint16_t{0} : kNoVlanVde, tagged};
    case VlanMode::native_tagged:
    case VlanMode::native_untagged:
      tagged = c.trunks;
      tagged.reset(c.tag);
      return {c.tag, tagged};
  }
  return {0, tagged};
}

}  // namespace

struct VdeConsole::Reply {
  int error = 0;     // errno for a 1NNN line, 0 for 1000 Success
  std::string data;  // lines for a 0000 DATA block, if any
  bool has_data = false;
  bool end = false;

  static Reply fail(int e) { return Reply{e, {}, false, false}; }
  static Reply ok() { return Reply{}; }
  static Reply text(std::string t) { return Reply{0, std::move(t), true, false}; }
};

VdeConsole::VdeConsole(Daemon& daemon, const ConsoleConfig& config) : d_(daemon), config_(config) {
  if (!d_.first_vde()) throw ConfigError("the vde_switch console needs a VDE switch directory");
  if (!config_.path.empty()) {
    std::optional<gid_t> group;
    if (!config_.group.empty()) {
      group = plugs::lookup_group(config_.group);
      if (!group) throw ConfigError("no group named '" + config_.group + "'");
    }
    listen_ = plugs::bind_unix(config_.path, SOCK_STREAM, config_.mode, group);
    d_.engine().watch(listen_.get(), EPOLLIN, [this](uint32_t) { accept_sessions(); });
    timer_ = d_.engine().every(1000, [this](uint64_t now) { expire_stalled(now); });
    log(LogLevel::info, "vde_switch console on %s", config_.path.c_str());
  }
  if (!config_.rcfile.empty()) {
    std::ifstream in(config_.rcfile);
    if (!in) throw ConfigError("cannot read rc file " + config_.rcfile);
    int lineno = 0;
    for (std::string line; std::getline(in, line);) {
      ++lineno;
      const std::string reply = execute(line);
      if (reply.rfind("1000", 0) != 0 && reply.find("\n1000 ") == std::string::npos &&
          !reply.empty()) {
        log(LogLevel::warn, "%s:%d: %s: %s", config_.rcfile.c_str(), lineno, line.c_str(),
            reply.substr(reply.rfind('\n', reply.size() - 2) + 1).c_str());
      }
    }
  }
}

VdeConsole::~VdeConsole() {
  d_.engine().cancel(timer_);
  sessions_.clear();
  if (listen_) {
    d_.engine().unwatch(listen_.get());
    listen_.reset();
    ::unlink(config_.path.c_str());
  }
}

void VdeConsole::accept_sessions() {
  for (int i = 0, fd; i < plugs::kAcceptsPerWake && (fd = acceptor_.accept(listen_.get())) >= 0;
       ++i) {
    auto on_line = [this](LineConnection& s, std::string_view line, bool too_long) {
      this->on_line(s, line, too_long);
    };
    auto on_ready = [this, fd](uint32_t events) {
      auto it = sessions_.find(fd);
      if (it == sessions_.end()) return;
      it->second->on_events(events);
      if (it->second->done()) sessions_.erase(it);
    };
    auto s = std::make_unique<LineConnection>(d_.engine(), plugs::Fd(fd), LineConnection::Limits{},
                                              on_line, on_ready);
    s->send(std::string(kBanner) + kPrompt);
    s->on_events(EPOLLOUT);
    if (!s->done()) sessions_[fd] = std::move(s);
  }
}

// Lines are commands as a terminal sends them, however the client's writes are cut.
void VdeConsole::on_line(LineConnection& session, std::string_view line, bool too_long) {
  if (too_long) {
    session.send(status_line(E2BIG) + kPrompt);
    return;
  }
  bool end = false;
  session.send(execute(std::string(line), &end));
  if (end) {
    session.finish();
  } else {
    session.send(kPrompt);
  }
}

// An interactive session may sit idle for ever; one whose replies go unread for this long is
// closed, so a client that never reads holds no buffers.
void VdeConsole::expire_stalled(uint64_t now_ms) {
  constexpr uint64_t kStalledMs = 30000;
  std::erase_if(sessions_, [&](const auto& s) {
    return s.second->unsent() > 0 && s.second->idle_ms(now_ms) >= kStalledMs;
  });
}

std::string VdeConsole::execute(std::string line, bool* end) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.pop_back();
  const auto w = words(line);
  if (w.empty() || w[0][0] == '#') return "";
  const Reply r = run_guarded(w[0], std::vector<std::string>(w.begin() + 1, w.end()));
  std::string out;
  if (r.has_data) {
    out += "0000 DATA END WITH '.'\n" + r.data;
    if (!r.data.empty() && r.data.back() != '\n') out += '\n';
    out += ".\n";
  }
  if (r.end) {
    out += "9999 END OF SESSION\n";
  } else {
    out += status_line(r.error);
  }
  if (end) *end = r.end;
  return out;
}

// No command may take the daemon down: whatever one throws becomes its error status.
VdeConsole::Reply VdeConsole::run_guarded(const std::string& cmd, const Args& args) {
  try {
    return run(cmd, args);
  } catch (const ConfigError&) {
    return Reply::fail(EINVAL);
  } catch (const std::exception& e) {
    log(LogLevel::error, "console: %s failed: %s", cmd.c_str(), e.what());
    return Reply::fail(EINVAL);
  }
}

// The console's commands in the order `help` lists them; help text null: served, not listed
// (vde_switch has them too). A command given fewer than min_args arguments fails with EINVAL.
struct VdeConsole::Command {
  const char* name;
  Handler handler;
  size_t min_args;
  const char* syntax;
  const char* help;
};

std::span<const VdeConsole::Command> VdeConsole::table() {
  // clang-format off
  static const Command commands[] = {
      {"help",              &VdeConsole::help,              0, "[arg]",      "Help (limited to arg when specified)"},
      {"logout",            &VdeConsole::logout,            0, "",           "logout from this mgmt terminal"},
      {"shutdown",          &VdeConsole::shutdown,          0, "",           "shutdown of the switch"},
      {"showinfo",          &VdeConsole::showinfo,          0, "",           "show switch version and info"},
      {"ds/showinfo",       &VdeConsole::ds_showinfo,       0, "",           nullptr},
      {"port/showinfo",     &VdeConsole::port_showinfo,     0, "",           "show port info"},
      {"port/print",        &VdeConsole::port_print,        0, "[N]",        "print the port/endpoint table"},
      {"port/allprint",     &VdeConsole::port_allprint,     0, "[N]",        "print the port/endpoint table (including inactive)"},
      {"port/setvlan",      &VdeConsole::port_setvlan,      2, "N VLAN",     "set port VLAN (untagged)"},
      {"port/create",       &VdeConsole::port_create,       1, "N",          "create the port N (inactive|notallocatable)"},
      {"port/setuser",      &VdeConsole::port_setuser,      2, "N user",     "access control: set user"},
      {"port/setgroup",     &VdeConsole::port_setgroup,     2, "N user",     "access control: set group"},
      {"port/resetcounter", &VdeConsole::port_resetcounter, 0, "[N]",        "reset the port (N) counters"},
      {"port/epclose",      &VdeConsole::port_epclose,      2, "N ID",       "remove the endpoint port N/id ID"},
      {"vlan/create",       &VdeConsole::vlan_create,       1, "N",          "create the VLAN with tag N"},
      {"vlan/remove",       &VdeConsole::vlan_remove,       0, "N",          nullptr},
      {"vlan/addport",      &VdeConsole::vlan_addport,      2, "N PORT",     "add port to the vlan N (tagged)"},
      {"vlan/delport",      &VdeConsole::vlan_delport,      2, "N PORT",     "delete port from the vlan N (tagged)"},
      {"vlan/print",        &VdeConsole::vlan_print,        0, "[N]",        "print the list of defined vlan"},
      {"vlan/allprint",     &VdeConsole::vlan_print,        0, "[N]",        nullptr},
      {"hash/showinfo",     &VdeConsole::hash_showinfo,     0, "",           "show hash info"},
      {"hash/setexpire",    &VdeConsole::hash_setexpire,    1, "N",          "change hash entries expire time"},
      {"hash/print",        &VdeConsole::hash_print,        0, "",           "print the hash table"},
      {"hash/find",         &VdeConsole::hash_find,         1, "MAC [VLAN]", "MAC lookup"},
  };
  // clang-format on
  return commands;
}

VdeConsole::Reply VdeConsole::run(const std::string& cmd, const Args& args) {
  for (const Command& c : table()) {
    if (cmd != c.name) continue;
    if (args.size() < c.min_args) return Reply::fail(EINVAL);
    return (this->*c.handler)(args);
  }
  return Reply::fail(ENOSYS);
}

plugs::vde::VdeServer& VdeConsole::vde() {
  return *d_.first_vde();
}

// The segment the console's VDE directory serves.
std::string VdeConsole::segment_name() {
  std::string segment;
  for (auto& l : d_.listeners()) {
    if (l->vde == d_.first_vde()) segment = l->segment;
  }
  return segment;
}

// Argument i as a port number of the directory.
std::optional<uint32_t> VdeConsole::port_arg(const Args& args, size_t i) {
  auto n = arg_number(args, i);
  if (!n || *n >= vde().numports()) return std::nullopt;
  return n;
}

// A command of the daemon's own command layer, its outcome as vde_switch's status.
VdeConsole::Reply VdeConsole::generic(const Args& argv) {
  return d_.commands().run(argv).ok ? Reply::ok() : Reply::fail(EINVAL);
}

VdeConsole::Reply VdeConsole::help(const Args&) {
  std::string text =
      "COMMAND PATH       SYNTAX          HELP\n"
      "------------       --------------  ------------\n";
  char line[160];
  for (const Command& c : table()) {
    if (!c.help) continue;
    snprintf(line, sizeof line, "%-19s%-16s%s\n", c.name, c.syntax, c.help);
    text += line;
  }
  return Reply::text(text);
}

VdeConsole::Reply VdeConsole::logout(const Args&) {
  Reply r;
  r.end = true;
  return r;
}

VdeConsole::Reply VdeConsole::shutdown(const Args& args) {
  d_.shutdown();
  return logout(args);
}

VdeConsole::Reply VdeConsole::showinfo(const Args&) {
  std::ostringstream o;
  o << "VDE switch V.2.3.2 (vswitchd " VSWITCH_VERSION ")\n"
    << "pid " << getpid() << " uptime " << (monotonic_ms() - d_.started_ms()) / 1000 << "\n";
  if (!config_.path.empty()) {
    char perm[16];
    snprintf(perm, sizeof perm, "%04o", config_.mode);
    o << "mgmt " << config_.path << " perm " << perm << "\n";
  }
  return Reply::text(o.str());
}

VdeConsole::Reply VdeConsole::ds_showinfo(const Args&) {
  char perm[16];
  snprintf(perm, sizeof perm, "%04o", vde().options().mode);
  return Reply::text("ctl dir " + vde().dir() + "\nstd mode " + perm + "\n");
}

VdeConsole::Reply VdeConsole::port_showinfo(const Args&) {
  Segment* seg = d_.engine().segment(segment_name());
  return Reply::text("Numports=" + std::to_string(vde().numports()) + "\nHUB=" +
                     (seg && seg->settings().forwarding == Forwarding::hub ? "true" : "false") +
                     "\ncounters=true\n");
}

VdeConsole::Reply VdeConsole::port_print(const Args& args) {
  return print_ports(args, false);
}

VdeConsole::Reply VdeConsole::port_allprint(const Args& args) {
  return print_ports(args, true);
}

VdeConsole::Reply VdeConsole::port_create(const Args& args) {
  auto n = port_arg(args, 0);
  if (!n) return Reply::fail(EINVAL);
  if (vde().record(*n)) return Reply::fail(EEXIST);
  vde().create_record(*n);
  return Reply::ok();
}

VdeConsole::Reply VdeConsole::port_setuser(const Args& args) {
  auto n = port_arg(args, 0);
  if (!n) return Reply::fail(EINVAL);
  plugs::vde::PortRecord& r = vde().create_record(*n);
  if (args[1] == "NONE") {
    r.acl_user.reset();
  } else if (auto uid = number(args[1])) {
    r.acl_user = *uid;
  } else {
    passwd* pw = getpwnam(args[1].c_str());
    if (!pw) return Reply::fail(EINVAL);
    r.acl_user = pw->pw_uid;
  }
  return Reply::ok();
}

VdeConsole::Reply VdeConsole::port_setgroup(const Args& args) {
  auto n = port_arg(args, 0);
  if (!n) return Reply::fail(EINVAL);
  plugs::vde::PortRecord& r = vde().create_record(*n);
  if (args[1] == "NONE") {
    r.acl_group.reset();
  } else {
    auto gid = plugs::lookup_group(args[1]);
    if (!gid) return Reply::fail(EINVAL);
    r.acl_group = *gid;
  }
  return Reply::ok();
}

VdeConsole::Reply VdeConsole::port_setvlan(const Args& args) {
  auto n = port_arg(args, 0);
  if (!n) return Reply::fail(EINVAL);
  auto v = number(args[1]);
  if (!v || (*v > kVlanMax && *v != kNoVlanVde)) return Reply::fail(EINVAL);
  if (*v != kNoVlanVde && !vlans_.count(static_cast<uint16_t>(*v))) return Reply::fail(ENXIO);
  const plugs::vde::PortRecord* r = vde().record(*n);
  if (!r) return Reply::fail(ENXIO);
  return set_vlans(*n, static_cast<uint16_t>(*v), vde_view(r->settings.vlan).second);
}

VdeConsole::Reply VdeConsole::port_resetcounter(const Args& args) {
  if (args.empty()) return generic({"counters", "reset"});
  auto n = port_arg(args, 0);
  if (!n) return Reply::fail(EINVAL);
  const plugs::vde::PortRecord* r = vde().record(*n);
  if (!r) return Reply::fail(ENXIO);
  if (!r->active) return Reply::ok();
  return generic({"counters", "reset", r->active->name()});
}

VdeConsole::Reply VdeConsole::port_epclose(const Args& args) {
  auto n = port_arg(args, 0);
  auto id = arg_number(args, 1);
  if (!n || !id) return Reply::fail(EINVAL);
  return vde().close_endpoint(*n, static_cast<int>(*id)) ? Reply::ok() : Reply::fail(ENXIO);
}

VdeConsole::Reply VdeConsole::vlan_create(const Args& args) {
  auto v = arg_number(args, 0);
  if (!v || *v < 1 || *v > 4093) return Reply::fail(EINVAL);
  if (!vlans_.insert(static_cast<uint16_t>(*v)).second) return Reply::fail(EEXIST);
  return Reply::ok();
}

VdeConsole::Reply VdeConsole::vlan_remove(const Args& args) {
  auto v = arg_number(args, 0);
  if (!v || *v == 0 || !vlans_.count(static_cast<uint16_t>(*v))) return Reply::fail(ENXIO);
  vlans_.erase(static_cast<uint16_t>(*v));
  return Reply::ok();
}

VdeConsole::Reply VdeConsole::vlan_addport(const Args& args) {
  return tag_port(args, true);
}

VdeConsole::Reply VdeConsole::vlan_delport(const Args& args) {
  return tag_port(args, false);
}

// vlan/addport and vlan/delport: VLAN args[0] joins or leaves port args[1]'s tagged set.
VdeConsole::Reply VdeConsole::tag_port(const Args& args, bool add) {
  auto v = arg_number(args, 0);
  auto n = port_arg(args, 1);
  if (!v || !n) return Reply::fail(EINVAL);
  const auto vlan = static_cast<uint16_t>(*v);
  if (!vlans_.count(vlan) || *v == 0) return Reply::fail(ENXIO);
  const plugs::vde::PortRecord* r = vde().record(*n);
  if (!r) return Reply::fail(ENXIO);
  auto [untagged, tagged] = vde_view(r->settings.vlan);
  if (tagged.test(vlan) == add) return Reply::fail(add ? EEXIST : ENXIO);
  if (add) {
    tagged.set(vlan);
  } else {
    tagged.reset(vlan);
  }
  return set_vlans(*n, untagged, tagged);
}

VdeConsole::Reply VdeConsole::hash_showinfo(const Args&) {
  Segment* seg = d_.engine().segment(segment_name());
  if (!seg) return Reply::fail(ENXIO);
  return Reply::text("Hash size " + std::to_string(seg->fdb().limit()) + "\nexpire " +
                     std::to_string(seg->settings().ageing_s) + "\nentries " +
                     std::to_string(seg->fdb().size()) + "\n");
}

VdeConsole::Reply VdeConsole::hash_setexpire(const Args& args) {
  auto s = arg_number(args, 0);
  if (!s || *s == 0) return Reply::fail(EINVAL);
  return generic({"segment", "set", segment_name(), "ageing=" + args[0]});
}

VdeConsole::Reply VdeConsole::hash_print(const Args& args) {
  return print_fdb(args, false);
}

VdeConsole::Reply VdeConsole::hash_find(const Args& args) {
  return print_fdb(args, true);
}

VdeConsole::Reply VdeConsole::set_vlans(uint32_t port, uint16_t untagged, const VlanSet& tagged) {
  plugs::vde::VdeServer& vde = this->vde();
  PortSettings s = vde.record(port)->settings;
  VlanConfig& c = s.vlan;
  c = VlanConfig{};
  if (tagged.empty()) {
    // Configured through the console, a port means what it means to vde_switch: its untagged
    // VLAN alone, VLAN 0 included. Only a port never configured keeps the default that
    // carries every VLAN.
    if (untagged == kNoVlanVde) return Reply::fail(EINVAL);
    c.mode = VlanMode::access;
    c.tag = untagged;
  } else if (untagged == kNoVlanVde) {
    c.trunks = tagged;
  } else if (untagged == 0) {
    c.trunks = tagged;
    c.trunks.set(0);
  } else {
    c.mode = VlanMode::native_untagged;
    c.tag = untagged;
    c.trunks = tagged;
  }
  try {
    vde.configure(port, s);
  } catch (const ConfigError&) {
    return Reply::fail(EINVAL);
  }
  return Reply::ok();
}

VdeConsole::Reply VdeConsole::print_ports(const Args& args, bool all) {
  plugs::vde::VdeServer& vde = this->vde();
  std::optional<uint32_t> only;
  if (!args.empty()) {
    only = number(args[0]);
    if (!only || *only >= vde.numports()) return Reply::fail(EINVAL);
    const auto* r = vde.record(*only);
    if (!r || (!all && !r->active)) return Reply::fail(ENXIO);
  }
  std::ostringstream o;
  char line[256];
  for (uint32_t n = 0; n < vde.numports(); ++n) {
    if (only && n != *only) continue;
    const plugs::vde::PortRecord* r = vde.record(n);
    if (!r || (!all && !r->active)) continue;
    snprintf(line, sizeof line, "Port %04u untagged_vlan=%04u %sACTIVE - %sUnnamed Allocatable\n",
             n, vde_view(r->settings.vlan).first, r->active ? "" : "IN",
             r->allocatable ? "" : "NOT ");
    o << line;
    auto acl = [](const auto& v) { return v ? std::to_string(*v) : std::string("NONE"); };
    o << " Current User: " << (r->active ? r->last_user : "NONE")
      << " Access Control: (User: " << acl(r->acl_user) << " - Group: " << acl(r->acl_group)
      << ")\n";
    const PortCounters c = r->active ? r->active->counters() : PortCounters{};
    snprintf(line, sizeof line, " IN:  pkts %10lu bytes %20lu\n OUT: pkts %10lu bytes %20lu\n",
             static_cast<unsigned long>(c.in_packets), static_cast<unsigned long>(c.in_bytes),
             static_cast<unsigned long>(c.out_packets), static_cast<unsigned long>(c.out_bytes));
    o << line;
    if (r->active) {
      for (const auto& ep : r->active->endpoints()) {
        snprintf(line, sizeof line, "  -- endpoint ID %04d module unix prog   : %s\n", ep.id,
                 ep.description.c_str());
        o << line;
      }
    }
  }
  return Reply::text(o.str());
}

VdeConsole::Reply VdeConsole::vlan_print(const Args& args) {
  plugs::vde::VdeServer& vde = this->vde();
  std::optional<uint32_t> only;
  if (!args.empty()) {
    only = number(args[0]);
    if (!only || !vlans_.count(static_cast<uint16_t>(*only))) return Reply::fail(ENXIO);
  }
  std::ostringstream o;
  char line[128];
  for (uint16_t v : vlans_) {
    if (only && v != *only) continue;
    snprintf(line, sizeof line, "VLAN %04u\n", v);
    o << line;
    for (uint32_t n = 0; n < vde.numports(); ++n) {
      const plugs::vde::PortRecord* r = vde.record(n);
      if (!r) continue;
      const auto [untagged, tagged] = vde_view(r->settings.vlan);
      if (untagged != v && !tagged.test(v)) continue;
      snprintf(line, sizeof line, " -- Port %04u tagged=%d active=%d status=Forwarding\n", n,
               untagged != v ? 1 : 0, r->active ? 1 : 0);
      o << line;
    }
  }
  return Reply::text(o.str());
}

VdeConsole::Reply VdeConsole::print_fdb(const Args& args, bool find) {
  plugs::vde::VdeServer& vde = this->vde();
  std::vector<std::string> argv = {"fdb", "show", segment_name()};
  if (find) {
    if (args.empty() || !MacAddr::parse(args[0])) return Reply::fail(EINVAL);
    argv.push_back("mac=" + args[0]);
    argv.push_back("vlan=" + (args.size() > 1 ? args[1] : std::string("0")));
  }
  const auto r = d_.commands().run(argv);
  if (!r.ok) return Reply::fail(EINVAL);
  if (find && r.body.items().empty()) return Reply::fail(ENODEV);
  std::ostringstream o;
  char line[160];
  int bucket = 0;
  for (const Value& e : r.body.items()) {
    // A port of this directory shows as its number, as vde_switch does, whatever it is named.
    std::string port = e.get("port")->as_string();
    if (auto ref = d_.engine().find_port(port)) {
      if (auto n = vde.number_of(*ref->segment->port(ref->id))) {
        char num[16];
        snprintf(num, sizeof num, "%03u", *n);
        port = num;
      }
    }
    snprintf(line, sizeof line, "Hash: %04d Addr: %s VLAN %04ld to port: %s  age %ld secs\n",
             bucket++, e.get("mac")->as_string().c_str(),
             static_cast<long>(e.get("vlan")->as_int()), port.c_str(),
             static_cast<long>(e.get("age_s")->as_int()));
    o << line;
  }
  return Reply::text(o.str());
}

}  // namespace vswitch::daemon
