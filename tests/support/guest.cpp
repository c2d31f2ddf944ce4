#include "guest.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  };
  argv.insert(argv.end(), qemu.begin(), qemu.end());
  std::string device =
      (s.nic == "e1000" ? "e1000" : "virtio-net-pci") + std::string(",netdev=n0,mac=") + s.mac;
  if (s.netdev.starts_with("vhost-user,")) {
    const std::string opts = s.netdev.substr(std::string("vhost-user,").size());
    const size_t comma = opts.find(',');
    const std::string path = opts.substr(5, comma == std::string::npos ? comma : comma - 5);
    const bool listens = opts.find("server=on") != std::string::npos;
    argv.insert(argv.end(), {"-object", "memory-backend-memfd,id=mem,size=128M,share=on", "-numa",
                             "node,memdev=mem", "-chardev",
                             "socket,id=c0,path=" + path + (listens ? ",server=on,wait=off" : ""),
                             "-netdev", "vhost-user,id=n0,chardev=c0"});
    device += ",vectors=0";
  } else {
    argv.insert(argv.end(), {"-netdev", s.netdev + ",id=n0"});
  }
  argv.insert(argv.end(), {"-device", device});
  if (!s.agent.empty()) {
    agent_ = s.agent;
    argv.insert(argv.end(), {"-serial", "unix:" + s.agent + ",server=on,wait=off"});
  }
  pid_ = spawn(argv);
}

Guest::~Guest() {
  if (agent_fd_ >= 0) close(agent_fd_);
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

namespace vswitch::test {

std::optional<bool> Guest::probe(const std::string& command, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (agent_fd_ < 0) {
    wait_until(
        [&] {
          agent_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
          sockaddr_un a{};
          a.sun_family = AF_UNIX;
          agent_.copy(a.sun_path, sizeof a.sun_path - 1);
          if (connect(agent_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
          close(agent_fd_);
          agent_fd_ = -1;
          return false;
        },
        timeout);
    if (agent_fd_ < 0) return std::nullopt;
  }
  if (!agent_synced_) {
    // Bytes sent before the guest set its port up are lost: ask until something answers.
    while (!agent_synced_ && std::chrono::steady_clock::now() < deadline)
      agent_synced_ = exchange("sync", 1s).has_value();
    if (!agent_synced_) return std::nullopt;
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  const auto answer = exchange(command, left);
  if (!answer) return std::nullopt;
  return *answer == "0";
}

std::optional<std::string> Guest::exchange(const std::string& command,
                                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string line = command + "\n";
  if (write(agent_fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return std::nullopt;
  }
  // The answer names the command; what came before it (a late answer) is skipped.
  const std::string marker = "VSW-R " + command.substr(0, command.find(' ')) + " ";
  while (std::chrono::steady_clock::now() < deadline) {
    for (size_t nl; (nl = agent_input_.find('\n')) != std::string::npos;) {
      const std::string answer = agent_input_.substr(0, nl);
      agent_input_.erase(0, nl + 1);
      if (answer.rfind(marker, 0) == 0) return answer.substr(marker.size());
    }
    pollfd p{agent_fd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) != 1) break;
    char buf[256];
    const ssize_t n = read(agent_fd_, buf, sizeof buf);
    if (n <= 0) break;
    agent_input_.append(buf, static_cast<size_t>(n));
  }
  return std::nullopt;
}

}  // namespace vswitch::test
