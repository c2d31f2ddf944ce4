#include "process.hpp"

#include "netns.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

namespace vswitch::test {

namespace fs = std::filesystem;

std::string vswitchd_path() {
  return VSWITCHD_PATH;
}
std::string vswitchctl_path() {
  return VSWITCHCTL_PATH;
}

long cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  // Fields after the command name, which may hold spaces: utime and stime are 14 and 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stol(field);
  }
  return ticks;
}

long resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "vswitch-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  // Readable and searchable by all, so a switch running as nobody can reach its files.
  chmod(path_.c_str(), 0777);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  return lines;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  std::optional<int> result;
  wait_until(
      [&] {
        int st = 0;
        const pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
          result = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          return true;
        }
        return r < 0;  // not our child any more
      },
      timeout);
  return result;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

void drop_to_nobody() {
  passwd* pw = getpwnam("nobody");
  if (pw == nullptr) _exit(120);
  if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) _exit(121);
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path, const std::function<void()>& in_child) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  auto open_out = [](const std::string& path) {
    return path.empty() ? open("/dev/null", O_WRONLY)
                        : open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  };
  dup2(open("/dev/null", O_RDONLY), 0);
  dup2(open_out(out_path), 1);
  // One file for both when they are the same: a log in order.
  dup2(err_path == out_path && !out_path.empty() ? 1 : open_out(err_path), 2);
  // Should the test itself die, what it started goes with it rather than linger.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (in_child) in_child();
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

RunResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  TempDir tmp;
  const std::string out_path = tmp.file("out"), err_path = tmp.file("err");
  const pid_t pid = spawn(argv, out_path, err_path);
  RunResult r;
  auto st = wait_exit(pid, timeout);
  if (!st) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  r.status = st.value_or(-1);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

std::optional<Value> control(const std::string& socket, const std::vector<std::string>& args,
                             std::string* error) {
  Value argv = Value::array();
  for (auto& a : args)
    argv.push(a);
  Value req = Value::object();
  req.set("args", std::move(argv)).set("format", "json");
  const std::string line = req.json() + "\n";

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (error) *error = "connect: " + std::string(strerror(errno));
    close(fd);
    return std::nullopt;
  }
  send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t nl = reply.find('\n');
  if (nl == std::string::npos || reply.substr(0, nl) != "ok") {
    if (error) *error = nl == std::string::npos ? "no reply" : reply.substr(nl + 1);
    return std::nullopt;
  }
  auto v = Value::parse_json(reply.substr(nl + 1));
  if (!v && error) *error = "unparsable reply: " + reply;
  return v;
}

Vswitchd::Vswitchd(const std::vector<std::string>& args, DaemonOptions opts) {
  socket_ = dir_.file("ctl.sock");
  log_path_ = dir_.file("vswitchd.log");
  binary_ = vswitchd_path();
  const bool drop = opts.as_nobody && geteuid() == 0;
  if (drop) {
    // The build tree may sit in a directory nobody cannot enter; run a copy from ours.
    binary_ = dir_.file("vswitchd");
    fs::copy_file(vswitchd_path(), binary_);
    chmod(binary_.c_str(), 0755);
  }
  std::vector<std::string> argv = {binary_, "--control", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  // SIGTERM rather than SIGKILL when the test dies: the switch cleans its files up.
  pid_ = spawn(argv, log_path_, log_path_, [drop, &groups = opts.groups, &netns = opts.netns] {
    // The namespace first: entering it takes the privileges that dropping gives up.
    if (!netns.empty() && !enter_netns(netns)) _exit(123);
    if (!groups.empty() && setgroups(groups.size(), groups.data()) != 0) _exit(122);
    if (drop) drop_to_nobody();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
  });
  if (opts.wait_ready) {
    ready_ = wait_until(
                 [&] {
                   if (!running()) return true;
                   return control(socket_, {"version"}).has_value();
                 },
                 20s) &&
             running();
  }
}

Vswitchd::~Vswitchd() {
  if (pid_ > 0) stop(5s);
}

bool Vswitchd::running() {
  if (pid_ <= 0 || exit_status_) return false;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) != pid_) return true;
  exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return false;
}

int Vswitchd::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_.value_or(-1);
  if (running()) {
    kill(pid_, SIGTERM);
    exit_status_ = wait_exit(pid_, timeout);
    if (!exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_ = -1;
  return exit_status_.value_or(-1);
}

std::string Vswitchd::log() const {
  return slurp(log_path_);
}

std::optional<Value> Vswitchd::try_ctl(const std::vector<std::string>& args, std::string* error) {
  return control(socket_, args, error);
}

Value Vswitchd::ctl(const std::vector<std::string>& args) {
  std::string error;
  auto v = control(socket_, args, &error);
  if (!v) {
    ADD_FAILURE() << "control command failed: " << error << "\nlog:\n" << log();
    return Value();
  }
  return *v;
}

int64_t Vswitchd::port_counter(const std::string& port, const std::string& counter) {
  auto v = control(socket_, {"port", "show", port});
  if (!v) return -1;
  const Value* c = v->at("counters." + counter);
  return c ? c->as_int() : -1;
}

bool Vswitchd::wait_port_counter(const std::string& port, const std::string& counter,
                                 int64_t at_least, std::chrono::milliseconds timeout) {
  return wait_until([&] { return port_counter(port, counter) >= at_least; }, timeout);
}

StreamingCtl::StreamingCtl(const Vswitchd& vs, std::vector<std::string> args,
                           const std::string& out_path, const std::string& err_path)
    : err_(err_path) {
  args.insert(args.begin(), {vswitchctl_path(), "--socket", vs.socket()});
  pid_ = spawn(args, out_path, err_path);
}

StreamingCtl::~StreamingCtl() {
  if (pid_ > 0 && !wait_exit(pid_, 0ms)) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, 5s);
  }
}

std::optional<int> StreamingCtl::wait(std::chrono::milliseconds timeout) {
  auto status = wait_exit(pid_, timeout);
  if (status) pid_ = -1;
  return status;
}

std::optional<int> StreamingCtl::interrupt() {
  kill(pid_, SIGINT);
  return wait();
}

}  // namespace vswitch::test
