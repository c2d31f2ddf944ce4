// Real QEMU guests (virtio-net and e1000, TCG) plugged into vswitchd through every QEMU backend:
// each pair pings and moves 4 MiB over HTTP through one segment. Slow (a few seconds a guest):
// ctest label `vm`.
#include <gtest/gtest.h>

#include "../support/guest.hpp"
#include "../support/netns.hpp"

namespace vswitch::test {
namespace {

constexpr auto kGuestTimeout = 180s;

uint16_t free_port() {
  static uint16_t next = static_cast<uint16_t>(20000 + (getpid() % 2000) * 10);
  return next++;
}

struct Side {
  Side(std::string port, std::string dev, std::string card = "virtio", std::string ns = "")
      : switch_port(std::move(port)),
        netdev(std::move(dev)),
        nic(std::move(card)),
        netns(std::move(ns)) {}
  std::string switch_port;  // the vswitchd --port spec
  std::string netdev;       // the guest's -netdev
  std::string nic;
  std::string netns;
};

// Boots a server guest on `a` and a client guest on `b`, one switch between them.
void run_pair(const Side& a, const Side& b, const std::vector<std::string>& extra = {},
              const std::string& switch_netns = "") {
  std::string why;
  const std::string kit = guest_kit(&why);
  if (kit.empty()) GTEST_SKIP() << why;
  TempDir logs;
  std::vector<std::string> args = extra;
  for (const auto* s : {&a, &b}) {
    if (s->switch_port.empty()) continue;
    args.push_back("--port");
    args.push_back(s->switch_port);
  }
  Vswitchd vs(args, switch_netns.empty() ? DaemonOptions{} : in_netns(switch_netns));
  ASSERT_TRUE(vs.ready()) << vs.log();
  Guest server(
      kit, {a.netdev, a.nic, "52:54:00:00:00:01", "10.9.0.1/24", "10.9.0.2", true, a.netns, "", ""},
      logs.file("server.log"));
  Guest client(
      kit,
      {b.netdev, b.nic, "52:54:00:00:00:02", "10.9.0.2/24", "10.9.0.1", false, b.netns, "", ""},
      logs.file("client.log"));
  const bool done = client.wait_for("VSW-DONE", kGuestTimeout);
  EXPECT_TRUE(done) << "client:\n"
                    << client.console() << "\nserver:\n"
                    << server.console() << "\nswitch:\n"
                    << vs.log();
  EXPECT_NE(client.console().find("VSW-PING-OK"), std::string::npos) << client.console();
  EXPECT_NE(client.console().find("VSW-XFER-OK bytes=4194304"), std::string::npos)
      << client.console() << "\nswitch:\n"
      << vs.log();
  EXPECT_NE(server.console().find("VSW-PING-OK"), std::string::npos) << server.console();
  // Both guests were learned; the server, still running, behind a port of its own. (The client
  // has powered off: a port that connects out forgets it at once.)
  Value seg = vs.ctl({"segment", "show", "default"});
  EXPECT_GE(seg.at("fdb.learned")->as_int(), 2);
  Value fdb = vs.ctl({"fdb", "show", "default", "mac=52:54:00:00:00:01"});
  EXPECT_EQ(fdb.items().size(), 1u);
}

class VdeGuests : public ::testing::TestWithParam<const char*> {};

TEST_P(VdeGuests, PingAndMoveFourMegabytesThroughAVdeSwitch) {
  TempDir d;
  const std::string sw = d.file("sw");
  const std::string nic = GetParam();
  run_pair({"", "vde,sock=" + sw, nic}, {"", "vde,sock=" + sw, nic}, {"--vde", sw});
}

INSTANTIATE_TEST_SUITE_P(Nics, VdeGuests, ::testing::Values("virtio", "e1000"));

TEST(QemuBackends, VdeGuestAndTcpSocketGuest) {
  TempDir d;
  const std::string port = std::to_string(free_port());
  run_pair({"", "vde,sock=" + d.file("sw")},
           {"socket,listen=127.0.0.1:" + port, "socket,connect=127.0.0.1:" + port, "e1000"},
           {"--vde", d.file("sw")});
}

TEST(QemuBackends, UnixStreamGuestAndUnixDatagramGuest) {
  TempDir d;
  const std::string s = d.file("stream"), ql = d.file("qemu.dg"), vl = d.file("vs.dg");
  run_pair({"stream,server=on,addr.type=unix,addr.path=" + s,
            "stream,server=off,addr.type=unix,addr.path=" + s},
           {"dgram,local.type=unix,local.path=" + vl + ",remote.type=unix,remote.path=" + ql,
            "dgram,local.type=unix,local.path=" + ql + ",remote.type=unix,remote.path=" + vl});
}

// The switch connects out to guests that listen, and keeps trying until they do.
TEST(QemuBackends, GuestsListeningOnTcpStreamAndSocket) {
  const std::string p1 = std::to_string(free_port()), p2 = std::to_string(free_port());
  run_pair(
      {"stream,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=" + p1 + ",reconnect=100",
       "stream,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=" + p1},
      {"socket,connect=127.0.0.1:" + p2 + ",reconnect=100", "socket,listen=127.0.0.1:" + p2});
}

TEST(QemuBackends, UdpGuestAndMulticastGuest) {
  if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2 for a multicast loopback";
  Netns ns(unique_ifname("vmm"));
  ASSERT_EQ(ns.exec({"ip", "link", "set", "lo", "up", "multicast", "on"}).status, 0);
  ASSERT_EQ(ns.exec({"ip", "route", "add", "224.0.0.0/4", "dev", "lo"}).status, 0);
  const std::string us = std::to_string(free_port()), them = std::to_string(free_port());
  const std::string mc = "230.0.0.9:" + std::to_string(free_port());
  run_pair({"socket,udp=127.0.0.1:" + them + ",localaddr=127.0.0.1:" + us,
            "socket,udp=127.0.0.1:" + us + ",localaddr=127.0.0.1:" + them, "virtio", ns.name()},
           {"socket,mcast=" + mc + ",localaddr=127.0.0.1",
            "socket,mcast=" + mc + ",localaddr=127.0.0.1", "virtio", ns.name()},
           {}, ns.name());
}

// vhost-user: the guest's rings in memory the switch maps, beside a VDE guest in one segment.
TEST(QemuBackends, VhostUserGuestAndVdeGuest) {
  TempDir d;
  const std::string sock = d.file("vh.sock");
  run_pair({"vhost-user,path=" + sock, "vhost-user,path=" + sock}, {"", "vde,sock=" + d.file("sw")},
           {"--vde", d.file("sw")});
}

// Client mode (QEMU listens, the switch connects) beside a server-mode vhost-user guest.
TEST(QemuBackends, VhostUserGuestsInClientAndServerMode) {
  TempDir d;
  const std::string a = d.file("a.sock"), b = d.file("b.sock");
  run_pair({"vhost-user,server=off,path=" + a, "vhost-user,path=" + a + ",server=on"},
           {"vhost-user,path=" + b, "vhost-user,path=" + b});
}

// Client-mode ports keep their guests through a restart of the switch, and take a restarted
// guest back, neither side restarting the other.
TEST(QemuBackends, VhostUserClientModeSurvivesRestartsOfSwitchAndGuest) {
  std::string why;
  const std::string kit = guest_kit(&why);
  if (kit.empty()) GTEST_SKIP() << why;
  TempDir d;
  const std::string a = d.file("a.sock"), b = d.file("b.sock");
  const std::vector<std::string> args = {"--port", "vhost-user,name=a,server=off,path=" + a,
                                         "--port", "vhost-user,name=b,server=off,path=" + b};
  auto guest = [&](const std::string& sock, const char* mac, const char* ip, const char* peer,
                   const std::string& name) {
    GuestSpec g;
    g.netdev = "vhost-user,path=" + sock + ",server=on";
    g.mac = mac;
    g.ip = ip;
    g.peer = peer;
    g.more = "vsw.role=agent";
    g.agent = d.file(name + ".agent");
    return std::make_unique<Guest>(kit, g, d.file(name + ".log"));
  };
  auto ga = guest(a, "52:54:00:00:00:01", "10.9.0.1/24", "10.9.0.2", "ga");
  auto gb = guest(b, "52:54:00:00:00:02", "10.9.0.2/24", "10.9.0.1", "gb");
  auto vs = std::make_unique<Vswitchd>(args);
  ASSERT_TRUE(vs->ready()) << vs->log();
  ASSERT_TRUE(ga->wait_for("VSW-READY", kGuestTimeout)) << ga->console();
  ASSERT_TRUE(gb->wait_for("VSW-READY", kGuestTimeout)) << gb->console();
  auto pings = [&](const char* what) {
    const auto r = ga->probe("ping 10.9.0.2", 60s);
    EXPECT_TRUE(r && *r) << what << "\nguest a:\n" << ga->console() << "\nswitch:\n" << vs->log();
  };
  pings("first");
  vs.reset();  // SIGTERM, then a new switch on the same sockets
  vs = std::make_unique<Vswitchd>(args);
  ASSERT_TRUE(vs->ready()) << vs->log();
  pings("after the switch restarted");
  gb.reset();  // killed; a new QEMU listens on the same socket
  gb = guest(b, "52:54:00:00:00:02", "10.9.0.2/24", "10.9.0.1", "gb2");
  ASSERT_TRUE(gb->wait_for("VSW-READY", kGuestTimeout)) << gb->console();
  pings("after guest b restarted");
  EXPECT_EQ(vs->ctl({"port", "show", "b"}).at("details")->at("connections")->as_string(), "2")
      << vs->log();
}

}  // namespace
}  // namespace vswitch::test
