// Changing a frame's 802.1Q form in place: removing its tag, pushing one, or turning a priority
// tag into a VLAN tag. Only for mbufs nobody else holds; shared ones are copied first.
#pragma once

#include <rte_mbuf.h>

#include <cstring>

#include "vswitch/ether.hpp"

namespace vswitch::tagging {

inline bool exclusive(const rte_mbuf* m) {
  return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

inline void strip(rte_mbuf* m) {
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  std::memmove(p + kVlanTagLen, p, 12);
  rte_pktmbuf_adj(m, kVlanTagLen);
}

// False when the mbuf has no headroom for the tag.
inline bool push(rte_mbuf* m, uint16_t vlan) {
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kVlanTagLen));
  if (p == nullptr) return false;
  std::memmove(p, p + kVlanTagLen, 12);
  store_be16(p + 12, kEtherTypeVlan);
  store_be16(p + 14, vlan);
  return true;
}

// Keeps the priority bits of the tag the frame came with.
inline void set_vid(rte_mbuf* m, uint16_t vlan) {
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  store_be16(p + 14, static_cast<uint16_t>((load_be16(p + 14) & 0xf000) | vlan));
}

}  // namespace vswitch::tagging
