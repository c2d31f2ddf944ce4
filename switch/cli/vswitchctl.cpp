// vswitchctl: sends one command to vswitchd's control socket and prints the reply.
// Exit status: 0 done, 1 the switch refused the command, 2 usage, 3 no switch to talk to.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "control_path.hpp"
#include "top.hpp"
#include "value.hpp"

using vswitch::daemon::Value;

namespace {

constexpr int kTimeoutMs = 10000;

void usage(FILE* to) {
  fprintf(to,
          "Usage: vswitchctl [-s|--socket PATH] [--json] COMMAND [ARGS...] [--json]\n"
          "Talks to a running vswitchd (default socket %s).\n"
          "  vswitchctl top [--interval S] [--once] [--json]   live rates of every port\n"
          "Run `vswitchctl help` for the commands.\n",
          vswitch::daemon::default_control_path().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = vswitch::daemon::default_control_path();
  bool json = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    // --json anywhere, so `vswitchctl dhcp leases --json` reads as it is written; no command
    // takes it as an argument.
    if (a == "--json") {
      json = true;
    } else if (!args.empty()) {
      args.push_back(a);
    } else if ((a == "-s" || a == "--socket") && i + 1 < argc) {
      path = argv[++i];
    } else if (a.rfind("--socket=", 0) == 0) {
      path = a.substr(9);
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "vswitchctl: unknown option '%s'\n", a.c_str());
      return 2;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  if (args[0] == "top") return vswitch::cli::run_top(path, args, json);

  Value argv_value = Value::array();
  for (auto& a : args)
    argv_value.push(a);
  Value req = Value::object();
  req.set("args", std::move(argv_value)).set("format", json ? "json" : "text");
  const std::string request = req.json() + "\n";

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    fprintf(stderr, "vswitchctl: socket path too long\n");
    return 2;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fprintf(stderr, "vswitchctl: cannot reach vswitchd at %s: %s\n", path.c_str(), strerror(errno));
    return 3;
  }
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    fprintf(stderr, "vswitchctl: send: %s\n", strerror(errno));
    return 3;
  }
  std::string reply;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kTimeoutMs) <= 0) {
      fprintf(stderr, "vswitchctl: no reply from vswitchd within %d s\n", kTimeoutMs / 1000);
      return 3;
    }
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t nl = reply.find('\n');
  const std::string status = reply.substr(0, nl);
  const std::string body = nl == std::string::npos ? "" : reply.substr(nl + 1);
  if (status == "ok") {
    fputs(body.c_str(), stdout);
    return 0;
  }
  if (status == "error") {
    fprintf(stderr, "vswitchctl: %s", body.c_str());
    return 1;
  }
  fprintf(stderr, "vswitchctl: malformed reply from vswitchd\n");
  return 3;
}
