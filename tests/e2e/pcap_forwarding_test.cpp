// vswitchd end to end on real DPDK: net_pcap ports replay crafted frames, and what comes out of
// each port is compared byte for byte with what a switch must send.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/pcap_switch.hpp"

namespace vswitch::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PcapForwarding, LearnsThenSendsUnicastOnlyToTheOwner) {
  const Bytes hello = frame(kBroadcast, mac(1), 46, 1);
  const Bytes reply = frame(mac(1), mac(2), 46, 2);
  PcapSwitch sw({{"a", {hello}, ""}, {"b", {reply}, ""}, {"c", {}, ""}});
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("a"), ElementsAre(reply));
  EXPECT_THAT(sw.out("b"), ElementsAre(hello));
  EXPECT_THAT(sw.out("c"), ElementsAre(hello));
}

TEST(PcapForwarding, FloodsBroadcastAndUnknownUnicastWithinTheVlan) {
  const Bytes unknown = frame(mac(9), mac(1), 60, 3);
  const Bytes bcast20 = frame(kBroadcast, mac(3), 46, 4);
  PcapSwitch sw({{"a", {unknown}, "tag=10"},
                 {"b", {}, "tag=10"},
                 {"c", {bcast20}, "tag=20"},
                 {"t", {}, "trunks=10:20"}});
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("a"), IsEmpty());
  EXPECT_THAT(sw.out("b"), ElementsAre(unknown));
  EXPECT_THAT(sw.out("c"), IsEmpty());
  EXPECT_THAT(sw.out("t"), ElementsAre(tagged(unknown, 10), tagged(bcast20, 20)));
}

TEST(PcapForwarding, TagsBetweenAccessAndTrunkPorts) {
  const Bytes from_access = frame(kBroadcast, mac(1), 46, 5);
  const Bytes plain = frame(mac(1), mac(2), 46, 6);
  const Bytes high_priority = tagged(plain, 10, 7);
  const Bytes wrong_vlan = tagged(frame(kBroadcast, mac(4), 46, 7), 30);
  std::vector<Bytes> trunk_in = {high_priority, wrong_vlan};
  PcapSwitch sw({{"a", {from_access}, "tag=10"}, {"t", trunk_in, "trunks=10:20"}});
  ASSERT_TRUE(sw.daemon().wait_port_counter("t", "drops.vlan", 1));
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("t"), ElementsAre(tagged(from_access, 10, 0)));
  EXPECT_THAT(sw.out("a"), ElementsAre(plain));
}

TEST(PcapForwarding, HubModeRepeatsEveryFrameUnchanged) {
  const Bytes t = tagged(frame(mac(2), mac(1), 46, 8), 42, 3);
  const Bytes u = frame(mac(1), mac(2), 46, 9);
  PcapSwitch sw({{"a", {t}, ""}, {"b", {u}, "tag=5"}, {"c", {}, "trunks=7"}},
                {"--segment", "h,mode=hub"});
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("a"), ElementsAre(u));
  EXPECT_THAT(sw.out("b"), ElementsAre(t));
  EXPECT_THAT(sw.out("c"), ElementsAre(t, u));
}

TEST(PcapForwarding, DropsRuntsAndOversizeFramesAndCountsThem) {
  const Bytes runt(10, 0xab);
  const Bytes big = frame(kBroadcast, mac(1), 1501, 1);
  const Bytes max = frame(kBroadcast, mac(1), 1500, 2);
  PcapSwitch sw({{"a", {runt, big, max}, ""}, {"b", {}, ""}});
  ASSERT_TRUE(sw.daemon().wait_port_counter("a", "in_packets", 3));
  EXPECT_EQ(sw.daemon().port_counter("a", "drops.runt"), 1);
  EXPECT_EQ(sw.daemon().port_counter("a", "drops.oversize"), 1);
  EXPECT_EQ(sw.daemon().port_counter("b", "out_packets"), 1);
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("b"), ElementsAre(max));
}

TEST(PcapForwarding, JumboFramesCrossJumboPortsWhole) {
  const Bytes jumbo = frame(kBroadcast, mac(1), 9000, 3);
  PcapSwitch sw({{"a", {jumbo}, "mtu=9000"}, {"b", {}, "mtu=9000,trunks=0:10"}, {"c", {}, ""}});
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("b"), ElementsAre(jumbo));
  EXPECT_THAT(sw.out("c"), IsEmpty());
}

}  // namespace
}  // namespace vswitch::test
