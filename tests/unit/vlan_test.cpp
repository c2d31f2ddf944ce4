#include "vswitch/vlan.hpp"

#include <gtest/gtest.h>

#include "../support/frames.hpp"

namespace vswitch {
namespace {

using test::Bytes;
using test::frame;
using test::mac;
using test::tagged;

VlanConfig config(VlanMode mode, uint16_t tag = 0, const char* trunks = "") {
  VlanConfig c;
  c.mode = mode;
  c.tag = tag;
  c.trunks = *VlanSet::parse(trunks);
  return c;
}

std::optional<VlanClass> classify(const VlanConfig& c, const Bytes& f) {
  return classify_vlan(PortVlan::from(c), f.data(), static_cast<uint32_t>(f.size()));
}

const Bytes kPlain = frame(mac(2), mac(1));

TEST(VlanSet, ParsesListsAndRanges) {
  auto s = VlanSet::parse("10,20-22:4094");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->count(), 5u);
  EXPECT_TRUE(s->test(21));
  EXPECT_FALSE(s->test(23));
  EXPECT_EQ(s->str(), "10,20-22,4094");
  EXPECT_FALSE(VlanSet::parse("4095"));
  EXPECT_FALSE(VlanSet::parse("20-10"));
  EXPECT_FALSE(VlanSet::parse("x"));
  EXPECT_TRUE(VlanSet::parse("")->empty());
}

TEST(Vlan, DefaultTrunkCarriesEveryVlanAndUntaggedInVlanZero) {
  const VlanConfig c;
  auto u = classify(c, kPlain);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->vlan, 0);
  EXPECT_FALSE(u->tagged);
  for (uint16_t vid : {1, 100, 4094}) {
    auto t = classify(c, tagged(kPlain, vid));
    ASSERT_TRUE(t) << vid;
    EXPECT_EQ(t->vlan, vid);
    EXPECT_TRUE(t->tagged);
  }
  EXPECT_FALSE(classify(c, tagged(kPlain, 4095)));
}

TEST(Vlan, TrunkWithListDropsOtherVlansAndUntaggedUnlessZeroListed) {
  const auto c = config(VlanMode::trunk, 0, "10,20");
  EXPECT_FALSE(classify(c, kPlain));
  EXPECT_TRUE(classify(c, tagged(kPlain, 10)));
  EXPECT_FALSE(classify(c, tagged(kPlain, 30)));
  EXPECT_TRUE(classify(config(VlanMode::trunk, 0, "0,10"), kPlain));
}

TEST(Vlan, AccessTakesUntaggedAndPriorityTaggedOnly) {
  const auto c = config(VlanMode::access, 10);
  auto u = classify(c, kPlain);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->vlan, 10);
  // OVS: any tag with a non-zero VID is dropped, even the port's own VLAN.
  EXPECT_FALSE(classify(c, tagged(kPlain, 10)));
  EXPECT_FALSE(classify(c, tagged(kPlain, 20)));
  auto p = classify(c, tagged(kPlain, 0, 5));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->vlan, 10);
  EXPECT_TRUE(p->priority_tagged);
}

TEST(Vlan, PriorityTagWrappingASecondTagIsRefused) {
  // 8100/VID 0 then 8100/VID 20: stripping the outer tag would smuggle the frame into VLAN 20.
  const Bytes hop = tagged(tagged(kPlain, 20), 0);
  EXPECT_FALSE(classify(config(VlanMode::access, 10), hop));
  EXPECT_FALSE(classify(VlanConfig{}, hop));
}

TEST(Vlan, NativePortsPutUntaggedInTheNativeVlan) {
  for (auto mode : {VlanMode::native_tagged, VlanMode::native_untagged}) {
    const auto c = config(mode, 10, "20");
    auto u = classify(c, kPlain);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->vlan, 10);
    EXPECT_TRUE(classify(c, tagged(kPlain, 20)));
    EXPECT_TRUE(classify(c, tagged(kPlain, 10)));  // the native VLAN is always trunked
    EXPECT_FALSE(classify(c, tagged(kPlain, 30)));
  }
}

TEST(Vlan, EgressTaggingFollowsTheMode) {
  const auto access = PortVlan::from(config(VlanMode::access, 10));
  EXPECT_FALSE(access.egress_tagged.test(10));
  const auto trunk = PortVlan::from(VlanConfig{});
  EXPECT_FALSE(trunk.egress_tagged.test(0));
  EXPECT_TRUE(trunk.egress_tagged.test(10));
  const auto nt = PortVlan::from(config(VlanMode::native_tagged, 10));
  EXPECT_TRUE(nt.egress_tagged.test(10));
  const auto nu = PortVlan::from(config(VlanMode::native_untagged, 10));
  EXPECT_FALSE(nu.egress_tagged.test(10));
  EXPECT_TRUE(nu.egress_tagged.test(11));
}

TEST(Vlan, RejectsContradictorySettings) {
  EXPECT_TRUE(config(VlanMode::access, 10, "20").validate());
  EXPECT_TRUE(config(VlanMode::trunk, 10).validate());
  EXPECT_FALSE(config(VlanMode::native_untagged, 10, "20").validate());
}

TEST(Vlan, TruncatedTagIsRefused) {
  Bytes f = tagged(kPlain, 10);
  f.resize(16);
  EXPECT_FALSE(classify_vlan(PortVlan::from(VlanConfig{}), f.data(), 16));
}

}  // namespace
}  // namespace vswitch
