#include "virtio_user.hpp"

#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <thread>

#include "eal.hpp"
#include "mbufs.hpp"

namespace vswitch::test {

namespace {
int g_next = 0;
}

VirtioUser::VirtioUser(const std::string& path, bool server, bool mergeable, uint16_t queues)
    : queues_(queues) {
  // The PMD writes to its socket without MSG_NOSIGNAL: a switch gone must not kill the test.
  signal(SIGPIPE, SIG_IGN);
  rte_mempool* pool = test_pool();
  if (!pool) {
    error_ = "EAL did not start";
    return;
  }
  name_ = "net_virtio_user" + std::to_string(g_next++);
  const std::string args = "path=" + path + ",queues=" + std::to_string(queues) +
                           (queues > 1 ? ",cq=1" : "") + (server ? ",server=1" : "") +
                           ",mrg_rxbuf=" + (mergeable ? "1" : "0");
  if (rte_dev_probe((name_ + "," + args).c_str()) != 0) {
    error_ = "cannot probe " + name_ + "," + args;
    return;
  }
  probed_ = true;
  if (rte_eth_dev_get_port_by_name(name_.c_str(), &port_) != 0) {
    error_ = name_ + " is no ethdev";
    return;
  }
  rte_eth_conf conf{};
  conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  // In server mode the PMD takes a switch that connects again through its link interrupt.
  conf.intr_conf.lsc = server ? 1 : 0;
  bool set_up = rte_eth_dev_configure(port_, queues, queues, &conf) == 0;
  for (uint16_t q = 0; set_up && q < queues; ++q) {
    set_up = rte_eth_rx_queue_setup(port_, q, 256, SOCKET_ID_ANY, nullptr, pool) == 0 &&
             rte_eth_tx_queue_setup(port_, q, 256, SOCKET_ID_ANY, nullptr) == 0;
  }
  if (!set_up || rte_eth_dev_start(port_) != 0) {
    error_ = "cannot start " + name_;
    return;
  }
  started_ = true;
}

VirtioUser::~VirtioUser() {
  if (started_) rte_eth_dev_stop(port_);
  if (probed_) {
    rte_eth_dev_close(port_);
    rte_eal_hotplug_remove("vdev", name_.c_str());
  }
}

bool VirtioUser::send(const Bytes& frame) {
  rte_mbuf* head = chain_frame(test_pool(), frame);
  if (!head) return false;
  for (int i = 0; i < 1000; ++i) {
    if (rte_eth_tx_burst(port_, static_cast<uint16_t>(queues_ - 1), &head, 1) == 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  rte_pktmbuf_free(head);
  return false;
}

std::optional<Bytes> VirtioUser::recv(int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    rte_mbuf* m = nullptr;
    uint16_t got = 0;
    for (uint16_t q = 0; q < queues_ && got == 0; ++q)
      got = rte_eth_rx_burst(port_, q, &m, 1);
    if (got == 1) {
      Bytes f = bytes_of(m);
      rte_pktmbuf_free(m);
      return f;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  } while (std::chrono::steady_clock::now() < until);
  return std::nullopt;
}

std::vector<Bytes> VirtioUser::drain(int quiet_ms) {
  std::vector<Bytes> out;
  while (auto f = recv(quiet_ms))
    out.push_back(std::move(*f));
  return out;
}

}  // namespace vswitch::test
