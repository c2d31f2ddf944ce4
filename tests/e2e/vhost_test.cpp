// vhost-user ports, the switch unprivileged, with DPDK's virtio_user PMD as the guests (a
// virtio-net front end in this process, no VM): frames crafted on one side come out byte for byte
// on the other, tagged and untagged across vhost and VDE, chained when they are jumbo; a guest that
// leaves and comes back finds its port, settings and counters as they were; client mode reaches a
// guest that listens, and finds it again after the switch restarts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"
#include "../support/virtio_user.hpp"

namespace vswitch::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Vhost : public ::testing::Test {
 protected:
  std::string sock(const std::string& name) const { return tmp_.file(name + ".sock"); }
  std::string detail(Vswitchd& vs, const std::string& port, const std::string& key) {
    const Value shown = vs.ctl({"port", "show", port});
    const Value* v = shown.at("details")->get(key);
    return v ? v->as_string() : "";
  }
  // Waits for the port's link to be as wanted.
  bool link(Vswitchd& vs, const std::string& port, const char* state) {
    return wait_until([&] { return detail(vs, port, "link") == state; }, 10s);
  }
  // The next frame that is not the guest's own noise; nullopt after the timeout.
  static std::optional<Bytes> next(VirtioUser& g) { return g.recv(3000); }

  TempDir tmp_;
};

TEST_F(Vhost, FramesCrossBetweenTwoGuestsByteForByte) {
  // Unprivileged, no hugepages: the embedded EAL default.
  Vswitchd vs({"--port", "vhost-user,name=vh0,path=" + sock("a"), "--port",
               "vhost-user,name=vh1,path=" + sock("b")},
              as_nobody());
  ASSERT_TRUE(vs.ready()) << vs.log();
  VirtioUser a(sock("a")), b(sock("b"));
  ASSERT_TRUE(a.ok()) << a.error() << vs.log();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_TRUE(link(vs, "vh0", "up")) << vs.log();
  ASSERT_TRUE(link(vs, "vh1", "up"));
  // Learned both ways, then unicast: what arrives is exactly what was sent.
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 46, 1)));
  auto flooded = next(b);
  ASSERT_TRUE(flooded) << vs.log();
  EXPECT_EQ(*flooded, frame(kBroadcast, mac(1), 46, 1));
  for (size_t payload : {46, 1000, 1500}) {
    const Bytes ab = frame(mac(2), mac(1), payload, 7), ba = frame(mac(1), mac(2), payload, 9);
    ASSERT_TRUE(a.send(ab));
    EXPECT_EQ(next(b), ab) << payload;
    ASSERT_TRUE(b.send(ba));
    EXPECT_EQ(next(a), ba) << payload;
  }
  EXPECT_GE(vs.port_counter("vh0", "in_packets"), 4);
  EXPECT_GE(vs.port_counter("vh1", "out_packets"), 4);
  // No offload is offered, so no guest hands the switch a 64 KB segment.
  const std::string negotiated = detail(vs, "vh0", "negotiated");
  EXPECT_THAT(negotiated, HasSubstr("mrg_rxbuf"));
  const uint64_t features = std::stoull(detail(vs, "vh0", "features"), nullptr, 16);
  EXPECT_EQ(features & ((1ULL << 0) | (1ULL << 1) | (1ULL << 7) | (1ULL << 11)), 0u);
  EXPECT_EQ(detail(vs, "vh0", "mode"), "server");

  // Idle, the switch sleeps with its guests connected, and a guest's kick wakes it.
  std::this_thread::sleep_for(200ms);
  const long before = cpu_ticks(vs.pid());
  std::this_thread::sleep_for(2s);
  EXPECT_LT(cpu_ticks(vs.pid()) - before, 20) << "more than a tenth of a core while idle";
  const Bytes late = frame(mac(2), mac(1), 64, 11);
  ASSERT_TRUE(a.send(late));
  EXPECT_EQ(next(b), late) << "a sleeping switch missed the guest's kick";
}

TEST_F(Vhost, JumboFramesPassWholeAsChains) {
  Vswitchd vs({"--port", "vhost-user,name=vh0,path=" + sock("a"), "--port",
               "vhost-user,name=vh1,path=" + sock("b")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VirtioUser a(sock("a")), b(sock("b"));
  ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
  ASSERT_TRUE(link(vs, "vh0", "up") && link(vs, "vh1", "up"));
  const Bytes jumbo = frame(kBroadcast, mac(1), 9000, 3);
  ASSERT_TRUE(a.send(jumbo));
  EXPECT_EQ(next(b), jumbo) << vs.log();
}

// Guests that negotiate less: no mergeable buffers, or several queue pairs (sending on the
// last), get their frames through the same.
TEST_F(Vhost, GuestsWithFewerFeaturesOrMoreQueues) {
  Vswitchd vs({"--port", "vhost-user,name=vh0,path=" + sock("a"), "--port",
               "vhost-user,name=vh1,path=" + sock("b")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VirtioUser plain(sock("a"), false, /*mergeable=*/false);
  VirtioUser multi(sock("b"), false, true, /*queues=*/2);
  ASSERT_TRUE(plain.ok()) << plain.error();
  ASSERT_TRUE(multi.ok()) << multi.error();
  ASSERT_TRUE(link(vs, "vh0", "up") && link(vs, "vh1", "up")) << vs.log();
  EXPECT_THAT(detail(vs, "vh0", "negotiated"), Not(HasSubstr("mrg_rxbuf")));
  EXPECT_TRUE(wait_until([&] { return detail(vs, "vh1", "queue_pairs") == "2"; }, 10s))
      << detail(vs, "vh1", "queue_pairs") << vs.log();
  for (size_t payload : {46, 1500}) {
    const Bytes ab = frame(kBroadcast, mac(1), payload, 1), ba = frame(mac(1), mac(2), payload, 2);
    ASSERT_TRUE(plain.send(ab));
    EXPECT_EQ(next(multi), ab) << payload;
    ASSERT_TRUE(multi.send(ba));
    EXPECT_EQ(next(plain), ba) << payload;
  }
}

// An access port on vhost and a trunk on VDE: the tag goes on towards VDE and off towards the
// guest, nothing else changes.
TEST_F(Vhost, VlanTaggingAcrossVhostAndVde) {
  Vswitchd vs({"--vde", tmp_.file("sw"), "--port", "vhost-user,name=vh0,tag=10,path=" + sock("a")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VirtioUser guest(sock("a"));
  ASSERT_TRUE(guest.ok()) << guest.error();
  ASSERT_TRUE(link(vs, "vh0", "up"));
  VdeClient trunk(tmp_.file("sw"));
  ASSERT_TRUE(trunk.ok());
  const Bytes plain = frame(kBroadcast, mac(1), 100, 4);
  ASSERT_TRUE(guest.send(plain));
  EXPECT_EQ(trunk.recv(3000), tagged(plain, 10));
  const Bytes back = frame(mac(1), mac(2), 100, 5);
  ASSERT_TRUE(trunk.send(tagged(back, 10)));
  EXPECT_EQ(next(guest), back);
  ASSERT_TRUE(trunk.send(tagged(frame(mac(1), mac(2), 100, 6), 20)));
  EXPECT_FALSE(guest.recv(500)) << "a frame of another VLAN reached the access port";
}

// The port outlives its guest: counters and settings stay, the link goes down and comes up,
// and frames for a guest that is not there are counted, not stuck.
TEST_F(Vhost, AGuestThatLeavesAndComesBackFindsItsPort) {
  Vswitchd vs({"--vde", tmp_.file("sw"), "--port", "vhost-user,name=vh0,tag=10,path=" + sock("a")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient trunk(tmp_.file("sw"));
  ASSERT_TRUE(trunk.ok());
  auto guest = std::make_unique<VirtioUser>(sock("a"));
  ASSERT_TRUE(guest->ok()) << guest->error();
  ASSERT_TRUE(link(vs, "vh0", "up"));
  ASSERT_TRUE(guest->send(frame(kBroadcast, mac(1), 46, 1)));
  ASSERT_TRUE(trunk.recv(3000));
  guest.reset();
  ASSERT_TRUE(link(vs, "vh0", "down")) << vs.log();
  const int64_t in = vs.port_counter("vh0", "in_packets");
  EXPECT_GE(in, 1);
  ASSERT_TRUE(trunk.send(tagged(frame(kBroadcast, mac(2), 46, 2), 10)));
  EXPECT_TRUE(vs.wait_port_counter("vh0", "drops.tx_error", 1)) << "nobody there to take it";

  guest = std::make_unique<VirtioUser>(sock("a"));
  ASSERT_TRUE(guest->ok()) << guest->error();
  ASSERT_TRUE(link(vs, "vh0", "up")) << vs.log();
  EXPECT_EQ(detail(vs, "vh0", "connections"), "2");
  const Value shown = vs.ctl({"port", "show", "vh0"});
  EXPECT_EQ(shown.at("vlan")->at("tag")->as_int(), 10) << "its settings stayed";
  ASSERT_TRUE(guest->send(frame(kBroadcast, mac(1), 46, 3)));
  EXPECT_EQ(trunk.recv(3000), tagged(frame(kBroadcast, mac(1), 46, 3), 10));
  EXPECT_EQ(vs.port_counter("vh0", "in_packets"), in + 1);
}

// A guest killed while it floods the switch (dpdk-testpmd's txonly on virtio_user, SIGKILLed)
// costs only its own frames: the port goes down, the switch goes on, and two other guests keep
// their traffic.
TEST_F(Vhost, AGuestKilledMidBurstCostsTheOthersNothing) {
  if (access("/usr/bin/dpdk-testpmd", X_OK) != 0) GTEST_SKIP() << "needs dpdk-testpmd";
  Vswitchd vs({"--port", "vhost-user,name=flood,path=" + sock("f"), "--port",
               "vhost-user,name=vh0,path=" + sock("a"), "--port",
               "vhost-user,name=vh1,path=" + sock("b")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  const pid_t flooder =
      spawn({"/usr/bin/dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
             "--no-telemetry", "--file-prefix=flood" + std::to_string(getpid()), "--vdev",
             "net_virtio_user0,path=" + sock("f"), "--", "--forward-mode=txonly", "--auto-start",
             "--stats-period=1", "--txpkts=64", "--total-num-mbufs=4096"},
            tmp_.file("testpmd.out"), tmp_.file("testpmd.err"));
  ASSERT_GT(flooder, 0);
  ASSERT_TRUE(vs.wait_port_counter("flood", "in_packets", 10000, 20s))
      << vs.log() << (std::stringstream() << std::ifstream(tmp_.file("testpmd.err")).rdbuf()).str();
  VirtioUser a(sock("a")), b(sock("b"));
  ASSERT_TRUE(a.ok() && b.ok()) << a.error() << b.error();
  ASSERT_TRUE(link(vs, "vh0", "up") && link(vs, "vh1", "up"));
  kill(flooder, SIGKILL);
  waitpid(flooder, nullptr, 0);
  EXPECT_TRUE(link(vs, "flood", "down")) << vs.log();
  EXPECT_TRUE(vs.running());
  // The others learn each other and pass unicast, the flood's broadcasts drained from their
  // queues first.
  a.drain(200);
  b.drain(200);
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 46, 1)));
  ASSERT_TRUE(b.send(frame(kBroadcast, mac(2), 46, 2)));
  a.drain(300);
  b.drain(300);
  const Bytes ab = frame(mac(2), mac(1), 200, 3);
  ASSERT_TRUE(a.send(ab));
  EXPECT_EQ(next(b), ab);
}

// Ports come and go at run time, a connected guest's included, and the socket goes with them.
TEST_F(Vhost, APortWithAConnectedGuestIsRemovedAndAddedAtRunTime) {
  Vswitchd vs({"--vde", tmp_.file("sw")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  vs.ctl({"port", "add", "vhost-user,name=vh0,path=" + sock("a")});
  auto guest = std::make_unique<VirtioUser>(sock("a"));
  ASSERT_TRUE(guest->ok()) << guest->error();
  ASSERT_TRUE(link(vs, "vh0", "up")) << vs.log();
  vs.ctl({"port", "del", "vh0"});
  EXPECT_FALSE(std::filesystem::exists(sock("a"))) << "the socket outlived its port";
  guest.reset();
  vs.ctl({"port", "add", "vhost-user,name=vh0,path=" + sock("a")});
  guest = std::make_unique<VirtioUser>(sock("a"));
  ASSERT_TRUE(guest->ok()) << guest->error();
  ASSERT_TRUE(link(vs, "vh0", "up")) << vs.log();
  VdeClient other(tmp_.file("sw"));
  ASSERT_TRUE(other.ok());
  const Bytes f = frame(kBroadcast, mac(3), 46, 3);
  ASSERT_TRUE(guest->send(f));
  EXPECT_EQ(other.recv(3000), f);
}

// Client mode: the guest listens (QEMU's server=on), the switch connects, and when the switch
// restarts the guest is found again without restarting it.
TEST_F(Vhost, ClientModeFindsTheGuestAgainAfterTheSwitchRestarts) {
  const std::vector<std::string> args = {"--vde", tmp_.file("sw"), "--port",
                                         "vhost-user,name=vh0,server=off,path=" + sock("g")};
  // The switch first: virtio_user's server waits in accept() for its first connection, which
  // the switch's retries (once a second) make.
  auto vs = std::make_unique<Vswitchd>(args);
  ASSERT_TRUE(vs->ready()) << vs->log();
  VirtioUser guest(sock("g"), /*server=*/true);
  ASSERT_TRUE(guest.ok()) << guest.error();
  for (int life = 0; life < 2; ++life) {
    if (life == 1) {
      EXPECT_EQ(vs->stop(), 0);
      vs = std::make_unique<Vswitchd>(args);
      ASSERT_TRUE(vs->ready()) << vs->log();
    }
    ASSERT_TRUE(link(*vs, "vh0", "up")) << "life " << life << "\n" << vs->log();
    EXPECT_EQ(detail(*vs, "vh0", "mode"), "client");
    VdeClient other(tmp_.file("sw"));
    ASSERT_TRUE(other.ok());
    const Bytes f = frame(kBroadcast, mac(5), 60, static_cast<uint8_t>(life));
    ASSERT_TRUE(other.send(f));
    std::optional<Bytes> got;
    while ((got = guest.recv(3000)) && *got != f) {
    }
    EXPECT_EQ(got, f) << "life " << life;
  }
}

TEST_F(Vhost, BadSpecsAndPathsSayWhatIsWrong) {
  auto refusal = [&](const std::string& spec) {
    const RunResult r = run_program({vswitchd_path(), "--port", spec}, 20s);
    return r.err + r.out;
  };
  EXPECT_THAT(refusal("vhost-user"), HasSubstr("path="));
  EXPECT_THAT(refusal("vhost-user,path=" + sock("x") + ",colour=blue"), HasSubstr("colour"));
  const std::string file = tmp_.file("plain");
  std::ofstream(file) << "not a socket";
  EXPECT_THAT(refusal("vhost-user,path=" + file), HasSubstr("not a socket"));
  Vswitchd holder({"--port", "vhost-user,path=" + sock("busy")});
  ASSERT_TRUE(holder.ready());
  EXPECT_THAT(refusal("vhost-user,path=" + sock("busy")), HasSubstr("already listening"));
  EXPECT_THAT(holder.log(), Not(HasSubstr("error")));
}

}  // namespace
}  // namespace vswitch::test
