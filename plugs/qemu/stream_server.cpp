#include "qemu/stream_server.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/socket_tuning.hpp"
#include "common/unix_socket.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::qemu {

StreamServer::StreamServer(PlugHost& host, StreamServerOptions options)
    : host_(host), options_(std::move(options)), acceptor_(options_.name) {
  const SocketAddress& a = options_.address;
  if (a.family() == AF_UNIX) {
    listen_ = bind_unix(a.str(), SOCK_STREAM, options_.mode);
  } else {
    listen_.reset(socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!listen_ || bind(listen_.get(), a.sa(), a.len) != 0 || listen(listen_.get(), 64) != 0) {
      throw ConfigError("cannot listen on " + a.str() + ": " + std::strerror(errno));
    }
  }
  // A port of 0 asked for any: say which one we got.
  options_.address = a.family() == AF_UNIX ? a : SocketAddress::local_of(listen_.get());
  host_.watch(listen_.get(), EPOLLIN, [this](uint32_t) { accept_clients(); });
  log(LogLevel::info, "%s: listening on %s", options_.name.c_str(), options_.address.str().c_str());
}

StreamServer::~StreamServer() {
  host_.unwatch(listen_.get());
  while (!ports_.empty())
    remove(*ports_.begin()->second);
  listen_.reset();
  if (options_.address.family() == AF_UNIX) ::unlink(options_.address.str().c_str());
}

void StreamServer::accept_clients() {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = acceptor_.accept(listen_.get(), reinterpret_cast<sockaddr*>(&peer), &len);
    if (fd < 0) return;
    Fd sock(fd);
    tune_stream_socket(fd, peer.ss_family != AF_UNIX);
    SocketAddress from;
    std::memcpy(&from.ss, &peer, sizeof peer);
    from.len = len;
    const std::string who = peer.ss_family == AF_UNIX ? "a unix client" : from.str();
    const uint32_t number = next_++;
    PortSettings s = options_.defaults;
    s.name = options_.name + ":" + std::to_string(number);
    auto port = std::make_unique<StreamPort>(s, options_.pool, true);
    port->attach_socket(std::move(sock), who);
    StreamPort* raw = port.get();
    try {
      host_.attach(std::move(port), this);
    } catch (const ConfigError& e) {
      log(LogLevel::warn, "%s: refused %s: %s", options_.name.c_str(), who.c_str(), e.what());
      continue;
    }
    ports_[number] = raw;
    ++accepted_;
    log(LogLevel::info, "port %s: connection from %s", s.name.c_str(), who.c_str());
  }
}

void StreamServer::closed(Port& port) {
  // The port and its counters go; what ended it stays counted here.
  if (port.counters().dropped(DropReason::rx_error) > 0) ++protocol_errors_;
  remove(port);
}

std::vector<std::pair<std::string, std::string>> StreamServer::details() const {
  return {{"connections", std::to_string(ports_.size())},
          {"accepted", std::to_string(accepted_)},
          {"protocol_errors", std::to_string(protocol_errors_)},
          {"shed_no_fd", std::to_string(acceptor_.shed())}};
}

void StreamServer::remove(Port& port) {
  for (auto it = ports_.begin(); it != ports_.end(); ++it) {
    if (it->second != &port) continue;
    ports_.erase(it);
    host_.detach(port);  // the port and its socket go: the peer sees the connection end
    return;
  }
}

}  // namespace vswitch::plugs::qemu
