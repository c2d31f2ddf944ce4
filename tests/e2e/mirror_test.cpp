// Mirrors (SPAN) on the real daemon: the output port sees every selected frame once, as it was
// on the wire at the source; the sources' counters do not change; nothing the output port sends
// comes back into the segment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/frames.hpp"
#include "../support/pcap_switch.hpp"
#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(Mirror, FromTheCommandLineSeesWhatTheSourceReceivesAndSendsInOrder) {
  const Bytes hello = frame(kBroadcast, mac(1), 46, 1);
  const Bytes reply = frame(mac(1), mac(2), 100, 2);
  const Bytes unknown = frame(mac(9), mac(2), 60, 3);  // flooded to a and c
  std::vector<Bytes> b_in = {reply};
  pad_round(b_in);
  b_in.push_back(unknown);
  PcapSwitch sw({{"a", {hello}, ""}, {"b", b_in, ""}, {"c", {}, ""}, {"mon", {}, ""}},
                {"--mirror", "span src=a dst=mon"});
  ASSERT_TRUE(sw.ready()) << sw.daemon().log();
  ASSERT_TRUE(sw.daemon().wait_port_counter("c", "out_packets", 2));
  const Value before = sw.daemon().ctl({"port", "show", "a"});
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("mon"), ElementsAre(hello, reply, unknown));
  // The output port is not a switch port: no flood reached it but the mirror's copies.
  EXPECT_THAT(sw.out("a"), ElementsAre(reply, unknown));
  EXPECT_THAT(sw.out("c"), ElementsAre(hello, unknown));
  // The copies are the output port's traffic, not the source's.
  EXPECT_EQ(before.get("counters")->get("in_packets")->as_int(), 1);
  EXPECT_EQ(before.get("counters")->get("out_packets")->as_int(), 2);
}

TEST(Mirror, OnlyTheVlansAskedForAndOnlyOneDirection) {
  const Bytes v10 = tagged(frame(kBroadcast, mac(1), 46, 1), 10);
  const Bytes v20 = tagged(frame(kBroadcast, mac(2), 46, 2), 20);
  const Bytes to_trunk = frame(kBroadcast, mac(3), 46, 3);
  PcapSwitch sw({{"t", {v10, v20}, "trunks=10:20"},
                 {"a", {to_trunk}, "tag=10"},
                 {"b", {}, "tag=20"},
                 {"mon", {}, ""}},
                {"--mirror", "m src=t dst=mon vlan=10 direction=in"});
  ASSERT_TRUE(sw.ready()) << sw.daemon().log();
  ASSERT_TRUE(sw.finish());
  EXPECT_THAT(sw.out("mon"), ElementsAre(v10));
  EXPECT_THAT(sw.out("t"), ElementsAre(tagged(to_trunk, 10)));
}

class MirrorVde : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string sw() const { return tmp_.file("sw"); }
};

TEST_F(MirrorVde, AddedAtRunTimeCountedAndRemovedAndTheOutputSendsNothingIn) {
  Vswitchd vs({"--vde", sw()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient a(sw(), 1), b(sw(), 2), mon(sw(), 3);
  ASSERT_TRUE(a.ok() && b.ok() && mon.ok());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 3; }, 5s));
  vs.ctl({"mirror", "add", "span", "src=vde:1,vde:2", "dst=vde:3"});
  const Bytes hello = frame(kBroadcast, mac(1), 46, 1);
  ASSERT_TRUE(a.send(hello));
  EXPECT_EQ(b.recv(), hello);
  // a's frame leaves a (received there) and reaches b (sent there): two selected frames.
  EXPECT_EQ(mon.recv(), hello);
  EXPECT_EQ(mon.recv(), hello);
  EXPECT_FALSE(mon.recv(300)) << "a frame was mirrored more often than it was selected";
  // What the monitor sends goes nowhere.
  ASSERT_TRUE(mon.send(frame(kBroadcast, mac(7), 46, 7)));
  EXPECT_FALSE(a.recv(300));
  ASSERT_TRUE(vs.wait_port_counter("vde:3", "drops.mirror", 1));
  const Value list = vs.ctl({"mirror", "list"});
  ASSERT_EQ(list.items().size(), 1u);
  EXPECT_EQ(list.items()[0].get("frames")->as_int(), 2);
  EXPECT_EQ(vs.port_counter("vde:1", "in_packets"), 1);
  EXPECT_EQ(vs.port_counter("vde:1", "out_packets"), 0);

  std::string error;
  EXPECT_FALSE(vs.try_ctl({"mirror", "add", "loop", "src=vde:3", "dst=vde:1"}, &error));
  EXPECT_THAT(error, HasSubstr("mirror's output"));
  EXPECT_FALSE(vs.try_ctl({"mirror", "add", "self", "src=vde:1", "dst=vde:1"}, &error));
  EXPECT_FALSE(vs.try_ctl({"mirror", "add", "x", "src=nosuch", "dst=vde:3"}, &error));
  EXPECT_THAT(error, HasSubstr("nosuch"));

  vs.ctl({"mirror", "del", "span"});
  ASSERT_TRUE(b.send(frame(kBroadcast, mac(2), 46, 2)));
  EXPECT_TRUE(a.recv());
  EXPECT_TRUE(mon.recv()) << "once the mirror is gone, the port is a switch port again";
}

TEST(MirrorOptions, AMalformedMirrorIsOneClearLine) {
  const RunResult r = run_program({vswitchd_path(), "--mirror", "span src=a"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("dst="));
}

}  // namespace
}  // namespace vswitch::test
