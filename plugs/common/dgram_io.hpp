// Batched datagram I/O straight into and out of mbufs: one recvmmsg or sendmmsg per burst, one
// Ethernet frame per datagram (VDE, QEMU's dgram and UDP backends).
//
// A frame lands in one mbuf when it fits; a longer one (up to a jumbo frame) spills into a
// per-thread scratch area and is chained into further mbufs, so ordinary frames cost no copy
// and jumbo frames still arrive whole.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "common/socket_address.hpp"
#include "vswitch/port.hpp"

struct rte_mempool;

namespace vswitch::plugs {

// The largest frame a datagram transport carries: a 9216-byte payload, header and tag, as
// vdeplug4 (VDE_ETHBUFSIZE) and QEMU accept.
inline constexpr uint32_t kMaxDatagramFrame = 9216 + 14 + 4;

// mbufs allocated ahead, so a receive that finds nothing costs no allocation.
class RxStash {
 public:
  explicit RxStash(rte_mempool* pool) : pool_(pool) {}
  ~RxStash();
  RxStash(const RxStash&) = delete;
  RxStash& operator=(const RxStash&) = delete;

  // Tops the stash up to `want`; false when the pool is empty.
  bool fill(uint16_t want);
  uint16_t size() const { return n_; }
  rte_mbuf** data() { return m_; }
  // Takes the first k mbufs out (they now belong to the caller).
  void take(uint16_t k);

 private:
  rte_mempool* pool_;
  rte_mbuf* m_[kBurst] = {};
  uint16_t n_ = 0;
};

// Which senders' datagrams to take, for sockets that are not connected to their peer.
struct PeerFilter {
  enum class Mode : uint8_t { any, only, except };
  Mode mode = Mode::any;
  SocketAddress peer;      // only its datagrams, or all but its (our own multicast, looped back)
  bool port_only = false;  // compare the port alone: the peer's address is "any"
};

// Receives up to max datagrams from fd. Datagrams too long for kMaxDatagramFrame are dropped and
// counted as oversize on `counters`, as are (rx_error) those the filter refuses and receive
// errors other than "nothing there". Returns how many frames it put in out[].
uint16_t receive_datagrams(int fd, RxStash& stash, rte_mbuf** out, uint16_t max,
                           PortCounters& counters, const PeerFilter* filter = nullptr);

// Appends `len` bytes to m in further mbufs of its pool, chained; false when the pool runs dry.
bool chain_bytes(rte_mbuf* m, const uint8_t* data, uint32_t len);

// A frame copied out of a byte stream into an mbuf, chained when longer than one; nullptr when
// the pool is empty.
rte_mbuf* mbuf_from_bytes(rte_mempool* pool, const uint8_t* data, uint32_t len);

struct SendResult {
  uint16_t sent = 0;    // always the first frames of the burst
  uint16_t full = 0;    // the socket buffer was full (EAGAIN): not sent
  uint16_t failed = 0;  // any other error (peer gone, refused): not sent
  int error = 0;        // the errno of the failure, if any
};

// Sends pkts[0..n) as one datagram each, in order (kTxBurstMax to a system call), to `to` if given,
// else to the connected peer. The frames after the first that fails are not sent either, so
// sent + full + failed == n. Does not free or count anything: the caller owns the mbufs and
// decides what a failure means.
SendResult send_datagrams(int fd, rte_mbuf* const* pkts, uint16_t n, const sockaddr* to = nullptr,
                          socklen_t to_len = 0);

}  // namespace vswitch::plugs
