// Storm control and port security on a running switch, between real VDE clients: one guest
// storming or spoofing does not take the others' traffic.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

using ::testing::HasSubstr;

size_t count_from(const std::vector<Bytes>& frames, MacAddr src) {
  size_t n = 0;
  for (const Bytes& f : frames)
    n += f.size() >= 12 && MacAddr::from_bytes(f.data() + 6) == src ? 1 : 0;
  return n;
}

class PortGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    vs_ = std::make_unique<Vswitchd>(std::vector<std::string>{"--vde", tmp_.file("sw")});
    ASSERT_TRUE(vs_->ready()) << vs_->log();
    for (auto* c : {&one_, &two_, &three_})
      *c = std::make_unique<VdeClient>(tmp_.file("sw"));
    ASSERT_TRUE(one_->ok() && two_->ok() && three_->ok());
    ASSERT_TRUE(wait_until([&] { return vs_->ctl({"port", "list"}).items().size() == 3; }, 5s));
  }

  TempDir tmp_;
  std::unique_ptr<Vswitchd> vs_;
  std::unique_ptr<VdeClient> one_, two_, three_;  // ports vde:1, vde:2, vde:3
};

TEST_F(PortGuard, ABroadcastStormIsHeldToItsLimitAndUnicastBesideItKeepsEveryFrame) {
  vs_->ctl({"port", "set", "vde:1", "storm-broadcast=1000"});
  const Value shown = vs_->ctl({"port", "show", "vde:1"});
  EXPECT_EQ(shown.at("storm.broadcast")->as_int(), 1000);
  const MacAddr noisy = mac(1), a = mac(2), b = mac(3);
  ASSERT_TRUE(three_->send(frame(kBroadcast, b)));  // b is known
  ASSERT_TRUE(two_->send(frame(kBroadcast, a)));
  ASSERT_TRUE(vs_->wait_port_counter("vde:1", "out_packets", 2));
  one_->drain(100);
  two_->drain(100);
  three_->drain(100);

  // About 100 k broadcasts a second from vde:1 while vde:2 sends unicast to vde:3.
  std::atomic<bool> storming{true};
  std::atomic<uint64_t> storm_sent{0};
  std::thread storm([&] {
    const Bytes f = frame(kBroadcast, noisy);
    while (storming.load()) {
      for (int i = 0; i < 100; ++i)
        storm_sent += one_->send(f) ? 1 : 0;
      std::this_thread::sleep_for(1ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  constexpr int kUnicast = 2000;
  for (int i = 0; i < kUnicast; ++i) {
    ASSERT_TRUE(two_->send(frame(b, a, 46, static_cast<uint8_t>(i))));
    if (i % 20 == 0) std::this_thread::sleep_for(1ms);
  }
  std::this_thread::sleep_for(500ms);
  storming = false;
  storm.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto at_b = three_->drain(300);
  const auto at_a = two_->drain(300);

  EXPECT_EQ(count_from(at_b, a), static_cast<size_t>(kUnicast)) << "the unicast lost frames";
  // The limit, and the allowance of a tenth of a second, over the storm's time.
  const size_t passed = count_from(at_a, noisy);
  const double allowed = 1000 * seconds + 100;
  EXPECT_LE(passed, allowed * 1.1) << seconds << " s";
  EXPECT_GE(passed, allowed * 0.5) << seconds << " s";
  EXPECT_GT(storm_sent.load(), 20 * passed) << "the storm was not a storm";
  const int64_t dropped = vs_->port_counter("vde:1", "drops.storm");
  EXPECT_EQ(dropped + static_cast<int64_t>(passed), vs_->port_counter("vde:1", "in_packets"));
  EXPECT_EQ(vs_->port_counter("vde:2", "dropped"), 0);
  EXPECT_EQ(vs_->port_counter("vde:3", "dropped"), 0);
  EXPECT_THAT(vs_->log(), HasSubstr("port vde:1: storm control dropping broadcast frames over "
                                    "1000 a second"));
}

TEST_F(PortGuard, ASpooferAndAMacFlooderGetNothingIntoTheFdbNorThrough) {
  const MacAddr victim = mac(0x10), attacker = mac(0x20), peer = mac(0x30);
  vs_->ctl({"port", "set", "vde:1", "macs=" + victim.str()});
  vs_->ctl({"port", "set", "vde:2", "max-macs=1"});
  ASSERT_TRUE(two_->send(frame(kBroadcast, attacker)));
  ASSERT_TRUE(three_->send(frame(kBroadcast, peer)));
  ASSERT_TRUE(vs_->wait_port_counter("vde:3", "in_packets", 1));
  ASSERT_TRUE(vs_->wait_port_counter("vde:2", "in_packets", 1));

  // The attacker claims the victim's address, and floods 1000 made-up ones.
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(two_->send(frame(peer, victim, 46, static_cast<uint8_t>(i))));
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(two_->send(frame(kBroadcast, mac(0x100000 + i))));
    if (i % 50 == 0) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(vs_->wait_port_counter("vde:2", "drops.source", 1010));
  // The victim's traffic is still the victim's.
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(three_->send(frame(victim, peer, 46, static_cast<uint8_t>(i))));
  ASSERT_TRUE(vs_->wait_port_counter("vde:1", "out_packets", 10));

  const Value fdb = vs_->ctl({"fdb", "show", "default"});
  std::map<std::string, std::string> where;
  for (const Value& e : fdb.items())
    where[e.get("mac")->as_string()] = e.get("port")->as_string();
  EXPECT_EQ(where.size(), 3u) << fdb.json();
  EXPECT_EQ(where[victim.str()], "vde:1");
  EXPECT_EQ(where[attacker.str()], "vde:2");
  EXPECT_EQ(where[peer.str()], "vde:3");
  EXPECT_EQ(count_from(three_->drain(200), victim), 0u) << "a spoofed frame got through";
  EXPECT_EQ(vs_->port_counter("vde:1", "out_packets"), 10 + 2);  // and the first broadcasts
  EXPECT_EQ(vs_->port_counter("vde:2", "drops.source"), 1010);
  EXPECT_THAT(vs_->log(), HasSubstr("port vde:2: frames from"));
  std::string error;
  EXPECT_FALSE(vs_->try_ctl({"port", "set", "vde:3", "sticky=on"}, &error));
  EXPECT_THAT(error, HasSubstr("sticky=on needs max-macs"));
}

}  // namespace
}  // namespace vswitch::test
