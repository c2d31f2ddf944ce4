#include "guest.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace vswitch::test {

std::string guest_kit(std::string* why) {
  static std::string dir, failure;
  static bool tried = false;
  if (!tried) {
    tried = true;
    auto r = run_program({"/bin/bash", GUEST_BUILD_SCRIPT}, 600s);
    if (r.status == 0) {
      std::istringstream out(r.out);
      for (std::string line; std::getline(out, line);) {
        if (!line.empty()) dir = line;  // the last line names the directory
      }
    } else {
      failure = "scripts/guest/build.sh failed (" + std::to_string(r.status) + "): " + r.err;
    }
  }
  if (why) *why = failure;
  return dir;
}

Guest::Guest(const std::string& kit, const GuestSpec& s, const std::string& log_path)
    : log_(log_path) {
  std::string append = "console=ttyS0 quiet panic=-1 vsw.ip=" + s.ip + " vsw.peer=" + s.peer +
                       " vsw.role=" + (s.server ? "server" : "client") +
                       (s.more.empty() ? "" : " " + s.more);
  std::vector<std::string> argv;
  if (!s.netns.empty()) argv = {"/usr/sbin/ip", "netns", "exec", s.netns};
  const std::vector<std::string> qemu = {
      "/usr/bin/qemu-system-x86_64",
      "-accel",
      "tcg",
      "-nodefaults",
      "-display",
      "none",
      "-no-reboot",
      "-m",
      "128",
      "-serial",
      "file:" + log_path,
      "-kernel",
      kit + "/vmlinux",
      "-initrd",
      kit + "/initrd.gz",
      "-append",
      append,
      "-netdev",
      s.netdev + ",id=n0",
      "-device",
      (s.nic == "e1000" ? "e1000" : "virtio-net-pci") + std::string(",netdev=n0,mac=") + s.mac};
  argv.insert(argv.end(), qemu.begin(), qemu.end());
  pid_ = spawn(argv);
}

Guest::~Guest() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool Guest::running() {
  return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
}

std::string Guest::console() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Guest::wait_for(const std::string& marker, std::chrono::milliseconds timeout) {
  return wait_until([&] { return console().find(marker) != std::string::npos; }, timeout);
}

}  // namespace vswitch::test
