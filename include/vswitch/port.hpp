// The one interface between the switching core and the plugs: a Port moves bursts of rte_mbufs
// in (outside -> switch) and out (switch -> outside). The core never learns what is behind it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vswitch/vlan.hpp"

struct rte_mbuf;

namespace vswitch {

inline constexpr uint16_t kBurst = 32;
// The most frames one Port::transmit() call is given: the switch buffers this many per port
// before it flushes, and a plug may size its per-call arrays by it.
inline constexpr uint16_t kTxBurstMax = 2 * kBurst;

// What a port stands for in the isolation contract of the networking modes. A service is a
// segment-local server (the DHCP server) that the guests reach and the LAN never does.
enum class Role : uint8_t { vm, host, uplink, nat, service };
inline constexpr int kRoleCount = 5;
inline constexpr std::array<Role, kRoleCount> kRoles = {Role::vm, Role::host, Role::uplink,
                                                        Role::nat, Role::service};
std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view text);
std::string role_names();  // "vm, host, uplink, nat, service", for messages

// Why a frame was dropped, counted on the port where the decision was made.
enum class DropReason : uint8_t {
  runt,       // shorter than an Ethernet header (or a truncated 802.1Q tag)
  oversize,   // payload over the port's MTU, on ingress or egress
  vlan,       // VLAN not allowed on the port, or a tagging trick
  hairpin,    // unicast to the port it came from
  policy,     // the segment's role matrix forbids the path
  tx_full,    // the transport would not take it (full ring or socket buffer)
  tx_error,   // the transport failed (peer gone)
  rx_error,   // the transport delivered something that is not a frame
  no_buffer,  // no mbuf for a copy or a receive
  mirror,     // arrived on a mirror's output port, which takes no traffic of its own
  storm,      // over the port's storm-control limit for broadcast, multicast or unknown unicast
  source,     // a source address the port may not use (port security, or pinned to another port)
  count
};
inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::count);
std::string_view to_string(DropReason r);

struct PortCounters {
  uint64_t in_packets = 0;
  uint64_t in_bytes = 0;
  uint64_t out_packets = 0;
  uint64_t out_bytes = 0;
  std::array<uint64_t, kDropReasonCount> drops{};

  void drop(DropReason r, uint64_t n = 1) { drops[static_cast<size_t>(r)] += n; }
  uint64_t dropped(DropReason r) const { return drops[static_cast<size_t>(r)]; }
  uint64_t dropped_total() const;
};

// Storm control: the most frames a second of each kind the port may send into its segment,
// beyond a burst allowance; 0 is no limit.
struct StormLimits {
  uint32_t broadcast = 0;
  uint32_t multicast = 0;  // group addresses other than broadcast
  uint32_t unknown = 0;    // unicast to an address the FDB does not hold
  bool any() const { return broadcast != 0 || multicast != 0 || unknown != 0; }
  bool operator==(const StormLimits&) const = default;
};

// Port security: the source addresses frames from the port may carry.
struct SourceGuard {
  uint32_t max_macs = 0;      // the most FDB entries the port may hold; 0 is no limit
  std::vector<MacAddr> macs;  // only these (pinned to the port in its untagged VLAN); empty: any
  bool sticky = false;        // what the port learns stays, static: the first max_macs lock it
  bool any() const { return max_macs != 0 || !macs.empty() || sticky; }
  bool operator==(const SourceGuard&) const = default;
  std::optional<std::string> validate() const;
};

struct PortSettings {
  std::string name;
  Role role = Role::vm;
  VlanConfig vlan;
  uint32_t mtu = kDefaultMtu;
  StormLimits storm;
  SourceGuard security;
};

class Port {
 public:
  explicit Port(PortSettings settings) : settings_(std::move(settings)) {}
  virtual ~Port() = default;
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  // Non-blocking; returns 0 when idle. The mbufs become the caller's.
  virtual uint16_t receive(rte_mbuf** burst, uint16_t max) = 0;
  // Takes all n frames and returns how many it delivered, which must be the first ones of the
  // burst. The frames it could not deliver it frees and counts itself, by reason (tx_full when
  // the transport is full, tx_error when it failed), since only the plug knows which it was.
  virtual uint16_t transmit(rte_mbuf** burst, uint16_t n) = 0;

  // A file descriptor that becomes readable when receive() has work; -1 means the port can only
  // be polled.
  virtual int wait_fd() const { return -1; }
  // Whether receive() must be called every round. A port whose wait_fd() tells readiness at
  // all times (a socket) is called only when it is ready; one whose wait fd works only while
  // armed (a NIC's rx interrupt) is polled while the engine is awake.
  virtual bool polled() const { return wait_fd() < 0; }
  // Called before the engine sleeps on wait_fd() and after it wakes; a port whose wake-up needs
  // arming (DPDK rx interrupts) does it here.
  virtual void arm_wakeup() {}
  virtual void disarm_wakeup() {}

  // The plug's name ("dpdk", "vde"...) and its own details for `port show`.
  virtual std::string_view kind() const = 0;
  virtual std::vector<std::pair<std::string, std::string>> details() const { return {}; }
  // Why this plug cannot serve with these settings, if it cannot (a DHCP server taking any role
  // but service); asked before every change of settings, so `port set` cannot undo a promise
  // the plug keeps.
  virtual std::optional<std::string> refuses(const PortSettings&) const { return std::nullopt; }
  // The MAC addresses of an endpoint the plug itself is or made (a NAT, a DHCP server, the
  // host's tap), which the segment pins to the port in its FDB: no other port's frames can move
  // them there, so a guest claiming the gateway's address does not take the gateway's traffic.
  virtual std::vector<MacAddr> own_macs() const { return {}; }

  // A plug whose transport is gone for good says so here; the engine then hands the port back
  // to whoever attached it.
  bool closed() const { return closed_; }
  const std::string& close_reason() const { return close_reason_; }

  const PortSettings& settings() const { return settings_; }
  const std::string& name() const { return settings_.name; }
  PortCounters& counters() { return counters_; }
  const PortCounters& counters() const { return counters_; }

 protected:
  void mark_closed(std::string reason) {
    closed_ = true;
    close_reason_ = std::move(reason);
  }

 private:
  friend class Segment;  // the segment owns changes of settings, which touch its tables
  PortSettings settings_;
  PortCounters counters_;
  bool closed_ = false;
  std::string close_reason_;
};

}  // namespace vswitch
