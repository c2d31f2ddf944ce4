// Network byte order for 32-bit fields the plugs read and write in place (IPv4 headers, DHCP
// options, QEMU's stream length): byte by byte, so alignment never matters.
#pragma once

#include <cstdint>

namespace vswitch::plugs {

inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace vswitch::plugs
