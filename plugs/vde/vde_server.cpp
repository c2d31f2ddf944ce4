#include "vde/vde_server.hpp"

#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "common/peer_connect.hpp"
#include "common/socket_tuning.hpp"
#include "common/unix_socket.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::vde {

namespace {

constexpr uint64_t kRequestTimeoutMs = 2000;
// The kernel holds this much (it counts about 0.8 KiB per small datagram) for a client that is
// not scheduled for a while, before frames to it are dropped: some 10 ms at full rate.
constexpr int kSocketBuffer = 4 << 20;

std::string user_name(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return std::to_string(uid);
}

bool user_in_group(uid_t uid, gid_t primary, gid_t group) {
  if (primary == group) return true;
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) != 0 || !found) return false;
  gid_t groups[256];
  int n = 256;
  if (getgrouplist(found->pw_name, found->pw_gid, groups, &n) < 0) return false;
  for (int i = 0; i < n; ++i) {
    if (groups[i] == group) return true;
  }
  return false;
}

// vde_switch's directory mode for a socket mode: setgid, and x wherever r or w is granted.
mode_t default_dirmode(mode_t mode) {
  mode_t m = 02000 | (mode & 0777);
  for (mode_t cls : {0700u, 0070u, 0007u}) {
    if (mode & cls & 0666) m |= cls & 0111;
  }
  return m;
}

}  // namespace

VdeServer::VdeServer(PlugHost& host, ServerOptions options)
    : host_(host), options_(std::move(options)) {
  if (options_.numports < 1 || options_.numports > 4096) {
    throw ConfigError("vde: numports must be 1-4096");
  }
  const std::string given = options_.dir;
  if (mkdir(given.c_str(), 0700) != 0 && errno != EEXIST) {
    throw ConfigError("vde: cannot create " + given + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (stat(given.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw ConfigError("vde: " + given + " exists and is not a directory");
  }
  // Clients are told absolute paths: they may run elsewhere.
  char real[PATH_MAX];
  if (realpath(given.c_str(), real) == nullptr) {
    throw ConfigError("vde: " + given + ": " + std::strerror(errno));
  }
  options_.dir = real;
  acceptor_ = Acceptor("vde " + options_.dir);
  ctl_path_ = options_.dir + "/ctl";
  try {
    ctl_ = bind_unix(ctl_path_, SOCK_STREAM, options_.mode, options_.group, 15);
  } catch (const ConfigError& e) {
    if (unix_socket_alive(ctl_path_)) {
      throw ConfigError("vde: switch directory " + options_.dir + " is in use by a running switch");
    }
    throw;
  }
  const mode_t dirmode = options_.dirmode.value_or(default_dirmode(options_.mode));
  if (chmod(options_.dir.c_str(), dirmode) != 0 ||
      (options_.group &&
       chown(options_.dir.c_str(), static_cast<uid_t>(-1), *options_.group) != 0)) {
    log(LogLevel::warn, "vde %s: cannot set mode/group of the directory: %s", options_.dir.c_str(),
        std::strerror(errno));
  }
  reclaim_stale_files();
  records_.resize(options_.numports);
  host_.watch(ctl_.get(), EPOLLIN, [this](uint32_t) { accept_clients(); });
  timer_ = host_.every(500, [this](uint64_t now) { expire_pending(now); });
  log(LogLevel::info, "vde switch %s: %u ports", options_.dir.c_str(), options_.numports);
}

VdeServer::~VdeServer() {
  host_.cancel(timer_);
  for (auto& [fd, p] : pending_)
    host_.unwatch(fd);
  pending_.clear();
  for (uint32_t n = 0; n < records_.size(); ++n) {
    if (records_[n] && records_[n]->active) close_port(n);
  }
  host_.unwatch(ctl_.get());
  ctl_.reset();
  ::unlink(ctl_path_.c_str());
  // Fails, harmlessly, when someone else left files here; vde_switch does the same.
  ::rmdir(options_.dir.c_str());
}

// Data sockets of a switch that died would otherwise sit here for ever.
void VdeServer::reclaim_stale_files() {
  static const std::regex data_socket(R"(\d{3,}\.\d+)");
  DIR* d = opendir(options_.dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (!std::regex_match(e->d_name, data_socket)) continue;
    const std::string path = options_.dir + "/" + e->d_name;
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  }
  closedir(d);
}

std::string VdeServer::port_name(uint32_t number) const {
  return options_.name + ":" + std::to_string(number);
}

PortRecord* VdeServer::record(uint32_t number) {
  if (number >= records_.size() || !records_[number]) return nullptr;
  return &*records_[number];
}

PortRecord& VdeServer::create_record(uint32_t number) {
  if (number >= records_.size()) {
    throw ConfigError("port " + std::to_string(number) + " is out of range 0-" +
                      std::to_string(records_.size() - 1));
  }
  if (!records_[number]) {
    PortRecord r;
    r.number = number;
    r.settings = options_.defaults;
    r.settings.name = port_name(number);
    records_[number] = std::move(r);
  }
  return *records_[number];
}

void VdeServer::configure(uint32_t number, const PortSettings& settings) {
  PortRecord& r = create_record(number);
  PortSettings s = settings;
  s.name = port_name(number);
  if (r.active) host_.reconfigure(*r.active, s);
  r.settings = s;
}

std::optional<uint32_t> VdeServer::number_of(const Port& port) const {
  for (const auto& r : records_) {
    if (r && r->active == &port) return r->number;
  }
  return std::nullopt;
}

void VdeServer::accept_clients() {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    const int fd = acceptor_.accept(ctl_.get());
    if (fd < 0) return;
    pending_.emplace(fd, Pending{Fd(fd), {}, host_.now_ms()});
    host_.watch(fd, EPOLLIN, [this, fd](uint32_t) { on_request_bytes(fd); });
  }
}

void VdeServer::expire_pending(uint64_t now_ms) {
  std::vector<int> late;
  for (auto& [fd, p] : pending_) {
    if (now_ms - p.since_ms >= kRequestTimeoutMs) late.push_back(fd);
  }
  for (int fd : late)
    refuse(fd, "a client", "no complete request within 2 s");
}

void VdeServer::refuse(int fd, const std::string& who, const std::string& why) {
  ++refusals_;
  log(LogLevel::warn, "vde %s: refused %s: %s", options_.dir.c_str(), who.c_str(), why.c_str());
  host_.unwatch(fd);
  pending_.erase(fd);  // closing the connection is the refusal: vde_open() fails at once
}

void VdeServer::on_request_bytes(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  uint8_t buf[kMaxRequest];
  const ssize_t n = ::read(fd, buf, sizeof buf - p.bytes.size());
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    refuse(fd, "a client",
           p.bytes.empty() ? "closed before sending a request"
                           : "closed in the middle of its request");
    return;
  }
  if (n > 0) p.bytes.insert(p.bytes.end(), buf, buf + n);
  const Parsed parsed = parse_request(p.bytes.data(), p.bytes.size());
  if (parsed.need_more) {
    if (p.bytes.size() >= kMaxRequest) refuse(fd, "a client", "malformed request");
    return;
  }
  if (!parsed.request) {
    refuse(fd, "a client", parsed.refusal);
    return;
  }
  serve(fd, *parsed.request);
}

bool VdeServer::acl_allows(const PortRecord& r, const Peer& peer) const {
  if (peer.uid == 0 || (!r.acl_user && !r.acl_group)) return true;
  if (r.acl_user && *r.acl_user == peer.uid) return true;
  return r.acl_group && user_in_group(peer.uid, peer.gid, *r.acl_group);
}

std::optional<uint32_t> VdeServer::choose_port(const Request& req, const Peer& peer,
                                               std::string& why) {
  const uint32_t last = options_.numports - 1;
  if (req.port0 || req.port != 0) {
    const uint32_t n = req.port0 ? 0 : req.port;
    if (n > last) {
      why = "port " + std::to_string(n) + " is out of range 0-" + std::to_string(last);
      return std::nullopt;
    }
    const PortRecord* r = record(n);
    if (r && !acl_allows(*r, peer)) {
      why = "port " + std::to_string(n) + " is not open to uid " + std::to_string(peer.uid);
      return std::nullopt;
    }
    if (r && r->active && !r->active->endpoints().empty() &&
        r->active->endpoints().front().uid != peer.uid && peer.uid != 0) {
      why = "port " + std::to_string(n) + " is in use by another user";
      return std::nullopt;
    }
    return n;
  }
  for (uint32_t n = 1; n <= last; ++n) {
    const PortRecord* r = record(n);
    if (!r) return n;
    if (!r->active && r->allocatable && acl_allows(*r, peer)) return n;
  }
  why = "no free port (all " + std::to_string(last) + " in use)";
  return std::nullopt;
}

void VdeServer::serve(int fd, const Request& req) {
  ucred cred{};
  socklen_t len = sizeof cred;
  // Without them the peer would pass for root, the zeroed uid.
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    refuse(fd, "a client", std::string("no credentials: ") + std::strerror(errno));
    return;
  }
  const Peer peer{cred.uid, cred.gid, cred.pid};
  const std::string who = "'" + req.description + "' (pid " + std::to_string(peer.pid) + ", uid " +
                          std::to_string(peer.uid) + ")";
  std::string why;
  const auto number = choose_port(req, peer, why);
  if (!number) {
    refuse(fd, who, why);
    return;
  }

  Endpoint ep;
  ep.id = fd;
  ep.description = req.description;
  ep.uid = peer.uid;
  ep.pid = peer.pid;
  ep.data.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!ep.data) {
    refuse(fd, who, std::string("socket: ") + std::strerror(errno));
    return;
  }
  // Connect before replying: the client removes its socket's name right after our reply.
  const auto client_owner =
      connect_for_peer(ep.data.get(), req.client_path, peer.uid, peer.gid, &why);
  if (!client_owner) {
    refuse(fd, who, why);
    return;
  }
  // Deep buffers absorb a burst for a slow reader; what still overflows is dropped and counted.
  force_send_buffer(ep.data.get(), kSocketBuffer);
  char name[32];
  snprintf(name, sizeof name, "/%03u.%d", *number, ep.data.get());
  ep.data_path = options_.dir + name;
  ::unlink(ep.data_path.c_str());
  sockaddr_un own{};
  own.sun_family = AF_UNIX;
  if (ep.data_path.size() >= sizeof own.sun_path) {
    refuse(fd, who, "data socket path too long");
    return;
  }
  std::memcpy(own.sun_path, ep.data_path.c_str(), ep.data_path.size() + 1);
  if (bind(ep.data.get(), reinterpret_cast<sockaddr*>(&own), sizeof own) != 0) {
    refuse(fd, who, "cannot bind " + ep.data_path + ": " + std::strerror(errno));
    return;
  }
  const mode_t mode = req.port0 ? options_.port0_mode : options_.mode;
  const auto group = req.port0 ? options_.port0_group : options_.group;
  if (geteuid() == 0 && *client_owner != 0) {
    // As vde_switch: a user's endpoint becomes the user's, closed to everyone else.
    if (chown(ep.data_path.c_str(), *client_owner, group ? *group : static_cast<gid_t>(-1)) != 0 ||
        chmod(ep.data_path.c_str(), mode & 0700) != 0) {
      log(LogLevel::debug, "vde: permissions of %s: %s", ep.data_path.c_str(),
          std::strerror(errno));
    }
  } else if (chmod(ep.data_path.c_str(), mode) != 0 ||
             (group && chown(ep.data_path.c_str(), static_cast<uid_t>(-1), *group) != 0)) {
    log(LogLevel::debug, "vde: permissions of %s: %s", ep.data_path.c_str(), std::strerror(errno));
  }

  PortRecord& r = create_record(*number);
  const std::string data_path = ep.data_path;
  if (r.active) {
    r.active->add_endpoint(std::move(ep));
  } else {
    auto port = std::make_unique<VdePort>(r.settings, *number, options_.pool);
    port->add_endpoint(std::move(ep));
    VdePort* raw = port.get();
    try {
      host_.attach(std::move(port), this);  // on failure the port, its socket and file go
    } catch (const ConfigError& e) {
      refuse(fd, who, e.what());
      return;
    }
    r.active = raw;
  }
  const auto reply = make_reply(data_path);
  if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size())) {
    log(LogLevel::warn, "vde %s: %s went away during the handshake", options_.dir.c_str(),
        who.c_str());
    r.active->remove_endpoint(fd);
    if (r.active->endpoints().empty()) deactivate(r);
    host_.unwatch(fd);
    pending_.erase(fd);
    return;
  }
  r.last_user = user_name(peer.uid);
  // The control connection now only says when the endpoint goes: EOF.
  auto it = pending_.find(fd);
  attached_.emplace(fd, Attached{std::move(it->second.fd), *number});
  pending_.erase(it);
  host_.unwatch(fd);
  host_.watch(fd, EPOLLIN | EPOLLRDHUP, [this, fd](uint32_t ev) { on_control(fd, ev); });
  log(LogLevel::info, "vde %s: port %u endpoint %d: %s", options_.dir.c_str(), *number, fd,
      who.c_str());
}

void VdeServer::on_control(int fd, uint32_t) {
  uint8_t buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // After the handshake a client has nothing more to say; bytes here are a broken client.
  end_endpoint(fd, n > 0 ? "protocol error: bytes after the handshake" : nullptr);
}

void VdeServer::end_endpoint(int ctl_fd, const char* why) {
  auto it = attached_.find(ctl_fd);
  if (it == attached_.end()) return;
  const uint32_t number = it->second.port;
  if (why) {
    log(LogLevel::warn, "vde %s: port %u endpoint %d closed: %s", options_.dir.c_str(), number,
        ctl_fd, why);
  } else {
    log(LogLevel::info, "vde %s: port %u endpoint %d left", options_.dir.c_str(), number, ctl_fd);
  }
  host_.unwatch(ctl_fd);
  PortRecord* r = record(number);
  if (r && r->active) {
    r->active->remove_endpoint(ctl_fd);
    if (r->active->endpoints().empty()) deactivate(*r);
  }
  attached_.erase(it);  // closes the control connection
}

// The last endpoint went: the port leaves the switch (its FDB entries with it, and only its),
// and its settings stay for the next client.
void VdeServer::deactivate(PortRecord& r) {
  VdePort* p = r.active;
  r.active = nullptr;
  auto owned = host_.detach(*p);
  if (owned) r.settings = owned->settings();
}

bool VdeServer::close_endpoint(uint32_t number, int endpoint_id) {
  auto it = attached_.find(endpoint_id);
  if (it == attached_.end() || it->second.port != number) return false;
  end_endpoint(endpoint_id, "closed by the operator");
  return true;
}

void VdeServer::close_port(uint32_t number) {
  std::vector<int> ids;
  for (auto& [fd, a] : attached_) {
    if (a.port == number) ids.push_back(fd);
  }
  for (int id : ids)
    end_endpoint(id, nullptr);
}

std::vector<std::pair<std::string, std::string>> VdeServer::details() const {
  size_t active = 0;
  for (const auto& r : records_)
    active += r && r->active ? 1 : 0;
  return {{"ports_active", std::to_string(active)},
          {"endpoints", std::to_string(attached_.size())},
          {"refused", std::to_string(refusals_)},
          {"shed_no_fd", std::to_string(acceptor_.shed())}};
}

void VdeServer::remove(Port& port) {
  if (auto n = number_of(port)) close_port(*n);
}

}  // namespace vswitch::plugs::vde
