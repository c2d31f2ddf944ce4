// Least privilege: vswitchd --user opens its ports as root and then runs as the user, keeping
// only the capabilities a running port needs, on every thread; and readiness over
// NOTIFY_SOCKET, as systemd's Type=notify hears it. The kernel's own view (/proc/PID/task/*/
// status) is what is checked, and the ports must still carry traffic afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "../support/netns.hpp"
#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kNetRaw = uint64_t{1} << CAP_NET_RAW;
constexpr uid_t kNobody = 65534;

// The fields of one thread's /proc status.
std::map<std::string, std::string> thread_status(pid_t pid, const std::string& tid) {
  std::map<std::string, std::string> fields;
  for (const std::string& line :
       lines_of(slurp("/proc/" + std::to_string(pid) + "/task/" + tid + "/status"))) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    std::string text = value == std::string::npos ? "" : line.substr(value);
    text.erase(text.find_last_not_of(" \t") + 1);
    fields[line.substr(0, colon)] = text;
  }
  return fields;
}

std::vector<std::string> threads_of(pid_t pid) {
  std::vector<std::string> tids;
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    tids.push_back(e.path().filename().string());
  }
  return tids;
}

uint64_t hex(const std::string& text) {
  return std::stoull(text, nullptr, 16);
}

// Every thread of `pid` runs as `uid` (real, effective, saved, file system) and in `uid`'s group
// (and `groups`), with no_new_privs; the main thread holds exactly `main_caps`, the others none;
// the bounding set is `bounding` on every thread, when given.
void expect_dropped(pid_t pid, uid_t uid, uint64_t main_caps, std::optional<uint64_t> bounding,
                    const std::string& groups = std::to_string(kNobody)) {
  const std::string id = std::to_string(uid);
  const std::string ids = id + "\t" + id + "\t" + id + "\t" + id;
  const std::vector<std::string> tids = threads_of(pid);
  ASSERT_GE(tids.size(), 2u) << "DPDK's threads are part of the check";
  for (const std::string& tid : tids) {
    auto st = thread_status(pid, tid);
    const uint64_t want = tid == std::to_string(pid) ? main_caps : 0;
    SCOPED_TRACE("thread " + tid + " (" + st["Name"] + ")");
    EXPECT_EQ(st["Uid"], ids);
    EXPECT_EQ(st["Gid"], ids);
    EXPECT_EQ(st["Groups"], groups);
    EXPECT_EQ(hex(st["CapEff"]), want);
    EXPECT_EQ(hex(st["CapPrm"]), want);
    EXPECT_EQ(hex(st["CapInh"]), 0u);
    EXPECT_EQ(hex(st["CapAmb"]), 0u);
    if (bounding) {
      EXPECT_EQ(hex(st["CapBnd"]), *bounding);
    }
    EXPECT_EQ(st["NoNewPrivs"], "1");
  }
}

uid_t owner(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

// Kills a process the test started by its PID, unless it was reaped already.
struct KillOnExit {
  pid_t pid;
  ~KillOnExit() {
    if (!wait_exit(pid, 0ms)) {
      kill(pid, SIGKILL);
      wait_exit(pid, 5s);
    }
  }
};

bool pings(Netns& ns, const std::string& to) {
  return ns.exec({"/bin/ping", "-c", "1", "-W", "3", to}).status == 0;
}

class Privileges : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!can_use_netns()) GTEST_SKIP() << "needs root and iproute2";
    switch_ns_ = std::make_unique<Netns>(unique_ifname("vspriv"));
    lan_ns_ = std::make_unique<Netns>(unique_ifname("vsplan"));
  }
  // The switch's namespace: loopback up, and ping sockets closed to everyone (the default of a
  // new namespace, said here so the test does not depend on it) unless `ping_groups` opens them.
  void set_up_switch_ns(const std::string& ping_groups = "1 0") {
    ASSERT_EQ(ip({"-n", switch_ns_->name(), "link", "set", "lo", "up"}).status, 0);
    ASSERT_EQ(switch_ns_
                  ->exec({"/bin/sh", "-c",
                          "echo " + ping_groups + " > /proc/sys/net/ipv4/ping_group_range"})
                  .status,
              0);
  }
  // The tap `tap` of the switch moved into the LAN namespace as a guest of the NAT network.
  void make_guest_of(const std::string& tap) {
    ASSERT_EQ(ip({"-n", switch_ns_->name(), "link", "set", tap, "netns", lan_ns_->name()}).status,
              0);
    const std::string lan = lan_ns_->name();
    ASSERT_EQ(ip({"-n", lan, "addr", "add", "10.0.2.15/24", "dev", tap}).status, 0);
    ASSERT_EQ(ip({"-n", lan, "link", "set", tap, "up"}).status, 0);
    ASSERT_EQ(ip({"-n", lan, "route", "add", "default", "via", "10.0.2.2"}).status, 0);
  }

  std::unique_ptr<Netns> switch_ns_;
  std::unique_ptr<Netns> lan_ns_;
  TempDir tmp_;
};

// A tap vswitchd creates and an uplink's AF_PACKET socket need privileges to open and none
// afterwards: the LAN pings the host's tap through the uplink with the switch holding nothing.
TEST_F(Privileges, TapAndUplinkOpenAsRootAndRunWithNoCapabilityAsNobody) {
  set_up_switch_ns();
  const std::string tap = unique_ifname("vspt"), up = unique_ifname("vspu"),
                    lan = unique_ifname("vspl");
  ASSERT_EQ(ip({"link", "add", up, "type", "veth", "peer", "name", lan}).status, 0);
  ASSERT_EQ(ip({"link", "set", up, "netns", switch_ns_->name()}).status, 0);
  ASSERT_EQ(ip({"-n", switch_ns_->name(), "link", "set", up, "up"}).status, 0);
  ASSERT_TRUE(lan_ns_->adopt(lan, "10.79.0.2/24"));
  const std::string vde = tmp_.file("sw"), leases = tmp_.file("default.leases"),
                    console = tmp_.file("mgmt");
  Vswitchd vs({"--vde", vde, "-M", console, "--port", "tap,ifname=" + tap + ",address=10.79.0.1/24",
               "--port", "uplink,ifname=" + up, "--segment",
               "default,dhcp=10.79.0.100-10.79.0.110,dhcp-leases=" + leases, "--user", "nobody"},
              in_netns(switch_ns_->name()));
  ASSERT_TRUE(vs.ready()) << vs.log();
  expect_dropped(vs.pid(), kNobody, 0, 0);
  EXPECT_THAT(vs.log(), HasSubstr("running as nobody:"));
  EXPECT_THAT(vs.log(), HasSubstr("with no capabilities"));

  EXPECT_TRUE(pings(*lan_ns_, "10.79.0.1")) << vs.log();
  EXPECT_GE(vs.port_counter(up, "in_packets"), 1);
  EXPECT_GE(vs.port_counter(tap, "in_packets"), 1);
  // What the daemon made and must still use and remove is the user's now.
  EXPECT_EQ(owner(vs.socket()), kNobody);
  EXPECT_EQ(owner(vde), kNobody);
  EXPECT_EQ(owner(vde + "/ctl"), kNobody);
  EXPECT_EQ(owner(console), kNobody);
  EXPECT_EQ(owner(leases), kNobody);
  EXPECT_EQ(vde_open_in_child(vde, 0), 0) << "a root client";
  EXPECT_EQ(vde_open_in_child(vde, 0, static_cast<int>(kNobody)), 0) << "a client of the user";

  // A port that needs what was given up is refused, saying so, and the switch goes on.
  std::string error;
  EXPECT_FALSE(vs.try_ctl({"port", "add", "tap,ifname=" + unique_ifname("vspx")}, &error));
  EXPECT_THAT(error, HasSubstr("CAP_NET_ADMIN"));
  EXPECT_THAT(error, HasSubstr("runs as nobody since start-up (--user) with no capabilities"));
  EXPECT_TRUE(vs.try_ctl({"version"}, &error).has_value()) << error;

  EXPECT_EQ(vs.stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(vde)) << "the user removes what it was given";
  EXPECT_FALSE(std::filesystem::exists(vs.socket()));
  EXPECT_FALSE(std::filesystem::exists(console));
  EXPECT_NE(ip({"-n", switch_ns_->name(), "link", "show", tap}).status, 0) << "the tap outlived us";
}

// libslirp forwards a guest's ping through a raw ICMP socket when ping sockets are closed to the
// user: then, and only then, the switch keeps CAP_NET_RAW, and the guest's ping goes through.
TEST_F(Privileges, NatKeepsCapNetRawForGuestsPingsAndNothingElse) {
  set_up_switch_ns();
  ASSERT_EQ(ip({"-n", switch_ns_->name(), "addr", "add", "10.79.9.1/32", "dev", "lo"}).status, 0);
  const std::string guest = unique_ifname("vspg");
  Vswitchd vs({"--vde", tmp_.file("sw"), "--segment", "default,network=nat", "--port",
               "tap,ifname=" + guest + ",role=vm", "--user", "nobody"},
              in_netns(switch_ns_->name()));
  ASSERT_TRUE(vs.ready()) << vs.log();
  expect_dropped(vs.pid(), kNobody, kNetRaw, kNetRaw);
  EXPECT_THAT(vs.log(), HasSubstr("keeping CAP_NET_RAW (nat port default-nat: libslirp"));
  make_guest_of(guest);
  EXPECT_TRUE(pings(*lan_ns_, "10.79.9.1")) << vs.log();
}

TEST_F(Privileges, NatNeedsNoCapabilityWhenPingSocketsAreOpenToTheUser) {
  set_up_switch_ns("0 2147483647");
  ASSERT_EQ(ip({"-n", switch_ns_->name(), "addr", "add", "10.79.9.1/32", "dev", "lo"}).status, 0);
  const std::string guest = unique_ifname("vspg");
  Vswitchd vs({"--vde", tmp_.file("sw"), "--segment", "default,network=nat", "--port",
               "tap,ifname=" + guest + ",role=vm", "--user", "nobody"},
              in_netns(switch_ns_->name()));
  ASSERT_TRUE(vs.ready()) << vs.log();
  expect_dropped(vs.pid(), kNobody, 0, 0);
  make_guest_of(guest);
  EXPECT_TRUE(pings(*lan_ns_, "10.79.9.1")) << vs.log();
}

// As systemd starts it with User= and AmbientCapabilities=: never root, and --user naming the
// user it already is sheds what no port needs, on DPDK's thread too.
TEST_F(Privileges, AlreadyTheUserItOnlyShedsCapabilities) {
  const std::string setpriv = "/usr/bin/setpriv";
  if (access(setpriv.c_str(), X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
  set_up_switch_ns();
  const std::string binary = tmp_.file("vswitchd"), sock = tmp_.file("ctl.sock"),
                    log = tmp_.file("log"), tap = unique_ifname("vspa");
  std::filesystem::copy_file(vswitchd_path(), binary);  // nobody may not enter the build tree
  const std::string ns = switch_ns_->name();
  const pid_t pid =
      spawn({setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=+net_admin,+net_raw", "--ambient-caps=+net_admin,+net_raw", binary,
             "--control", sock, "--vde", tmp_.file("sw"), "--segment", "default,network=nat",
             "--port", "tap,ifname=" + tap, "--user", "nobody"},
            log, log, [&ns] {
              if (!enter_netns(ns)) _exit(123);
            });
  KillOnExit guard{pid};
  const bool answered = wait_until([&] { return control(sock, {"version"}).has_value(); }, 20s);
  EXPECT_TRUE(answered) << slurp(log);
  if (answered) {
    // The tap needed CAP_NET_ADMIN to be made; the NAT port keeps CAP_NET_RAW.
    EXPECT_EQ(ip({"-n", ns, "link", "show", tap}).status, 0);
    expect_dropped(pid, kNobody, kNetRaw, std::nullopt, "");  // setpriv --clear-groups
    EXPECT_THAT(slurp(log), HasSubstr("bounding set left as given (no CAP_SETPCAP)"));
  }
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 10s), std::optional<int>(0)) << slurp(log);
}

TEST(PrivilegeOptions, AnUnknownUserOrGroupIsAnOptionError) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--user", "no-such-user-here"},
        std::vector<std::string>{"--user", "nobody:no-such-group-here"},
        std::vector<std::string>{"--user", "4242424"}, std::vector<std::string>{"--user", ":"}}) {
    auto r = run_program({vswitchd_path(), args[0], args[1]});
    EXPECT_EQ(r.status, 2) << args[1];
    EXPECT_THAT(r.err, HasSubstr("--user '" + args[1] + "'"));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(PrivilegeOptions, TheConfigFileTakesUserAndANonRootStartIsRefused) {
  TempDir tmp;
  const std::string conf = tmp.file("vswitchd.conf");
  { std::ofstream(conf) << "user = no-such-user-here\n"; }
  auto r = run_program({vswitchd_path(), "--config", conf});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("no user named 'no-such-user-here'"));
  if (geteuid() != 0) {
    auto other = run_program({vswitchd_path(), "--user", "root"});
    EXPECT_EQ(other.status, 2);
    EXPECT_THAT(other.err, HasSubstr("only root may become another user"));
  }
}

// dist/vswitchd.conf as installed, but for its directories and user: it must start as is.
TEST(SampleConfig, StartsAsIs) {
  TempDir tmp;
  std::string text = slurp(std::string(VSWITCH_SOURCE_DIR) + "/dist/vswitchd.conf");
  ASSERT_THAT(text, HasSubstr("user = vswitchd\n"));
  for (size_t at; (at = text.find("/run/vswitchd")) != std::string::npos;)
    text.replace(at, 13, tmp.path());
  text.replace(text.find("user = vswitchd\n"), 16, geteuid() == 0 ? "user = nobody\n" : "");
  std::ofstream(tmp.file("vswitchd.conf")) << text;
  const std::string log = tmp.file("log");
  const pid_t pid = spawn({vswitchd_path(), "--config", tmp.file("vswitchd.conf")}, log, log);
  KillOnExit guard{pid};
  EXPECT_TRUE(
      wait_until([&] { return control(tmp.file("vswitchd.sock"), {"version"}).has_value(); }, 20s))
      << slurp(log);
  EXPECT_EQ(vde_open_in_child(tmp.file("vde.ctl"), 0), 0) << slurp(log);
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 10s), std::optional<int>(0)) << slurp(log);
}

// A datagram socket standing in for systemd's: a path, or an abstract name ("@...").
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : name_(name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    if (name[0] == '/') chmod(name.c_str(), 0777);  // so a switch dropped to nobody may send
  }
  ~NotifySocket() { close(fd_); }
  bool bound() const { return bound_; }
  const std::string& name() const { return name_; }
  // The next datagram, or nullopt after the timeout.
  std::optional<std::string> next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::nullopt : std::optional<std::string>(std::string(buf, size_t(n)));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

// READY=1 comes once the control socket answers (and, from root, once --user took effect), and
// STOPPING=1 on SIGTERM, before the daemon exits.
void check_notifications(const std::string& socket_name, const TempDir& tmp) {
  NotifySocket notify(socket_name);
  ASSERT_TRUE(notify.bound()) << strerror(errno);
  const std::string sock = tmp.file("ctl.sock"), log = tmp.file("log");
  std::vector<std::string> argv = {vswitchd_path(), "--control", sock, "--vde", tmp.file("sw")};
  if (geteuid() == 0) argv.insert(argv.end(), {"--user", "nobody"});
  const pid_t pid =
      spawn(argv, log, log, [&notify] { setenv("NOTIFY_SOCKET", notify.name().c_str(), 1); });
  KillOnExit guard{pid};
  const auto ready = notify.next(20s);
  ASSERT_EQ(ready, std::optional<std::string>("READY=1")) << slurp(log);
  std::string error;
  EXPECT_TRUE(control(sock, {"version"}, &error).has_value()) << "ready, and yet: " << error;
  if (geteuid() == 0) {
    EXPECT_EQ(thread_status(pid, std::to_string(pid))["Uid"], "65534\t65534\t65534\t65534");
  }
  EXPECT_EQ(notify.next(300ms), std::nullopt) << "one READY=1, nothing more while running";
  kill(pid, SIGTERM);
  EXPECT_EQ(notify.next(10s), std::optional<std::string>("STOPPING=1"));
  EXPECT_EQ(wait_exit(pid, 10s), std::optional<int>(0)) << slurp(log);
}

TEST(ServiceNotify, ReadyOnceTheControlSocketAnswersAndStoppingOnSigterm) {
  TempDir tmp;
  check_notifications(tmp.file("notify"), tmp);
}

TEST(ServiceNotify, AnAbstractSocketNameToo) {
  TempDir tmp;
  check_notifications("@vswitchd-test-notify-" + std::to_string(getpid()), tmp);
}

}  // namespace
}  // namespace vswitch::test
