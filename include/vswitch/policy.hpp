// The isolation contract of the networking modes (NAT, bridged, host-only, internal): which
// pairs of port roles may exchange frames in a segment. A symmetric bit matrix over the roles,
// checked for every frame and every copy.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vswitch/port.hpp"

namespace vswitch {

enum class PolicyMode : uint8_t { bridged, host_only, internal, nat, matrix };
std::string_view to_string(PolicyMode m);

class RoleMatrix {
 public:
  static RoleMatrix preset(PolicyMode m);
  // "vm-vm+vm-nat" (also ':' or ',' between pairs); throws ConfigError naming an unknown role,
  // a malformed pair, or a pair no matrix may hold.
  static RoleMatrix parse(std::string_view text);

  // Why no matrix may open this pair, if none may: a service (the DHCP server) and an uplink,
  // so the switch can never answer on someone's LAN, nor hear it.
  static std::optional<std::string> forbidden(Role a, Role b);

  // A forbidden pair stays closed whoever asks.
  void allow(Role a, Role b) {
    if (forbidden(a, b)) return;
    rows_[idx(a)] |= static_cast<uint8_t>(1u << idx(b));
    rows_[idx(b)] |= static_cast<uint8_t>(1u << idx(a));
  }
  bool allows(Role from, Role to) const { return (rows_[idx(from)] >> idx(to)) & 1; }
  // Can a port of this role take part at all (some pair with it is open)?
  bool admits(Role r) const { return rows_[idx(r)] != 0; }
  std::string str() const;  // the allowed pairs, "vm-vm+vm-host"
  friend bool operator==(const RoleMatrix&, const RoleMatrix&) = default;

 private:
  static_assert(kRoleCount <= 8, "a row is one byte");
  static constexpr size_t idx(Role r) { return static_cast<size_t>(r); }
  std::array<uint8_t, kRoleCount> rows_{};
};

struct Policy {
  PolicyMode mode = PolicyMode::bridged;
  RoleMatrix matrix = RoleMatrix::preset(PolicyMode::bridged);

  // "bridged", "host-only", "internal", "nat", or an explicit list of pairs "vm-vm+vm-nat";
  // throws ConfigError saying what is wrong.
  static Policy parse(std::string_view text);
  std::string str() const;
  // Why a port of this role cannot join a segment with this policy (host-only forbids
  // uplink and nat ports), if it cannot.
  std::optional<std::string> refuses(Role r) const;
};

}  // namespace vswitch
