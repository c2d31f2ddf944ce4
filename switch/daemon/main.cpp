// vswitchd: parse options, start DPDK's EAL, open the ports, give up what --user takes, tell a
// service manager it is ready, run the daemon until SIGINT or SIGTERM.
#include <fcntl.h>
#include <malloc.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "daemon.hpp"
#include "daemon_privileges.hpp"
#include "options.hpp"
#include "service_notify.hpp"
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
  sigaction(SIGHUP, &sa, nullptr);  // vde_switch stops on SIGHUP too
  // A client that hangs up mid-reply must not kill the switch.
  signal(SIGPIPE, SIG_IGN);
}

// -d: the parent waits until the daemon reports that it started (or why not), so a caller
// sees a real exit status, as with vde_switch -d. Must happen before EAL starts its threads.
int daemonize() {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    close(ready[1]);
    std::string msg;
    char buf[512];
    for (ssize_t n; (n = read(ready[0], buf, sizeof buf)) > 0;)
      msg.append(buf, static_cast<size_t>(n));
    if (msg == "ok") _exit(0);
    fprintf(stderr, "vswitchd: %s\n", msg.empty() ? "failed to start" : msg.c_str());
    _exit(1);
  }
  close(ready[0]);
  setsid();
  if (fork() > 0) _exit(0);  // not a session leader: never gets a controlling terminal
  const int null = open("/dev/null", O_RDWR);
  dup2(null, 0);
  dup2(null, 1);
  dup2(null, 2);
  if (null > 2) close(null);
  log_to_syslog("vswitchd");
  return ready[1];
}

void report(int fd, const std::string& msg) {
  if (fd < 0) return;
  [[maybe_unused]] ssize_t n = write(fd, msg.data(), msg.size());
  close(fd);
}

// Every guest flow through a NAT port and every client is a descriptor: take all the system
// allows this process, not the shell's customary 1024.
void raise_descriptor_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// Each stream client's receive buffer is 256 KiB. glibc serves blocks that size by mmap only
// until the first is freed, then raises its threshold and takes them from the heap, where a
// crowd of clients that came and went stays resident: 10 000 TCP clients left 17-35 MB of a
// peak behind (scripts/soak.sh). A fixed threshold keeps them mmap'd, returned as they close.
void keep_large_blocks_mapped() {
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

}  // namespace

int main(int argc, char** argv) {
  keep_large_blocks_mapped();
  daemon::Options opts = daemon::parse_options(argc, argv);
  raise_descriptor_limit();
  if (opts.action == daemon::Options::Action::exit) {
    fputs(opts.message.c_str(), opts.exit_status == 0 ? stdout : stderr);
    return opts.exit_status;
  }
  set_log_level(opts.log_level);
  const int ready = opts.daemonize ? daemonize() : -1;
  daemon::ServiceNotifier notifier;

  std::vector<std::string> eal_words = opts.config.eal_args;
  eal_words.insert(eal_words.begin(), argv[0]);
  std::vector<char*> eal_argv;
  for (auto& w : eal_words)
    eal_argv.push_back(w.data());
  eal_argv.push_back(nullptr);
  // DPDK logs to stdout by default; a daemon's log belongs on stderr with ours.
  rte_openlog_stream(stderr);
  if (rte_eal_init(static_cast<int>(eal_words.size()), eal_argv.data()) < 0) {
    std::string why = std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno);
    if (opts.eal_memory_mb > 0) {
      why += " (it was to reserve " + std::to_string(opts.eal_memory_mb) + " MiB for --mbufs " +
             std::to_string(opts.config.mbufs) + ")";
    }
    log(LogLevel::error, "%s", why.c_str());
    report(ready, why);
    return 1;
  }

  int status = 0;
  {
    daemon::Daemon d(opts.config);
    try {
      d.start();
    } catch (const ConfigError& e) {
      log(LogLevel::error, "%s", e.what());
      report(ready, e.what());
      status = 1;
    }
    if (status == 0) {
      if (!opts.pidfile.empty()) {
        if (FILE* f = fopen(opts.pidfile.c_str(), "w")) {
          fprintf(f, "%d\n", getpid());
          fclose(f);
        } else {
          log(LogLevel::warn, "cannot write pid file %s: %s", opts.pidfile.c_str(),
              strerror(errno));
        }
      }
      if (opts.user) {
        try {
          daemon::drop_privileges(d, *opts.user, {opts.pidfile});
        } catch (const ConfigError& e) {
          const std::string why = std::string("--user ") + opts.user->user + ": " + e.what();
          log(LogLevel::error, "%s", why.c_str());
          report(ready, why);
          status = 1;
        }
      }
    }
    if (status == 0) {
      g_engine = &d.engine();
      install_signal_handlers();
      log(LogLevel::info, "vswitchd %s running", VSWITCH_VERSION);
      report(ready, "ok");
      notifier.ready();
      d.run();
      notifier.stopping();
      log(LogLevel::info, "stopping");
      g_engine = nullptr;
      if (!opts.pidfile.empty()) unlink(opts.pidfile.c_str());
    }
  }
  rte_eal_cleanup();
  return status;
}
