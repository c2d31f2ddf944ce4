#include "modes_world.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <fstream>

namespace vswitch::test {

namespace {
constexpr const char* kIp = "/usr/sbin/ip";
}

ModesWorld::ModesWorld()
    : host_(std::make_unique<Netns>(unique_ifname("vmh"))),
      lan_(std::make_unique<Netns>(unique_ifname("vml"))),
      dev_(std::make_unique<Netns>(unique_ifname("vmd"))),
      inet_(std::make_unique<Netns>(unique_ifname("vmi"))) {
  for (Netns* ns : {host_.get(), lan_.get(), dev_.get(), inet_.get()})
    run(*ns, {kIp, "link", "set", "lo", "up"});
  // The LAN: a bridge in `lan`, with one veth to each of dev and host, and the host's uplink.
  run(*lan_, {kIp, "link", "add", "br0", "type", "bridge", "forward_delay", "0"});
  run(*lan_, {kIp, "addr", "add", std::string(kLanRouter) + "/24", "dev", "br0"});
  run(*lan_, {kIp, "link", "set", "br0", "up"});
  const struct {
    const char* lan_end;
    Netns* peer;
    const char* peer_end;
    const char* cidr;  // of the peer's end, if any
  } links[] = {{"ld0", dev_.get(), "dv0", "10.10.0.5/24"},
               {"lh0", host_.get(), "hl0", "10.10.0.2/24"},
               {"lu0", host_.get(), kUplink, nullptr}};
  for (const auto& l : links) {
    run(*lan_, {kIp, "link", "add", l.lan_end, "type", "veth", "peer", "name", l.peer_end, "netns",
                l.peer->name()});
    run(*lan_, {kIp, "link", "set", l.lan_end, "master", "br0", "up"});
    if (l.cidr) run(*l.peer, {kIp, "addr", "add", l.cidr, "dev", l.peer_end});
    run(*l.peer, {kIp, "link", "set", l.peer_end, "up"});
  }
  run(*dev_, {kIp, "route", "add", "default", "via", kLanRouter});
  run(*host_, {kIp, "route", "add", "default", "via", kLanRouter});
  // The way to the Internet: lan routes between the LAN and inet.
  run(*lan_,
      {kIp, "link", "add", "li0", "type", "veth", "peer", "name", "il0", "netns", inet_->name()});
  run(*lan_, {kIp, "addr", "add", "10.20.0.1/24", "dev", "li0"});
  run(*lan_, {kIp, "link", "set", "li0", "up"});
  run(*lan_, {"/usr/sbin/sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
  run(*inet_, {kIp, "addr", "add", std::string(kInternetServer) + "/24", "dev", "il0"});
  run(*inet_, {kIp, "link", "set", "il0", "up"});
  run(*inet_, {kIp, "route", "add", "default", "via", "10.20.0.1"});
  // The host does not forward (a new namespace's default), as the tutorial's host does not; the
  // NAT's ICMP sockets need the ping group range open for the switch's user.
  run(*host_, {"/usr/sbin/sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"});
  std::ofstream(www_.file("index.html")) << "vswitchd modes world\n";
  serve(*dev_, kLanDevice);
  serve(*inet_, kInternetServer);
}

ModesWorld::~ModesWorld() {
  for (pid_t pid : servers_) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
}

void ModesWorld::run(Netns& ns, const std::vector<std::string>& argv) {
  const RunResult r = ns.exec(argv);
  if (r.status != 0 && failure_.empty()) {
    failure_ = "in " + ns.name() + ":";
    for (const std::string& a : argv)
      failure_ += " " + a;
    failure_ += ": " + r.err;
  }
}

void ModesWorld::serve(Netns& ns, const std::string& address) {
  servers_.push_back(spawn({kIp, "netns", "exec", ns.name(), "/bin/busybox", "httpd", "-f", "-p",
                            address + ":" + std::to_string(kServicePort), "-h", www_.path()}));
  if (!wait_until([&] { return connects(ns, address); }, 10s) && failure_.empty()) {
    failure_ = "the server on " + address + " did not come up";
  }
}

bool ModesWorld::pings(Netns& from, const std::string& ip) {
  // Two tries, each with its own deadline: the first may wait for ARP.
  for (int i = 0; i < 2; ++i) {
    if (from.exec({"/usr/bin/ping", "-n", "-q", "-c", "1", "-W", "2", ip}, 10s).status == 0) {
      return true;
    }
  }
  return false;
}

bool ModesWorld::connects(Netns& from, const std::string& ip) {
  return from.exec({"/bin/busybox", "nc", "-w", "3", ip, std::to_string(kServicePort)}, 10s)
             .status == 0;
}

}  // namespace vswitch::test
