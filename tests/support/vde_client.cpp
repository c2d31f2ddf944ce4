#include "vde_client.hpp"

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

#include <cstring>

extern "C" {
#include <libvdeplug.h>
}

namespace vswitch::test {

namespace {
bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kOwnHandshake = true;
#else
constexpr bool kOwnHandshake = false;
#endif

namespace {

// vdeplug4's "vde" module, as the sanitizer build cannot load it: DIR, DIR[N], vde://DIR[N].
bool handshake(const std::string& vnl, int port, const std::string& description, int* ctl,
               int* data) {
  std::string dir = vnl.rfind("vde://", 0) == 0 ? vnl.substr(6) : vnl;
  bool port0 = false;
  if (const size_t open = dir.find('['); open != std::string::npos) {
    const std::string n = dir.substr(open + 1, dir.find(']') - open - 1);
    dir.resize(open);
    port = std::stoi(n);
    port0 = port == 0;
  }
  *ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un ca{};
  ca.sun_family = AF_UNIX;
  std::strncpy(ca.sun_path, (dir + "/ctl").c_str(), sizeof ca.sun_path - 1);
  if (connect(*ctl, reinterpret_cast<sockaddr*>(&ca), sizeof ca) != 0) return false;
  static int serial = 0;
  const std::string own = dir + "/." + std::to_string(getpid()) + "-" + std::to_string(serial++);
  *data = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un da{};
  da.sun_family = AF_UNIX;
  std::strncpy(da.sun_path, own.c_str(), sizeof da.sun_path - 1);
  unlink(own.c_str());
  if (bind(*data, reinterpret_cast<sockaddr*>(&da), sizeof da) != 0) return false;
  chmod(own.c_str(), 0777);
  const uint32_t type = port0 ? 1u : static_cast<uint32_t>(port) << 8;
  const Bytes req = vde_request(0xfeedface, 3, type, own, description);
  if (::send(*ctl, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    unlink(own.c_str());
    return false;
  }
  sockaddr_un reply{};
  const ssize_t n = read(*ctl, &reply, sizeof reply);
  const bool ok = n == static_cast<ssize_t>(sizeof reply) &&
                  connect(*data, reinterpret_cast<sockaddr*>(&reply), sizeof reply) == 0;
  unlink(own.c_str());
  return ok;
}

}  // namespace

VdeClient::VdeClient(const std::string& vnl, int port, const std::string& description) {
  if (kOwnHandshake) {
    if (!handshake(vnl, port, description, &ctl_, &data_)) close();
    return;
  }
  vde_open_args args{};
  args.port = port;
  args.mode = 0700;
  conn_ = reinterpret_cast<vdeconn*>(
      vde_open(const_cast<char*>(vnl.c_str()), const_cast<char*>(description.c_str()), &args));
  if (conn_) {
    ctl_ = vde_ctlfd(reinterpret_cast<VDECONN*>(conn_));
    data_ = vde_datafd(reinterpret_cast<VDECONN*>(conn_));
  }
}

VdeClient::~VdeClient() {
  close();
}

void VdeClient::close() {
  if (conn_) {
    vde_close(reinterpret_cast<VDECONN*>(conn_));
  } else {
    if (ctl_ >= 0) ::close(ctl_);
    if (data_ >= 0) ::close(data_);
  }
  conn_ = nullptr;
  ctl_ = data_ = -1;
}

bool VdeClient::send(const Bytes& f) {
  if (conn_) {
    return vde_send(reinterpret_cast<VDECONN*>(conn_), f.data(), f.size(), 0) ==
           static_cast<ssize_t>(f.size());
  }
  return ::send(data_, f.data(), f.size(), 0) == static_cast<ssize_t>(f.size());
}

std::optional<Bytes> VdeClient::recv(int timeout_ms) {
  if (!readable(data_fd(), timeout_ms)) return std::nullopt;
  Bytes b(65536);
  const ssize_t n = conn_ ? vde_recv(reinterpret_cast<VDECONN*>(conn_), b.data(), b.size(), 0)
                          : ::recv(data_, b.data(), b.size(), 0);
  if (n < 0) return std::nullopt;
  b.resize(static_cast<size_t>(n));
  return b;
}

std::vector<Bytes> VdeClient::drain(int quiet_ms) {
  std::vector<Bytes> got;
  while (auto f = recv(quiet_ms))
    got.push_back(std::move(*f));
  return got;
}

bool VdeClient::ctl_closed(int timeout_ms) const {
  if (!readable(ctl_fd(), timeout_ms)) return false;
  char c;
  return ::recv(ctl_fd(), &c, 1, MSG_DONTWAIT) == 0;
}

int vde_open_in_child(const std::string& vnl, int port, int uid,
                      std::chrono::milliseconds timeout) {
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (uid >= 0 && setuid(static_cast<uid_t>(uid)) != 0) _exit(3);
    if (kOwnHandshake) {
      int ctl = -1, data = -1;
      _exit(handshake(vnl, port, "child", &ctl, &data) ? 0 : 1);
    }
    vde_open_args args{};
    args.port = port;
    args.mode = 0777;  // so a switch of another user can reach us
    VDECONN* c = vde_open(const_cast<char*>(vnl.c_str()), const_cast<char*>("child"), &args);
    _exit(c ? 0 : 1);
  }
  int status = 0;
  const bool ended = wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!ended) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

VdePlug::VdePlug(const std::string& vnl) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(in[0], 0);
    dup2(out[1], 1);
    execlp("vde_plug", "vde_plug", vnl.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_ = in[1];
  from_ = out[0];
}

VdePlug::~VdePlug() {
  if (to_ >= 0) ::close(to_);  // vde_plug leaves on EOF of its stdin
  if (pid_ > 0) {
    if (!wait_until([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, 2s)) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (from_ >= 0) ::close(from_);
}

bool VdePlug::send(const Bytes& f) {
  Bytes rec = {static_cast<uint8_t>(f.size() >> 8), static_cast<uint8_t>(f.size())};
  rec.insert(rec.end(), f.begin(), f.end());
  return write(to_, rec.data(), rec.size()) == static_cast<ssize_t>(rec.size());
}

std::optional<Bytes> VdePlug::recv(int timeout_ms) {
  auto read_n = [&](size_t n) -> std::optional<Bytes> {
    Bytes b;
    while (b.size() < n) {
      if (!readable(from_, timeout_ms)) return std::nullopt;
      uint8_t buf[9300];
      const ssize_t got = read(from_, buf, std::min(sizeof buf, n - b.size()));
      if (got <= 0) return std::nullopt;
      b.insert(b.end(), buf, buf + got);
    }
    return b;
  };
  auto len = read_n(2);
  if (!len) return std::nullopt;
  return read_n(static_cast<size_t>((*len)[0] << 8 | (*len)[1]));
}

RawCtl::RawCtl(const std::string& dir, int uid) {
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string path = dir + "/ctl";
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  auto connected = [&] { return connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0; };
  bool ok = false;
  if (uid < 0) {
    ok = connected();
  } else {
    // The kernel records the credentials of whoever calls connect(), so a child running as the
    // user connects the socket that this process then speaks on.
    const passwd* pw = getpwuid(static_cast<uid_t>(uid));
    const gid_t gid = pw ? pw->pw_gid : static_cast<gid_t>(uid);
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      _exit(setgroups(0, nullptr) == 0 && setgid(gid) == 0 &&
                    setuid(static_cast<uid_t>(uid)) == 0 && connected()
                ? 0
                : 1);
    }
    int status = 0;
    if (wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 5s)) {
      ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    } else {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  if (!ok) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawCtl::~RawCtl() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawCtl::send(const Bytes& b) {
  return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
}

bool RawCtl::closed_by_switch(int timeout_ms) {
  if (!readable(fd_, timeout_ms)) return false;
  char c;
  return read(fd_, &c, 1) == 0;
}

std::optional<std::string> RawCtl::reply(int timeout_ms) {
  sockaddr_un r{};
  if (!readable(fd_, timeout_ms) || read(fd_, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) {
    return std::nullopt;
  }
  return std::string(r.sun_path, strnlen(r.sun_path, sizeof r.sun_path));
}

Bytes vde_request(uint32_t magic, uint32_t version, uint32_t type, const std::string& client_path,
                  const std::string& description) {
  Bytes r(12 + sizeof(sockaddr_un));
  std::memcpy(r.data(), &magic, 4);
  std::memcpy(r.data() + 4, &version, 4);
  std::memcpy(r.data() + 8, &type, 4);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, client_path.c_str(), sizeof a.sun_path - 1);
  std::memcpy(r.data() + 12, &a, sizeof a);
  r.insert(r.end(), description.begin(), description.end());
  return r;
}

}  // namespace vswitch::test
