#include "control_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/unix_socket.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {
constexpr size_t kMaxRequest = 64 * 1024;
// A client that neither finishes its request nor reads its reply for this long is dropped, so
// idle connections cannot hold the daemon's descriptors.
constexpr uint64_t kIdleTimeoutMs = 10000;
// How much of a stream waits for its client in the daemon; the rest waits in the stream's own
// bounded buffer, which loses what does not fit (a capture counts what it lost).
constexpr size_t kStreamBacklog = 256 * 1024;
// A stream is pulled this often, and whenever its client can take more.
constexpr uint32_t kStreamPullMs = 1;
}  // namespace

ControlServer::ControlServer(Engine& engine, std::string path, mode_t mode, Handler handler)
    : engine_(engine), path_(std::move(path)), handler_(std::move(handler)) {
  if (const size_t slash = path_.rfind('/'); slash != std::string::npos && slash > 0) {
    const std::string dir = path_.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) == 0) made_directory_ = dir;
  }
  try {
    listen_fd_ = plugs::bind_unix(path_, SOCK_STREAM, mode);
  } catch (const ConfigError&) {
    if (!made_directory_.empty()) ::rmdir(made_directory_.c_str());
    throw;
  }
  engine_.watch(listen_fd_.get(), EPOLLIN, [this](uint32_t) { accept_clients(); });
  timer_ = engine_.every(1000, [this](uint64_t now) { expire_idle(now); });
  log(LogLevel::info, "control socket %s", path_.c_str());
}

ControlServer::~ControlServer() {
  engine_.cancel(timer_);
  if (pump_timer_) engine_.cancel(pump_timer_);
  clients_.clear();
  engine_.unwatch(listen_fd_.get());
  listen_fd_.reset();
  ::unlink(path_.c_str());
  if (!made_directory_.empty()) ::rmdir(made_directory_.c_str());
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
      it->second.connection->on_events(events);
      pump(it->second);
      if (it->second.connection->done()) {
        clients_.erase(it);
        update_pump_timer();
      }
    };
    clients_[fd].connection = std::make_unique<LineConnection>(
        engine_, plugs::Fd(fd), LineConnection::Limits{kMaxRequest, kStreamBacklog}, on_line,
        on_ready);
  }
}

void ControlServer::on_request(LineConnection& c, std::string_view line, bool too_long) {
  if (too_long) {
    log(LogLevel::warn, "control: request over %zu bytes, closing", kMaxRequest);
    c.send("error\nrequest over " + std::to_string(kMaxRequest) + " bytes\n");
    c.finish();
    return;
  }
  Served served = handler_(std::string(line));
  c.send(served.bytes);
  if (!served.stream) {
    c.finish();
    return;
  }
  c.hold();
  clients_.at(c.fd()).stream = std::move(served.stream);
  update_pump_timer();
}

void ControlServer::pump(Client& c) {
  if (!c.stream) return;
  LineConnection& conn = *c.connection;
  if ((conn.input_ended() || conn.done()) && !c.stopped) {
    c.stream->stop();
    c.stopped = true;
  }
  if (conn.done()) {
    c.stream.reset();  // nobody to tell the rest to
    return;
  }
  if (!c.handed && conn.unsent() == 0) c.handed = c.stream->write_to(conn.fd());
  while (conn.unsent() < kStreamBacklog) {
    const size_t before = conn.unsent();
    const bool more = c.stream->pull(conn.outbox(), kStreamBacklog - before);
    if (!more) {
      c.stream.reset();
      conn.finish();
      break;
    }
    if (conn.unsent() == before) break;
  }
  conn.flush();
}

void ControlServer::pump_all() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    pump(it->second);
    it = it->second.connection->done() ? clients_.erase(it) : std::next(it);
  }
  update_pump_timer();
}

void ControlServer::update_pump_timer() {
  const bool streaming =
      std::any_of(clients_.begin(), clients_.end(), [](const auto& c) { return c.second.stream; });
  if (streaming && !pump_timer_) {
    pump_timer_ = engine_.every(kStreamPullMs, [this](uint64_t) { pump_all(); });
  } else if (!streaming && pump_timer_) {
    engine_.cancel(pump_timer_);
    pump_timer_ = 0;
  }
}

void ControlServer::expire_idle(uint64_t now_ms) {
  const size_t before = clients_.size();
  // A stream may be quiet for long (a capture of an idle port): its client is not idle.
  std::erase_if(clients_, [&](const auto& c) {
    return !c.second.stream && c.second.connection->idle_ms(now_ms) >= kIdleTimeoutMs;
  });
  if (clients_.size() < before) {
    log(LogLevel::info, "control: dropped %zu clients idle for %lu s", before - clients_.size(),
        static_cast<unsigned long>(kIdleTimeoutMs / 1000));
  }
}

}  // namespace vswitch::daemon
