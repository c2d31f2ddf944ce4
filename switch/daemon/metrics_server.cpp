#include "metrics_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "prometheus_format.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

// A scraper's request is a line and a few headers; anything much larger is not one.
constexpr size_t kMaxRequest = 8 * 1024;
// From accept to the last byte of the response: a client trickling its request a byte at a
// time cannot hold a connection longer.
constexpr uint64_t kConnectionTimeoutMs = 5000;
constexpr size_t kMaxClients = 16;

std::string response(int status, std::string_view reason, std::string_view content_type,
                     const std::string& body, bool with_body, std::string_view extra = {}) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  r += "Content-Type: " + std::string(content_type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += extra;
  r += "Connection: close\r\n\r\n";
  if (with_body) r += body;
  return r;
}

std::string error_response(int status, std::string_view reason, std::string_view extra = {}) {
  std::string body = std::string(reason) + "\n";
  return response(status, reason, "text/plain; charset=utf-8", body, true, extra);
}

}  // namespace

plugs::SocketAddress metrics_listen_address(const std::string& text, bool remote) {
  const bool port_only = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  const plugs::SocketAddress a =
      plugs::SocketAddress::inet(port_only ? "127.0.0.1:" + text : text, false);
  if (!a.is_loopback() && !remote) {
    throw ConfigError(a.str() +
                      " is not a loopback address, and the counters would be open to the "
                      "network; add --metrics-remote if that is meant");
  }
  return a;
}

MetricsServer::MetricsServer(Engine& engine, const plugs::SocketAddress& address, Body body)
    : engine_(engine), body_(std::move(body)) {
  listen_fd_.reset(socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int one = 1;
  if (listen_fd_) setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (!listen_fd_ || bind(listen_fd_.get(), address.sa(), address.len) != 0 ||
      listen(listen_fd_.get(), 64) != 0) {
    throw ConfigError("--metrics-listen: cannot listen on " + address.str() + ": " +
                      std::strerror(errno));
  }
  address_ = plugs::SocketAddress::local_of(listen_fd_.get());
  engine_.watch(listen_fd_.get(), EPOLLIN, [this](uint32_t) { accept_clients(); });
  timer_ = engine_.every(1000, [this](uint64_t now) { expire(now); });
  log(LogLevel::info, "metrics at http://%s/metrics", address_.str().c_str());
}

MetricsServer::~MetricsServer() {
  engine_.cancel(timer_);
  clients_.clear();
  engine_.unwatch(listen_fd_.get());
}

void MetricsServer::accept_clients() {
  for (int i = 0, fd; i < plugs::kAcceptsPerWake && (fd = acceptor_.accept(listen_fd_.get())) >= 0;
       ++i) {
    if (clients_.size() >= kMaxClients) {
      // Told at once rather than left to time out; the reply fits any socket buffer.
      const std::string busy = error_response(503, "Service Unavailable");
      [[maybe_unused]] ssize_t n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
      ::close(fd);
      continue;
    }
    auto take_line = [this, fd](LineConnection&, std::string_view line, bool too_long) {
      on_line(clients_.at(fd), line, too_long);
    };
    auto on_ready = [this, fd](uint32_t events) {
      auto it = clients_.find(fd);
      if (it == clients_.end()) return;
      it->second.connection->on_events(events);
      if (it->second.connection->done()) clients_.erase(it);
    };
    Client& c = clients_[fd];
    c.accepted_ms = engine_.now_ms();
    c.connection = std::make_unique<LineConnection>(
        engine_, plugs::Fd(fd), LineConnection::Limits{kMaxRequest, kMaxRequest}, take_line,
        on_ready);
  }
}

void MetricsServer::on_line(Client& c, std::string_view line, bool too_long) {
  LineConnection& conn = *c.connection;
  c.request_bytes += line.size() + 2;
  if (too_long || c.request_bytes > kMaxRequest) {
    conn.send(c.request_line.empty() ? error_response(414, "URI Too Long")
                                     : error_response(431, "Request Header Fields Too Large"));
    conn.finish();
    return;
  }
  if (c.request_line.empty()) {
    // Blank lines before the request line are to be ignored (RFC 9112, 2.2).
    if (!line.empty()) c.request_line = line;
    return;
  }
  // Headers say nothing this server needs; the blank line after them ends the request.
  if (line.empty()) answer(c, c.request_line);
}

void MetricsServer::answer(Client& c, std::string_view request_line) {
  LineConnection& conn = *c.connection;
  conn.finish();
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    conn.send(error_response(400, "Bad Request"));
    return;
  }
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = request_line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    conn.send(version.rfind("HTTP/", 0) == 0 ? error_response(505, "HTTP Version Not Supported")
                                             : error_response(400, "Bad Request"));
    return;
  }
  // The query, if any, asks for nothing this server offers.
  if (target.substr(0, target.find('?')) != "/metrics") {
    conn.send(error_response(404, "Not Found"));
    return;
  }
  if (method != "GET" && method != "HEAD") {
    conn.send(error_response(405, "Method Not Allowed", "Allow: GET, HEAD\r\n"));
    return;
  }
  conn.send(response(200, "OK", kPrometheusContentType, body_(), method == "GET"));
}

void MetricsServer::expire(uint64_t now_ms) {
  std::erase_if(clients_, [&](const auto& c) {
    return now_ms - c.second.accepted_ms >= kConnectionTimeoutMs;
  });
}

}  // namespace vswitch::daemon
