#include "qemu/dgram_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_mbuf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/socket_tuning.hpp"
#include "common/unix_socket.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::qemu {

namespace {

constexpr int kSocketBuffer = 4 << 20;

Fd udp_socket(int family) {
  Fd s(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s) throw ConfigError(std::string("socket: ") + std::strerror(errno));
  set_receive_buffer(s.get(), kSocketBuffer);
  set_send_buffer(s.get(), kSocketBuffer);
  return s;
}

in_addr ipv4(const std::string& text) {
  in_addr a{};
  a.s_addr = htonl(INADDR_ANY);
  if (!text.empty() && inet_pton(AF_INET, text.c_str(), &a) != 1) {
    throw ConfigError("'" + text + "' is not an IPv4 address");
  }
  return a;
}

}  // namespace

DgramPort::DgramPort(PortSettings settings, DgramOptions options)
    : Port(std::move(settings)), options_(std::move(options)), stash_(options_.pool) {}

DgramPort::~DgramPort() {
  if (options_.local.family() == AF_UNIX) ::unlink(options_.local.str().c_str());
}

std::unique_ptr<DgramPort> DgramPort::open(PortSettings settings, DgramOptions o) {
  const std::string pname = settings.name;
  std::unique_ptr<DgramPort> p(new DgramPort(std::move(settings), std::move(o)));
  DgramOptions& opt = p->options_;
  auto fail = [&](const std::string& what) {
    throw ConfigError("port " + pname + ": " + what + ": " + std::strerror(errno));
  };
  if (opt.remote.family() == AF_UNIX || opt.local.family() == AF_UNIX) {
    if (opt.local.family() != AF_UNIX || opt.remote.family() != AF_UNIX) {
      throw ConfigError("port " + pname + ": unix and inet addresses do not mix");
    }
    // As QEMU does with its own local path: a stale socket file is replaced.
    p->rx_ = bind_unix(opt.local.str(), SOCK_DGRAM, opt.mode);
    set_send_buffer(p->rx_.get(), kSocketBuffer);
    // Only the peer's datagrams are frames of this port.
    p->filter_.mode = PeerFilter::Mode::only;
    p->filter_.peer = opt.remote;
    return p;
  }
  if (opt.remote.is_multicast()) {
    if (opt.remote.family() != AF_INET) {
      throw ConfigError("port " + pname + ": multicast is IPv4 only, as in QEMU");
    }
    p->multicast_ = true;
    const in_addr iface = ipv4(opt.multicast_interface);
    p->rx_ = udp_socket(AF_INET);
    const int one = 1;
    // QEMU guests on this host bind the same group and port.
    setsockopt(p->rx_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(p->rx_.get(), opt.remote.sa(), opt.remote.len) != 0) fail("bind " + opt.remote.str());
    ip_mreq mreq{};
    mreq.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(opt.remote.sa())->sin_addr;
    mreq.imr_interface = iface;
    if (setsockopt(p->rx_.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
      fail("join " + opt.remote.str());
    }
    p->tx_ = udp_socket(AF_INET);
    const unsigned char loop = 1, ttl = 1;
    setsockopt(p->tx_.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
    setsockopt(p->tx_.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    if (setsockopt(p->tx_.get(), IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0) {
      fail("multicast interface " + opt.multicast_interface);
    }
    sockaddr_in self{};
    self.sin_family = AF_INET;
    self.sin_addr = iface;
    if (bind(p->tx_.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0) fail("bind");
    // The loop that lets local guests hear us brings our frames back too: skip our own.
    p->filter_.mode = PeerFilter::Mode::except;
    p->filter_.peer = SocketAddress::local_of(p->tx_.get());
    p->filter_.port_only = iface.s_addr == htonl(INADDR_ANY);
    return p;
  }
  p->rx_ = udp_socket(opt.local.family());
  if (bind(p->rx_.get(), opt.local.sa(), opt.local.len) != 0) fail("bind " + opt.local.str());
  p->filter_.mode = PeerFilter::Mode::only;
  p->filter_.peer = opt.remote;
  return p;
}

uint16_t DgramPort::receive(rte_mbuf** burst, uint16_t max) {
  return receive_datagrams(rx_.get(), stash_, burst, max, counters(), &filter_);
}

uint16_t DgramPort::transmit(rte_mbuf** burst, uint16_t n) {
  const int fd = tx_ ? tx_.get() : rx_.get();
  // A full queue (QEMU's unconnected Unix socket holds about 10) costs the frame, not a stall.
  const SendResult r = send_datagrams(fd, burst, n, options_.remote.sa(), options_.remote.len);
  counters().drop(DropReason::tx_full, r.full);
  counters().drop(DropReason::tx_error, r.failed);
  rte_pktmbuf_free_bulk(burst, n);
  return r.sent;
}

std::vector<std::pair<std::string, std::string>> DgramPort::details() const {
  return {{"local", multicast_ ? SocketAddress::local_of(tx_.get()).str() : options_.local.str()},
          {"remote", options_.remote.str()},
          {"multicast", multicast_ ? "yes" : "no"}};
}

}  // namespace vswitch::plugs::qemu
