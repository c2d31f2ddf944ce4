// A segment of memory ports, frame by frame: the fixture of the segment's unit tests.
#pragma once

#include <gtest/gtest.h>
#include <rte_mempool.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eal.hpp"
#include "frames.hpp"
#include "memory_port.hpp"
#include "vswitch/segment.hpp"

namespace vswitch {

inline VlanConfig access(uint16_t tag) {
  VlanConfig c;
  c.mode = VlanMode::access;
  c.tag = tag;
  return c;
}
inline VlanConfig trunk(const char* list = "") {
  VlanConfig c;
  c.trunks = *VlanSet::parse(list);
  return c;
}
inline VlanConfig native(VlanMode mode, uint16_t tag, const char* list = "") {
  VlanConfig c = trunk(list);
  c.mode = mode;
  c.tag = tag;
  return c;
}

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = test::test_pool();
    ASSERT_NE(pool_, nullptr) << "EAL did not start";
    available_ = rte_mempool_avail_count(pool_);
    make({});
  }
  void TearDown() override {
    seg_.reset();
    // Every mbuf the switch took, it freed or handed to a port that freed it.
    EXPECT_EQ(rte_mempool_avail_count(pool_), available_) << "mbufs leaked";
  }

  void make(SegmentSettings s) {
    ports_.clear();
    seg_ = std::make_unique<Segment>(std::move(s));
  }

  test::MemoryPort& add(const std::string& name, VlanConfig vlan = {}, Role role = Role::vm,
                        uint32_t mtu = kDefaultMtu, std::vector<MacAddr> own_macs = {}) {
    PortSettings s;
    s.name = name;
    s.vlan = vlan;
    s.role = role;
    s.mtu = mtu;
    return add(std::move(s), std::move(own_macs));
  }
  test::MemoryPort& add(PortSettings s, std::vector<MacAddr> own_macs = {}) {
    auto p = std::make_unique<test::MemoryPort>(s, pool_);
    p->macs = std::move(own_macs);
    test::MemoryPort* raw = p.get();
    ports_[raw] = seg_->attach(std::move(p));
    return *raw;
  }

  void send(test::MemoryPort& from, const test::Bytes& f) {
    from.inject(f);
    rte_mbuf* burst[kBurst];
    const uint16_t n = from.receive(burst, kBurst);
    seg_->process(ports_.at(&from), burst, n, now_ms_);
    seg_->flush();
  }

  void clear_sent() {
    for (auto& [p, id] : ports_)
      p->sent.clear();
  }

  rte_mempool* pool_ = nullptr;
  unsigned available_ = 0;
  std::unique_ptr<Segment> seg_;
  std::map<test::MemoryPort*, uint16_t> ports_;
  uint64_t now_ms_ = 1000;
};

}  // namespace vswitch
