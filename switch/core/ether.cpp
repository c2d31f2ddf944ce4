#include "vswitch/ether.hpp"

#include <cstdio>

namespace vswitch {

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  // aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff, hex digits in either case.
  if (text.size() != 17) return std::nullopt;
  uint8_t bytes[6];
  for (int i = 0; i < 6; ++i) {
    if (i > 0 && text[static_cast<size_t>(i * 3 - 1)] != ':' &&
        text[static_cast<size_t>(i * 3 - 1)] != '-') {
      return std::nullopt;
    }
    unsigned v = 0;
    for (int j = 0; j < 2; ++j) {
      const char c = text[static_cast<size_t>(i * 3 + j)];
      unsigned d;
      if (c >= '0' && c <= '9') {
        d = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
      v = v * 16 + d;
    }
    bytes[i] = static_cast<uint8_t>(v);
  }
  return from_bytes(bytes);
}

std::string MacAddr::str() const {
  uint8_t b[6];
  to_bytes(b);
  char text[18];
  snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
  return text;
}

}  // namespace vswitch
