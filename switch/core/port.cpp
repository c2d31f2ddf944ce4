#include "vswitch/port.hpp"

namespace vswitch {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::vm:
      return "vm";
    case Role::host:
      return "host";
    case Role::uplink:
      return "uplink";
    case Role::nat:
      return "nat";
    case Role::service:
      return "service";
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : kRoles) {
    if (text == to_string(r)) return r;
  }
  return std::nullopt;
}

std::string role_names() {
  std::string names;
  for (Role r : kRoles)
    names += (names.empty() ? "" : ", ") + std::string(to_string(r));
  return names;
}

std::string_view to_string(DropReason r) {
  switch (r) {
    case DropReason::runt:
      return "runt";
    case DropReason::oversize:
      return "oversize";
    case DropReason::vlan:
      return "vlan";
    case DropReason::hairpin:
      return "hairpin";
    case DropReason::policy:
      return "policy";
    case DropReason::tx_full:
      return "tx_full";
    case DropReason::tx_error:
      return "tx_error";
    case DropReason::rx_error:
      return "rx_error";
    case DropReason::no_buffer:
      return "no_buffer";
    case DropReason::mirror:
      return "mirror";
    case DropReason::storm:
      return "storm";
    case DropReason::source:
      return "source";
    case DropReason::count:
      break;
  }
  return "?";
}

uint64_t PortCounters::dropped_total() const {
  uint64_t n = 0;
  for (uint64_t d : drops)
    n += d;
  return n;
}

std::optional<std::string> SourceGuard::validate() const {
  for (MacAddr mac : macs) {
    if (mac.bits() & 1) return "macs: " + mac.str() + " is a multicast address";
    if (mac.bits() == 0) return "macs: 00:00:00:00:00:00 is no address";
  }
  if (sticky && max_macs == 0) return "sticky=on needs max-macs=N: how many addresses to keep";
  if (max_macs != 0 && macs.size() > max_macs) {
    return "macs lists " + std::to_string(macs.size()) +
           " addresses, over max-macs=" + std::to_string(max_macs);
  }
  return std::nullopt;
}

}  // namespace vswitch
