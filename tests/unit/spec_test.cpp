// The port and segment syntax, and the daemon's option parsing.
#include <gtest/gtest.h>

#include <fstream>

#include "../support/process.hpp"
#include "networks.hpp"
#include "options.hpp"
#include "spec.hpp"

namespace vswitch::daemon {
namespace {

TEST(Spec, SplitsOnCommasAndKeepsDoubledOnes) {
  EXPECT_EQ(split_spec("a,b=c,,d,e"), (std::vector<std::string>{"a", "b=c,d", "e"}));
  EXPECT_EQ(split_spec("dpdk"), (std::vector<std::string>{"dpdk"}));
}

// dhcp-host=MAC,IP,NAME as a dnsmasq user writes it: the bare parts after a list key continue
// its value; QEMU's doubled commas mean the same; elsewhere a bare part is still refused.
TEST(Spec, ListKeysKeepTheirSingleCommas) {
  EXPECT_EQ(split_spec("lab,dhcp-host=52:54:00:12:34:56,192.168.100.20,web,lease=60"),
            (std::vector<std::string>{"lab", "dhcp-host=52:54:00:12:34:56,192.168.100.20,web",
                                      "lease=60"}));
  EXPECT_EQ(split_spec("dhcp,host=m,,i,,n,host=m2,i2"),
            (std::vector<std::string>{"dhcp", "host=m,i,n", "host=m2,i2"}));
  EXPECT_EQ(split_spec("host,x,y"), (std::vector<std::string>{"host", "x", "y"}));
  EXPECT_THROW(parse_port_spec("dpdk,dev=net_null0,extra"), ConfigError);
  auto p = parse_port_spec("dhcp,range=10.0.0.10-10.0.0.20,host=02:00:00:00:00:01,10.0.0.5,db");
  EXPECT_EQ(p.take_all("host"), (std::vector<std::string>{"02:00:00:00:00:01,10.0.0.5,db"}));
}

TEST(Spec, ParsesCommonKeysAndLeavesThePlugsOwn) {
  auto s = parse_port_spec("dpdk,name=p0,segment=lan,role=host,tag=10,mtu=9000,dev=net_null0");
  EXPECT_EQ(s.type, "dpdk");
  EXPECT_EQ(s.segment, "lan");
  EXPECT_EQ(s.settings.name, "p0");
  EXPECT_EQ(s.settings.role, Role::host);
  EXPECT_EQ(s.settings.vlan.mode, VlanMode::access);  // a tag alone means access, as in OVS
  EXPECT_EQ(s.settings.vlan.tag, 10);
  EXPECT_EQ(s.settings.mtu, 9000u);
  EXPECT_EQ(s.take("dev"), "net_null0");
  EXPECT_NO_THROW(s.expect_consumed());
}

TEST(Spec, StormControlAndPortSecurityKeys) {
  auto s = parse_port_spec(
      "vde,storm-broadcast=1000,storm-multicast=2000,storm-unknown=300,max-macs=2,"
      "macs=52:54:00:00:00:01,52:54:00:00:00:02,sticky=on,path=/tmp/x");
  EXPECT_EQ(s.settings.storm, (StormLimits{1000, 2000, 300}));
  EXPECT_EQ(s.settings.security.max_macs, 2u);
  EXPECT_EQ(s.settings.security.macs, (std::vector<MacAddr>{*MacAddr::parse("52:54:00:00:00:01"),
                                                            *MacAddr::parse("52:54:00:00:00:02")}));
  EXPECT_TRUE(s.settings.security.sticky);
  EXPECT_EQ(s.take("path"), "/tmp/x");
  PortSettings set = s.settings;
  apply_port_setting(set, "macs", "");
  EXPECT_TRUE(set.security.macs.empty());
  apply_port_setting(set, "storm-unknown", "0");
  EXPECT_EQ(set.storm.unknown, 0u);
  EXPECT_THROW(parse_port_spec("vde,macs=52:54:00:00:00:01,nonsense"), ConfigError);
  EXPECT_THROW(parse_port_spec("vde,storm-broadcast=lots"), ConfigError);
  EXPECT_THROW(parse_port_spec("vde,sticky=yes"), ConfigError);
}

TEST(Spec, TrunkAndNativeModes) {
  auto t = parse_port_spec("dpdk,trunks=10:20-22");
  EXPECT_EQ(t.settings.vlan.mode, VlanMode::trunk);
  EXPECT_EQ(t.settings.vlan.trunks.count(), 4u);
  auto n = parse_port_spec("dpdk,vlan-mode=native-untagged,tag=5,trunks=6");
  EXPECT_EQ(n.settings.vlan.mode, VlanMode::native_untagged);
  EXPECT_EQ(n.settings.vlan.tag, 5);
}

TEST(Spec, RefusesWhatMakesNoSense) {
  EXPECT_THROW(parse_port_spec("tag=10"), ConfigError);
  EXPECT_THROW(parse_port_spec("dpdk,role=router"), ConfigError);
  EXPECT_THROW(parse_port_spec("dpdk,tag=4095"), ConfigError);
  EXPECT_THROW(parse_port_spec("dpdk,tag=10,trunks=20"), ConfigError);
  EXPECT_THROW(parse_port_spec("dpdk,mtu=10000"), ConfigError);
  EXPECT_THROW(parse_port_spec("dpdk,dev"), ConfigError);
  // A key may repeat only where the plug takes every value (hostfwd=).
  auto twice = parse_port_spec("dpdk,x=1,x=2");
  EXPECT_THROW(twice.take("x"), ConfigError);
  auto forwards = parse_port_spec("nat,hostfwd=tcp::1-:1,hostfwd=udp::2-:2");
  EXPECT_EQ(forwards.take_all("hostfwd"), (std::vector<std::string>{"tcp::1-:1", "udp::2-:2"}));
  auto s = parse_port_spec("dpdk,bogus=1");
  EXPECT_THROW(s.expect_consumed(), ConfigError);
}

TEST(Spec, SegmentKeys) {
  auto s = parse_segment_spec("lab,mode=hub,policy=vm-vm+vm-nat,fdb-size=1000,ageing=60");
  EXPECT_EQ(s.name, "lab");
  EXPECT_EQ(s.forwarding, Forwarding::hub);
  EXPECT_EQ(s.policy.mode, PolicyMode::matrix);
  EXPECT_EQ(s.fdb_limit, 1000u);
  EXPECT_EQ(s.ageing_s, 60u);
  EXPECT_THROW(parse_segment_spec("lab,mode=router"), ConfigError);
  EXPECT_THROW(parse_segment_spec("lab,color=red"), ConfigError);
  EXPECT_THROW(parse_segment_spec("mode=hub"), ConfigError);
}

TEST(Spec, NetworkPresetsBringTheirPolicyAndPorts) {
  auto nat = parse_segment("lab,network=nat,hostfwd=tcp::2222-:22,net=10.9.0.0/24");
  EXPECT_EQ(nat.settings.policy.str(), "nat");
  EXPECT_EQ(nat.ports, (std::vector<std::string>{
                           "nat,name=lab-nat,segment=lab,hostfwd=tcp::2222-:22,net=10.9.0.0/24"}));
  auto shared = parse_segment("lab,network=nat,policy=vm-vm+vm-nat");
  EXPECT_EQ(shared.settings.policy.mode, PolicyMode::matrix);
  auto internal = parse_segment("lab,network=internal");
  EXPECT_EQ(internal.settings.policy.str(), "internal");
  EXPECT_TRUE(internal.ports.empty());
  EXPECT_THROW(parse_segment("lab,network=internal,hostfwd=tcp::1-:1"), ConfigError);
  EXPECT_THROW(parse_segment("lab,network=nat,colour=blue"), ConfigError);
  EXPECT_THROW(parse_segment("lab,network=carrier-pigeon"), ConfigError);
}

std::string refusal_of(const char* segment) {
  try {
    parse_segment(segment);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

// Host-only in one line: the host's tap with its address, and a DHCP server handing out the
// half of that subnet the host is not in, never the host's own address.
TEST(Spec, HostOnlyMakesTheHostsTapAndServesItsSubnet) {
  auto lab = parse_segment("lab,network=host-only,address=192.168.100.1/24");
  EXPECT_EQ(lab.settings.policy.str(), "host-only");
  EXPECT_EQ(lab.ports, (std::vector<std::string>{
                           "tap,name=lab-host,segment=lab,ifname=vsw-lab,address=192.168.100.1/24",
                           "dhcp,name=lab-dhcp,segment=lab,range=192.168.100.128-192.168.100.253,"
                           "netmask=24,taken=192.168.100.1"}));
  auto high = parse_segment(
      "lab,network=host-only,address=10.0.0.250/28,ifname=vs0,address6=fd00::1/64,lease=60");
  EXPECT_EQ(high.ports, (std::vector<std::string>{
                            "tap,name=lab-host,segment=lab,ifname=vs0,address=10.0.0.250/28,"
                            "address6=fd00::1/64",
                            "dhcp,name=lab-dhcp,segment=lab,lease=60,range=10.0.0.241-10.0.0.247,"
                            "netmask=28,taken=10.0.0.250"}));
  auto own = parse_segment(
      "lab,network=host-only,address=192.168.100.1/24,dhcp=192.168.100.10-192.168.100.20,"
      "router=192.168.100.1,dhcp-taken=192.168.100.2");
  EXPECT_EQ(own.ports.at(1),
            "dhcp,name=lab-dhcp,segment=lab,range=192.168.100.10-192.168.100.20,"
            "router=192.168.100.1,netmask=24,taken=192.168.100.2:192.168.100.1");
  auto none = parse_segment("lab,network=host-only,address=192.168.100.1/24,dhcp=off");
  EXPECT_EQ(none.ports.size(), 1u) << "dhcp=off: the host runs its own";

  EXPECT_NE(refusal_of("lab,network=host-only").find("address=192.168.100.1/24"),
            std::string::npos);
  EXPECT_NE(refusal_of("lab,network=host-only,address=fd00::1/64").find("IPv4"), std::string::npos);
  EXPECT_NE(refusal_of("lab,network=host-only,address=10.0.0.1/29").find("dhcp=START-END"),
            std::string::npos);
  EXPECT_EQ(refusal_of("lab,network=host-only,address=10.0.0.1/30,dhcp=10.0.0.2-10.0.0.2"),
            "accepted");
  EXPECT_NE(refusal_of("a-long-segment,network=host-only,address=10.0.0.1/24").find("ifname="),
            std::string::npos);
  EXPECT_NE(refusal_of("lab,network=host-only,address=10.0.0.1/24,uplink=eth0").find("uplink"),
            std::string::npos);
}

TEST(Spec, BridgedPutsTheHostsNicOnTheSegment) {
  auto lan = parse_segment("lan,network=bridged,uplink=eth1");
  EXPECT_EQ(lan.settings.policy.str(), "bridged");
  EXPECT_EQ(lan.ports,
            (std::vector<std::string>{"uplink,name=lan-uplink,segment=lan,ifname=eth1"}));
  auto served = parse_segment(
      "lan,network=bridged,uplink=eth1,qdisc-bypass=off,dhcp=10.10.0.100-10.10.0.120");
  EXPECT_EQ(served.ports, (std::vector<std::string>{
                              "uplink,name=lan-uplink,segment=lan,ifname=eth1,qdisc-bypass=off",
                              "dhcp,name=lan-dhcp,segment=lan,range=10.10.0.100-10.10.0.120"}));
  EXPECT_NE(refusal_of("lan,network=bridged").find("uplink=eth1"), std::string::npos);
  EXPECT_NE(refusal_of("lan,network=bridged,uplink=eth1,address=10.0.0.1/24").find("address"),
            std::string::npos);
}

TEST(Spec, DhcpKeysOfASegmentBecomeItsDhcpPort) {
  auto lab = parse_segment(
      "lab,policy=host-only,dhcp=192.168.100.10-192.168.100.20,router=192.168.100.1,"
      "dns=192.168.100.1:9.9.9.9,lease=600,dhcp-host=52:54:00:12:34:56,192.168.100.20,web,"
      "dhcp-host=52:54:00:12:34:57,192.168.100.21,dhcp-netmask=255.255.255.0,"
      "dhcp-server=192.168.100.2,dhcp-leases=none");
  EXPECT_EQ(lab.settings.policy.str(), "host-only");
  EXPECT_EQ(lab.ports,
            (std::vector<std::string>{
                "dhcp,name=lab-dhcp,segment=lab,range=192.168.100.10-192.168.100.20,"
                "router=192.168.100.1,dns=192.168.100.1:9.9.9.9,lease=600,"
                "host=52:54:00:12:34:56,,192.168.100.20,,web,host=52:54:00:12:34:57,,"
                "192.168.100.21,netmask=255.255.255.0,server=192.168.100.2,leases=none"}));
  // The port spec reads back as the segment said it.
  auto port = parse_port_spec(lab.ports[0]);
  EXPECT_EQ(port.take_all("host").size(), 2u);
  EXPECT_EQ(port.take("dns"), "192.168.100.1:9.9.9.9");

  SpecKeys keys = {{"dhcp", "10.0.0.10-10.0.0.20"}, {"mode", "hub"}, {"dns", "10.0.0.1"}};
  EXPECT_EQ(take_dhcp_keys("s", keys),
            "dhcp,name=s-dhcp,segment=s,range=10.0.0.10-10.0.0.20,dns=10.0.0.1");
  EXPECT_EQ(keys, (SpecKeys{{"mode", "hub"}}));
  SpecKeys nat_keys = {{"dns", "10.0.2.3"}};
  EXPECT_EQ(take_dhcp_keys("s", nat_keys), std::nullopt);
  EXPECT_EQ(nat_keys.size(), 1u) << "dns= without dhcp= is left for a NAT";
}

TEST(Spec, DhcpKeysRefusedWithReasons) {
  auto message = [](const char* text) {
    try {
      parse_segment(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("lab,router=10.0.0.1").find("give it dhcp=START-END too"), std::string::npos);
  EXPECT_NE(message("lab,dhcp-host=02:00:00:00:00:01,10.0.0.5").find("dhcp="), std::string::npos);
  EXPECT_NE(message("lab,dns=10.0.0.1").find("goes with dhcp="), std::string::npos);
  EXPECT_NE(message("lab,network=nat,dhcp=10.0.2.20-10.0.2.30").find("of its own"),
            std::string::npos);
  EXPECT_NE(message("lab,policy=vm-vm,dhcp=10.0.0.10-10.0.0.20").find("add vm-service"),
            std::string::npos);
  EXPECT_NE(message("lab,dhcp=10.0.0.10-10.0.0.20,dhcp=10.0.0.30-10.0.0.40").find("twice"),
            std::string::npos);
  // The segment's keys reach the dhcp port's own checks before anything starts.
  EXPECT_EQ(message("lab,network=internal,dhcp=10.0.0.10-10.0.0.20"), "accepted");
}

Options parse(std::vector<std::string> args) {
  args.insert(args.begin(), "vswitchd");
  std::vector<const char*> argv;
  for (auto& a : args)
    argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

TEST(Options, UnknownOptionIsOneLineNamingItAndStatusTwo) {
  auto o = parse({"--frobnicate"});
  EXPECT_EQ(o.action, Options::Action::exit);
  EXPECT_EQ(o.exit_status, 2);
  EXPECT_NE(o.message.find("--frobnicate"), std::string::npos);
  EXPECT_EQ(std::count(o.message.begin(), o.message.end(), '\n'), 1);
}

TEST(Options, MalformedValuesAreRefused) {
  for (auto args : std::vector<std::vector<std::string>>{{"--mbufs", "many"},
                                                         {"--log-level", "loud"},
                                                         {"--idle", "sometimes"},
                                                         {"--control-mode", "rw"},
                                                         {"--port", "dpdk,tag=x"},
                                                         {"--segment", "s,mode=router"},
                                                         {"--eal", "-l 'unbalanced"},
                                                         {"--port"}}) {
    auto o = parse(args);
    EXPECT_EQ(o.exit_status, 2) << args[0];
    EXPECT_EQ(std::count(o.message.begin(), o.message.end(), '\n'), 1) << o.message;
  }
}

// Boost 1.74 loops for ever formatting an error whose text holds one of its placeholders.
TEST(Options, PlaceholdersInValuesAreRefusedInOneLineNotAHang) {
  for (auto args : std::vector<std::vector<std::string>>{{"--mbufs", "%value%"},
                                                         {"--numports", "%value%"},
                                                         {"--%original_token%"},
                                                         {"--%canonical_option%"},
                                                         {"--mbufs=x%option%%value%"},
                                                         {"--port", "%value%,a=1"}}) {
    auto o = parse(args);
    EXPECT_EQ(o.exit_status, 2) << args[0];
    EXPECT_EQ(std::count(o.message.begin(), o.message.end(), '\n'), 1) << o.message;
    EXPECT_NE(o.message.find('%'), std::string::npos) << "the message lost the user's text";
  }
  test::TempDir dir;
  std::ofstream(dir.file("vs.conf")) << "mbufs = %value%\n";
  auto o = parse({"--config", dir.file("vs.conf")});
  EXPECT_EQ(o.exit_status, 2);
  EXPECT_NE(o.message.find("%value%"), std::string::npos) << o.message;
  // A value that is fine stays as written, percent signs and all.
  std::ofstream(dir.file("ok.conf")) << "segment = a%value%b\ncontrol = /tmp/c%d\n";
  auto ok = parse({"--config", dir.file("ok.conf")});
  EXPECT_EQ(ok.exit_status, 0) << ok.message;
  EXPECT_EQ(ok.config.segments.at(0), "a%value%b");
  EXPECT_EQ(ok.config.control_path, "/tmp/c%d");
}

TEST(Options, AConfigFileThatIsADirectoryIsRefused) {
  test::TempDir dir;
  auto o = parse({"--config", dir.path()});
  EXPECT_EQ(o.exit_status, 2);
  EXPECT_NE(o.message.find("is a directory"), std::string::npos) << o.message;
}

TEST(Options, MbufsBeyondTheMachinesMemoryNameTheOption) {
  auto o = parse({"--mbufs", "4000000000"});
  EXPECT_EQ(o.exit_status, 2);
  EXPECT_NE(o.message.find("--mbufs 4000000000 needs about"), std::string::npos) << o.message;
}

TEST(Options, AnUnknownPortTypeIsRefusedBeforeStartUp) {
  auto o = parse({"--port", "frobnicator,x=1"});
  EXPECT_EQ(o.exit_status, 2);
  EXPECT_NE(o.message.find("unknown type 'frobnicator'"), std::string::npos) << o.message;
}

TEST(Options, ABadDhcpKeyIsRefusedBeforeStartUp) {
  auto o = parse({"--segment", "lab,dhcp=10.0.0.20-10.0.0.10"});
  EXPECT_EQ(o.exit_status, 2);
  EXPECT_NE(o.message.find("the start is after the end"), std::string::npos) << o.message;
}

TEST(Options, ReadsTheSameKeysFromAConfigFile) {
  test::TempDir dir;
  {
    std::ofstream f(dir.file("vs.conf"));
    f << "# comment\nlog-level = debug\nsegment = lan,mode=hub\nport = dpdk,dev=net_null0\n"
         "port = dpdk,dev=net_null1\nidle = busy\n";
  }
  auto o = parse({"--config", dir.file("vs.conf"), "--port", "dpdk,dev=net_null2"});
  ASSERT_EQ(o.action, Options::Action::run) << o.message;
  EXPECT_EQ(o.log_level, LogLevel::debug);
  EXPECT_EQ(o.config.ports.size(), 3u);
  EXPECT_EQ(o.config.segments.size(), 1u);
  EXPECT_EQ(o.config.engine.idle, IdleMode::busy);

  {
    std::ofstream f(dir.file("bad.conf"));
    f << "colour = blue\n";
  }
  auto bad = parse({"--config", dir.file("bad.conf")});
  EXPECT_EQ(bad.exit_status, 2);
  EXPECT_NE(bad.message.find("colour"), std::string::npos);
  EXPECT_EQ(parse({"--config", dir.file("missing.conf")}).exit_status, 2);
}

TEST(Options, DefaultEalNeedsNoPrivileges) {
  auto o = parse({});
  ASSERT_EQ(o.action, Options::Action::run);
  const auto& a = o.config.eal_args;
  for (const char* flag : {"--no-huge", "--no-pci", "--no-shconf"}) {
    EXPECT_NE(std::find(a.begin(), a.end(), flag), a.end()) << flag;
  }
  auto custom = parse({"--eal", "-l 2 -a '0000:03:00.0'"});
  EXPECT_EQ(custom.config.eal_args, (std::vector<std::string>{"-l", "2", "-a", "0000:03:00.0"}));
}

TEST(Value, JsonRoundTripAndText) {
  Value v = Value::object();
  Value rows = Value::array();
  rows.push(Value::object().set("name", "a").set("n", 1));
  rows.push(Value::object().set("name", "bb\"q").set("n", int64_t{-2}));
  v.set("rows", rows).set("ok", true);
  auto back = Value::parse_json(v.json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->json(), v.json());
  EXPECT_EQ(back->at("rows")->items()[1].get("name")->as_string(), "bb\"q");
  EXPECT_EQ(v.text(), "rows:\n  name  n\n  a     1\n  bb\"q  -2\nok: yes\n");
  EXPECT_FALSE(Value::parse_json("{\"a\":"));
  EXPECT_FALSE(Value::parse_json("[1,]"));
}

}  // namespace
}  // namespace vswitch::daemon
