// The VDE plug with the real clients: Debian's vde_plug, libvdeplug (what QEMU links), raw
// control connections for what no proper client sends, Debian's vde_switch as a neighbour, and
// vde_switch's console dialect.
#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <dirent.h>
#include <atomic>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

class Vde : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string sw() const { return tmp_.file("sw"); }

  std::unique_ptr<Vswitchd> start(const std::string& vde_spec_extra = "",
                                  std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"--vde", sw() + vde_spec_extra};
    args.insert(args.end(), more.begin(), more.end());
    auto vs = std::make_unique<Vswitchd>(args);
    EXPECT_TRUE(vs->ready()) << vs->log();
    return vs;
  }
  static bool ports_become(Vswitchd& vs, size_t n) {
    return wait_until([&] { return vs.ctl({"port", "list"}).items().size() == n; }, 5s);
  }
};

int data_sockets_in(const std::string& dir) {
  static const std::regex name(R"(\d{3,}\.\d+)");
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  while (dirent* e = readdir(d))
    n += std::regex_match(e->d_name, name) ? 1 : 0;
  closedir(d);
  return n;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST_F(Vde, VdePlugPairsPassFramesAndLearnedUnicastReachesOnlyItsOwner) {
  auto vs = start();
  VdePlug a(sw()), b(sw());
  VdeClient c(sw());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(ports_become(*vs, 3));
  const Bytes hello = frame(kBroadcast, mac(1), 46, 1);
  ASSERT_TRUE(a.send(hello));
  EXPECT_EQ(b.recv(), hello);
  EXPECT_EQ(c.recv(), hello);
  const Bytes reply = frame(mac(1), mac(2), 100, 2);
  ASSERT_TRUE(b.send(reply));
  EXPECT_EQ(a.recv(), reply);
  EXPECT_FALSE(c.recv(300)) << "a learned unicast reached a third port";
}

TEST_F(Vde, ClientsGetThePortsTheyAskFor) {
  auto vs = start();
  VdeClient bracket(sw() + "[5]");
  VdeClient by_arg(sw(), 7);  // QEMU's port=7
  VdeClient vnl("vde://" + sw() + "[9]");
  VdeClient port0(sw() + "[0]");  // REQ_NEW_PORT0
  VdeClient any(sw());
  for (auto* c : {&bracket, &by_arg, &vnl, &port0, &any})
    ASSERT_TRUE(c->ok());
  ASSERT_TRUE(ports_become(*vs, 5));
  for (const char* n : {"5", "7", "9", "0", "1"}) {
    Value p = vs->ctl({"port", "show", std::string("vde:") + n});
    ASSERT_TRUE(p.at("details.vde_port")) << n;
    EXPECT_EQ(p.at("details.vde_port")->as_string(), n);
  }
}

TEST_F(Vde, TwoEndpointsOfOneUserShareAPort) {
  auto vs = start();
  VdeClient e1(sw() + "[5]"), e2(sw() + "[5]"), other(sw());
  ASSERT_TRUE(e1.ok() && e2.ok() && other.ok());
  ASSERT_TRUE(ports_become(*vs, 2));
  const Bytes b = frame(kBroadcast, mac(3), 46, 3);
  ASSERT_TRUE(other.send(b));
  EXPECT_EQ(e1.recv(), b);
  EXPECT_EQ(e2.recv(), b);
  ASSERT_TRUE(e2.send(frame(kBroadcast, mac(9), 46, 9)));
  EXPECT_TRUE(other.recv());
  Value fdb = vs->ctl({"fdb", "show", "default", "mac=02:00:00:00:00:09"});
  ASSERT_EQ(fdb.items().size(), 1u);
  EXPECT_EQ(fdb.items()[0].get("port")->as_string(), "vde:5");
}

// A frame has left a port when one of its endpoints took it, whichever that was.
TEST_F(Vde, AFrameOneEndpointTookCountsAsSentWhenAnotherIsFull) {
  auto vs = start();
  VdeClient stuck(sw() + "[5]"), reader(sw() + "[5]"), sender(sw());
  ASSERT_TRUE(stuck.ok() && reader.ok() && sender.ok());
  ASSERT_TRUE(ports_become(*vs, 2));
  constexpr int kFrames = 6000, kWindow = 500;
  const Bytes f = frame(kBroadcast, mac(1), 1000, 1);
  int got = 0;
  for (int sent = 0; sent < kFrames;) {
    ASSERT_TRUE(sender.send(f));
    if (++sent % kWindow != 0) continue;
    while (got < sent && reader.recv(5000))
      ++got;
    ASSERT_EQ(got, sent);
  }
  EXPECT_GT(vs->port_counter("vde:5", "drops.tx_full"), 0) << "the stuck endpoint never filled";
  EXPECT_EQ(vs->port_counter("vde:5", "out_packets"), kFrames);
  EXPECT_EQ(vs->port_counter("vde:5", "out_bytes"), int64_t{kFrames} * int64_t(f.size()));
}

TEST_F(Vde, RefusedClientsFailFastWithALoggedReason) {
  auto vs = start();
  auto refused = [&](const std::string& vnl, const std::string& reason) {
    EXPECT_EQ(vde_open_in_child(vnl, 0), 1) << vnl << ": not refused, or left hanging";
    EXPECT_TRUE(wait_until([&] { return vs->log().find(reason) != std::string::npos; }, 3s))
        << "no '" << reason << "' in the log:\n"
        << vs->log();
  };
  refused(sw() + "[40]", "port 40 is out of range 0-31");

  TempDir small;
  Vswitchd three({"--vde", small.file("sw") + ",numports=3"});
  ASSERT_TRUE(three.ready()) << three.log();
  VdeClient a(small.file("sw")), b(small.file("sw"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(vde_open_in_child(small.file("sw"), 0), 1);
  EXPECT_TRUE(wait_until([&] { return three.log().find("no free port") != std::string::npos; }, 3s))
      << three.log();
}

TEST_F(Vde, MalformedRequestsCloseTheConnection) {
  auto vs = start();
  const std::string me = tmp_.file("client.sock");
  {
    RawCtl bad_magic(sw());
    ASSERT_TRUE(bad_magic.send(vde_request(0x12345678, 3, 0, me, "x")));
    EXPECT_TRUE(bad_magic.closed_by_switch(2000));
  }
  {
    RawCtl v2(sw());
    ASSERT_TRUE(v2.send(vde_request(0xfeedface, 2, 0, me, "x")));
    EXPECT_TRUE(v2.closed_by_switch(2000));
  }
  {
    RawCtl no_client(sw());  // a well-formed request naming a socket nobody bound
    ASSERT_TRUE(no_client.send(vde_request(0xfeedface, 3, 0, me, "ghost")));
    EXPECT_TRUE(no_client.closed_by_switch(2000));
  }
  {
    RawCtl truncated(sw());
    Bytes r = vde_request(0xfeedface, 3, 0, me, "");
    r.resize(20);
    ASSERT_TRUE(truncated.send(r));
    EXPECT_TRUE(truncated.closed_by_switch(4000));
  }
  const std::string log = vs->log();
  EXPECT_NE(log.find("bad magic"), std::string::npos) << log;
  EXPECT_NE(log.find("unsupported protocol version 2"), std::string::npos) << log;
  EXPECT_NE(log.find("cannot reach its socket"), std::string::npos) << log;
  EXPECT_NE(log.find("no complete request within 2 s"), std::string::npos) << log;
  EXPECT_TRUE(vs->ctl({"port", "list"}).items().empty());
}

TEST_F(Vde, PortOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to be two users";
  auto vs = start(",mode=0666");  // a directory every user may use
  VdeClient root(sw() + "[5]");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(vde_open_in_child(sw() + "[5]", 0, 65534), 1);
  EXPECT_TRUE(
      wait_until([&] { return vs->log().find("in use by another user") != std::string::npos; }, 3s))
      << vs->log();
  // Any other port is still theirs to take.
  EXPECT_EQ(vde_open_in_child(sw() + "[6]", 0, 65534), 0);
}

// A datagram socket this process binds at `path`, its file then given to `owner` with `mode`.
class BoundSocket {
 public:
  BoundSocket(const std::string& path, uid_t owner, mode_t mode) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          chown(path.c_str(), owner, 0) == 0 && chmod(path.c_str(), mode) == 0;
  }
  ~BoundSocket() { close(fd_); }
  BoundSocket(const BoundSocket&) = delete;
  BoundSocket& operator=(const BoundSocket&) = delete;
  bool ok() const { return ok_; }
  // Datagrams that arrive until none has for `quiet_ms`.
  int frames(int quiet_ms) {
    int n = 0;
    pollfd p{fd_, POLLIN, 0};
    char buf[65536];
    while (poll(&p, 1, quiet_ms) == 1 && recv(fd_, buf, sizeof buf, 0) >= 0)
      ++n;
    return n;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// A root switch is a deputy: it must not write, for a user, to a socket the user could not.
TEST_F(Vde, AClientIsOnlyConnectedToASocketItOwnsAndCouldReach) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to be two users";
  constexpr uid_t kNobody = 65534;
  // Started by sudo, a switch has root's group, which its thread keeps while acting as a user.
  DaemonOptions sudo_like;
  sudo_like.groups = {0};
  Vswitchd vs({"--vde", sw() + ",mode=0666"}, sudo_like);  // a directory every user may use
  ASSERT_TRUE(vs.ready()) << vs.log();
  const std::string open = tmp_.file("open"), closed = tmp_.file("closed"), own = tmp_.file("own");
  ASSERT_EQ(mkdir(open.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(closed.c_str(), 0700), 0);
  ASSERT_EQ(mkdir(own.c_str(), 0700), 0);
  ASSERT_EQ(chown(own.c_str(), kNobody, 0), 0);
  BoundSocket root_only(open + "/root_only", 0, 0600);
  // Writable by the root group, which is the switch's too.
  BoundSocket root_group(open + "/root_group", 0, 0660);
  BoundSocket unreachable(closed + "/nobodys", kNobody, 0600);
  BoundSocket nobodys(own + "/nobodys", kNobody, 0600);
  ASSERT_TRUE(root_only.ok() && root_group.ok() && unreachable.ok() && nobodys.ok());
  ASSERT_EQ(symlink((open + "/root_only").c_str(), (own + "/link").c_str()), 0);
  ASSERT_EQ(lchown((own + "/link").c_str(), kNobody, 0), 0);

  const std::pair<std::string, std::string> refused[] = {
      {open + "/root_only", "belongs to uid 0"},
      {open + "/root_group", "belongs to uid 0"},
      {closed + "/nobodys", "Permission denied"},
      {own + "/link", "is not a socket"},
  };
  auto refusal_of = [&](const std::string& path) {
    std::istringstream log(vs.log());
    std::string line;
    while (std::getline(log, line)) {
      if (line.find("refused") != std::string::npos && line.find(path) != std::string::npos) {
        return line;
      }
    }
    return std::string();
  };
  // Kept open through the flood below, so that a request wrongly served stays served.
  std::vector<std::unique_ptr<RawCtl>> requests;
  // Not a structured binding: a lambda may not capture one before clang 16.
  for (const auto& item : refused) {
    const auto& path = item.first;
    const auto& reason = item.second;
    RawCtl& ctl = *requests.emplace_back(std::make_unique<RawCtl>(sw(), kNobody));
    ASSERT_TRUE(ctl.connected());
    ASSERT_TRUE(ctl.send(vde_request(0xfeedface, 3, 0, path, "deputy")));
    EXPECT_TRUE(ctl.closed_by_switch(2000)) << path << " was served";
    EXPECT_TRUE(wait_until([&] { return refusal_of(path).find(reason) != std::string::npos; }, 3s))
        << "no reason '" << reason << "' for " << path << " in the log:\n"
        << vs.log();
  }
  RawCtl served(sw(), kNobody);
  ASSERT_TRUE(served.connected());
  ASSERT_TRUE(served.send(vde_request(0xfeedface, 3, 0, own + "/nobodys", "own socket")));
  ASSERT_TRUE(served.reply(2000)) << vs.log();

  VdeClient flooder(sw());
  ASSERT_TRUE(flooder.ok());
  EXPECT_TRUE(ports_become(vs, 2));
  for (uint8_t i = 0; i < 3; ++i)
    ASSERT_TRUE(flooder.send(frame(kBroadcast, mac(1), 46, i)));
  EXPECT_EQ(nobodys.frames(1000), 3);
  EXPECT_EQ(root_only.frames(300), 0);
  EXPECT_EQ(root_group.frames(300), 0);
  EXPECT_EQ(unreachable.frames(300), 0);
}

// A switch that is not root cannot act as another user; it still must not write to its own
// sockets for one.
TEST_F(Vde, ASwitchThatIsNotRootConnectsAUserOnlyToTheUsersOwnSocket) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to be three users";
  constexpr uid_t kNobody = 65534, kDaemonUser = 1;
  Vswitchd vs({"--vde", sw() + ",mode=0666"}, as_nobody());
  ASSERT_TRUE(vs.ready()) << vs.log();
  BoundSocket switchs(tmp_.file("switchs"), kNobody, 0600);
  BoundSocket users(tmp_.file("users"), kDaemonUser, 0666);  // the switch writes it as itself
  ASSERT_TRUE(switchs.ok() && users.ok());

  RawCtl deputy(sw(), kDaemonUser);
  ASSERT_TRUE(deputy.connected());
  ASSERT_TRUE(deputy.send(vde_request(0xfeedface, 3, 0, tmp_.file("switchs"), "deputy")));
  EXPECT_TRUE(deputy.closed_by_switch(2000)) << "the switch's own socket was served";
  EXPECT_TRUE(wait_until(
      [&] { return vs.log().find("belongs to uid 65534, not to the client") != std::string::npos; },
      3s))
      << vs.log();
  RawCtl served(sw(), kDaemonUser);
  ASSERT_TRUE(served.connected());
  ASSERT_TRUE(served.send(vde_request(0xfeedface, 3, 0, tmp_.file("users"), "own socket")));
  ASSERT_TRUE(served.reply(2000)) << vs.log();

  VdeClient flooder(sw());
  ASSERT_TRUE(flooder.ok()) << vs.log();
  EXPECT_TRUE(ports_become(vs, 2));
  for (uint8_t i = 0; i < 3; ++i)
    ASSERT_TRUE(flooder.send(frame(kBroadcast, mac(1), 46, i)));
  EXPECT_EQ(users.frames(1000), 3);
  EXPECT_EQ(switchs.frames(300), 0);
}

TEST_F(Vde, ALeavingClientTakesItsEndpointAndOnlyItsAddresses) {
  auto vs = start();
  VdeClient a(sw()), b(sw()), c(sw());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1))));
  ASSERT_TRUE(b.send(frame(kBroadcast, mac(2))));
  ASSERT_TRUE(c.send(frame(kBroadcast, mac(3))));
  ASSERT_TRUE(wait_until(
      [&] {
        return vs->ctl({"fdb", "show", "default"}).items().size() == 3;
      },
      3s));
  EXPECT_EQ(data_sockets_in(sw()), 3);
  b.close();
  ASSERT_TRUE(ports_become(*vs, 2));
  EXPECT_EQ(data_sockets_in(sw()), 2) << "the endpoint's socket file stayed";
  // vde_switch 2.3.2 forgets every address when any port comes or goes; only b's may go.
  Value fdb = vs->ctl({"fdb", "show", "default"});
  std::set<std::string> macs;
  for (const Value& e : fdb.items())
    macs.insert(e.get("mac")->as_string());
  EXPECT_EQ(macs, (std::set<std::string>{"02:00:00:00:00:01", "02:00:00:00:00:03"}));
  VdeClient d(sw());
  ASSERT_TRUE(ports_become(*vs, 3));
  EXPECT_EQ(vs->ctl({"fdb", "show", "default"}).items().size(), 2u);
}

TEST_F(Vde, BytesAfterTheHandshakeCloseTheEndpoint) {
  auto vs = start();
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(ports_become(*vs, 1));
  ASSERT_EQ(::send(a.ctl_fd(), "junk", 4, MSG_NOSIGNAL), 4);
  EXPECT_TRUE(a.ctl_closed(2000));
  EXPECT_TRUE(ports_become(*vs, 0));
  EXPECT_NE(vs->log().find("bytes after the handshake"), std::string::npos) << vs->log();
}

TEST_F(Vde, PortSettingsAndDescriptionsPersistAcrossReconnects) {
  auto vs = start();
  {
    VdeClient a(sw() + "[5]", 0, "first guest");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(ports_become(*vs, 1));
    vs->ctl({"port", "set", "vde:5", "tag=10"});
  }
  ASSERT_TRUE(ports_become(*vs, 0));
  VdeClient again(sw() + "[5]", 0, "second guest");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(ports_become(*vs, 1));
  Value p = vs->ctl({"port", "show", "vde:5"});
  EXPECT_EQ(p.at("vlan.mode")->as_string(), "access");
  EXPECT_EQ(p.at("vlan.tag")->as_int(), 10);
  bool described = false;
  for (const auto& [k, v] : p.get("details")->members()) {
    described |= v.as_string().find("second guest") != std::string::npos;
  }
  EXPECT_TRUE(described) << p.json();
}

TEST_F(Vde, DirectoryAndSocketModesFollowVdeSwitch) {
  auto vs = start();
  EXPECT_EQ(mode_of(sw()), 02700u);
  EXPECT_EQ(mode_of(sw() + "/ctl"), 0600u);
  TempDir t;
  const gid_t nogroup = getgrnam("nogroup") ? getgrnam("nogroup")->gr_gid : 65534;
  Vswitchd shared({"--vde", t.file("sw") + ",mode=0660,group=" + std::to_string(nogroup)});
  ASSERT_TRUE(shared.ready()) << shared.log();
  EXPECT_EQ(mode_of(t.file("sw")), 02770u);
  EXPECT_EQ(mode_of(t.file("sw") + "/ctl"), 0660u);
  struct stat st {};
  stat(t.file("sw").c_str(), &st);
  EXPECT_EQ(st.st_gid, nogroup);
}

TEST_F(Vde, ADirectoryInUseIsRefusedAndAStaleOneReclaimed) {
  auto vs = start();
  Vswitchd second({"--vde", sw()});
  EXPECT_FALSE(second.ready());
  EXPECT_EQ(second.stop(), 1);
  EXPECT_NE(second.log().find("in use by a running switch"), std::string::npos) << second.log();

  // Debian's vde_switch holding a directory.
  const std::string theirs = tmp_.file("theirs"), pidfile = tmp_.file("vde_switch.pid");
  ASSERT_EQ(run_program({"/usr/bin/vde_switch", "-s", theirs, "-d", "-p", pidfile}).status, 0);
  pid_t vde_pid = 0;
  ASSERT_TRUE(wait_until([&] { return (std::ifstream(pidfile) >> vde_pid) && vde_pid > 0; }, 5s));
  Vswitchd third({"--vde", theirs});
  EXPECT_FALSE(third.ready());
  EXPECT_EQ(third.stop(), 1);
  EXPECT_NE(third.log().find("in use by a running switch"), std::string::npos) << third.log();
  kill(vde_pid, SIGTERM);

  // What a switch that died leaves: a ctl nobody answers and a data socket file.
  const std::string stale = tmp_.file("stale");
  mkdir(stale.c_str(), 0700);
  for (const char* name : {"/ctl", "/001.99"}) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, (stale + name).c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    close(fd);
  }
  Vswitchd reclaimed({"--vde", stale});
  ASSERT_TRUE(reclaimed.ready()) << reclaimed.log();
  EXPECT_EQ(data_sockets_in(stale), 0);
  VdeClient c(stale);
  EXPECT_TRUE(c.ok());
}

TEST_F(Vde, JumboFramesPassWholeRuntsAreCountedNothingEmptyIsSent) {
  auto vs = start();
  VdeClient a(sw()), b(sw());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(ports_become(*vs, 2));
  const Bytes jumbo = frame(kBroadcast, mac(1), 9216, 7);
  ASSERT_TRUE(a.send(jumbo));
  EXPECT_EQ(b.recv(), jumbo);
  ASSERT_EQ(::send(a.data_fd(), "0123456789", 10, 0), 10);
  ASSERT_EQ(::send(a.data_fd(), "", 0, 0), 0);
  EXPECT_TRUE(wait_until([&] { return vs->port_counter("vde:1", "drops.runt") == 2; }, 3s));
  EXPECT_TRUE(b.drain(300).empty()) << "a runt or an empty frame went out";
}

TEST_F(Vde, AStuckClientLosesItsOwnFramesAndCostsTheOthersNone) {
  auto vs = start();
  VdeClient stuck(sw()), a(sw()), b(sw());
  ASSERT_TRUE(stuck.ok() && a.ok() && b.ok());
  ASSERT_TRUE(ports_become(*vs, 3));
  // Sent in windows that the reader must have taken before the next goes, so the reader never
  // has more in flight than its buffer holds however slow the machine; the stuck one, which never
  // reads, fills its buffer all the same.
  constexpr int kFrames = 30000, kWindow = 500;
  std::atomic<int> got{0};
  std::thread reader([&] {
    while (got < kFrames) {
      if (!b.recv(5000)) break;
      ++got;
    }
  });
  int sent = 0;
  while (sent < kFrames) {
    if (!a.send(frame(kBroadcast, mac(1), 46, static_cast<uint8_t>(sent)))) break;
    ++sent;
    if (sent % kWindow == 0 && !wait_until([&] { return got >= sent; }, 5s)) break;
  }
  reader.join();
  EXPECT_EQ(sent, kFrames);
  EXPECT_EQ(got, kFrames);
  const int64_t dropped = vs->port_counter("vde:1", "drops.tx_full");
  EXPECT_GT(dropped, 0) << "the stuck client's buffer never filled";
  EXPECT_EQ(vs->port_counter("vde:1", "out_packets") + dropped, kFrames);
  EXPECT_EQ(vs->port_counter("vde:3", "dropped"), 0);
}

TEST_F(Vde, AnIdleSwitchSleeps) {
  auto vs = start();
  VdeClient a(sw()), b(sw());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(ports_become(*vs, 2));
  const long before = cpu_ticks(vs->pid());
  std::this_thread::sleep_for(2s);
  // 100 ticks a second: under 5 % of a core.
  EXPECT_LT(cpu_ticks(vs->pid()) - before, 10);
}

// vde_switch's management console, its dialect exactly.
class Console {
 public:
  explicit Console(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) banner_ = until_prompt();
  }
  ~Console() { close(fd_); }
  const std::string& banner() const { return banner_; }
  // One command; what came back before the next prompt.
  std::string cmd(const std::string& line) {
    const std::string l = line + "\n";
    ::send(fd_, l.data(), l.size(), MSG_NOSIGNAL);
    return until_prompt();
  }
  bool closed(int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    char c;
    return poll(&p, 1, timeout_ms) == 1 && read(fd_, &c, 1) == 0;
  }
  int fd() const { return fd_; }
  // What came back before the next prompt.
  std::string until_prompt() {
    std::string out;
    while (out.size() < 6 || out.compare(out.size() - 6, 6, "\nvde$ ") != 0) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 3000) != 1) break;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (out.find("9999 END OF SESSION\n") != std::string::npos) break;
    }
    return out;
  }

 private:
  int fd_ = -1;
  std::string banner_;
};

TEST_F(Vde, ConsoleSpeaksVdeSwitchsDialect) {
  const std::string mgmt = tmp_.file("mgmt");
  auto vs = start("", {"-M", mgmt});
  Console con(mgmt);
  EXPECT_THAT(con.banner(), ::testing::StartsWith("VDE switch"));
  EXPECT_THAT(con.banner(), ::testing::EndsWith("\nvde$ "));
  const std::string help = con.cmd("help");
  EXPECT_THAT(help, ::testing::StartsWith("0000 DATA END WITH '.'\n"));
  EXPECT_THAT(help, ::testing::EndsWith("\n.\n1000 Success\n\nvde$ "));
  EXPECT_THAT(help, ::testing::HasSubstr("port/setvlan"));
  EXPECT_THAT(con.cmd("frobnicate"), ::testing::StartsWith("1038 Function not implemented\n"));
  EXPECT_THAT(con.cmd("port/print 7"), ::testing::StartsWith("1006 "));
  EXPECT_THAT(con.cmd(""), ::testing::Eq("\nvde$ "));
  EXPECT_THAT(con.cmd("showinfo"), ::testing::HasSubstr("pid "));
  EXPECT_THAT(con.cmd("logout"), ::testing::HasSubstr("9999 END OF SESSION"));
  EXPECT_TRUE(con.closed());
}

TEST_F(Vde, ConsoleConfiguresVlansPortsAndTheTable) {
  const std::string mgmt = tmp_.file("mgmt");
  auto vs = start("", {"-M", mgmt});
  VdeClient access(sw() + "[1]", 0, "access guest"), trunk(sw() + "[2]"), other(sw() + "[3]");
  ASSERT_TRUE(access.ok() && trunk.ok() && other.ok());
  ASSERT_TRUE(ports_become(*vs, 3));
  Console con(mgmt);
  EXPECT_THAT(con.cmd("port/setvlan 1 10"), ::testing::StartsWith("1006 "));  // no VLAN 10 yet
  EXPECT_THAT(con.cmd("vlan/create 10"), ::testing::StartsWith("1000 Success"));
  EXPECT_THAT(con.cmd("vlan/create 10"), ::testing::StartsWith("1017 "));
  EXPECT_THAT(con.cmd("port/setvlan 1 10"), ::testing::StartsWith("1000 Success"));
  EXPECT_THAT(con.cmd("vlan/addport 10 2"), ::testing::StartsWith("1000 Success"));
  // Unconfigured, port 3 would carry every VLAN; set, it is VLAN 0's alone, as in vde_switch.
  EXPECT_THAT(con.cmd("port/setvlan 3 0"), ::testing::StartsWith("1000 Success"));
  // Port 1 is an access port of VLAN 10 now; port 2 carries VLAN 10 tagged; port 3 neither.
  const Bytes plain = frame(kBroadcast, mac(1), 46, 1);
  ASSERT_TRUE(access.send(plain));
  EXPECT_EQ(trunk.recv(), tagged(plain, 10));
  EXPECT_FALSE(other.recv(300));
  const std::string vlans = con.cmd("vlan/print 10");
  EXPECT_THAT(vlans, ::testing::HasSubstr("VLAN 0010\n -- Port 0001 tagged=0 active=1"));
  EXPECT_THAT(vlans, ::testing::HasSubstr(" -- Port 0002 tagged=1 active=1"));
  const std::string ports = con.cmd("port/print 1");
  EXPECT_THAT(ports, ::testing::HasSubstr("Port 0001 untagged_vlan=0010 ACTIVE"));
  EXPECT_THAT(ports, ::testing::HasSubstr("access guest"));
  EXPECT_THAT(ports, ::testing::MatchesRegex("(.|\n)* IN:  pkts +1 bytes +60\n(.|\n)*"));
  EXPECT_THAT(con.cmd("hash/print"),
              ::testing::HasSubstr("Addr: 02:00:00:00:00:01 VLAN 0010 to port: 001"));
  EXPECT_THAT(con.cmd("hash/find 02:00:00:00:00:01 10"), ::testing::HasSubstr("to port: 001"));
  EXPECT_THAT(con.cmd("hash/find 02:00:00:00:00:01 20"), ::testing::StartsWith("1019 "));
  EXPECT_THAT(con.cmd("hash/setexpire 60"), ::testing::StartsWith("1000 Success"));
  EXPECT_EQ(vs->ctl({"segment", "show", "default"}).at("fdb.ageing_s")->as_int(), 60);
  EXPECT_THAT(con.cmd("port/resetcounter 1"), ::testing::StartsWith("1000 Success"));
  EXPECT_EQ(vs->port_counter("vde:1", "in_packets"), 0);
  EXPECT_THAT(con.cmd("vlan/delport 10 2"), ::testing::StartsWith("1000 Success"));
  ASSERT_TRUE(access.send(plain));
  EXPECT_FALSE(trunk.recv(300)) << "port 2 still in VLAN 10";
  // Closing an endpoint by its ID, as port/print shows it.
  std::smatch id;
  ASSERT_TRUE(std::regex_search(ports, id, std::regex("endpoint ID (\\d+)")));
  EXPECT_THAT(con.cmd("port/epclose 1 " + id[1].str()), ::testing::StartsWith("1000 Success"));
  EXPECT_TRUE(access.ctl_closed(2000));
}

TEST_F(Vde, ConsoleCommandsSplitAcrossWritesRunOnce) {
  const std::string mgmt = tmp_.file("mgmt");
  auto vs = start("", {"-M", mgmt});
  Console con(mgmt);
  ASSERT_EQ(::send(con.fd(), "hash/", 5, MSG_NOSIGNAL), 5);
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(::send(con.fd(), "print\n", 6, MSG_NOSIGNAL), 6);
  const std::string reply = con.until_prompt();
  EXPECT_THAT(reply, ::testing::StartsWith("0000 DATA END WITH '.'\n"));
  EXPECT_THAT(reply, ::testing::HasSubstr("1000 Success"));
  // Several commands in one write still each get their reply, and a last one without its
  // newline runs when the client stops sending.
  const std::string three = "showinfo\nport/showinfo\nhash/showinfo";
  ASSERT_EQ(::send(con.fd(), three.data(), three.size(), MSG_NOSIGNAL), ssize_t(three.size()));
  shutdown(con.fd(), SHUT_WR);
  std::string rest;
  while (rest.find("Hash size") == std::string::npos) {
    const std::string more = con.until_prompt();
    if (more.empty()) break;
    rest += more;
  }
  EXPECT_THAT(rest,
              ::testing::MatchesRegex("0000 DATA(.|\n)*pid (.|\n)*1000 Success\n\nvde\\$ "
                                      "0000 DATA(.|\n)*Numports=32(.|\n)*1000 Success\n\nvde\\$ "
                                      "0000 DATA(.|\n)*Hash size(.|\n)*1000 Success\n(.|\n)*"));
  EXPECT_TRUE(con.closed());
}

TEST_F(Vde, ConsoleSurvivesARenamedPortAndACommandThatFails) {
  const std::string mgmt = tmp_.file("mgmt");
  auto vs = start("", {"-M", mgmt});
  VdeClient a(sw());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(ports_become(*vs, 1));
  vs->ctl({"port", "set", "vde:1", "name=vde:x"});
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 46, 1)));
  ASSERT_TRUE(wait_until([&] { return vs->port_counter("vde:x", "in_packets") == 1; }, 3s));
  Console con(mgmt);
  EXPECT_THAT(con.cmd("hash/print"),
              ::testing::HasSubstr("Addr: 02:00:00:00:00:01 VLAN 0000 to port: 001"));
  EXPECT_THAT(con.cmd("port/print 99999999999"), ::testing::StartsWith("1022 "));
  EXPECT_TRUE(vs->running());
  EXPECT_EQ(vs->ctl({"version"}).get("vswitchd")->as_string(), VSWITCH_VERSION);
}

// A client that sends commands and never reads their replies stops being read: it costs the
// daemon a bounded buffer, not its memory, and the others are served meanwhile.
TEST_F(Vde, ConsoleClientThatNeverReadsCostsBoundedMemory) {
  const std::string mgmt = tmp_.file("mgmt");
  auto vs = start("", {"-M", mgmt});
  Console greedy(mgmt);
  const long before = resident_kib(vs->pid());
  std::string helps;
  for (int i = 0; i < 100000; ++i)
    helps += "help\n";
  size_t sent = 0;
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (sent < 8 * helps.size() && std::chrono::steady_clock::now() < until) {
    const size_t at = sent % helps.size();
    const ssize_t n =
        ::send(greedy.fd(), helps.data() + at, helps.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0)
      sent += static_cast<size_t>(n);
    else
      std::this_thread::sleep_for(10ms);
  }
  EXPECT_LT(sent, 8 * helps.size()) << "the console read everything a client sent it";
  EXPECT_LT(resident_kib(vs->pid()) - before, 32 * 1024);
  Console other(mgmt);
  EXPECT_THAT(other.cmd("showinfo"), ::testing::HasSubstr("1000 Success"));
  EXPECT_TRUE(vs->running());
}

TEST_F(Vde, ConsoleAccessControlAndShutdown) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to be two users";
  const std::string mgmt = tmp_.file("mgmt");
  auto vs = start(",mode=0666", {"-M", mgmt});
  Console con(mgmt);
  EXPECT_THAT(con.cmd("port/setuser 6 root"), ::testing::StartsWith("1000 Success"));
  EXPECT_EQ(vde_open_in_child(sw() + "[6]", 0, 65534), 1);
  EXPECT_EQ(vde_open_in_child(sw() + "[6]", 0), 0);  // root may
  EXPECT_THAT(con.cmd("shutdown"), ::testing::HasSubstr("9999 END OF SESSION"));
  EXPECT_TRUE(wait_until([&] { return !vs->running(); }, 5s));
  EXPECT_EQ(vs->stop(), 0);
  struct stat st {};
  EXPECT_NE(stat(sw().c_str(), &st), 0) << "the switch directory stayed";
  EXPECT_NE(stat(mgmt.c_str(), &st), 0) << "the console socket stayed";
}

TEST_F(Vde, RcFileCommandsApplyAtStartUp) {
  std::ofstream(tmp_.file("rc")) << "# set up at start\nvlan/create 20\nport/create 3\n"
                                    "port/setvlan 3 20\n";
  auto vs = start("", {"-f", tmp_.file("rc")});
  VdeClient c(sw() + "[3]");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(ports_become(*vs, 1));
  Value p = vs->ctl({"port", "show", "vde:3"});
  EXPECT_EQ(p.at("vlan.mode")->as_string(), "access");
  EXPECT_EQ(p.at("vlan.tag")->as_int(), 20);
}

TEST(VdeSwitchCommandLine, DaemonWithPidfileAndConsoleAsVdeSwitchRuns) {
  TempDir t;
  const std::string dir = t.file("sw"), mgmt = t.file("mgmt"), pidfile = t.file("pid");
  auto r = run_program(
      {vswitchd_path(), "-s", dir, "-M", mgmt, "-d", "-p", pidfile, "--control", t.file("ctl")},
      30s);
  ASSERT_EQ(r.status, 0) << r.err;
  pid_t pid = 0;
  ASSERT_TRUE(std::ifstream(pidfile) >> pid);
  ASSERT_EQ(kill(pid, 0), 0) << "no switch behind the pid file";
  {
    VdeClient c(dir);
    EXPECT_TRUE(c.ok());
    Console con(mgmt);
    EXPECT_THAT(con.banner(), ::testing::StartsWith("VDE switch"));
  }
  kill(pid, SIGTERM);
  EXPECT_TRUE(wait_until([&] { return kill(pid, 0) != 0; }, 10s));
  struct stat st {};
  EXPECT_NE(stat((dir + "/ctl").c_str(), &st), 0);
  EXPECT_NE(stat(mgmt.c_str(), &st), 0);
  EXPECT_NE(stat(pidfile.c_str(), &st), 0);
}

TEST(VdeSwitchCommandLine, DaemonThatCannotStartSaysWhyAndFails) {
  TempDir t;
  const std::string dir = t.file("sw");
  Vswitchd holder({"-s", dir});
  ASSERT_TRUE(holder.ready()) << holder.log();
  auto r = run_program({vswitchd_path(), "-s", dir, "-d", "--control", t.file("ctl2")}, 30s);
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, ::testing::HasSubstr("in use by a running switch"));
}

TEST(VdeSwitchCommandLine, HubModeAndPortCount) {
  TempDir t;
  const std::string dir = t.file("sw");
  Vswitchd vs({"-s", dir, "-x", "-n", "8"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient a(dir), b(dir), c(dir);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 3; }, 5s));
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1))));
  b.drain(300);
  c.drain(300);
  const Bytes unicast = frame(mac(1), mac(2), 46, 5);
  ASSERT_TRUE(b.send(unicast));
  EXPECT_EQ(a.recv(), unicast);
  EXPECT_EQ(c.recv(), unicast) << "a hub repeats unicast to every port";
  EXPECT_EQ(vde_open_in_child(dir + "[8]", 0), 1);
}

}  // namespace
}  // namespace vswitch::test
