// Bridged networking through the uplink port: vswitchd in namespace A with a VDE directory and
// one end of a veth pair as its uplink, the other end in a "LAN" namespace with an address.
// Guests (VDE clients) must appear on the LAN with their own MACs, hear its broadcasts, carry
// 802.1Q tags and jumbo frames across it, and survive the link going down or away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "../support/netns.hpp"
#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

const Ipv4 kLan = {10, 77, 0, 1};
const Ipv4 kGuest = {10, 77, 0, 10};
constexpr uint16_t kLocalType = 0x88b5;  // IEEE local experimental: no stack answers it

uint16_t be16(const Bytes& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

// An ARP request from the LAN for `target`, as the guest receives it.
bool is_arp_request_for(const Bytes& f, Ipv4 target) {
  return f.size() >= 42 && be16(f, 12) == 0x0806 && be16(f, 20) == 1 &&
         std::memcmp(f.data() + 38, target.data(), 4) == 0;
}

uint16_t inet_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// An IPv4 ICMP echo request of `payload` bytes, counting up, with both checksums right.
Bytes icmp_echo(const uint8_t* dst_mac, MacAddr src, Ipv4 from, Ipv4 to, size_t payload) {
  Bytes f(14 + 20 + 8 + payload);
  std::memcpy(f.data(), dst_mac, 6);
  src.to_bytes(f.data() + 6);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  const auto total = static_cast<uint16_t>(20 + 8 + payload);
  const uint8_t head[] = {0x45,
                          0,
                          static_cast<uint8_t>(total >> 8),
                          static_cast<uint8_t>(total),
                          0,
                          1,
                          0x40,  // id 1, don't fragment
                          0,
                          64,
                          1};  // ttl, ICMP
  std::memcpy(ip, head, sizeof head);
  std::memcpy(ip + 12, from.data(), 4);
  std::memcpy(ip + 16, to.data(), 4);
  const uint16_t ipsum = inet_checksum(ip, 20);
  ip[10] = static_cast<uint8_t>(ipsum >> 8);
  ip[11] = static_cast<uint8_t>(ipsum);
  uint8_t* icmp = ip + 20;
  icmp[0] = 8;  // echo request
  icmp[5] = 1;  // identifier 1
  icmp[7] = 1;  // sequence 1
  for (size_t i = 0; i < payload; ++i)
    icmp[8 + i] = static_cast<uint8_t>(i);
  const uint16_t sum = inet_checksum(icmp, 8 + payload);
  icmp[2] = static_cast<uint8_t>(sum >> 8);
  icmp[3] = static_cast<uint8_t>(sum);
  return f;
}

bool is_echo_reply(const Bytes& f) {
  return f.size() >= 42 && be16(f, 12) == 0x0800 && f[23] == 1 && f[34] == 0;
}

// A raw socket on an interface of another namespace, for frames exactly as on the wire: the
// tag the kernel strips into the metadata is put back, our own sends are not read back.
class RawLink {
 public:
  RawLink(Netns& ns, const std::string& ifname) {
    std::thread([&] {
      if (!enter_netns(ns.name(), false)) return;
      fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
      sockaddr_ll at{};
      at.sll_family = AF_PACKET;
      at.sll_protocol = htons(ETH_P_ALL);
      at.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
      const int on = 1;
      if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 ||
          setsockopt(fd_, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) != 0 ||
          setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on) != 0) {
        close_fd();
      }
    }).join();
  }
  ~RawLink() { close_fd(); }
  RawLink(const RawLink&) = delete;
  RawLink& operator=(const RawLink&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool send(const Bytes& f) {
    return ::send(fd_, f.data(), f.size(), 0) == static_cast<ssize_t>(f.size());
  }
  std::optional<Bytes> recv(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
    Bytes f(10000);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    iovec iov{f.data(), f.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd_, &msg, 0);
    if (n < 12) return std::nullopt;
    f.resize(static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux;
      std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) == 0) continue;
      const uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
      const uint8_t tag[4] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid),
                              static_cast<uint8_t>(aux.tp_vlan_tci >> 8),
                              static_cast<uint8_t>(aux.tp_vlan_tci)};
      f.insert(f.begin() + 12, tag, tag + 4);
    }
    return f;
  }

 private:
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

class Uplink : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2";
    sw_ = std::make_unique<Netns>(unique_ifname("vsua"));
    lan_ = std::make_unique<Netns>(unique_ifname("vsub"));
    wire_ = unique_ifname("vsu");
    lan_if_ = wire_ + "l";
    ASSERT_EQ(ip({"link", "add", wire_, "type", "veth", "peer", "name", lan_if_}).status, 0);
    ASSERT_EQ(ip({"link", "set", wire_, "netns", sw_->name()}).status, 0);
    ASSERT_EQ(ip({"link", "set", lan_if_, "netns", lan_->name()}).status, 0);
    // The LAN speaks only when spoken to (no IPv6 chatter), so counters mean what they say.
    for (Netns* ns : {sw_.get(), lan_.get()})
      ns->exec({"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"});
    lan({"addr", "add", "10.77.0.1/24", "dev", lan_if_});
  }
  void TearDown() override {
    vs_.reset();
    lan_.reset();  // the veth goes with its namespaces
    sw_.reset();
  }

  RunResult lan(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/sbin/ip");
    return lan_->exec(args);
  }
  RunResult sw(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/sbin/ip");
    return sw_->exec(args);
  }
  void links_up() {
    ASSERT_EQ(sw({"link", "set", wire_, "up"}).status, 0);
    ASSERT_EQ(lan({"link", "set", lan_if_, "up"}).status, 0);
  }
  void start(const std::string& port_keys = "", bool nobody = false) {
    DaemonOptions o = nobody ? as_nobody() : DaemonOptions{};
    o.netns = sw_->name();
    o.wait_ready = !nobody;
    vs_ = std::make_unique<Vswitchd>(std::vector<std::string>{"--vde", tmp_.file("sw"), "--port",
                                                              "uplink,ifname=" + wire_ + port_keys},
                                     o);
  }
  // The guest asks for `target`; the reply's frame, if one comes.
  std::optional<Bytes> arp(VdeClient& c, MacAddr from, Ipv4 sender, Ipv4 target, uint16_t vid = 0) {
    Bytes req = arp_request(from, sender, target);
    if (vid != 0) req = tagged(req, vid);
    if (!c.send(req)) return std::nullopt;
    for (int i = 0; i < 20; ++i) {
      auto f = c.recv(2000);
      if (!f) return std::nullopt;
      const Bytes plain = vid != 0 && f->size() > 16 && be16(*f, 12) == 0x8100 ? untagged(*f) : *f;
      if (is_arp_reply(plain, target, sender)) return f;
    }
    return std::nullopt;
  }
  std::string detail(const std::string& key) {
    const Value v = vs_->ctl({"port", "show", wire_});
    const Value* d = v.at("details." + key);
    return d ? d->as_string() : "";
  }

  std::unique_ptr<Netns> sw_, lan_;
  std::string wire_, lan_if_;
  TempDir tmp_;
  std::unique_ptr<Vswitchd> vs_;
};

TEST_F(Uplink, AGuestReachesTheLanWhichSeesItsOwnMacAndNoSendIsReadBack) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  const Value port = vs_->ctl({"port", "show", wire_});
  EXPECT_EQ(port.get("role")->as_string(), "uplink");
  EXPECT_EQ(port.at("details.promisc")->as_string(), "on");
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(arp(guest, mac(1), kGuest, kLan).has_value()) << vs_->log();
  // Bridged: the LAN's host learned the guest under the guest's own address.
  EXPECT_THAT(lan({"neigh", "show", "10.77.0.10"}).out, ::testing::HasSubstr(mac(1).str()));

  // Broadcasts the switch sends out must not come back in: the guest's address would then be
  // learned on the uplink, and the LAN answers none of these.
  const int64_t in_before = vs_->port_counter(wire_, "in_packets");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(guest.send(frame(kBroadcast, mac(1), 46, static_cast<uint8_t>(i), kLocalType)));
  EXPECT_TRUE(vs_->wait_port_counter(wire_, "out_packets", 6));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(vs_->port_counter(wire_, "in_packets"), in_before);
  const Value fdb = vs_->ctl({"fdb", "show", "default", "mac=" + mac(1).str()});
  ASSERT_EQ(fdb.items().size(), 1u);
  EXPECT_NE(fdb.items()[0].get("port")->as_string(), wire_);
  EXPECT_EQ(vs_->stop(), 0);
}

// The host's own stack sending on the uplink's interface is not the LAN talking: without
// PACKET_IGNORE_OUTGOING its frames would come into the switch as if from the wire.
TEST_F(Uplink, TheHostsOwnTransmissionsOnTheInterfaceStayOut) {
  links_up();
  ASSERT_EQ(sw({"addr", "add", "10.77.0.2/24", "dev", wire_}).status, 0);
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  const int64_t in_before = vs_->port_counter(wire_, "in_packets");
  // ARP broadcasts from the switch's namespace for an address nobody has.
  sw_->exec({"ping", "-c", "2", "-i", "0.3", "-W", "1", "10.77.0.98"});
  for (const Bytes& f : guest.drain(300))
    EXPECT_FALSE(is_arp_request_for(f, {10, 77, 0, 98})) << "the host's own frame came in";
  EXPECT_EQ(vs_->port_counter(wire_, "in_packets"), in_before);
  EXPECT_EQ(vs_->stop(), 0);
}

TEST_F(Uplink, ABroadcastFromTheLanReachesTheGuest) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  // The LAN's host asks who has an address nobody has: an ARP broadcast on the wire.
  std::thread pinger([&] {
    lan_->exec({"ping", "-c", "2", "-i", "0.3", "-W", "1", "10.77.0.99"});
  });
  bool heard = false;
  for (int i = 0; i < 20 && !heard; ++i) {
    auto f = guest.recv(3000);
    if (!f) break;
    heard = is_arp_request_for(*f, {10, 77, 0, 99});
  }
  pinger.join();
  EXPECT_TRUE(heard) << vs_->log();
  EXPECT_EQ(vs_->stop(), 0);
}

// Tags as they are on the wire between the LAN and the switch: a raw socket on the LAN's end,
// which the kernel hands tags beside the frame (as it does the switch), put back in here.
TEST_F(Uplink, ATrunkUplinkCarriesTagsAsTheyWereOnTheWire) {
  links_up();
  start(",vlan-mode=trunk,trunks=10");
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  RawLink wire(*lan_, lan_if_);
  ASSERT_TRUE(wire.ok());

  const Bytes in = tagged(frame(mac(1), mac(9), 60, 1, kLocalType), 10, 5);
  ASSERT_TRUE(wire.send(in));
  auto got = guest.recv(3000);
  ASSERT_TRUE(got.has_value()) << vs_->log();
  EXPECT_EQ(hex(*got), hex(in)) << "VLAN 10, priority 5, into the switch";

  const Bytes out = tagged(frame(mac(9), mac(1), 60, 2, kLocalType), 10, 3);
  ASSERT_TRUE(guest.send(out));
  auto heard = wire.recv(3000);
  ASSERT_TRUE(heard.has_value()) << vs_->log();
  EXPECT_EQ(hex(*heard), hex(out)) << "VLAN 10, priority 3, out of the switch";

  // VLAN 20 is not on the trunk: counted, not carried.
  ASSERT_TRUE(wire.send(tagged(frame(mac(1), mac(9), 60, 3, kLocalType), 20)));
  EXPECT_TRUE(vs_->wait_port_counter(wire_, "drops.vlan", 1)) << vs_->log();
  EXPECT_FALSE(guest.recv(300).has_value());
  EXPECT_EQ(vs_->stop(), 0);
}

// An 802.1ad service tag keeps its own TPID through the kernel's stripping and ours putting back.
TEST_F(Uplink, AServiceTagComesBackWithItsOwnTpid) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  RawLink wire(*lan_, lan_if_);
  ASSERT_TRUE(wire.ok());
  Bytes in = tagged(tagged(frame(mac(1), mac(9), 60, 4, kLocalType), 30), 100);
  in[12] = 0x88;
  in[13] = 0xa8;
  ASSERT_TRUE(wire.send(in));
  auto got = guest.recv(3000);
  ASSERT_TRUE(got.has_value()) << vs_->log();
  EXPECT_EQ(hex(*got), hex(in));
  EXPECT_EQ(vs_->stop(), 0);
}

TEST_F(Uplink, JumboFramesPassWholeBothWaysAndTheMtuFollowsTheInterface) {
  ASSERT_EQ(sw({"link", "set", wire_, "mtu", "9000"}).status, 0);
  ASSERT_EQ(lan({"link", "set", lan_if_, "mtu", "9000"}).status, 0);
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  EXPECT_EQ(vs_->ctl({"port", "show", wire_}).get("mtu")->as_int(), 9000);
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  auto reply = arp(guest, mac(1), kGuest, kLan);
  ASSERT_TRUE(reply.has_value()) << vs_->log();
  const Bytes ping = icmp_echo(reply->data() + 6, mac(1), kGuest, kLan, 9000 - 28);
  ASSERT_EQ(ping.size(), 9014u);
  ASSERT_TRUE(guest.send(ping));
  std::optional<Bytes> echo;
  for (int i = 0; i < 10 && !echo; ++i) {
    auto f = guest.recv(3000);
    if (!f) break;
    if (is_echo_reply(*f)) echo = f;
  }
  ASSERT_TRUE(echo.has_value()) << vs_->log();
  ASSERT_EQ(echo->size(), ping.size());
  EXPECT_TRUE(std::equal(ping.begin() + 42, ping.end(), echo->begin() + 42));
  EXPECT_EQ(vs_->port_counter(wire_, "drops.oversize"), 0);
  EXPECT_EQ(vs_->stop(), 0);
}

// Whether an untagged IPv4 UDP frame's checksum is right: summed with its pseudo-header, all ones.
bool udp_checksum_ok(const Bytes& f) {
  if (f.size() < 42 || be16(f, 12) != 0x0800 || f[23] != 17) return false;
  const size_t l4 = 14 + (f[14] & 0x0f) * 4u;
  const size_t len = be16(f, l4 + 4);
  if (l4 + len > f.size()) return false;
  Bytes pseudo(f.begin() + 26, f.begin() + 34);  // source and destination addresses
  pseudo.insert(pseudo.end(), {0, 17, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
  pseudo.insert(pseudo.end(), f.begin() + static_cast<long>(l4),
                f.begin() + static_cast<long>(l4 + len));
  return inet_checksum(pseudo.data(), pseudo.size()) == 0;
}

// One UDP send from the LAN's namespace to the guest's port 9 (with UDP_SEGMENT, one GSO send
// of segment-sized datagrams); whether the kernel took it whole.
bool lan_sends_udp_from(const std::string& netns, const std::vector<uint8_t>& data,
                        int segment = 0) {
  bool sent = false;
  std::thread sender([&] {
    if (!enter_netns(netns, false)) return;
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (segment > 0) setsockopt(s, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    std::memcpy(&to.sin_addr, kGuest.data(), 4);
    sent = sendto(s, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(data.size());
    close(s);
  });
  sender.join();
  return sent;
}

// The LAN's stack leaves its checksums to a NIC a veth does not have; the guest must get them.
TEST_F(Uplink, DatagramsFromAStackOnTheVethArriveWithTheirChecksumFinished) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(arp(guest, mac(1), kGuest, kLan).has_value()) << vs_->log();
  ASSERT_TRUE(lan_sends_udp_from(lan_->name(), std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  std::optional<Bytes> datagram;
  for (int i = 0; i < 10 && !datagram; ++i) {
    auto f = guest.recv(3000);
    if (!f) break;
    if (f->size() >= 42 && be16(*f, 12) == 0x0800 && (*f)[23] == 17) datagram = f;
  }
  ASSERT_TRUE(datagram.has_value()) << vs_->log();
  EXPECT_TRUE(udp_checksum_ok(*datagram)) << hex(*datagram);
  EXPECT_EQ(vs_->stop(), 0);
}

// One UDP_SEGMENT send is one 28 KB frame on a veth: what GRO makes of a NIC's frames.
TEST_F(Uplink, AFrameTheKernelMergedPastTheMtuIsCountedOversizeNotPassedOn) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(arp(guest, mac(1), kGuest, kLan).has_value()) << vs_->log();
  ASSERT_TRUE(lan_sends_udp_from(lan_->name(), std::vector<uint8_t>(20 * 1400), /*segment=*/1400));
  EXPECT_TRUE(vs_->wait_port_counter(wire_, "drops.oversize", 1)) << vs_->log();
  for (const Bytes& f : guest.drain(300))
    EXPECT_LE(f.size(), 1514u) << "a merged frame was passed on";
  EXPECT_THAT(vs_->log(), ::testing::HasSubstr("gro off"));
  EXPECT_EQ(vs_->stop(), 0);
}

TEST_F(Uplink, ALinkBroughtDownIsCountedWithoutSpinningAndCarriesAgainWhenUp) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(arp(guest, mac(1), kGuest, kLan).has_value()) << vs_->log();
  ASSERT_EQ(sw({"link", "set", wire_, "down"}).status, 0);
  EXPECT_TRUE(wait_until([&] { return detail("link_downs") == "1"; }, 10s)) << vs_->log();
  EXPECT_FALSE(arp(guest, mac(1), kGuest, kLan).has_value());
  EXPECT_GE(vs_->port_counter(wire_, "drops.tx_error"), 1);
  EXPECT_EQ(detail("link"), "down");
  const long before = cpu_ticks(vs_->pid());
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpu_ticks(vs_->pid()) - before, 50) << "the engine spins on the downed link";
  ASSERT_EQ(sw({"link", "set", wire_, "up"}).status, 0);
  // The veth's carrier takes a moment to come back.
  EXPECT_TRUE(wait_until([&] { return arp(guest, mac(1), kGuest, kLan).has_value(); }, 10s))
      << vs_->log();
  EXPECT_EQ(detail("link"), "up");
  EXPECT_EQ(vs_->stop(), 0);
}

TEST_F(Uplink, AnInterfaceDeletedFromOutsideClosesThePortAndTheSwitchGoesOnServing) {
  links_up();
  start();
  ASSERT_TRUE(vs_->ready()) << vs_->log();
  VdeClient guest(tmp_.file("sw"));
  ASSERT_TRUE(guest.ok());
  ASSERT_TRUE(arp(guest, mac(1), kGuest, kLan).has_value()) << vs_->log();
  ASSERT_EQ(sw({"link", "del", wire_}).status, 0);
  EXPECT_TRUE(
      wait_until([&] { return vs_->log().find(wire_ + " deleted") != std::string::npos; }, 10s))
      << vs_->log();
  EXPECT_TRUE(wait_until(
      [&] {
        std::string err;
        return !vs_->try_ctl({"port", "show", wire_}, &err).has_value();
      },
      10s));
  const long before = cpu_ticks(vs_->pid());
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpu_ticks(vs_->pid()) - before, 50) << "the engine spins";
  VdeClient other(tmp_.file("sw"));
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(guest.send(arp_request(mac(1), kGuest, kLan)));
  EXPECT_TRUE(other.recv(3000).has_value());
  EXPECT_EQ(vs_->stop(), 0);
}

TEST_F(Uplink, WithoutCapNetRawItSaysWhatAllowsIt) {
  links_up();
  start("", true);
  EXPECT_TRUE(wait_until([&] { return !vs_->running(); }, 20s));
  EXPECT_EQ(vs_->stop(), 1);
  EXPECT_THAT(vs_->log(), ::testing::HasSubstr("needs CAP_NET_RAW"));
  EXPECT_THAT(vs_->log(), ::testing::HasSubstr("setcap cap_net_raw+ep "));
}

TEST_F(Uplink, AnInterfaceThatIsNotThereIsNamed) {
  DaemonOptions o;
  o.netns = sw_->name();
  o.wait_ready = false;
  vs_ = std::make_unique<Vswitchd>(std::vector<std::string>{"--port", "uplink,ifname=nosuch0"}, o);
  EXPECT_TRUE(wait_until([&] { return !vs_->running(); }, 20s));
  EXPECT_EQ(vs_->stop(), 1);
  EXPECT_THAT(vs_->log(), ::testing::HasSubstr("uplink nosuch0: no such interface"));
}

}  // namespace
}  // namespace vswitch::test
