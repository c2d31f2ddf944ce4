// vswitchd as the client end of QEMU's stream transports: it connects to a guest's
// -netdev socket,listen= or -netdev stream,server=on, and connects again, with back-off, when
// the guest is not there yet or goes away; QEMU 7.2 never reconnects, so this side must.
#pragma once

#include <string>

#include "common/fd.hpp"
#include "common/socket_address.hpp"
#include "qemu/stream_port.hpp"
#include "vswitch/plug_host.hpp"

namespace vswitch::plugs::qemu {

struct StreamClientOptions {
  std::string name = "stream";
  SocketAddress address;
  uint32_t retry_min_ms = 100;
  uint32_t retry_max_ms = 5000;
  PortSettings defaults;
  rte_mempool* pool = nullptr;
};

class StreamClient final : public PortOwner {
 public:
  StreamClient(PlugHost& host, StreamClientOptions options);  // throws ConfigError
  ~StreamClient() override;
  void remove(Port& port) override;

 private:
  void tick(uint64_t now_ms);
  void start_connect(uint64_t now_ms);
  void finish_connect();
  void backoff(uint64_t now_ms, const std::string& why);

  PlugHost& host_;
  StreamClientOptions options_;
  StreamPort* port_ = nullptr;
  Fd connecting_;
  PlugHost::TimerId timer_ = 0;
  uint64_t next_try_ms_ = 0;
  uint32_t delay_ms_;
  bool was_up_ = false;
  std::string last_failure_;
};

}  // namespace vswitch::plugs::qemu
