#include "common/ipv4_frames.hpp"

#include <cstring>

#include "common/big_endian.hpp"

namespace vswitch::plugs {

namespace {

constexpr uint8_t kUdp = 17;

// The one's-complement sum of RFC 1071, folded at the end by the caller.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

std::optional<UdpDatagram> parse_udp(const uint8_t* f, size_t len) {
  if (len < kUdpHeadersLen || load_be16(f + 12) != kEtherTypeIpv4) return std::nullopt;
  const uint8_t* ip = f + kEtherHeaderLen;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  const size_t ip_len = load_be16(ip + 2);
  const bool fragment = (load_be16(ip + 6) & 0x3fff) != 0;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kUdp || fragment) return std::nullopt;
  if (ip_len > len - kEtherHeaderLen || ip_len < ihl + 8) return std::nullopt;
  const uint8_t* udp = ip + ihl;
  const size_t udp_len = load_be16(udp + 4);
  if (udp_len < 8 || udp_len > ip_len - ihl) return std::nullopt;
  UdpDatagram d;
  d.dst_mac = MacAddr::from_bytes(f);
  d.src_mac = MacAddr::from_bytes(f + 6);
  d.src_ip = load_be32(ip + 12);
  d.dst_ip = load_be32(ip + 16);
  d.src_port = load_be16(udp);
  d.dst_port = load_be16(udp + 2);
  d.payload = udp + 8;
  d.len = udp_len - 8;
  return d;
}

size_t finish_udp(uint8_t* f, const UdpDatagram& d, size_t payload_len) {
  d.dst_mac.to_bytes(f);
  d.src_mac.to_bytes(f + 6);
  store_be16(f + 12, kEtherTypeIpv4);
  uint8_t* ip = f + kEtherHeaderLen;
  const size_t ip_len = 20 + 8 + payload_len;
  ip[0] = 0x45;
  ip[1] = 0;
  store_be16(ip + 2, static_cast<uint16_t>(ip_len));
  store_be16(ip + 4, 0);
  store_be16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = kUdp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, d.src_ip);
  store_be32(ip + 16, d.dst_ip);
  store_be16(ip + 10, fold(sum16(ip, 20)));
  uint8_t* udp = ip + 20;
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload_len);
  store_be16(udp, d.src_port);
  store_be16(udp + 2, d.dst_port);
  store_be16(udp + 4, udp_len);
  store_be16(udp + 6, 0);
  // The pseudo-header: both addresses, the protocol and the UDP length.
  uint32_t sum = sum16(ip + 12, 8) + kUdp + udp_len;
  uint16_t check = fold(sum16(udp, udp_len, sum));
  store_be16(udp + 6, check == 0 ? 0xffff : check);
  const size_t frame_len = kEtherHeaderLen + ip_len;
  if (frame_len >= kMinFrameLen) return frame_len;
  std::memset(f + frame_len, 0, kMinFrameLen - frame_len);
  return kMinFrameLen;
}

std::optional<ArpRequest> parse_arp_request(const uint8_t* f, size_t len) {
  if (len < kEtherHeaderLen + 28 || load_be16(f + 12) != kEtherTypeArp) return std::nullopt;
  const uint8_t* a = f + kEtherHeaderLen;
  // Ethernet (1), IPv4, 6-byte and 4-byte addresses, a request (1).
  if (load_be16(a) != 1 || load_be16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4 ||
      load_be16(a + 6) != 1) {
    return std::nullopt;
  }
  ArpRequest r;
  r.sender_mac = MacAddr::from_bytes(a + 8);
  r.sender_ip = load_be32(a + 14);
  r.target_ip = load_be32(a + 24);
  return r;
}

size_t build_arp_reply(uint8_t* out, MacAddr mac, uint32_t ip, const ArpRequest& to) {
  std::memset(out, 0, kMinFrameLen);
  to.sender_mac.to_bytes(out);
  mac.to_bytes(out + 6);
  store_be16(out + 12, kEtherTypeArp);
  uint8_t* a = out + kEtherHeaderLen;
  store_be16(a, 1);
  store_be16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, 2);
  mac.to_bytes(a + 8);
  store_be32(a + 14, ip);
  to.sender_mac.to_bytes(a + 18);
  store_be32(a + 24, to.sender_ip);
  return kMinFrameLen;
}

}  // namespace vswitch::plugs
