// `vswitchctl stats`: every counter of the running switch in one reply, stamped with the
// switch's monotonic clock.
#include <gtest/gtest.h>

#include <thread>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

const Value* row_named(const Value& rows, const std::string& name) {
  for (const Value& r : rows.items()) {
    if (r.get("name") && r.get("name")->as_string() == name) return &r;
  }
  return nullptr;
}

TEST(Stats, EveryCounterAtOnceWithTheTime) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("sw") + ",segment=default", "--segment", "default", "--segment",
               "empty,fdb-size=99"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient a(tmp.file("sw")), b(tmp.file("sw"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  for (uint8_t i = 0; i < 3; ++i)
    ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 100, i)));
  ASSERT_TRUE(a.send(tagged(frame(kBroadcast, mac(1), 46), 4095)));  // VLAN 4095 is reserved
  ASSERT_TRUE(b.send(frame(mac(1), mac(2), 46, 9)));
  ASSERT_TRUE(vs.wait_port_counter("vde:1", "out_packets", 1));

  const Value first = vs.ctl({"stats"});
  const Value* ports = first.get("ports");
  ASSERT_TRUE(ports);
  const Value* a_row = row_named(*ports, "vde:1");
  const Value* b_row = row_named(*ports, "vde:2");
  ASSERT_TRUE(a_row && b_row) << first.json();
  EXPECT_EQ(a_row->get("segment")->as_string(), "default");
  EXPECT_EQ(a_row->get("kind")->as_string(), "vde");
  EXPECT_EQ(a_row->get("role")->as_string(), "vm");
  EXPECT_EQ(a_row->get("in_packets")->as_int(), 4);
  EXPECT_EQ(a_row->get("in_bytes")->as_int(), 3 * 114 + 64);
  EXPECT_EQ(a_row->get("out_packets")->as_int(), 1);
  EXPECT_EQ(a_row->get("out_bytes")->as_int(), 60);
  EXPECT_EQ(a_row->get("dropped")->as_int(), 1);
  EXPECT_EQ(a_row->at("drops.vlan")->as_int(), 1);
  EXPECT_EQ(a_row->get("drops")->members().size(), 1u) << "only the reasons that dropped";
  EXPECT_EQ(b_row->get("out_packets")->as_int(), 3);

  const Value* seg = row_named(*first.get("segments"), "default");
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->get("fdb_entries")->as_int(), 2);
  EXPECT_EQ(seg->get("fdb_limit")->as_int(), 65536);
  EXPECT_EQ(seg->get("learned")->as_int(), 2);
  EXPECT_EQ(seg->get("flooded")->as_int(), 3);
  EXPECT_EQ(seg->get("unknown_unicast")->as_int(), 0);
  EXPECT_EQ(seg->get("ports")->as_int(), 2);
  const Value* empty = row_named(*first.get("segments"), "empty");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->get("fdb_limit")->as_int(), 99);
  EXPECT_GE(first.at("engine.frames")->as_int(), 5);
  EXPECT_GT(first.at("engine.rounds")->as_int(), 0);

  // The clock is the switch's monotonic one, in milliseconds.
  std::this_thread::sleep_for(300ms);
  const Value second = vs.ctl({"stats"});
  const int64_t elapsed = second.get("time_ms")->as_int() - first.get("time_ms")->as_int();
  EXPECT_GE(elapsed, 300);
  EXPECT_LT(elapsed, 5000);

  const RunResult text = run_program({vswitchctl_path(), "--socket", vs.socket(), "stats"});
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("in_packets"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("vlan=1"), std::string::npos) << text.out;
  std::string err;
  EXPECT_FALSE(vs.try_ctl({"stats", "extra"}, &err));
}

}  // namespace
}  // namespace vswitch::test
