// The one spec syntax for ports and segments (--port, --segment, `port add`, `segment add`,
// `port set`, `segment set`), on arbitrary text. Whatever a parser accepts must be a valid
// configuration, and must read back the same from the spec it would be written as.
//
// Input: lines. The first byte picks the parser ('s' a segment spec, anything else a port spec);
// the first line, without that byte, is the spec; each further line is one key=value setting,
// applied as `port set` or `segment set` would.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "require.hpp"
#include "spec.hpp"

namespace vswitch::fuzz {
namespace {

using daemon::PortSpec;

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return out;
}

// A value as a spec carries it: commas doubled.
std::string escaped(std::string_view v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

void require_valid(const PortSettings& s) {
  require(!s.vlan.validate(), "accepted VLAN settings validate");
  require(s.mtu >= 68 && s.mtu <= kMaxMtu, "accepted MTU in range");
}

std::string port_spec_text(const PortSpec& p) {
  const PortSettings& s = p.settings;
  std::string t = escaped(p.type) + ",role=" + std::string(to_string(s.role)) +
                  ",vlan-mode=" + std::string(to_string(s.vlan.mode)) +
                  ",tag=" + std::to_string(s.vlan.tag) + ",mtu=" + std::to_string(s.mtu);
  if (!s.name.empty()) t += ",name=" + escaped(s.name);
  if (!p.segment.empty()) t += ",segment=" + escaped(p.segment);
  if (!s.vlan.trunks.empty()) t += ",trunks=" + escaped(s.vlan.trunks.str());
  for (const auto& [k, v] : p.params)
    t += "," + escaped(k) + "=" + escaped(v);
  return t;
}

void port(std::string_view spec, const std::vector<std::string_view>& settings) {
  PortSpec p;
  try {
    p = daemon::parse_port_spec(spec);
  } catch (const ConfigError&) {
    return;
  }
  require(!p.type.empty() && p.type.find('=') == std::string::npos, "a port type");
  require_valid(p.settings);
  for (const char* common : {"name", "segment", "role", "vlan-mode", "tag", "trunks", "mtu"})
    require(!p.params.count(common), "common keys are not left to the plug");

  PortSpec again;
  try {
    again = daemon::parse_port_spec(port_spec_text(p));
  } catch (const ConfigError&) {
    require(false, "a port spec written from an accepted one parses");
  }
  require(again.settings.name == p.settings.name && again.settings.role == p.settings.role &&
              again.settings.vlan == p.settings.vlan && again.settings.mtu == p.settings.mtu &&
              again.segment == p.segment && again.params == p.params && again.type == p.type,
          "a port spec reads back as written");

  PortSettings s = p.settings;
  for (std::string_view kv : settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    PortSettings next = s;
    try {
      daemon::apply_port_setting(next, kv.substr(0, eq), kv.substr(eq + 1));
    } catch (const ConfigError&) {
      continue;  // `port set` drops its copy
    }
    require_valid(next);
    s = next;
  }
}

std::string segment_spec_text(const SegmentSettings& s) {
  return escaped(s.name) + ",mode=" + std::string(to_string(s.forwarding)) +
         ",policy=" + escaped(s.policy.str()) + ",fdb-size=" + std::to_string(s.fdb_limit) +
         ",ageing=" + std::to_string(s.ageing_s) + ",flap-hold=" + std::to_string(s.flap_hold_ms) +
         ",max-ports=" + std::to_string(s.max_ports);
}

bool same(const SegmentSettings& a, const SegmentSettings& b) {
  return a.name == b.name && a.forwarding == b.forwarding && a.policy.mode == b.policy.mode &&
         a.policy.matrix == b.policy.matrix && a.fdb_limit == b.fdb_limit &&
         a.ageing_s == b.ageing_s && a.flap_hold_ms == b.flap_hold_ms && a.max_ports == b.max_ports;
}

// An FDB is sized up front: the largest a spec allows (2^24 entries) costs about a gigabyte per
// segment, which is a user's choice, not a defect; keep the harness's tables small.
constexpr uint32_t kLargestFdb = 1u << 16;

bool over_largest_fdb(std::string_view value) {
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  return ec == std::errc::result_out_of_range || (ec == std::errc{} && n > kLargestFdb);
}

void segment(std::string_view spec, const std::vector<std::string_view>& settings) {
  SegmentSettings s;
  try {
    s = daemon::parse_segment_spec(spec);
  } catch (const ConfigError&) {
    return;
  }
  require(!s.name.empty() && s.name.find('=') == std::string::npos, "a segment name");
  require(s.fdb_limit >= 1 && s.ageing_s >= 1 && s.max_ports >= 1, "limits of at least one");
  SegmentSettings again;
  try {
    again = daemon::parse_segment_spec(segment_spec_text(s));
  } catch (const ConfigError&) {
    require(false, "a segment spec written from an accepted one parses");
  }
  require(same(again, s), "a segment spec reads back as written");

  s.fdb_limit = std::min(s.fdb_limit, kLargestFdb);
  Segment seg(s);
  for (std::string_view kv : settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = kv.substr(0, eq);
    const std::string_view value = kv.substr(eq + 1);
    if (key == "fdb-size" && over_largest_fdb(value)) continue;
    const SegmentSettings before = seg.settings();
    try {
      daemon::apply_segment_setting(seg, key, value);
    } catch (const ConfigError&) {
      require(same(seg.settings(), before), "a refused `segment set` changes nothing");
      continue;
    }
    require(seg.fdb().limit() == seg.settings().fdb_limit, "the FDB has the limit set");
  }
}

}  // namespace
}  // namespace vswitch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto all = vswitch::fuzz::lines(text);
  const std::string_view spec = all.empty() ? std::string_view{} : all.front();
  if (!all.empty()) all.erase(all.begin());
  if (data[0] == 's') {
    vswitch::fuzz::segment(spec, all);
  } else {
    vswitch::fuzz::port(spec, all);
  }
  return 0;
}
