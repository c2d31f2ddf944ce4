// The segment's DHCP server (a dhcp port, role service) against clients on VDE ports, with the
// frames a guest's DHCP client and ARP would send: the whole exchange and its options, the
// reservation, RELEASE, DECLINE, INFORM, ARP for the server, an uplink that neither reaches it
// nor hears it, malformed messages, and the leases surviving a restart. The switch runs as
// nobody, its lease file in the test's directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

const MacAddr kReserved = *MacAddr::parse("52:54:00:12:34:56");
const uint32_t kServer = ipv4("192.168.100.254");

std::optional<DhcpReply> await_reply(VdeClient& c, MacAddr client, uint8_t type) {
  for (int i = 0; i < 20; ++i) {
    auto f = c.recv(3000);
    if (!f) return std::nullopt;
    auto r = dhcp_reply(*f, client);
    if (r && r->type == type) return r;
  }
  return std::nullopt;
}

DhcpFrame message(MacAddr client, uint8_t type, uint32_t xid = 1) {
  DhcpFrame d;
  d.client = client;
  d.type = type;
  d.xid = xid;
  return d;
}

// DISCOVER, OFFER, REQUEST, ACK; the ACK.
std::optional<DhcpReply> lease(VdeClient& c, MacAddr client, const std::string& hostname = "") {
  if (!c.send(dhcp_frame(message(client, kDhcpDiscover, 1)))) return std::nullopt;
  auto offer = await_reply(c, client, kDhcpOffer);
  if (!offer) return std::nullopt;
  DhcpFrame req = message(client, kDhcpRequest, 2);
  req.requested = offer->your_address;
  req.server = offer->server;
  req.hostname = hostname;
  if (!c.send(dhcp_frame(req))) return std::nullopt;
  return await_reply(c, client, kDhcpAck);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Dhcp : public ::testing::Test {
 protected:
  void start(const std::string& policy = "host-only") {
    vs_ = std::make_unique<Vswitchd>(
        std::vector<std::string>{
            "--vde", sw() + ",mode=0666", "--segment",
            "lab,policy=" + policy +
                ",dhcp=192.168.100.10-192.168.100.20,router=192.168.100.1,dns=192.168.100.1,"
                "dhcp-host=52:54:00:12:34:56,192.168.100.20,web,dhcp-leases=" +
                leases()},
        as_nobody());
    ASSERT_TRUE(vs_->ready()) << vs_->log();
  }
  std::string sw() const { return tmp_.file("sw"); }
  std::string leases() const { return tmp_.file("lab.leases"); }
  int64_t counter(const std::string& key) {
    const Value port = vs_->ctl({"port", "show", "lab-dhcp"});
    return std::stoll(port.at("details")->get(key)->as_string());
  }
  // The rows of `dhcp leases` for this MAC.
  std::vector<Value> rows_of(MacAddr m) {
    std::vector<Value> rows;
    const Value all = vs_->ctl({"dhcp", "leases", "lab"});
    for (const Value& row : all.items()) {
      if (row.get("mac")->as_string() == m.str()) rows.push_back(row);
    }
    return rows;
  }

  TempDir tmp_;
  std::unique_ptr<Vswitchd> vs_;
};

TEST_F(Dhcp, AGuestGetsAnAddressWithTheNetworksSettings) {
  start();
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a.send(dhcp_frame(message(mac(1), kDhcpDiscover, 0x1234))));
  auto offer = await_reply(a, mac(1), kDhcpOffer);
  ASSERT_TRUE(offer) << vs_->log();
  EXPECT_EQ(offer->xid, 0x1234u);
  EXPECT_EQ(offer->your_address, ipv4("192.168.100.10"));
  EXPECT_EQ(offer->server, kServer);
  EXPECT_EQ(offer->src_ip, kServer);
  EXPECT_EQ(offer->lease_s, 3600u);
  EXPECT_EQ(offer->netmask, ipv4("255.255.255.0"));
  EXPECT_EQ(offer->router, ipv4("192.168.100.1"));
  EXPECT_EQ(offer->dns, (std::vector<uint32_t>{ipv4("192.168.100.1")}));
  EXPECT_EQ(offer->dst_mac, kBroadcast) << "the client asked for a broadcast reply";
  auto ack = lease(a, mac(1), "alpha");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->your_address, ipv4("192.168.100.10"));
  EXPECT_EQ(ack->lease_s, 3600u);
  EXPECT_EQ(counter("acks"), 1);
  const auto rows = rows_of(mac(1));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].get("ip")->as_string(), "192.168.100.10");
  EXPECT_EQ(rows[0].get("hostname")->as_string(), "alpha");
  EXPECT_EQ(rows[0].get("state")->as_string(), "leased");
  EXPECT_GT(rows[0].get("expires_in")->as_int(), 3500);
  EXPECT_THAT(read_file(leases()), ::testing::HasSubstr(mac(1).str() + " 192.168.100.10 alpha"));

  // A client that takes unicast before it has an address hears its offer at its own MAC.
  VdeClient b(sw());
  DhcpFrame d = message(mac(2), kDhcpDiscover);
  d.broadcast_flag = false;
  ASSERT_TRUE(b.send(dhcp_frame(d)));
  auto unicast = await_reply(b, mac(2), kDhcpOffer);
  ASSERT_TRUE(unicast);
  EXPECT_EQ(unicast->dst_mac, mac(2));
  EXPECT_EQ(unicast->dst_ip, ipv4("192.168.100.11"));
}

TEST_F(Dhcp, TheReservationIsHonouredWithItsName) {
  start();
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  auto ack = lease(a, kReserved);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->your_address, ipv4("192.168.100.20"));
  EXPECT_EQ(ack->hostname, "web");
  // Someone else asking for the reserved address gets another.
  VdeClient b(sw());
  DhcpFrame d = message(mac(2), kDhcpDiscover);
  d.requested = ipv4("192.168.100.20");
  ASSERT_TRUE(b.send(dhcp_frame(d)));
  auto offer = await_reply(b, mac(2), kDhcpOffer);
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->your_address, ipv4("192.168.100.10"));
}

TEST_F(Dhcp, ReleaseDeclineAndInform) {
  start();
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  auto first = lease(a, mac(1));
  ASSERT_TRUE(first);
  DhcpFrame rel = message(mac(1), kDhcpRelease, 3);
  rel.ciaddr = first->your_address;
  rel.server = kServer;
  rel.broadcast_flag = false;
  rel.dst_ip = kServer;
  ASSERT_TRUE(a.send(dhcp_frame(rel)));
  ASSERT_TRUE(wait_until([&] { return counter("releases") == 1; }, 5s));
  EXPECT_TRUE(rows_of(mac(1)).empty()) << "a released lease is listed";

  auto second = lease(a, mac(2));
  ASSERT_TRUE(second);
  DhcpFrame dec = message(mac(2), kDhcpDecline, 4);
  dec.requested = second->your_address;
  dec.server = kServer;
  ASSERT_TRUE(a.send(dhcp_frame(dec)));
  ASSERT_TRUE(wait_until([&] { return counter("declines") == 1; }, 5s));
  bool listed = false;
  const Value all = vs_->ctl({"dhcp", "leases"});
  for (const Value& row : all.items()) {
    if (row.get("state")->as_string() == "declined") {
      EXPECT_EQ(row.get("ip")->as_string(), "192.168.100.11");
      listed = true;
    }
  }
  EXPECT_TRUE(listed);
  auto third = lease(a, mac(2));
  ASSERT_TRUE(third);
  EXPECT_NE(third->your_address, second->your_address) << "the declined address came back";

  DhcpFrame inf = message(mac(3), kDhcpInform, 5);
  inf.ciaddr = ipv4("192.168.100.99");
  ASSERT_TRUE(a.send(dhcp_frame(inf)));
  auto ack = await_reply(a, mac(3), kDhcpAck);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->your_address, 0u);
  EXPECT_EQ(ack->lease_s, 0u);
  EXPECT_EQ(ack->router, ipv4("192.168.100.1"));
  EXPECT_EQ(ack->dst_ip, ipv4("192.168.100.99"));
  EXPECT_EQ(ack->dst_mac, mac(3));
  EXPECT_EQ(counter("informs"), 1);
}

TEST_F(Dhcp, TheServerAnswersArpForItsAddress) {
  start();
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  const std::string server_mac =
      vs_->ctl({"port", "show", "lab-dhcp"}).at("details")->get("mac")->as_string();
  ASSERT_TRUE(a.send(arp_request(mac(1), {192, 168, 100, 10}, {192, 168, 100, 254})));
  bool answered = false;
  for (int i = 0; i < 10 && !answered; ++i) {
    auto f = a.recv(3000);
    if (!f) break;
    answered = is_arp_reply(*f, {192, 168, 100, 254}, {192, 168, 100, 10}) &&
               MacAddr::from_bytes(f->data() + 22).str() == server_mac;
  }
  EXPECT_TRUE(answered);
  // Other addresses are not its to answer for.
  ASSERT_TRUE(a.send(arp_request(mac(1), {192, 168, 100, 10}, {192, 168, 100, 1})));
  for (const Bytes& f : a.drain(300))
    EXPECT_FALSE(is_arp_reply(f, {192, 168, 100, 1}, {192, 168, 100, 10}));
  EXPECT_GE(counter("ignored"), 1);
  // Its MAC is pinned to its port: a guest sending from it takes none of the server's frames.
  ASSERT_TRUE(a.send(frame(kBroadcast, *MacAddr::parse(server_mac))));
  const Value fdb = vs_->ctl({"fdb", "show", "lab", "mac=" + server_mac});
  ASSERT_EQ(fdb.items().size(), 1u);
  EXPECT_EQ(fdb.items()[0].get("port")->as_string(), "lab-dhcp");
  EXPECT_EQ(fdb.items()[0].get("type")->as_string(), "static");
}

// In a bridged segment the guests and the LAN see each other, and the DHCP server still serves
// only the guests: the LAN's DISCOVER goes unanswered and a guest's broadcast OFFER stays off
// the LAN, so the switch can never be a rogue DHCP server there.
TEST_F(Dhcp, AnUplinkNeitherReachesTheServerNorHearsIt) {
  start("bridged");
  VdeClient lan(sw());
  ASSERT_TRUE(lan.ok());
  vs_->ctl({"port", "set", "vde:1", "role=uplink"});
  ASSERT_EQ(vs_->ctl({"port", "show", "vde:1"}).get("role")->as_string(), "uplink");
  VdeClient guest(sw());
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(lan.send(dhcp_frame(message(mac(7), kDhcpDiscover))));
  ASSERT_TRUE(guest.send(dhcp_frame(message(mac(1), kDhcpDiscover))));
  ASSERT_TRUE(await_reply(guest, mac(1), kDhcpOffer));
  bool heard_guest = false;
  for (const Bytes& f : lan.drain(500)) {
    EXPECT_FALSE(dhcp_reply(f, mac(7))) << "the LAN got an offer";
    EXPECT_FALSE(dhcp_reply(f, mac(1))) << "the guest's OFFER reached the LAN";
    heard_guest |= MacAddr::from_bytes(f.data() + 6) == mac(1);
  }
  EXPECT_TRUE(heard_guest) << "the guest's DISCOVER should reach the LAN in a bridged segment";
  EXPECT_EQ(counter("offers"), 1);
  std::string error;
  EXPECT_FALSE(vs_->try_ctl({"port", "set", "lab-dhcp", "role=uplink"}, &error));
  EXPECT_THAT(error, ::testing::HasSubstr("keeps role service"));
  EXPECT_FALSE(vs_->try_ctl({"segment", "set", "lab", "policy=vm-vm+service-uplink"}, &error));
  EXPECT_THAT(error, ::testing::HasSubstr("service-uplink is refused"));
}

TEST_F(Dhcp, MalformedMessagesAreCountedAndTheNextClientIsServed) {
  start();
  VdeClient bad(sw()), good(sw());
  ASSERT_TRUE(bad.ok() && good.ok());
  const Bytes whole = dhcp_frame(message(mac(9), kDhcpDiscover));
  // Options cut short: the UDP and IP lengths say so too, so only the DHCP parser can tell.
  int sent = 0;
  for (size_t cut : {size_t{14 + 28 + 242}, size_t{14 + 28 + 245}}) {
    Bytes f(whole.begin(), whole.begin() + static_cast<long>(cut));
    f[14 + 28 + 240] = 12;
    f[14 + 28 + 241] = 200;  // a host name longer than what follows
    const uint16_t udp_len = static_cast<uint16_t>(cut - 14 - 20);
    f[14 + 20 + 4] = static_cast<uint8_t>(udp_len >> 8);
    f[14 + 20 + 5] = static_cast<uint8_t>(udp_len);
    f[14 + 2] = static_cast<uint8_t>((udp_len + 20) >> 8);
    f[14 + 3] = static_cast<uint8_t>(udp_len + 20);
    ASSERT_TRUE(bad.send(f));
    ++sent;
  }
  Bytes no_cookie = whole;
  no_cookie[14 + 28 + 236] = 0;
  ASSERT_TRUE(bad.send(no_cookie));
  ++sent;
  Bytes token_ring = whole;
  token_ring[14 + 28 + 1] = 6;
  ASSERT_TRUE(bad.send(token_ring));
  ++sent;
  // Garbage of every length from the same guest.
  for (int i = 0; i < 100; ++i) {
    Bytes f = whole;
    f.resize(14 + static_cast<size_t>(i) * 5 % (whole.size() - 14));
    for (size_t k = 42; k < f.size(); k += 7)
      f[k] = static_cast<uint8_t>(f[k] ^ (i * 31 + k));
    ASSERT_TRUE(bad.send(f));
  }
  ASSERT_TRUE(wait_until([&] { return counter("malformed") >= sent; }, 5s)) << counter("malformed");
  good.drain(200);  // the garbage, flooded to every guest
  auto ack = lease(good, mac(2));
  ASSERT_TRUE(ack);
  EXPECT_TRUE(vs_->running());
  EXPECT_THAT(vs_->log(), ::testing::HasSubstr("a malformed DHCP message"));
}

TEST_F(Dhcp, ARestartWithTheSameLeaseFileGivesEachClientItsAddress) {
  start();
  uint32_t second = 0;
  {
    VdeClient a(sw());
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(lease(a, mac(1)));
    auto b = lease(a, mac(2), "beta");
    ASSERT_TRUE(b);
    second = b->your_address;
  }
  EXPECT_EQ(vs_->stop(), 0);
  vs_.reset();
  start();
  VdeClient c(sw());
  ASSERT_TRUE(c.ok());
  // The second client asks first this time, and gets its own address, not the lowest.
  auto again = lease(c, mac(2));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->your_address, second);
  EXPECT_EQ(rows_of(mac(2))[0].get("hostname")->as_string(), "beta");
  // A third, new client is not given the first one's address either.
  auto third = lease(c, mac(3));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->your_address, ipv4("192.168.100.12"));

  const RunResult r =
      run_program({vswitchctl_path(), "-s", vs_->socket(), "dhcp", "leases", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto json = Value::parse_json(r.out);
  ASSERT_TRUE(json && json->is_array()) << r.out;
  std::vector<std::string> states;
  for (const Value& row : json->items()) {
    states.push_back(row.get("ip")->as_string() + " " + row.get("state")->as_string());
    EXPECT_EQ(row.get("segment")->as_string(), "lab");
  }
  EXPECT_EQ(states, (std::vector<std::string>{"192.168.100.10 leased", "192.168.100.11 leased",
                                              "192.168.100.12 leased", "192.168.100.20 reserved"}));
  const RunResult text = run_program({vswitchctl_path(), "-s", vs_->socket(), "dhcp", "leases"});
  EXPECT_THAT(text.out, ::testing::HasSubstr("expires_in"));
  EXPECT_THAT(text.out, ::testing::HasSubstr("web"));
}

TEST(DhcpSettings, BadKeysEndInOneLineNamingThemAndStatusTwo) {
  for (auto spec :
       {"lab,dhcp=10.0.0.20-10.0.0.10", "lab,dhcp=10.0.0.10-10.0.1.20",
        "lab,dhcp=10.0.0.10-10.0.0.20,dhcp-host=02:00:00:00:00:01,10.9.0.1", "lab,router=10.0.0.1",
        "lab,dhcp=10.0.0.10-10.0.0.20,lease=10", "lab,network=nat,dhcp=10.0.2.20-10.0.2.30"}) {
    auto r = run_program({vswitchd_path(), "--segment", spec});
    EXPECT_EQ(r.status, 2) << spec;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace vswitch::test
