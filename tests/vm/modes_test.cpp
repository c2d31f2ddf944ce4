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
// A mode's world and guests are made once for its five cells (one ctest per mode). Where the
// segment itself closes a path (nat, host-only, internal), a third port then attacks it and the
// closed paths must stay closed, the open ones open.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <regex>
#include <thread>

#include "../support/guest.hpp"
#include "../support/vde_client.hpp"
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
  // The host's tap on the segment and its address, if the mode has one.
  const char* host_tap = nullptr;
  const char* host_ip = nullptr;
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
                        {0, 0, 1, 0, 1},
                        "vsh0",
                        "192.168.100.1"};
const Mode kInternal = {
    "Internal",
    {"--segment",
     "lab,network=internal,dhcp=192.168.100.100-192.168.100.120,router=192.168.100.1" +
         reservations("192.168.100.101", "192.168.100.102"),
     "--port", "tap,ifname=vsh0,address=192.168.100.1/24"},
    {"192.168.100.101", "192.168.100.102"},
    {0, 0, 1, 0, 0},
    "vsh0",
    "192.168.100.1"};

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

  // A third port of the segment (a VDE client: a guest's NIC can send anything) sends what no
  // honest NIC would: the host's, the LAN device's and the NAT's MACs as its own, with ARP
  // claiming their addresses; double-tagged frames; frames from 100 000 source MACs, more than
  // the FDB holds. Then, while it goes on claiming the others' MACs, the closed paths must still
  // be closed and the open ones open, and the attacker must have heard nothing the table keeps
  // from it.
  void attack_then_expect_the_table() {
    const Mode& mode = *GetParam();
    ModeSetup& s = *setup_;
    VdeClient attacker(s.tmp.file("sw"));
    ASSERT_TRUE(attacker.ok());
    const MacAddr self = *MacAddr::parse("02:00:00:0a:66:01");
    struct Claim {
      MacAddr mac;
      Ipv4 ip;
    };
    std::vector<Claim> claims = {{mac_of(s.world->dev(), "dv0"), {10, 10, 0, 5}}};
    std::optional<MacAddr> host_mac;
    if (mode.host_tap) {
      host_mac = mac_of(s.world->host(), mode.host_tap);
      claims.push_back({*host_mac, to_ipv4(mode.host_ip)});
    }
    if (mode.reserved[0].empty()) {  // the NAT: libslirp's gateway and DNS
      claims.push_back({*MacAddr::parse("52:55:0a:00:02:02"), {10, 0, 2, 2}});
      claims.push_back({*MacAddr::parse("52:55:0a:00:02:03"), {10, 0, 2, 3}});
    }
    const int64_t host_rx_before = host_mac ? host_rx_packets(mode) : 0;

    size_t sent = 0;
    auto send = [&](const Bytes& f) { sent += attacker.send(f) ? 1 : 0; };
    send(frame(kBroadcast, self, 46, 0, 0x88b5));  // under its own name, to find its port
    const std::string attacker_port = port_of(self);
    ASSERT_FALSE(attacker_port.empty());
    for (const Claim& c : claims) {
      send(frame(kBroadcast, c.mac, 46, 0, 0x88b5));
      for (const std::string& ip : s.ips)
        send(arp_request(c.mac, c.ip, to_ipv4(ip)));
    }
    const MacAddr victim = claims.back().mac;  // the host's tap, or the NAT
    for (auto [outer, inner] : {std::pair{0, 1}, {1, 2}, {100, 200}}) {
      for (MacAddr dst : {kBroadcast, victim}) {
        send(tagged(tagged(frame(dst, self, 46, 0, 0x88b5), static_cast<uint16_t>(inner)),
                    static_cast<uint16_t>(outer)));
      }
    }
    constexpr size_t kSources = 100000;
    for (size_t i = 0; i < kSources; ++i)
      send(frame(victim, mac(0x0200aa000000 + i), 46, 0, 0x88b5));
    ASSERT_EQ(sent, 1 + claims.size() * 3 + 6 + kSources) << "the switch stopped taking frames";
    ASSERT_TRUE(
        s.vs->wait_port_counter(attacker_port, "in_packets", static_cast<int64_t>(kSources), 30s))
        << s.vs->log();

    // And it goes on claiming the others' MACs while the table is asked again.
    std::atomic<bool> stop{false};
    std::thread claiming([&] {
      while (!stop) {
        for (const Claim& c : claims)
          attacker.send(frame(kBroadcast, c.mac, 46, 0, 0x88b5));
        std::this_thread::sleep_for(20ms);
      }
    });
    for (Question q : {vms_see_each_other, host_reaches_vms, vms_reach_internet})
      expect_cell(q);
    stop = true;
    claiming.join();
    if (host_mac && !mode.table[host_reaches_vms]) {
      EXPECT_EQ(host_rx_packets(mode), host_rx_before) << "a frame reached the closed host";
    }
    for (const Bytes& f : attacker.drain(500)) {
      const MacAddr dst = MacAddr::from_bytes(f.data()), src = MacAddr::from_bytes(f.data() + 6);
      if (host_mac) {
        EXPECT_NE(dst, *host_mac) << "the host's traffic went to the attacker";
        if (!mode.table[host_reaches_vms]) {
          EXPECT_NE(src, *host_mac) << "the host was heard";
        }
      }
      if (!mode.table[vms_see_each_other]) {
        for (const char* guest : kMacs)
          EXPECT_NE(src.str(), guest) << "a guest was heard where guests do not see each other";
      }
    }
  }

  static MacAddr mac_of(Netns& ns, const std::string& ifname) {
    std::string text = ns.exec({"/bin/cat", "/sys/class/net/" + ifname + "/address"}).out;
    text.erase(text.find_last_not_of('\n') + 1);
    const auto m = MacAddr::parse(text);
    EXPECT_TRUE(m) << ifname << ": '" << text << "'";
    return m.value_or(MacAddr());
  }
  static Ipv4 to_ipv4(const std::string& text) {
    const uint32_t a = ipv4(text.c_str());
    return {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
            static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  }
  int64_t host_rx_packets(const Mode& mode) {
    const std::string path =
        std::string("/sys/class/net/") + mode.host_tap + "/statistics/rx_packets";
    return std::stoll(setup_->world->host().exec({"/bin/cat", path}).out);
  }
  // The port the switch learned `m` on.
  std::string port_of(MacAddr m) {
    std::string name;
    wait_until(
        [&] {
          const Value fdb = setup_->vs->ctl({"fdb", "show", "lab", "mac=" + m.str()});
          if (fdb.items().empty()) return false;
          name = fdb.items()[0].get("port")->as_string();
          return true;
        },
        10s);
    return name;
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

// Bridged opens every path, so an attacker there has none to open (port security, which keeps
// a guest from another's MAC, is a matter of its own).
TEST_P(Nat, AnAttackerOpensNoClosedPath) {
  attack_then_expect_the_table();
}
TEST_P(HostOnly, AnAttackerOpensNoClosedPath) {
  attack_then_expect_the_table();
}
TEST_P(Internal, AnAttackerOpensNoClosedPath) {
  attack_then_expect_the_table();
}

}  // namespace
}  // namespace vswitch::test
