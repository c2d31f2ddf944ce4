// The control socket: a Unix stream socket, owner-only by default. One request per connection:
// a JSON object {"args": [...], "format": "text"|"json"} on one line; the reply is "ok" or
// "error" on the first line, then the body, then EOF. A streaming reply (a capture) goes on
// for as long as it has more to say and the client reads it; the client ends it early by
// closing its side of the socket, and still reads the stream's tail. Served between rounds on
// the engine's thread, so commands never race the datapath. A missing directory for the socket
// (one level, as root's default /run/vswitchd/) is made, and removed again at exit.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "commands.hpp"
#include "common/acceptor.hpp"
#include "common/fd.hpp"
#include "line_connection.hpp"
#include "vswitch/engine.hpp"

namespace vswitch::daemon {

class ControlServer {
 public:
  using Handler = std::function<Served(const std::string& request)>;

  ControlServer(Engine& engine, std::string path, mode_t mode, Handler handler);
  ~ControlServer();

  const std::string& path() const { return path_; }
  // The socket's directory when it was missing and this server made it (/run/vswitchd, say).
  const std::string& made_directory() const { return made_directory_; }

 private:
  struct Client {
    std::unique_ptr<LineConnection> connection;
    std::shared_ptr<Stream> stream;  // while a streaming reply goes on
    bool stopped = false;            // the stream was told the client is done
    bool handed = false;             // the stream writes to the socket itself
  };

  void accept_clients();
  void on_request(LineConnection& c, std::string_view line, bool too_long);
  void expire_idle(uint64_t now_ms);
  // Moves a stream's ready bytes to its client while the client keeps up.
  void pump(Client& c);
  void pump_all();
  void update_pump_timer();

  Engine& engine_;
  std::string path_;
  std::string made_directory_;
  Handler handler_;
  plugs::Fd listen_fd_;
  plugs::Acceptor acceptor_{"control socket"};
  Engine::TimerId timer_ = 0;
  Engine::TimerId pump_timer_ = 0;  // only while a stream goes on
  std::map<int, Client> clients_;
};

}  // namespace vswitch::daemon
