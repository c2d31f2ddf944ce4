#include "frames.hpp"

#include <cstdio>
#include <cstring>

namespace vswitch::test {

Bytes frame(MacAddr dst, MacAddr src, size_t payload, uint8_t seed, uint16_t type) {
  Bytes f(14 + payload);
  dst.to_bytes(f.data());
  src.to_bytes(f.data() + 6);
  store_be16(f.data() + 12, type);
  for (size_t i = 0; i < payload; ++i)
    f[14 + i] = static_cast<uint8_t>(seed + i);
  return f;
}

Bytes arp_request(MacAddr from, Ipv4 sender, Ipv4 target) {
  Bytes f = frame(MacAddr((uint64_t{1} << 48) - 1), from, 28, 0, 0x0806);
  const uint8_t head[] = {0, 1, 8, 0, 6, 4, 0, 1};  // Ethernet, IPv4, request
  std::memcpy(f.data() + 14, head, sizeof head);
  from.to_bytes(f.data() + 22);
  std::memcpy(f.data() + 28, sender.data(), 4);
  std::memset(f.data() + 32, 0, 6);
  std::memcpy(f.data() + 38, target.data(), 4);
  return f;
}

bool is_arp_reply(const Bytes& f, Ipv4 target, Ipv4 sender) {
  return f.size() >= 42 && load_be16(f.data() + 12) == 0x0806 && load_be16(f.data() + 20) == 2 &&
         std::memcmp(f.data() + 28, target.data(), 4) == 0 &&
         std::memcmp(f.data() + 38, sender.data(), 4) == 0;
}

Bytes tagged(const Bytes& plain, uint16_t vid, uint8_t pcp) {
  Bytes f(plain.size() + 4);
  std::memcpy(f.data(), plain.data(), 12);
  store_be16(f.data() + 12, kEtherTypeVlan);
  store_be16(f.data() + 14, static_cast<uint16_t>(pcp << 13 | vid));
  std::memcpy(f.data() + 16, plain.data() + 12, plain.size() - 12);
  return f;
}

Bytes untagged(const Bytes& t) {
  Bytes f(t.size() - 4);
  std::memcpy(f.data(), t.data(), 12);
  std::memcpy(f.data() + 12, t.data() + 16, t.size() - 16);
  return f;
}

uint32_t ipv4(const char* text) {
  uint32_t v = 0;
  unsigned a, b, c, d;
  if (sscanf(text, "%u.%u.%u.%u", &a, &b, &c, &d) == 4) v = a << 24 | b << 16 | c << 8 | d;
  return v;
}

namespace {

void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
uint32_t get32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint16_t ip_checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += uint32_t{p[i]} << 8 | p[i + 1];
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

Bytes dhcp_frame(const DhcpFrame& d) {
  Bytes bootp(240, 0);
  bootp[0] = 1;  // BOOTREQUEST
  bootp[1] = 1;
  bootp[2] = 6;
  put32(bootp, 4, d.xid);
  if (d.broadcast_flag) bootp[10] = 0x80;
  put32(bootp, 12, d.ciaddr);
  d.client.to_bytes(bootp.data() + 28);
  const uint8_t magic[] = {99, 130, 83, 99};
  std::copy(magic, magic + 4, bootp.begin() + 236);
  auto option = [&](uint8_t code, const Bytes& v) {
    bootp.push_back(code);
    bootp.push_back(static_cast<uint8_t>(v.size()));
    bootp.insert(bootp.end(), v.begin(), v.end());
  };
  auto addr = [](uint32_t a) {
    return Bytes{static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                 static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  };
  option(53, {d.type});
  if (d.requested) option(50, addr(d.requested));
  if (d.server) option(54, addr(d.server));
  if (!d.hostname.empty()) option(12, Bytes(d.hostname.begin(), d.hostname.end()));
  if (!d.client_id.empty()) option(61, d.client_id);
  option(55, {1, 3, 6, 12, 15, 51});
  bootp.push_back(255);

  Bytes f = frame(d.dst_mac, d.client, 0, 0, 0x0800);
  Bytes ip(28, 0);
  ip[0] = 0x45;
  put16(ip, 2, static_cast<uint16_t>(28 + bootp.size()));
  ip[8] = 64;
  ip[9] = 17;
  put32(ip, 12, d.ciaddr);
  put32(ip, 16, d.dst_ip);
  put16(ip, 10, ip_checksum(ip.data(), 20));
  put16(ip, 20, 68);
  put16(ip, 22, 67);
  put16(ip, 24, static_cast<uint16_t>(8 + bootp.size()));
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), bootp.begin(), bootp.end());
  return f;
}

std::optional<DhcpReply> dhcp_reply(const Bytes& f, MacAddr client) {
  if (f.size() < 14 + 20 + 8 + 240 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17) {
    return std::nullopt;
  }
  const size_t udp = 14 + size_t{f[14] & 0x0fu} * 4;
  const size_t bootp = udp + 8;
  if (f.size() < bootp + 240 || f[udp + 1] != 67 || f[bootp] != 2) return std::nullopt;
  if (MacAddr::from_bytes(&f[bootp + 28]) != client) return std::nullopt;
  DhcpReply r;
  r.dst_mac = MacAddr::from_bytes(f.data());
  r.src_ip = get32(&f[26]);
  r.dst_ip = get32(&f[30]);
  r.xid = get32(&f[bootp + 4]);
  r.ciaddr = get32(&f[bootp + 12]);
  r.your_address = get32(&f[bootp + 16]);
  for (size_t i = bootp + 240; i + 1 < f.size() && f[i] != 255;) {
    if (f[i] == 0) {
      ++i;
      continue;
    }
    const uint8_t code = f[i], len = f[i + 1];
    const uint8_t* v = &f[i + 2];
    if (i + 2 + len > f.size()) break;
    if (code == 53 && len == 1) r.type = v[0];
    if (code == 54 && len == 4) r.server = get32(v);
    if (code == 51 && len == 4) r.lease_s = get32(v);
    if (code == 1 && len == 4) r.netmask = get32(v);
    if (code == 3 && len >= 4) r.router = get32(v);
    for (size_t k = 0; code == 6 && k + 4 <= len; k += 4)
      r.dns.push_back(get32(v + k));
    if (code == 12) r.hostname.assign(reinterpret_cast<const char*>(v), len);
    i += 2 + len;
  }
  return r;
}

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (size_t i = 0; i < b.size(); ++i) {
    snprintf(buf, sizeof buf, "%02x", b[i]);
    s += buf;
    if (i == 5 || i == 11 || i == 13) s += ' ';
  }
  return s;
}

}  // namespace vswitch::test
