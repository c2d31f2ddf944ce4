// The lease file: what a server saves it restores, expired and corrupt lines are dropped, and
// the save is atomic.
#include "dhcp/lease_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/process.hpp"
#include "common/ip_address.hpp"
#include "dhcp/dhcp_server.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::dhcp {
namespace {

constexpr int64_t kNow = 1'700'000'000;

DhcpOptions options() {
  DhcpOptions o;
  o.set("range", "192.168.100.10-192.168.100.20");
  o.set("host", "52:54:00:00:00:09,192.168.100.30,db");
  o.finish();
  return o;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

void bind(LeaseTable& t, const char* mac, const char* address, const char* name = "",
          std::string_view id = {}) {
  in_addr a{};
  inet_pton(AF_INET, address, &a);
  t.bind(Client{*MacAddr::parse(mac), id}, host_order(a), HostName::clean(name), kNow);
}

TEST(DhcpLeaseFile, WhatIsSavedIsRestored) {
  test::TempDir dir;
  const std::string path = dir.file("lab.leases");
  const DhcpOptions o = options();
  LeaseTable saved(o);
  bind(saved, "52:54:00:00:00:01", "192.168.100.10", "alpha");
  bind(saved, "52:54:00:00:00:02", "192.168.100.11", "", std::string_view("\x01\x52\x54", 3));
  bind(saved, "52:54:00:00:00:09", "192.168.100.30", "db");
  saved.offer(Client{*MacAddr::parse("52:54:00:00:00:03"), {}}, {}, kNow);  // not kept
  LeaseFile file(path);
  ASSERT_EQ(file.save(saved), 0);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const std::string text = read(path);
  EXPECT_NE(text.find("1700003600 52:54:00:00:00:01 192.168.100.10 alpha *\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("52:54:00:00:00:02 192.168.100.11 * 01:52:54\n"), std::string::npos) << text;

  LeaseTable restored(o);
  const auto got = file.load(restored, kNow + 10);
  EXPECT_EQ(got.restored, 3u);
  EXPECT_EQ(got.corrupt, 0u);
  const Lease* l = restored.find(Client{*MacAddr::parse("52:54:00:00:00:01"), {}});
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(ipv4_string(l->address), "192.168.100.10");
  EXPECT_EQ(l->hostname.view(), "alpha");
  EXPECT_EQ(l->expires, kNow + 3600);
  EXPECT_EQ(l->state, LeaseState::leased);
  // The client identifier is who the client is, after the restart too.
  const Lease* by_id = restored.find(
      Client{*MacAddr::parse("52:54:00:00:00:77"), std::string_view("\x01\x52\x54", 3)});
  ASSERT_NE(by_id, nullptr);
  EXPECT_EQ(ipv4_string(by_id->address), "192.168.100.11");
  EXPECT_FALSE(restored.dirty());
  // And the restored table offers the client its address again.
  EXPECT_EQ(restored.offer(Client{*MacAddr::parse("52:54:00:00:00:01"), {}}, {}, kNow + 20),
            l->address);
}

TEST(DhcpLeaseFile, CorruptExpiredAndMisfitLinesAreSkippedNotFatal) {
  test::TempDir dir;
  const std::string path = dir.file("lab.leases");
  write(path,
        "# a comment\n"
        "\n"
        "1700003600 52:54:00:00:00:01 192.168.100.10 alpha *\n"
        "garbage\n"
        "1700003600 52:54:00:00:00:02 192.168.100.11 beta * extra\n"
        "1700003600 not-a-mac 192.168.100.12 * *\n"
        "1700003600 52:54:00:00:00:03 192.168.100.300 * *\n"
        "soon 52:54:00:00:00:04 192.168.100.13 * *\n"
        "1700003600 52:54:00:00:00:05 192.168.100.14 bad|name *\n"
        "1700003600 52:54:00:00:00:06 192.168.100.15 * 0g:11\n"
        "1699999999 52:54:00:00:00:07 192.168.100.16 old *\n"      // expired
        "1700003600 52:54:00:00:00:08 10.0.0.1 * *\n"              // not in the pool now
        "1700003600 52:54:00:00:00:09 192.168.100.10 twin *\n"     // address taken
        "1700003600 52:54:00:00:00:0a 192.168.100.30 * *\n"        // someone's reservation
        "1700003600 52:54:00:00:00:01 192.168.100.17 again *\n");  // client taken
  const DhcpOptions o = options();
  LeaseTable t(o);
  const auto got = LeaseFile(path).load(t, kNow);
  EXPECT_EQ(got.restored, 1u);
  EXPECT_EQ(got.corrupt, 7u);
  EXPECT_EQ(got.first_corrupt, 4u);
  EXPECT_EQ(got.expired, 1u);
  EXPECT_EQ(got.refused, 4u);
  EXPECT_EQ(t.count(LeaseState::leased, kNow), 1u);
}

TEST(DhcpLeaseFile, AMissingFileIsEmptyAndAnUnwritableOneIsAnError) {
  test::TempDir dir;
  const DhcpOptions o = options();
  LeaseTable t(o);
  const auto got = LeaseFile(dir.file("none-yet")).load(t, kNow);
  EXPECT_EQ(got.restored + got.corrupt, 0u);
  EXPECT_NE(LeaseFile(dir.file("no/such/dir/f")).save(t), 0);
  // A directory where the file should be cannot be read as leases.
  ASSERT_EQ(mkdir(dir.file("adir").c_str(), 0755), 0);
  EXPECT_THROW(LeaseFile(dir.file("adir")).load(t, kNow), ConfigError);
  // make_directory() makes every missing level.
  const LeaseFile deep(dir.file("a/b/c.leases"));
  deep.make_directory();
  EXPECT_EQ(deep.save(t), 0);
  EXPECT_EQ(read(dir.file("a/b/c.leases")).rfind("# vswitchd DHCP leases", 0), 0u);
}

TEST(DhcpLeaseFile, DefaultPathsFollowTheUsersStateDirectory) {
  if (geteuid() == 0) {
    EXPECT_EQ(default_lease_file("lab"), "/var/lib/vswitchd/lab.leases");
  } else {
    setenv("XDG_STATE_HOME", "/x/state", 1);
    EXPECT_EQ(default_lease_file("lab"), "/x/state/vswitchd/lab.leases");
    unsetenv("XDG_STATE_HOME");
    EXPECT_NE(default_lease_file("lab").find("/.local/state/vswitchd/lab.leases"),
              std::string::npos);
  }
  EXPECT_EQ(default_lease_file("a/b").find("a/b"), std::string::npos) << "no path from a name";
}

}  // namespace
}  // namespace vswitch::plugs::dhcp
