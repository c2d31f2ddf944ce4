#include "mbufs.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace vswitch::test {

rte_mbuf* chain_frame(rte_mempool* pool, const Bytes& frame,
                      const std::function<size_t(size_t)>& segment_limit, int headroom) {
  rte_mbuf* head = rte_pktmbuf_alloc(pool);
  if (head == nullptr) return nullptr;
  if (headroom >= 0) head->data_off = static_cast<uint16_t>(headroom);
  rte_mbuf* last = head;
  size_t off = 0;
  for (size_t i = 0; off < frame.size(); ++i) {
    rte_mbuf* seg = i == 0 ? head : rte_pktmbuf_alloc(pool);
    if (seg == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    size_t n = std::min<size_t>(frame.size() - off, rte_pktmbuf_tailroom(seg));
    if (segment_limit) n = std::min(n, segment_limit(i));
    std::memcpy(rte_pktmbuf_mtod(seg, uint8_t*), frame.data() + off, n);
    seg->data_len = static_cast<uint16_t>(n);
    if (seg != head) {
      last->next = seg;
      last = seg;
      ++head->nb_segs;
    }
    off += n;
  }
  head->pkt_len = static_cast<uint32_t>(frame.size());
  return head;
}

Bytes bytes_of(const rte_mbuf* m) {
  Bytes f(m->pkt_len);
  const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, f.data());
  if (!f.empty() && p != f.data()) std::memcpy(f.data(), p, f.size());
  return f;
}

}  // namespace vswitch::test
