// The control socket: a Unix stream socket, owner-only by default. One request per connection:
// a JSON object {"args": [...], "format": "text"|"json"} on one line; the reply is "ok" or
// "error" on the first line, then the body, then EOF. Served between rounds on the engine's
// thread, so commands never race the datapath.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/acceptor.hpp"
#include "common/fd.hpp"
#include "line_connection.hpp"
#include "vswitch/engine.hpp"

namespace vswitch::daemon {

class ControlServer {
 public:
  // handler: request line in, reply bytes out.
  using Handler = std::function<std::string(const std::string& request)>;

  ControlServer(Engine& engine, std::string path, mode_t mode, Handler handler);
  ~ControlServer();

  const std::string& path() const { return path_; }

 private:
  void accept_clients();
  void on_request(LineConnection& c, std::string_view line, bool too_long);
  void expire_idle(uint64_t now_ms);

  Engine& engine_;
  std::string path_;
  Handler handler_;
  plugs::Fd listen_fd_;
  plugs::Acceptor acceptor_{"control socket"};
  Engine::TimerId timer_ = 0;
  std::map<int, std::unique_ptr<LineConnection>> clients_;
};

}  // namespace vswitch::daemon
