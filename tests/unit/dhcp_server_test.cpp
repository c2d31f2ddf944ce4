// The DHCP server's answers and its lease table, message by message: the order addresses are
// chosen in, ACK and NAK in every REQUEST state of RFC 2131 4.3.2, DECLINE, RELEASE, INFORM,
// expiry, a full pool, and where each reply is sent (4.1).
#include "dhcp/dhcp_server.hpp"

#include <gtest/gtest.h>

#include "common/ip_address.hpp"
#include "common/ipv4_frames.hpp"

namespace vswitch::plugs::dhcp {
namespace {

constexpr int64_t kNow = 1'700'000'000;

uint32_t ip(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return host_order(a);
}

MacAddr mac(int n) {
  return MacAddr(uint64_t{0x000000005452} | uint64_t(n) << 40);  // 52:54:00:00:00:nn
}

DhcpOptions options(std::initializer_list<std::pair<const char*, const char*>> extra = {}) {
  DhcpOptions o;
  o.set("range", "192.168.100.10-192.168.100.12");
  o.set("router", "192.168.100.1");
  o.set("dns", "192.168.100.1");
  o.set("lease", "600");
  for (auto [k, v] : extra)
    o.set(k, v);
  o.finish();
  return o;
}

Message from(MacAddr client, MessageType type, uint32_t xid = 1) {
  Message m;
  m.op = kBootRequest;
  m.xid = xid;
  m.chaddr = client;
  m.type = type;
  return m;
}

class DhcpServerTest : public ::testing::Test {
 protected:
  explicit DhcpServerTest(DhcpOptions o = options()) : server_("test", std::move(o)) {}

  const uint32_t server_ip_ = ip("192.168.100.254");

  std::optional<Reply> ask(const Message& m, int64_t now = kNow) {
    Reply r;
    if (!server_.answer(m, now, r)) return std::nullopt;
    return r;
  }
  uint32_t offered(MacAddr c, std::optional<uint32_t> requested = {}, int64_t now = kNow) {
    Message d = from(c, MessageType::discover);
    d.requested = requested;
    auto r = ask(d, now);
    if (!r) return 0;
    EXPECT_EQ(r->message.type, MessageType::offer);
    return r->message.yiaddr;
  }
  std::optional<Reply> select(MacAddr c, uint32_t address, int64_t now = kNow) {
    Message q = from(c, MessageType::request);
    q.server_id = server_ip_;
    q.requested = address;
    return ask(q, now);
  }
  // DISCOVER, OFFER, REQUEST, ACK: the address bound, or 0.
  uint32_t lease(MacAddr c, int64_t now = kNow) {
    const uint32_t a = offered(c, {}, now);
    auto ack = select(c, a, now);
    return ack && ack->message.type == MessageType::ack ? ack->message.yiaddr : 0;
  }

  DhcpServer server_;
};

TEST_F(DhcpServerTest, AnOfferCarriesTheNetworksSettings) {
  Message d = from(mac(1), MessageType::discover, 0xabcd);
  d.flags = kBroadcastFlag;
  const uint8_t id[] = {1, 2, 3};
  d.client_id.assign(id, 3);
  const auto r = ask(d);
  ASSERT_TRUE(r);
  const Message& m = r->message;
  EXPECT_EQ(m.op, kBootReply);
  EXPECT_EQ(m.xid, 0xabcdu);
  EXPECT_EQ(m.yiaddr, ip("192.168.100.10"));
  EXPECT_EQ(m.server_id, server_ip_);
  EXPECT_EQ(m.lease_s, 600u);
  EXPECT_EQ(m.renewal_s, 300u);
  EXPECT_EQ(m.rebinding_s, 525u);
  EXPECT_EQ(m.subnet_mask, 0xffffff00u);
  ASSERT_EQ(m.routers.n, 1);
  EXPECT_EQ(m.routers.addr[0], ip("192.168.100.1"));
  ASSERT_EQ(m.dns.n, 1);
  EXPECT_EQ(m.client_id, d.client_id);
  EXPECT_TRUE(m.hostname.empty());
  EXPECT_EQ(r->dst_mac, kBroadcastMac);
  EXPECT_EQ(r->dst_ip, kIpv4Broadcast);
  EXPECT_EQ(server_.counters().offers, 1u);
}

// RFC 2131 4.1: without the broadcast flag the reply goes to the client's MAC and new address,
// to ciaddr when it has one, and a NAK is broadcast whatever the flag.
TEST_F(DhcpServerTest, RepliesAreAddressedAsRfc2131Says) {
  auto offer = ask(from(mac(1), MessageType::discover));
  ASSERT_TRUE(offer);
  EXPECT_EQ(offer->dst_mac, mac(1));
  EXPECT_EQ(offer->dst_ip, ip("192.168.100.10"));
  Message renew = from(mac(1), MessageType::request);
  renew.ciaddr = ip("192.168.100.10");
  auto ack = ask(renew);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->message.type, MessageType::ack);
  EXPECT_EQ(ack->message.ciaddr, ip("192.168.100.10"));
  EXPECT_EQ(ack->dst_ip, ip("192.168.100.10"));
  EXPECT_EQ(ack->dst_mac, mac(1));
  auto nak = select(mac(2), ip("192.168.100.10"));
  ASSERT_TRUE(nak);
  EXPECT_EQ(nak->message.type, MessageType::nak);
  EXPECT_EQ(nak->message.yiaddr, 0u);
  EXPECT_FALSE(nak->message.lease_s);
  EXPECT_EQ(nak->dst_mac, kBroadcastMac);
}

TEST_F(DhcpServerTest, AddressesAreGivenInOrderAndEachClientKeepsItsOwn) {
  EXPECT_EQ(lease(mac(1)), ip("192.168.100.10"));
  EXPECT_EQ(lease(mac(2)), ip("192.168.100.11"));
  // A client that asks again gets its address again, not the next one.
  EXPECT_EQ(offered(mac(1)), ip("192.168.100.10"));
  EXPECT_EQ(lease(mac(1)), ip("192.168.100.10"));
  // The address a new client asks for, when free, before the lowest free one.
  EXPECT_EQ(offered(mac(3), ip("192.168.100.12")), ip("192.168.100.12"));
  EXPECT_EQ(offered(mac(4), ip("192.168.100.11")), 0u) << "nothing left";
}

TEST_F(DhcpServerTest, AClientIdIsWhoTheClientIsWhateverItsMac) {
  Message d = from(mac(1), MessageType::discover);
  const uint8_t id[] = {0xff, 1, 2, 3, 4};
  d.client_id.assign(id, sizeof id);
  auto offer = ask(d);
  ASSERT_TRUE(offer);
  Message q = from(mac(1), MessageType::request);
  q.client_id = d.client_id;
  q.server_id = server_ip_;
  q.requested = offer->message.yiaddr;
  ASSERT_EQ(ask(q)->message.type, MessageType::ack);
  // The same identifier from another NIC is the same client...
  Message again = from(mac(9), MessageType::discover);
  again.client_id = d.client_id;
  EXPECT_EQ(ask(again)->message.yiaddr, offer->message.yiaddr);
  // ...and the first NIC without it is another.
  EXPECT_NE(offered(mac(1)), offer->message.yiaddr);
}

// Found by the fuzzer: one NIC leasing first without a client identifier and then with one
// is two clients, each with its own record, never a record that two lookups disagree on.
TEST_F(DhcpServerTest, AMacWithAndWithoutAnIdentifierIsTwoClientsEachWithOneRecord) {
  const uint32_t plain = lease(mac(5));
  Message d = from(mac(5), MessageType::discover);
  const uint8_t id[] = {1, 0x52, 0x54, 0, 0, 0, 5};
  d.client_id.assign(id, sizeof id);
  auto offer = ask(d);
  ASSERT_TRUE(offer);
  EXPECT_NE(offer->message.yiaddr, plain);
  const Lease* with_id = server_.leases().find(Client{mac(5), d.client_id.text()});
  const Lease* without = server_.leases().find(Client{mac(5), {}});
  ASSERT_TRUE(with_id && without);
  EXPECT_EQ(with_id->address, offer->message.yiaddr);
  EXPECT_EQ(without->address, plain);
}

TEST_F(DhcpServerTest, AReservationComesFirstAndIsNoOneElsesEvenWhenAskedFor) {
  DhcpServer s("test", options({{"host", "52:54:00:00:00:07,192.168.100.11,web"},
                                {"host", "52:54:00:00:00:08,192.168.100.50"}}));
  Reply r;
  Message d = from(mac(7), MessageType::discover);
  d.requested = ip("192.168.100.10");
  ASSERT_TRUE(s.answer(d, kNow, r));
  EXPECT_EQ(r.message.yiaddr, ip("192.168.100.11"));
  EXPECT_EQ(r.message.hostname.text(), "web");
  Message other = from(mac(1), MessageType::discover);
  other.requested = ip("192.168.100.11");
  ASSERT_TRUE(s.answer(other, kNow, r));
  EXPECT_EQ(r.message.yiaddr, ip("192.168.100.10"));
  // A reservation outside the range is handed out all the same.
  ASSERT_TRUE(s.answer(from(mac(8), MessageType::discover), kNow, r));
  EXPECT_EQ(r.message.yiaddr, ip("192.168.100.50"));
  // The reserved client may not bind another address.
  Message q = from(mac(7), MessageType::request);
  q.requested = ip("192.168.100.12");
  q.server_id = ip("192.168.100.254");
  ASSERT_TRUE(s.answer(q, kNow, r));
  EXPECT_EQ(r.message.type, MessageType::nak);
  const auto rows = s.leases().rows(kNow);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].hostname, "web");
  EXPECT_EQ(rows[1].state, "offered");
}

TEST_F(DhcpServerTest, ARequestNamingAnotherServerIsIgnoredAndFreesTheOffer) {
  lease(mac(2));
  lease(mac(3));
  const uint32_t a = offered(mac(1));
  Message q = from(mac(1), MessageType::request);
  q.server_id = ip("192.168.100.253");
  q.requested = a;
  EXPECT_FALSE(ask(q));
  EXPECT_EQ(server_.counters().ignored, 1u);
  EXPECT_EQ(offered(mac(4)), a) << "the offer was not given back";
}

TEST_F(DhcpServerTest, NakCases) {
  const uint32_t a = lease(mac(1));
  // SELECTING an address not offered to this client.
  auto r = select(mac(2), a);
  EXPECT_EQ(r->message.type, MessageType::nak);
  // INIT-REBOOT with an address of another network, or not the one it had.
  Message reboot = from(mac(1), MessageType::request);
  reboot.requested = ip("10.9.9.9");
  EXPECT_EQ(ask(reboot)->message.type, MessageType::nak);
  reboot.requested = ip("192.168.100.12");
  EXPECT_EQ(ask(reboot)->message.type, MessageType::nak);
  reboot.requested = a;
  EXPECT_EQ(ask(reboot)->message.type, MessageType::ack);
  // RENEWING an address that is someone else's, or outside the pool.
  Message renew = from(mac(2), MessageType::request);
  renew.ciaddr = a;
  EXPECT_EQ(ask(renew)->message.type, MessageType::nak);
  renew.ciaddr = ip("192.168.100.99");
  EXPECT_EQ(ask(renew)->message.type, MessageType::nak);
  EXPECT_EQ(server_.counters().naks, 5u);
  EXPECT_EQ(server_.counters().acks, 2u);
}

// INIT-REBOOT from a client this server has no record of: silence, so that a server that
// does know it can answer (4.3.2); a renewal of a free address is taken back, though, so a
// restart without a lease file loses no guest its address.
TEST_F(DhcpServerTest, UnknownClientsRebootingHearNothingButRenewalsOfFreeAddressesAreKept) {
  Message reboot = from(mac(1), MessageType::request);
  reboot.requested = ip("192.168.100.11");
  EXPECT_FALSE(ask(reboot));
  Message renew = from(mac(1), MessageType::request);
  renew.ciaddr = ip("192.168.100.11");
  auto r = ask(renew);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message.type, MessageType::ack);
  EXPECT_EQ(r->message.yiaddr, ip("192.168.100.11"));
  EXPECT_EQ(offered(mac(2)), ip("192.168.100.10"));
}

TEST_F(DhcpServerTest, ReleaseFreesTheAddressForOthersAndRemembersIt) {
  const uint32_t a = lease(mac(1));
  Message rel = from(mac(1), MessageType::release);
  rel.ciaddr = a;
  rel.server_id = server_ip_;
  EXPECT_FALSE(ask(rel));
  EXPECT_EQ(server_.counters().releases, 1u);
  EXPECT_TRUE(server_.leases().dirty());
  EXPECT_EQ(server_.leases().count(LeaseState::leased, kNow), 0u);
  // The client comes back to its old address; someone new gets a never-used one first.
  EXPECT_EQ(lease(mac(2)), ip("192.168.100.11"));
  EXPECT_EQ(lease(mac(1)), a);
  // A release of someone else's address changes nothing.
  rel.chaddr = mac(3);
  ask(rel);
  EXPECT_EQ(server_.leases().count(LeaseState::leased, kNow), 2u);
}

TEST_F(DhcpServerTest, ADeclinedAddressIsNoOnesForAWhile) {
  const uint32_t a = lease(mac(1));
  Message dec = from(mac(1), MessageType::decline);
  dec.requested = a;
  dec.server_id = server_ip_;
  EXPECT_FALSE(ask(dec));
  EXPECT_EQ(server_.counters().declines, 1u);
  EXPECT_EQ(offered(mac(1)), ip("192.168.100.11")) << "the declined address came back";
  EXPECT_EQ(offered(mac(2)), ip("192.168.100.12"));
  EXPECT_EQ(offered(mac(3)), 0u);
  const auto rows = server_.leases().rows(kNow);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].state, "declined");
  // After the hold the address is free again.
  EXPECT_EQ(offered(mac(3), {}, kNow + LeaseTable::kDeclineHoldS + 1), a);
  // A DECLINE without the address is malformed.
  dec.requested.reset();
  EXPECT_FALSE(ask(dec));
  EXPECT_EQ(server_.counters().malformed, 1u);
}

TEST_F(DhcpServerTest, InformGetsTheSettingsButNoAddressOrLease) {
  Message inf = from(mac(1), MessageType::inform);
  inf.ciaddr = ip("192.168.100.77");
  auto r = ask(inf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message.type, MessageType::ack);
  EXPECT_EQ(r->message.yiaddr, 0u);
  EXPECT_FALSE(r->message.lease_s);
  EXPECT_FALSE(r->message.renewal_s);
  EXPECT_EQ(r->message.subnet_mask, 0xffffff00u);
  EXPECT_EQ(r->message.routers.n, 1);
  EXPECT_EQ(r->dst_ip, ip("192.168.100.77"));
  EXPECT_EQ(server_.counters().informs, 1u);
  EXPECT_EQ(server_.leases().records().size(), 0u);
}

TEST_F(DhcpServerTest, OffersAndLeasesExpire) {
  const uint32_t a = offered(mac(1));
  // An offer not taken is held only briefly.
  EXPECT_EQ(offered(mac(2), {}, kNow + LeaseTable::kOfferHoldS + 1), ip("192.168.100.11"));
  EXPECT_EQ(offered(mac(3), a, kNow + LeaseTable::kOfferHoldS + 1), a);
  const uint32_t b = lease(mac(4), kNow + 100);
  EXPECT_NE(b, 0u);
  EXPECT_EQ(server_.leases().count(LeaseState::leased, kNow + 100), 1u);
  EXPECT_EQ(server_.leases().count(LeaseState::leased, kNow + 100 + 600), 0u);
  server_.leases().saved();
  server_.leases().expire(kNow + 100 + 600);
  EXPECT_TRUE(server_.leases().dirty()) << "an expired lease is a change of the file";
  Message renew = from(mac(4), MessageType::request);
  renew.ciaddr = b;
  EXPECT_EQ(ask(renew, kNow + 1000)->message.type, MessageType::ack) << "late, but still free";
}

TEST_F(DhcpServerTest, AFullPoolOffersNothingAndCountsIt) {
  for (int i = 1; i <= 3; ++i)
    ASSERT_NE(lease(mac(i)), 0u);
  EXPECT_FALSE(ask(from(mac(4), MessageType::discover)));
  EXPECT_FALSE(ask(from(mac(5), MessageType::discover)));
  EXPECT_EQ(server_.counters().pool_full, 2u);
  // A leased client asking again still gets its own.
  EXPECT_EQ(offered(mac(2)), ip("192.168.100.11"));
}

TEST_F(DhcpServerTest, WhatIsNotAClientsMessageIsIgnoredOrMalformed) {
  Message reply = from(mac(1), MessageType::offer);
  reply.op = kBootReply;
  EXPECT_FALSE(ask(reply));
  Message relayed = from(mac(1), MessageType::discover);
  relayed.giaddr = ip("10.0.0.1");
  EXPECT_FALSE(ask(relayed));
  EXPECT_FALSE(ask(from(mac(1), MessageType::ack)));
  EXPECT_EQ(server_.counters().ignored, 3u);
  EXPECT_FALSE(ask(from(MacAddr{}, MessageType::discover)));
  EXPECT_FALSE(ask(from(MacAddr(1), MessageType::discover)));  // a multicast chaddr
  EXPECT_FALSE(ask(from(mac(1), MessageType::request)));       // no address at all
  EXPECT_FALSE(ask(from(mac(1), MessageType::inform)));
  EXPECT_EQ(server_.counters().malformed, 4u);
  EXPECT_EQ(server_.counters().offers, 0u);
}

// The table's storage is sized at the start: a pool used and reused many times over never
// needs more records than it has addresses.
TEST_F(DhcpServerTest, ManyClientsComingAndGoingStayWithinTheTablesStorage) {
  const Lease* first = nullptr;
  for (int i = 0; i < 200; ++i) {
    const MacAddr c = mac(i % 50 + 1);
    const int64_t t = kNow + i * 10;
    const uint32_t a = lease(c, t);
    if (a == 0) continue;
    Message rel = from(c, MessageType::release);
    rel.ciaddr = a;
    ask(rel, t);
    if (first == nullptr) first = server_.leases().records().data();
    EXPECT_EQ(server_.leases().records().data(), first) << "the records moved: they grew";
    EXPECT_LE(server_.leases().records().size(), 3u);
  }
}

}  // namespace
}  // namespace vswitch::plugs::dhcp
