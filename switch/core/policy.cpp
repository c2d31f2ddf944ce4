#include "vswitch/policy.hpp"

namespace vswitch {

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
      for (Role a : {Role::vm, Role::host, Role::uplink, Role::nat}) {
        for (Role b : {Role::vm, Role::host, Role::uplink, Role::nat})
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
      break;
  }
  return x;
}

std::optional<RoleMatrix> RoleMatrix::parse(std::string_view text) {
  RoleMatrix x;
  if (text.empty()) return std::nullopt;
  while (!text.empty()) {
    const size_t cut = text.find_first_of("+:,");
    const std::string_view pair = text.substr(0, cut);
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
    const size_t dash = pair.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    const auto a = parse_role(pair.substr(0, dash));
    const auto b = parse_role(pair.substr(dash + 1));
    if (!a || !b) return std::nullopt;
    x.allow(*a, *b);
  }
  return x;
}

std::string RoleMatrix::str() const {
  std::string s;
  const Role roles[] = {Role::vm, Role::host, Role::uplink, Role::nat};
  for (size_t i = 0; i < kRoleCount; ++i) {
    for (size_t j = i; j < kRoleCount; ++j) {
      if (!allows(roles[i], roles[j])) continue;
      if (!s.empty()) s += '+';
      s += std::string(to_string(roles[i])) + '-' + std::string(to_string(roles[j]));
    }
  }
  return s.empty() ? "none" : s;
}

std::optional<Policy> Policy::parse(std::string_view text) {
  for (PolicyMode m :
       {PolicyMode::bridged, PolicyMode::host_only, PolicyMode::internal, PolicyMode::nat}) {
    if (text == to_string(m)) return Policy{m, RoleMatrix::preset(m)};
  }
  auto matrix = RoleMatrix::parse(text);
  if (!matrix) return std::nullopt;
  return Policy{PolicyMode::matrix, *matrix};
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
