// Frames longer than one mbuf travel as chains of them. Flooded to several ports, one chain is
// shared by every copy, so each port that frees its copy must free only its own share. Here every
// kind of socket port sends jumbo frames to every other kind, and each frame must arrive whole.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>

#include "../support/process.hpp"
#include "../support/raw_peer.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

// One endpoint plugged into the switch, whatever its transport.
class Peer {
 public:
  virtual ~Peer() = default;
  virtual bool send(const Bytes& frame) = 0;
  virtual std::optional<Bytes> recv() = 0;
};

class VdePeer final : public Peer {
 public:
  explicit VdePeer(const std::string& dir) : c_(dir) {}
  bool send(const Bytes& f) override { return c_.send(f); }
  std::optional<Bytes> recv() override { return c_.recv(3000); }

 private:
  VdeClient c_;
};

class StreamPeer final : public Peer {
 public:
  explicit StreamPeer(uint16_t port) : s_(connect_to(AF_INET, inet_addr(port))) {}
  bool send(const Bytes& f) override { return send_all(s_.fd(), record(f)); }
  std::optional<Bytes> recv() override { return read_record(s_.fd()); }

 private:
  Sock s_;
};

// The switch's UDP port sends to `own` and takes what comes from it at `switch_side`.
class UdpPeer final : public Peer {
 public:
  UdpPeer(uint16_t own, uint16_t switch_side) : s_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    const sockaddr_in self = inet_addr(own);
    const sockaddr_in peer = inet_addr(switch_side);
    bind(s_.fd(), reinterpret_cast<const sockaddr*>(&self), sizeof self);
    connect(s_.fd(), reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
    const int buffer = 4 << 20;
    setsockopt(s_.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  }
  bool send(const Bytes& f) override {
    return ::send(s_.fd(), f.data(), f.size(), 0) == static_cast<ssize_t>(f.size());
  }
  std::optional<Bytes> recv() override { return recv_datagram(s_.fd()); }

 private:
  Sock s_;
};

TEST(ChainedFrames, FloodedJumboFramesReachEveryPortOfEveryKindWhole) {
  TempDir tmp;
  const std::string vde = tmp.file("sw");
  const uint16_t tcp = free_tcp_port();
  std::vector<std::string> args = {"--vde", vde, "--port",
                                   "socket,name=tcp,listen=127.0.0.1:" + std::to_string(tcp)};
  std::vector<std::pair<uint16_t, uint16_t>> udp;  // the test's side, the switch's side
  for (int i = 0; i < 2; ++i) {
    udp.emplace_back(free_udp_port(), free_udp_port());
    args.insert(args.end(),
                {"--port", "socket,name=udp" + std::to_string(i) +
                               ",udp=127.0.0.1:" + std::to_string(udp[i].first) +
                               ",localaddr=127.0.0.1:" + std::to_string(udp[i].second)});
  }
  Vswitchd vs(args);
  ASSERT_TRUE(vs.ready()) << vs.log();
  std::vector<std::unique_ptr<Peer>> peers;
  for (int i = 0; i < 2; ++i)
    peers.push_back(std::make_unique<VdePeer>(vde));
  for (int i = 0; i < 2; ++i)
    peers.push_back(std::make_unique<StreamPeer>(tcp));
  for (auto [own, theirs] : udp)
    peers.push_back(std::make_unique<UdpPeer>(own, theirs));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 6; }, 5s));

  // Lengths across one, two and five mbufs of 2 KiB, broadcast and unknown unicast alike.
  const size_t payloads[] = {2100, 4000, 9000, 9216};
  for (size_t from = 0; from < peers.size(); ++from) {
    for (int k = 0; k < 40; ++k) {
      const MacAddr dst = k % 2 ? kBroadcast : mac(1000 + static_cast<uint64_t>(k));
      const Bytes f = frame(dst, mac(from + 1), payloads[k % 4], static_cast<uint8_t>(k));
      ASSERT_TRUE(peers[from]->send(f));
      // One frame at a time: every receiver has it before the next, so no buffer overflows.
      for (size_t to = 0; to < peers.size(); ++to) {
        if (to == from) continue;
        const auto got = peers[to]->recv();
        ASSERT_TRUE(got) << "peer " << to << " got nothing from " << from << ", frame " << k;
        ASSERT_EQ(*got, f) << "peer " << to << " from " << from << ", frame " << k;
      }
    }
  }
  EXPECT_TRUE(vs.running());
  EXPECT_EQ(vs.stop(), 0) << vs.log();
}

}  // namespace
}  // namespace vswitch::test
