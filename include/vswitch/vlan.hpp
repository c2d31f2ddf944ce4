// 802.1Q port membership with Open vSwitch's vlan_mode semantics (vswitchd/vswitch.xml):
// the configuration a user gives, and the per-port tables the datapath reads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vswitch/ether.hpp"

namespace vswitch {

// A set of VLAN IDs 0..4095 as a bitmap: one load and a shift to test.
class VlanSet {
 public:
  bool test(uint16_t vid) const { return (words_[vid >> 6] >> (vid & 63)) & 1; }
  void set(uint16_t vid) { words_[vid >> 6] |= uint64_t{1} << (vid & 63); }
  void reset(uint16_t vid) { words_[vid >> 6] &= ~(uint64_t{1} << (vid & 63)); }
  void set_all();  // every valid VID, 0..4094
  bool empty() const;
  size_t count() const;
  // Calls fn(vid) for each VID in the set, in order, a word at a time.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1)
        fn(static_cast<uint16_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits))));
    }
  }
  friend bool operator==(const VlanSet&, const VlanSet&) = default;

  // "10,20-30" or "10:20-30"; nullopt on a malformed list or an ID over 4094.
  static std::optional<VlanSet> parse(std::string_view text);
  std::string str() const;  // ranges joined by ','

 private:
  std::array<uint64_t, kVlanCount / 64> words_{};
};

enum class VlanMode : uint8_t { trunk, access, native_tagged, native_untagged };

std::string_view to_string(VlanMode m);
std::optional<VlanMode> parse_vlan_mode(std::string_view text);

// What the user configures. The default, a trunk with no list, carries every VLAN: tagged
// frames as they are, untagged ones in VLAN 0.
struct VlanConfig {
  VlanMode mode = VlanMode::trunk;
  uint16_t tag = 0;  // access VLAN or native VLAN
  VlanSet trunks;    // empty: all VLANs
  friend bool operator==(const VlanConfig&, const VlanConfig&) = default;

  // An error message when the combination makes no sense (a trunk list on an access port...).
  std::optional<std::string> validate() const;
  std::string str() const;
};

// The datapath's view of one port, derived from VlanConfig.
struct PortVlan {
  VlanSet member;              // VLANs the port may send into and receive from
  VlanSet egress_tagged;       // VLANs that leave this port with an 802.1Q header
  uint16_t native = kNoVlan;   // VLAN of untagged and priority-tagged ingress frames
  bool accepts_tagged = true;  // false on access ports: any non-zero VID is dropped

  static PortVlan from(const VlanConfig& c);
};

// How a frame arrived: its ingress VLAN, and whether its first header is an 802.1Q tag (and if
// that tag is a priority tag, VID 0, which is not the VLAN it travels in).
struct VlanClass {
  uint16_t vlan;
  bool tagged;
  bool priority_tagged;
};

// Classifies a frame of at least 14 bytes (18 when tagged) arriving on a port; nullopt means the
// port must drop it. Closes VLAN hopping: a priority tag wrapping a second tag is refused.
inline std::optional<VlanClass> classify_vlan(const PortVlan& port, const uint8_t* frame,
                                              uint32_t len) {
  const uint16_t type = load_be16(frame + 12);
  if (type != kEtherTypeVlan) {
    if (port.native == kNoVlan) return std::nullopt;
    return VlanClass{port.native, false, false};
  }
  if (len < kEtherHeaderLen + kVlanTagLen) return std::nullopt;
  const uint16_t vid = load_be16(frame + 14) & 0x0fff;
  if (vid == 0) {
    if (port.native == kNoVlan || load_be16(frame + 16) == kEtherTypeVlan) return std::nullopt;
    return VlanClass{port.native, true, true};
  }
  if (!port.accepts_tagged || vid > kVlanMax || !port.member.test(vid)) return std::nullopt;
  return VlanClass{vid, true, false};
}

}  // namespace vswitch
