// A port backed by memory, for testing the core without a transport: frames handed to inject()
// come out of receive(); frames the switch transmits are copied into `sent` and freed.
#pragma once

#include <rte_mbuf.h>

#include <cstring>
#include <deque>
#include <limits>
#include <vector>

#include "frames.hpp"
#include "mbufs.hpp"
#include "vswitch/port.hpp"

namespace vswitch::test {

class MemoryPort final : public Port {
 public:
  MemoryPort(PortSettings s, rte_mempool* pool) : Port(std::move(s)), pool_(pool) {}
  ~MemoryPort() override {
    for (rte_mbuf* m : queue_)
      rte_pktmbuf_free(m);
  }

  // Frames bigger than one mbuf are chained, as a scattering NIC would deliver them.
  void inject(const Bytes& f) {
    rte_mbuf* m = chain_frame(pool_, f);
    if (m == nullptr) throw std::runtime_error("pool empty");
    queue_.push_back(m);
  }

  std::vector<MacAddr> own_macs() const override { return macs; }

  uint16_t receive(rte_mbuf** burst, uint16_t max) override {
    uint16_t n = 0;
    while (n < max && !queue_.empty()) {
      burst[n++] = queue_.front();
      queue_.pop_front();
    }
    return n;
  }

  uint16_t transmit(rte_mbuf** burst, uint16_t n) override {
    uint16_t taken = 0;
    for (; taken < n && tx_room > 0; ++taken, --tx_room) {
      rte_mbuf* m = burst[taken];
      sent.push_back(bytes_of(m));
      rte_pktmbuf_free(m);
    }
    if (taken < n) {
      counters().drop(DropReason::tx_full, n - taken);
      rte_pktmbuf_free_bulk(burst + taken, n - taken);
    }
    return taken;
  }

  std::string_view kind() const override { return "memory"; }

  std::vector<Bytes> sent;
  std::vector<MacAddr> macs;  // its own_macs(), as a NAT or DHCP port has them
  size_t tx_room = std::numeric_limits<size_t>::max();

 private:
  rte_mempool* pool_;
  std::deque<rte_mbuf*> queue_;
};

}  // namespace vswitch::test
