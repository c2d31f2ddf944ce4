#include "top.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <optional>

#include "control_client.hpp"
#include "full_screen.hpp"
#include "rates.hpp"
#include "top_screen.hpp"

namespace vswitch::cli {

using daemon::Value;

namespace {

constexpr double kMinInterval = 0.1;

struct TopOptions {
  bool once = false;
  double interval_s = 1;
};

std::optional<TopOptions> parse(const std::vector<std::string>& args) {
  TopOptions o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string value;
    if (a == "--once") {
      o.once = true;
      continue;
    }
    if (a == "--interval" && i + 1 < args.size()) {
      value = args[++i];
    } else if (a.rfind("--interval=", 0) == 0) {
      value = a.substr(11);
    } else {
      fprintf(stderr, "vswitchctl: top: unknown argument '%s'\n", a.c_str());
      return std::nullopt;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || end != value.data() + value.size() || !(v >= kMinInterval) ||
        v > 3600) {
      fprintf(stderr, "vswitchctl: top: --interval '%s': seconds, from %.1f to 3600\n",
              value.c_str(), kMinInterval);
      return std::nullopt;
    }
    o.interval_s = v;
  }
  return o;
}

// Ctrl-C and SIGTERM wake the wait through a pipe, so no signal is lost between a check and
// the wait that follows it.
int g_wake_pipe[2] = {-1, -1};

void on_signal(int) {
  const char c = 1;
  [[maybe_unused]] ssize_t n = write(g_wake_pipe[1], &c, 1);
}

bool install_signals() {
  if (pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return true;
}

enum class Wake : uint8_t { timeout, quit };

// Waits `ms`; a signal, or q from the keyboard, ends it early.
Wake wait(int ms, const FullScreen& screen) {
  pollfd fds[2] = {{g_wake_pipe[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
  const nfds_t n = screen.reads_keys() ? 2 : 1;
  for (;;) {
    const int ready = poll(fds, n, ms);
    if (ready < 0 && errno == EINTR) continue;  // the pipe says which signal it was
    if (ready <= 0) return Wake::timeout;
    if (fds[0].revents) return Wake::quit;
    char key = 0;
    if (read(STDIN_FILENO, &key, 1) != 1 || key == 'q' || key == 'Q') return Wake::quit;
    // Another key redraws at the next tick, as top does.
  }
}

}  // namespace

int run_top(const std::string& socket_path, const std::vector<std::string>& args, bool json) {
  const auto opts = parse(args);
  if (!opts) return 2;
  if (!install_signals()) {
    perror("vswitchctl: pipe");
    return 3;
  }
  ControlError error;
  auto sample = [&] { return request_json(socket_path, {"stats"}, &error); };
  auto before = sample();
  if (!before) {
    fprintf(stderr, "vswitchctl: %s\n", error.message.c_str());
    return error.unreachable ? 3 : 1;
  }
  // A view that redraws in place only when it goes on and goes to a terminal.
  std::optional<FullScreen> screen;
  screen.emplace(STDIN_FILENO, opts->once || json ? -1 : STDOUT_FILENO);
  const int interval_ms = static_cast<int>(opts->interval_s * 1000);
  int status = 0;
  while (wait(interval_ms, *screen) == Wake::timeout) {
    auto after = sample();
    if (!after) {
      status = error.unreachable ? 3 : 1;
      break;
    }
    auto r = rates(*before, *after);
    if (!r) {
      error.message = "the switch's clock went backwards between two samples";
      status = 3;
      break;
    }
    if (json) {
      const std::string line = r->json() + "\n";
      fputs(line.c_str(), stdout);
    } else if (screen->active()) {
      screen->draw(top_screen(*r) + "\n(q or Ctrl-C quits)\n");
    } else {
      // Screens one after the other, as top -b writes them.
      const std::string text = top_screen(*r) + (opts->once ? "" : "\n");
      fputs(text.c_str(), stdout);
    }
    fflush(stdout);
    if (opts->once) break;
    before = std::move(after);
  }
  screen.reset();  // the terminal is given back before any message
  if (status != 0) fprintf(stderr, "vswitchctl: %s\n", error.message.c_str());
  return status;
}

}  // namespace vswitch::cli
