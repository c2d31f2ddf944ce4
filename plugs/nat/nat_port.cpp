#include "nat/nat_port.hpp"

#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/dgram_io.hpp"
#include "vswitch/clock.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::nat {

struct NatPort::Timer {
  SlirpTimerId id;
  void* cb_opaque;
  int64_t expire_ms = -1;  // not armed
};

namespace {

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

uint32_t to_epoll(int slirp_events) {
  uint32_t e = 0;
  if (slirp_events & SLIRP_POLL_IN) e |= EPOLLIN;
  if (slirp_events & SLIRP_POLL_OUT) e |= EPOLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) e |= EPOLLPRI;
  return e;
}

int to_slirp(uint32_t epoll_events) {
  int e = 0;
  if (epoll_events & EPOLLIN) e |= SLIRP_POLL_IN;
  if (epoll_events & EPOLLOUT) e |= SLIRP_POLL_OUT;
  if (epoll_events & EPOLLPRI) e |= SLIRP_POLL_PRI;
  if (epoll_events & EPOLLERR) e |= SLIRP_POLL_ERR;
  if (epoll_events & EPOLLHUP) e |= SLIRP_POLL_HUP;
  return e;
}

// A frame from the guests as one run of bytes, which libslirp needs.
thread_local std::array<uint8_t, kMaxDatagramFrame> t_linear;

}  // namespace

NatPort::NatPort(PortSettings settings, NatOptions options)
    : Port(std::move(settings)),
      options_(std::move(options)),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      timer_fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

std::unique_ptr<NatPort> NatPort::open(PortSettings settings, NatOptions options) {
  std::unique_ptr<NatPort> p(new NatPort(std::move(settings), std::move(options)));
  if (!p->epoll_ || !p->timer_fd_ || !p->wake_fd_) {
    throw ConfigError("nat " + p->name() + ": " + std::strerror(errno));
  }
  for (int fd : {p->timer_fd_.get(), p->wake_fd_.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(p->epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  const NatOptions& o = p->options_;
  std::vector<const char*> search;
  for (const auto& d : o.dnssearch)
    search.push_back(d.c_str());
  search.push_back(nullptr);
  SlirpConfig c{};
  c.version = 4;
  c.restricted = o.restricted ? 1 : 0;
  c.in_enabled = true;
  c.vnetwork = o.network;
  c.vnetmask = o.netmask;
  c.vhost = o.host;
  c.in6_enabled = o.ipv6;
  c.vprefix_addr6 = o.prefix6;
  c.vprefix_len = o.prefix6_len;
  c.vhost6 = o.host6;
  c.vhostname = o.hostname.empty() ? nullptr : o.hostname.c_str();
  c.tftp_server_name = nullptr;
  c.tftp_path = o.tftp.empty() ? nullptr : o.tftp.c_str();
  c.bootfile = o.bootfile.empty() ? nullptr : o.bootfile.c_str();
  c.vdhcp_start = o.dhcp_start;
  c.vnameserver = o.dns;
  c.vnameserver6 = o.dns6;
  c.vdnssearch = o.dnssearch.empty() ? nullptr : search.data();
  c.vdomainname = o.domainname.empty() ? nullptr : o.domainname.c_str();
  c.if_mtu = p->settings().mtu;
  c.if_mru = p->settings().mtu;
  p->slirp_ = slirp_new(&c, callbacks(), p.get());
  if (p->slirp_ == nullptr)
    throw ConfigError("nat " + p->name() + ": libslirp refused its settings");
  std::vector<HostForward> forwards;
  forwards.swap(p->options_.forwards);
  for (const HostForward& f : forwards)
    p->add_forward(f);
  p->refill();
  return p;
}

NatPort::~NatPort() {
  if (slirp_ != nullptr) slirp_cleanup(slirp_);
  for (uint32_t i = 0; i < rx_n_; ++i)
    rte_pktmbuf_free(rx_[(rx_head_ + i) % kRxRing]);
}

void NatPort::add_forward(const HostForward& f) {
  if (f.guest_addr.s_addr != 0 &&
      (f.guest_addr.s_addr & options_.netmask.s_addr) != options_.network.s_addr) {
    throw ConfigError("hostfwd=" + f.str() + ": the guest address is not in net=" +
                      net_string(options_.network, options_.netmask));
  }
  for (const HostForward& g : options_.forwards) {
    if (g.same_host_side(f))
      throw ConfigError("hostfwd=" + f.str() + ": that host port is forwarded already");
  }
  if (slirp_add_hostfwd(slirp_, f.udp ? 1 : 0, f.host_addr, f.host_port, f.guest_addr,
                        f.guest_port) < 0) {
    const std::string host = (f.host_addr.s_addr == 0 ? std::string("*") : to_string(f.host_addr)) +
                             ":" + std::to_string(f.host_port);
    throw ConfigError("hostfwd=" + f.str() + ": cannot listen on " + host + ": " +
                      std::strerror(errno));
  }
  options_.forwards.push_back(f);
  refill();
}

void NatPort::remove_forward(const HostForward& f) {
  for (auto it = options_.forwards.begin(); it != options_.forwards.end(); ++it) {
    if (!it->same_host_side(f)) continue;
    slirp_remove_hostfwd(slirp_, f.udp ? 1 : 0, f.host_addr, f.host_port);
    options_.forwards.erase(it);
    refill();
    return;
  }
  throw ConfigError("hostfwd=" + f.str() + ": no such rule on " + name());
}

uint16_t NatPort::receive(rte_mbuf** burst, uint16_t max) {
  service();
  const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(max, rx_n_));
  for (uint16_t i = 0; i < n; ++i) {
    burst[i] = rx_[rx_head_];
    rx_head_ = (rx_head_ + 1) % kRxRing;
  }
  rx_n_ -= n;
  if (rx_n_ == 0 && woken_) {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &count, sizeof count);
    woken_ = false;
  }
  return n;
}

uint16_t NatPort::transmit(rte_mbuf** burst, uint16_t n) {
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = burst[i];
    if (m->pkt_len > t_linear.size()) {
      counters().drop(DropReason::oversize);
      continue;
    }
    const auto* frame =
        static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, t_linear.data()));
    leases_.from_guest(frame, m->pkt_len);
    slirp_input(slirp_, frame, static_cast<int>(m->pkt_len));
  }
  rte_pktmbuf_free_bulk(burst, n);
  // A guest's packet may have opened a connection: its socket must be watched from now on.
  refill();
  return n;
}

void NatPort::service() {
  epoll_event events[64];
  ++service_;
  int n;
  do {
    n = epoll_wait(epoll_.get(), events, 64, 0);
  } while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == timer_fd_.get()) {
      uint64_t expirations;
      [[maybe_unused]] ssize_t r = ::read(fd, &expirations, sizeof expirations);
    } else if (fd != wake_fd_.get()) {
      // The entry exists: only watched descriptors are in the set.
      if (auto it = watched_.find(fd); it != watched_.end()) {
        it->second.revents = events[i].events;
        it->second.ready_in = service_;
      }
    }
  }
  slirp_pollfds_poll(slirp_, n < 0 ? 1 : 0, on_get_revents, this);
  run_timers(now_ns() / 1000000);
  refill();
}

void NatPort::refill() {
  pollfds_.clear();
  ++fill_;
  uint32_t timeout = UINT32_MAX;
  slirp_pollfds_fill(slirp_, &timeout, on_add_poll, this);
  for (auto it = watched_.begin(); it != watched_.end();) {
    if (it->second.fill == fill_) {
      ++it;
      continue;
    }
    if (it->second.events != 0) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->first, nullptr);
    it = watched_.erase(it);
  }
  arm_timer(timeout);
}

void NatPort::watch(int fd, uint32_t events) {
  auto [it, added] = watched_.try_emplace(fd, Watched{0, 0, 0, 0});
  it->second.fill = fill_;
  if (it->second.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (it->second.events == 0) {
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
      epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
    }
  } else if (events == 0) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  } else if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
  it->second.events = events;
}

void NatPort::run_timers(int64_t now_ms) {
  for (size_t i = 0; i < timers_.size(); ++i) {
    Timer& t = *timers_[i];
    if (t.expire_ms < 0 || t.expire_ms > now_ms) continue;
    t.expire_ms = -1;
    slirp_handle_timer(slirp_, t.id, t.cb_opaque);
  }
}

// libslirp wants to be polled again within `timeout_ms` (at most a second: its TCP timers),
// and its own timers when they expire.
void NatPort::arm_timer(uint32_t timeout_ms) {
  const int64_t now_ms = now_ns() / 1000000;
  int64_t due = timeout_ms == UINT32_MAX ? INT64_MAX : now_ms + timeout_ms;
  for (const auto& t : timers_) {
    if (t->expire_ms >= 0) due = std::min(due, t->expire_ms);
  }
  if (due != INT64_MAX) due = std::max(due, now_ms + 1);
  // A deadline no earlier than the armed one that has not passed yet can wait for it: libslirp
  // asks again at every fill, and being polled early costs nothing.
  if (armed_ms_ > now_ms && due >= armed_ms_) return;
  itimerspec spec{};
  if (due != INT64_MAX) {
    spec.it_value.tv_sec = due / 1000;
    spec.it_value.tv_nsec = (due % 1000) * 1000000;
  }
  timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  armed_ms_ = due == INT64_MAX ? -1 : due;
}

void NatPort::signal_rx() {
  if (woken_) return;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_.get(), &one, sizeof one);
  woken_ = true;
}

ssize_t NatPort::on_send_packet(const void* buf, size_t len, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  const auto* frame = static_cast<const uint8_t*>(buf);
  p->leases_.to_guest(frame, len);
  // Dropped when the switch is behind: libslirp's TCP sends it again, at a lower pace.
  rte_mbuf* m = p->rx_n_ < kRxRing
                    ? mbuf_from_bytes(p->options_.pool, frame, static_cast<uint32_t>(len))
                    : nullptr;
  if (m == nullptr) {
    p->counters().drop(DropReason::no_buffer);
    return static_cast<ssize_t>(len);
  }
  p->rx_[(p->rx_head_ + p->rx_n_) % kRxRing] = m;
  ++p->rx_n_;
  p->signal_rx();
  return static_cast<ssize_t>(len);
}

void NatPort::on_guest_error(const char* msg, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  p->counters().drop(DropReason::rx_error);
  if (p->guest_error_log_.allow(monotonic_ms())) {
    log(LogLevel::warn, "nat %s: a guest sent what the NAT refuses: %s (%lu more not shown)",
        p->name().c_str(), msg, static_cast<unsigned long>(p->guest_error_log_.suppressed()));
  }
}

int64_t NatPort::on_clock_get_ns(void*) {
  return now_ns();
}

void* NatPort::on_timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  p->timers_.push_back(std::make_unique<Timer>(Timer{id, cb_opaque}));
  return p->timers_.back().get();
}

void NatPort::on_timer_free(void* timer, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  std::erase_if(p->timers_, [timer](const auto& t) { return t.get() == timer; });
}

void NatPort::on_timer_mod(void* timer, int64_t expire_ms, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  static_cast<Timer*>(timer)->expire_ms = expire_ms;
  p->signal_rx();  // so the new deadline is armed at the next service
}

// A descriptor number libslirp takes anew may be one it closed: whatever was watched under
// that number is gone from the epoll set with the old socket.
void NatPort::on_register_poll_fd(int fd, void* opaque) {
  static_cast<NatPort*>(opaque)->watched_.erase(fd);
}

void NatPort::on_unregister_poll_fd(int fd, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  if (p->watched_.erase(fd) > 0) epoll_ctl(p->epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void NatPort::on_notify(void* opaque) {
  static_cast<NatPort*>(opaque)->signal_rx();
}

int NatPort::on_add_poll(int fd, int events, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  p->pollfds_.push_back(fd);
  p->watch(fd, to_epoll(events));
  return static_cast<int>(p->pollfds_.size() - 1);
}

int NatPort::on_get_revents(int idx, void* opaque) {
  auto* p = static_cast<NatPort*>(opaque);
  if (idx < 0 || static_cast<size_t>(idx) >= p->pollfds_.size()) return 0;
  auto it = p->watched_.find(p->pollfds_[static_cast<size_t>(idx)]);
  return it == p->watched_.end() || it->second.ready_in != p->service_
             ? 0
             : to_slirp(it->second.revents);
}

std::vector<MacAddr> NatPort::own_macs() const {
  // 52:55 and the last four bytes of the address, IPv4 or IPv6 (libslirp's special_ethaddr).
  auto special = [](const uint8_t* last4) {
    uint8_t bytes[6] = {0x52, 0x55};
    std::memcpy(bytes + 2, last4, 4);
    return MacAddr::from_bytes(bytes);
  };
  std::vector<MacAddr> macs = {special(reinterpret_cast<const uint8_t*>(&options_.host.s_addr)),
                               special(reinterpret_cast<const uint8_t*>(&options_.dns.s_addr))};
  if (options_.ipv6) {
    for (const in6_addr* a : {&options_.host6, &options_.dns6}) {
      const MacAddr m = special(a->s6_addr + 12);
      if (std::find(macs.begin(), macs.end(), m) == macs.end()) macs.push_back(m);
    }
  }
  return macs;
}

std::vector<std::pair<std::string, std::string>> NatPort::details() const {
  const NatOptions& o = options_;
  std::vector<std::pair<std::string, std::string>> d = {
      {"net", net_string(o.network, o.netmask)},
      {"gateway", to_string(o.host)},
      {"dns", to_string(o.dns)},
      {"dhcp_start", to_string(o.dhcp_start)},
      {"restrict", o.restricted ? "on" : "off"},
      {"ipv6", o.ipv6 ? to_string(o.prefix6) + "/" + std::to_string(o.prefix6_len) : "off"},
  };
  for (size_t i = 0; i < o.forwards.size(); ++i)
    d.emplace_back("hostfwd " + std::to_string(i + 1), o.forwards[i].str());
  for (const auto& [mac, lease] : leases_.by_mac()) {
    d.emplace_back("lease " + MacAddr(mac).str(),
                   to_string(lease.address) + (lease.hostname.empty() ? "" : " " + lease.hostname));
  }
  return d;
}

const SlirpCb* NatPort::callbacks() {
  static const SlirpCb cb = [] {
    SlirpCb c{};
    c.send_packet = on_send_packet;
    c.guest_error = on_guest_error;
    c.clock_get_ns = on_clock_get_ns;
    c.timer_free = on_timer_free;
    c.timer_mod = on_timer_mod;
    c.register_poll_fd = on_register_poll_fd;
    c.unregister_poll_fd = on_unregister_poll_fd;
    c.notify = on_notify;
    c.timer_new_opaque = on_timer_new_opaque;
    return c;
  }();
  return &cb;
}

}  // namespace vswitch::plugs::nat
