#include "nat/leases.hpp"

#include <optional>

#include "common/dhcp_wire.hpp"
#include "common/ip_address.hpp"
#include "common/ipv4_frames.hpp"

namespace vswitch::plugs::nat {

namespace {

// The DHCP message in an untagged frame sent from UDP port `from_port`, if it is one.
std::optional<dhcp::Message> dhcp_in(const uint8_t* frame, size_t len, uint16_t from_port) {
  const auto udp = parse_udp(frame, len);
  if (!udp || udp->src_port != from_port) return std::nullopt;
  dhcp::Message m;
  if (dhcp::parse(udp->payload, udp->len, m) != dhcp::ParseError::none) return std::nullopt;
  return m;
}

}  // namespace

void Leases::from_guest(const uint8_t* frame, size_t len) {
  const auto m = dhcp_in(frame, len, dhcp::kClientPort);
  if (!m || m->op != dhcp::kBootRequest) return;
  const std::string hostname(dhcp::HostName::clean(m->hostname.text()).view());
  if (m->type == dhcp::MessageType::request && !hostname.empty() &&
      hostnames_.size() < kMaxTracked) {
    hostnames_[m->chaddr.bits()] = hostname;
  } else if (m->type == dhcp::MessageType::release) {
    leases_.erase(m->chaddr.bits());
  }
}

void Leases::to_guest(const uint8_t* frame, size_t len) {
  const auto m = dhcp_in(frame, len, dhcp::kServerPort);
  if (!m || m->op != dhcp::kBootReply || m->type != dhcp::MessageType::ack) return;
  const uint64_t mac = m->chaddr.bits();
  const in_addr address = from_host_order(m->yiaddr);
  // An address given to another guest is no longer the old one's.
  std::erase_if(leases_, [&](const auto& l) {
    return l.first != mac && l.second.address.s_addr == address.s_addr;
  });
  if (!leases_.count(mac) && leases_.size() >= kMaxTracked) return;
  Lease& l = leases_[mac];
  l.address = address;
  if (auto it = hostnames_.find(mac); it != hostnames_.end()) {
    l.hostname = std::move(it->second);
    hostnames_.erase(it);
  }
}

}  // namespace vswitch::plugs::nat
