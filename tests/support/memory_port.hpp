// A port backed by memory, for testing the core without a transport: frames handed to inject()
// come out of receive(); frames the switch transmits are copied into `sent` and freed.
#pragma once

#include <rte_mbuf.h>

#include <cstring>
#include <deque>
#include <limits>
#include <vector>

#include "frames.hpp"
#include "vswitch/port.hpp"

namespace vswitch::test {

class MemoryPort final : public Port {
 public:
  MemoryPort(PortSettings s, rte_mempool* pool) : Port(std::move(s)), pool_(pool) {}
  ~MemoryPort() override {
    for (rte_mbuf* m : queue_)
      rte_pktmbuf_free(m);
  }

  void inject(const Bytes& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) throw std::runtime_error("pool empty");
    // Frames bigger than one mbuf are chained, as a scattering NIC would deliver them.
    size_t off = 0;
    rte_mbuf* last = m;
    while (off < f.size() || off == 0) {
      rte_mbuf* seg = off == 0 ? m : rte_pktmbuf_alloc(pool_);
      const size_t n = std::min<size_t>(f.size() - off, rte_pktmbuf_tailroom(seg));
      std::memcpy(rte_pktmbuf_mtod(seg, uint8_t*), f.data() + off, n);
      seg->data_len = static_cast<uint16_t>(n);
      if (seg != m) {
        last->next = seg;
        last = seg;
        ++m->nb_segs;
      }
      off += n;
      if (f.empty()) break;
    }
    m->pkt_len = static_cast<uint32_t>(f.size());
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
      Bytes f(m->pkt_len);
      const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
      if (p != f.data()) std::memcpy(f.data(), p, f.size());
      sent.push_back(std::move(f));
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
