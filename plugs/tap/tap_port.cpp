#include "tap/tap_port.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pwd.h>
#include <rte_mbuf.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::tap {

namespace {

// Room beyond the first mbuf for the longest frame, and a byte to tell one longer still.
thread_local std::array<uint8_t, kMaxDatagramFrame + 1> t_spill;

// What read() and write() say once the interface was deleted under an open descriptor: the
// descriptor then stays in error for good, and polling it would spin.
bool interface_gone(int err) {
  return err == EBADFD || err == ENODEV || err == ENXIO;
}

std::string user_name() {
  const passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : std::to_string(geteuid());
}

}  // namespace

TapPort::TapPort(PortSettings settings, TapOptions options)
    : Port(std::move(settings)), options_(std::move(options)), stash_(options_.pool) {}

std::unique_ptr<TapPort> TapPort::open(PortSettings settings, TapOptions options) {
  if (options.ifname.empty() || options.ifname.size() >= IFNAMSIZ) {
    throw ConfigError("tap: ifname= must be 1-" + std::to_string(IFNAMSIZ - 1) + " characters");
  }
  std::unique_ptr<TapPort> p(new TapPort(std::move(settings), std::move(options)));
  const std::string& name = p->options_.ifname;
  const bool existed = if_nametoindex(name.c_str()) != 0;
  p->fd_.reset(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!p->fd_) throw ConfigError("tap " + name + ": /dev/net/tun: " + std::strerror(errno));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (ioctl(p->fd_.get(), TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    if (err == EPERM && !existed) {
      throw ConfigError("tap " + name +
                        ": creating it needs CAP_NET_ADMIN; or have root make it "
                        "for this user once: ip tuntap add dev " +
                        name + " mode tap user " + user_name());
    }
    if (err == EPERM) {
      throw ConfigError("tap " + name + " exists but is not open to " + user_name() +
                        " (ip tuntap add dev " + name + " mode tap user " + user_name() + ")");
    }
    throw ConfigError("tap " + name + ": " + std::strerror(err));
  }
  p->created_ = !existed;
  p->ifindex_ = static_cast<int>(if_nametoindex(name.c_str()));
  if (ioctl(p->fd_.get(), SIOCGIFHWADDR, &ifr) == 0) {
    p->mac_ = MacAddr::from_bytes(reinterpret_cast<const uint8_t*>(ifr.ifr_hwaddr.sa_data));
  }
  p->configure();
  log(LogLevel::info, "tap %s: %s, ifindex %d", name.c_str(), p->created_ ? "created" : "opened",
      p->ifindex_);
  return p;
}

// A tap we made is ours to set up; an existing one only as far as the port asks.
void TapPort::configure() {
  const std::string& name = options_.ifname;
  auto must = [&](int err, const std::string& what) {
    if (err != 0) throw ConfigError("tap " + name + ": " + what + ": " + std::strerror(err));
  };
  if (created_ && settings().mtu != kDefaultMtu) {
    must(netlink::set_mtu(ifindex_, settings().mtu), "mtu " + std::to_string(settings().mtu));
  }
  for (const netlink::Cidr& a : options_.addresses)
    must(netlink::add_address(ifindex_, a), "address " + a.str());
  if (created_ || !options_.addresses.empty()) must(netlink::set_link_up(ifindex_), "link up");
}

uint16_t TapPort::receive(rte_mbuf** burst, uint16_t max) {
  if (!stash_.fill(max)) {
    counters().drop(DropReason::no_buffer);
    if (stash_.size() == 0) return 0;
    max = stash_.size();
  }
  uint16_t got = 0;
  while (got < max) {
    rte_mbuf* m = stash_.data()[got];
    const uint32_t room = rte_pktmbuf_tailroom(m);
    iovec iov[2] = {{rte_pktmbuf_mtod(m, void*), room}, {t_spill.data(), t_spill.size()}};
    const ssize_t n = ::readv(fd_.get(), iov, 2);
    if (n < 0) {
      // Nothing there (the link may be down): the engine waits on the fd again.
      if (errno == EAGAIN || errno == EINTR) break;
      counters().drop(DropReason::rx_error);
      if (interface_gone(errno)) lose_interface();
      break;
    }
    const auto len = static_cast<uint32_t>(n);
    m->data_len = static_cast<uint16_t>(std::min(len, room));
    m->pkt_len = m->data_len;
    if (len > kMaxDatagramFrame || (len > room && !chain_bytes(m, t_spill.data(), len - room))) {
      counters().in_packets++;
      counters().drop(len > kMaxDatagramFrame ? DropReason::oversize : DropReason::no_buffer);
      rte_pktmbuf_free(m);
      stash_.data()[got] = rte_pktmbuf_alloc(options_.pool);
      if (stash_.data()[got] == nullptr) break;  // the stash keeps what it has
      continue;
    }
    burst[got] = m;
    ++got;
  }
  stash_.take(got);
  return got;
}

uint16_t TapPort::transmit(rte_mbuf** burst, uint16_t n) {
  uint16_t sent = 0;
  for (; sent < n; ++sent) {
    const rte_mbuf* m = burst[sent];
    constexpr int kMaxIov = 16;
    iovec iov[kMaxIov];
    int k = 0;
    if (m->nb_segs <= kMaxIov) {
      for (const rte_mbuf* s = m; s != nullptr; s = s->next)
        iov[k++] = {rte_pktmbuf_mtod(s, void*), s->data_len};
    } else if (m->pkt_len <= t_spill.size()) {
      // More pieces than one call takes: gathered first (the MTU bounds the length).
      iov[k++] = {const_cast<void*>(rte_pktmbuf_read(m, 0, m->pkt_len, t_spill.data())),
                  m->pkt_len};
    }
    ssize_t w;
    do {
      w = ::writev(fd_.get(), iov, k);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
      // A full queue costs the frames; a link that is down (EIO) or gone too, counted apart.
      const int err = errno;
      counters().drop(err == EAGAIN ? DropReason::tx_full : DropReason::tx_error,
                      static_cast<uint64_t>(n - sent));
      if (interface_gone(err)) lose_interface();
      break;
    }
  }
  rte_pktmbuf_free_bulk(burst, n);
  return sent;
}

void TapPort::lose_interface() {
  if (closed()) return;
  log(LogLevel::warn, "tap %s: the interface was deleted from outside; port %s closes",
      options_.ifname.c_str(), name().c_str());
  created_ = false;  // nothing of ours is left to remove
  mark_closed("interface " + options_.ifname + " deleted");
}

std::vector<MacAddr> TapPort::own_macs() const {
  if (!mac_) return {};
  return {*mac_};
}

std::vector<std::pair<std::string, std::string>> TapPort::details() const {
  std::vector<std::pair<std::string, std::string>> d = {
      {"ifname", options_.ifname},
      {"ifindex", std::to_string(ifindex_)},
      {"created", created_ ? "yes (removed on exit)" : "no (persistent)"}};
  for (size_t i = 0; i < options_.addresses.size(); ++i)
    d.emplace_back("address " + std::to_string(i + 1), options_.addresses[i].str());
  return d;
}

}  // namespace vswitch::plugs::tap
