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
