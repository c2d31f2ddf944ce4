// One port of a VDE switch directory: a port number with one or more endpoints (a client's
// data socket each; several when the same user plugs in twice). Frames from any endpoint enter
// as this port; frames for it go to every endpoint.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/dgram_io.hpp"
#include "common/fd.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::vde {

struct Endpoint {
  int id = -1;            // the switch-side control fd, as vde_switch numbers endpoints
  Fd data;                // connected to the client's socket
  std::string data_path;  // DIR/NNN.F, removed when the endpoint goes
  std::string description;
  uid_t uid = 0;
  pid_t pid = 0;
};

class VdePort final : public Port {
 public:
  VdePort(PortSettings settings, uint32_t number, rte_mempool* pool);
  ~VdePort() override;

  uint32_t number() const { return number_; }
  void add_endpoint(Endpoint ep);
  // Closes the endpoint's data socket and removes its file; false if there is no such endpoint.
  bool remove_endpoint(int id);
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return epoll_.get(); }
  std::string_view kind() const override { return "vde"; }
  std::vector<std::pair<std::string, std::string>> details() const override;

 private:
  uint32_t number_;
  std::vector<Endpoint> endpoints_;
  Fd epoll_;  // all endpoints' data sockets, so the engine waits on one fd
  RxStash stash_;
  size_t next_rx_ = 0;
};

}  // namespace vswitch::plugs::vde
