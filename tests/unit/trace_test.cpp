// The segment's trace of a frame: each stage's decision, in order, for each kind of decision;
// and the synthetic trace, which says what would happen and changes nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rte_mempool.h>

#include <map>

#include "../support/eal.hpp"
#include "../support/frames.hpp"
#include "../support/mbufs.hpp"
#include "../support/memory_port.hpp"
#include "../support/segment_fixture.hpp"
#include "vswitch/segment.hpp"

namespace vswitch {
namespace {

using test::Bytes;
using test::frame;
using test::kBroadcast;
using test::mac;
using test::MemoryPort;
using test::tagged;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Keeps every trace it is given; wants the frames whose source is `only`, if set.
class RecordingSink final : public TraceSink {
 public:
  bool wants(const rte_mbuf* m) override {
    if (only && test::bytes_of(m).size() >= 12 &&
        MacAddr::from_bytes(test::bytes_of(m).data() + 6) != *only) {
      return false;
    }
    return true;
  }
  void traced(FrameTrace& t) override {
    t.number = traces.size() + 1;
    traces.push_back(t);
  }
  void detached() override { gone = true; }

  std::optional<MacAddr> only;
  std::vector<FrameTrace> traces;
  bool gone = false;
};

// "stage port: says" for each step, the way a reader scans a trace.
std::vector<std::string> lines(const FrameTrace& t) {
  std::vector<std::string> out;
  for (const TraceStep& s : t.steps)
    out.push_back(std::string(to_string(s.stage)) + " " + (s.port.empty() ? "" : s.port + ": ") +
                  s.says);
  return out;
}

// The segment fixture, and frames sent a burst at a time.
class TraceTest : public SegmentTest {
 protected:
  using SegmentTest::send;
  void send(MemoryPort& from, const std::vector<Bytes>& frames) {
    for (const Bytes& f : frames)
      from.inject(f);
    rte_mbuf* burst[kBurst];
    const uint16_t n = from.receive(burst, kBurst);
    seg_->process(ports_.at(&from), burst, n, now_ms_);
    seg_->flush();
  }

  // The one trace of a frame sent from a traced port.
  FrameTrace traced(MemoryPort& from, const Bytes& f) {
    RecordingSink sink;
    seg_->add_trace(ports_.at(&from), &sink);
    send(from, f);
    seg_->remove_trace(ports_.at(&from), &sink);
    EXPECT_EQ(sink.traces.size(), 1u);
    return sink.traces.empty() ? FrameTrace{} : sink.traces[0];
  }

  FrameTrace synthetic(MemoryPort& from, const Bytes& f) {
    rte_mbuf* m = test::chain_frame(pool_, f);
    FrameTrace t = seg_->explain(ports_.at(&from), m, now_ms_);
    rte_pktmbuf_free(m);
    return t;
  }
};

TEST_F(TraceTest, AFloodSaysEveryStageInOrder) {
  auto& a = add("a");
  auto& b = add("b");
  auto& c = add("c");
  const FrameTrace t = traced(a, frame(kBroadcast, mac(1)));
  EXPECT_EQ(t.port, "a");
  EXPECT_EQ(t.segment, "default");
  EXPECT_EQ(t.src, mac(1));
  EXPECT_EQ(t.length, 60u);
  EXPECT_THAT(
      lines(t),
      ElementsAre(
          "classify untagged, VLAN 0 (the port's native VLAN), type 0x0800, payload 46 bytes",
          "check passed: 60 bytes, payload 46 within the MTU 1500",
          "learn 02:00:00:00:00:01 in VLAN 0: new, learned on a",
          "lookup ff:ff:ff:ff:ff:ff in VLAN 0 is broadcast: flood to the other ports of VLAN 0 (2 "
          "ports)",
          "policy b: allowed (vm to vm)", "policy c: allowed (vm to vm)",
          "egress b: untagged, as received", "egress c: untagged, as received", "transmit b: sent",
          "transmit c: sent", "result sent to b, c"));
  EXPECT_EQ(b.sent.size(), 1u);
  EXPECT_EQ(c.sent.size(), 1u);
}

TEST_F(TraceTest, MirrorCopiesOfATracedFrameAreNamed) {
  auto& a = add("a");
  auto& b = add("b");
  auto& mon = add("mon");
  MirrorSettings in;
  in.name = "ingress";
  in.sources = {ports_[&a]};
  in.sent = false;
  in.output = ports_[&mon];
  seg_->add_mirror(in);
  MirrorSettings out = in;
  out.name = "egress";
  out.sources = {ports_[&b]};
  out.received = false;
  out.sent = true;
  seg_->add_mirror(out);
  const FrameTrace t = traced(a, frame(kBroadcast, mac(1)));
  EXPECT_THAT(lines(t), testing::Contains(
                            "egress mon: mirror ingress: a copy of the frame as received on a"));
  EXPECT_THAT(lines(t),
              testing::Contains("egress mon: mirror egress: a copy of the frame as sent to b"));
  const FrameTrace s = synthetic(a, frame(kBroadcast, mac(1)));
  EXPECT_THAT(lines(s), testing::Contains("egress mon: mirror ingress: would take a copy of the "
                                          "frame as received on a"));
}

TEST_F(TraceTest, LearnedUnicastNamesItsPortAndAKnownSource) {
  auto& a = add("a");
  auto& b = add("b");
  add("c");
  send(a, frame(kBroadcast, mac(1)));
  send(b, frame(mac(1), mac(2)));
  const FrameTrace t = traced(b, frame(mac(1), mac(2)));
  EXPECT_THAT(lines(t),
              ElementsAre(HasSubstr("classify"), HasSubstr("check passed"),
                          "learn 02:00:00:00:00:02 in VLAN 0: known on b",
                          "lookup 02:00:00:00:00:01 in VLAN 0: hit, behind a",
                          "policy a: allowed (vm to vm)", "egress a: untagged, as received",
                          "transmit a: sent", "result sent to a"));
}

TEST_F(TraceTest, AMovedAddressNamesWhereItWas) {
  auto& a = add("a");
  auto& b = add("b");
  send(a, frame(kBroadcast, mac(1)));
  const FrameTrace t = traced(b, frame(kBroadcast, mac(1)));
  EXPECT_THAT(lines(t), testing::Contains(HasSubstr("moved from a to b (flapping")));
}

TEST_F(TraceTest, UnknownUnicastIsAMissAndMulticastSourcesAreNotLearned) {
  auto& a = add("a");
  add("b");
  const FrameTrace miss = traced(a, frame(mac(9), mac(1)));
  EXPECT_THAT(lines(miss), testing::Contains(HasSubstr("is unknown (miss): flood")));
  const FrameTrace group = traced(a, frame(kBroadcast, *MacAddr::parse("01:00:5e:00:00:01")));
  EXPECT_THAT(lines(group),
              testing::Contains("learn not learned: 01:00:5e:00:00:01 is a multicast source"));
}

TEST_F(TraceTest, HairpinIsADropAtTheLookup) {
  auto& a = add("a");
  add("b");
  send(a, frame(kBroadcast, mac(1)));
  const FrameTrace t = traced(a, frame(mac(1), mac(2)));
  EXPECT_THAT(lines(t), testing::Contains("lookup dropped: hairpin: the destination is behind a, "
                                          "where the frame came from"));
  EXPECT_EQ(lines(t).back(), "result dropped: hairpin");
}

TEST_F(TraceTest, VlanRefusalSaysWhy) {
  auto& a = add("a", access(10));
  add("b", access(10));
  const FrameTrace t = traced(a, tagged(frame(kBroadcast, mac(1)), 20));
  EXPECT_THAT(lines(t), ElementsAre("classify dropped: vlan: tagged VID 20, and a is an access "
                                    "port (VLAN 10)",
                                    "result dropped: vlan"));
  const FrameTrace hop = traced(a, tagged(tagged(frame(kBroadcast, mac(1)), 20), 0));
  EXPECT_THAT(lines(hop)[0], HasSubstr("VLAN hopping"));
}

TEST_F(TraceTest, PolicyVerdictsNameTheRoles) {
  SegmentSettings s;
  s.policy = Policy::parse("internal");
  make(s);
  auto& vm1 = add("vm1");
  add("vm2");
  auto& host = add("host", {}, Role::host);
  send(host, frame(kBroadcast, mac(9)));
  const FrameTrace flood = traced(vm1, frame(kBroadcast, mac(1)));
  EXPECT_THAT(lines(flood), testing::Contains("policy vm2: allowed (vm to vm)"));
  EXPECT_THAT(
      lines(flood),
      testing::Contains(HasSubstr("policy host: refused by the role matrix (vm to host is not")));
  const FrameTrace unicast = traced(vm1, frame(mac(9), mac(1)));
  EXPECT_THAT(lines(unicast),
              testing::Contains(HasSubstr("policy host: dropped: policy: refused by the role "
                                          "matrix (vm to host")));
  EXPECT_EQ(lines(unicast).back(), "result dropped: policy");
}

TEST_F(TraceTest, OversizeOnIngressAndOnEgress) {
  auto& a = add("a", {}, Role::vm, 200);
  auto& big = add("big", {}, Role::vm, 9000);
  add("c", {}, Role::vm, 1500);
  const FrameTrace in = traced(a, frame(kBroadcast, mac(1), 300));
  EXPECT_THAT(lines(in), ElementsAre(HasSubstr("classify"),
                                     "check dropped: oversize, payload 300 bytes over the MTU "
                                     "200 of a",
                                     "result dropped: oversize"));
  const FrameTrace out = traced(big, frame(kBroadcast, mac(2), 1600));
  EXPECT_THAT(lines(out), testing::Contains("egress a: dropped: oversize, payload 1600 bytes "
                                            "over its MTU 200"));
  EXPECT_EQ(lines(out).back(), "result lost on a (oversize), c (oversize)");
}

TEST_F(TraceTest, TaggingOnEgressAndTheCopy) {
  auto& a = add("a", access(10));
  add("b", access(10));
  auto& t = add("t");
  const FrameTrace both = traced(a, frame(kBroadcast, mac(1)));
  EXPECT_THAT(lines(both), testing::Contains("egress b: untagged, as received"));
  EXPECT_THAT(lines(both), testing::Contains("egress t: tagged VID 10, in a copy"));
  send(t, tagged(frame(kBroadcast, mac(5)), 10));
  const FrameTrace alone = traced(a, frame(mac(5), mac(1)));
  EXPECT_THAT(lines(alone), testing::Contains("egress t: tagged VID 10, changed in place"));
}

TEST_F(TraceTest, ThePlugsRefusalIsTheTransmitResult) {
  auto& a = add("a");
  auto& b = add("b");
  b.tx_room = 0;
  const FrameTrace t = traced(a, frame(kBroadcast, mac(1)));
  EXPECT_THAT(lines(t), testing::Contains("transmit b: dropped by the plug: tx_full (its "
                                          "transport was full)"));
  EXPECT_EQ(lines(t).back(), "result lost on b (tx_full)");
}

TEST_F(TraceTest, HubSaysItLooksAtNothing) {
  SegmentSettings s;
  s.forwarding = Forwarding::hub;
  make(s);
  auto& a = add("a");
  add("b");
  add("c");
  const FrameTrace t = traced(a, tagged(frame(mac(5), mac(1)), 10));
  EXPECT_THAT(lines(t),
              ElementsAre("classify tagged VID 10, priority 0, type 0x0800, payload 46 bytes (a "
                          "hub does not look at VLANs)",
                          HasSubstr("check passed"), "learn none: a hub learns nothing",
                          "lookup none: a hub floods to every other port (2 ports)",
                          "policy b: allowed (vm to vm)", "policy c: allowed (vm to vm)",
                          "egress b: as received (a hub changes nothing)",
                          "egress c: as received (a hub changes nothing)", "transmit b: sent",
                          "transmit c: sent", "result sent to b, c"));
}

TEST_F(TraceTest, AMirrorsOutputPortTakesNoTrafficAndSaysSo) {
  auto& a = add("a");
  add("b");
  auto& ids = add("ids");
  seg_->add_mirror({"span", {ports_.at(&a)}, true, true, std::nullopt, ports_.at(&ids)});
  const FrameTrace in = traced(ids, frame(kBroadcast, mac(9)));
  EXPECT_THAT(lines(in), ElementsAre("check dropped: mirror: ids is a mirror's output port, which "
                                     "takes no traffic",
                                     "result dropped: mirror"));
  // The mirror's copy of what a receives is no part of a's story.
  const FrameTrace flood = traced(a, frame(kBroadcast, mac(1)));
  EXPECT_EQ(lines(flood).back(), "result sent to b");
  EXPECT_EQ(ids.sent.size(), 1u);
}

TEST_F(TraceTest, OnlyTheFramesTheSinkWantsAreTracedInTheOrderTheyCame) {
  auto& a = add("a");
  auto& b = add("b");
  RecordingSink sink;
  sink.only = mac(3);
  seg_->add_trace(ports_.at(&a), &sink);
  // A frame flushed later (to b) and one dropped at once: still told in order.
  send(a, {frame(kBroadcast, mac(1)), frame(kBroadcast, mac(3), 46, 1), frame(mac(3), mac(3)),
           frame(kBroadcast, mac(4))});
  ASSERT_EQ(sink.traces.size(), 2u);
  EXPECT_EQ(lines(sink.traces[0]).back(), "result sent to b");
  EXPECT_EQ(lines(sink.traces[1]).back(), "result dropped: hairpin");
  EXPECT_EQ(b.sent.size(), 3u);
  EXPECT_THROW(seg_->add_trace(ports_.at(&a), &sink), ConfigError);
  seg_->remove_trace(ports_.at(&a), &sink);
  send(a, frame(kBroadcast, mac(3)));
  EXPECT_EQ(sink.traces.size(), 2u);
}

TEST_F(TraceTest, ATracedPortLeavingTellsTheSink) {
  auto& a = add("a");
  add("b");
  RecordingSink sink;
  seg_->add_trace(ports_.at(&a), &sink);
  auto port = seg_->detach(ports_.at(&a));
  EXPECT_TRUE(sink.gone);
}

TEST_F(TraceTest, SyntheticFramesChangeNothingAndSayWhatWouldHappen) {
  auto& a = add("a", access(10));
  auto& b = add("b", access(10));
  auto& t = add("t");
  send(b, frame(kBroadcast, mac(2)));
  a.sent.clear();
  t.sent.clear();
  const auto counters = [&] {
    std::vector<uint64_t> all = {seg_->fdb().size(), seg_->fdb().counters().learned,
                                 seg_->counters().flooded, seg_->counters().copies};
    for (MemoryPort* p : {&a, &b, &t}) {
      all.insert(all.end(), {p->counters().in_packets, p->counters().out_packets,
                             p->counters().dropped_total()});
    }
    return all;
  };
  const auto before = counters();
  const FrameTrace flood = synthetic(a, frame(kBroadcast, mac(1)));
  EXPECT_TRUE(flood.synthetic);
  EXPECT_THAT(flood.text(), HasSubstr("synthetic frame, as if it entered a (segment default)"));
  EXPECT_THAT(lines(flood), testing::Contains("learn 02:00:00:00:00:01 in VLAN 10: new, would be "
                                              "learned on a"));
  EXPECT_THAT(lines(flood), testing::Contains("egress t: tagged VID 10, in a copy"));
  EXPECT_THAT(lines(flood), testing::Contains("transmit b: would be handed to the port "
                                              "(synthetic: nothing sent)"));
  EXPECT_EQ(lines(flood).back(), "result would go to b, t");
  const FrameTrace unicast = synthetic(a, frame(mac(2), mac(1)));
  EXPECT_THAT(lines(unicast), testing::Contains("lookup 02:00:00:00:00:02 in VLAN 10: hit, "
                                                "behind b"));
  const FrameTrace moved = synthetic(a, frame(mac(1), mac(2)));
  EXPECT_THAT(lines(moved), testing::Contains(HasSubstr("would be moved from b to a")));
  const FrameTrace itself = synthetic(a, frame(mac(1), mac(1)));
  EXPECT_EQ(lines(itself).back(), "result dropped: hairpin");
  const FrameTrace refused = synthetic(a, tagged(frame(kBroadcast, mac(1)), 20));
  EXPECT_EQ(lines(refused).back(), "result dropped: vlan");
  const FrameTrace runt = synthetic(a, Bytes(10, 0xff));
  EXPECT_EQ(lines(runt).back(), "result dropped: runt");
  EXPECT_EQ(counters(), before);
  EXPECT_THAT(a.sent, IsEmpty());
  EXPECT_THAT(b.sent, IsEmpty());
  EXPECT_THAT(t.sent, IsEmpty());
  EXPECT_FALSE(seg_->fdb().find(Fdb::key(mac(1).bits(), 10), now_ms_));
}

TEST_F(TraceTest, TheTextIsAHeadingAndOneIndentedLineAStep) {
  auto& a = add("a");
  add("b");
  FrameTrace t = traced(a, frame(kBroadcast, mac(1)));
  t.number = 7;
  const std::string text = t.text();
  EXPECT_THAT(text, testing::StartsWith("frame 7 on a (segment default): 02:00:00:00:00:01 > "
                                        "ff:ff:ff:ff:ff:ff, type 0x0800, 60 bytes\n  classify  "
                                        "untagged"));
  EXPECT_THAT(text, HasSubstr("\n  transmit  b: sent\n  result    sent to b\n"));
  EXPECT_THAT(text, Not(HasSubstr("\n\n")));
}

}  // namespace
}  // namespace vswitch
