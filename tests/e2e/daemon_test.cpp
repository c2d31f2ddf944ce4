// The daemon as a user meets it: options, signals, privileges, and the control interface
// through the real vswitchctl.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <thread>

#include "../support/pcap_switch.hpp"
#include "../support/raw_peer.hpp"

namespace vswitch::test {
namespace {

size_t lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

RunResult ctl(const Vswitchd& vs, std::vector<std::string> args) {
  args.insert(args.begin(), {vswitchctl_path(), "--socket", vs.socket()});
  return run_program(args, 15s);
}

int64_t rss_mib(pid_t pid) {
  return resident_kib(pid) / 1024;
}

TEST(Daemon, UnknownOptionIsOneClearLineAndStatusTwo) {
  auto r = run_program({vswitchd_path(), "--no-such-option"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos);
  EXPECT_TRUE(r.out.empty());
}

TEST(Daemon, MalformedOptionNamesTheProblem) {
  auto r = run_program({vswitchd_path(), "--port", "dpdk,dev=net_null0,vlan-mode=sideways"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("sideways"), std::string::npos);
}

TEST(Daemon, HelpAndVersion) {
  auto h = run_program({vswitchd_path(), "--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("Examples:"), std::string::npos);
  EXPECT_NE(h.out.find("--eal"), std::string::npos);
  auto v = run_program({vswitchd_path(), "--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("vswitchd ", 0), 0u);
}

TEST(Daemon, DeviceThatCannotOpenIsReportedAndExitsOne) {
  Vswitchd vs({"--port", "dpdk,name=ghost,dev=net_nosuchdriver0"});
  EXPECT_FALSE(vs.ready());
  EXPECT_EQ(vs.stop(), 1);
  EXPECT_NE(vs.log().find("ghost"), std::string::npos) << vs.log();
  struct stat st;
  EXPECT_NE(stat(vs.socket().c_str(), &st), 0) << "control socket left behind";
}

TEST(Daemon, SigtermStopsCleanlyAndRemovesTheSocket) {
  Vswitchd vs({"--port", "dpdk,dev=net_ring0"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  struct stat st;
  ASSERT_EQ(stat(vs.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the control socket is owner-only by default";
  EXPECT_EQ(vs.stop(), 0);
  EXPECT_NE(stat(vs.socket().c_str(), &st), 0);
}

TEST(Daemon, RunsAsNobodyWithoutHugepagesOrPci) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody; already unprivileged";
  Vswitchd vs({"--port", "dpdk,dev=net_null0,dev.no-rx=1"}, as_nobody());
  ASSERT_TRUE(vs.ready()) << vs.log();
  std::ifstream status("/proc/" + std::to_string(vs.pid()) + "/status");
  std::string line;
  bool checked = false;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      EXPECT_NE(line.find("65534"), std::string::npos) << line;
      checked = true;
    }
  }
  EXPECT_TRUE(checked);
  EXPECT_EQ(vs.ctl({"port", "list"}).items().size(), 1u);
  EXPECT_EQ(vs.stop(), 0) << vs.log();
}

TEST(Daemon, ReadsItsConfigFile) {
  TempDir dir;
  std::ofstream(dir.file("vs.conf"))
      << "segment = lab,mode=hub\nport = dpdk,name=r0,dev=net_ring0\n";
  Vswitchd vs({"--config", dir.file("vs.conf")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Value seg = vs.ctl({"segment", "show", "lab"});
  EXPECT_EQ(seg.get("mode")->as_string(), "hub");
  EXPECT_EQ(seg.get("ports")->items().size(), 1u);
}

TEST(Control, FdbStaticEntriesCanBeAddedShownAndRemoved) {
  Vswitchd vs(
      {"--port", "dpdk,name=p0,dev=net_ring0", "--port", "dpdk,name=p1,dev=net_ring1,tag=10"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  vs.ctl({"fdb", "add", "default", "02:00:00:00:00:01", "p0"});
  vs.ctl({"fdb", "add", "default", "02:00:00:00:00:02", "p1", "10"});
  Value fdb = vs.ctl({"fdb", "show", "default"});
  ASSERT_EQ(fdb.items().size(), 2u);
  Value only10 = vs.ctl({"fdb", "show", "default", "vlan=10"});
  ASSERT_EQ(only10.items().size(), 1u);
  EXPECT_EQ(only10.items()[0].get("port")->as_string(), "p1");
  EXPECT_EQ(only10.items()[0].get("type")->as_string(), "static");

  std::string err;
  EXPECT_FALSE(vs.try_ctl({"fdb", "add", "default", "02:00:00:00:00:03", "p1", "20"}, &err));
  EXPECT_NE(err.find("not in VLAN 20"), std::string::npos) << err;
  EXPECT_FALSE(vs.try_ctl({"fdb", "add", "default", "01:00:5e:00:00:01", "p0"}, &err));

  vs.ctl({"fdb", "del", "default", "02:00:00:00:00:02", "10"});
  EXPECT_EQ(vs.ctl({"fdb", "show", "default"}).items().size(), 1u);
  EXPECT_EQ(vs.ctl({"fdb", "flush", "default"}).get("flushed")->as_int(), 1);
}

TEST(Control, PortsCanBeAddedChangedAndRemovedAtRunTime) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("sw")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Value p = vs.ctl({"port", "add", "dpdk,name=late,dev=net_ring5,trunks=10:20"});
  EXPECT_EQ(p.at("vlan.trunks")->as_string(), "10,20");
  std::string err;
  EXPECT_FALSE(vs.try_ctl({"port", "set", "late", "tag=30"}, &err));
  EXPECT_NE(err.find("no trunks list"), std::string::npos) << err;
  Value changed = vs.ctl({"port", "set", "late", "trunks=all", "tag=30", "role=host"});
  ASSERT_TRUE(changed.at("vlan.mode"));
  EXPECT_EQ(changed.at("vlan.mode")->as_string(), "access");
  EXPECT_EQ(changed.get("role")->as_string(), "host");
  EXPECT_FALSE(vs.try_ctl({"port", "set", "late", "mtu=99999"}, &err));
  EXPECT_FALSE(vs.try_ctl({"port", "add", "dpdk,name=late,dev=net_ring6"}, &err));
  EXPECT_NE(err.find("already exists"), std::string::npos) << err;
  vs.ctl({"port", "del", "late"});
  EXPECT_EQ(vs.ctl({"port", "list"}).items().size(), 0u);
  // The same device can be opened again once its port is gone.
  vs.ctl({"port", "add", "dpdk,name=again,dev=net_ring5"});
  EXPECT_EQ(vs.ctl({"port", "list"}).items().size(), 1u);
}

TEST(Control, SegmentsCanBeAddedAndTuned) {
  TempDir tmp;
  Vswitchd vs(
      {"--segment", "a", "--segment", "b,policy=internal", "--vde", tmp.file("sw") + ",segment=a"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  vs.ctl({"segment", "set", "a", "fdb-size=100", "ageing=30", "mode=hub"});
  Value a = vs.ctl({"segment", "show", "a"});
  EXPECT_EQ(a.at("fdb.limit")->as_int(), 100);
  EXPECT_EQ(a.at("fdb.ageing_s")->as_int(), 30);
  EXPECT_EQ(a.get("mode")->as_string(), "hub");
  std::string err;
  // With two segments a port must say which it joins.
  EXPECT_FALSE(vs.try_ctl({"port", "add", "dpdk,dev=net_ring0"}, &err));
  EXPECT_NE(err.find("segment=NAME"), std::string::npos) << err;
  vs.ctl({"segment", "add", "c,policy=nat"});
  EXPECT_EQ(vs.ctl({"segment", "list"}).items().size(), 3u);
}

// A mistyped fdb-size must not take the host's memory: each table grows with what it learns, so a
// segment allowed 16 M entries costs what it holds, not what it may hold.
TEST(Control, LargeFdbSizesCostMemoryOnlyAsTheyFill) {
  Vswitchd vs({});
  ASSERT_TRUE(vs.ready()) << vs.log();
  constexpr int64_t kMaxRssMib = 200;
  const int64_t at_start = rss_mib(vs.pid());
  ASSERT_GT(at_start, 0);
  ASSERT_LT(at_start, kMaxRssMib);
  for (const std::string name : {"big1", "big2", "big3"}) {
    auto r = ctl(vs, {"segment", "add", name + ",fdb-size=16777216"});
    ASSERT_EQ(r.status, 0) << r.err;
    // Stops at the first segment over the bound, so a regression costs the host one table.
    ASSERT_LT(rss_mib(vs.pid()), kMaxRssMib) << "after adding " << name << ", from " << at_start;
  }
  // Raising a limit at run time rebuilds the table, which must not preallocate either.
  auto r = ctl(vs, {"segment", "set", "default", "fdb-size=16777216"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LT(rss_mib(vs.pid()), kMaxRssMib) << "from " << at_start;
  EXPECT_EQ(vs.ctl({"segment", "show", "big3"}).at("fdb.limit")->as_int(), 16777216);
  EXPECT_EQ(vs.ctl({"segment", "show", "default"}).at("fdb.limit")->as_int(), 16777216);
  EXPECT_EQ(vs.stop(), 0) << vs.log();
}

TEST(Vswitchctl, ReadableOutputJsonAndExitStatuses) {
  Vswitchd vs({"--port", "dpdk,name=p0,dev=net_ring0"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  auto text = ctl(vs, {"port", "list"});
  EXPECT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("name"), std::string::npos);
  EXPECT_NE(text.out.find("p0"), std::string::npos);
  auto json = ctl(vs, {"--json", "port", "show", "p0"});
  EXPECT_EQ(json.status, 0);
  auto v = Value::parse_json(json.out);
  ASSERT_TRUE(v) << json.out;
  EXPECT_EQ(v->at("details.driver")->as_string(), "net_ring");
  auto bad = ctl(vs, {"port", "show", "nope"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("no port named nope"), std::string::npos);
  auto unknown = ctl(vs, {"frobnicate"});
  EXPECT_EQ(unknown.status, 1);
  auto nobody = run_program({vswitchctl_path(), "--socket", "/nonexistent/sock", "show"});
  EXPECT_EQ(nobody.status, 3);
  EXPECT_EQ(run_program({vswitchctl_path()}).status, 2);
}

TEST(Control, AddingAListenerReportsTheListener) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("first")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  auto vde = ctl(vs, {"--json", "port", "add", "vde,path=" + tmp.file("second")});
  EXPECT_EQ(vde.status, 0) << vde.err;
  auto v = Value::parse_json(vde.out);
  ASSERT_TRUE(v) << vde.out;
  EXPECT_EQ(v->get("type")->as_string(), "vde");
  EXPECT_EQ(v->get("name")->as_string(), "vde1");
  auto tcp = ctl(vs, {"port", "add", "socket,name=guests,listen=127.0.0.1:0"});
  EXPECT_EQ(tcp.status, 0) << tcp.err;
  EXPECT_NE(tcp.out.find("guests"), std::string::npos) << tcp.out;
}

// Out of descriptors, a listener that stays readable must not spin the control plane: the
// connections it cannot serve are closed, once each, and it is said once.
TEST(Control, OutOfDescriptorsNewConnectionsAreClosedWithoutSpinning) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("sw")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  ASSERT_EQ(
      run_program({"/usr/bin/prlimit", "--pid", std::to_string(vs.pid()), "--nofile=64:64"}).status,
      0);
  std::vector<Sock> held;
  int shed = 0;
  for (int i = 0; i < 120; ++i) {
    Sock s = connect_to(AF_UNIX, unix_addr(vs.socket()));
    if (s.fd() >= 0 && closed_by_peer(s.fd(), 20)) {
      ++shed;
    } else {
      held.push_back(std::move(s));
    }
  }
  EXPECT_GT(shed, 0) << "the daemon never ran out of descriptors";
  const long before = cpu_ticks(vs.pid());
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpu_ticks(vs.pid()) - before, 20) << "the accept loop spins";
  const std::string log = vs.log();
  const auto first = log.find("out of file descriptors");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("out of file descriptors", first + 1), std::string::npos) << log;
  held.clear();
  EXPECT_TRUE(wait_until([&] { return vs.try_ctl({"version"}, nullptr).has_value(); }, 5s));
}

TEST(Control, ShutdownCommandStopsTheSwitch) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("sw")});
  ASSERT_TRUE(vs.ready());
  vs.ctl({"shutdown"});
  EXPECT_TRUE(wait_until([&] { return !vs.running(); }, 10s));
}

}  // namespace
}  // namespace vswitch::test
