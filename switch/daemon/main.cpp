// vswitchd: parse options, start DPDK's EAL, run the daemon until SIGINT or SIGTERM.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#include <csignal>
#include <cstdio>

#include "daemon.hpp"
#include "options.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

using namespace vswitch;

namespace {

Engine* g_engine = nullptr;

void on_signal(int) {
  if (g_engine != nullptr) g_engine->stop();
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A client that hangs up mid-reply must not kill the switch.
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  daemon::Options opts = daemon::parse_options(argc, argv);
  if (opts.action == daemon::Options::Action::exit) {
    fputs(opts.message.c_str(), opts.exit_status == 0 ? stdout : stderr);
    return opts.exit_status;
  }
  set_log_level(opts.log_level);

  std::vector<std::string> eal_words = opts.config.eal_args;
  eal_words.insert(eal_words.begin(), argv[0]);
  std::vector<char*> eal_argv;
  for (auto& w : eal_words)
    eal_argv.push_back(w.data());
  eal_argv.push_back(nullptr);
  // DPDK logs to stdout by default; a daemon's log belongs on stderr with ours.
  rte_openlog_stream(stderr);
  if (rte_eal_init(static_cast<int>(eal_words.size()), eal_argv.data()) < 0) {
    log(LogLevel::error, "DPDK EAL initialisation failed: %s", rte_strerror(rte_errno));
    return 1;
  }

  int status = 0;
  {
    daemon::Daemon d(opts.config);
    try {
      d.start();
    } catch (const ConfigError& e) {
      log(LogLevel::error, "%s", e.what());
      status = 1;
    }
    if (status == 0) {
      g_engine = &d.engine();
      install_signal_handlers();
      log(LogLevel::info, "vswitchd %s running", VSWITCH_VERSION);
      d.run();
      log(LogLevel::info, "stopping");
      g_engine = nullptr;
    }
  }
  rte_eal_cleanup();
  return status;
}
