// The DHCP server as a port, frame by frame with real mbufs: what it answers and how the engine
// hears of it, what it leaves alone, a ring of answers that fills, and not one mbuf lost.
#include "dhcp/dhcp_port.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>

#include "../support/eal.hpp"
#include "../support/frames.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::dhcp {
namespace {

using test::Bytes;

class DhcpPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = test::test_pool();
    ASSERT_NE(pool_, nullptr) << "EAL did not start";
    available_ = rte_mempool_avail_count(pool_);
    DhcpOptions o;
    o.set("range", "10.0.0.1-10.0.0.250");
    o.set("leases", "none");
    o.finish();
    o.pool = pool_;
    PortSettings s;
    s.name = "lab-dhcp";
    s.role = Role::service;
    s.vlan.mode = VlanMode::access;
    port_ = DhcpPort::open(s, std::move(o));
  }
  void TearDown() override {
    port_.reset();
    EXPECT_EQ(rte_mempool_avail_count(pool_), available_) << "mbufs leaked";
  }

  // The frame in one mbuf, or split over two at `split`.
  rte_mbuf* mbuf(const Bytes& f, size_t split = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    const size_t first = split ? split : f.size();
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(first)), f.data(), first);
    if (split) {
      rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
      std::memcpy(rte_pktmbuf_append(tail, static_cast<uint16_t>(f.size() - split)),
                  f.data() + split, f.size() - split);
      EXPECT_EQ(rte_pktmbuf_chain(m, tail), 0);
    }
    return m;
  }
  void give(std::vector<rte_mbuf*> burst) {
    EXPECT_EQ(port_->transmit(burst.data(), static_cast<uint16_t>(burst.size())), burst.size());
  }
  bool readable() {
    pollfd p{port_->wait_fd(), POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }
  std::vector<Bytes> answers() {
    std::vector<Bytes> out;
    rte_mbuf* burst[kBurst];
    while (uint16_t n = port_->receive(burst, kBurst)) {
      for (uint16_t i = 0; i < n; ++i) {
        Bytes f(burst[i]->pkt_len);
        std::memcpy(f.data(), rte_pktmbuf_read(burst[i], 0, f.size(), f.data()), f.size());
        out.push_back(std::move(f));
        rte_pktmbuf_free(burst[i]);
      }
    }
    return out;
  }
  uint64_t counter(const std::string& key) {
    for (auto& [k, v] : port_->details())
      if (k == key) return std::stoull(v);
    return ~uint64_t{0};
  }

  rte_mempool* pool_ = nullptr;
  unsigned available_ = 0;
  std::unique_ptr<DhcpPort> port_;
};

test::DhcpFrame discover(int n) {
  test::DhcpFrame d;
  d.client = test::mac(static_cast<uint64_t>(n));
  return d;
}

TEST_F(DhcpPortTest, AnswersADiscoverEvenInAChainedMbufAndWakesTheEngine) {
  EXPECT_FALSE(readable());
  give({mbuf(test::dhcp_frame(discover(1)), 100)});
  EXPECT_TRUE(readable());
  const auto got = answers();
  ASSERT_EQ(got.size(), 1u);
  const auto r = test::dhcp_reply(got[0], test::mac(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, test::kDhcpOffer);
  EXPECT_EQ(r->your_address, test::ipv4("10.0.0.1"));
  EXPECT_EQ(r->server, test::ipv4("10.0.0.254"));
  EXPECT_EQ(MacAddr::from_bytes(got[0].data() + 6), port_->mac());
  EXPECT_FALSE(readable()) << "the wake-up stays after the ring is empty";
}

TEST_F(DhcpPortTest, LeavesWhatIsNotForIt) {
  test::DhcpFrame to_other = discover(1);
  to_other.dst_mac = test::mac(99);  // flooded unicast for another host
  test::DhcpFrame other_ip = discover(2);
  other_ip.dst_ip = test::ipv4("10.0.0.77");
  give({mbuf(test::frame(test::kBroadcast, test::mac(3))), mbuf(test::dhcp_frame(to_other)),
        mbuf(test::dhcp_frame(other_ip)), mbuf(Bytes(10, 0xff)),
        mbuf(test::arp_request(test::mac(4), {10, 0, 0, 9}, {10, 0, 0, 1}))});
  EXPECT_TRUE(answers().empty());
  EXPECT_EQ(counter("ignored"), 5u);
  EXPECT_EQ(port_->counters().dropped_total(), 0u) << "what is not its business is no drop";
  give({mbuf(test::arp_request(test::mac(4), {10, 0, 0, 9}, {10, 0, 0, 254}))});
  const auto arp = answers();
  ASSERT_EQ(arp.size(), 1u);
  EXPECT_TRUE(test::is_arp_reply(arp[0], {10, 0, 0, 254}, {10, 0, 0, 9}));
}

TEST_F(DhcpPortTest, MalformedMessagesAreCounted) {
  Bytes f = test::dhcp_frame(discover(1));
  f[14 + 28 + 236] ^= 0xff;  // the cookie
  give({mbuf(f)});
  EXPECT_TRUE(answers().empty());
  EXPECT_EQ(counter("malformed"), 1u);
}

// Two bursts' answers wait in the ring; what comes after them while no one drains it is dropped
// and counted, and the ring empties as it should.
TEST_F(DhcpPortTest, AFullRingDropsAndCountsTheRest) {
  int n = 1;
  for (int round = 0; round < 3; ++round) {
    std::vector<rte_mbuf*> burst;
    for (int i = 0; i < kTxBurstMax; ++i)
      burst.push_back(mbuf(test::dhcp_frame(discover(n++))));
    give(burst);
  }
  EXPECT_EQ(port_->counters().dropped(DropReason::no_buffer), kTxBurstMax);
  EXPECT_EQ(answers().size(), 2u * kTxBurstMax);
  EXPECT_EQ(counter("offers"), 3u * kTxBurstMax);
}

TEST_F(DhcpPortTest, KeepsItsRoleAndUntaggedFrames) {
  PortSettings s = port_->settings();
  EXPECT_FALSE(port_->refuses(s));
  s.role = Role::vm;
  EXPECT_TRUE(port_->refuses(s));
  s.role = Role::service;
  s.vlan.mode = VlanMode::trunk;
  EXPECT_TRUE(port_->refuses(s));
  DhcpOptions o;
  o.set("range", "10.0.0.1-10.0.0.2");
  o.set("leases", "none");
  o.finish();
  PortSettings uplink;
  uplink.name = "x";
  uplink.role = Role::uplink;
  uplink.vlan.mode = VlanMode::access;
  EXPECT_THROW(DhcpPort::open(uplink, o), ConfigError);
}

TEST_F(DhcpPortTest, ItsMacIsItsNamesAndLocallyAdministered) {
  uint8_t b[6];
  port_->mac().to_bytes(b);
  EXPECT_EQ(b[0], 0x02);
  DhcpOptions o;
  o.set("range", "10.0.0.1-10.0.0.2");
  o.set("leases", "none");
  o.finish();
  o.pool = pool_;
  const auto again = DhcpPort::open(port_->settings(), o);
  EXPECT_EQ(again->mac(), port_->mac());
  PortSettings other = port_->settings();
  other.name = "lab2-dhcp";
  EXPECT_NE(DhcpPort::open(other, o)->mac(), port_->mac());
}

}  // namespace
}  // namespace vswitch::plugs::dhcp
