// FDB lookup and learning at 1 K, 64 K and 1 M entries, in random order so that the table,
// not the prefetcher, is measured; then lookups of keys shaped like real ones, which a weak hash
// piles onto few slots.
#include <benchmark/benchmark.h>

#include <algorithm>
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

// Real keys are not random: a hypervisor numbers its guests' MACs in sequence under one prefix,
// and a router's one MAC appears in every VLAN of a trunk. Lookups of all of them, in random
// order, in a table with a segment's default limit.
void lookup_all(benchmark::State& state, std::vector<uint64_t> k) {
  Fdb fdb(65536);
  for (size_t i = 0; i < k.size(); ++i)
    fdb.learn(k[i], static_cast<uint16_t>(i & 31), 0, 0);
  std::shuffle(k.begin(), k.end(), std::mt19937_64(2));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.lookup(k[i]));
    if (++i == k.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_FdbLookupHitNumberedMacs(benchmark::State& state) {
  std::vector<uint64_t> k;
  for (uint32_t n = 0; n < 1024; ++n) {
    const uint8_t b[8] = {
        0x52, 0x54, 0x00, 0x00, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    k.push_back(Fdb::key(load_mac48(b), 0));
  }
  lookup_all(state, std::move(k));
}
BENCHMARK(BM_FdbLookupHitNumberedMacs);

void BM_FdbLookupHitOneMacEveryVlan(benchmark::State& state) {
  const uint8_t b[8] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  std::vector<uint64_t> k;
  for (uint16_t vlan = 1; vlan <= kVlanMax; ++vlan)
    k.push_back(Fdb::key(load_mac48(b), vlan));
  lookup_all(state, std::move(k));
}
BENCHMARK(BM_FdbLookupHitOneMacEveryVlan);

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

// A new address into a full table: learning plus a fair eviction, as under a MAC flood; the
// table held by 8 ports, or by a thousand (where finding the port holding the most costs).
void BM_FdbLearnNewWhenFull(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const auto ports = static_cast<uint16_t>(state.range(1));
  Fdb fdb(static_cast<uint32_t>(n));
  fdb.reserve_ports(ports + 1u);
  const auto k = keys(n, 1);
  for (size_t i = 0; i < n; ++i)
    fdb.learn(k[i], static_cast<uint16_t>(i % ports), 0, 0);
  const auto fresh = keys(1 << 20, 5);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fdb.learn(fresh[i], ports, 0, 0));
    if (++i == fresh.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FdbLearnNewWhenFull)->ArgsProduct({{1 << 10, 1 << 16, 1 << 20}, {8, 1000}});

}  // namespace
}  // namespace vswitch
