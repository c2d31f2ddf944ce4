// Frames into mbufs and back, for tests and fuzzers: a frame bigger than one buffer (or than
// the segment sizes asked for) becomes a chain, as a scattering NIC or a guest's buffers give it.
#pragma once

#include <cstddef>
#include <functional>

#include "frames.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace vswitch::test {

// The frame in a chain from pool, its first segment `headroom` bytes into its buffer and the
// i-th holding at most segment_limit(i) bytes (default: what its buffer holds); null when the
// pool has run dry.
rte_mbuf* chain_frame(rte_mempool* pool, const Bytes& frame,
                      const std::function<size_t(size_t)>& segment_limit = {}, int headroom = -1);
// Every byte of the (chained) frame.
Bytes bytes_of(const rte_mbuf* m);

}  // namespace vswitch::test
