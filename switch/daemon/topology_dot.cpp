#include "topology_dot.hpp"

#include <map>
#include <string_view>
#include <vector>

namespace vswitch::daemon {

namespace {

// The most addresses drawn behind one port; the rest are counted.
constexpr size_t kMacsShown = 16;

// A DOT quoted string's inside: the quote escaped, and the backslash, which labels would
// otherwise read as an escape of their own (\N, \l).
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + '"';
}

// What a plug looks like: the services the switch itself runs stand out from guests' ports.
std::string_view shape_of(std::string_view kind) {
  static const std::map<std::string_view, std::string_view> shapes = {
      {"nat", "doubleoctagon"},   {"dhcp", "component"},   {"tap", "house"},
      {"uplink", "invtrapezium"}, {"vhost-user", "box3d"}, {"dpdk", "box"},
  };
  const auto it = shapes.find(kind);
  return it == shapes.end() ? "box" : it->second;
}

std::string_view colour_of(Role role) {
  switch (role) {
    case Role::vm:
      return "lightblue";
    case Role::host:
      return "khaki";
    case Role::uplink:
      return "orange";
    case Role::nat:
      return "palegreen";
    case Role::service:
      return "plum";
  }
  return "white";
}

std::string vlan_text(const VlanConfig& v) {
  switch (v.mode) {
    case VlanMode::access:
      return "access " + std::to_string(v.tag);
    case VlanMode::trunk:
      return "trunk " + (v.trunks.empty() ? std::string("all") : v.trunks.str());
    case VlanMode::native_tagged:
    case VlanMode::native_untagged:
      return std::string(to_string(v.mode)) + " " + std::to_string(v.tag) + ", trunk " +
             (v.trunks.empty() ? std::string("all") : v.trunks.str());
  }
  return "";
}

// The FDB's entries, per port id: "02:00:00:00:00:01", with the VLAN when not 0.
std::map<uint16_t, std::vector<std::string>> macs_by_port(const Segment& s, uint64_t now_ms) {
  std::map<uint16_t, std::vector<std::string>> out;
  s.fdb().for_each(now_ms, [&](const Fdb::Entry& e) {
    std::string m = e.mac.str();
    if (e.vlan != 0) m += " vlan " + std::to_string(e.vlan);
    if (e.is_static) m += " (static)";
    out[e.port].push_back(std::move(m));
  });
  return out;
}

void write_port(std::string& out, const Segment& s, const Port& p,
                const std::vector<std::string>* macs) {
  const std::string node = quoted("port:" + p.name());
  const PortSettings& st = p.settings();
  const std::string label = p.name() + "\n" + std::string(p.kind()) + ", " +
                            std::string(to_string(st.role)) + "\n" + vlan_text(st.vlan);
  out += "    " + node + " [label=" + quoted(label) + ", shape=" + std::string(shape_of(p.kind())) +
         ", style=filled, fillcolor=" + std::string(colour_of(st.role)) + "];\n";
  out += "    " + node + " -- " + quoted("segment:" + s.name()) + ";\n";
  if (!macs || macs->empty()) return;
  std::string list;
  for (size_t i = 0; i < macs->size() && i < kMacsShown; ++i)
    list += (*macs)[i] + "\n";
  if (macs->size() > kMacsShown) {
    list += "and " + std::to_string(macs->size() - kMacsShown) + " more\n";
  }
  list.pop_back();
  const std::string macs_node = quoted("macs:" + p.name());
  out += "    " + macs_node + " [label=" + quoted(list) + ", shape=note, fontsize=9];\n";
  out += "    " + macs_node + " -- " + node + " [style=dashed];\n";
}

}  // namespace

std::string topology_dot(const Engine& engine) {
  std::string out =
      "graph vswitchd {\n"
      "  graph [rankdir=LR, fontname=\"sans-serif\"];\n"
      "  node [fontname=\"sans-serif\", fontsize=10];\n";
  for (const auto& s : engine.segments()) {
    const auto macs = macs_by_port(*s, engine.now_ms());
    const std::string label = "segment " + s->name() + "\npolicy " + s->settings().policy.str() +
                              ", FDB " + std::to_string(s->fdb().size()) + "/" +
                              std::to_string(s->fdb().limit());
    out += "  subgraph " + quoted("cluster_" + s->name()) + " {\n";
    out += "    label=" + quoted(label) + ";\n";
    out += "    " + quoted("segment:" + s->name()) +
           " [label=" + quoted(std::string(to_string(s->settings().forwarding))) +
           ", shape=circle, style=bold];\n";
    s->for_each_port([&](uint16_t id, Port& p) {
      const auto it = macs.find(id);
      write_port(out, *s, p, it == macs.end() ? nullptr : &it->second);
    });
    out += "  }\n";
  }
  out += "}\n";
  return out;
}

}  // namespace vswitch::daemon
