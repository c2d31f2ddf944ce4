// QEMU's socket transports against the real vswitchd, driven by raw sockets that do exactly
// what QEMU 7.2 does on the wire: stream records with a 4-byte
// big-endian length, one frame per datagram, and every way a peer can get that wrong.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "../support/netns.hpp"
#include "../support/process.hpp"
#include "../support/raw_peer.hpp"
#include "frames.hpp"

namespace vswitch::test {
namespace {

class QemuSockets : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string unix_server() const { return dir_.file("stream.sock"); }
};

TEST_F(QemuSockets, StreamServerJoinsUnixAndTcpGuestsInOneSegment) {
  const uint16_t tcp = free_tcp_port();
  Vswitchd vs({"--port", "stream,name=us,server=on,addr.type=unix,addr.path=" + unix_server(),
               "--port", "socket,name=tcp,listen=127.0.0.1:" + std::to_string(tcp)});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  Sock b = connect_to(AF_INET, inet_addr(tcp));
  ASSERT_GE(a.fd(), 0);
  ASSERT_GE(b.fd(), 0);
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const Bytes hello = frame(kBroadcast, mac(1), 46, 1);
  ASSERT_TRUE(send_all(a.fd(), record(hello)));
  EXPECT_EQ(read_record(b.fd()), hello);
  const Bytes reply = frame(mac(1), mac(2), 100, 2);
  ASSERT_TRUE(send_all(b.fd(), record(reply)));
  EXPECT_EQ(read_record(a.fd()), reply);
  // Each connection is a port of its own, named after its listener.
  EXPECT_GE(vs.port_counter("us:1", "in_packets"), 1);
  EXPECT_GE(vs.port_counter("tcp:1", "in_packets"), 1);
}

TEST_F(QemuSockets, RecordsSplitAcrossWritesAndManyInOneWriteArriveWhole) {
  Vswitchd vs({"--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  Sock b = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const Bytes first = frame(kBroadcast, mac(1), 46, 0);
  const Bytes r = record(first);
  // The length word itself cut in two, as QEMU may write it.
  ASSERT_TRUE(send_all(a.fd(), Bytes(r.begin(), r.begin() + 2)));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(send_all(a.fd(), Bytes(r.begin() + 2, r.begin() + 30)));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(send_all(a.fd(), Bytes(r.begin() + 30, r.end())));
  EXPECT_EQ(read_record(b.fd()), first);
  Bytes many;
  for (int i = 1; i <= 100; ++i) {
    const Bytes rec =
        record(frame(kBroadcast, mac(1), 46 + static_cast<size_t>(i), static_cast<uint8_t>(i)));
    many.insert(many.end(), rec.begin(), rec.end());
  }
  ASSERT_TRUE(send_all(a.fd(), many));
  for (int i = 1; i <= 100; ++i) {
    auto f = read_record(b.fd());
    ASSERT_TRUE(f) << "frame " << i;
    EXPECT_EQ(f->size(), 14u + 46 + static_cast<size_t>(i));
    EXPECT_EQ((*f)[14], i);
  }
}

TEST_F(QemuSockets, ZeroLengthRecordClosesTheConnectionWithAReason) {
  Vswitchd vs({"--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  Sock b = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  ASSERT_TRUE(send_all(a.fd(), be32(0)));
  EXPECT_TRUE(closed_by_peer(a.fd()));
  EXPECT_NE(vs.log().find("zero-length record"), std::string::npos) << vs.log();
  EXPECT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 1; }, 5s));
  Value show = vs.ctl({"show"});
  ASSERT_TRUE(show.at("listeners") && !show.at("listeners")->items().empty());
  const Value* errors = show.at("listeners")->items()[0].at("stats.protocol_errors");
  ASSERT_TRUE(errors);
  EXPECT_EQ(errors->as_string(), "1");
  // Nothing of it reached the other guest: QEMU stalls a path for good on an empty frame.
  EXPECT_FALSE(read_record(b.fd(), 300));
}

TEST_F(QemuSockets, LengthOverQemusMaximumClosesTheConnection) {
  Vswitchd vs({"--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(send_all(a.fd(), be32(69633)));
  EXPECT_TRUE(closed_by_peer(a.fd()));
  EXPECT_NE(vs.log().find("over QEMU's maximum"), std::string::npos) << vs.log();
}

TEST_F(QemuSockets, FrameOverTheMtuButWithinQemusLimitIsSkippedAndCounted) {
  Vswitchd vs({"--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  Sock b = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const Bytes huge = frame(kBroadcast, mac(1), 20000, 1);
  const Bytes after = frame(kBroadcast, mac(1), 46, 2);
  Bytes both = record(huge);
  const Bytes r2 = record(after);
  both.insert(both.end(), r2.begin(), r2.end());
  ASSERT_TRUE(send_all(a.fd(), both));
  EXPECT_EQ(read_record(b.fd()), after);
  EXPECT_EQ(vs.port_counter("stream:1", "drops.oversize"), 1);
}

TEST_F(QemuSockets, FrameCutOffByACloseIsCounted) {
  Vswitchd vs({"--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  Bytes partial = be32(100);
  partial.resize(4 + 40, 0xab);
  ASSERT_TRUE(send_all(a.fd(), partial));
  a.reset();
  EXPECT_TRUE(wait_until(
      [&] { return vs.log().find("in the middle of a frame") != std::string::npos; }, 5s))
      << vs.log();
  EXPECT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().empty(); }, 5s));
}

TEST_F(QemuSockets, ConnectModeWaitsForTheGuestAndReconnectsWhenItComesBack) {
  const std::string path = dir_.file("guest.sock");
  Vswitchd vs({"--port", "stream,name=up,addr.type=unix,addr.path=" + path + ",reconnect=50",
               "--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock other = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  for (int round = 0; round < 2; ++round) {
    // A guest with -netdev stream,server=on appears (again) at the path.
    unlink(path.c_str());
    Sock listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a = unix_addr(path);
    ASSERT_EQ(bind(listener.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(listener.fd(), 1), 0);
    pollfd p{listener.fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 10000), 1) << "vswitchd did not connect (round " << round << ")";
    Sock guest(accept(listener.fd(), nullptr, nullptr));
    const Bytes f = frame(kBroadcast, mac(7), 46, static_cast<uint8_t>(round));
    ASSERT_TRUE(send_all(guest.fd(), record(f)));
    EXPECT_EQ(read_record(other.fd()), f) << "round " << round;
    const Bytes back = frame(mac(7), mac(8), 46, 9);
    ASSERT_TRUE(send_all(other.fd(), record(back)));
    EXPECT_EQ(read_record(guest.fd()), back) << "round " << round;
    // The guest goes away (QEMU quits); the switch forgets what it learned there.
  }
  Value port = vs.ctl({"port", "show", "up"});
  EXPECT_EQ(port.at("details.connections")->as_string(), "2");
}

TEST_F(QemuSockets, UdpPortTakesFramesOnlyFromItsPeer) {
  const uint16_t ours = free_tcp_port(), theirs = free_tcp_port();
  Vswitchd vs({"--port",
               "socket,name=udp,udp=127.0.0.1:" + std::to_string(theirs) +
                   ",localaddr=127.0.0.1:" + std::to_string(ours),
               "--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock other = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  Sock guest(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in g = inet_addr(theirs), v = inet_addr(ours);
  ASSERT_EQ(bind(guest.fd(), reinterpret_cast<sockaddr*>(&g), sizeof g), 0);
  Sock stranger(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const Bytes from_stranger = frame(kBroadcast, mac(66), 46, 6);
  sendto(stranger.fd(), from_stranger.data(), from_stranger.size(), 0,
         reinterpret_cast<sockaddr*>(&v), sizeof v);
  const Bytes from_guest = frame(kBroadcast, mac(3), 46, 3);
  sendto(guest.fd(), from_guest.data(), from_guest.size(), 0, reinterpret_cast<sockaddr*>(&v),
         sizeof v);
  EXPECT_EQ(read_record(other.fd()), from_guest);
  EXPECT_TRUE(wait_until([&] { return vs.port_counter("udp", "drops.rx_error") == 1; }, 3s));
  const Bytes back = frame(mac(3), mac(4), 46, 4);
  ASSERT_TRUE(send_all(other.fd(), record(back)));
  EXPECT_EQ(recv_datagram(guest.fd()), back);
}

TEST_F(QemuSockets, UnixDatagramPeerThatDoesNotReadCostsDropsNotAStall) {
  // QEMU's -netdev dgram binds its local path and sends to ours; its queue holds about 10.
  const std::string qemu_local = dir_.file("qemu.dgram"), ours = dir_.file("vs.dgram");
  Vswitchd vs({"--port",
               "dgram,name=dg,local.type=unix,local.path=" + ours +
                   ",remote.type=unix,remote.path=" + qemu_local,
               "--port", "stream,server=on,addr.type=unix,addr.path=" + unix_server()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock guest(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un g = unix_addr(qemu_local);
  ASSERT_EQ(bind(guest.fd(), reinterpret_cast<sockaddr*>(&g), sizeof g), 0);
  Sock a = connect_to(AF_UNIX, unix_addr(unix_server()));
  Sock b = connect_to(AF_UNIX, unix_addr(unix_server()));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 3; }, 5s));
  // 300 broadcasts: the datagram peer overflows, the stream peers get every one.
  Bytes burst;
  for (int i = 0; i < 300; ++i) {
    const Bytes r = record(frame(kBroadcast, mac(1), 46, static_cast<uint8_t>(i)));
    burst.insert(burst.end(), r.begin(), r.end());
  }
  ASSERT_TRUE(send_all(a.fd(), burst));
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE(read_record(b.fd())) << "frame " << i;
  EXPECT_TRUE(wait_until([&] { return vs.port_counter("dg", "drops.tx_full") > 0; }, 3s));
  EXPECT_EQ(vs.port_counter("dg", "out_packets") + vs.port_counter("dg", "drops.tx_full"), 300);
  // And the peer gets what fit: frames, whole.
  auto first = recv_datagram(guest.fd());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 60u);
}

// Two switches sharing one multicast group, as QEMU guests on -netdev socket,mcast= do, in a
// network namespace of the test's own whose loopback carries multicast.
TEST_F(QemuSockets, MulticastGroupJoinsSwitchesWithoutEchoes) {
  if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2";
  Netns ns(unique_ifname("vsm"));
  ASSERT_EQ(ns.exec({"ip", "link", "set", "lo", "up", "multicast", "on"}).status, 0);
  ASSERT_EQ(ns.exec({"ip", "route", "add", "224.0.0.0/4", "dev", "lo"}).status, 0);
  const std::string group = "socket,name=mc,mcast=230.0.0.1:17001,localaddr=127.0.0.1";
  TempDir d1, d2;
  Vswitchd s1(
      {"--port", group, "--port", "stream,server=on,addr.type=unix,addr.path=" + d1.file("s")},
      in_netns(ns.name()));
  Vswitchd s2(
      {"--port", group, "--port", "stream,server=on,addr.type=unix,addr.path=" + d2.file("s")},
      in_netns(ns.name()));
  ASSERT_TRUE(s1.ready()) << s1.log();
  ASSERT_TRUE(s2.ready()) << s2.log();
  Sock a = connect_to(AF_UNIX, unix_addr(d1.file("s")));
  Sock b = connect_to(AF_UNIX, unix_addr(d2.file("s")));
  ASSERT_TRUE(wait_until([&] { return s2.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const Bytes hello = frame(kBroadcast, mac(1), 46, 1);
  ASSERT_TRUE(send_all(a.fd(), record(hello)));
  EXPECT_EQ(read_record(b.fd()), hello);
  const Bytes reply = frame(mac(1), mac(2), 46, 2);
  ASSERT_TRUE(send_all(b.fd(), record(reply)));
  EXPECT_EQ(read_record(a.fd()), reply);
  // Our own frames come back on the group's loop; they must not teach the switch that the
  // sender sits behind the multicast port.
  Value fdb = s1.ctl({"fdb", "show", "default", "mac=02:00:00:00:00:01"});
  ASSERT_EQ(fdb.items().size(), 1u);
  EXPECT_EQ(fdb.items()[0].get("port")->as_string(), "stream:1");
  EXPECT_EQ(s1.ctl({"segment", "show", "default"}).at("fdb.moved")->as_int(), 0);
  EXPECT_FALSE(read_record(a.fd(), 300)) << "a frame came back to its sender";
}

}  // namespace
}  // namespace vswitch::test
