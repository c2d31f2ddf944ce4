// A minimal HTTP/1.1 server for a Prometheus scraper (--metrics-listen): GET or HEAD /metrics
// answers the text `body` makes at that moment, any other path 404, any other method 405. One
// response per connection, then Connection: close. Served on the engine's control plane like
// the control socket, so a scrape reads counters between rounds and never races the datapath.
//
// Everything a client can make it hold is bounded: the request's size, the time a connection
// may take from accept to its last byte, and the connections open at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/acceptor.hpp"
#include "common/fd.hpp"
#include "common/socket_address.hpp"
#include "line_connection.hpp"
#include "vswitch/engine.hpp"

namespace vswitch::daemon {

// --metrics-listen's value: "[ADDR:]PORT", ADDR numeric ("[::1]:9100" for IPv6), 127.0.0.1
// when left out. The counters and port names are no secret but no business of the network
// either: an address other hosts reach is refused unless `remote` (--metrics-remote) says it is
// meant. Throws ConfigError.
plugs::SocketAddress metrics_listen_address(const std::string& text, bool remote);

class MetricsServer {
 public:
  using Body = std::function<std::string()>;

  // Throws ConfigError when it cannot listen there.
  MetricsServer(Engine& engine, const plugs::SocketAddress& address, Body body);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Where it listens; the port the kernel chose when asked for port 0.
  const plugs::SocketAddress& address() const { return address_; }

 private:
  struct Client {
    std::unique_ptr<LineConnection> connection;
    uint64_t accepted_ms = 0;
    size_t request_bytes = 0;
    std::string request_line;  // empty until it came
  };

  void accept_clients();
  void on_line(Client& c, std::string_view line, bool too_long);
  void answer(Client& c, std::string_view request_line);
  void expire(uint64_t now_ms);

  Engine& engine_;
  plugs::SocketAddress address_;
  Body body_;
  plugs::Fd listen_fd_;
  plugs::Acceptor acceptor_{"metrics listener"};
  Engine::TimerId timer_ = 0;
  std::map<int, Client> clients_;
};

}  // namespace vswitch::daemon
