// The forwarding pipeline of one segment, frame by frame, with ports backed by memory.
#include "vswitch/segment.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rte_mempool.h>

#include <map>

#include "../support/eal.hpp"
#include "../support/frames.hpp"
#include "../support/memory_port.hpp"
#include "../support/segment_fixture.hpp"

namespace vswitch {
namespace {

using test::Bytes;
using test::frame;
using test::kBroadcast;
using test::mac;
using test::MemoryPort;
using test::tagged;
using test::untagged;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(SegmentTest, BroadcastReachesEveryOtherPortUnchanged) {
  auto& a = add("a");
  auto& b = add("b");
  auto& c = add("c");
  const Bytes f = frame(kBroadcast, mac(1));
  send(a, f);
  EXPECT_THAT(a.sent, IsEmpty());
  EXPECT_THAT(b.sent, ElementsAre(f));
  EXPECT_THAT(c.sent, ElementsAre(f));
  EXPECT_EQ(seg_->counters().copies, 0u);  // one mbuf, shared by reference count
  EXPECT_EQ(b.counters().out_packets, 1u);
  EXPECT_EQ(b.counters().out_bytes, f.size());
  EXPECT_EQ(a.counters().in_packets, 1u);
}

TEST_F(SegmentTest, LearnedUnicastGoesOnlyToItsPort) {
  auto& a = add("a");
  auto& b = add("b");
  auto& c = add("c");
  send(a, frame(kBroadcast, mac(1)));
  clear_sent();
  const Bytes reply = frame(mac(1), mac(2));
  send(b, reply);
  EXPECT_THAT(a.sent, ElementsAre(reply));
  EXPECT_THAT(c.sent, IsEmpty());
  EXPECT_EQ(seg_->fdb().lookup(Fdb::key(mac(2).bits(), 0)), ports_[&b]);
}

TEST_F(SegmentTest, UnknownUnicastFloodsOnlyWithinItsVlan) {
  auto& a = add("a", access(10));
  auto& b = add("b", access(10));
  auto& c = add("c", access(20));
  auto& t = add("t", trunk("10,20"));
  const Bytes f = frame(mac(9), mac(1));
  send(a, f);
  EXPECT_THAT(b.sent, ElementsAre(f));
  EXPECT_THAT(c.sent, IsEmpty());
  EXPECT_THAT(t.sent, ElementsAre(tagged(f, 10)));
  EXPECT_EQ(seg_->counters().unknown, 1u);
}

TEST_F(SegmentTest, NeverSendsUnicastBackOutOfItsIngressPort) {
  auto& a = add("a");
  add("b");
  send(a, frame(kBroadcast, mac(1)));
  send(a, frame(mac(1), mac(2)));  // both behind a: a hub or a bridge out there
  EXPECT_THAT(a.sent, IsEmpty());
  EXPECT_EQ(a.counters().dropped(DropReason::hairpin), 1u);
}

TEST_F(SegmentTest, MulticastSourcesAreNeverLearned) {
  auto& a = add("a");
  add("b");
  const MacAddr group = *MacAddr::parse("01:00:5e:00:00:01");
  send(a, frame(kBroadcast, group));
  EXPECT_EQ(seg_->fdb().size(), 0u);
}

TEST_F(SegmentTest, AccessToTrunkPushesATagWithPriorityZero) {
  auto& a = add("a", access(10));
  auto& t = add("t", trunk());
  const Bytes f = frame(kBroadcast, mac(1));
  send(a, f);
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0], tagged(f, 10, 0));
}

TEST_F(SegmentTest, TrunkToAccessRemovesTheTag) {
  auto& a = add("a", access(10));
  auto& t = add("t", trunk());
  const Bytes plain = frame(kBroadcast, mac(1));
  send(t, tagged(plain, 10, 7));
  EXPECT_THAT(a.sent, ElementsAre(plain));
}

TEST_F(SegmentTest, TrunkToTrunkKeepsTheTagAndItsPriority) {
  auto& t1 = add("t1", trunk());
  auto& t2 = add("t2", trunk("5,10"));
  const Bytes f = tagged(frame(kBroadcast, mac(1)), 10, 5);
  send(t1, f);
  EXPECT_THAT(t2.sent, ElementsAre(f));
}

TEST_F(SegmentTest, PriorityTaggedFramesTakeTheNativeVlan) {
  auto& a = add("a", access(10));
  auto& b = add("b", access(10));
  auto& t = add("t", trunk());
  const Bytes plain = frame(kBroadcast, mac(1));
  send(a, tagged(plain, 0, 3));
  EXPECT_THAT(b.sent, ElementsAre(plain));
  // Towards the trunk the priority tag becomes the VLAN's tag, priority kept.
  EXPECT_THAT(t.sent, ElementsAre(tagged(plain, 10, 3)));
}

TEST_F(SegmentTest, MixedFloodGivesEachPortItsFormWithOneCopy) {
  auto& a = add("a", access(10));
  auto& b = add("b", access(10));
  auto& t = add("t", trunk());
  auto& nu = add("nu", native(VlanMode::native_untagged, 10));
  auto& nt = add("nt", native(VlanMode::native_tagged, 10));
  auto& other = add("other", access(20));
  const Bytes plain = frame(kBroadcast, mac(1));
  send(a, plain);
  EXPECT_THAT(b.sent, ElementsAre(plain));
  EXPECT_THAT(nu.sent, ElementsAre(plain));
  EXPECT_THAT(t.sent, ElementsAre(tagged(plain, 10)));
  EXPECT_THAT(nt.sent, ElementsAre(tagged(plain, 10)));
  EXPECT_THAT(other.sent, IsEmpty());
  EXPECT_EQ(seg_->counters().copies, 1u);
}

TEST_F(SegmentTest, TaggedFramesOfForeignVlansAreDropped) {
  auto& a = add("a", access(10));
  auto& t = add("t", trunk("10"));
  send(a, tagged(frame(kBroadcast, mac(1)), 20));
  send(t, tagged(frame(kBroadcast, mac(2)), 30));
  EXPECT_THAT(a.sent, IsEmpty());
  EXPECT_THAT(t.sent, IsEmpty());
  EXPECT_EQ(a.counters().dropped(DropReason::vlan), 1u);
  EXPECT_EQ(t.counters().dropped(DropReason::vlan), 1u);
}

TEST_F(SegmentTest, DoubleTagHopIntoAnotherVlanIsDropped) {
  auto& a = add("a", access(10));
  auto& t = add("t", trunk());
  send(a, tagged(tagged(frame(kBroadcast, mac(1)), 20), 0));
  EXPECT_THAT(t.sent, IsEmpty());
  EXPECT_EQ(a.counters().dropped(DropReason::vlan), 1u);
}

TEST_F(SegmentTest, LearnedMacDoesNotLeakAcrossVlans) {
  auto& a = add("a", access(10));
  auto& b = add("b", access(20));
  auto& t = add("t", trunk());
  send(a, frame(kBroadcast, mac(1)));  // mac 1 learned in VLAN 10 only
  clear_sent();
  send(t, tagged(frame(mac(1), mac(2)), 20));
  EXPECT_THAT(a.sent, IsEmpty());
  EXPECT_EQ(b.sent.size(), 1u);  // unknown in VLAN 20: flooded there
}

TEST_F(SegmentTest, HubFloodsEverythingUnchangedWithoutLearning) {
  SegmentSettings s;
  s.forwarding = Forwarding::hub;
  make(s);
  auto& a = add("a", access(10));
  auto& b = add("b", access(20));
  auto& c = add("c", trunk("5"));
  const Bytes t = tagged(frame(mac(2), mac(1)), 99);
  send(a, t);
  send(b, frame(mac(1), mac(2)));
  EXPECT_THAT(b.sent, ElementsAre(t));
  EXPECT_THAT(c.sent, ElementsAre(t, frame(mac(1), mac(2))));
  EXPECT_THAT(a.sent, ElementsAre(frame(mac(1), mac(2))));
  EXPECT_EQ(seg_->fdb().size(), 0u);
}

TEST_F(SegmentTest, RuntsAndOversizeFramesAreDroppedAndCounted) {
  auto& a = add("a");
  auto& b = add("b");
  send(a, Bytes(13, 0xff));
  send(a, frame(kBroadcast, mac(1), 1501));
  send(a, tagged(frame(kBroadcast, mac(1), 1500), 10));  // a tag does not count against the MTU
  EXPECT_EQ(a.counters().dropped(DropReason::runt), 1u);
  EXPECT_EQ(a.counters().dropped(DropReason::oversize), 1u);
  EXPECT_EQ(b.sent.size(), 1u);
  EXPECT_EQ(a.counters().in_packets, 3u);
}

TEST_F(SegmentTest, JumboFramesPassBetweenJumboPortsOnly) {
  auto& a = add("a", {}, Role::vm, 9000);
  auto& b = add("b", {}, Role::vm, 9000);
  auto& c = add("c");
  const Bytes jumbo = frame(kBroadcast, mac(1), 9000, 7);
  send(a, jumbo);
  EXPECT_THAT(b.sent, ElementsAre(jumbo));
  EXPECT_THAT(c.sent, IsEmpty());
  EXPECT_EQ(c.counters().dropped(DropReason::oversize), 1u);
}

TEST_F(SegmentTest, JumboFrameGetsTaggedAcrossChainedMbufs) {
  auto& a = add("a", access(10), Role::vm, 9000);
  auto& t = add("t", trunk(), Role::vm, 9000);
  const Bytes jumbo = frame(kBroadcast, mac(1), 8000, 3);
  send(a, jumbo);
  EXPECT_THAT(t.sent, ElementsAre(tagged(jumbo, 10)));
}

// A chain shared by several ports must be released segment by segment by each of them: the
// pool count checked after every test shows a tail segment freed twice or never.
TEST_F(SegmentTest, FloodedChainedFramesReachEveryPortWholeAndAreFreedOnce) {
  auto& a = add("a", access(10), Role::vm, 9216);
  auto& b = add("b", access(10), Role::vm, 9216);
  auto& c = add("c", access(10), Role::vm, 9216);
  auto& t1 = add("t1", trunk(), Role::vm, 9216);
  auto& t2 = add("t2", trunk(), Role::vm, 9216);
  for (size_t payload : {2100, 4000, 9000, 9216}) {
    clear_sent();
    const Bytes f = frame(kBroadcast, mac(1), payload, static_cast<uint8_t>(payload));
    send(a, f);
    EXPECT_THAT(b.sent, ElementsAre(f));
    EXPECT_THAT(c.sent, ElementsAre(f));
    EXPECT_THAT(t1.sent, ElementsAre(tagged(f, 10)));
    EXPECT_THAT(t2.sent, ElementsAre(tagged(f, 10)));
    // And back from a trunk: the tagged original to one group, an untagged copy to the other.
    clear_sent();
    const Bytes g = frame(kBroadcast, mac(2), payload, static_cast<uint8_t>(payload + 1));
    send(t1, tagged(g, 10));
    EXPECT_THAT(a.sent, ElementsAre(g));
    EXPECT_THAT(b.sent, ElementsAre(g));
    EXPECT_THAT(t2.sent, ElementsAre(tagged(g, 10)));
  }
}

TEST_F(SegmentTest, HubFloodsChainedFramesWholeAndFreesThemOnce) {
  SegmentSettings s;
  s.forwarding = Forwarding::hub;
  make(s);
  auto& a = add("a", {}, Role::vm, 9216);
  auto& b = add("b", {}, Role::vm, 9216);
  auto& c = add("c", {}, Role::vm, 9216);
  auto& d = add("d", {}, Role::vm, 9216);
  const Bytes f = frame(kBroadcast, mac(1), 9000, 1);
  send(a, f);
  EXPECT_THAT(b.sent, ElementsAre(f));
  EXPECT_THAT(c.sent, ElementsAre(f));
  EXPECT_THAT(d.sent, ElementsAre(f));
}

TEST_F(SegmentTest, FullTransmitIsCountedOnTheEgressPort) {
  auto& a = add("a");
  auto& b = add("b");
  auto& c = add("c");
  b.tx_room = 0;
  send(a, frame(kBroadcast, mac(1)));
  EXPECT_EQ(b.counters().dropped(DropReason::tx_full), 1u);
  EXPECT_EQ(b.counters().out_packets, 0u);
  EXPECT_EQ(c.sent.size(), 1u);
}

TEST_F(SegmentTest, InternalPolicyKeepsTheHostOutForUnicastAndFlood) {
  SegmentSettings s;
  s.policy = Policy::parse("internal");
  make(s);
  auto& vm1 = add("vm1");
  auto& vm2 = add("vm2");
  auto& host = add("host", {}, Role::host);
  send(host, frame(kBroadcast, mac(9)));  // the host is learned...
  send(vm1, frame(kBroadcast, mac(1)));
  EXPECT_THAT(vm1.sent, IsEmpty());
  EXPECT_EQ(vm2.sent.size(), 1u);
  EXPECT_THAT(host.sent, IsEmpty());
  send(vm1, frame(mac(9), mac(1)));  // ...yet a learned MAC opens no closed path
  EXPECT_THAT(host.sent, IsEmpty());
  EXPECT_EQ(vm1.counters().dropped(DropReason::policy), 1u);
  send(vm2, frame(mac(1), mac(2)));
  EXPECT_EQ(vm1.sent.size(), 1u);
}

TEST_F(SegmentTest, HostOnlySegmentRefusesAnUplink) {
  SegmentSettings s;
  s.policy = Policy::parse("host-only");
  make(s);
  add("vm");
  EXPECT_THROW(add("up", {}, Role::uplink), ConfigError);
  EXPECT_NO_THROW(add("host", {}, Role::host));
}

// A bridged segment's service (its DHCP server) hears the guests and answers them, and
// neither hears the LAN nor reaches it, broadcasts and learned unicast alike.
TEST_F(SegmentTest, AServiceTalksToGuestsAndNeverToAnUplink) {
  auto& vm = add("vm");
  auto& up = add("up", {}, Role::uplink);
  auto& host = add("host", {}, Role::host);
  auto& svc = add("svc", {}, Role::service);
  send(vm, frame(kBroadcast, mac(1)));
  EXPECT_EQ(svc.sent.size(), 1u);
  EXPECT_EQ(up.sent.size(), 1u);
  send(up, frame(kBroadcast, mac(2)));
  EXPECT_EQ(svc.sent.size(), 1u) << "the service heard the LAN";
  clear_sent();
  send(svc, frame(kBroadcast, mac(3)));
  EXPECT_EQ(vm.sent.size(), 1u);
  EXPECT_THAT(up.sent, IsEmpty());
  EXPECT_THAT(host.sent, IsEmpty());
  send(svc, frame(mac(2), mac(3)));  // the uplink's MAC is learned, and still out of reach
  EXPECT_THAT(up.sent, IsEmpty());
  EXPECT_EQ(svc.counters().dropped(DropReason::policy), 1u);
}

// A port whose plug serves only one role keeps it: `port set` cannot turn it into another.
TEST_F(SegmentTest, APlugsRefusalStopsAChangeOfSettings) {
  class ServiceOnly final : public Port {
   public:
    using Port::Port;
    uint16_t receive(rte_mbuf**, uint16_t) override { return 0; }
    uint16_t transmit(rte_mbuf** burst, uint16_t n) override {
      rte_pktmbuf_free_bulk(burst, n);
      return n;
    }
    std::string_view kind() const override { return "service-only"; }
    std::optional<std::string> refuses(const PortSettings& s) const override {
      if (s.role != Role::service) return std::string("only a service");
      return std::nullopt;
    }
  };
  PortSettings s;
  s.name = "svc";
  s.role = Role::vm;
  EXPECT_THROW(seg_->attach(std::make_unique<ServiceOnly>(s)), ConfigError);
  s.role = Role::service;
  const uint16_t id = seg_->attach(std::make_unique<ServiceOnly>(s));
  s.role = Role::uplink;
  EXPECT_THROW(seg_->reconfigure(id, s), ConfigError);
  EXPECT_EQ(seg_->port(id)->settings().role, Role::service);
  s.role = Role::service;
  s.mtu = 1400;
  EXPECT_NO_THROW(seg_->reconfigure(id, s));
}

TEST_F(SegmentTest, DetachingAPortFlushesWhatWasLearnedOnIt) {
  auto& a = add("a");
  auto& b = add("b");
  send(a, frame(kBroadcast, mac(1)));
  send(b, frame(kBroadcast, mac(2)));
  EXPECT_EQ(seg_->fdb().size(), 2u);
  auto gone = seg_->detach(ports_[&a]);
  ports_.erase(&a);
  EXPECT_EQ(seg_->fdb().size(), 1u);
  EXPECT_EQ(seg_->fdb().lookup(Fdb::key(mac(1).bits(), 0)), kNoPort);
}

TEST_F(SegmentTest, ChangingAPortsVlanFlushesItsEntries) {
  auto& a = add("a", access(10));
  add("b", access(10));
  send(a, frame(kBroadcast, mac(1)));
  ASSERT_EQ(seg_->fdb().size(), 1u);
  PortSettings s = a.settings();
  s.vlan = access(20);
  seg_->reconfigure(ports_[&a], s);
  EXPECT_EQ(seg_->fdb().size(), 0u);
}

// A guest claiming the NAT's address gets neither its FDB entry nor the traffic sent to it, in
// the port's untagged VLAN, through flushes too.
TEST_F(SegmentTest, APortsOwnMacsArePinnedToIt) {
  SegmentSettings settings;
  settings.policy = Policy::parse("vm-vm+vm-nat");
  make(settings);
  const MacAddr gateway = mac(0x5255);
  auto& nat = add("nat", access(7), Role::nat, kDefaultMtu, {gateway});
  auto& guest = add("guest", access(7));
  auto& spoofer = add("spoofer", access(7));
  const uint64_t key = Fdb::key(gateway.bits(), 7);
  EXPECT_EQ(seg_->fdb().lookup(key), ports_[&nat]);
  send(spoofer, frame(kBroadcast, gateway));
  EXPECT_EQ(seg_->fdb().lookup(key), ports_[&nat]);
  EXPECT_EQ(seg_->fdb().counters().moved, 0u);
  clear_sent();
  send(guest, frame(gateway, mac(1)));
  EXPECT_EQ(nat.sent.size(), 1u);
  EXPECT_THAT(spoofer.sent, IsEmpty());

  EXPECT_EQ(seg_->flush_fdb(), 1u) << "the guest's entry; the pin stays";
  EXPECT_EQ(seg_->fdb().lookup(key), ports_[&nat]);
  EXPECT_EQ(seg_->flush_fdb(ports_[&nat]), 0u);
  EXPECT_EQ(seg_->fdb().lookup(key), ports_[&nat]);
  PortSettings s = nat.settings();
  s.vlan = access(8);
  seg_->reconfigure(ports_[&nat], s);
  EXPECT_EQ(seg_->fdb().lookup(key), kNoPort);
  EXPECT_EQ(seg_->fdb().lookup(Fdb::key(gateway.bits(), 8)), ports_[&nat]);
  seg_->detach(ports_[&nat]);
  ports_.erase(&nat);
  EXPECT_EQ(seg_->fdb().size(), 0u);
}

TEST_F(SegmentTest, FlappingMacIsCounted) {
  auto& a = add("a");
  auto& b = add("b");
  send(a, frame(kBroadcast, mac(1)));
  now_ms_ += 100;
  send(b, frame(kBroadcast, mac(1)));
  now_ms_ += 100;
  send(a, frame(kBroadcast, mac(1)));
  EXPECT_EQ(seg_->fdb().counters().moved, 2u);
  EXPECT_EQ(seg_->counters().flap_events, 2u);
}

TEST_F(SegmentTest, ABurstLargerThanTheTransmitBufferIsDeliveredWhole) {
  auto& a = add("a");
  auto& b = add("b");
  for (int i = 0; i < 200; ++i)
    a.inject(frame(kBroadcast, mac(1), 46, static_cast<uint8_t>(i)));
  rte_mbuf* burst[kBurst];
  while (uint16_t n = a.receive(burst, kBurst))
    seg_->process(ports_[&a], burst, n, now_ms_);
  seg_->flush();
  ASSERT_EQ(b.sent.size(), 200u);
  EXPECT_EQ(b.sent[199][14], 199);
}

// A mirrored frame is shared with the output port while the switch still converts it for a
// trunk: the output must get it as it arrived, the trunk its tagged form, and the pool count
// (checked after every test) every buffer back, chained or not.
TEST_F(SegmentTest, AMirrorSeesFramesAsOnTheWireWhileTheyAreConverted) {
  auto& a = add("a", access(10), Role::vm, 9216);
  auto& t = add("t", trunk(), Role::vm, 9216);
  auto& mon = add("mon", {}, Role::vm, 9216);
  MirrorSettings m;
  m.name = "span";
  m.sources = {ports_.at(&a)};
  m.output = ports_.at(&mon);
  seg_->add_mirror(m);
  for (size_t payload : {46, 4000, 9216}) {
    clear_sent();
    const Bytes f = frame(kBroadcast, mac(1), payload, static_cast<uint8_t>(payload));
    send(a, f);
    EXPECT_THAT(t.sent, ElementsAre(tagged(f, 10)));
    EXPECT_THAT(mon.sent, ElementsAre(f));
    clear_sent();
    const Bytes back = frame(mac(1), mac(2), payload, 1);
    send(t, tagged(back, 10));
    EXPECT_THAT(a.sent, ElementsAre(back));
    EXPECT_THAT(mon.sent, ElementsAre(back)) << "what a sends, as it left";
  }
  EXPECT_EQ(seg_->mirrors().front()->counters.frames, 6u);
  EXPECT_EQ(a.counters().out_packets, 3u);
  // The output takes no part in switching: nothing it sends goes anywhere.
  clear_sent();
  send(mon, frame(kBroadcast, mac(3)));
  EXPECT_THAT(a.sent, IsEmpty());
  EXPECT_EQ(mon.counters().dropped(DropReason::mirror), 1u);
  // A mirror goes with its output port.
  seg_->detach(ports_.at(&mon));
  ports_.erase(&mon);
  EXPECT_TRUE(seg_->mirrors().empty());
}

TEST_F(SegmentTest, MirrorsRefuseLoops) {
  auto& a = add("a");
  auto& b = add("b");
  auto& mon = add("mon");
  MirrorSettings m;
  m.name = "one";
  m.sources = {ports_.at(&a)};
  m.output = ports_.at(&mon);
  seg_->add_mirror(m);
  MirrorSettings loop = m;
  loop.name = "two";
  loop.sources = {ports_.at(&mon)};
  loop.output = ports_.at(&b);
  EXPECT_THROW(seg_->add_mirror(loop), ConfigError);
  MirrorSettings into_source = m;
  into_source.name = "three";
  into_source.sources = {ports_.at(&b)};
  into_source.output = ports_.at(&a);
  EXPECT_THROW(seg_->add_mirror(into_source), ConfigError);
  EXPECT_THROW(seg_->add_mirror(m), ConfigError) << "a duplicate name";
}

// A tap sees each burst as it enters and leaves a port, and each drop there with its reason.
TEST_F(SegmentTest, TapsSeeTheirPortsFramesAndDrops) {
  struct Recorder final : PortTap {
    std::vector<std::pair<TapPoint, size_t>> frames_seen;
    std::vector<DropReason> drops;
    bool gone = false;
    void frames(TapPoint where, rte_mbuf* const* pkts, uint16_t n) override {
      for (uint16_t i = 0; i < n; ++i)
        frames_seen.emplace_back(where, pkts[i]->pkt_len);
    }
    void dropped(TapPoint, const rte_mbuf*, DropReason why) override { drops.push_back(why); }
    void detached() override { gone = true; }
  } tap;
  auto& a = add("a", {}, Role::vm, 100);
  auto& b = add("b");
  seg_->add_tap(ports_.at(&a), &tap);
  send(a, frame(kBroadcast, mac(1), 46));
  send(b, frame(mac(1), mac(2), 80));
  send(a, frame(kBroadcast, mac(1), 200));  // over a's MTU
  using P = std::pair<TapPoint, size_t>;
  EXPECT_THAT(tap.frames_seen, ElementsAre(P{TapPoint::received, 60}, P{TapPoint::sent, 94},
                                           P{TapPoint::received, 214}));
  EXPECT_THAT(tap.drops, ElementsAre(DropReason::oversize));
  seg_->detach(ports_.at(&a));
  ports_.erase(&a);
  EXPECT_TRUE(tap.gone);
}
// The recipients found once for the burst's VLAN must not carry over to a frame too large for
// one of them, nor to the frames after it.
TEST_F(SegmentTest, AJumboInTheMiddleOfAFloodedBurstSkipsOnlyThePortsItDoesNotFit) {
  auto& in = add("in", {}, Role::vm, kMaxMtu);
  auto& small = add("small");
  auto& jumbo = add("jumbo", {}, Role::vm, kMaxMtu);
  const Bytes a = frame(kBroadcast, mac(1), 100, 1);
  const Bytes big = frame(kBroadcast, mac(1), 4000, 2);
  const Bytes b = frame(kBroadcast, mac(1), 100, 3);
  for (const Bytes* f : {&a, &big, &b})
    in.inject(*f);
  rte_mbuf* burst[kBurst];
  const uint16_t n = in.receive(burst, kBurst);
  ASSERT_EQ(n, 3);
  seg_->process(ports_.at(&in), burst, n, now_ms_);
  seg_->flush();
  EXPECT_THAT(small.sent, ElementsAre(a, b));
  EXPECT_THAT(jumbo.sent, ElementsAre(a, big, b));
  EXPECT_EQ(small.counters().dropped(DropReason::oversize), 1u);
}

// Flood sets follow a port's VLANs as it joins, changes and leaves, one port at a time.
TEST_F(SegmentTest, FloodSetsFollowEachPortsVlans) {
  auto& a = add("a", access(10));
  auto& b = add("b", access(10));
  auto& c = add("c", access(20));
  send(a, frame(kBroadcast, mac(1)));
  EXPECT_EQ(b.sent.size(), 1u);
  EXPECT_THAT(c.sent, IsEmpty());
  PortSettings s = c.settings();
  s.vlan = access(10);
  seg_->reconfigure(ports_[&c], s);
  s = b.settings();
  s.vlan = access(30);
  seg_->reconfigure(ports_[&b], s);
  clear_sent();
  send(a, frame(kBroadcast, mac(1)));
  EXPECT_THAT(b.sent, IsEmpty());
  EXPECT_EQ(c.sent.size(), 1u);
  seg_->detach(ports_[&c]);
  ports_.erase(&c);
  clear_sent();
  send(a, frame(kBroadcast, mac(1)));
  EXPECT_EQ(a.counters().out_packets, 0u);
  EXPECT_THAT(b.sent, IsEmpty());
}

}  // namespace
}  // namespace vswitch
