#include "qemu/stream_port.hpp"

#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/big_endian.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::qemu {

namespace {
// Frames queued while the kernel's buffer is full, before new ones are dropped instead.
constexpr size_t kPendingLimit = 256 * 1024;

// QEMU's stream framing: each frame follows its length, 4 bytes big-endian.
constexpr size_t kLengthHeader = 4;

}  // namespace

Deframer::Result Deframer::next(uint32_t max_frame) {
  if (skip_ > 0) {
    const size_t n = std::min<uint64_t>(skip_, end_ - pos_);
    pos_ += n;
    skip_ -= n;
    return {skip_ == 0 ? Event::skipped : Event::need_more};
  }
  if (end_ - pos_ < 4) return {Event::need_more};
  const uint32_t len = load_be32(buf_.data() + pos_);
  if (len == 0) return {Event::zero_length};
  if (len > kQemuMaxRecord) return {Event::too_long, nullptr, len};
  if (len > max_frame) {
    pos_ += 4;
    skip_ = len;
    return next(max_frame);
  }
  if (end_ - pos_ < 4 + size_t{len}) return {Event::need_more};
  const uint8_t* frame = buf_.data() + pos_ + 4;
  pos_ += 4 + size_t{len};
  return {Event::frame, frame, len};
}

void Deframer::compact() {
  if (pos_ == 0) return;
  std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
  end_ -= pos_;
  pos_ = 0;
}

StreamPort::StreamPort(PortSettings settings, rte_mempool* pool, bool closes_on_eof)
    : Port(std::move(settings)),
      pool_(pool),
      closes_on_eof_(closes_on_eof),
      epoll_(epoll_create1(EPOLL_CLOEXEC)) {}

StreamPort::~StreamPort() = default;

void StreamPort::attach_socket(Fd socket, std::string peer) {
  sock_ = std::move(socket);
  peer_ = std::move(peer);
  in_ = Deframer();
  pending_.clear();
  pending_frames_ = 0;
  writable_watch_ = false;
  ++sessions_;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = sock_.get();
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, sock_.get(), &ev);
}

void StreamPort::watch_writable(bool on) {
  if (on == writable_watch_ || !sock_) return;
  writable_watch_ = on;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (on ? uint32_t{EPOLLOUT} : 0u);
  ev.data.fd = sock_.get();
  epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, sock_.get(), &ev);
}

void StreamPort::disconnect(const std::string& why) {
  if (!sock_) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, sock_.get(), nullptr);
  sock_.reset();
  // Frames still waiting for the kernel die with the connection.
  counters().drop(DropReason::tx_error, pending_frames_);
  pending_.clear();
  pending_frames_ = 0;
  last_error_ = why;
  if (closes_on_eof_) mark_closed(why);
}

void StreamPort::lost(const std::string& why) {
  log(LogLevel::info, "port %s: connection to %s ended: %s", name().c_str(), peer_.c_str(),
      why.c_str());
  disconnect(why);
}

bool StreamPort::flush_pending() {
  while (!pending_.empty()) {
    const ssize_t n =
        ::send(sock_.get(), pending_.data(), pending_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      lost(std::string("send: ") + std::strerror(errno));
      return false;
    }
    pending_.erase(pending_.begin(), pending_.begin() + n);
  }
  if (pending_.empty()) pending_frames_ = 0;
  watch_writable(!pending_.empty());
  return true;
}

uint16_t StreamPort::receive(rte_mbuf** burst, uint16_t max) {
  if (!sock_) return 0;
  if (!pending_.empty() && !flush_pending()) return 0;
  uint16_t got = 0;
  bool read_once = false;
  while (got < max) {
    const Deframer::Result r = in_.next(kMaxDatagramFrame);
    switch (r.event) {
      case Deframer::Event::frame: {
        rte_mbuf* m = mbuf_from_bytes(pool_, r.frame, r.length);
        if (m == nullptr) {
          counters().in_packets++;
          counters().drop(DropReason::no_buffer);
          continue;
        }
        burst[got++] = m;
        continue;
      }
      case Deframer::Event::skipped:
        counters().in_packets++;
        counters().drop(DropReason::oversize);
        continue;
      case Deframer::Event::zero_length:
        // QEMU forwards an empty record and a path stalls for good: refuse the connection.
        counters().drop(DropReason::rx_error);
        lost("zero-length record");
        return got;
      case Deframer::Event::too_long:
        counters().drop(DropReason::rx_error);
        lost("record length " + std::to_string(r.length) + " over QEMU's maximum " +
             std::to_string(kQemuMaxRecord));
        return got;
      case Deframer::Event::need_more:
        break;
    }
    // One read per call keeps a busy stream from starving the other ports.
    if (read_once) break;
    read_once = true;
    in_.compact();
    const ssize_t n = ::read(sock_.get(), in_.space(), in_.space_left());
    if (n > 0) {
      in_.commit(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    if (n == 0 && in_.buffered() > 0) {
      counters().drop(DropReason::rx_error);
      lost("closed in the middle of a frame");
    } else {
      lost(n == 0 ? "closed by the peer" : std::string("read: ") + std::strerror(errno));
    }
    break;
  }
  return got;
}

void StreamPort::queue(const rte_mbuf* m, size_t skip) {
  const uint32_t len = m->pkt_len;
  uint8_t hdr[kLengthHeader];
  store_be32(hdr, len);
  if (skip < kLengthHeader) pending_.insert(pending_.end(), hdr + skip, hdr + kLengthHeader);
  const uint32_t from = skip > kLengthHeader ? static_cast<uint32_t>(skip - kLengthHeader) : 0;
  const size_t at = pending_.size();
  pending_.resize(at + len - from);
  const void* p = rte_pktmbuf_read(m, from, len - from, pending_.data() + at);
  if (p != pending_.data() + at) std::memcpy(pending_.data() + at, p, len - from);
  ++pending_frames_;
}

uint16_t StreamPort::transmit(rte_mbuf** burst, uint16_t n) {
  if (sock_ && !pending_.empty()) flush_pending();
  if (!sock_) {
    counters().drop(DropReason::tx_error, n);
    rte_pktmbuf_free_bulk(burst, n);
    return 0;
  }
  auto record = [&](uint16_t i) { return 4 + size_t{burst[i]->pkt_len}; };
  uint16_t i = 0;
  if (pending_.empty()) {
    // One gathered write for the burst: length words and frame pieces.
    constexpr int kMaxIov = 512;
    iovec iov[kMaxIov];
    uint8_t hdrs[kTxBurstMax][kLengthHeader];
    int k = 0;
    uint16_t framed = 0;
    for (; framed < n && framed < kTxBurstMax; ++framed) {
      const rte_mbuf* m = burst[framed];
      if (k + 1 + m->nb_segs > kMaxIov) break;
      const uint32_t len = m->pkt_len;
      uint8_t* h = hdrs[framed];
      store_be32(h, len);
      iov[k++] = {h, kLengthHeader};
      for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        iov[k++] = {rte_pktmbuf_mtod(s, void*), s->data_len};
      }
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(k);
    ssize_t sent;
    do {
      sent = ::sendmsg(sock_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      lost(std::string("send: ") + std::strerror(errno));
      counters().drop(DropReason::tx_error, n);
      rte_pktmbuf_free_bulk(burst, n);
      return 0;
    }
    size_t done = sent < 0 ? 0 : static_cast<size_t>(sent);
    while (i < framed && done >= record(i))
      done -= record(i++);
    // The kernel took part of a frame: its tail must follow, or the stream breaks.
    if (done > 0) queue(burst[i++], done);
  }
  // The rest waits in order while there is room, and is dropped when there is not.
  uint16_t delivered = n;
  for (; i < n; ++i) {
    if (pending_.size() + record(i) > kPendingLimit) {
      counters().drop(DropReason::tx_full, n - i);
      delivered = i;
      break;
    }
    queue(burst[i], 0);
  }
  watch_writable(!pending_.empty());
  rte_pktmbuf_free_bulk(burst, n);
  return delivered;
}

std::vector<std::pair<std::string, std::string>> StreamPort::details() const {
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("peer", peer_);
  d.emplace_back("link", sock_ ? "up" : "down");
  d.emplace_back("connections", std::to_string(sessions_));
  d.emplace_back("queued_bytes", std::to_string(pending_.size()));
  if (!last_error_.empty()) d.emplace_back("last_disconnect", last_error_);
  return d;
}

}  // namespace vswitch::plugs::qemu
