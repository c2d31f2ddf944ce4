#include "dhcp/dhcp_port.hpp"

#include <rte_mbuf.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/ip_address.hpp"
#include "common/ipv4_frames.hpp"
#include "vswitch/clock.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::dhcp {

namespace {

// A locally administered unicast MAC from the port's name (FNV-1a), the same at every start.
MacAddr mac_of(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3;
  }
  uint8_t b[6] = {0x02};
  for (int i = 1; i < 6; ++i)
    b[i] = static_cast<uint8_t>(h >> (8 * i));
  return MacAddr::from_bytes(b);
}

int64_t wall_seconds() {
  return static_cast<int64_t>(::time(nullptr));
}

}  // namespace

DhcpPort::DhcpPort(PortSettings settings, DhcpOptions options)
    : Port(std::move(settings)),
      server_(name(), std::move(options)),
      mac_(mac_of(name())),
      pool_(server_.options().pool),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

std::unique_ptr<DhcpPort> DhcpPort::open(PortSettings settings, DhcpOptions options) {
  const std::string path = options.lease_file.value_or("");
  std::unique_ptr<DhcpPort> p(new DhcpPort(std::move(settings), std::move(options)));
  if (!p->wake_fd_) throw ConfigError("dhcp " + p->name() + ": " + std::strerror(errno));
  if (auto why = p->refuses(p->settings())) throw ConfigError("port " + p->name() + ": " + *why);
  if (path.empty()) return p;
  p->file_.emplace(path);
  const LeaseFile::Loaded got = p->file_->load(p->server_.leases(), wall_seconds());
  if (got.corrupt > 0) {
    log(LogLevel::warn, "dhcp %s: %zu lines of %s are not leases (the first is line %zu); skipped",
        p->name().c_str(), got.corrupt, path.c_str(), got.first_corrupt);
  }
  if (got.refused > 0) {
    log(LogLevel::warn, "dhcp %s: %zu leases of %s no longer fit the settings; dropped",
        p->name().c_str(), got.refused, path.c_str());
  }
  if (const int err = p->file_->save(p->server_.leases()); err != 0) {
    throw ConfigError("dhcp " + p->name() + ": cannot write its leases to " + path + ": " +
                      std::strerror(err) + " (give leases=PATH, or leases=none)");
  }
  log(LogLevel::info, "dhcp %s: %zu leases from %s", p->name().c_str(), got.restored, path.c_str());
  return p;
}

DhcpPort::~DhcpPort() {
  for (uint32_t i = 0; i < n_; ++i)
    rte_pktmbuf_free(ring_[(head_ + i) % kRing]);
}

std::optional<std::string> DhcpPort::refuses(const PortSettings& s) const {
  if (s.role != Role::service) {
    return "a dhcp port is its segment's service and keeps role service, so no policy can "
           "let it answer on an uplink";
  }
  if (s.vlan.mode != VlanMode::access) return "a dhcp port takes untagged frames; give it tag=N";
  return std::nullopt;
}

uint16_t DhcpPort::receive(rte_mbuf** burst, uint16_t max) {
  const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(max, n_));
  for (uint16_t i = 0; i < n; ++i) {
    burst[i] = ring_[head_];
    head_ = (head_ + 1) % kRing;
  }
  n_ -= n;
  if (n_ == 0 && woken_) {
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &count, sizeof count);
    woken_ = false;
  }
  return n;
}

uint16_t DhcpPort::transmit(rte_mbuf** burst, uint16_t n) {
  const int64_t now = wall_seconds();
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = burst[i];
    if (m->pkt_len > linear_.size()) {
      ++server_.counters().ignored;
      continue;
    }
    const auto* frame =
        static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, linear_.data()));
    handle(frame, m->pkt_len, now);
  }
  rte_pktmbuf_free_bulk(burst, n);
  if (server_.leases().dirty()) save();
  return n;
}

void DhcpPort::handle(const uint8_t* frame, size_t len, int64_t now) {
  const uint32_t me = server_.options().server;
  DhcpCounters& c = server_.counters();
  if (len < kEtherHeaderLen) {
    ++c.ignored;
    return;
  }
  const MacAddr dst = MacAddr::from_bytes(frame);
  if (dst != mac_ && dst != kBroadcastMac) {
    ++c.ignored;  // flooded unicast for someone else, or multicast
    return;
  }
  if (const auto arp = parse_arp_request(frame, len)) {
    if (arp->target_ip != me) {
      ++c.ignored;
      return;
    }
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
      counters().drop(DropReason::no_buffer);
      return;
    }
    build_arp_reply(rte_pktmbuf_mtod(m, uint8_t*), mac_, me, *arp);
    rte_pktmbuf_append(m, kMinFrameLen);
    queue(m);
    return;
  }
  const auto udp = parse_udp(frame, len);
  if (!udp || udp->dst_port != kServerPort ||
      (udp->dst_ip != me && udp->dst_ip != kIpv4Broadcast)) {
    ++c.ignored;
    return;
  }
  answer_dhcp(*udp, now);
}

void DhcpPort::answer_dhcp(const UdpDatagram& d, int64_t now) {
  Message in;
  const ParseError e = parse(d.payload, d.len, in);
  if (e != ParseError::none) {
    ++server_.counters().malformed;
    if (malformed_log_.allow(monotonic_ms())) {
      log(LogLevel::warn, "dhcp %s: a malformed DHCP message from %s: %.*s (%lu more not shown)",
          name().c_str(), d.src_mac.str().c_str(), static_cast<int>(to_string(e).size()),
          to_string(e).data(), static_cast<unsigned long>(malformed_log_.suppressed()));
    }
    return;
  }
  Reply r;
  if (server_.answer(in, now, r)) send(r);
}

void DhcpPort::send(const Reply& r) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    counters().drop(DropReason::no_buffer);
    return;
  }
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t room = rte_pktmbuf_tailroom(m);
  const size_t n = build(r.message, frame + kUdpHeadersLen, room - kUdpHeadersLen);
  if (n == 0) {
    rte_pktmbuf_free(m);
    counters().drop(DropReason::no_buffer);
    return;
  }
  UdpDatagram d;
  d.src_mac = mac_;
  d.dst_mac = r.dst_mac;
  d.src_ip = server_.options().server;
  d.dst_ip = r.dst_ip;
  d.src_port = kServerPort;
  d.dst_port = kClientPort;
  const size_t len = finish_udp(frame, d, n);
  rte_pktmbuf_append(m, static_cast<uint16_t>(len));
  queue(m);
}

bool DhcpPort::queue(rte_mbuf* m) {
  if (n_ == kRing) {
    rte_pktmbuf_free(m);
    counters().drop(DropReason::no_buffer);
    return false;
  }
  ring_[(head_ + n_) % kRing] = m;
  ++n_;
  if (!woken_) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(wake_fd_.get(), &one, sizeof one);
    woken_ = true;
  }
  return true;
}

// Once per burst that changed a lease; a failure is said once a minute and tried again at the
// next change, the leases staying in memory meanwhile.
void DhcpPort::save() {
  if (!file_) {
    server_.leases().saved();
    return;
  }
  const int err = file_->save(server_.leases());
  if (err == 0) {
    server_.leases().saved();
  } else if (save_log_.allow(monotonic_ms())) {
    log(LogLevel::error, "dhcp %s: cannot write %s: %s (%lu more not shown)", name().c_str(),
        file_->path().c_str(), std::strerror(err),
        static_cast<unsigned long>(save_log_.suppressed()));
  }
}

std::vector<LeaseRow> DhcpPort::leases() const {
  return server_.leases().rows(wall_seconds());
}

std::vector<std::pair<std::string, std::string>> DhcpPort::details() const {
  const DhcpOptions& o = server_.options();
  const DhcpCounters& c = server_.counters();
  std::string dns;
  for (uint32_t a : o.dns)
    dns += (dns.empty() ? "" : ":") + ipv4_string(a);
  return {
      {"server", ipv4_string(o.server)},
      {"mac", mac_.str()},
      {"range", ipv4_string(o.first) + "-" + ipv4_string(o.last)},
      {"netmask", ipv4_string(o.netmask)},
      {"router", o.router != 0 ? ipv4_string(o.router) : "none"},
      {"dns", dns.empty() ? "none" : dns},
      {"lease_s", std::to_string(o.lease_s)},
      {"lease_file", file_ ? file_->path() : "none"},
      {"leases", std::to_string(server_.leases().count(LeaseState::leased, wall_seconds()))},
      {"reservations", std::to_string(o.hosts.size())},
      {"offers", std::to_string(c.offers)},
      {"acks", std::to_string(c.acks)},
      {"naks", std::to_string(c.naks)},
      {"releases", std::to_string(c.releases)},
      {"declines", std::to_string(c.declines)},
      {"informs", std::to_string(c.informs)},
      {"malformed", std::to_string(c.malformed)},
      {"ignored", std::to_string(c.ignored)},
      {"pool_full", std::to_string(c.pool_full)},
  };
}

}  // namespace vswitch::plugs::dhcp
