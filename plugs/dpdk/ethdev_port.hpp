// A DPDK ethdev as a port: a physical NIC or any virtual device (net_pcap, net_ring, net_null,
// net_tap, net_af_packet, net_vhost, net_memif...), named by its devargs. One rx and one tx
// queue; the engine's thread is the only one touching them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vswitch/port.hpp"

struct rte_mempool;

namespace vswitch::plugs {

struct EthdevOptions {
  std::string devargs;  // "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap" or "0000:03:00.0"
  rte_mempool* pool = nullptr;
  // For an MTU bigger than pool's buffers on a device that cannot scatter a frame over several:
  // a pool whose buffers hold this many bytes of data (throws ConfigError if there is none).
  std::function<rte_mempool*(uint32_t data_room)> large_pool;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
};

class EthdevPort final : public Port {
 public:
  // Probes the device unless EAL already did, configures and starts it; throws ConfigError.
  static std::unique_ptr<EthdevPort> open(PortSettings settings, const EthdevOptions& options);
  ~EthdevPort() override;

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return intr_epoll_fd_; }
  bool polled() const override { return true; }  // the interrupt only wakes a sleeping engine
  void arm_wakeup() override;
  void disarm_wakeup() override;
  std::string_view kind() const override { return "dpdk"; }
  std::vector<std::pair<std::string, std::string>> details() const override;

 private:
  EthdevPort(PortSettings settings, std::string devargs, uint16_t port_id, bool probed);
  void start(const EthdevOptions& options);
  void enable_rx_interrupt();

  std::string devargs_;
  uint16_t port_id_;
  bool probed_;  // we hot-plugged it, so we remove it again
  bool started_ = false;
  int intr_epoll_fd_ = -1;
};

}  // namespace vswitch::plugs
