// The isolation contract of the networking modes, one test per cell of its table, on real
// DPDK ports given roles. Every port first announces itself with a broadcast; a round later it
// sends a unicast to every other port's (by then learned) address. A cell's answer must hold
// for both: the flood and the learned unicast.
#include <gtest/gtest.h>

#include <map>

#include "../support/pcap_switch.hpp"

namespace vswitch::test {
namespace {

struct Node {
  const char* name;
  const char* role;
  uint64_t addr;
};
constexpr Node kNodes[] = {{"vm1", "vm", 1},
                           {"vm2", "vm", 2},
                           {"host", "host", 3},
                           {"uplink", "uplink", 4},
                           {"nat", "nat", 5}};

Bytes hello(const Node& n) {
  return frame(kBroadcast, mac(n.addr), 46, static_cast<uint8_t>(n.addr));
}
Bytes unicast(const Node& from, const Node& to) {
  return frame(mac(to.addr), mac(from.addr), 46, static_cast<uint8_t>(from.addr * 16 + to.addr));
}

struct ModeRun {
  bool started = false;
  std::string refusal;  // why the switch would not take the set of ports, if it would not
  std::map<std::string, std::vector<Bytes>> out;
};

// Runs each mode once, with every role present, and keeps what each port received.
const ModeRun& run_mode(const std::string& mode) {
  static std::map<std::string, ModeRun> runs;
  auto [it, fresh] = runs.try_emplace(mode);
  ModeRun& r = it->second;
  if (!fresh) return r;
  std::vector<PcapPortSpec> ports;
  const bool host_only = mode == "host-only";
  for (const Node& n : kNodes) {
    // host-only refuses uplink and nat ports outright; that refusal is tested on its own.
    if (host_only && (std::string(n.role) == "uplink" || std::string(n.role) == "nat")) continue;
    std::vector<Bytes> in = {hello(n)};
    pad_round(in);
    for (const Node& to : kNodes) {
      if (&to != &n) in.push_back(unicast(n, to));
    }
    ports.push_back({n.name, in, std::string("role=") + n.role});
  }
  PcapSwitch sw(ports, {"--segment", "s,policy=" + mode});
  r.started = sw.finish();
  if (r.started) {
    for (const auto& p : ports)
      r.out[p.name] = sw.out(p.name);
  }
  return r;
}

// Did `to` receive both the broadcast and the unicast of `from`? Half of it is a failure.
bool reaches(const ModeRun& r, const Node& from, const Node& to) {
  auto it = r.out.find(to.name);
  if (it == r.out.end()) return false;
  const auto& got = it->second;
  const bool b = std::find(got.begin(), got.end(), hello(from)) != got.end();
  const bool u = std::find(got.begin(), got.end(), unicast(from, to)) != got.end();
  EXPECT_EQ(b, u) << from.name << " -> " << to.name << ": flood and unicast disagree";
  return b && u;
}

const Node& node(const char* name) {
  for (const Node& n : kNodes) {
    if (std::string(n.name) == name) return n;
  }
  throw std::logic_error(name);
}

// host-only: a LAN-facing port cannot even join.
std::string refusal(const char* role) {
  Vswitchd vs({"--segment", "s,policy=host-only", "--port",
               std::string("dpdk,dev=net_null0,role=") + role});
  EXPECT_FALSE(vs.ready());
  const int status = vs.stop();
  EXPECT_EQ(status, 1);
  return vs.log();
}

class ModesTable : public ::testing::TestWithParam<const char*> {};

// Do the VMs see the devices in the LAN? nat y, bridged y, host-only n, internal n.
TEST_P(ModesTable, VmsSeeTheLan) {
  const std::string mode = GetParam();
  if (mode == "host-only") {
    EXPECT_NE(refusal("uplink").find("host-only segment takes no uplink"), std::string::npos);
    return;
  }
  const ModeRun& r = run_mode(mode);
  ASSERT_TRUE(r.started);
  const bool direct = reaches(r, node("vm1"), node("uplink"));
  const bool via_nat = reaches(r, node("vm1"), node("nat"));
  if (mode == "bridged") {
    EXPECT_TRUE(direct);
  } else if (mode == "nat") {
    EXPECT_FALSE(direct);  // only through the NAT gateway
    EXPECT_TRUE(via_nat);
  } else {
    EXPECT_FALSE(direct || via_nat);
  }
}

// Do the LAN devices see the VMs? nat n, bridged y, host-only n, internal n.
TEST_P(ModesTable, LanSeesTheVms) {
  const std::string mode = GetParam();
  if (mode == "host-only") {
    EXPECT_NE(refusal("nat").find("host-only segment takes no nat"), std::string::npos);
    return;
  }
  const ModeRun& r = run_mode(mode);
  ASSERT_TRUE(r.started);
  EXPECT_EQ(reaches(r, node("uplink"), node("vm1")), mode == "bridged");
}

// Do the VMs see each other? nat n, bridged y, host-only y, internal y.
TEST_P(ModesTable, VmsSeeEachOther) {
  const std::string mode = GetParam();
  const ModeRun& r = run_mode(mode);
  ASSERT_TRUE(r.started);
  EXPECT_EQ(reaches(r, node("vm1"), node("vm2")), mode != "nat");
  EXPECT_EQ(reaches(r, node("vm2"), node("vm1")), mode != "nat");
}

// Can the VMs reach the Internet? nat y, bridged y, host-only n, internal n.
TEST_P(ModesTable, VmsReachTheInternet) {
  const std::string mode = GetParam();
  if (mode == "host-only") {
    EXPECT_NE(refusal("uplink").find("takes no uplink"), std::string::npos);
    EXPECT_NE(refusal("nat").find("takes no nat"), std::string::npos);
    return;
  }
  const ModeRun& r = run_mode(mode);
  ASSERT_TRUE(r.started);
  const bool out = reaches(r, node("vm2"), node("uplink")) || reaches(r, node("vm2"), node("nat"));
  EXPECT_EQ(out, mode == "bridged" || mode == "nat");
}

// Can the host connect to the VMs? nat n, bridged y, host-only y, internal n.
TEST_P(ModesTable, HostConnectsToTheVms) {
  const std::string mode = GetParam();
  const ModeRun& r = run_mode(mode);
  ASSERT_TRUE(r.started);
  const bool expected = mode == "bridged" || mode == "host-only";
  EXPECT_EQ(reaches(r, node("host"), node("vm1")), expected);
  EXPECT_EQ(reaches(r, node("vm1"), node("host")), expected);
}

INSTANTIATE_TEST_SUITE_P(Modes, ModesTable,
                         ::testing::Values("nat", "bridged", "host-only", "internal"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// An explicit matrix: a NAT network whose VMs do see each other.
TEST(ModesMatrix, ExplicitPairsOpenExactlyThosePaths) {
  const ModeRun& r = run_mode("vm-vm+vm-nat");
  ASSERT_TRUE(r.started);
  EXPECT_TRUE(reaches(r, node("vm1"), node("vm2")));
  EXPECT_TRUE(reaches(r, node("vm1"), node("nat")));
  EXPECT_FALSE(reaches(r, node("vm1"), node("uplink")));
  EXPECT_FALSE(reaches(r, node("host"), node("vm2")));
  EXPECT_FALSE(reaches(r, node("nat"), node("uplink")));
}

}  // namespace
}  // namespace vswitch::test
