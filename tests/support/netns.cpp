#include "netns.hpp"

#include <unistd.h>

namespace vswitch::test {

namespace {
std::string ip_binary() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return "";
}
}  // namespace

bool can_use_netns() {
  return geteuid() == 0 && !ip_binary().empty();
}

RunResult ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ip_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, 20s);
}

std::string unique_ifname(const std::string& prefix) {
  static int serial = 0;
  return prefix + std::to_string(getpid() % 100000) + std::to_string(serial++);
}

Netns::Netns(std::string name) : name_(std::move(name)) {
  ip({"netns", "add", name_});
}

Netns::~Netns() {
  ip({"netns", "del", name_});
}

RunResult Netns::exec(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::vector<std::string> full = {ip_binary(), "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_program(full, timeout);
}

bool Netns::adopt(const std::string& link, const std::string& cidr) {
  return ip({"link", "set", link, "netns", name_}).status == 0 &&
         ip({"-n", name_, "addr", "add", cidr, "dev", link}).status == 0 &&
         ip({"-n", name_, "link", "set", link, "up"}).status == 0;
}

}  // namespace vswitch::test
