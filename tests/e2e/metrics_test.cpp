// The counters as Prometheus reads them: `vswitchctl metrics`, checked by Prometheus's own
// promtool.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

// promtool's verdict on a text: its exit status and what it said.
RunResult promtool_check(const TempDir& dir, const std::string& text) {
  const std::string file = dir.file("metrics.txt");
  std::ofstream(file) << text;
  return run_program({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < " + file}, 30s);
}

// A sample's value in a Prometheus text: the line that starts with `series` exactly.
std::optional<std::string> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return std::nullopt;
}

class Metrics : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << "needs promtool (Debian's prometheus)";
  }
  // A switch with a VDE directory and a port whose name needs escaping in a label.
  std::unique_ptr<Vswitchd> start(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"--vde", tmp_.file("sw"), "--port",
                                     "dpdk,name=odd\"name\\x,dev=net_ring0,tag=10"};
    args.insert(args.end(), more.begin(), more.end());
    auto vs = std::make_unique<Vswitchd>(args);
    EXPECT_TRUE(vs->ready()) << vs->log();
    return vs;
  }
  TempDir tmp_;
};

TEST_F(Metrics, VswitchctlMetricsPassesPromtoolAndCountsWhatWasSent) {
  auto vs = start();
  VdeClient a(tmp_.file("sw")), b(tmp_.file("sw"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(wait_until([&] { return vs->ctl({"port", "list"}).items().size() == 3; }, 5s));
  for (uint8_t i = 0; i < 5; ++i)
    ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 100, i)));
  ASSERT_TRUE(a.send(tagged(frame(kBroadcast, mac(1), 46), 4095)));  // VLAN 4095 is reserved
  ASSERT_TRUE(vs->wait_port_counter("vde:1", "in_packets", 6));
  ASSERT_TRUE(vs->wait_port_counter("vde:1", "dropped", 1));

  auto r = run_program({vswitchctl_path(), "--socket", vs->socket(), "metrics"});
  ASSERT_EQ(r.status, 0) << r.err;
  const RunResult check = promtool_check(tmp_, r.out);
  EXPECT_EQ(check.status, 0) << check.out << check.err << "\n" << r.out;

  const std::string vde1 = "port=\"vde:1\",segment=\"default\",kind=\"vde\"";
  EXPECT_EQ(sample(r.out, "vswitch_port_in_packets_total{" + vde1 + "}"), "6") << r.out;
  EXPECT_EQ(sample(r.out, "vswitch_port_in_bytes_total{" + vde1 + "}"),
            std::to_string(5 * 114 + 64))
      << r.out;
  EXPECT_EQ(sample(r.out,
                   "vswitch_port_out_packets_total{port=\"vde:2\",segment=\"default\","
                   "kind=\"vde\"}"),
            "5");
  EXPECT_EQ(sample(r.out, "vswitch_port_drops_total{" + vde1 + ",reason=\"vlan\"}"), "1") << r.out;
  EXPECT_EQ(sample(r.out, "vswitch_port_drops_total{" + vde1 + ",reason=\"runt\"}"), "0");
  // The quote and the backslash of the odd name, escaped as the format says.
  EXPECT_TRUE(sample(r.out,
                     "vswitch_port_in_packets_total{port=\"odd\\\"name\\\\x\","
                     "segment=\"default\",kind=\"dpdk\"}"))
      << r.out;
  EXPECT_EQ(sample(r.out, "vswitch_segment_fdb_entries{segment=\"default\"}"), "1");
  EXPECT_EQ(sample(r.out, "vswitch_segment_fdb_learned_total{segment=\"default\"}"), "1");
  EXPECT_EQ(sample(r.out, "vswitch_segment_flooded_total{segment=\"default\"}"), "5");
  EXPECT_NE(r.out.find("# TYPE vswitch_segment_fdb_entries gauge\n"), std::string::npos);
  EXPECT_NE(r.out.find("# TYPE vswitch_engine_frames_total counter\n"), std::string::npos);
}

}  // namespace
}  // namespace vswitch::test
