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
