// DPDK ports on real kernel devices: a net_tap interface and a veth end under net_af_packet,
// each in a network namespace of the test's own, with the kernel's ping crossing vswitchd.
#include <gtest/gtest.h>

#include <set>

#include "../support/netns.hpp"

namespace vswitch::test {
namespace {

TEST(KernelDevices, TapAndAfPacketPortsCarryPingBetweenNamespaces) {
  if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2";
  const std::string tap = unique_ifname("vt");
  const std::string veth = unique_ifname("vv"), peer = veth + "p";
  Netns a(unique_ifname("vsa")), b(unique_ifname("vsb"));
  ASSERT_EQ(ip({"link", "add", veth, "type", "veth", "peer", "name", peer}).status, 0);
  ASSERT_TRUE(b.adopt(peer, "10.199.0.2/24"));
  ASSERT_EQ(ip({"link", "set", veth, "up"}).status, 0);
  {
    Vswitchd vs({"--port", "dpdk,name=tap,dev=net_tap0,dev.iface=" + tap, "--port",
                 "dpdk,name=wire,dev=net_af_packet0,dev.iface=" + veth});
    ASSERT_TRUE(vs.ready()) << vs.log();
    ASSERT_TRUE(a.adopt(tap, "10.199.0.1/24"));
    auto ping = a.exec({"ping", "-c", "3", "-i", "0.2", "-W", "2", "10.199.0.2"});
    EXPECT_EQ(ping.status, 0) << ping.out << ping.err << vs.log();
    EXPECT_GE(vs.port_counter("tap", "in_packets"), 3);
    EXPECT_GE(vs.port_counter("wire", "out_packets"), 3);
    // Both hosts' addresses were learned, each on its own port.
    Value fdb = vs.ctl({"fdb", "show", "default"});
    std::set<std::string> ports;
    for (const Value& e : fdb.items())
      ports.insert(e.get("port")->as_string());
    EXPECT_EQ(ports, (std::set<std::string>{"tap", "wire"}));
    EXPECT_EQ(vs.stop(), 0);
  }
  ip({"link", "del", veth});
}

}  // namespace
}  // namespace vswitch::test
