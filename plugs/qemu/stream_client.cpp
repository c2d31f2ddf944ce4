#include "qemu/stream_client.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/socket_tuning.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::qemu {

StreamClient::StreamClient(PlugHost& host, StreamClientOptions options)
    : host_(host), options_(std::move(options)), delay_ms_(options_.retry_min_ms) {
  PortSettings s = options_.defaults;
  s.name = options_.name;
  auto port = std::make_unique<StreamPort>(s, options_.pool, false);
  port_ = port.get();
  host_.attach(std::move(port), this);
  timer_ = host_.every(50, [this](uint64_t now) { tick(now); });
  start_connect(host_.now_ms());
}

StreamClient::~StreamClient() {
  host_.cancel(timer_);
  if (connecting_) host_.unwatch(connecting_.get());
  if (port_) host_.detach(*port_);
}

void StreamClient::remove(Port& port) {
  if (&port != port_) return;
  host_.cancel(timer_);
  timer_ = 0;
  if (connecting_) {
    host_.unwatch(connecting_.get());
    connecting_.reset();
  }
  port_ = nullptr;
  host_.detach(port);
}

void StreamClient::tick(uint64_t now_ms) {
  if (!port_) return;
  if (port_->connected()) {
    was_up_ = true;
    return;
  }
  if (was_up_) {
    // The guest went away; whoever comes back may be another machine.
    was_up_ = false;
    host_.forget(*port_);
    delay_ms_ = options_.retry_min_ms;
    next_try_ms_ = now_ms + delay_ms_;
  }
  if (!connecting_ && now_ms >= next_try_ms_) start_connect(now_ms);
}

void StreamClient::backoff(uint64_t now_ms, const std::string& why) {
  if (why != last_failure_) {
    // Once per kind of failure, not once per retry.
    log(LogLevel::info, "port %s: cannot connect to %s (%s); retrying with back-off",
        options_.name.c_str(), options_.address.str().c_str(), why.c_str());
    last_failure_ = why;
  }
  next_try_ms_ = now_ms + delay_ms_;
  delay_ms_ = std::min(delay_ms_ * 2, options_.retry_max_ms);
}

void StreamClient::start_connect(uint64_t now_ms) {
  const SocketAddress& a = options_.address;
  Fd s(socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s) {
    backoff(now_ms, std::strerror(errno));
    return;
  }
  if (::connect(s.get(), a.sa(), a.len) == 0) {
    connecting_ = std::move(s);
    finish_connect();
    return;
  }
  if (errno != EINPROGRESS && errno != EAGAIN) {
    backoff(now_ms, std::strerror(errno));
    return;
  }
  connecting_ = std::move(s);
  host_.watch(connecting_.get(), EPOLLOUT, [this](uint32_t) {
    host_.unwatch(connecting_.get());
    finish_connect();
  });
}

void StreamClient::finish_connect() {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(connecting_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    connecting_.reset();
    backoff(host_.now_ms(), std::strerror(err));
    return;
  }
  tune_stream_socket(connecting_.get(), options_.address.family() != AF_UNIX);
  port_->attach_socket(std::move(connecting_), options_.address.str());
  delay_ms_ = options_.retry_min_ms;
  last_failure_.clear();
  was_up_ = true;
  log(LogLevel::info, "port %s: connected to %s", options_.name.c_str(),
      options_.address.str().c_str());
}

}  // namespace vswitch::plugs::qemu
