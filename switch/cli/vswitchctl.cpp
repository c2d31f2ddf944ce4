// vswitchctl: sends one command to vswitchd's control socket and prints the reply.
// Exit status: 0 done, 1 the switch refused the command, 2 usage, 3 no switch to talk to.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "control_path.hpp"
#include "pcapng_tally.hpp"
#include "top.hpp"
#include "value.hpp"

using vswitch::daemon::Value;

namespace {

constexpr int kTimeoutMs = 10000;

void usage(FILE* to) {
  fprintf(to,
          "Usage: vswitchctl [-s|--socket PATH] [--json] COMMAND [ARGS...] [--json]\n"
          "Talks to a running vswitchd (default socket %s).\n"
          "  vswitchctl capture PORT[,PORT...] [OPTIONS] -w FILE|-   pcapng until Ctrl-C\n"
          "  vswitchctl top [--interval S] [--once] [--json]   live rates of every port\n"
          "  vswitchctl trace PORT [--count N] [--filter EXPR]       each frame's path, until "
          "N or Ctrl-C\n"
          "  vswitchctl trace --synthetic PORT FRAME-HEX             what the switch would do\n"
          "Run `vswitchctl help` for the commands.\n",
          vswitch::daemon::default_control_path().c_str());
}

// -1: no switch there; -2: a path no socket can have.
int connect_to(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    fprintf(stderr, "vswitchctl: socket path too long\n");
    return -2;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fprintf(stderr, "vswitchctl: cannot reach vswitchd at %s: %s\n", path.c_str(), strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// Reads into `into` until it holds the status line (or EOF); false when the switch says nothing.
bool read_some(int fd, std::string& into, bool until_eof) {
  char buf[65536];
  for (;;) {
    if (!until_eof && into.find('\n') != std::string::npos) return true;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kTimeoutMs) <= 0) {
      fprintf(stderr, "vswitchctl: no reply from vswitchd within %d s\n", kTimeoutMs / 1000);
      return false;
    }
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    into.append(buf, static_cast<size_t>(n));
  }
  if (!until_eof && into.find('\n') == std::string::npos) {
    fprintf(stderr, "vswitchctl: malformed reply from vswitchd\n");
    return false;
  }
  return true;
}

bool read_status(int fd, std::string& into) {
  return read_some(fd, into, false);
}

bool read_all(int fd, std::string& into) {
  return read_some(fd, into, true);
}

volatile sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  g_interrupted = 1;
}

// A streaming reply (a capture's pcapng, a trace's lines) to the file or standard output, as it
// comes. Ctrl-C (or SIGTERM) closes our side of the socket: the switch ends the stream and sends
// its tail (a capture's statistics), so the file is whole. A capture's tally goes to standard
// error at the end.
int stream_to(int fd, const std::string& first, const std::string& output, bool pcapng) {
  FILE* out = output == "-" ? stdout : fopen(output.c_str(), "wb");
  if (out == nullptr) {
    fprintf(stderr, "vswitchctl: cannot write %s: %s\n", output.c_str(), strerror(errno));
    close(fd);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  vswitch::cli::PcapngTally tally;
  bool write_failed = false;
  auto put = [&](const char* data, size_t n) {
    if (pcapng) tally.feed(std::string_view(data, n));
    if (!write_failed && (fwrite(data, 1, n, out) != n || fflush(out) != 0)) write_failed = true;
  };
  put(first.data(), first.size());
  bool asked_to_stop = false;
  char buf[65536];
  for (;;) {
    if ((g_interrupted || write_failed) && !asked_to_stop) {
      shutdown(fd, SHUT_WR);
      asked_to_stop = true;
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, asked_to_stop ? kTimeoutMs : 200);
    if (ready == 0 && asked_to_stop) {
      fprintf(stderr, "vswitchctl: vswitchd did not end the stream within %d s\n",
              kTimeoutMs / 1000);
      break;
    }
    if (ready <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    put(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (out != stdout) fclose(out);
  if (pcapng) {
    fprintf(stderr, "vswitchctl: %llu frames captured, %llu lost by the capture\n",
            static_cast<unsigned long long>(tally.frames()),
            static_cast<unsigned long long>(tally.lost()));
  }
  if (write_failed && !g_interrupted && output != "-") {
    fprintf(stderr, "vswitchctl: writing %s failed\n", output.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = vswitch::daemon::default_control_path();
  bool json = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    // --json anywhere, so `vswitchctl dhcp leases --json` reads as it is written; only trace
    // is told of it as an argument (below).
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
  // A capture's pcapng is written where -w says; the switch never sees the option.
  std::optional<std::string> output;
  if (args[0] == "capture") {
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i] != "-w") continue;
      if (i + 1 >= args.size()) {
        fprintf(stderr, "vswitchctl: -w needs a file name, or - for standard output\n");
        return 2;
      }
      output = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      break;
    }
    if (!output) {
      fprintf(stderr, "vswitchctl: capture writes pcapng: give -w FILE, or -w - for a pipe\n");
      return 2;
    }
  }
  if (args[0] == "top") return vswitch::cli::run_top(path, args, json);

  // A trace goes on, to standard output, until its frames were told or Ctrl-C; a synthetic
  // one is answered at once. Its JSON is one object a frame, so the switch must know.
  if (args[0] == "trace") {
    if (std::find(args.begin(), args.end(), "--synthetic") == args.end()) output = "-";
    if (json) args.push_back("--json");
  }

  Value argv_value = Value::array();
  for (auto& a : args)
    argv_value.push(a);
  Value req = Value::object();
  req.set("args", std::move(argv_value)).set("format", json ? "json" : "text");
  const std::string request = req.json() + "\n";

  const int fd = connect_to(path);
  if (fd < 0) return fd == -2 ? 2 : 3;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    fprintf(stderr, "vswitchctl: send: %s\n", strerror(errno));
    return 3;
  }
  std::string first;
  if (!read_status(fd, first)) return 3;
  const size_t nl = first.find('\n');
  const std::string status = first.substr(0, nl);
  const std::string rest = first.substr(nl + 1);
  if (status == "ok" && output) {
    // As tcpdump says where it listens: from here on the switch traces.
    if (args[0] == "trace") fputs("vswitchctl: tracing; Ctrl-C stops\n", stderr);
    return stream_to(fd, rest, *output, args[0] == "capture");
  }
  std::string body = rest;
  if (!read_all(fd, body)) return 3;
  close(fd);
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
