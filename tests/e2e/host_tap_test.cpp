// The host's own interface on a segment: a kernel tap the switch creates and configures, or a
// persistent one made for an unprivileged switch, each in a network namespace of the test's own.
// A VDE client asks for the host's address and the host's kernel answers through the tap.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <thread>

#include "../support/netns.hpp"
#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

// Whether the host's kernel answers an ARP request sent in through the switch.
bool host_answers_arp(VdeClient& c, Ipv4 host) {
  const Ipv4 guest = {host[0], host[1], host[2], 10};
  if (!c.send(arp_request(mac(1), guest, host))) return false;
  for (int i = 0; i < 10; ++i) {
    auto f = c.recv(3000);
    if (!f) return false;
    if (is_arp_reply(*f, host, guest)) return true;
  }
  return false;
}

class HostTap : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2";
    ns_ = std::make_unique<Netns>(unique_ifname("vstap"));
  }
  DaemonOptions in_ns(bool nobody) {
    DaemonOptions o = nobody ? as_nobody() : DaemonOptions{};
    o.netns = ns_->name();
    return o;
  }
  std::string link(const std::string& ifname) {
    return ns_->exec({"/usr/sbin/ip", "-o", "addr", "show", "dev", ifname}).out;
  }

  std::unique_ptr<Netns> ns_;
  TempDir tmp_;
};

TEST_F(HostTap, ACreatedTapGetsItsAddressCarriesFramesAndGoesWithTheSwitch) {
  const std::string tap = unique_ifname("vst");
  auto vs = std::make_unique<Vswitchd>(
      std::vector<std::string>{"--vde", tmp_.file("sw"), "--port",
                               "tap,ifname=" + tap + ",address=192.168.100.1/24,mtu=9000"},
      in_ns(false));
  ASSERT_TRUE(vs->ready()) << vs->log();
  EXPECT_THAT(link(tap), ::testing::HasSubstr("inet 192.168.100.1/24"));
  EXPECT_THAT(ns_->exec({"/usr/sbin/ip", "link", "show", tap}).out,
              ::testing::AllOf(::testing::HasSubstr("mtu 9000"), ::testing::HasSubstr(",UP")));
  EXPECT_EQ(vs->ctl({"port", "show", tap}).get("role")->as_string(), "host");
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  EXPECT_TRUE(host_answers_arp(guest, {192, 168, 100, 1}));
  EXPECT_GE(vs->port_counter(tap, "out_packets"), 1);
  EXPECT_GE(vs->port_counter(tap, "in_packets"), 1);
  // The interface's MAC is pinned to the port, so no guest can take the host's frames.
  std::string own = ns_->exec({"/bin/cat", "/sys/class/net/" + tap + "/address"}).out;
  own.erase(own.find_last_not_of('\n') + 1);
  const Value pinned = vs->ctl({"fdb", "show", "default", "mac=" + own});
  ASSERT_EQ(pinned.items().size(), 1u) << own;
  EXPECT_EQ(pinned.items()[0].get("type")->as_string(), "static");
  EXPECT_EQ(pinned.items()[0].get("port")->as_string(), tap);
  EXPECT_EQ(vs->stop(), 0);
  EXPECT_NE(ns_->exec({"/usr/sbin/ip", "link", "show", tap}).status, 0) << "the tap outlived us";
}

TEST_F(HostTap, AnUnprivilegedSwitchUsesAPersistentTapMadeForItAndLeavesIt) {
  const std::string tap = unique_ifname("vst");
  ASSERT_EQ(
      ns_->exec({"/usr/sbin/ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", "nobody"})
          .status,
      0);
  ns_->exec({"/usr/sbin/ip", "addr", "add", "192.168.101.1/24", "dev", tap});
  ns_->exec({"/usr/sbin/ip", "link", "set", tap, "up"});
  auto vs =
      std::make_unique<Vswitchd>(std::vector<std::string>{"--vde", tmp_.file("sw"), "-m", "0666",
                                                          "--port", "tap,ifname=" + tap},
                                 in_ns(true));
  ASSERT_TRUE(vs->ready()) << vs->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  EXPECT_TRUE(host_answers_arp(guest, {192, 168, 101, 1}));
  EXPECT_EQ(vs->stop(), 0);
  EXPECT_THAT(link(tap), ::testing::HasSubstr("inet 192.168.101.1/24")) << "its address went";
}

TEST_F(HostTap, ATapBroughtDownCountsWhatItCannotCarryAndCarriesAgainWhenUp) {
  const std::string tap = unique_ifname("vst");
  Vswitchd vs(
      {"--vde", tmp_.file("sw"), "--port", "tap,ifname=" + tap + ",address=192.168.103.1/24"},
      in_ns(false));
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_EQ(ns_->exec({"/usr/sbin/ip", "link", "set", tap, "down"}).status, 0);
  EXPECT_FALSE(host_answers_arp(guest, {192, 168, 103, 1}));
  EXPECT_GE(vs.port_counter(tap, "drops.tx_error"), 1);
  ASSERT_EQ(ns_->exec({"/usr/sbin/ip", "link", "set", tap, "up"}).status, 0);
  EXPECT_TRUE(host_answers_arp(guest, {192, 168, 103, 1}));
  EXPECT_EQ(vs.stop(), 0);
}

TEST_F(HostTap, ATapDeletedFromOutsideIsReportedAndTheSwitchGoesOnServing) {
  const std::string tap = unique_ifname("vst");
  Vswitchd vs(
      {"--vde", tmp_.file("sw"), "--port", "tap,ifname=" + tap + ",address=192.168.102.1/24"},
      in_ns(false));
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(host_answers_arp(guest, {192, 168, 102, 1}));
  ASSERT_EQ(ns_->exec({"/usr/sbin/ip", "link", "del", tap}).status, 0);
  // The dead descriptor stays in error: the port must go rather than be polled for ever.
  EXPECT_TRUE(wait_until([&] { return vs.log().find(tap + " deleted") != std::string::npos; }, 10s))
      << vs.log();
  EXPECT_TRUE(wait_until(
      [&] {
        std::string err;
        return !vs.try_ctl({"port", "show", tap}, &err).has_value();
      },
      10s));
  const long before = cpu_ticks(vs.pid());
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpu_ticks(vs.pid()) - before, 50) << "the engine spins";
  // Every other port is still served.
  VdeClient other(tmp_.file("sw"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(guest.send(arp_request(mac(1), {10, 0, 0, 1}, {10, 0, 0, 2})));
  EXPECT_TRUE(other.recv(3000).has_value());
  EXPECT_EQ(vs.stop(), 0);
}

TEST_F(HostTap, WithoutPrivilegeOrATapItSaysWhatToRun) {
  const std::string tap = unique_ifname("vst");
  Vswitchd vs({"--port", "tap,ifname=" + tap}, [&] {
    DaemonOptions o = in_ns(true);
    o.wait_ready = false;
    return o;
  }());
  EXPECT_TRUE(wait_until([&] { return !vs.running(); }, 20s));
  EXPECT_EQ(vs.stop(), 1);
  EXPECT_THAT(vs.log(), ::testing::HasSubstr("ip tuntap add dev " + tap + " mode tap user nobody"));
}

}  // namespace
}  // namespace vswitch::test
