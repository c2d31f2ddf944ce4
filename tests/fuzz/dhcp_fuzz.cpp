// A segment's DHCP server fed what guests may send: the codec on arbitrary bytes, and a run of
// messages through the server and its lease table, with time moving on between them.
//
// Input: records of [length (2 bytes, big-endian)][flags (1 byte)][body]. Flags bit 0: the body is
// a whole message, else the options of a request from one of four clients (bits 1-2), with ciaddr
// set to a pool address when bit 6 is; bits 3-5 move the clock on by that many 97-second steps. The
// first record is also read as an Ethernet frame (UDP, ARP).
#include <algorithm>
#include <cstring>
#include <set>

#include "common/dhcp_wire.hpp"
#include "common/ipv4_frames.hpp"
#include "dhcp/dhcp_server.hpp"
#include "require.hpp"

using vswitch::MacAddr;
using vswitch::fuzz::require;
namespace dhcp = vswitch::plugs::dhcp;
namespace plugs = vswitch::plugs;

namespace {

constexpr uint32_t kFirst = 0xc0a8640a;  // 192.168.100.10-13, a reservation at .20
constexpr uint32_t kPool = 4;

dhcp::DhcpOptions options() {
  dhcp::DhcpOptions o;
  o.set("range", "192.168.100.10-192.168.100.13");
  o.set("router", "192.168.100.1");
  o.set("dns", "192.168.100.1:9.9.9.9");
  o.set("lease", "600");
  o.set("host", "52:54:00:00:00:03,192.168.100.20,web");
  o.finish();
  return o;
}

MacAddr client(unsigned n) {
  return MacAddr(uint64_t{0x000000005452} | uint64_t{n} << 40);  // 52:54:00:00:00:0n
}

// A request from a client with these options after the cookie.
size_t templated(const uint8_t* options, size_t n, uint8_t flags, uint8_t* out) {
  dhcp::Message m;
  m.type = dhcp::MessageType::discover;
  m.xid = flags;
  m.chaddr = client((flags >> 1) & 3);
  if (flags & 0x40) m.ciaddr = kFirst + (flags >> 1) % kPool;
  const size_t head = dhcp::build(m, out, dhcp::kMaxLen);
  require(head >= dhcp::kMinLen, "a plain message builds");
  const size_t take = std::min(n, dhcp::kMaxLen - dhcp::kMinLen);
  std::memcpy(out + dhcp::kMinLen, options, take);
  return dhcp::kMinLen + take;
}

void check_round_trip(const dhcp::Message& m) {
  uint8_t out[dhcp::kMaxLen];
  const size_t n = dhcp::build(m, out, sizeof out);
  require(n >= dhcp::kMinBootpLen, "a parsed message builds again");
  dhcp::Message back;
  require(dhcp::parse(out, n, back) == dhcp::ParseError::none, "what is built parses");
  require(back == m, "a message survives a round trip");
}

void check_table(const dhcp::DhcpServer& s, int64_t now) {
  const auto records = s.leases().records();
  require(records.size() <= kPool + 1, "no more records than addresses");
  std::set<uint32_t> addresses;
  for (const dhcp::Lease& l : records) {
    require(addresses.insert(l.address).second, "one record an address");
    require(s.options().in_range(l.address) || s.options().reservation_at(l.address),
            "records only of the pool");
    if (l.state == dhcp::LeaseState::leased && l.expires > now) {
      const auto* r = s.options().reservation_at(l.address);
      require(!r || r->mac == l.mac, "a reserved address is leased to its owner only");
    }
  }
}

void check_reply(const dhcp::DhcpServer& s, const dhcp::Message& in, const dhcp::Reply& r,
                 int64_t now) {
  const dhcp::Message& m = r.message;
  require(m.op == dhcp::kBootReply && m.xid == in.xid && m.chaddr == in.chaddr,
          "a reply answers its request");
  require(m.server_id == s.options().server, "a reply names this server");
  require(m.type == dhcp::MessageType::offer || m.type == dhcp::MessageType::ack ||
              m.type == dhcp::MessageType::nak,
          "a reply is OFFER, ACK or NAK");
  if (m.yiaddr != 0) {
    require(s.options().in_range(m.yiaddr) || s.options().reservation_at(m.yiaddr),
            "only the pool's addresses are handed out");
    const dhcp::Lease* l = s.leases().find(dhcp::Client{in.chaddr, in.client_id.text()});
    require(l && l->address == m.yiaddr, "the table holds what was handed out");
    if (m.type == dhcp::MessageType::ack) {
      require(l->state == dhcp::LeaseState::leased && l->expires > now, "an ACK is a lease");
    }
  }
  check_round_trip(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dhcp::DhcpServer server("fuzz", options());
  int64_t now = 1'700'000'000;
  uint8_t buf[dhcp::kMaxLen];
  bool first = true;
  while (size >= 3) {
    const size_t len = std::min<size_t>(size_t{data[0]} << 8 | data[1], size - 3);
    const uint8_t flags = data[2];
    const uint8_t* body = data + 3;
    data += 3 + len;
    size -= 3 + len;
    if (first) {
      plugs::parse_udp(body, len);
      plugs::parse_arp_request(body, len);
      first = false;
    }
    const uint8_t* msg = body;
    size_t n = len;
    if (!(flags & 1)) {
      n = templated(body, len, flags, buf);
      msg = buf;
    }
    now += ((flags >> 3) & 7) * 97;
    dhcp::Message in;
    if (dhcp::parse(msg, n, in) != dhcp::ParseError::none) {
      require(in == dhcp::Message{}, "a refused message leaves nothing");
      continue;
    }
    check_round_trip(in);
    dhcp::Reply r;
    if (server.answer(in, now, r)) check_reply(server, in, r, now);
    check_table(server, now);
  }
  return 0;
}
