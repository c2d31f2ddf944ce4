#include "control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unix_socket.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {
constexpr size_t kMaxRequest = 64 * 1024;
// A client that neither finishes its request nor reads its reply for this long is dropped, so
// idle connections cannot hold the daemon's descriptors.
constexpr uint64_t kIdleTimeoutMs = 10000;
}  // namespace

ControlServer::ControlServer(Engine& engine, std::string path, mode_t mode, Handler handler)
    : engine_(engine), path_(std::move(path)), handler_(std::move(handler)) {
  listen_fd_ = plugs::bind_unix(path_, SOCK_STREAM, mode);
  engine_.watch(listen_fd_.get(), EPOLLIN, [this](uint32_t) { accept_clients(); });
  timer_ = engine_.every(1000, [this](uint64_t now) { expire_idle(now); });
  log(LogLevel::info, "control socket %s", path_.c_str());
}

ControlServer::~ControlServer() {
  engine_.cancel(timer_);
  clients_.clear();
  engine_.unwatch(listen_fd_.get());
  listen_fd_.reset();
  ::unlink(path_.c_str());
}

void ControlServer::accept_clients() {
  for (int i = 0, fd; i < plugs::kAcceptsPerWake && (fd = acceptor_.accept(listen_fd_.get())) >= 0;
       ++i) {
    auto on_line = [this](LineConnection& c, std::string_view line, bool too_long) {
      on_request(c, line, too_long);
    };
    auto on_ready = [this, fd](uint32_t events) {
      auto it = clients_.find(fd);
      if (it == clients_.end()) return;
      it->second->on_events(events);
      if (it->second->done()) clients_.erase(it);
    };
    clients_[fd] = std::make_unique<LineConnection>(
        engine_, plugs::Fd(fd), LineConnection::Limits{kMaxRequest, kMaxRequest}, on_line,
        on_ready);
  }
}

void ControlServer::on_request(LineConnection& c, std::string_view line, bool too_long) {
  if (too_long) {
    log(LogLevel::warn, "control: request over %zu bytes, closing", kMaxRequest);
    c.send("error\nrequest over " + std::to_string(kMaxRequest) + " bytes\n");
  } else {
    c.send(handler_(std::string(line)));
  }
  c.finish();
}

void ControlServer::expire_idle(uint64_t now_ms) {
  const size_t before = clients_.size();
  std::erase_if(clients_,
                [&](const auto& c) { return c.second->idle_ms(now_ms) >= kIdleTimeoutMs; });
  if (clients_.size() < before) {
    log(LogLevel::info, "control: dropped %zu clients idle for %lu s", before - clients_.size(),
        static_cast<unsigned long>(kIdleTimeoutMs / 1000));
  }
}

}  // namespace vswitch::daemon
