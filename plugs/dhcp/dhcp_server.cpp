#include "dhcp/dhcp_server.hpp"

#include "common/ip_address.hpp"
#include "common/ipv4_frames.hpp"

namespace vswitch::plugs::dhcp {

DhcpServer::DhcpServer(std::string name, DhcpOptions options)
    : name_(std::move(name)), options_(std::move(options)), leases_(options_) {}

bool DhcpServer::answer(const Message& in, int64_t now, Reply& out) {
  // Replies of other servers, and requests through a relay: a segment's own server has no
  // relays to answer through.
  if (in.op != kBootRequest || in.giaddr != 0) {
    ++counters_.ignored;
    return false;
  }
  if (in.chaddr.is_multicast() || in.chaddr == MacAddr{}) {
    ++counters_.malformed;
    return false;
  }
  const Client c{in.chaddr, in.client_id.text()};
  const bool for_another_server = in.server_id && *in.server_id != options_.server;
  leases_.expire(now);
  switch (in.type) {
    case MessageType::discover: {
      const auto a = leases_.offer(c, in.requested, now);
      if (!a) {
        ++counters_.pool_full;
        if (pool_full_log_.allow(static_cast<uint64_t>(now) * 1000)) {
          log(LogLevel::warn, "dhcp %s: no address left for %s in %s-%s (%lu more not shown)",
              name_.c_str(), in.chaddr.str().c_str(), ipv4_string(options_.first).c_str(),
              ipv4_string(options_.last).c_str(),
              static_cast<unsigned long>(pool_full_log_.suppressed()));
        }
        return false;
      }
      ++counters_.offers;
      reply(in, MessageType::offer, *a, out);
      return true;
    }
    case MessageType::request:
      if (for_another_server) {
        leases_.forget_offer(c);
        ++counters_.ignored;
        return false;
      }
      return request(in, c, now, out);
    case MessageType::decline:
      if (for_another_server) break;
      if (!in.requested) {
        ++counters_.malformed;
        return false;
      }
      ++counters_.declines;
      if (leases_.decline(c, *in.requested, now)) {
        log(LogLevel::warn, "dhcp %s: %s says %s is in use; not handed out for %lld s",
            name_.c_str(), in.chaddr.str().c_str(), ipv4_string(*in.requested).c_str(),
            static_cast<long long>(LeaseTable::kDeclineHoldS));
      }
      return false;
    case MessageType::release:
      if (for_another_server) break;
      ++counters_.releases;
      leases_.release(c, in.ciaddr, now);
      return false;
    case MessageType::inform:
      if (in.ciaddr == 0) {
        ++counters_.malformed;
        return false;
      }
      ++counters_.informs;
      reply(in, MessageType::ack, 0, out);
      return true;
    case MessageType::offer:
    case MessageType::ack:
    case MessageType::nak:
    case MessageType::none:
      break;
  }
  ++counters_.ignored;
  return false;
}

// RFC 2131 4.3.2: SELECTING names this server and the address offered; INIT-REBOOT asks for the
// address it had, and hears nothing from a server that has no record of it; RENEWING and
// REBINDING carry it in ciaddr.
bool DhcpServer::request(const Message& in, const Client& c, int64_t now, Reply& out) {
  const Lease* mine = leases_.find(c);
  uint32_t want;
  if (in.server_id) {
    if (!in.requested || in.ciaddr != 0) {
      ++counters_.malformed;
      return false;
    }
    want = *in.requested;
    if (mine == nullptr || mine->address != want) return nak(in, out);
  } else if (in.requested) {
    want = *in.requested;
    if (!options_.in_subnet(want)) return nak(in, out);
    if (mine == nullptr) {
      ++counters_.ignored;
      return false;
    }
    if (mine->address != want) return nak(in, out);
  } else if (in.ciaddr != 0) {
    want = in.ciaddr;
    // A lease this server lost (kept in memory only, before a restart) is renewed while the
    // address is still free.
    if (mine != nullptr && mine->address != want) return nak(in, out);
  } else {
    ++counters_.malformed;
    return false;
  }
  if (!leases_.available(c, want)) return nak(in, out);
  leases_.bind(c, want, HostName::clean(in.hostname.text()), now);
  ++counters_.acks;
  reply(in, MessageType::ack, want, out);
  return true;
}

bool DhcpServer::nak(const Message& in, Reply& out) {
  ++counters_.naks;
  reply(in, MessageType::nak, 0, out);
  return true;
}

void DhcpServer::reply(const Message& in, MessageType type, uint32_t yiaddr, Reply& out) const {
  const DhcpOptions& o = options_;
  Message& m = out.message;
  m = Message{};
  m.op = kBootReply;
  m.xid = in.xid;
  m.flags = in.flags;
  m.chaddr = in.chaddr;
  m.type = type;
  m.server_id = o.server;
  m.client_id = in.client_id;  // echoed, as RFC 6842 asks
  if (type == MessageType::nak) {
    // 4.1: with no relay, a NAK is broadcast: the client's idea of its address is wrong.
    out.dst_mac = kBroadcastMac;
    out.dst_ip = kIpv4Broadcast;
    return;
  }
  if (type == MessageType::ack) m.ciaddr = in.ciaddr;
  m.yiaddr = yiaddr;
  m.subnet_mask = o.netmask;
  if (o.router != 0) m.routers.push(o.router);
  for (uint32_t d : o.dns)
    m.dns.push(d);
  if (yiaddr != 0) {
    m.lease_s = o.lease_s;
    m.renewal_s = o.lease_s / 2;
    m.rebinding_s = static_cast<uint32_t>(uint64_t{o.lease_s} * 7 / 8);
    if (const Reservation* r = o.reservation_of(in.chaddr); r && !r->name.empty()) {
      m.hostname.assign(reinterpret_cast<const uint8_t*>(r->name.data()), r->name.size());
    }
  }
  if (in.ciaddr != 0) {
    out.dst_mac = in.chaddr;
    out.dst_ip = in.ciaddr;
  } else if (in.broadcast() || yiaddr == 0) {
    out.dst_mac = kBroadcastMac;
    out.dst_ip = kIpv4Broadcast;
  } else {
    out.dst_mac = in.chaddr;
    out.dst_ip = yiaddr;
  }
}

}  // namespace vswitch::plugs::dhcp
