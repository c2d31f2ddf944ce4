// Batched datagram sends out of mbufs, over a real Unix datagram socket pair: every frame is
// sent or counted, and the sent ones are always the first of the burst.
#include "common/dgram_io.hpp"

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "../support/eal.hpp"
#include "../support/frames.hpp"

namespace vswitch::plugs {
namespace {

using test::Bytes;

class SendDatagrams : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = test::test_pool();
    ASSERT_NE(pool_, nullptr) << "EAL did not start";
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_), 0);
  }
  void TearDown() override {
    rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(held_.size()));
    close(fds_[0]);
    close(fds_[1]);
  }

  // The frame in pieces of at most `piece` bytes, one mbuf each.
  rte_mbuf* chain(const Bytes& f, size_t piece) {
    rte_mbuf* head = nullptr;
    rte_mbuf* last = nullptr;
    for (size_t off = 0; off < f.size(); off += piece) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      const size_t n = std::min(piece, f.size() - off);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), f.data() + off, n);
      if (head == nullptr) {
        head = m;
      } else {
        last->next = m;
        head->nb_segs++;
        head->pkt_len += static_cast<uint32_t>(n);
      }
      last = m;
    }
    held_.push_back(head);
    return head;
  }

  std::optional<Bytes> receive() {
    Bytes b(70000);
    const ssize_t n = recv(fds_[1], b.data(), b.size(), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    b.resize(static_cast<size_t>(n));
    return b;
  }

  rte_mempool* pool_ = nullptr;
  int fds_[2] = {-1, -1};
  std::vector<rte_mbuf*> held_;
};

TEST_F(SendDatagrams, AFrameInMorePiecesThanOneCallTakesIsSentInItsPlace) {
  const Bytes a = test::frame(test::kBroadcast, test::mac(1), 100, 1);
  const Bytes b = test::frame(test::kBroadcast, test::mac(1), 1400, 2);
  const Bytes c = test::frame(test::kBroadcast, test::mac(1), 200, 3);
  rte_mbuf* burst[] = {chain(a, 2048), chain(b, 64), chain(c, 50), chain(a, 2048)};
  ASSERT_GT(burst[1]->nb_segs, 8);
  const SendResult r = send_datagrams(fds_[0], burst, 4);
  EXPECT_EQ(r.sent, 4);
  EXPECT_EQ(r.full + r.failed, 0);
  EXPECT_EQ(receive(), a);
  EXPECT_EQ(receive(), b);
  EXPECT_EQ(receive(), c);
  EXPECT_EQ(receive(), a);
  EXPECT_EQ(receive(), std::nullopt);
}

TEST_F(SendDatagrams, ABurstLongerThanOneSystemCallIsSentWhole) {
  constexpr uint16_t kFrames = kTxBurstMax * 2 + 5;
  rte_mbuf* burst[kFrames];
  for (uint16_t i = 0; i < kFrames; ++i)
    burst[i] =
        chain(test::frame(test::kBroadcast, test::mac(1), 46, static_cast<uint8_t>(i)), 2048);
  const SendResult r = send_datagrams(fds_[0], burst, kFrames);
  EXPECT_EQ(r.sent, kFrames);
  for (uint16_t i = 0; i < kFrames; ++i) {
    auto f = receive();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ((*f)[14], static_cast<uint8_t>(i));
  }
}

TEST_F(SendDatagrams, WhenTheReceiverIsFullTheSentFramesAreTheFirstAndTheRestCounted) {
  const int small = 4096;
  ASSERT_EQ(setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  constexpr uint16_t kFrames = kTxBurstMax;
  rte_mbuf* burst[kFrames];
  for (uint16_t i = 0; i < kFrames; ++i) {
    burst[i] =
        chain(test::frame(test::kBroadcast, test::mac(1), 1000, static_cast<uint8_t>(i)), 300);
  }
  const SendResult r = send_datagrams(fds_[0], burst, kFrames);
  ASSERT_GT(r.sent, 0);
  ASSERT_LT(r.sent, kFrames);
  EXPECT_EQ(r.sent + r.full + r.failed, kFrames);
  EXPECT_EQ(r.full, kFrames - r.sent);
  for (uint16_t i = 0; i < r.sent; ++i) {
    auto f = receive();
    ASSERT_TRUE(f) << i;
    EXPECT_EQ((*f)[14], static_cast<uint8_t>(i));
  }
  EXPECT_EQ(receive(), std::nullopt);
}

}  // namespace
}  // namespace vswitch::plugs
