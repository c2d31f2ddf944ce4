#include "vswitch/vlan.hpp"

#include <bit>
#include <charconv>

namespace vswitch {

void VlanSet::set_all() {
  words_.fill(~uint64_t{0});
  reset(4095);
}

bool VlanSet::empty() const {
  for (uint64_t w : words_) {
    if (w != 0) return false;
  }
  return true;
}

size_t VlanSet::count() const {
  size_t n = 0;
  for (uint64_t w : words_)
    n += static_cast<size_t>(std::popcount(w));
  return n;
}

static std::optional<uint16_t> parse_vid(std::string_view s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > kVlanMax) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::optional<VlanSet> VlanSet::parse(std::string_view text) {
  VlanSet set;
  while (!text.empty()) {
    const size_t cut = text.find_first_of(",:");
    const std::string_view item = text.substr(0, cut);
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
    const size_t dash = item.find('-');
    const auto lo = parse_vid(item.substr(0, dash));
    const auto hi = dash == std::string_view::npos ? lo : parse_vid(item.substr(dash + 1));
    if (!lo || !hi || *lo > *hi) return std::nullopt;
    for (unsigned v = *lo; v <= *hi; ++v)
      set.set(static_cast<uint16_t>(v));
  }
  return set;
}

std::string VlanSet::str() const {
  std::string out;
  for (unsigned v = 0; v < kVlanCount; ++v) {
    if (!test(static_cast<uint16_t>(v))) continue;
    unsigned end = v;
    while (end + 1 < kVlanCount && test(static_cast<uint16_t>(end + 1)))
      ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(v);
    if (end > v) out += '-' + std::to_string(end);
    v = end;
  }
  return out;
}

std::string_view to_string(VlanMode m) {
  switch (m) {
    case VlanMode::trunk:
      return "trunk";
    case VlanMode::access:
      return "access";
    case VlanMode::native_tagged:
      return "native-tagged";
    case VlanMode::native_untagged:
      return "native-untagged";
  }
  return "?";
}

std::optional<VlanMode> parse_vlan_mode(std::string_view text) {
  for (VlanMode m :
       {VlanMode::trunk, VlanMode::access, VlanMode::native_tagged, VlanMode::native_untagged}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

std::optional<std::string> VlanConfig::validate() const {
  if (tag > kVlanMax) return "tag " + std::to_string(tag) + " is out of range 0-4094";
  if (mode == VlanMode::access && !trunks.empty()) return "an access port takes no trunks list";
  if (mode == VlanMode::trunk && tag != 0) return "a trunk port takes no tag (use native-tagged)";
  return std::nullopt;
}

std::string VlanConfig::str() const {
  std::string s(to_string(mode));
  if (mode != VlanMode::trunk) s += " tag=" + std::to_string(tag);
  if (mode != VlanMode::access) s += " trunks=" + (trunks.empty() ? "all" : trunks.str());
  return s;
}

PortVlan PortVlan::from(const VlanConfig& c) {
  PortVlan p;
  if (c.mode == VlanMode::access) {
    p.member.set(c.tag);
    p.native = c.tag;
    p.accepts_tagged = false;
    return p;  // egress_tagged stays empty: access ports never send a tag
  }
  if (c.trunks.empty()) {
    p.member.set_all();
  } else {
    p.member = c.trunks;
  }
  p.egress_tagged = p.member;
  if (c.mode == VlanMode::trunk) {
    p.native = p.member.test(0) ? 0 : kNoVlan;
  } else {
    // A native port always carries its native VLAN, whatever the trunks list says.
    p.member.set(c.tag);
    p.egress_tagged.set(c.tag);
    p.native = c.tag;
    if (c.mode == VlanMode::native_untagged) p.egress_tagged.reset(c.tag);
  }
  p.egress_tagged.reset(0);  // VLAN 0 never leaves with a tag
  return p;
}

}  // namespace vswitch
