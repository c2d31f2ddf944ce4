#include "vswitch/fdb.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <bit>
#include <random>
#include <unordered_map>

namespace vswitch {
namespace {

constexpr uint64_t kHoldMs = 1000;

uint64_t key(uint64_t n, uint16_t vlan = 0) {
  return Fdb::key(0x020000000000ull | n, vlan);
}

TEST(Fdb, LearnsAndLooksUpPerVlan) {
  Fdb fdb(64);
  EXPECT_EQ(fdb.lookup(key(1)), kNoPort);
  EXPECT_EQ(fdb.learn(key(1, 10), 3, 0, kHoldMs).what, Fdb::Learned::added);
  EXPECT_EQ(fdb.lookup(key(1, 10)), 3);
  // The same MAC in another VLAN is another entry.
  EXPECT_EQ(fdb.lookup(key(1, 20)), kNoPort);
  EXPECT_EQ(fdb.learn(key(1, 20), 4, 0, kHoldMs).what, Fdb::Learned::added);
  EXPECT_EQ(fdb.lookup(key(1, 10)), 3);
  EXPECT_EQ(fdb.lookup(key(1, 20)), 4);
  EXPECT_EQ(fdb.size(), 2u);
  EXPECT_EQ(fdb.counters().learned, 2u);
}

TEST(Fdb, CountsMovesAndReportsTheOldPort) {
  Fdb fdb(64);
  fdb.learn(key(1), 1, 0, kHoldMs);
  EXPECT_EQ(fdb.learn(key(1), 1, 10, kHoldMs).what, Fdb::Learned::refreshed);
  const auto r = fdb.learn(key(1), 2, 5000, kHoldMs);
  EXPECT_EQ(r.what, Fdb::Learned::moved);
  EXPECT_EQ(r.old_port, 1);
  EXPECT_FALSE(r.flapping);
  EXPECT_EQ(fdb.lookup(key(1)), 2);
  EXPECT_EQ(fdb.counters().moved, 1u);
  EXPECT_EQ(fdb.dynamic_entries_of(1), 0u);
  EXPECT_EQ(fdb.dynamic_entries_of(2), 1u);
}

TEST(Fdb, ReportsFlappingOnlyInsideTheHoldDownTime) {
  Fdb fdb(64);
  fdb.learn(key(1), 1, 0, kHoldMs);
  EXPECT_FALSE(fdb.learn(key(1), 2, 2000, kHoldMs).flapping);
  EXPECT_TRUE(fdb.learn(key(1), 1, 2300, kHoldMs).flapping);
  EXPECT_TRUE(fdb.learn(key(1), 2, 2600, kHoldMs).flapping);
  EXPECT_FALSE(fdb.learn(key(1), 1, 4000, kHoldMs).flapping);
}

TEST(Fdb, AgesOutOnlyIdleDynamicEntries) {
  Fdb fdb(64);
  fdb.learn(key(1), 1, 0, kHoldMs);
  fdb.learn(key(2), 1, 0, kHoldMs);
  ASSERT_TRUE(fdb.add_static(key(3), 1));
  fdb.learn(key(2), 1, 250'000, kHoldMs);  // seen again: stays
  EXPECT_EQ(fdb.age(299'000, 300), 0u);
  EXPECT_EQ(fdb.age(300'000, 300), 1u);
  EXPECT_EQ(fdb.lookup(key(1)), kNoPort);
  EXPECT_EQ(fdb.lookup(key(2)), 1);
  EXPECT_EQ(fdb.lookup(key(3)), 1);
  EXPECT_EQ(fdb.age(10'000'000, 300), 1u);
  EXPECT_EQ(fdb.lookup(key(3)), 1);  // static entries never age
  EXPECT_EQ(fdb.counters().aged, 2u);
}

TEST(Fdb, StaticEntriesDoNotMove) {
  Fdb fdb(64);
  ASSERT_TRUE(fdb.add_static(key(1), 5));
  EXPECT_EQ(fdb.learn(key(1), 6, 0, kHoldMs).what, Fdb::Learned::kept_static);
  EXPECT_EQ(fdb.lookup(key(1)), 5);
  auto e = fdb.find(key(1), 0);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->is_static);
}

TEST(Fdb, FlushPortRemovesThatPortsEntriesOnly) {
  Fdb fdb(256);
  for (uint64_t i = 0; i < 50; ++i)
    fdb.learn(key(i), static_cast<uint16_t>(i % 3), 0, kHoldMs);
  ASSERT_TRUE(fdb.add_static(key(100), 1));
  EXPECT_EQ(fdb.flush_port(1), 18u);  // 17 learned + 1 static
  for (uint64_t i = 0; i < 50; ++i) {
    EXPECT_EQ(fdb.lookup(key(i)), i % 3 == 1 ? kNoPort : static_cast<uint16_t>(i % 3)) << i;
  }
  EXPECT_EQ(fdb.lookup(key(100)), kNoPort);
}

TEST(Fdb, FullTableEvictsFromThePortHoldingTheMost) {
  Fdb fdb(100);
  for (uint64_t i = 0; i < 10; ++i)
    fdb.learn(key(i), 1, 0, kHoldMs);
  // Port 2 floods source addresses: it may only push out its own entries.
  for (uint64_t i = 1000; i < 5000; ++i)
    fdb.learn(key(i), 2, i, kHoldMs);
  EXPECT_EQ(fdb.size(), 100u);
  for (uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ(fdb.lookup(key(i)), 1) << i;
  EXPECT_EQ(fdb.dynamic_entries_of(2), 90u);
  // What it keeps are its newest addresses.
  EXPECT_EQ(fdb.lookup(key(4999)), 2);
  EXPECT_EQ(fdb.lookup(key(1000)), kNoPort);
  EXPECT_EQ(fdb.counters().evicted, 3910u);
}

TEST(Fdb, EvictionTakesTheLeastRecentlySeenEntryOfThatPort) {
  Fdb fdb(4);
  fdb.learn(key(1), 1, 0, kHoldMs);
  fdb.learn(key(2), 1, 1000, kHoldMs);
  fdb.learn(key(3), 1, 2000, kHoldMs);
  fdb.learn(key(4), 1, 3000, kHoldMs);
  fdb.learn(key(1), 1, 4000, kHoldMs);  // refreshed: now the newest
  fdb.learn(key(5), 1, 5000, kHoldMs);
  EXPECT_EQ(fdb.lookup(key(1)), 1);
  EXPECT_EQ(fdb.lookup(key(2)), kNoPort);
}

TEST(Fdb, RefusesWhenFullOfStaticEntries) {
  Fdb fdb(2);
  ASSERT_TRUE(fdb.add_static(key(1), 1));
  ASSERT_TRUE(fdb.add_static(key(2), 1));
  EXPECT_EQ(fdb.learn(key(3), 2, 0, kHoldMs).what, Fdb::Learned::refused);
  EXPECT_FALSE(fdb.add_static(key(4), 1));
  EXPECT_EQ(fdb.counters().refused, 1u);
}

TEST(Fdb, PortLimitRefusesNewAndMovingEntriesPastIt) {
  Fdb fdb(64);
  fdb.set_port_limit(1, {2, false});
  EXPECT_EQ(fdb.learn(key(1), 1, 0, kHoldMs).what, Fdb::Learned::added);
  EXPECT_EQ(fdb.learn(key(2), 1, 0, kHoldMs).what, Fdb::Learned::added);
  EXPECT_EQ(fdb.learn(key(3), 1, 0, kHoldMs).what, Fdb::Learned::over_limit);
  // Known addresses are still refreshed at the limit, on the port's own probe.
  EXPECT_EQ(fdb.learn(key(1), 1, 5000, kHoldMs).what, Fdb::Learned::refreshed);
  fdb.learn(key(9), 2, 0, kHoldMs);
  const auto r = fdb.learn(key(9), 1, 5000, kHoldMs);
  EXPECT_EQ(r.what, Fdb::Learned::over_limit);
  EXPECT_EQ(r.old_port, 2);
  EXPECT_EQ(fdb.lookup(key(9)), 2) << "a refused move leaves the entry where it was";
  bool evicts = false;
  EXPECT_EQ(fdb.predict(key(3), 1, 0, kHoldMs, &evicts).what, Fdb::Learned::over_limit);
  EXPECT_EQ(fdb.predict(key(1), 1, 0, kHoldMs, &evicts).what, Fdb::Learned::refreshed);
  EXPECT_EQ(fdb.size(), 3u);
  EXPECT_EQ(fdb.counters().learned, 3u);
}

TEST(Fdb, StickyPortLearnsStaticEntries) {
  Fdb fdb(64);
  fdb.set_port_limit(1, {2, true});
  fdb.learn(key(9), 2, 0, kHoldMs);
  EXPECT_EQ(fdb.learn(key(1), 1, 0, kHoldMs).what, Fdb::Learned::added);
  EXPECT_EQ(fdb.learn(key(9), 1, 0, kHoldMs).what, Fdb::Learned::moved);
  EXPECT_TRUE(fdb.find(key(1), 0)->is_static);
  EXPECT_TRUE(fdb.find(key(9), 0)->is_static);
  EXPECT_EQ(fdb.dynamic_entries_of(2), 0u);
  EXPECT_EQ(fdb.entries_of(1), 2u);
  // Static now: they neither age nor move back.
  EXPECT_EQ(fdb.age(1000000, 300), 0u);
  EXPECT_EQ(fdb.learn(key(9), 2, 0, kHoldMs).what, Fdb::Learned::kept_static);
  EXPECT_EQ(fdb.learn(key(3), 1, 0, kHoldMs).what, Fdb::Learned::over_limit);
  EXPECT_EQ(fdb.flush_port(1), 2u);
  EXPECT_EQ(fdb.size(), 0u);
  // Lifted, the port learns dynamic entries again, past the old limit.
  fdb.set_port_limit(1, {});
  for (uint64_t n = 1; n <= 3; ++n)
    EXPECT_EQ(fdb.learn(key(n), 1, 0, kHoldMs).what, Fdb::Learned::added);
  EXPECT_FALSE(fdb.find(key(1), 0)->is_static);
}

TEST(Fdb, ShrinkingTheLimitKeepsTheFairShare) {
  Fdb fdb(1000);
  for (uint64_t i = 0; i < 20; ++i)
    fdb.learn(key(i), 1, 0, kHoldMs);
  for (uint64_t i = 100; i < 600; ++i)
    fdb.learn(key(i), 2, i, kHoldMs);
  fdb.set_limit(100);
  EXPECT_EQ(fdb.size(), 100u);
  EXPECT_EQ(fdb.dynamic_entries_of(1), 20u);
  EXPECT_EQ(fdb.lookup(key(599)), 2);
  EXPECT_EQ(fdb.lookup(key(100)), kNoPort);
}

// A limit bounds the table and does not size it: 16 M entries allowed, a few hundred allocated.
TEST(Fdb, AllocatesAsItFillsAndFindsEveryEntryAcrossDoublings) {
  Fdb fdb(1 << 24);
  EXPECT_FALSE(fdb.large());
  ASSERT_TRUE(fdb.add_static(key(0xffffff), 7));
  constexpr uint64_t kN = 100'000;  // from 512 slots to 256 K: nine doublings
  for (uint64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(
        fdb.learn(key(i, static_cast<uint16_t>(i % 4)), static_cast<uint16_t>(i % 5), i, kHoldMs)
            .what,
        Fdb::Learned::added);
    // Every power of two is just past a doubling: all that came before must have moved with it.
    if (std::has_single_bit(i + 1)) {
      for (uint64_t j = 0; j <= i; ++j)
        ASSERT_EQ(fdb.lookup(key(j, static_cast<uint16_t>(j % 4))), j % 5) << j << " of " << i;
    }
  }
  EXPECT_TRUE(fdb.large());
  EXPECT_EQ(fdb.size(), kN + 1);
  EXPECT_EQ(fdb.counters().learned, kN);
  EXPECT_EQ(fdb.counters().evicted, 0u);
  for (uint16_t p = 0; p < 5; ++p)
    EXPECT_EQ(fdb.dynamic_entries_of(p), kN / 5) << p;
  const auto e = fdb.find(key(12345, 1), kN);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 12345 % 5);
  EXPECT_EQ(e->idle_s, 100u - 12u);  // learned at 12.345 s, asked at 100 s
  const auto fixed = fdb.find(key(0xffffff), kN);
  ASSERT_TRUE(fixed);
  EXPECT_TRUE(fixed->is_static);
  EXPECT_EQ(fixed->port, 7);
  size_t seen = 0;
  fdb.for_each(kN, [&](const Fdb::Entry& en) {
    ++seen;
    EXPECT_EQ(fdb.lookup(Fdb::key(en.mac.bits(), en.vlan)), en.port);
  });
  EXPECT_EQ(seen, kN + 1);
  EXPECT_EQ(fdb.flush_all(), kN + 1);
  EXPECT_FALSE(fdb.large()) << "a flushed table gives its memory back";
  EXPECT_EQ(fdb.lookup(key(1, 1)), kNoPort);
}

// The order each port's list was in before a doubling is the order eviction follows after it.
TEST(Fdb, EvictionFollowsTheLruOrderSetBeforeTheTableGrew) {
  Fdb fdb(3000);
  for (uint64_t i = 0; i < 10; ++i)
    fdb.learn(key(i), 1, 0, kHoldMs);
  for (uint64_t i = 1000; i < 1500; ++i)
    fdb.learn(key(i), 2, 0, kHoldMs);
  fdb.learn(key(1000), 2, 5000, kHoldMs);  // refreshed: now port 2's newest
  // 2989 more grow the table twice on the way to the limit, then evict 499 of port 2's.
  for (uint64_t i = 1500; i < 4489; ++i)
    fdb.learn(key(i), 2, 6000, kHoldMs);
  EXPECT_EQ(fdb.size(), 3000u);
  EXPECT_EQ(fdb.counters().evicted, 499u);
  for (uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ(fdb.lookup(key(i)), 1) << i;
  for (uint64_t i = 1001; i < 1500; ++i)
    EXPECT_EQ(fdb.lookup(key(i)), kNoPort) << i;
  EXPECT_EQ(fdb.lookup(key(1000)), 2);
  EXPECT_EQ(fdb.lookup(key(1500)), 2);
  fdb.learn(key(9000), 2, 7000, kHoldMs);
  EXPECT_EQ(fdb.lookup(key(1000)), kNoPort);
  EXPECT_EQ(fdb.lookup(key(1500)), 2);
}

TEST(Fdb, AgesAndKeepsStaticEntriesAcrossGrowth) {
  Fdb fdb(1 << 20);
  for (uint64_t i = 0; i < 100; ++i)
    fdb.learn(key(i), 1, 0, kHoldMs);
  ASSERT_TRUE(fdb.add_static(key(500), 1));
  for (uint64_t i = 1000; i < 11000; ++i)  // grows from 512 slots to 32 K
    fdb.learn(key(i), 2, 200'000, kHoldMs);
  for (uint64_t i = 0; i < 100; i += 2)
    fdb.learn(key(i), 1, 250'000, kHoldMs);
  EXPECT_EQ(fdb.learn(key(500), 3, 250'000, kHoldMs).what, Fdb::Learned::kept_static);
  EXPECT_EQ(fdb.age(300'000, 300), 50u);
  for (uint64_t i = 0; i < 100; ++i)
    EXPECT_EQ(fdb.lookup(key(i)), i % 2 == 0 ? 1 : kNoPort) << i;
  EXPECT_EQ(fdb.dynamic_entries_of(2), 10'000u);
  EXPECT_EQ(fdb.age(500'000, 300), 10'000u);
  EXPECT_EQ(fdb.age(550'000, 300), 50u);
  EXPECT_EQ(fdb.size(), 1u);
  EXPECT_EQ(fdb.lookup(key(500)), 1);
  EXPECT_EQ(fdb.counters().aged, 10'100u);
}

TEST(Fdb, LimitCanBeRaisedAndLoweredWhilePartlyFull) {
  Fdb fdb(1000);
  for (uint64_t i = 0; i < 100; ++i)
    fdb.learn(key(i), 1, 0, kHoldMs);
  for (uint64_t i = 1000; i < 1200; ++i)
    fdb.learn(key(i), 2, 0, kHoldMs);
  ASSERT_TRUE(fdb.add_static(key(5000), 3));
  fdb.set_limit(1 << 24);
  EXPECT_EQ(fdb.limit(), 1u << 24);
  EXPECT_EQ(fdb.size(), 301u);
  EXPECT_FALSE(fdb.large()) << "a raised limit must not preallocate";
  for (uint64_t i = 0; i < 100; ++i)
    ASSERT_EQ(fdb.lookup(key(i)), 1) << i;
  for (uint64_t i = 1000; i < 1200; ++i)
    ASSERT_EQ(fdb.lookup(key(i)), 2) << i;
  for (uint64_t i = 10'000; i < 30'000; ++i)
    fdb.learn(key(i), 4, 1000, kHoldMs);
  EXPECT_EQ(fdb.size(), 20'301u);
  EXPECT_EQ(fdb.counters().evicted, 0u);

  // Lowered below what it holds: port 4, holding the most, gives up its oldest entries.
  fdb.set_limit(1000);
  EXPECT_EQ(fdb.size(), 1000u);
  EXPECT_EQ(fdb.dynamic_entries_of(1), 100u);
  EXPECT_EQ(fdb.dynamic_entries_of(2), 200u);
  EXPECT_EQ(fdb.dynamic_entries_of(4), 699u);
  EXPECT_EQ(fdb.lookup(key(5000)), 3);
  EXPECT_EQ(fdb.lookup(key(29'999)), 4);
  EXPECT_EQ(fdb.lookup(key(10'000)), kNoPort);
  EXPECT_EQ(fdb.counters().evicted, 19'301u);
  EXPECT_EQ(fdb.learn(key(40'000), 1, 2000, kHoldMs).what, Fdb::Learned::added);
  EXPECT_EQ(fdb.size(), 1000u);
  EXPECT_EQ(fdb.dynamic_entries_of(4), 698u);

  // Raised again: room to learn without evicting.
  fdb.set_limit(1 << 24);
  for (uint64_t i = 50'000; i < 52'000; ++i)
    fdb.learn(key(i), 5, 3000, kHoldMs);
  EXPECT_EQ(fdb.size(), 3000u);
  EXPECT_EQ(fdb.counters().evicted, 19'302u);
  EXPECT_EQ(fdb.lookup(key(40'000)), 1);
}

TEST(Fdb, LimitBelowTheStaticEntriesKeepsTheFirstPortsOnes) {
  Fdb fdb(100);
  for (uint64_t i = 0; i < 10; ++i)
    fdb.learn(key(i), 1, 0, kHoldMs);
  ASSERT_TRUE(fdb.add_static(key(100), 2));
  ASSERT_TRUE(fdb.add_static(key(101), 3));
  ASSERT_TRUE(fdb.add_static(key(102), 3));
  fdb.set_limit(2);
  EXPECT_EQ(fdb.size(), 2u);
  EXPECT_EQ(fdb.dynamic_entries_of(1), 0u);
  EXPECT_EQ(fdb.counters().evicted, 10u);
  EXPECT_EQ(fdb.lookup(key(100)), 2);
  EXPECT_EQ(fdb.lookup(key(101)), 3);
  EXPECT_EQ(fdb.lookup(key(102)), kNoPort);
  EXPECT_EQ(fdb.learn(key(5), 1, 0, kHoldMs).what, Fdb::Learned::refused);
}

// Random operations against a reference map: deletions shift entries in the table and relink
// them in their ports' lists; any slip shows up as a wrong lookup or a count that drifts.
TEST(Fdb, MatchesAReferenceModelUnderChurn) {
  Fdb fdb(512, 42);
  std::unordered_map<uint64_t, uint16_t> model;
  std::mt19937_64 rng(7);
  uint64_t now = 0;
  for (int step = 0; step < 200000; ++step) {
    const uint64_t k = key(rng() % 700, static_cast<uint16_t>(rng() % 3));
    const auto port = static_cast<uint16_t>(rng() % 5);
    const int op = static_cast<int>(rng() % 100);
    if (op < 80) {
      if (model.size() < 512 || model.count(k)) {
        fdb.learn(k, port, now, 0);
        model[k] = port;
      }
    } else if (op < 97) {
      EXPECT_EQ(fdb.remove(k), model.erase(k) == 1);
    } else if (op < 99) {
      fdb.flush_port(port);
      std::erase_if(model, [&](auto& e) { return e.second == port; });
    } else {
      const uint64_t probe = key(rng() % 700, static_cast<uint16_t>(rng() % 3));
      const auto it = model.find(probe);
      EXPECT_EQ(fdb.lookup(probe), it == model.end() ? kNoPort : it->second);
    }
    now += 1;
    ASSERT_EQ(fdb.size(), model.size()) << "step " << step;
  }
  for (auto& [k, p] : model)
    ASSERT_EQ(fdb.lookup(k), p);
  size_t per_port = 0;
  for (uint16_t p = 0; p < 5; ++p)
    per_port += fdb.dynamic_entries_of(p);
  EXPECT_EQ(per_port, model.size());
}

// The heap of ports by their entries must name a port holding the most after any mix of
// learning, moves, removals, flushes and ageing: checked against a count of every port.
TEST(Fdb, EvictsFromAPortHoldingTheMostThroughChurn) {
  constexpr uint16_t kPorts = 40;
  Fdb fdb(300, 3);
  fdb.reserve_ports(kPorts);
  std::mt19937_64 rng(11);
  uint64_t now = 0;
  for (int step = 0; step < 50000; ++step) {
    const int op = static_cast<int>(rng() % 100);
    // Skewed: low-numbered ports learn more, so the most-holding port keeps changing.
    const auto port = static_cast<uint16_t>(std::min<uint64_t>(rng() % kPorts, rng() % kPorts));
    const uint64_t k = key(rng() % 2000);
    if (op < 95) {
      std::vector<size_t> before(kPorts);
      for (uint16_t p = 0; p < kPorts; ++p)
        before[p] = fdb.dynamic_entries_of(p);
      const uint64_t evicted = fdb.counters().evicted;
      fdb.learn(k, port, now, 0);
      if (fdb.counters().evicted != evicted) {
        const size_t most = *std::max_element(before.begin(), before.end());
        size_t losers = 0;
        for (uint16_t p = 0; p < kPorts; ++p) {
          const size_t gained = p == port ? 1 : 0;
          if (fdb.dynamic_entries_of(p) + 1 == before[p] + gained) {
            ++losers;
            EXPECT_EQ(before[p], most) << "step " << step << ": evicted from port " << p;
          }
        }
        EXPECT_EQ(losers, 1u) << "step " << step;
      }
    } else if (op < 98) {
      fdb.remove(k);
    } else if (op < 99 && step % 7 == 0) {
      fdb.flush_port(port);
    } else {
      fdb.age(now, 600);
    }
    now += 100;
  }
  EXPECT_GT(fdb.counters().evicted, 1000u) << "the test did not evict";
}

TEST(Fdb, HoldsAMillionEntries) {
  constexpr uint32_t kN = 1 << 20;
  Fdb fdb(kN);
  for (uint64_t i = 0; i < kN; ++i)
    fdb.learn(Fdb::key(i * 2, 0), static_cast<uint16_t>(i & 63), 0, 0);
  EXPECT_EQ(fdb.size(), kN);
  EXPECT_EQ(fdb.counters().evicted, 0u);
  for (uint64_t i = 0; i < kN; i += 997) {
    ASSERT_EQ(fdb.lookup(Fdb::key(i * 2, 0)), i & 63);
    ASSERT_EQ(fdb.lookup(Fdb::key(i * 2 + 1, 0)), kNoPort);
  }
}

}  // namespace
}  // namespace vswitch
