#include "vswitch/policy.hpp"

#include "vswitch/error.hpp"

namespace vswitch {

namespace {
// The roles a bridged segment lets talk freely to each other: all but the segment's own services,
// which the preset opens to the guests alone, below.
constexpr Role kForwardingRoles[] = {Role::vm, Role::host, Role::uplink, Role::nat};
}  // namespace

std::string_view to_string(PolicyMode m) {
  switch (m) {
    case PolicyMode::bridged:
      return "bridged";
    case PolicyMode::host_only:
      return "host-only";
    case PolicyMode::internal:
      return "internal";
    case PolicyMode::nat:
      return "nat";
    case PolicyMode::matrix:
      return "matrix";
  }
  return "?";
}

RoleMatrix RoleMatrix::preset(PolicyMode m) {
  RoleMatrix x;
  switch (m) {
    case PolicyMode::bridged:
      for (Role a : kForwardingRoles) {
        for (Role b : kForwardingRoles)
          x.allow(a, b);
      }
      break;
    case PolicyMode::host_only:
      x.allow(Role::vm, Role::vm);
      x.allow(Role::vm, Role::host);
      break;
    case PolicyMode::internal:
      x.allow(Role::vm, Role::vm);
      break;
    case PolicyMode::nat:
      x.allow(Role::vm, Role::nat);
      break;
    case PolicyMode::matrix:
      return x;
  }
  // Every mode's guests reach the segment's own services, and nothing else does.
  x.allow(Role::vm, Role::service);
  return x;
}

std::optional<std::string> RoleMatrix::forbidden(Role a, Role b) {
  if ((a == Role::service && b == Role::uplink) || (a == Role::uplink && b == Role::service)) {
    return "a service port never exchanges frames with an uplink: the segment's DHCP server "
           "must not answer on the LAN";
  }
  return std::nullopt;
}

RoleMatrix RoleMatrix::parse(std::string_view text) {
  RoleMatrix x;
  if (text.empty()) throw ConfigError("policy: no role pairs (use pairs like vm-vm+vm-host)");
  while (!text.empty()) {
    const size_t cut = text.find_first_of("+:,");
    const std::string_view pair = text.substr(0, cut);
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
    const size_t dash = pair.find('-');
    if (dash == std::string_view::npos) {
      throw ConfigError("policy: '" + std::string(pair) +
                        "' is not a pair of roles (use pairs like vm-vm+vm-host)");
    }
    Role ends[2];
    const std::string_view names[2] = {pair.substr(0, dash), pair.substr(dash + 1)};
    for (int i = 0; i < 2; ++i) {
      auto r = parse_role(names[i]);
      if (!r) {
        throw ConfigError("policy: unknown role '" + std::string(names[i]) + "' in '" +
                          std::string(pair) + "' (roles: " + role_names() + ")");
      }
      ends[i] = *r;
    }
    if (auto why = forbidden(ends[0], ends[1])) {
      throw ConfigError("policy: " + std::string(pair) + " is refused: " + *why);
    }
    x.allow(ends[0], ends[1]);
  }
  return x;
}

std::string RoleMatrix::str() const {
  std::string s;
  for (size_t i = 0; i < kRoleCount; ++i) {
    for (size_t j = i; j < kRoleCount; ++j) {
      if (!allows(kRoles[i], kRoles[j])) continue;
      if (!s.empty()) s += '+';
      s += std::string(to_string(kRoles[i])) + '-' + std::string(to_string(kRoles[j]));
    }
  }
  return s.empty() ? "none" : s;
}

Policy Policy::parse(std::string_view text) {
  for (PolicyMode m :
       {PolicyMode::bridged, PolicyMode::host_only, PolicyMode::internal, PolicyMode::nat}) {
    if (text == to_string(m)) return Policy{m, RoleMatrix::preset(m)};
  }
  if (text.find('-') == std::string_view::npos) {
    throw ConfigError("policy '" + std::string(text) +
                      "': use bridged, host-only, internal, nat or role pairs like vm-vm+vm-nat");
  }
  return Policy{PolicyMode::matrix, RoleMatrix::parse(text)};
}

std::string Policy::str() const {
  return mode == PolicyMode::matrix ? matrix.str() : std::string(to_string(mode));
}

std::optional<std::string> Policy::refuses(Role r) const {
  if (mode == PolicyMode::host_only && (r == Role::uplink || r == Role::nat)) {
    return "a host-only segment takes no " + std::string(to_string(r)) + " port";
  }
  return std::nullopt;
}

}  // namespace vswitch
