// The NAT port's settings: QEMU's -netdev user keys, their defaults and their checks.
#include "nat/nat_options.hpp"

#include <gtest/gtest.h>

#include "vswitch/error.hpp"

namespace vswitch::plugs::nat {
namespace {

NatOptions finished(std::initializer_list<std::pair<const char*, const char*>> keys) {
  NatOptions o;
  for (auto [k, v] : keys)
    o.set(k, v);
  o.finish();
  return o;
}

TEST(NatOptions, QemusDefaults) {
  const NatOptions o = finished({});
  EXPECT_EQ(net_string(o.network, o.netmask), "10.0.2.0/24");
  EXPECT_EQ(to_string(o.host), "10.0.2.2");
  EXPECT_EQ(to_string(o.dns), "10.0.2.3");
  EXPECT_EQ(to_string(o.dhcp_start), "10.0.2.15");
  EXPECT_TRUE(o.ipv6);
  EXPECT_EQ(to_string(o.host6), "fec0::2");
  EXPECT_EQ(to_string(o.dns6), "fec0::3");
  EXPECT_FALSE(o.restricted);
}

TEST(NatOptions, AddressesFollowNetUnlessGiven) {
  const NatOptions o = finished({{"net", "192.168.76.0/24"}, {"dns", "192.168.76.53"}});
  EXPECT_EQ(to_string(o.host), "192.168.76.2");
  EXPECT_EQ(to_string(o.dns), "192.168.76.53");
  EXPECT_EQ(to_string(o.dhcp_start), "192.168.76.15");
  // As QEMU: without a mask, the address's class or private range decides it.
  auto net_of = [](const char* net) {
    const NatOptions n = finished({{"net", net}});
    return net_string(n.network, n.netmask);
  };
  EXPECT_EQ(net_of("10.0.0.0"), "10.0.0.0/8");
  EXPECT_EQ(net_of("172.16.0.0"), "172.16.0.0/12");
  EXPECT_EQ(net_of("192.168.0.0"), "192.168.0.0/16");
  EXPECT_EQ(net_of("10.1.0.0/255.255.0.0"), "10.1.0.0/16");
}

TEST(NatOptions, AddressesOutsideTheNetOrInsideTheDhcpRangeAreRefusedByName) {
  auto refused = [](std::initializer_list<std::pair<const char*, const char*>> keys,
                    const std::string& named) {
    try {
      finished(keys);
    } catch (const ConfigError& e) {
      return std::string(e.what()).find(named) != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(refused({{"dhcpstart", "10.0.3.15"}}, "dhcpstart=10.0.3.15"));
  EXPECT_TRUE(refused({{"host", "10.0.2.0"}}, "host=10.0.2.0"));
  EXPECT_TRUE(refused({{"dns", "10.0.2.20"}}, "inside the DHCP range"));
  EXPECT_TRUE(refused({{"dhcpstart", "10.0.2.250"}}, "fewer than 16 addresses"));
  EXPECT_TRUE(refused({{"net", "10.0.2.1/24"}}, "bits outside the mask"));
  EXPECT_TRUE(refused({{"net", "10.0.2.0/255.0.255.0"}}, "not a netmask"));
  EXPECT_TRUE(refused({{"hostfwd", "tcp::22-192.168.1.5:22"}}, "not in net=10.0.2.0/24"));
  EXPECT_THROW(finished({{"restrict", "maybe"}}), ConfigError);
  EXPECT_THROW(finished({{"colour", "blue"}}), ConfigError);
}

TEST(HostForward, QemusSyntax) {
  const HostForward tcp = HostForward::parse("tcp::2222-:22");
  EXPECT_FALSE(tcp.udp);
  EXPECT_EQ(tcp.host_addr.s_addr, 0u);
  EXPECT_EQ(tcp.host_port, 2222);
  EXPECT_EQ(tcp.guest_addr.s_addr, 0u);
  EXPECT_EQ(tcp.guest_port, 22);
  EXPECT_EQ(tcp.str(), "tcp::2222-:22");
  EXPECT_EQ(HostForward::parse("::2222-:22").str(), "tcp::2222-:22");  // tcp when not said
  const HostForward udp = HostForward::parse("udp:127.0.0.1:5353-10.0.2.15:53");
  EXPECT_TRUE(udp.udp);
  EXPECT_EQ(udp.str(), "udp:127.0.0.1:5353-10.0.2.15:53");
  EXPECT_TRUE(udp.same_host_side(HostForward::parse("udp:127.0.0.1:5353-:54")));
  EXPECT_FALSE(udp.same_host_side(HostForward::parse("tcp:127.0.0.1:5353-:53")));
  for (const char* bad : {"tcp:2222-:22", "icmp::1-:1", "tcp::0-:22", "tcp::70000-:22",
                          "tcp:1.2.3:22-:22", "tcp::22", ""}) {
    EXPECT_THROW(HostForward::parse(bad), ConfigError) << bad;
  }
}

}  // namespace
}  // namespace vswitch::plugs::nat
