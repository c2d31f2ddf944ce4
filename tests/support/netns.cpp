#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

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

bool enter_netns(const std::string& name, bool with_files) {
  const int fd = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool in = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
  if (!in || !with_files) return in;
  if (unshare(CLONE_NEWNS) != 0 || mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    return false;
  }
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator("/etc/netns/" + name, ec)) {
    const std::string target = "/etc/" + f.path().filename().string();
    if (mount(f.path().c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) return false;
  }
  return true;
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
