#include "packet/uplink_port.hpp"

#include <net/if.h>
#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/netlink.hpp"
#include "packet/checksum.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::packet {

namespace {

constexpr uint32_t kKiB = 1024;
constexpr uint16_t kTpid8021Q = 0x8100;
constexpr uint32_t kMacs = 12;  // destination and source: where a tag goes back in
constexpr uint32_t kTag = 4;

std::string kib(uint32_t bytes) {
  return std::to_string(bytes / kKiB) + " KiB";
}

bool watch(int epoll, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool interface_exists(int ifindex) {
  char name[IF_NAMESIZE];
  return if_indextoname(static_cast<unsigned>(ifindex), name) != nullptr;
}

}  // namespace

PacketSocketOptions UplinkPort::socket_options(const UplinkOptions& o) {
  PacketSocketOptions s;
  s.ifname = o.ifname;
  s.qdisc_bypass = o.qdisc_bypass;
  return s;
}

UplinkPort::UplinkPort(PortSettings settings, UplinkOptions options,
                       std::unique_ptr<PacketSocket> socket)
    : Port(std::move(settings)),
      options_(std::move(options)),
      socket_(std::move(socket)),
      waits_(epoll_create1(EPOLL_CLOEXEC)),
      stash_(options_.pool) {
  if (!waits_ || !watch(waits_.get(), socket_->fd())) {
    throw ConfigError("uplink " + options_.ifname + ": epoll: " + std::strerror(errno));
  }
}

std::unique_ptr<UplinkPort> UplinkPort::open(PortSettings settings, UplinkOptions options) {
  // The socket first, so that the port's MTU can follow the interface's.
  auto socket = std::make_unique<PacketSocket>(socket_options(options));
  if (options.mtu_from_interface) {
    settings.mtu = std::clamp<uint32_t>(socket->interface_mtu(), 68, kMaxMtu);
  }
  std::unique_ptr<UplinkPort> p(
      new UplinkPort(std::move(settings), std::move(options), std::move(socket)));
  const std::string& name = p->options_.ifname;
  if (p->settings().mtu > p->socket_->interface_mtu()) {
    log(LogLevel::warn,
        "uplink %s: port mtu %u is above the interface's %u; the kernel refuses longer frames "
        "(counted tx_error): ip link set %s mtu %u",
        name.c_str(), p->settings().mtu, p->socket_->interface_mtu(), name.c_str(),
        p->settings().mtu);
  }
  log(LogLevel::info, "uplink %s: ifindex %d, mtu %u, promiscuous%s", name.c_str(),
      p->socket_->ifindex(), p->settings().mtu, p->socket_->link_up_at_open() ? "" : ", link down");
  return p;
}

bool UplinkPort::copy_in(const tpacket3_hdr* h, rte_mbuf* m) {
  const uint8_t* data = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
  uint32_t len = h->tp_snaplen;
  auto* out = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t room = rte_pktmbuf_tailroom(m);
  uint32_t used = 0;
  if ((h->tp_status & TP_STATUS_VLAN_VALID) && len >= kMacs) {
    const uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) && h->hv1.tp_vlan_tpid != 0
                              ? h->hv1.tp_vlan_tpid
                              : kTpid8021Q;
    const auto tci = static_cast<uint16_t>(h->hv1.tp_vlan_tci);
    std::memcpy(out, data, kMacs);
    out[12] = static_cast<uint8_t>(tpid >> 8);
    out[13] = static_cast<uint8_t>(tpid);
    out[14] = static_cast<uint8_t>(tci >> 8);
    out[15] = static_cast<uint8_t>(tci);
    data += kMacs;
    len -= kMacs;
    used = kMacs + kTag;
  }
  const uint32_t first = std::min(len, room - used);
  std::memcpy(out + used, data, first);
  m->data_len = static_cast<uint16_t>(used + first);
  m->pkt_len = m->data_len;
  return len == first || chain_bytes(m, data + first, len - first);
}

// The L4 header lies well within the first mbuf, which is where the fix is written.
void UplinkPort::finish_checksum(const tpacket3_hdr* h, rte_mbuf* m, uint32_t tag) {
  const auto* frame = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
  const std::optional<ChecksumFix> fix = finish_partial_checksum(frame, h->tp_snaplen);
  if (!fix || fix->offset + tag + 2 > m->data_len) return;
  auto* field = rte_pktmbuf_mtod_offset(m, uint8_t*, fix->offset + tag);
  field[0] = static_cast<uint8_t>(fix->value >> 8);
  field[1] = static_cast<uint8_t>(fix->value);
}

uint16_t UplinkPort::receive(rte_mbuf** burst, uint16_t max) {
  if (closed()) return 0;
  if (!stash_.fill(max)) {
    counters().drop(DropReason::no_buffer);
    if (stash_.size() == 0) return 0;
    max = stash_.size();
  }
  RxRing& rx = socket_->rx();
  uint16_t got = 0;
  uint32_t seen = 0;
  while (got < max) {
    const tpacket3_hdr* h = rx.next();
    if (h == nullptr) break;
    ++seen;
    const uint32_t tag = (h->tp_status & TP_STATUS_VLAN_VALID) ? kTag : 0;
    if (h->tp_snaplen < h->tp_len || h->tp_len + tag > kMaxDatagramFrame) {
      counters().in_packets++;
      counters().drop(DropReason::oversize);
      if (!oversize_logged_) {
        oversize_logged_ = true;
        log(LogLevel::warn,
            "uplink %s: a frame of %u bytes, longer than any MTU: the kernel merged received "
            "frames (GRO/LRO, or TSO on a veth peer); counted oversize. Turn it off: ethtool -K "
            "%s gro off lro off",
            options_.ifname.c_str(), h->tp_len, options_.ifname.c_str());
      }
      continue;
    }
    rte_mbuf* m = stash_.data()[got];
    if (!copy_in(h, m)) {
      // The pool ran dry while chaining a long frame: the frame is lost, the mbuf kept.
      rte_pktmbuf_free(m->next);
      m->next = nullptr;
      m->nb_segs = 1;
      counters().in_packets++;
      counters().drop(DropReason::no_buffer);
      continue;
    }
    if (h->tp_status & TP_STATUS_CSUMNOTREADY) finish_checksum(h, m, tag);
    burst[got++] = m;
  }
  rx.finish();
  stash_.take(got);
  if (seen == 0) {
    // Woken with nothing to read: the socket may hold an error (link down, interface gone),
    // which keeps it readable until someone reads the error, or the link has news.
    check_socket_error();
    if (link_news_) read_link_news();
  } else if (link_down_) {
    link_back();
  }
  return got;
}

uint16_t UplinkPort::transmit(rte_mbuf** burst, uint16_t n) {
  if (closed()) {
    counters().drop(DropReason::tx_error, n);
    rte_pktmbuf_free_bulk(burst, n);
    return 0;
  }
  const SendResult r = send_datagrams(socket_->fd(), burst, n);
  rte_pktmbuf_free_bulk(burst, n);
  if (r.full > 0) counters().drop(DropReason::tx_full, r.full);
  if (r.failed > 0) {
    counters().drop(DropReason::tx_error, r.failed);
    on_error(r.error);
  } else if (r.sent > 0 && link_down_) {
    link_back();
  }
  return r.sent;
}

void UplinkPort::on_error(int err) {
  switch (err) {
    case ENXIO:
    case ENODEV:
      lose_interface();
      break;
    case ENETDOWN:
      link_down(false);
      break;
    case EMSGSIZE:
      if (!too_long_logged_) {
        too_long_logged_ = true;
        log(LogLevel::warn,
            "uplink %s: the kernel refuses frames over the interface's MTU %u (counted "
            "tx_error); port mtu %u",
            options_.ifname.c_str(), socket_->interface_mtu(), settings().mtu);
      }
      break;
    default:
      break;
  }
}

void UplinkPort::check_socket_error() {
  int err = 0;
  socklen_t len = sizeof err;
  // Reading the error clears it, and with it the readiness it gave the descriptor.
  if (getsockopt(socket_->fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err == 0) return;
  // Each time the link goes down the kernel sets this error once: one event. A deleted
  // interface goes down first, so it may still be there now.
  link_down(true);
}

void UplinkPort::link_down(bool event) {
  if (event) ++link_downs_;
  if (link_down_) return;
  link_down_ = true;
  log(LogLevel::warn,
      "uplink %s: link down; frames for it are counted tx_error until it is up again",
      options_.ifname.c_str());
  link_news_ = netlink::link_events();
  if (!link_news_ || !watch(waits_.get(), link_news_.get())) {
    log(LogLevel::warn,
        "uplink %s: no rtnetlink news of the link (%s): its removal shows only "
        "when a frame is sent",
        options_.ifname.c_str(), std::strerror(errno));
    link_news_.reset();
  }
  // Listening now, so a removal from here on is heard; one before it is seen by looking.
  if (!interface_exists(socket_->ifindex())) lose_interface();
}

void UplinkPort::read_link_news() {
  switch (netlink::read_link_news(link_news_.get(), socket_->ifindex())) {
    case netlink::LinkNews::gone:
      lose_interface();
      break;
    case netlink::LinkNews::up:
      link_back();
      break;
    case netlink::LinkNews::down:
      break;
    case netlink::LinkNews::none:
      // News may have been lost (a full socket): look.
      if (!interface_exists(socket_->ifindex())) lose_interface();
      break;
  }
}

void UplinkPort::link_back() {
  if (!link_down_) return;
  link_down_ = false;
  if (link_news_) {
    epoll_ctl(waits_.get(), EPOLL_CTL_DEL, link_news_.get(), nullptr);
    link_news_.reset();
  }
  log(LogLevel::info, "uplink %s: link up, frames flow again", options_.ifname.c_str());
}

void UplinkPort::lose_interface() {
  if (closed()) return;
  log(LogLevel::warn, "uplink %s: the interface was deleted from outside; port %s closes",
      options_.ifname.c_str(), name().c_str());
  link_news_.reset();  // closing it takes it out of the epoll set
  mark_closed("interface " + options_.ifname + " deleted");
}

std::vector<std::pair<std::string, std::string>> UplinkPort::details() const {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof st;
  if (getsockopt(socket_->fd(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
    kernel_drops_ += st.tp_drops;
  }
  const RxRing& rx = socket_->rx();
  return {
      {"ifname", options_.ifname},
      {"ifindex", std::to_string(socket_->ifindex())},
      {"interface_mtu", std::to_string(socket_->interface_mtu())},
      {"link", link_down_ ? "down" : "up"},
      {"link_downs", std::to_string(link_downs_)},
      {"promisc", "on"},
      {"rx_ring", std::to_string(rx.blocks()) + " blocks of " + kib(rx.block_size()) +
                      " (TPACKET_V3), frames up to " + std::to_string(socket_->rx_frame_limit()) +
                      " bytes whole, a block handed over after " +
                      std::to_string(socket_->retire_ms()) + " ms at most"},
      {"tx", "sendmmsg, up to " + std::to_string(kTxBurstMax) + " frames a call"},
      {"qdisc_bypass", options_.qdisc_bypass ? "on" : "off"},
      {"kernel_drops", std::to_string(kernel_drops_)},
  };
}

}  // namespace vswitch::plugs::packet
