#include "control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/unix_socket.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {
constexpr size_t kMaxRequest = 64 * 1024;
}

ControlServer::ControlServer(Engine& engine, std::string path, mode_t mode, Handler handler)
    : engine_(engine), path_(std::move(path)), handler_(std::move(handler)) {
  listen_fd_ = plugs::bind_unix(path_, SOCK_STREAM, mode);
  engine_.watch(listen_fd_.get(), EPOLLIN, [this](uint32_t) { accept_clients(); });
  log(LogLevel::info, "control socket %s", path_.c_str());
}

ControlServer::~ControlServer() {
  for (auto& [fd, c] : clients_)
    engine_.unwatch(fd);
  clients_.clear();
  engine_.unwatch(listen_fd_.get());
  listen_fd_.reset();
  ::unlink(path_.c_str());
}

void ControlServer::accept_clients() {
  for (;;) {
    const int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a client that vanished: nothing to do
    auto c = std::make_unique<Client>();
    c->fd.reset(fd);
    clients_[fd] = std::move(c);
    engine_.watch(fd, EPOLLIN | EPOLLRDHUP, [this, fd](uint32_t ev) { on_client(fd, ev); });
  }
}

void ControlServer::drop(int fd) {
  engine_.unwatch(fd);
  clients_.erase(fd);
}

void ControlServer::on_client(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = *it->second;
  if (c.out.empty()) {
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      drop(fd);
      return;
    }
    if (n > 0) c.in.append(buf, static_cast<size_t>(n));
    const size_t nl = c.in.find('\n');
    if (nl == std::string::npos) {
      if (c.in.size() > kMaxRequest) {
        log(LogLevel::warn, "control: request over %zu bytes, closing", kMaxRequest);
        drop(fd);
      }
      return;
    }
    c.out = handler_(c.in.substr(0, nl));
    engine_.modify(fd, EPOLLOUT);
    events = EPOLLOUT;
  }
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
    while (c.sent < c.out.size()) {
      const ssize_t n = ::send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) return;  // the rest when the client has read some
      if (n <= 0) break;
      c.sent += static_cast<size_t>(n);
    }
    drop(fd);
  }
}

}  // namespace vswitch::daemon
