// Running vswitchd and other programs from tests: every process started is stopped by its PID,
// every wait has a timeout.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "value.hpp"

namespace vswitch::test {

using daemon::Value;
using namespace std::chrono_literals;

// A directory removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
// A text's lines, without their ends.
std::vector<std::string> lines_of(const std::string& text);

// waitpid with a deadline: the exit status (128 + signal when killed), or nullopt.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout);
// A file's whole content, empty when it cannot be read.
std::string slurp(const std::string& path);

// Starts argv[0] (a path) with its stdout and stderr in these files, /dev/null for an empty
// name; the child dies with the test. `in_child` runs in the child before exec (to drop
// privileges, say). Returns the child's pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path = "",
            const std::string& err_path = "", const std::function<void()>& in_child = {});

struct RunResult {
  int status = -1;  // exit status, or -1 when killed at the timeout
  std::string out;
  std::string err;
};
RunResult run_program(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = 30s);

// One command to a control socket; the --json reply, or nullopt with the error in *error.
std::optional<Value> control(const std::string& socket, const std::vector<std::string>& args,
                             std::string* error = nullptr);

struct DaemonOptions {
  bool as_nobody = false;     // drop to user nobody before exec (when we are root)
  bool wait_ready = true;     // wait for the control socket
  std::string netns;          // run inside this network namespace (ip netns exec)
  std::vector<gid_t> groups;  // supplementary groups to run with, unless dropped to nobody
};

inline DaemonOptions as_nobody() {
  DaemonOptions o;
  o.as_nobody = true;
  return o;
}
inline DaemonOptions in_netns(std::string name) {
  DaemonOptions o;
  o.netns = std::move(name);
  return o;
}

// vswitchd in the background, its control socket in a temp dir of its own.
class Vswitchd {
 public:
  Vswitchd(const std::vector<std::string>& args, DaemonOptions opts = {});
  ~Vswitchd();
  Vswitchd(const Vswitchd&) = delete;
  Vswitchd& operator=(const Vswitchd&) = delete;

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string log() const;
  std::string dir() const { return dir_.path(); }

  // Value of a --json command; fails the test if the command fails.
  Value ctl(const std::vector<std::string>& args);
  std::optional<Value> try_ctl(const std::vector<std::string>& args, std::string* error);
  // A counter of a port, such as "in_packets" or "drops.runt".
  int64_t port_counter(const std::string& port, const std::string& counter);
  bool wait_port_counter(const std::string& port, const std::string& counter, int64_t at_least,
                         std::chrono::milliseconds timeout = 10s);

  // SIGTERM, then wait; the exit status, or -1 if it had to be killed.
  int stop(std::chrono::milliseconds timeout = 10s);
  bool running();

 private:
  TempDir dir_;
  std::string socket_;
  std::string log_path_;
  std::string binary_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;  // once reaped
  bool ready_ = false;
};

// A streaming vswitchctl command (capture, trace) in the background, its output and standard
// error in files; killed by its PID if it is still running when this goes.
class StreamingCtl {
 public:
  StreamingCtl(const Vswitchd& vs, std::vector<std::string> args, const std::string& out_path,
               const std::string& err_path);
  ~StreamingCtl();
  StreamingCtl(const StreamingCtl&) = delete;
  StreamingCtl& operator=(const StreamingCtl&) = delete;

  // Waits for it to end by itself (its count reached, its port gone); its exit status.
  std::optional<int> wait(std::chrono::milliseconds timeout = 10s);
  // Ctrl-C, as a user at a terminal ends it.
  std::optional<int> interrupt();
  std::string err() const { return slurp(err_); }

 private:
  std::string err_;
  pid_t pid_ = -1;
};

// A process's CPU time in clock ticks (100 a second), user and system; -1 if it is gone.
long cpu_ticks(pid_t pid);
// Its resident memory in KiB; -1 if it is gone.
long resident_kib(pid_t pid);

std::string vswitchd_path();
std::string vswitchctl_path();

}  // namespace vswitch::test
