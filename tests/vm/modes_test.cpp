// The networking modes' table, cell by cell, with real guests: for each mode the README shows as
// one line, two QEMU guests (one on VDE, one on a QEMU stream backend, virtio-net, addresses by
// DHCP) in a world of namespaces (modes_world.hpp) answer the table's five questions with a ping
// and a TCP connection each, from every side the question names:
//
//   question                                  nat  bridged  host-only  internal
//   Do the VMs see the devices in the LAN?     y      y         n          n
//   Do the LAN devices see the VMs?            n      y         n          n
//   Do the VMs see each other?                 n      y         y          y
//   Can the VMs reach the Internet?            y      y         n          n
//   Can the host connect to the VMs?           n      y         y          n
//
// A mode's world and guests are made once for its five cells (one ctest per mode).
#include <gtest/gtest.h>

#include <array>
#include <regex>

#include "../support/guest.hpp"
#include "modes_world.hpp"

namespace vswitch::test {
namespace {

constexpr auto kGuestTimeout = 180s;

enum Question {
  vms_see_lan,
  lan_sees_vms,
  vms_see_each_other,
  vms_reach_internet,
  host_reaches_vms
};

struct Mode {
  const char* name;
  // The switch's options beside its guests' listeners: the mode's one line.
  std::vector<std::string> switch_args;
  // Guests' addresses: reserved by MAC in the segment's DHCP, or (empty) whatever the NAT gives.
  std::array<std::string, 2> reserved;
  std::array<bool, 5> table;
};

const char* kMacs[] = {"52:54:00:0a:00:01", "52:54:00:0a:00:02"};

std::string reservations(const std::string& a, const std::string& b) {
  return std::string(",dhcp-host=") + kMacs[0] + "," + a + ",vde-guest,dhcp-host=" + kMacs[1] +
         "," + b + ",stream-guest";
}

// Host-only and internal guests are given the host as their router: the host does not forward,
// so the "n" of the Internet and the LAN is the tutorial's own reason, not a missing route.
const Mode kNat = {"Nat", {"--segment", "lab,network=nat"}, {"", ""}, {1, 0, 0, 1, 0}};
const Mode kBridged = {"Bridged",
                       {"--segment",
                        "lab,network=bridged,uplink=up0,dhcp=10.10.0.100-10.10.0.120,"
                        "router=10.10.0.1" +
                            reservations("10.10.0.101", "10.10.0.102")},
                       {"10.10.0.101", "10.10.0.102"},
                       {1, 1, 1, 1, 1}};
const Mode kHostOnly = {"HostOnly",
                        {"--segment",
                         "lab,network=host-only,address=192.168.100.1/24,"
                         "ifname=vsh0,router=192.168.100.1" +
                             reservations("192.168.100.101", "192.168.100.102")},
                        {"192.168.100.101", "192.168.100.102"},
                        {0, 0, 1, 0, 1}};
const Mode kInternal = {
    "Internal",
    {"--segment",
     "lab,network=internal,dhcp=192.168.100.100-192.168.100.120,router=192.168.100.1" +
         reservations("192.168.100.101", "192.168.100.102"),
     "--port", "tap,ifname=vsh0,address=192.168.100.1/24"},
    {"192.168.100.101", "192.168.100.102"},
    {0, 0, 1, 0, 0}};

std::string lease_of(const Guest& g) {
  std::smatch m;
  const std::string c = g.console();
  return std::regex_search(c, m, std::regex("VSW-LEASE ip=([0-9.]+)")) ? m[1].str() : "";
}

// One mode's world: namespaces, the switch in the host's, and two agent guests.
struct ModeSetup {
  explicit ModeSetup(const Mode& mode) {
    kit = guest_kit(&failure);
    if (kit.empty()) return;
    world = std::make_unique<ModesWorld>();
    if (!world->failure().empty()) {
      failure = world->failure();
      return;
    }
    std::vector<std::string> args = {
        "-s", tmp.file("sw"), "--port",
        "stream,server=on,addr.type=unix,addr.path=" + tmp.file("stream.sock")};
    args.insert(args.end(), mode.switch_args.begin(), mode.switch_args.end());
    vs = std::make_unique<Vswitchd>(args, in_netns(world->host().name()));
    if (!vs->ready()) {
      failure = "vswitchd did not start:\n" + vs->log();
      return;
    }
    const std::string netdevs[] = {
        "vde,sock=" + tmp.file("sw"),
        "stream,server=off,addr.type=unix,addr.path=" + tmp.file("stream.sock")};
    for (int i = 0; i < 2; ++i) {
      GuestSpec g;
      g.netdev = netdevs[i];
      g.mac = kMacs[i];
      g.ip = "dhcp";
      g.netns = world->host().name();
      g.more = std::string("vsw.role=agent vsw.bytes=65536 vsw.name=") + (i ? "stream" : "vde");
      g.agent = tmp.file("agent" + std::to_string(i));
      guests[i] = std::make_unique<Guest>(kit, g, tmp.file("guest" + std::to_string(i) + ".log"));
    }
    for (int i = 0; i < 2; ++i) {
      Guest& g = *guests[i];
      if (!g.wait_for("VSW-READY", kGuestTimeout) || (ips[i] = lease_of(g)).empty()) {
        failure = "guest " + std::to_string(i) + " has no lease:\n" + g.console() + vs->log();
        return;
      }
      if (!mode.reserved[i].empty() && ips[i] != mode.reserved[i]) {
        failure = "guest " + std::to_string(i) + " got " + ips[i] + ", not its reservation " +
                  mode.reserved[i];
        return;
      }
    }
  }

  std::string kit, failure;
  TempDir tmp;
  std::unique_ptr<ModesWorld> world;
  std::unique_ptr<Vswitchd> vs;
  std::array<std::unique_ptr<Guest>, 2> guests;
  std::array<std::string, 2> ips;
};

// What one probe found, for the failure message.
struct Probe {
  std::string what;
  bool through;
};

class ModeTest : public ::testing::TestWithParam<const Mode*> {
 protected:
  static void TearDownTestSuite() { setup_.reset(); }

  void SetUp() override {
    if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2 for the namespaces";
    if (!setup_ || setup_mode_ != GetParam()) {
      setup_.reset();
      setup_mode_ = GetParam();
      setup_ = std::make_unique<ModeSetup>(*GetParam());
    }
    if (setup_->kit.empty()) GTEST_SKIP() << setup_->failure;
    ASSERT_TRUE(setup_->failure.empty()) << setup_->failure;
  }

  // Every probe the question names, each of which must get through exactly when the table says y.
  void expect_cell(Question q) {
    const bool y = GetParam()->table[q];
    ModeSetup& s = *setup_;
    std::vector<Probe> probes;
    auto from_guest = [&](int i, const std::string& ip) {
      const std::string who = "guest " + s.ips[i] + " -> " + ip;
      const auto ping = s.guests[i]->probe("ping " + ip);
      const auto tcp = s.guests[i]->probe("tcp " + ip + " " + std::to_string(kServicePort));
      ASSERT_TRUE(ping && tcp) << "guest " << i << " stopped answering:\n"
                               << s.guests[i]->console();
      probes.push_back({who + " ping", *ping});
      probes.push_back({who + " tcp", *tcp});
    };
    auto from_ns = [&](Netns& ns, const std::string& who, const std::string& ip) {
      probes.push_back({who + " -> guest " + ip + " ping", ModesWorld::pings(ns, ip)});
      probes.push_back({who + " -> guest " + ip + " tcp", ModesWorld::connects(ns, ip)});
    };
    for (int i = 0; i < 2; ++i) {
      switch (q) {
        case vms_see_lan:
          from_guest(i, kLanDevice);
          break;
        case lan_sees_vms:
          from_ns(s.world->dev(), "LAN device", s.ips[i]);
          break;
        case vms_see_each_other:
          from_guest(i, s.ips[1 - i]);
          break;
        case vms_reach_internet:
          from_guest(i, kInternetServer);
          break;
        case host_reaches_vms:
          from_ns(s.world->host(), "host", s.ips[i]);
          break;
      }
    }
    for (const Probe& p : probes)
      EXPECT_EQ(p.through, y) << p.what << (y ? " did not get through" : " got through");
  }

  static inline std::unique_ptr<ModeSetup> setup_;
  static inline const Mode* setup_mode_ = nullptr;
};

// One fixture per mode, so that each cell is named Modes/<Mode>.<Question>/<plugs>.
#define MODE_CELLS(Fixture, mode)                                      \
  class Fixture : public ModeTest {};                                  \
  TEST_P(Fixture, VmsSeeLanDevices) {                                  \
    expect_cell(vms_see_lan);                                          \
  }                                                                    \
  TEST_P(Fixture, LanDevicesSeeVms) {                                  \
    expect_cell(lan_sees_vms);                                         \
  }                                                                    \
  TEST_P(Fixture, VmsSeeEachOther) {                                   \
    expect_cell(vms_see_each_other);                                   \
  }                                                                    \
  TEST_P(Fixture, VmsReachInternet) {                                  \
    expect_cell(vms_reach_internet);                                   \
  }                                                                    \
  TEST_P(Fixture, HostConnectsToVms) {                                 \
    expect_cell(host_reaches_vms);                                     \
  }                                                                    \
  INSTANTIATE_TEST_SUITE_P(Modes, Fixture, ::testing::Values(&(mode)), \
                           [](const auto&) { return std::string("VdeAndStreamGuests"); })

MODE_CELLS(Nat, kNat);
MODE_CELLS(Bridged, kBridged);
MODE_CELLS(HostOnly, kHostOnly);
MODE_CELLS(Internal, kInternal);

}  // namespace
}  // namespace vswitch::test
