#include "vde/vde_port.hpp"

#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

namespace vswitch::plugs::vde {

VdePort::VdePort(PortSettings settings, uint32_t number, rte_mempool* pool)
    : Port(std::move(settings)),
      number_(number),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      stash_(pool) {}

VdePort::~VdePort() {
  for (Endpoint& ep : endpoints_)
    ::unlink(ep.data_path.c_str());
}

void VdePort::add_endpoint(Endpoint ep) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ep.data.get();
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ep.data.get(), &ev);
  endpoints_.push_back(std::move(ep));
}

bool VdePort::remove_endpoint(int id) {
  auto it = std::find_if(endpoints_.begin(), endpoints_.end(),
                         [id](const Endpoint& e) { return e.id == id; });
  if (it == endpoints_.end()) return false;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->data.get(), nullptr);
  ::unlink(it->data_path.c_str());
  endpoints_.erase(it);
  return true;
}

uint16_t VdePort::receive(rte_mbuf** burst, uint16_t max) {
  uint16_t got = 0;
  const size_t n = endpoints_.size();
  for (size_t k = 0; k < n && got < max; ++k) {
    const Endpoint& ep = endpoints_[(next_rx_ + k) % n];
    got = static_cast<uint16_t>(got + receive_datagrams(ep.data.get(), stash_, burst + got,
                                                        static_cast<uint16_t>(max - got),
                                                        counters()));
  }
  if (n > 1) next_rx_ = (next_rx_ + 1) % n;  // no endpoint starves the others
  return got;
}

uint16_t VdePort::transmit(rte_mbuf** burst, uint16_t n) {
  if (endpoints_.empty()) {
    counters().drop(DropReason::tx_error, n);
    rte_pktmbuf_free_bulk(burst, n);
    return 0;
  }
  // A frame has left the port when one endpoint took it; each endpoint's losses are counted.
  // Every endpoint takes a prefix of the burst, so the longest is the port's prefix.
  uint16_t delivered = 0;
  for (const Endpoint& ep : endpoints_) {
    const SendResult r = send_datagrams(ep.data.get(), burst, n);
    // A slow client loses its own frames and costs the others nothing: no waiting, no queue.
    counters().drop(DropReason::tx_full, r.full);
    counters().drop(DropReason::tx_error, r.failed);
    delivered = std::max(delivered, r.sent);
  }
  rte_pktmbuf_free_bulk(burst, n);
  return delivered;
}

std::vector<std::pair<std::string, std::string>> VdePort::details() const {
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("vde_port", std::to_string(number_));
  for (const Endpoint& ep : endpoints_) {
    d.emplace_back("endpoint " + std::to_string(ep.id),
                   ep.description + " (uid " + std::to_string(ep.uid) + ", pid " +
                       std::to_string(ep.pid) + ", " + ep.data_path + ")");
  }
  return d;
}

}  // namespace vswitch::plugs::vde
