// User networking with real guests: QEMU guests on VDE and on a QEMU stream backend in one
// `network=nat` segment take leases from the NAT, resolve a name through it, fetch a file from
// the host through its gateway, and serve the host through hostfwd. The "host" is a network
// namespace of the test's own: its loopback holds the HTTP server and the resolver the NAT
// forwards to, so no packet leaves this machine. The switch runs as nobody.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "../support/guest.hpp"
#include "../support/netns.hpp"

namespace vswitch::test {
namespace {

constexpr auto kGuestTimeout = 180s;
constexpr const char* kName = "files.vswitch.test";
constexpr const char* kAnswer = "192.0.2.53";  // TEST-NET-1: only ever an answer, never a target

// A DNS server on the namespace's loopback that answers every A query with kAnswer.
class Resolver {
 public:
  explicit Resolver(const std::string& netns) {
    thread_ = std::thread([this, netns] { serve(netns); });
    wait_until([this] { return ready_.load(); }, 5s);
  }
  ~Resolver() {
    stop_ = true;
    thread_.join();
  }
  int answered() const { return answered_; }

 private:
  void serve(const std::string& netns) {
    if (!enter_netns(netns, false)) return;
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    ready_ = true;
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      uint8_t q[512];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = recvfrom(fd, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12 + 5) continue;
      std::vector<uint8_t> r(q, q + n);
      r[2] = 0x81;  // a response, recursion desired and available
      r[3] = 0x80;
      const bool type_a = q[n - 4] == 0 && q[n - 3] == 1;
      r[7] = type_a ? 1 : 0;  // one answer to an A query, none to the rest
      r[8] = r[9] = r[10] = r[11] = 0;
      if (type_a) {
        const uint8_t answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
        r.insert(r.end(), answer, answer + sizeof answer);
        in_addr addr{};
        inet_pton(AF_INET, kAnswer, &addr);
        const auto* b = reinterpret_cast<const uint8_t*>(&addr);
        r.insert(r.end(), b, b + 4);
      }
      sendto(fd, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      ++answered_;
    }
    close(fd);
  }

  std::thread thread_;
  std::atomic<bool> ready_{false}, stop_{false};
  std::atomic<int> answered_{0};
};

// busybox httpd on the namespace's loopback, serving a random file and its md5.
class HostServer {
 public:
  HostServer(const std::string& netns, const std::string& dir, uint16_t port) {
    run_program({"/bin/sh", "-c",
                 "head -c 4194304 /dev/urandom > " + dir + "/blob && md5sum " + dir +
                     "/blob | cut -d' ' -f1 > " + dir + "/blob.md5"});
    pid_ = spawn({"/usr/sbin/ip", "netns", "exec", netns, "/bin/busybox", "httpd", "-f", "-p",
                  "127.0.0.1:" + std::to_string(port), "-h", dir});
  }
  ~HostServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_;
};

std::string lease_of(const Guest& g) {
  std::smatch m;
  const std::string c = g.console();
  return std::regex_search(c, m, std::regex("VSW-LEASE ip=([0-9.]+)")) ? m[1].str() : "";
}

class NatGuests : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2 for the host's namespace";
    kit_ = guest_kit(&why_);
    if (kit_.empty()) GTEST_SKIP() << why_;
    ns_ = std::make_unique<Netns>(unique_ifname("vsnat"));
    ns_->exec({"/usr/sbin/ip", "link", "set", "lo", "up"});
    etc_ = "/etc/netns/" + ns_->name();
    std::filesystem::create_directories(etc_);
    std::ofstream(etc_ + "/resolv.conf") << "nameserver 127.0.0.1\n";
  }
  void TearDown() override {
    if (!etc_.empty()) std::filesystem::remove_all(etc_);
  }

  // The switch, as nobody, in the host's namespace: a VDE directory and a unix stream server.
  std::unique_ptr<Vswitchd> start(const std::string& segment) {
    auto vs = std::make_unique<Vswitchd>(
        std::vector<std::string>{
            "-s", tmp_.file("sw"), "-m", "0666", "--segment", segment, "--port",
            "stream,server=on,mode=0666,addr.type=unix,addr.path=" + tmp_.file("stream.sock")},
        [&] {
          DaemonOptions o = as_nobody();
          o.netns = ns_->name();
          return o;
        }());
    EXPECT_TRUE(vs->ready()) << vs->log();
    return vs;
  }
  GuestSpec on_vde(const std::string& mac) {
    return {"vde,sock=" + tmp_.file("sw"), "virtio", mac, "dhcp", "", false, "", "", ""};
  }
  GuestSpec on_stream(const std::string& mac) {
    return {"stream,server=off,addr.type=unix,addr.path=" + tmp_.file("stream.sock"),
            "virtio",
            mac,
            "dhcp",
            "",
            false,
            "",
            "",
            ""};
  }
  // A GET from the host's namespace; the body, or empty. (busybox 1.35's wget crashes with -T;
  // exec's own timeout bounds it.)
  std::string host_get(uint16_t port, const std::string& path) {
    return ns_
        ->exec({"/bin/busybox", "wget", "-q", "-O", "-",
                "http://127.0.0.1:" + std::to_string(port) + path},
               10s)
        .out;
  }

  std::string kit_, why_, etc_;
  std::unique_ptr<Netns> ns_;
  TempDir tmp_;
};

TEST_F(NatGuests, GuestsGetLeasesANameAWayOutAndHostfwdButNotEachOther) {
  TempDir www;
  HostServer http(ns_->name(), www.path(), 8080);
  Resolver dns(ns_->name());
  auto vs = start("default,network=nat");
  // The server first, so that it is the first to ask for a lease.
  GuestSpec s = on_stream("52:54:00:00:00:02");
  s.server = true;
  s.more = "vsw.name=web";
  Guest server(kit_, s, tmp_.file("server.log"));
  ASSERT_TRUE(server.wait_for("VSW-READY", kGuestTimeout)) << server.console() << vs->log();
  const std::string server_ip = lease_of(server);
  ASSERT_FALSE(server_ip.empty()) << server.console();

  GuestSpec c = on_vde("52:54:00:00:00:01");
  c.more = std::string("vsw.name=client vsw.ping=skip vsw.url=http://10.0.2.2:8080 vsw.resolve=") +
           kName + " vsw.probe=" + server_ip;
  Guest client(kit_, c, tmp_.file("client.log"));
  ASSERT_TRUE(client.wait_for("VSW-DONE", kGuestTimeout)) << client.console() << vs->log();
  const std::string out = client.console();
  const std::string client_ip = lease_of(client);
  EXPECT_NE(client_ip, server_ip);
  EXPECT_NE(out.find("router=10.0.2.2 dns=10.0.2.3"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("VSW-RESOLVE-OK addr=") + kAnswer), std::string::npos) << out;
  EXPECT_GT(dns.answered(), 0);
  EXPECT_NE(out.find("VSW-XFER-OK bytes=4194304"), std::string::npos) << out << vs->log();
  // In policy=nat the guests reach the NAT and not each other.
  EXPECT_NE(out.find("VSW-PROBE-FAIL"), std::string::npos) << out;

  // The leases the NAT gave, as vswitchctl lists them.
  const Value nat = vs->ctl({"port", "show", "default-nat"});
  const Value* details = nat.get("details");
  ASSERT_TRUE(details);
  EXPECT_EQ(details->get("lease 52:54:00:00:00:01")->as_string(), client_ip + " client");
  EXPECT_EQ(details->get("lease 52:54:00:00:00:02")->as_string(), server_ip + " web");

  // hostfwd: the host reaches the server guest's HTTP through a port on its own loopback.
  vs->ctl({"nat", "hostfwd", "add", "default-nat", "tcp:127.0.0.1:8081-" + server_ip + ":80"});
  std::string md5;
  wait_until([&] { return !(md5 = host_get(8081, "/blob.md5")).empty(); }, 20s);
  EXPECT_EQ(md5.size(), 33u) << "no answer through hostfwd";
}

// A NAT network whose guests also see each other, with no way out: restrict=on keeps hostfwd.
TEST_F(NatGuests, SharedNatNetworkRestrictedKeepsHostfwdAndGuestsSeeEachOther) {
  TempDir www;
  HostServer http(ns_->name(), www.path(), 8080);
  auto vs = start("default,network=nat,policy=vm-vm+vm-nat,restrict=on");
  GuestSpec s = on_vde("52:54:00:00:00:02");
  s.server = true;
  Guest server(kit_, s, tmp_.file("server.log"));
  ASSERT_TRUE(server.wait_for("VSW-READY", kGuestTimeout)) << server.console() << vs->log();
  const std::string server_ip = lease_of(server);
  ASSERT_FALSE(server_ip.empty()) << server.console();

  GuestSpec c = on_stream("52:54:00:00:00:01");
  c.more = "vsw.ping=skip vsw.url=http://10.0.2.2:8080 vsw.probe=" + server_ip;
  Guest client(kit_, c, tmp_.file("client.log"));
  ASSERT_TRUE(client.wait_for("VSW-DONE", kGuestTimeout)) << client.console() << vs->log();
  const std::string out = client.console();
  EXPECT_NE(out.find("VSW-XFER-FAIL"), std::string::npos) << "restrict=on let a guest out\n" << out;
  EXPECT_NE(out.find("VSW-PROBE-OK"), std::string::npos) << out;

  vs->ctl({"nat", "hostfwd", "add", "default-nat", "tcp:127.0.0.1:8081-" + server_ip + ":80"});
  std::string md5;
  wait_until([&] { return !(md5 = host_get(8081, "/blob.md5")).empty(); }, 20s);
  EXPECT_EQ(md5.size(), 33u) << "restrict=on cut hostfwd too";
}

}  // namespace
}  // namespace vswitch::test
