// The burst pipeline of a segment in Mpps for 64-byte frames: learned unicast, flood to four
// ports, hub. Ports recycle their mbufs in a loop (the sink hands them back to the source) so
// that what is measured is the switch, not a packet generator. The *Guarded variants give the
// ingress port storm control and port security with limits no frame reaches, so that what
// they add is the checks alone.
#include <benchmark/benchmark.h>
#include <rte_mbuf.h>

#include <deque>

#include "eal.hpp"
#include "frames.hpp"
#include "vswitch/segment.hpp"

namespace vswitch {
namespace {

using test::Bytes;
using test::mac;

constexpr uint64_t kFar = 1 << 24;  // destination addresses, apart from the sources

// Receives from a fixed set of frames, cycling; transmitted mbufs go back to the set when their
// last reference is released.
// Storm control and port security as a guest's port would have them, with limits far above
// the benchmarks' traffic: a billion frames a second of each kind (no refill is needed while a
// benchmark runs: the bucket holds a tenth of a second's worth), and room for more addresses
// than any benchmark's port holds.
struct Guards {
  StormLimits storm;
  SourceGuard security;
  static Guards none() { return {}; }
  static Guards on() {
    Guards g;
    g.storm = {.broadcast = 1'000'000'000, .multicast = 1'000'000'000, .unknown = 1'000'000'000};
    g.security.max_macs = 4 * 512 * 1024;
    return g;
  }
};

class LoopPort final : public Port {
 public:
  explicit LoopPort(std::string name, VlanConfig vlan = {}, const Guards& guards = {})
      : Port(settings(std::move(name), vlan, guards)) {}

  static PortSettings settings(std::string name, VlanConfig vlan, const Guards& guards) {
    PortSettings s;
    s.name = std::move(name);
    s.vlan = vlan;
    s.storm = guards.storm;
    s.security = guards.security;
    return s;
  }

  void load(const std::vector<Bytes>& frames, rte_mempool* pool, size_t copies) {
    for (size_t c = 0; c < copies; ++c) {
      for (const Bytes& f : frames) {
        rte_mbuf* m = rte_pktmbuf_alloc(pool);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
        ring_.push_back(m);
      }
    }
  }
  ~LoopPort() override {
    for (rte_mbuf* m : ring_)
      rte_pktmbuf_free(m);
  }

  uint16_t receive(rte_mbuf** burst, uint16_t max) override {
    uint16_t n = 0;
    while (n < max && !ring_.empty()) {
      burst[n++] = ring_.front();
      ring_.pop_front();
    }
    return n;
  }

  uint16_t transmit(rte_mbuf** burst, uint16_t n) override {
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = burst[i];
      if (rte_mbuf_refcnt_update(m, -1) == 0) {
        rte_mbuf_refcnt_set(m, 1);
        if (strip_on_return) {
          auto* p = rte_pktmbuf_mtod(m, uint8_t*);
          std::memmove(p + 4, p, 12);
          rte_pktmbuf_adj(m, 4);
        }
        if (cycle_macs != 0) {
          // Walk the whole address range, more addresses than mbufs in the loop.
          const uint64_t k = next_mac_++ % cycle_macs;
          auto* p = rte_pktmbuf_mtod(m, uint8_t*);
          test::mac(kFar + k).to_bytes(p);
          test::mac(k).to_bytes(p + 6);
        }
        home->ring_.push_back(m);
      }
    }
    return n;
  }
  std::string_view kind() const override { return "loop"; }

  LoopPort* home = this;  // where transmitted mbufs return
  bool strip_on_return = false;
  uint64_t cycle_macs = 0;  // rewrite returning frames' addresses over this many pairs

 private:
  uint64_t next_mac_ = 0;
  std::deque<rte_mbuf*> ring_;
};

struct Rig {
  Segment seg;
  std::vector<LoopPort*> ports;
  std::vector<uint16_t> ids;

  explicit Rig(SegmentSettings s) : seg(std::move(s)) {}
  LoopPort& add(const std::string& name, VlanConfig vlan = {}, const Guards& guards = {}) {
    auto p = std::make_unique<LoopPort>(name, vlan, guards);
    LoopPort* raw = p.get();
    ids.push_back(seg.attach(std::move(p)));
    ports.push_back(raw);
    return *raw;
  }
  void run_burst(uint16_t in, uint64_t now) {
    rte_mbuf* burst[kBurst];
    const uint16_t n = ports[in]->receive(burst, kBurst);
    seg.process(ids[in], burst, n, now);
    seg.flush();
  }
};

void run(benchmark::State& state, Rig& rig) {
  uint64_t frames = 0;
  for (auto _ : state) {
    rig.run_burst(0, 1000);
    frames += kBurst;
  }
  state.SetItemsProcessed(static_cast<int64_t>(frames));
  state.counters["Mpps"] =
      benchmark::Counter(static_cast<double>(frames) / 1e6, benchmark::Counter::kIsRate);
  // None is expected: a drop would mean a variant measures something else than it says.
  uint64_t dropped = 0;
  for (LoopPort* p : rig.ports)
    dropped += p->counters().dropped_total();
  state.counters["dropped"] = static_cast<double>(dropped);
}

// 64-byte frames from `macs` sources on port 0 to as many destinations learned on port 1.
void learned_unicast(benchmark::State& state, const Guards& guards) {
  const auto macs = static_cast<uint64_t>(state.range(0));
  SegmentSettings s;
  s.fdb_limit = static_cast<uint32_t>(4 * macs);
  Rig rig(s);
  LoopPort& a = rig.add("a", {}, guards);
  LoopPort& b = rig.add("b");
  // Both sides' addresses learned, as after the first moments of traffic.
  for (uint64_t i = 0; i < macs; ++i) {
    rig.seg.fdb().learn(Fdb::key(mac(kFar + i).bits(), 0), rig.ids[1], 1000, 0);
    rig.seg.fdb().learn(Fdb::key(mac(i).bits(), 0), rig.ids[0], 1000, 0);
  }
  std::vector<Bytes> traffic;
  for (uint64_t i = 0; i < std::min<uint64_t>(macs, 2048); ++i) {
    traffic.push_back(test::frame(mac(kFar + i), mac(i)));
  }
  a.load(traffic, test::test_pool(), std::max<size_t>(1, 2048 / macs));
  b.home = &a;
  b.cycle_macs = macs > 2048 ? macs : 0;
  run(state, rig);
  state.counters["fdb"] = static_cast<double>(rig.seg.fdb().size());
}

void BM_LearnedUnicast(benchmark::State& state) {
  learned_unicast(state, Guards::none());
}
BENCHMARK(BM_LearnedUnicast)->Arg(512)->Arg(32 * 1024)->Arg(512 * 1024);

void BM_LearnedUnicastGuarded(benchmark::State& state) {
  learned_unicast(state, Guards::on());
}
BENCHMARK(BM_LearnedUnicastGuarded)->Arg(512)->Arg(32 * 1024);

// Access port to trunk: every frame gets a tag pushed in place (and, to keep the loop going,
// the sink strips it again, which is counted in).
void learned_unicast_tagged(benchmark::State& state, const Guards& guards) {
  Rig rig({});
  VlanConfig access;
  access.mode = VlanMode::access;
  access.tag = 10;
  LoopPort& a = rig.add("a", access, guards);
  LoopPort& t = rig.add("t");
  std::vector<Bytes> traffic;
  for (uint64_t i = 0; i < 512; ++i) {
    rig.seg.fdb().add_static(Fdb::key(mac(kFar + i).bits(), 10), rig.ids[1]);
    traffic.push_back(test::frame(mac(kFar + i), mac(i)));
  }
  a.load(traffic, test::test_pool(), 4);
  t.home = &a;
  t.strip_on_return = true;
  run(state, rig);
}

void BM_LearnedUnicastTagged(benchmark::State& state) {
  learned_unicast_tagged(state, Guards::none());
}
BENCHMARK(BM_LearnedUnicastTagged);

void BM_LearnedUnicastTaggedGuarded(benchmark::State& state) {
  learned_unicast_tagged(state, Guards::on());
}
BENCHMARK(BM_LearnedUnicastTaggedGuarded);

// One source port sending 512 addresses' worth of frames to `to` (broadcast, or 512 others)
// across `sinks` more ports, in a switch or a hub.
void fan_out(benchmark::State& state, Forwarding forwarding, int sinks, bool broadcast,
             const Guards& guards = {}) {
  SegmentSettings s;
  s.forwarding = forwarding;
  Rig rig(s);
  LoopPort& a = rig.add("a", {}, guards);
  for (int i = 1; i <= sinks; ++i)
    rig.add("p" + std::to_string(i)).home = &a;
  std::vector<Bytes> traffic;
  for (uint64_t i = 0; i < 512; ++i) {
    traffic.push_back(test::frame(broadcast ? test::kBroadcast : mac(1000 + i), mac(i)));
  }
  a.load(traffic, test::test_pool(), 4);
  run(state, rig);
}

void BM_FloodToFourPorts(benchmark::State& state) {
  fan_out(state, Forwarding::learning, 4, true);
}
BENCHMARK(BM_FloodToFourPorts);

void BM_FloodToFourPortsGuarded(benchmark::State& state) {
  fan_out(state, Forwarding::learning, 4, true, Guards::on());
}
BENCHMARK(BM_FloodToFourPortsGuarded);

void BM_HubToFourPorts(benchmark::State& state) {
  fan_out(state, Forwarding::hub, 4, false);
}
BENCHMARK(BM_HubToFourPorts);

void BM_HubPortToPort(benchmark::State& state) {
  fan_out(state, Forwarding::hub, 1, false);
}
BENCHMARK(BM_HubPortToPort);

}  // namespace
}  // namespace vswitch

int main(int argc, char** argv) {
  if (!vswitch::test::start_eal() || vswitch::test::test_pool() == nullptr) return 1;
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
