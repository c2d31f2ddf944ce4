// FDB lookup and learning at 1 K, 64 K and 1 M entries, in random order so that the table,
// not the prefetcher, is measured.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "vswitch/fdb.hpp"

namespace vswitch {
namespace {

std::vector<uint64_t> keys(size_t n, uint64_t salt) {
  std::mt19937_64 rng(salt);
  std::vector<uint64_t> k(n);
  for (auto& x : k)
    x = Fdb::key((rng() & 0xfeffffffffffull) | 0x020000000000ull, rng() % 16);
  return k;
}

// A full table of n addresses spread over 32 ports, and its keys in another order.
std::vector<uint64_t> fill(Fdb& fdb, size_t n) {
  auto k = keys(n, 1);
  for (size_t i = 0; i < n; ++i)
    fdb.learn(k[i], static_cast<uint16_t>(i & 31), 0, 0);
  std::shuffle(k.begin(), k.end(), std::mt19937_64(2));
  return k;
}

void BM_FdbLookupHit(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Fdb fdb(static_cast<uint32_t>(n));
  const auto k = fill(fdb, n);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.lookup(k[i]));
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FdbLookupHit)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

void BM_FdbLookupMiss(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Fdb fdb(static_cast<uint32_t>(n));
  fill(fdb, n);
  const auto absent = keys(n, 3);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.lookup(absent[i]));
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FdbLookupMiss)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// What every frame's source address costs: a known MAC seen again on its port.
void BM_FdbLearnRefresh(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Fdb fdb(static_cast<uint32_t>(n));
  const auto k = fill(fdb, n);
  size_t i = 0;
  uint64_t now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.learn(k[i], static_cast<uint16_t>(i & 31), now, 0));
    if (++i == n) {
      i = 0;
      now += 1000;  // a second later: every entry's age is refreshed once per pass
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FdbLearnRefresh)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

// A new address into a full table: learning plus a fair eviction, as under a MAC flood.
void BM_FdbLearnNewWhenFull(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  Fdb fdb(static_cast<uint32_t>(n));
  const auto k = keys(n, 1);
  for (size_t i = 0; i < n; ++i)
    fdb.learn(k[i], static_cast<uint16_t>(i & 7), 0, 0);
  const auto fresh = keys(1 << 20, 5);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.learn(fresh[i], 9, 0, 0));
    if (++i == fresh.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FdbLearnNewWhenFull)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

}  // namespace
}  // namespace vswitch
