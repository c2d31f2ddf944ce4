#include "vswitch/policy.hpp"

#include <gtest/gtest.h>

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

TEST(Policy, ParsesExplicitPairsSymmetrically) {
  auto p = Policy::parse("vm-vm+vm-nat");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->mode, PolicyMode::matrix);
  EXPECT_TRUE(p->matrix.allows(Role::nat, Role::vm));
  EXPECT_TRUE(p->matrix.allows(Role::vm, Role::vm));
  EXPECT_FALSE(p->matrix.allows(Role::vm, Role::host));
  EXPECT_EQ(p->str(), "vm-vm+vm-nat");
  EXPECT_FALSE(Policy::parse("vm-router"));
  EXPECT_FALSE(Policy::parse("vm"));
  EXPECT_EQ(Policy::parse("host-only")->mode, PolicyMode::host_only);
}

TEST(Policy, HostOnlyRefusesUplinkAndNatPorts) {
  const Policy ho = *Policy::parse("host-only");
  EXPECT_TRUE(ho.refuses(Role::uplink));
  EXPECT_TRUE(ho.refuses(Role::nat));
  EXPECT_FALSE(ho.refuses(Role::host));
  EXPECT_FALSE(Policy{}.refuses(Role::uplink));
}

}  // namespace
}  // namespace vswitch
