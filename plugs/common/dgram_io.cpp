#include "common/dgram_io.hpp"

#include <rte_mbuf.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace vswitch::plugs {

namespace {

// Room beyond the first mbuf for the longest frame, plus one byte to tell "exactly the limit"
// from "longer than the limit".
constexpr uint32_t kSpill = kMaxDatagramFrame + 1;
// A frame leaves in at most this many pieces; a 9234-byte frame in 2 KiB mbufs takes five.
constexpr int kMaxIov = 8;

thread_local std::array<std::array<uint8_t, kSpill>, kBurst> t_spill;

}  // namespace

bool chain_bytes(rte_mbuf* m, const uint8_t* data, uint32_t len) {
  rte_mbuf* last = rte_pktmbuf_lastseg(m);
  while (len > 0) {
    rte_mbuf* seg = rte_pktmbuf_alloc(m->pool);
    if (seg == nullptr) return false;
    const uint32_t n = std::min<uint32_t>(len, rte_pktmbuf_tailroom(seg));
    std::memcpy(rte_pktmbuf_mtod(seg, uint8_t*), data, n);
    seg->data_len = static_cast<uint16_t>(n);
    last->next = seg;
    last = seg;
    m->nb_segs = static_cast<uint16_t>(m->nb_segs + 1);
    m->pkt_len += n;
    data += n;
    len -= n;
  }
  return true;
}

RxStash::~RxStash() {
  if (n_ > 0) rte_pktmbuf_free_bulk(m_, n_);
}

bool RxStash::fill(uint16_t want) {
  if (want > kBurst) want = kBurst;
  if (n_ >= want) return true;
  if (rte_pktmbuf_alloc_bulk(pool_, m_ + n_, want - n_) != 0) return false;
  n_ = want;
  return true;
}

void RxStash::take(uint16_t k) {
  std::memmove(m_, m_ + k, (n_ - k) * sizeof m_[0]);
  n_ = static_cast<uint16_t>(n_ - k);
}

rte_mbuf* mbuf_from_bytes(rte_mempool* pool, const uint8_t* data, uint32_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  const uint32_t first = std::min<uint32_t>(len, rte_pktmbuf_tailroom(m));
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), data, first);
  m->data_len = static_cast<uint16_t>(first);
  m->pkt_len = first;
  if (len > first && !chain_bytes(m, data + first, len - first)) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  return m;
}

uint16_t receive_datagrams(int fd, RxStash& stash, rte_mbuf** out, uint16_t max,
                           PortCounters& counters, const PeerFilter* filter) {
  if (max > kBurst) max = kBurst;
  if (!stash.fill(max)) {
    // Without buffers the datagrams wait in the socket; say so once per attempt.
    counters.drop(DropReason::no_buffer);
    if (stash.size() == 0) return 0;
    max = stash.size();
  }
  rte_mbuf** m = stash.data();
  mmsghdr msgs[kBurst];
  iovec iov[kBurst][2];
  const bool filtered = filter != nullptr && filter->mode != PeerFilter::Mode::any;
  sockaddr_storage from[kBurst];
  for (uint16_t i = 0; i < max; ++i) {
    iov[i][0] = {rte_pktmbuf_mtod(m[i], void*), rte_pktmbuf_tailroom(m[i])};
    iov[i][1] = {t_spill[i].data(), kSpill};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = iov[i];
    msgs[i].msg_hdr.msg_iovlen = 2;
    if (filtered) {
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
  }
  int got;
  do {
    got = recvmmsg(fd, msgs, max, MSG_DONTWAIT, nullptr);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) counters.drop(DropReason::rx_error);
    return 0;
  }
  uint16_t kept = 0;
  uint16_t junked = 0;
  rte_mbuf* junk[kBurst];
  for (int i = 0; i < got; ++i) {
    rte_mbuf* mb = m[i];
    const uint32_t len = msgs[i].msg_len;
    const auto first = static_cast<uint32_t>(iov[i][0].iov_len);
    if (filtered) {
      const auto* src = reinterpret_cast<const sockaddr*>(&from[i]);
      const bool from_peer = filter->port_only
                                 ? filter->peer.port() == SocketAddress::port_of(src)
                                 : filter->peer.same(src, msgs[i].msg_hdr.msg_namelen);
      if (from_peer != (filter->mode == PeerFilter::Mode::only)) {
        // A stranger's datagram, or our own multicast come back: not a frame of this port.
        if (filter->mode == PeerFilter::Mode::only) counters.drop(DropReason::rx_error);
        junk[junked++] = mb;
        continue;
      }
    }
    if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len > kMaxDatagramFrame) {
      counters.in_packets++;
      counters.drop(DropReason::oversize);
      junk[junked++] = mb;
      continue;
    }
    mb->data_len = static_cast<uint16_t>(std::min(len, first));
    mb->pkt_len = mb->data_len;
    if (len > first && !chain_bytes(mb, t_spill[i].data(), len - first)) {
      counters.in_packets++;
      counters.drop(DropReason::no_buffer);
      junk[junked++] = mb;
      continue;
    }
    out[kept++] = mb;
  }
  stash.take(static_cast<uint16_t>(got));
  if (junked > 0) rte_pktmbuf_free_bulk(junk, junked);
  return kept;
}

namespace {

thread_local std::array<uint8_t, kMaxDatagramFrame> t_gather;

// Points msg at the frame's pieces; a frame in more pieces than kMaxIov is first gathered into
// `scratch` (false when it is too long even for that).
bool describe(const rte_mbuf* m, mmsghdr& msg, iovec* iov, uint8_t* scratch, const sockaddr* to,
              socklen_t to_len) {
  int j = 0;
  if (m->nb_segs <= kMaxIov) {
    for (const rte_mbuf* s = m; s != nullptr; s = s->next)
      iov[j++] = {rte_pktmbuf_mtod(s, void*), s->data_len};
  } else {
    if (m->pkt_len > kMaxDatagramFrame) return false;
    const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, scratch);
    iov[j++] = {const_cast<void*>(p), m->pkt_len};
  }
  msg.msg_hdr = {};
  msg.msg_hdr.msg_name = const_cast<sockaddr*>(to);
  msg.msg_hdr.msg_namelen = to_len;
  msg.msg_hdr.msg_iov = iov;
  msg.msg_hdr.msg_iovlen = static_cast<size_t>(j);
  return true;
}

}  // namespace

SendResult send_datagrams(int fd, rte_mbuf* const* pkts, uint16_t n, const sockaddr* to,
                          socklen_t to_len) {
  SendResult r;
  mmsghdr msgs[kTxBurstMax];
  iovec iov[kTxBurstMax][kMaxIov];
  // Each sendmmsg carries frames up to the next one that must be gathered, which then goes
  // first in the following call, so one scratch buffer serves the whole burst.
  while (r.sent < n) {
    uint16_t k = 0;
    while (r.sent + k < n && k < kTxBurstMax) {
      const rte_mbuf* m = pkts[r.sent + k];
      if (m->nb_segs > kMaxIov && k > 0) break;
      if (!describe(m, msgs[k], iov[k], t_gather.data(), to, to_len)) break;
      ++k;
    }
    if (k == 0) {
      // Longer than any datagram transport carries: the switch's MTU check keeps such frames
      // out, so this is a frame no plug made; it ends the burst to keep the delivered ones first.
      r.error = EMSGSIZE;
      r.failed = static_cast<uint16_t>(n - r.sent);
      return r;
    }
    uint16_t done = 0;
    while (done < k) {
      const int sent = sendmmsg(fd, msgs + done, k - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0) {
        // The first datagram of the rest failed; the rest of the burst shares its fate.
        r.sent = static_cast<uint16_t>(r.sent + done);
        const auto left = static_cast<uint16_t>(n - r.sent);
        r.error = errno;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          r.full = left;
        } else {
          r.failed = left;
        }
        return r;
      }
      done = static_cast<uint16_t>(done + sent);
    }
    r.sent = static_cast<uint16_t>(r.sent + k);
  }
  return r;
}

}  // namespace vswitch::plugs
