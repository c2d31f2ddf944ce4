#include "dpdk/ethdev_port.hpp"

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs {

namespace {

std::string errtext(int rc) {
  return std::strerror(rc < 0 ? -rc : rc);
}

std::string device_name(const std::string& devargs) {
  return devargs.substr(0, devargs.find(','));
}

}  // namespace

EthdevPort::EthdevPort(PortSettings settings, std::string devargs, uint16_t port_id, bool probed)
    : Port(std::move(settings)), devargs_(std::move(devargs)), port_id_(port_id), probed_(probed) {}

std::unique_ptr<EthdevPort> EthdevPort::open(PortSettings settings, const EthdevOptions& options) {
  const std::string name = device_name(options.devargs);
  if (name.empty()) throw ConfigError("port " + settings.name + ": empty DPDK devargs");
  uint16_t port_id = 0;
  bool probed = false;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    const int rc = rte_dev_probe(options.devargs.c_str());
    if (rc != 0) {
      throw ConfigError("port " + settings.name + ": cannot probe DPDK device '" + options.devargs +
                        "': " + errtext(rc));
    }
    probed = true;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
      throw ConfigError("port " + settings.name + ": device '" + name +
                        "' was probed but is not an ethdev");
    }
  }
  std::unique_ptr<EthdevPort> port(
      new EthdevPort(std::move(settings), options.devargs, port_id, probed));
  port->start(options);
  return port;
}

void EthdevPort::start(const EthdevOptions& options) {
  const std::string& pname = name();
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port_id_, &info);
  if (rc != 0) throw ConfigError("port " + pname + ": device info: " + errtext(rc));

  rte_eth_conf conf{};
  rte_mempool* pool = options.pool;
  const uint32_t frame_max = settings().mtu + kEtherHeaderLen + kVlanTagLen;
  const uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
  if (frame_max > room) {
    // A jumbo frame spans several mbufs where the device can chain them; otherwise it needs
    // buffers of its size.
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
      conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
    } else if (options.large_pool) {
      pool = options.large_pool(RTE_PKTMBUF_HEADROOM + frame_max);
    } else {
      throw ConfigError("port " + pname + ": mtu " + std::to_string(settings().mtu) +
                        " is too big for " + info.driver_name + " with these buffers");
    }
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  }
  if (settings().mtu >= info.min_mtu && settings().mtu <= info.max_mtu) {
    conf.rxmode.mtu = settings().mtu;
  }
  // Rx interrupts let an idle engine sleep; drivers without them refuse the flag.
  conf.intr_conf.rxq = 1;
  rc = rte_eth_dev_configure(port_id_, 1, 1, &conf);
  if (rc != 0) {
    conf.intr_conf.rxq = 0;
    rc = rte_eth_dev_configure(port_id_, 1, 1, &conf);
  }
  if (rc != 0) throw ConfigError("port " + pname + ": configure: " + errtext(rc));

  uint16_t rxd = options.rx_descriptors;
  uint16_t txd = options.tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(port_id_);
  const unsigned sock = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
  rte_eth_rxconf rxconf = info.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  rc = rte_eth_rx_queue_setup(port_id_, 0, rxd, sock, &rxconf, pool);
  if (rc != 0) throw ConfigError("port " + pname + ": rx queue: " + errtext(rc));
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  rc = rte_eth_tx_queue_setup(port_id_, 0, txd, sock, &txconf);
  if (rc != 0) throw ConfigError("port " + pname + ": tx queue: " + errtext(rc));

  rc = rte_eth_dev_start(port_id_);
  if (rc != 0) throw ConfigError("port " + pname + ": start: " + errtext(rc));
  started_ = true;
  // A switch port must see every destination; virtual devices may not support it, which is
  // fine for them since they never filter.
  rc = rte_eth_promiscuous_enable(port_id_);
  if (rc != 0 && rc != -ENOTSUP) {
    log(LogLevel::warn, "port %s: promiscuous mode: %s", pname.c_str(), errtext(rc).c_str());
  }
  if (conf.intr_conf.rxq) enable_rx_interrupt();
  log(LogLevel::info, "port %s: DPDK %s (port %u), %u rx / %u tx descriptors%s", pname.c_str(),
      info.driver_name, port_id_, rxd, txd, intr_epoll_fd_ >= 0 ? ", rx interrupts" : "");
}

void EthdevPort::enable_rx_interrupt() {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return;
  // Most virtual devices accept the flag but have no interrupt; ethdev then logs an error we
  // expect, so hush it for this one probe.
  const int ethdev_log = rte_log_register("lib.ethdev");
  const int level = ethdev_log >= 0 ? rte_log_get_level(ethdev_log) : -1;
  if (level >= 0) rte_log_set_level(ethdev_log, RTE_LOG_CRIT);
  const int rc = rte_eth_dev_rx_intr_ctl_q(port_id_, 0, ep, RTE_INTR_EVENT_ADD, nullptr);
  if (level >= 0) rte_log_set_level(ethdev_log, static_cast<uint32_t>(level));
  if (rc != 0) {
    ::close(ep);
    return;
  }
  intr_epoll_fd_ = ep;
}

void EthdevPort::arm_wakeup() {
  rte_eth_dev_rx_intr_enable(port_id_, 0);
}

void EthdevPort::disarm_wakeup() {
  rte_eth_dev_rx_intr_disable(port_id_, 0);
  // Let DPDK consume what woke us (it reads the event fd where the driver needs it).
  rte_epoll_event ev[4];
  rte_epoll_wait(intr_epoll_fd_, ev, 4, 0);
}

EthdevPort::~EthdevPort() {
  if (intr_epoll_fd_ >= 0) {
    rte_eth_dev_rx_intr_ctl_q(port_id_, 0, intr_epoll_fd_, RTE_INTR_EVENT_DEL, nullptr);
    ::close(intr_epoll_fd_);
  }
  rte_eth_dev_info info{};
  rte_device* dev = rte_eth_dev_info_get(port_id_, &info) == 0 ? info.device : nullptr;
  if (started_) rte_eth_dev_stop(port_id_);
  rte_eth_dev_close(port_id_);
  // Hot-unplug what we hot-plugged, so the same device can be opened again.
  if (probed_ && dev != nullptr) rte_dev_remove(dev);
}

uint16_t EthdevPort::receive(rte_mbuf** burst, uint16_t max) {
  return rte_eth_rx_burst(port_id_, 0, burst, max);
}

uint16_t EthdevPort::transmit(rte_mbuf** burst, uint16_t n) {
  const uint16_t sent = rte_eth_tx_burst(port_id_, 0, burst, n);
  if (sent < n) {
    counters().drop(DropReason::tx_full, n - sent);
    rte_pktmbuf_free_bulk(burst + sent, n - sent);
  }
  return sent;
}

std::vector<std::pair<std::string, std::string>> EthdevPort::details() const {
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("devargs", devargs_);
  d.emplace_back("dpdk_port", std::to_string(port_id_));
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id_, &info) == 0) d.emplace_back("driver", info.driver_name);
  rte_ether_addr mac{};
  if (rte_eth_macaddr_get(port_id_, &mac) == 0) {
    char text[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(text, sizeof text, &mac);
    d.emplace_back("mac", text);
  }
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id_, &link) == 0) {
    d.emplace_back("link", link.link_status ? "up" : "down");
  }
  rte_eth_stats st{};
  if (rte_eth_stats_get(port_id_, &st) == 0) {
    // Drops the device made before frames reached us: ring full, errors, no mbuf.
    d.emplace_back("rx_missed", std::to_string(st.imissed));
    d.emplace_back("rx_errors", std::to_string(st.ierrors));
    d.emplace_back("rx_nombuf", std::to_string(st.rx_nombuf));
  }
  return d;
}

}  // namespace vswitch::plugs
