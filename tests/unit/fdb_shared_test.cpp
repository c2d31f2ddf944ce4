// An FDB shared by several threads (Fdb::share()): readers that look up while others learn,
// move and remove entries, with real threads. A lookup may miss while its entry is being
// changed, never return another entry's port; learners on two threads lose nothing. Run under
// ThreadSanitizer (scripts/test.sh --tsan) these also show that every access is ordered.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "vswitch/fdb.hpp"

namespace vswitch {
namespace {

constexpr uint32_t kHoldMs = 1000;

uint64_t key(uint64_t n) {
  return Fdb::key(0x020000000000ull | n, 0);
}

// The two ports key n may be on.
uint16_t home_port(uint64_t n) {
  return static_cast<uint16_t>(1 + n % 5);
}
uint16_t away_port(uint64_t n) {
  return static_cast<uint16_t>(6 + n % 5);
}

TEST(FdbShared, ALookupMissesOrFindsTheRightPortWhileEntriesMoveAndGo) {
  constexpr uint64_t kKeys = 1500;  // in a 4 K-slot table: runs long enough to shift
  Fdb fdb(2048, /*seed=*/7);
  fdb.share();
  for (uint64_t n = 0; n < kKeys; ++n)
    fdb.learn(key(n), home_port(n), 0, kHoldMs);

  std::atomic<bool> done{false};
  std::atomic<uint64_t> wrong{0};
  std::atomic<uint64_t> hits{0};
  auto reader = [&] {
    while (!done.load(std::memory_order_relaxed)) {
      for (uint64_t n = 0; n < kKeys; ++n) {
        const uint16_t p = fdb.lookup(key(n));
        if (p == kNoPort) continue;
        hits.fetch_add(1, std::memory_order_relaxed);
        if (p != home_port(n) && p != away_port(n)) wrong.fetch_add(1, std::memory_order_relaxed);
      }
      // A key never learned is never found.
      if (fdb.lookup(key(kKeys + 1)) != kNoPort) wrong.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  // The writer removes entries (each removal shifts the rest of its run back), adds them again
  // and moves others between their two ports.
  std::mt19937_64 rng(1);
  uint64_t now_ms = 0;
  for (int op = 0; op < 300000; ++op) {
    const uint64_t n = rng() % kKeys;
    switch (op % 3) {
      case 0:
        fdb.remove(key(n));
        break;
      case 1:
        fdb.learn(key(n), home_port(n), now_ms, kHoldMs);
        break;
      default:
        fdb.learn(key(n), (op / 3) % 2 ? home_port(n) : away_port(n), now_ms, kHoldMs);
        break;
    }
    now_ms += 7;
  }
  done.store(true);
  r1.join();
  r2.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(hits.load(), 0u) << "the readers found nothing: they did not run alongside";
}

TEST(FdbShared, TwoLearnersLoseNothing) {
  constexpr uint64_t kPerThread = 20000;
  Fdb fdb(2 * kPerThread, /*seed=*/3);
  fdb.share();
  auto learner = [&](uint64_t first, uint16_t port) {
    // Each address twice, a second apart, so the refresh (which writes) runs too.
    for (uint64_t now_ms : {uint64_t{1000}, uint64_t{2000}}) {
      for (uint64_t n = first; n < first + kPerThread; ++n) {
        fdb.learn(key(n), port, now_ms, kHoldMs);
        if (fdb.lookup(key(n)) != port) ADD_FAILURE() << "just learned, not found: " << n;
      }
    }
  };
  std::thread a(learner, 0, 1);
  std::thread b(learner, kPerThread, 2);
  a.join();
  b.join();
  EXPECT_EQ(fdb.size(), 2 * kPerThread);
  EXPECT_EQ(fdb.counters().learned, 2 * kPerThread);
  for (uint64_t n = 0; n < 2 * kPerThread; ++n)
    ASSERT_EQ(fdb.lookup(key(n)), n < kPerThread ? 1 : 2) << n;
  size_t idle = 0;
  fdb.for_each(2000, [&](const Fdb::Entry& e) { idle += e.idle_s; });
  EXPECT_EQ(idle, 0u) << "every entry was refreshed at the second second";
}

TEST(FdbShared, AgeingAndFlushesRunBesideLookups) {
  constexpr uint64_t kKeys = 4000;
  Fdb fdb(kKeys, /*seed=*/5);
  fdb.share();
  std::atomic<bool> done{false};
  std::atomic<uint64_t> wrong{0};
  std::thread reader([&] {
    while (!done.load(std::memory_order_relaxed)) {
      for (uint64_t n = 0; n < kKeys; n += 3) {
        const uint16_t p = fdb.lookup(key(n));
        if (p != kNoPort && p != home_port(n)) wrong.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
  for (int round = 0; round < 20; ++round) {
    const uint64_t now_ms = 1000 * static_cast<uint64_t>(round);
    for (uint64_t n = 0; n < kKeys; ++n)
      fdb.learn(key(n), home_port(n), now_ms, kHoldMs);
    fdb.age(now_ms + 5000, 3);  // all idle 5 s: all go
    EXPECT_EQ(fdb.size(), 0u);
    for (uint64_t n = 0; n < kKeys; ++n)
      fdb.learn(key(n), home_port(n), now_ms, kHoldMs);
    fdb.flush_port(home_port(round));
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(wrong.load(), 0u);
}

}  // namespace
}  // namespace vswitch
