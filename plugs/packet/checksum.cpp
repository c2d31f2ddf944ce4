#include "packet/checksum.hpp"

namespace vswitch::plugs::packet {

namespace {

constexpr uint16_t kIpv4 = 0x0800;
constexpr uint16_t kIpv6 = 0x86dd;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// The ones' complement sum of the bytes, folded to 16 bits.
uint16_t sum16(const uint8_t* p, uint32_t n) {
  uint64_t sum = 0;
  for (; n >= 2; p += 2, n -= 2)
    sum += be16(p);
  if (n == 1) sum += static_cast<uint64_t>(p[0]) << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

bool is_ipv6_extension(uint8_t next) {
  return next == 0 || next == 43 || next == 44 ||
         next == 60;  // hop-by-hop, routing, fragment, dest
}

}  // namespace

std::optional<ChecksumFix> finish_partial_checksum(const uint8_t* frame, uint32_t len) {
  uint32_t at = 12;
  if (len < at + 2) return std::nullopt;
  uint16_t type = be16(frame + at);
  while ((type == 0x8100 || type == 0x88a8) && len >= at + 6) {
    at += 4;
    type = be16(frame + at);
  }
  at += 2;
  uint32_t l4 = 0;
  uint32_t l4_len = 0;
  uint8_t proto = 0;
  if (type == kIpv4) {
    if (len < at + 20) return std::nullopt;
    const uint8_t* ip = frame + at;
    const uint32_t ihl = (ip[0] & 0x0f) * 4u;
    const uint32_t total = be16(ip + 2);
    // A fragment carries no whole datagram to sum; the kernel never leaves one partial.
    if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || (be16(ip + 6) & 0x3fff) != 0) {
      return std::nullopt;
    }
    proto = ip[9];
    l4 = at + ihl;
    l4_len = total - ihl;
  } else if (type == kIpv6) {
    if (len < at + 40) return std::nullopt;
    const uint8_t* ip = frame + at;
    uint8_t next = ip[6];
    uint32_t payload = be16(ip + 4);
    l4 = at + 40;
    while (is_ipv6_extension(next)) {
      if (next == 44 || len < l4 + 8) return std::nullopt;
      const uint32_t ext = (frame[l4 + 1] + 1u) * 8;
      if (payload < ext) return std::nullopt;
      next = frame[l4];
      l4 += ext;
      payload -= ext;
    }
    proto = next;
    l4_len = payload;
  } else {
    return std::nullopt;
  }
  const uint32_t field = proto == kTcp ? 16 : proto == kUdp ? 6 : 0;
  if (field == 0 || l4_len < field + 2 || len < l4 + l4_len) return std::nullopt;
  auto value = static_cast<uint16_t>(~sum16(frame + l4, l4_len));
  if (proto == kUdp && value == 0) value = 0xffff;  // 0 would mean "no checksum"
  return ChecksumFix{l4 + field, value};
}

}  // namespace vswitch::plugs::packet
