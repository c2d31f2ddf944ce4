// Ethernet and 802.1Q header helpers shared by the core, the plugs and the tests.
// MAC addresses travel as 48-bit integers so that an FDB key is one 64-bit word.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace vswitch {

inline constexpr uint32_t kEtherHeaderLen = 14;
inline constexpr uint32_t kVlanTagLen = 4;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kVlanCount = 4096;
inline constexpr uint16_t kVlanMax = 4094;     // 4095 is reserved by 802.1Q
inline constexpr uint16_t kNoVlan = 0xffff;    // "this port takes no untagged frames"
inline constexpr uint32_t kDefaultMtu = 1500;  // payload bytes, headers excluded
inline constexpr uint32_t kMaxMtu = 9216;      // jumbo limit, as vdeplug4 and QEMU accept

// A MAC address as the low 48 bits of an integer, byte 0 of the wire in bits 0-7, so the
// group (multicast) bit of the first octet is bit 0.
class MacAddr {
 public:
  constexpr MacAddr() = default;
  constexpr explicit MacAddr(uint64_t bits) : bits_(bits & kMask) {}

  static MacAddr from_bytes(const uint8_t* p) {
    uint64_t v = 0;
    std::memcpy(&v, p, 6);
    return MacAddr(v);
  }
  static std::optional<MacAddr> parse(std::string_view text);

  void to_bytes(uint8_t* p) const { std::memcpy(p, &bits_, 6); }
  constexpr uint64_t bits() const { return bits_; }
  constexpr bool is_multicast() const { return (bits_ & 1) != 0; }
  std::string str() const;

  friend constexpr bool operator==(MacAddr, MacAddr) = default;

 private:
  static constexpr uint64_t kMask = (uint64_t{1} << 48) - 1;
  uint64_t bits_ = 0;
};

inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Reads 8 bytes at p and keeps 6; valid wherever 8 bytes are readable (dst at offset 0 and src
// at offset 6 of any frame of at least 14 bytes).
inline uint64_t load_mac48(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v & ((uint64_t{1} << 48) - 1);
}

}  // namespace vswitch
