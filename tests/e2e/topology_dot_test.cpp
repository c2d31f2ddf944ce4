// `vswitchctl show --dot` drawn by Graphviz's own dot: the graph it lays out is read back (its
// JSON output) to check the clusters, nodes, edges and labels of a small topology.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

constexpr const char* kDot = "/usr/bin/dot";

// The graph as dot laid it out: nodes by name, each cluster's nodes, the edges.
struct Laid {
  std::map<std::string, const Value*> nodes;
  std::map<std::string, std::set<std::string>> clusters;
  std::set<std::pair<std::string, std::string>> edges;  // (tail, head)
  Value json;
};

Laid lay_out(const TempDir& dir, const std::string& dot_text) {
  const std::string file = dir.file("topology.dot");
  std::ofstream(file) << dot_text;
  // Drawn for real first: what a user pipes into dot -Tsvg must not make it complain.
  const RunResult svg = run_program({kDot, "-Tsvg", "-o", dir.file("topology.svg"), file});
  EXPECT_EQ(svg.status, 0) << svg.err;
  EXPECT_EQ(svg.err, "") << "dot warned";
  const RunResult r = run_program({kDot, "-Tjson0", file});
  EXPECT_EQ(r.status, 0) << r.err;
  Laid g;
  auto parsed = Value::parse_json(r.out);
  EXPECT_TRUE(parsed) << r.out;
  if (!parsed) return g;
  g.json = std::move(*parsed);
  std::map<int64_t, std::string> by_id;
  const Value* objects = g.json.get("objects");
  if (!objects) return g;
  for (const Value& o : objects->items()) {
    if (!o.get("nodes")) by_id[o.get("_gvid")->as_int()] = o.get("name")->as_string();
  }
  for (const Value& o : objects->items()) {
    const std::string name = o.get("name")->as_string();
    if (const Value* members = o.get("nodes")) {
      for (const Value& id : members->items())
        g.clusters[name].insert(by_id[id.as_int()]);
    } else {
      g.nodes[name] = &o;
    }
  }
  if (const Value* edges = g.json.get("edges")) {
    for (const Value& e : edges->items())
      g.edges.insert({by_id[e.get("tail")->as_int()], by_id[e.get("head")->as_int()]});
  }
  return g;
}

std::string attr(const Laid& g, const std::string& node, const char* key) {
  const auto it = g.nodes.find(node);
  if (it == g.nodes.end() || !it->second->get(key)) return "";
  return it->second->get(key)->as_string();
}

TEST(TopologyDot, DotDrawsSegmentsPortsAndTheMacsBehindThem) {
  if (access(kDot, X_OK) != 0) GTEST_SKIP() << "needs dot (Debian's graphviz)";
  TempDir tmp;
  Vswitchd vs({"--segment", "guests,network=nat", "--vde", tmp.file("sw") + ",segment=guests",
               "--segment",
               "lab,dhcp=192.168.7.10-192.168.7.20,router=192.168.7.1,dhcp-leases=none", "--port",
               "dpdk,name=up0,dev=net_ring0,segment=lab,role=uplink,trunks=10:20"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient a(tmp.file("sw")), b(tmp.file("sw"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 5; }, 5s));
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 46, 1)));
  ASSERT_TRUE(b.send(frame(kBroadcast, mac(2), 46, 2)));
  ASSERT_TRUE(vs.wait_port_counter("vde:2", "in_packets", 1));

  const RunResult r = run_program({vswitchctl_path(), "--socket", vs.socket(), "show", "--dot"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Laid g = lay_out(tmp, r.out);

  const std::set<std::string> guests = {"segment:guests",  "port:vde:1", "port:vde:2",
                                        "port:guests-nat", "macs:vde:1", "macs:vde:2",
                                        "macs:guests-nat"};
  const std::set<std::string> lab = {"segment:lab", "port:lab-dhcp", "macs:lab-dhcp", "port:up0"};
  EXPECT_EQ(g.clusters.at("cluster_guests"), guests) << r.out;
  EXPECT_EQ(g.clusters.at("cluster_lab"), lab) << r.out;
  for (const std::string port : {"vde:1", "vde:2", "guests-nat"})
    EXPECT_TRUE(g.edges.count({"port:" + port, "segment:guests"})) << port << "\n" << r.out;
  for (const std::string port : {"lab-dhcp", "up0"})
    EXPECT_TRUE(g.edges.count({"port:" + port, "segment:lab"})) << port << "\n" << r.out;
  EXPECT_TRUE(g.edges.count({"macs:vde:1", "port:vde:1"}));
  EXPECT_FALSE(g.nodes.count("macs:up0")) << "no MAC was learned behind up0";

  // Each address behind its own port, and only there.
  EXPECT_NE(attr(g, "macs:vde:1", "label").find(mac(1).str()), std::string::npos) << r.out;
  EXPECT_EQ(attr(g, "macs:vde:1", "label").find(mac(2).str()), std::string::npos) << r.out;
  EXPECT_NE(attr(g, "macs:vde:2", "label").find(mac(2).str()), std::string::npos) << r.out;
  // The switch's own services stand out, and each port says its plug, role and VLANs.
  EXPECT_EQ(attr(g, "port:guests-nat", "shape"), "doubleoctagon");
  EXPECT_EQ(attr(g, "port:lab-dhcp", "shape"), "component");
  EXPECT_NE(attr(g, "macs:lab-dhcp", "label").find("(static)"), std::string::npos);
  EXPECT_EQ(attr(g, "port:vde:1", "shape"), "box");
  EXPECT_EQ(attr(g, "port:up0", "label"), "up0\\ndpdk, uplink\\ntrunk 10,20");
  EXPECT_EQ(attr(g, "port:vde:1", "label"), "vde:1\\nvde, vm\\ntrunk all");
  EXPECT_NE(attr(g, "port:up0", "fillcolor"), attr(g, "port:vde:1", "fillcolor"))
      << "an uplink looks like a guest";
}

TEST(TopologyDot, NamesThatNeedQuotingStayOneNode) {
  if (access(kDot, X_OK) != 0) GTEST_SKIP() << "needs dot (Debian's graphviz)";
  TempDir tmp;
  // A quote, a brace and an edge operator in one name; a backslash that would escape the
  // closing quote at the end of another.
  Vswitchd vs({"--segment", "a \"b\"", "--port", "dpdk,name=x\"y} -- z,dev=net_ring0", "--port",
               "dpdk,name=w\\,dev=net_ring1"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  const RunResult r = run_program({vswitchctl_path(), "--socket", vs.socket(), "show", "--dot"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Laid g = lay_out(tmp, r.out);
  EXPECT_EQ(g.nodes.size(), 3u) << r.out;
  EXPECT_TRUE(g.edges.count({"port:x\"y} -- z", "segment:a \"b\""})) << r.out;
  EXPECT_EQ(g.clusters.size(), 1u) << r.out;
}

}  // namespace
}  // namespace vswitch::test
