// The one syntax for ports and segments, on the command line, in the config file and over the
// control socket, shaped like QEMU's -netdev options so a user can mirror the guest's side:
//
//   --port TYPE[,key=value]...        e.g.  dpdk,name=p0,dev=net_tap0,dev.iface=vs0,tag=10
//   --segment NAME[,key=value]...     e.g.  lab,mode=hub,policy=internal
//
// A literal comma inside a value is written twice (",,"), as in QEMU. The values of list keys
// (host=, dhcp-host=) may also keep their single commas: dhcp-host=MAC,IP,NAME.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/port.hpp"
#include "vswitch/segment.hpp"

namespace vswitch::daemon {

// "a,b=c,,d" -> {"a", "b=c,d"}; "a,host=m,i,n,b=c" -> {"a", "host=m,i,n", "b=c"}
std::vector<std::string> split_spec(std::string_view text);
// "a,b,c" into its port names; throws ConfigError for an empty name.
std::vector<std::string> port_name_list(const std::string& list);
// A value back into spec syntax: "a,b" -> "a,,b".
std::string spec_value(std::string_view value);

struct PortSpec {
  std::string type;     // "dpdk", later "vde", "stream"...
  std::string segment;  // empty: the only segment, or "default"
  PortSettings settings;
  // The plug's own keys, in order of name; a key may repeat (hostfwd=), and only take_all()
  // takes a repeated one.
  std::multimap<std::string, std::string> params;
  std::string text;                // as the user wrote it
  std::vector<std::string> given;  // the common keys the user gave

  bool was_given(const std::string& key) const {
    return std::find(given.begin(), given.end(), key) != given.end();
  }

  // Removes and returns one of the plug's keys, so that expect_consumed() can report leftovers.
  // Throws ConfigError when the key was given more than once.
  std::optional<std::string> take(const std::string& key);
  // Every value of a repeatable key, in the order given.
  std::vector<std::string> take_all(const std::string& key);
  // Throws ConfigError naming the first key no one took.
  void expect_consumed() const;
};

// Parses the common keys (name, segment, role, vlan-mode, tag, trunks, mtu) and keeps the rest
// in params for the plug. Throws ConfigError. The name stays empty when none is given.
PortSpec parse_port_spec(std::string_view text);

// Applies "key=value" settings to a port's settings (for `port set`); throws ConfigError.
void apply_port_setting(PortSettings& s, std::string_view key, std::string_view value);

// A segment spec and the port specs its network= preset adds; throws ConfigError.
struct SegmentSpec {
  SegmentSettings settings;
  std::vector<std::string> ports;
};
SegmentSpec parse_segment(std::string_view text);
SegmentSettings parse_segment_spec(std::string_view text);
// Applies one "key=value" to a live segment (for `segment set`); throws ConfigError.
void apply_segment_setting(Segment& seg, std::string_view key, std::string_view value);

uint32_t parse_uint(std::string_view what, std::string_view text, uint32_t min, uint32_t max);

}  // namespace vswitch::daemon
