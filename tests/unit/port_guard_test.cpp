// Storm control and port security: what one port may send into its segment, frame by frame.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/mbufs.hpp"
#include "../support/segment_fixture.hpp"
#include "vswitch/trace.hpp"

namespace vswitch {
namespace {

using test::frame;
using test::kBroadcast;
using test::mac;
using test::MemoryPort;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class PortGuardTest : public SegmentTest {
 protected:
  PortSettings port(const std::string& name) {
    PortSettings s;
    s.name = name;
    return s;
  }
  // Sends `n` copies of the frame in one millisecond; how many reached `to`.
  size_t send_many(MemoryPort& from, MemoryPort& to, const test::Bytes& f, size_t n) {
    to.sent.clear();
    for (size_t i = 0; i < n; ++i)
      send(from, f);
    return to.sent.size();
  }
  std::string why(MemoryPort& p, const test::Bytes& f) {
    rte_mbuf* m = test::chain_frame(pool_, f);
    const FrameTrace t = seg_->explain(ports_.at(&p), m, now_ms_);
    rte_pktmbuf_free(m);
    return t.text();
  }
};

TEST_F(PortGuardTest, BroadcastsOverTheLimitAreDroppedAfterTheBurstAllowance) {
  PortSettings s = port("noisy");
  s.storm.broadcast = 1000;  // a tenth of a second's allowance: 100 frames
  auto& noisy = add(s);
  auto& other = add("other");
  const auto storm = frame(kBroadcast, mac(1));
  EXPECT_EQ(send_many(noisy, other, storm, 300), 100u);
  EXPECT_EQ(noisy.counters().dropped(DropReason::storm), 200u);
  EXPECT_EQ(noisy.counters().in_packets, 300u);
  // 50 ms refill 50 frames' worth, and no more than the allowance however long the wait.
  now_ms_ += 50;
  EXPECT_EQ(send_many(noisy, other, storm, 300), 50u);
  now_ms_ += 60000;
  EXPECT_EQ(send_many(noisy, other, storm, 300), 100u);
  EXPECT_THAT(why(noisy, storm), HasSubstr("storm control: over noisy's limit of 1000 broadcast"));
}

TEST_F(PortGuardTest, EachKindHasItsOwnBucketAndUnicastIsNeverLimited) {
  PortSettings s = port("a");
  s.storm = {.broadcast = 10, .multicast = 10, .unknown = 10};  // allowance: one burst, 32
  auto& a = add(s);
  auto& b = add("b");
  send(b, frame(kBroadcast, mac(2)));  // b is known
  EXPECT_EQ(send_many(a, b, frame(kBroadcast, mac(1)), 50), 32u);
  EXPECT_EQ(send_many(a, b, frame(MacAddr(0x0000005e0001), mac(1)), 50), 32u);  // 01:00:5e..
  EXPECT_EQ(send_many(a, b, frame(mac(99), mac(1)), 50), 32u);                  // unknown
  EXPECT_EQ(send_many(a, b, frame(mac(2), mac(1)), 500), 500u);                 // learned
  EXPECT_EQ(a.counters().dropped(DropReason::storm), 3 * 18u);
}

TEST_F(PortGuardTest, AStormOfMadeUpSourcesTeachesTheFdbNothing) {
  PortSettings s = port("noisy");
  s.storm.broadcast = 100;
  auto& noisy = add(s);
  add("other");
  for (uint64_t i = 0; i < 1000; ++i)
    send(noisy, frame(kBroadcast, mac(0x1000 + i)));
  EXPECT_EQ(seg_->fdb().size(), 32u) << "only the frames let through are learned";
}

TEST_F(PortGuardTest, MaxMacsKeepsFurtherSourcesOutOfTheFdbAndTheirFramesOut) {
  PortSettings s = port("guest");
  s.security.max_macs = 2;
  auto& guest = add(s);
  auto& other = add("other");
  for (uint64_t i = 1; i <= 100; ++i)
    send(guest, frame(kBroadcast, mac(i)));
  EXPECT_EQ(seg_->fdb().entries_of(ports_[&guest]), 2u);
  EXPECT_EQ(other.sent.size(), 2u);
  EXPECT_EQ(guest.counters().dropped(DropReason::source), 98u);
  // The two it holds still pass; a third only once one of them ages out.
  EXPECT_EQ(send_many(guest, other, frame(kBroadcast, mac(2)), 3), 3u);
  EXPECT_THAT(why(guest, frame(kBroadcast, mac(3))), HasSubstr("the port holds its max-macs (2)"));
  now_ms_ += 400 * 1000;
  seg_->age(now_ms_);
  EXPECT_EQ(send_many(guest, other, frame(kBroadcast, mac(3)), 1), 1u);
}

TEST_F(PortGuardTest, OnlyTheListedSourcesEnterAndTheyArePinned) {
  const MacAddr own = mac(0x5254001);
  PortSettings s = port("guest");
  s.security.macs = {own};
  auto& guest = add(s);
  auto& other = add("other");
  const uint64_t key = Fdb::key(own.bits(), 0);
  EXPECT_EQ(seg_->fdb().lookup(key), ports_[&guest]) << "pinned before the guest sends";
  EXPECT_EQ(send_many(guest, other, frame(kBroadcast, own), 1), 1u);
  EXPECT_EQ(send_many(guest, other, frame(kBroadcast, mac(7)), 5), 0u);
  EXPECT_EQ(guest.counters().dropped(DropReason::source), 5u);
  EXPECT_EQ(seg_->fdb().lookup(Fdb::key(mac(7).bits(), 0)), kNoPort);
  EXPECT_THAT(why(guest, frame(kBroadcast, mac(7))), HasSubstr("not one of the port's macs"));
}

TEST_F(PortGuardTest, ASpoofedGuestKeepsItsTrafficAndTheSpooferGetsNothingThrough) {
  const MacAddr victim_mac = mac(0x5254001);
  PortSettings s = port("victim");
  s.security.macs = {victim_mac};
  auto& victim = add(s);
  auto& spoofer = add("spoofer");  // no port security of its own
  auto& peer = add("peer");
  send(peer, frame(kBroadcast, mac(3)));
  clear_sent();
  EXPECT_EQ(send_many(spoofer, peer, frame(mac(3), victim_mac), 10), 0u);
  EXPECT_EQ(spoofer.counters().dropped(DropReason::source), 10u);
  EXPECT_EQ(seg_->fdb().lookup(Fdb::key(victim_mac.bits(), 0)), ports_[&victim]);
  EXPECT_EQ(seg_->fdb().counters().moved, 0u);
  EXPECT_EQ(send_many(peer, victim, frame(victim_mac, mac(3)), 10), 10u);
  EXPECT_THAT(spoofer.sent, IsEmpty());
  EXPECT_THAT(why(spoofer, frame(mac(3), victim_mac)), HasSubstr("pinned to port victim"));
}

TEST_F(PortGuardTest, StickyAddressesStayThroughAgeingAndLockThePort) {
  PortSettings s = port("guest");
  s.security.max_macs = 1;
  s.security.sticky = true;
  auto& guest = add(s);
  auto& other = add("other");
  send(guest, frame(kBroadcast, mac(1)));
  const auto entry = seg_->fdb().find(Fdb::key(mac(1).bits(), 0), now_ms_);
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->is_static);
  now_ms_ += 3600 * 1000;
  seg_->age(now_ms_);
  EXPECT_EQ(seg_->fdb().lookup(Fdb::key(mac(1).bits(), 0)), ports_[&guest]);
  EXPECT_EQ(send_many(guest, other, frame(kBroadcast, mac(2)), 4), 0u);
  EXPECT_EQ(send_many(guest, other, frame(kBroadcast, mac(1)), 4), 4u);
  // Changing the port's security starts its lock afresh.
  s.security.max_macs = 2;
  seg_->reconfigure(ports_[&guest], s);
  EXPECT_EQ(seg_->fdb().entries_of(ports_[&guest]), 0u);
}

TEST_F(PortGuardTest, AHubStillEnforcesTheListOfSources) {
  SegmentSettings hub;
  hub.forwarding = Forwarding::hub;
  make(hub);
  PortSettings s = port("guest");
  s.security.macs = {mac(1)};
  auto& guest = add(s);
  auto& other = add("other");
  EXPECT_EQ(send_many(guest, other, frame(mac(9), mac(1)), 2), 2u);
  EXPECT_EQ(send_many(guest, other, frame(mac(9), mac(2)), 2), 0u);
}

TEST_F(PortGuardTest, BadSettingsAreRefused) {
  PortSettings s = port("guest");
  s.security.sticky = true;
  EXPECT_THROW(add(s), ConfigError) << "sticky without max-macs";
  s = port("guest");
  s.security.macs = {MacAddr(0x01)};
  EXPECT_THROW(add(s), ConfigError) << "a multicast address";
  s = port("guest");
  s.security.max_macs = 1;
  s.security.macs = {mac(1), mac(2)};
  EXPECT_THROW(add(s), ConfigError) << "more listed than allowed";
}

}  // namespace
}  // namespace vswitch
