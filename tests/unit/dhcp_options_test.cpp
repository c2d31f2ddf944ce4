// The DHCP server's settings: their defaults and every refusal, each naming what is wrong.
#include "dhcp/dhcp_options.hpp"

#include <gtest/gtest.h>

#include "common/ip_address.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::dhcp {
namespace {

DhcpOptions finished(std::initializer_list<std::pair<const char*, const char*>> keys) {
  DhcpOptions o;
  for (auto [k, v] : keys)
    o.set(k, v);
  o.finish();
  return o;
}

std::string refusal(std::initializer_list<std::pair<const char*, const char*>> keys) {
  try {
    finished(keys);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(DhcpOptions, DefaultsAroundTheRange) {
  const DhcpOptions o = finished({{"range", "192.168.100.10-192.168.100.20"}});
  EXPECT_EQ(ipv4_string(o.netmask), "255.255.255.0");
  EXPECT_EQ(ipv4_string(o.server), "192.168.100.254");
  EXPECT_EQ(o.lease_s, 3600u);
  EXPECT_EQ(o.router, 0u);
  EXPECT_TRUE(o.dns.empty());
  EXPECT_FALSE(o.lease_file) << "the daemon picks the default file";
}

// The server's own address: the highest of the subnet that nothing else has.
TEST(DhcpOptions, TheServerTakesTheHighestAddressNoOneElseHas) {
  const DhcpOptions o = finished({{"range", "10.1.2.100-10.1.2.200"},
                                  {"router", "10.1.2.254"},
                                  {"dns", "10.1.2.253:9.9.9.9"},
                                  {"host", "52:54:00:00:00:01,10.1.2.252,db"}});
  EXPECT_EQ(ipv4_string(o.server), "10.1.2.251");
  const DhcpOptions full = finished({{"range", "10.1.2.1-10.1.2.253"}});
  EXPECT_EQ(ipv4_string(full.server), "10.1.2.254");
  const DhcpOptions wide = finished({{"range", "10.1.0.10-10.1.0.20"}, {"netmask", "16"}});
  EXPECT_EQ(ipv4_string(wide.server), "10.1.255.254");
  const DhcpOptions given =
      finished({{"range", "10.1.2.10-10.1.2.20"}, {"server", "10.1.2.2"}, {"leases", "none"}});
  EXPECT_EQ(ipv4_string(given.server), "10.1.2.2");
  EXPECT_EQ(given.lease_file, "");
}

// Addresses that others on the segment hold (the host's tap) are neither handed out nor the
// server's own.
TEST(DhcpOptions, TakenAddressesAreLeftToTheirHolders) {
  const DhcpOptions o =
      finished({{"range", "10.1.2.10-10.1.2.20"}, {"taken", "10.1.2.254:10.1.2.253"}});
  EXPECT_EQ(ipv4_string(o.server), "10.1.2.252");
  EXPECT_NE(
      refusal({{"range", "10.1.2.10-10.1.2.20"}, {"taken", "10.1.2.15"}}).find("is in range="),
      std::string::npos);
  EXPECT_NE(refusal({{"range", "10.1.2.10-10.1.2.20"},
                     {"taken", "10.1.2.5"},
                     {"host", "52:54:00:00:00:01,10.1.2.5"}})
                .find("taken="),
            std::string::npos);
  EXPECT_NE(
      refusal({{"range", "10.1.2.10-10.1.2.20"}, {"taken", "10.1.2.5"}, {"server", "10.1.2.5"}})
          .find("is taken"),
      std::string::npos);
}

TEST(DhcpOptions, ReservationsWithAndWithoutNames) {
  const DhcpOptions o = finished({{"range", "192.168.100.10-192.168.100.20"},
                                  {"host", "52:54:00:12:34:56,192.168.100.20,web"},
                                  {"host", "52:54:00:12:34:57,192.168.100.30"}});
  ASSERT_EQ(o.hosts.size(), 2u);
  EXPECT_EQ(o.hosts[0].name, "web");
  EXPECT_EQ(o.hosts[1].name, "");
  EXPECT_EQ(o.reservation_of(*MacAddr::parse("52:54:00:12:34:57")), &o.hosts[1]);
  EXPECT_EQ(o.reservation_at(0xc0a86414), &o.hosts[0]);
}

TEST(DhcpOptions, RefusalsSayWhatIsWrong) {
  const auto has = [](const std::string& message, const char* part) {
    return message.find(part) != std::string::npos;
  };
  EXPECT_TRUE(has(refusal({}), "range=START-END"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10"}}), "use START-END"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.20-10.0.0.10"}}), "the start is after the end"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.1.10"}}), "outside the subnet 10.0.0.0/24"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.0-10.0.0.10"}}), "not a host address"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.255"}}), "not a host address"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.1-10.2.0.1"}, {"netmask", "8"}}), "at most 65536"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"netmask", "255.0.255.0"}}),
                  "not a netmask"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"netmask", "31"}}), "1-30"));
  EXPECT_TRUE(
      has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"router", "10.0.0.15"}}), "is in range="));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"router", "10.0.1.1"}}),
                  "outside the subnet"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"dns", "10.0.0.11"}}), "is in"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"},
                           {"dns", "1.1.1.1:2.2.2.2:3.3.3.3:4.4.4.4:5.5.5.5"}}),
                  "1 to 4 addresses"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"dns", "ten"}}), "not an IPv4"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"lease", "59"}}), "60-"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"host", "52:54:00:00:00:01"}}),
                  "MAC,IP[,NAME]"));
  EXPECT_TRUE(
      has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"host", "01:00:5e:00:00:01,10.0.0.5"}}),
          "not a unicast MAC"));
  EXPECT_TRUE(
      has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"host", "52:54:00:00:00:01,10.0.1.5"}}),
          "outside the subnet"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"},
                           {"host", "52:54:00:00:00:01,10.0.0.5,web server"}}),
                  "is not a host name"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"},
                           {"host", "52:54:00:00:00:01,10.0.0.5"},
                           {"host", "52:54:00:00:00:01,10.0.0.6"}}),
                  "has a reservation already"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"},
                           {"host", "52:54:00:00:00:01,10.0.0.5"},
                           {"host", "52:54:00:00:00:02,10.0.0.5"}}),
                  "reserved for 52:54:00:00:00:01"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"},
                           {"router", "10.0.0.1"},
                           {"host", "52:54:00:00:00:01,10.0.0.1"}}),
                  "router's address"));
  EXPECT_TRUE(
      has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"server", "10.0.0.12"}}), "is taken"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"server", "10.0.5.1"}}),
                  "outside the subnet"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.1-10.0.0.254"}}), "no address of 10.0.0.0/24"));
  EXPECT_TRUE(has(refusal({{"range", "10.0.0.10-10.0.0.20"}, {"leases", ""}}), "or none"));
  EXPECT_THROW(DhcpOptions{}.set("colour", "blue"), ConfigError);
  EXPECT_TRUE(DhcpOptions::knows("host"));
  EXPECT_FALSE(DhcpOptions::knows("dhcp-host"));
}

}  // namespace
}  // namespace vswitch::plugs::dhcp
