#include "nat/leases.hpp"

#include <cctype>
#include <cstring>

namespace vswitch::plugs::nat {

namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint8_t kUdp = 17;
constexpr size_t kBootpFixed = 236;  // op .. file, before the magic cookie
constexpr uint8_t kMagic[4] = {99, 130, 83, 99};
constexpr uint8_t kRequest = 3, kAck = 5, kRelease = 7;

// A guest names itself: what is shown of it is a host name's characters, at most 63 of them.
std::string clean_hostname(const uint8_t* v, size_t len) {
  std::string name;
  for (size_t i = 0; i < len && name.size() < 63; ++i) {
    const char c = static_cast<char>(v[i]);
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') name += c;
  }
  return name;
}

// Options 53 and 12 out of the TLVs; false if they run past the end.
bool read_options(const uint8_t* p, size_t n, DhcpMessage& m) {
  for (size_t i = 0; i < n;) {
    const uint8_t code = p[i];
    if (code == 255) return true;
    if (code == 0) {
      ++i;
      continue;
    }
    if (i + 2 > n || i + 2 + p[i + 1] > n) return false;
    const uint8_t len = p[i + 1];
    const uint8_t* v = p + i + 2;
    if (code == 53 && len == 1) m.type = v[0];
    if (code == 12) m.hostname = clean_hostname(v, len);
    i += 2 + len;
  }
  return true;
}

}  // namespace

std::optional<DhcpMessage> parse_dhcp(const uint8_t* f, size_t len, uint16_t from_port) {
  if (len < kEtherHeaderLen + 20 + 8 || load_be16(f + 12) != kEtherTypeIpv4) return std::nullopt;
  const uint8_t* ip = f + kEtherHeaderLen;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  const bool fragment = (load_be16(ip + 6) & 0x3fff) != 0;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kUdp || fragment) return std::nullopt;
  const size_t ip_len = std::min<size_t>(load_be16(ip + 2), len - kEtherHeaderLen);
  if (ip_len < ihl + 8) return std::nullopt;
  const uint8_t* udp = ip + ihl;
  if (load_be16(udp) != from_port) return std::nullopt;
  const uint8_t* bootp = udp + 8;
  const size_t n = ip_len - ihl - 8;
  if (n < kBootpFixed + sizeof kMagic || std::memcmp(bootp + kBootpFixed, kMagic, 4) != 0) {
    return std::nullopt;
  }
  DhcpMessage m;
  m.op = bootp[0];
  std::memcpy(&m.your_address, bootp + 16, 4);
  m.client = MacAddr::from_bytes(bootp + 28);
  if (!read_options(bootp + kBootpFixed + 4, n - kBootpFixed - 4, m) || m.type == 0) {
    return std::nullopt;
  }
  return m;
}

void Leases::from_guest(const uint8_t* frame, size_t len) {
  const auto m = parse_dhcp(frame, len, 68);
  if (!m || m->op != 1) return;
  if (m->type == kRequest && !m->hostname.empty() && hostnames_.size() < kMaxTracked) {
    hostnames_[m->client.bits()] = m->hostname;
  } else if (m->type == kRelease) {
    leases_.erase(m->client.bits());
  }
}

void Leases::to_guest(const uint8_t* frame, size_t len) {
  const auto m = parse_dhcp(frame, len, 67);
  if (!m || m->op != 2 || m->type != kAck) return;
  const uint64_t mac = m->client.bits();
  // An address given to another guest is no longer the old one's.
  std::erase_if(leases_, [&](const auto& l) {
    return l.first != mac && l.second.address.s_addr == m->your_address.s_addr;
  });
  if (!leases_.count(mac) && leases_.size() >= kMaxTracked) return;
  Lease& l = leases_[mac];
  l.address = m->your_address;
  if (auto it = hostnames_.find(mac); it != hostnames_.end()) {
    l.hostname = std::move(it->second);
    hostnames_.erase(it);
  }
}

}  // namespace vswitch::plugs::nat
