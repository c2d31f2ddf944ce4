// vswitchd as the server end of QEMU's stream transports: it listens on TCP or a Unix socket
// and every connection (a guest's -netdev socket,connect= or -netdev stream,server=off) becomes
// a port of its own, named NAME:1, NAME:2...
#pragma once

#include <map>
#include <string>

#include "common/acceptor.hpp"
#include "common/fd.hpp"
#include "common/socket_address.hpp"
#include "qemu/stream_port.hpp"
#include "vswitch/plug_host.hpp"

namespace vswitch::plugs::qemu {

struct StreamServerOptions {
  std::string name = "stream";
  SocketAddress address;
  mode_t mode = 0600;  // of a Unix socket
  PortSettings defaults;
  rte_mempool* pool = nullptr;
};

class StreamServer final : public PortOwner {
 public:
  StreamServer(PlugHost& host, StreamServerOptions options);  // throws ConfigError
  ~StreamServer() override;
  void remove(Port& port) override;
  void closed(Port& port) override;
  std::vector<std::pair<std::string, std::string>> details() const override;
  const SocketAddress& address() const { return options_.address; }

 private:
  void accept_clients();

  PlugHost& host_;
  StreamServerOptions options_;
  Fd listen_;
  Acceptor acceptor_;
  std::map<uint32_t, StreamPort*> ports_;  // by number
  uint32_t next_ = 1;
  uint64_t accepted_ = 0;
  uint64_t protocol_errors_ = 0;  // connections closed for a zero or too long length
};

}  // namespace vswitch::plugs::qemu
