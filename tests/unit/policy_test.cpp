#include "vswitch/policy.hpp"

#include <gtest/gtest.h>

#include "vswitch/error.hpp"

namespace vswitch {
namespace {

TEST(Policy, PresetsMatchTheModesTable) {
  const auto b = RoleMatrix::preset(PolicyMode::bridged);
  EXPECT_TRUE(b.allows(Role::vm, Role::uplink));
  EXPECT_TRUE(b.allows(Role::host, Role::nat));
  const auto ho = RoleMatrix::preset(PolicyMode::host_only);
  EXPECT_TRUE(ho.allows(Role::vm, Role::vm));
  EXPECT_TRUE(ho.allows(Role::host, Role::vm));
  EXPECT_FALSE(ho.allows(Role::vm, Role::uplink));
  const auto in = RoleMatrix::preset(PolicyMode::internal);
  EXPECT_TRUE(in.allows(Role::vm, Role::vm));
  EXPECT_FALSE(in.allows(Role::vm, Role::host));
  const auto nat = RoleMatrix::preset(PolicyMode::nat);
  EXPECT_FALSE(nat.allows(Role::vm, Role::vm));
  EXPECT_TRUE(nat.allows(Role::vm, Role::nat));
  EXPECT_TRUE(nat.allows(Role::nat, Role::vm));
  EXPECT_FALSE(nat.allows(Role::host, Role::vm));
}

// The guests of every mode reach the segment's services (its DHCP server), and no other role
// does: not the host, not the NAT, not the LAN, not another service.
TEST(Policy, EveryPresetOpensVmToServiceAndNoOtherServicePair) {
  for (PolicyMode m :
       {PolicyMode::bridged, PolicyMode::host_only, PolicyMode::internal, PolicyMode::nat}) {
    const auto x = RoleMatrix::preset(m);
    SCOPED_TRACE(std::string(to_string(m)));
    EXPECT_TRUE(x.allows(Role::vm, Role::service));
    EXPECT_TRUE(x.allows(Role::service, Role::vm));
    for (Role r : kRoles) {
      if (r == Role::vm) continue;
      EXPECT_FALSE(x.allows(Role::service, r)) << to_string(r);
    }
  }
  EXPECT_FALSE(RoleMatrix::preset(PolicyMode::matrix).admits(Role::service));
}

TEST(Policy, ServiceAndUplinkCanNeverBePaired) {
  try {
    RoleMatrix::parse("vm-vm+service-uplink");
    FAIL() << "service-uplink was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("service-uplink is refused"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Policy::parse("uplink-service"), ConfigError);
  RoleMatrix x;
  x.allow(Role::service, Role::uplink);
  x.allow(Role::uplink, Role::service);
  EXPECT_FALSE(x.allows(Role::service, Role::uplink));
  EXPECT_FALSE(x.allows(Role::uplink, Role::service));
  EXPECT_FALSE(x.admits(Role::service));
  // Every other pair with a service is the user's to open.
  const auto p = Policy::parse("vm-service+host-service");
  EXPECT_TRUE(p.matrix.allows(Role::host, Role::service));
  EXPECT_EQ(p.str(), "vm-service+host-service");
}

TEST(Policy, ParsesExplicitPairsSymmetrically) {
  auto p = Policy::parse("vm-vm+vm-nat");
  EXPECT_EQ(p.mode, PolicyMode::matrix);
  EXPECT_TRUE(p.matrix.allows(Role::nat, Role::vm));
  EXPECT_TRUE(p.matrix.allows(Role::vm, Role::vm));
  EXPECT_FALSE(p.matrix.allows(Role::vm, Role::host));
  EXPECT_EQ(p.str(), "vm-vm+vm-nat");
  EXPECT_EQ(Policy::parse("host-only").mode, PolicyMode::host_only);
}

TEST(Policy, RefusalsNameWhatIsWrong) {
  auto message = [](const char* text) {
    try {
      Policy::parse(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("vm-router").find("unknown role 'router'"), std::string::npos);
  EXPECT_NE(message("vm-router").find("service"), std::string::npos) << "lists the roles";
  EXPECT_NE(message("vm").find("use bridged, host-only"), std::string::npos);
  EXPECT_NE(message("vm-vm+host").find("'host' is not a pair"), std::string::npos);
  EXPECT_NE(message("").find("use bridged"), std::string::npos);
}

TEST(Policy, HostOnlyRefusesUplinkAndNatPorts) {
  const Policy ho = Policy::parse("host-only");
  EXPECT_TRUE(ho.refuses(Role::uplink));
  EXPECT_TRUE(ho.refuses(Role::nat));
  EXPECT_FALSE(ho.refuses(Role::host));
  EXPECT_FALSE(ho.refuses(Role::service));
  EXPECT_FALSE(Policy{}.refuses(Role::uplink));
}

}  // namespace
}  // namespace vswitch
