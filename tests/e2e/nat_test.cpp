// The NAT port (libslirp) without guests: VDE clients send what a guest's DHCP client and ARP
// would, and the host side is reached through hostfwd on loopback. The switch runs as nobody.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <regex>

#include "../support/process.hpp"
#include "../support/raw_peer.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

// A DHCP message from a client that has no address yet, broadcast as RFC 2131 says.
Bytes dhcp(MacAddr client, uint8_t type, uint32_t xid, uint32_t requested = 0, uint32_t server = 0,
           const std::string& hostname = "") {
  DhcpFrame d;
  d.client = client;
  d.type = type;
  d.xid = xid;
  d.requested = requested;
  d.server = server;
  d.hostname = hostname;
  return dhcp_frame(d);
}

std::optional<DhcpReply> await_reply(VdeClient& c, MacAddr client, uint8_t type) {
  for (int i = 0; i < 20; ++i) {
    auto f = c.recv(3000);
    if (!f) return std::nullopt;
    auto r = dhcp_reply(*f, client);
    if (r && r->type == type) return r;
  }
  return std::nullopt;
}

// A guest's whole DHCP exchange; the address it was given.
uint32_t lease(VdeClient& c, MacAddr client, const std::string& hostname) {
  if (!c.send(dhcp(client, kDhcpDiscover, 1))) return 0;
  auto offer = await_reply(c, client, kDhcpOffer);
  if (!offer) return 0;
  if (!c.send(dhcp(client, kDhcpRequest, 2, offer->your_address, offer->server, hostname)))
    return 0;
  auto ack = await_reply(c, client, kDhcpAck);
  return ack ? ack->your_address : 0;
}

class Nat : public ::testing::Test {
 protected:
  void start(const std::string& segment_extra = "") {
    vs_ =
        std::make_unique<Vswitchd>(std::vector<std::string>{"-s", sw(), "-m", "0666", "--segment",
                                                            "default,network=nat" + segment_extra},
                                   as_nobody());
    ASSERT_TRUE(vs_->ready()) << vs_->log();
  }
  std::string sw() const { return tmp_.file("sw"); }
  std::string nat_detail(const std::string& key) {
    const Value port = vs_->ctl({"port", "show", "default-nat"});
    const Value* v = port.at("details")->get(key);
    return v ? v->as_string() : "";
  }

  TempDir tmp_;
  std::unique_ptr<Vswitchd> vs_;
};

TEST_F(Nat, EachGuestGetsItsOwnLeaseFromDhcpStartAndTheTableShowsIt) {
  start();
  VdeClient a(sw()), b(sw());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(lease(a, mac(1), "alpha"), ipv4("10.0.2.15"));
  EXPECT_EQ(lease(b, mac(2), "beta"), ipv4("10.0.2.16"));
  EXPECT_EQ(nat_detail("lease " + mac(1).str()), "10.0.2.15 alpha");
  EXPECT_EQ(nat_detail("lease " + mac(2).str()), "10.0.2.16 beta");
  // In a nat segment the guests do not see each other, broadcasts included.
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 46, 1)));
  for (const Bytes& f : b.drain(500))
    EXPECT_NE(MacAddr::from_bytes(&f[6]), mac(1)) << "a guest heard another";
}

TEST_F(Nat, TheGatewayAnswersArpWithItsOwnAddress) {
  start(",net=192.168.77.0/24");
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(lease(a, mac(1), ""), ipv4("192.168.77.15"));
  ASSERT_TRUE(a.send(arp_request(mac(1), {192, 168, 77, 15}, {192, 168, 77, 2})));
  bool answered = false;
  for (int i = 0; i < 10 && !answered; ++i) {
    auto f = a.recv(3000);
    if (!f) break;
    answered = is_arp_reply(*f, {192, 168, 77, 2}, {192, 168, 77, 15});
  }
  EXPECT_TRUE(answered);
}

// The NAT's addresses (libslirp's 52:55 and the IPv4 address: the gateway, the DNS) are pinned
// to its port: a guest sending from them moves nothing, so the gateway's traffic stays its own.
TEST_F(Nat, AGuestClaimingTheGatewaysMacMovesNothing) {
  start(",net=192.168.77.0/24");
  VdeClient spoofer(sw());
  ASSERT_TRUE(spoofer.ok());
  for (const char* own : {"52:55:c0:a8:4d:02", "52:55:c0:a8:4d:03"}) {
    ASSERT_TRUE(spoofer.send(frame(kBroadcast, *MacAddr::parse(own))));
    ASSERT_TRUE(
        spoofer.send(arp_request(*MacAddr::parse(own), {192, 168, 77, 2}, {192, 168, 77, 15})));
  }
  ASSERT_TRUE(wait_until([&] { return vs_->port_counter("vde:1", "in_packets") >= 4; }, 5s));
  for (const char* own : {"52:55:c0:a8:4d:02", "52:55:c0:a8:4d:03"}) {
    const Value fdb = vs_->ctl({"fdb", "show", "default", std::string("mac=") + own});
    ASSERT_EQ(fdb.items().size(), 1u) << own;
    EXPECT_EQ(fdb.items()[0].get("port")->as_string(), "default-nat") << own;
    EXPECT_EQ(fdb.items()[0].get("type")->as_string(), "static") << own;
  }
  EXPECT_EQ(vs_->ctl({"fdb", "flush", "default"}).get("flushed")->as_int(), 0);
  EXPECT_EQ(vs_->ctl({"fdb", "show", "default", "port=default-nat"}).items().size(), 4u)
      << "pinned again after a flush: the IPv4 and IPv6 gateway and DNS";
}

// hostfwd: a connection to the host's port becomes one to the guest's, and rules change at run
// time; a rule whose host port is taken is refused with one line and nothing else changes.
TEST_F(Nat, HostForwardsReachTheGuestAndChangeAtRunTime) {
  const uint16_t port = free_tcp_port();
  start(",hostfwd=tcp:127.0.0.1:" + std::to_string(port) + "-:22");
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(lease(a, mac(1), ""), ipv4("10.0.2.15"));
  Sock host = connect_to(AF_INET, inet_addr(port));
  ASSERT_GE(host.fd(), 0) << "nothing listens on the forwarded port";
  // The NAT now opens the connection to the guest: a SYN to 10.0.2.15 port 22.
  bool syn = false;
  for (int i = 0; i < 20 && !syn; ++i) {
    auto f = a.recv(3000);
    if (!f) break;
    syn = f->size() >= 54 && (*f)[23] == 6 && (*f)[36] == 0 && (*f)[37] == 22 &&
          Bytes(f->begin() + 30, f->begin() + 34) == (Bytes{10, 0, 2, 15});
  }
  EXPECT_TRUE(syn) << "no SYN reached the guest";

  const uint16_t second = free_tcp_port();
  const std::string rule = "tcp:127.0.0.1:" + std::to_string(second) + "-:80";
  vs_->ctl({"nat", "hostfwd", "add", "default-nat", rule});
  EXPECT_GE(connect_to(AF_INET, inet_addr(second)).fd(), 0);
  EXPECT_EQ(nat_detail("hostfwd 2"), rule);
  std::string error;
  EXPECT_FALSE(vs_->try_ctl(
      {"nat", "hostfwd", "add", "default-nat", "tcp:127.0.0.1:" + std::to_string(port) + "-:23"},
      &error));
  EXPECT_THAT(error, ::testing::HasSubstr("forwarded already"));
  vs_->ctl({"nat", "hostfwd", "del", "default-nat", rule});
  EXPECT_LT(connect_to(AF_INET, inet_addr(second)).fd(), 0);
  // A host port someone else holds.
  Sock holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in held = inet_addr(free_tcp_port());
  ASSERT_EQ(bind(holder.fd(), reinterpret_cast<const sockaddr*>(&held), sizeof held), 0);
  ASSERT_EQ(listen(holder.fd(), 1), 0);
  EXPECT_FALSE(vs_->try_ctl({"nat", "hostfwd", "add", "default-nat",
                             "tcp:127.0.0.1:" + std::to_string(ntohs(held.sin_port)) + "-:22"},
                            &error));
  EXPECT_THAT(error, ::testing::HasSubstr("cannot listen on 127.0.0.1"));
  EXPECT_EQ(nat_detail("hostfwd 1"), "tcp:127.0.0.1:" + std::to_string(port) + "-:22");
}

TEST_F(Nat, GarbageFromAGuestCostsItNothingAndTheOthersAreServed) {
  start();
  VdeClient bad(sw()), good(sw());
  ASSERT_TRUE(bad.ok() && good.ok());
  Bytes junk = dhcp(mac(9), kDhcpDiscover, 7);
  for (int i = 0; i < 200; ++i) {
    Bytes f = junk;
    f.resize(14 + static_cast<size_t>(i) * 3 % (junk.size() - 14));
    for (size_t k = 14; k < f.size(); k += 7)
      f[k] = static_cast<uint8_t>(f[k] ^ (i * 31 + k));
    ASSERT_TRUE(bad.send(f));
  }
  EXPECT_EQ(lease(good, mac(2), ""), ipv4("10.0.2.15"));
  EXPECT_TRUE(vs_->running());
}

// Each nat segment has a NAT of its own: its own network, its own leases.
TEST(NatSegments, SideBySideEachServeTheirOwnNetwork) {
  TempDir tmp;
  Vswitchd vs({"--segment", "a,network=nat", "--segment", "b,network=nat,net=10.0.3.0/24", "--vde",
               tmp.file("a") + ",segment=a", "--vde", tmp.file("b") + ",segment=b"},
              as_nobody());
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient in_a(tmp.file("a")), in_b(tmp.file("b"));
  ASSERT_TRUE(in_a.ok() && in_b.ok());
  EXPECT_EQ(lease(in_a, mac(1), ""), ipv4("10.0.2.15"));
  EXPECT_EQ(lease(in_b, mac(2), ""), ipv4("10.0.3.15"));
}

// A segment whose NAT cannot be had is not left behind half made, so the same add can be retried.
TEST(NatSegments, ASegmentWhoseNatFailsIsNotLeftBehind) {
  TempDir tmp;
  Vswitchd vs({"--vde", tmp.file("sw")});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_in held = inet_addr(free_tcp_port());
  ASSERT_EQ(bind(holder.fd(), reinterpret_cast<const sockaddr*>(&held), sizeof held), 0);
  ASSERT_EQ(listen(holder.fd(), 1), 0);
  const std::string taken = std::to_string(ntohs(held.sin_port));
  std::string error;
  EXPECT_FALSE(vs.try_ctl(
      {"segment", "add", "lab,network=nat,hostfwd=tcp:127.0.0.1:" + taken + "-:22"}, &error));
  EXPECT_NE(error.find("cannot listen"), std::string::npos) << error;
  EXPECT_EQ(vs.ctl({"segment", "list"}).items().size(), 1u);
  vs.ctl({"segment", "add", "lab,network=nat"});
  EXPECT_EQ(vs.ctl({"port", "show", "lab-nat"}).get("segment")->as_string(), "lab");
}

TEST(NatOptions, BadKeysEndInOneLineNamingThemAndStatusTwo) {
  for (auto spec :
       {"default,network=nat,dhcpstart=10.0.3.15", "default,network=nat,net=10.0.2.0/33",
        "default,network=nat,hostfwd=tcp::99999-:22", "default,network=nat,dns=10.0.2.20",
        "default,network=nat,hostfwd=icmp::22-:22", "default,network=nat,colour=blue"}) {
    auto r = run_program({vswitchd_path(), "--segment", spec});
    EXPECT_EQ(r.status, 2) << spec;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace vswitch::test
