// The forwarding pipeline of one segment, in switch or hub mode, with in-memory ports of
// various VLAN settings, roles, MTUs and transmit room, fed frames that arrive as chains of
// mbufs split anywhere. Every mbuf must come back to the pool exactly once, and every frame a
// port gets must be one that was sent to the segment, in the form that port wants.
//
// Input: a header byte (mode, port count, policy, FDB size), seven bytes per port (role and MTU,
// VLAN mode, tag, trunks, storm control and port security, transmit room), then operations until
// the input ends (Rig::run): frames into a burst, a burst processed, flush, time passing, a port
// reconfigured between rounds, a mirror added or removed between rounds. The first port is traced
// throughout (every other frame), which must change nothing of what is forwarded; every frame of
// the second is first run through a synthetic trace, which must change nothing at all.
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "eal.hpp"
#include "memory_port.hpp"
#include "require.hpp"
#include "vswitch/segment.hpp"

namespace vswitch::fuzz {
namespace {

using test::Bytes;
using test::MemoryPort;

// The input, read front to back; zeros once it runs out.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool done() const { return n_ == 0; }
  uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
  Bytes bytes(size_t n) {
    n = std::min(n, n_);
    Bytes b(p_, p_ + n);
    p_ += n;
    n_ -= n;
    return b;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

// Mbufs never freed, so that the pool is never full and one freed twice shows in its count
// (rte_mempool_avail_count() stops at the pool's size).
constexpr unsigned kHeldBack = 64;
constexpr size_t kMaxBurst = 2 * kBurst + 3;

rte_mempool* pool() {
  static rte_mempool* p = [] {
    rte_mempool* mp = test::test_pool();
    if (mp == nullptr) abort();
    set_log_level(LogLevel::error);
    rte_mbuf* held[kHeldBack];
    if (rte_pktmbuf_alloc_bulk(mp, held, kHeldBack) != 0) abort();
    return mp;
  }();
  return p;
}

// Small VLAN numbers, so that frames and ports meet; now and then any.
uint16_t vid(Reader& r) {
  const uint16_t v = r.u16();
  return v & 0x8000 ? v & 0x0fff : v % 8;
}

VlanConfig vlan_config(Reader& r) {
  const uint8_t how = r.u8();
  const uint16_t tag = vid(r);
  const uint8_t trunk_bits = r.u8();
  VlanConfig c;
  for (uint16_t v = 0; v < 8; ++v) {
    if (trunk_bits & (1u << v)) c.trunks.set(v);
  }
  switch (how % 5) {
    case 0:
      c.trunks = VlanSet{};  // the default: every VLAN
      break;
    case 1:
      c.mode = VlanMode::access;
      c.tag = tag;
      c.trunks = VlanSet{};
      break;
    case 2:
      break;  // a trunk of the listed VLANs
    case 3:
      c.mode = VlanMode::native_tagged;
      c.tag = tag;
      break;
    case 4:
      c.mode = VlanMode::native_untagged;
      c.tag = tag;
      break;
  }
  return c;
}

Bytes mac_bytes(uint8_t sel);

// Storm control at a few frames a second (so that inputs reach it) and port security, from one
// byte: most ports get neither.
void guards(Reader& r, PortSettings& s) {
  const uint8_t g = r.u8();
  if ((g & 0xc0) != 0xc0) return;
  const uint32_t limit = 1 + (g & 3);
  if (g & 4) s.storm.broadcast = limit;
  if (g & 8) s.storm.multicast = limit;
  if (g & 16) s.storm.unknown = limit;
  s.security.max_macs = (g >> 2) & 3;
  s.security.sticky = s.security.max_macs != 0 && (g & 32);
  if (g & 1) s.security.macs = {MacAddr::from_bytes(mac_bytes(g >> 1).data())};
  if (s.security.max_macs != 0 && s.security.macs.size() > s.security.max_macs)
    s.security.macs.clear();
}

PortSettings port_settings(Reader& r, int index) {
  static constexpr uint32_t kMtus[] = {1500, 68, 100, 1000, 1500, 2000, 4000, kMaxMtu};
  PortSettings s;
  s.name = "p" + std::to_string(index);
  const uint8_t b = r.u8();
  s.role = static_cast<Role>(b % kRoleCount);
  s.mtu = kMtus[(b >> 2) % 8];
  s.vlan = vlan_config(r);
  guards(r, s);
  return s;
}

Bytes mac_bytes(uint8_t sel) {
  if (sel >= 0xf8) return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (sel >= 0xf0) return {0x01, 0x00, 0x5e, 0x00, 0x00, static_cast<uint8_t>(sel & 7)};
  return {0x02, 0x00, 0x00, 0x00, 0x00, static_cast<uint8_t>(sel % 8)};
}

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

// A frame: raw bytes, or addresses from a few, with no tag, a tag, a priority tag, two tags,
// then a length that may cut the headers short or make a jumbo.
Bytes frame_bytes(Reader& r) {
  const uint8_t kind = r.u8();
  if (kind % 8 == 0) return r.bytes(r.u16() % 2048);
  Bytes f = mac_bytes(r.u8());
  const Bytes src = mac_bytes(r.u8());
  f.insert(f.end(), src.begin(), src.end());
  const uint16_t pcp = static_cast<uint16_t>((kind >> 5) << 13);
  switch (kind % 8) {
    case 2:
      put16(f, kEtherTypeVlan);
      put16(f, pcp | vid(r));
      break;
    case 3:
      put16(f, kEtherTypeVlan);
      put16(f, pcp);
      break;
    case 4:
      put16(f, kEtherTypeVlan);
      put16(f, pcp | vid(r));
      put16(f, kEtherTypeVlan);
      put16(f, vid(r));
      break;
    case 5:
      put16(f, kEtherTypeVlan);
      put16(f, pcp);
      put16(f, kEtherTypeVlan);
      put16(f, vid(r));
      break;
    default:
      break;
  }
  put16(f, 0x0800);
  const size_t len = r.u16() % (kMaxMtu + 40);
  const uint8_t seed = r.u8();
  for (size_t i = f.size(); i < len; ++i)
    f.push_back(static_cast<uint8_t>(seed + i));
  f.resize(len);
  return f;
}

// The frame as a chain of mbufs of the sizes the input gives (but at most kMaxSegments of
// them), the first with the headroom it gives (too little for a tag, at times). Null when the
// pool has run dry: an input may hold more frames in flight than it has mbufs.
constexpr size_t kMaxSegments = 32;

rte_mbuf* chain(Reader& r, const Bytes& f) {
  const uint16_t headroom = r.u8() % (RTE_PKTMBUF_HEADROOM + 1);
  const size_t smallest = f.size() / kMaxSegments + 1;
  size_t sizes[4];
  const size_t k = 1 + r.u8() % 4;
  for (size_t i = 0; i < k; ++i)
    sizes[i] = std::max<size_t>(smallest, 1 + r.u8() * 8);
  return test::chain_frame(
      pool(), f, [&](size_t i) { return sizes[i % k]; }, headroom);
}

// A frame as the segment took it in, and the two forms it may leave in.
struct Sent {
  uint16_t from = 0;
  Bytes bytes;
  std::optional<VlanClass> cls;  // none: the ingress port drops it
  uint32_t payload = 0;          // what counts against an MTU
  Bytes as_untagged;
  Bytes as_tagged;
};

Sent as_sent(uint16_t from, Bytes f, const PortSettings& ingress, bool hub) {
  Sent s;
  s.from = from;
  s.bytes = std::move(f);
  const Bytes& b = s.bytes;
  if (b.size() < kEtherHeaderLen) return s;
  const bool outer_tag = load_be16(b.data() + 12) == kEtherTypeVlan;
  if (hub) {
    s.cls = VlanClass{0, outer_tag && b.size() >= kEtherHeaderLen + kVlanTagLen, false};
  } else {
    s.cls = classify_vlan(PortVlan::from(ingress.vlan), b.data(), static_cast<uint32_t>(b.size()));
    if (!s.cls) return s;
  }
  s.payload = static_cast<uint32_t>(b.size() - kEtherHeaderLen - (s.cls->tagged ? kVlanTagLen : 0));
  if (hub) return s;
  const uint16_t vlan = s.cls->vlan;
  Bytes bare(b.begin(), b.begin() + 12);
  bare.insert(bare.end(), b.begin() + (s.cls->tagged ? 16 : 12), b.end());
  s.as_untagged = bare;
  if (s.cls->tagged) {
    s.as_tagged = b;
    store_be16(s.as_tagged.data() + 14,
               static_cast<uint16_t>((load_be16(b.data() + 14) & 0xf000) | vlan));
  } else {
    s.as_tagged = bare;
    const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(vlan >> 8),
                            static_cast<uint8_t>(vlan)};
    s.as_tagged.insert(s.as_tagged.begin() + 12, tag, tag + 4);
  }
  return s;
}

// Takes every other frame; every story it is told must end with its result.
class EveryOtherFrame final : public TraceSink {
 public:
  bool wants(const rte_mbuf*) override { return (++offered_ & 1) != 0; }
  void traced(FrameTrace& t) override {
    require(!t.steps.empty() && t.steps.back().stage == TraceStage::result,
            "a trace ends with its result");
    (void)t.text();
  }
  void detached() override {}

 private:
  uint64_t offered_ = 0;
};

// What a synthetic trace must leave as it was.
std::vector<uint64_t> state_of(const Segment& seg) {
  const Fdb::Counters& f = seg.fdb().counters();
  std::vector<uint64_t> all = {
      seg.fdb().size(),     f.learned, f.moved, f.evicted, f.refused, seg.counters().flooded,
      seg.counters().copies};
  seg.for_each_port([&](uint16_t, Port& p) {
    all.insert(all.end(),
               {p.counters().in_packets, p.counters().out_packets, p.counters().dropped_total()});
  });
  return all;
}

class Rig {
 public:
  explicit Rig(Reader& r) {
    static constexpr PolicyMode kPolicies[] = {PolicyMode::bridged, PolicyMode::host_only,
                                               PolicyMode::internal, PolicyMode::nat};
    static constexpr uint32_t kFdbSizes[] = {4, 64, 1024, 65536};
    const uint8_t b = r.u8();
    SegmentSettings s;
    s.forwarding = b & 1 ? Forwarding::hub : Forwarding::learning;
    s.policy = Policy{kPolicies[(b >> 3) % 4], RoleMatrix::preset(kPolicies[(b >> 3) % 4])};
    s.fdb_limit = kFdbSizes[b >> 6];
    seg_ = std::make_unique<Segment>(s);
    const int n = 2 + ((b >> 1) & 3);
    for (int i = 0; i < n; ++i) {
      PortSettings ps = port_settings(r, i);
      const uint8_t room = r.u8();
      auto port = std::make_unique<MemoryPort>(ps, pool());
      if (room != 0) port->tx_room = room - 1u;
      MemoryPort* raw = port.get();
      try {
        ids_.push_back(seg_->attach(std::move(port)));
      } catch (const ConfigError&) {
        // The segment refused the settings: the port joins with the defaults instead.
        PortSettings plain;
        plain.name = ps.name;
        auto again = std::make_unique<MemoryPort>(plain, pool());
        raw = again.get();
        ids_.push_back(seg_->attach(std::move(again)));
      }
      ports_.push_back(raw);
    }
    seg_->add_trace(ids_[0], &sink_);
  }

  ~Rig() {
    for (rte_mbuf* m : burst_)
      rte_pktmbuf_free(m);
    seg_->remove_trace(ids_[0], &sink_);
  }

  void run(Reader& r) {
    while (!r.done()) {
      const uint8_t op = r.u8();
      switch (op % 11) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
          add_frame(r, static_cast<uint16_t>((op / 10) % ports_.size()));
          break;
        case 6:
          process();
          break;
        case 7:
          process();
          flush();
          break;
        case 8:
          now_ms_ += uint64_t{r.u8()} * 250;
          seg_->age(now_ms_);
          break;
        case 9:
          reconfigure(r);
          break;
        case 10:
          toggle_mirror(r);
          break;
      }
    }
    process();
    flush();
  }

 private:
  void add_frame(Reader& r, uint16_t port) {
    if (burst_port_ != port || burst_.size() == kMaxBurst) process();
    burst_port_ = port;
    Bytes f = frame_bytes(r);
    rte_mbuf* m = chain(r, f);
    if (m == nullptr) return;
    if (port == 1) explain(m);
    burst_.push_back(m);
    sent_to_switch_.push_back(as_sent(port, std::move(f), ports_[port]->settings(),
                                      seg_->settings().forwarding == Forwarding::hub));
  }

  // The frame as it would go, in a copy: the segment, its FDB and its ports must not notice.
  void explain(const rte_mbuf* m) {
    rte_mbuf* copy = rte_pktmbuf_copy(m, pool(), 0, UINT32_MAX);
    if (copy == nullptr) return;
    const std::vector<uint64_t> before = state_of(*seg_);
    const FrameTrace t = seg_->explain(ids_[1], copy, now_ms_);
    rte_pktmbuf_free(copy);
    require(t.steps.back().stage == TraceStage::result, "a synthetic trace ends with its result");
    require(state_of(*seg_) == before, "a synthetic trace changes nothing");
  }

  void process() {
    if (!burst_.empty()) {
      seg_->process(ids_[burst_port_], burst_.data(), static_cast<uint16_t>(burst_.size()),
                    now_ms_);
      burst_.clear();
    }
    check_delivered();
  }

  void flush() {
    seg_->flush();
    check_delivered();
    sent_to_switch_.clear();  // nothing is left in the segment's buffers
  }

  // Between rounds: a mirror of one port to another, or none.
  void toggle_mirror(Reader& r) {
    process();
    flush();
    if (mirror_) {
      seg_->remove_mirror("m");
      mirror_.reset();
      return;
    }
    const uint8_t b = r.u8();
    MirrorSettings m;
    m.name = "m";
    const size_t src = b % ports_.size();
    const size_t out = (src + 1 + (b >> 2) % (ports_.size() - 1)) % ports_.size();
    m.sources = {ids_[src]};
    m.output = ids_[out];
    m.received = b & 0x40;
    m.sent = b & 0x80 || !m.received;
    seg_->add_mirror(m);
    mirror_ = Mirrored{src, out, m.received, m.sent};
  }

  // Between rounds, as the engine's control plane does it.
  void reconfigure(Reader& r) {
    process();
    flush();
    const size_t i = r.u8() % ports_.size();
    PortSettings s = port_settings(r, static_cast<int>(i));
    try {
      seg_->reconfigure(ids_[i], s);
    } catch (const ConfigError&) {
    }
  }

  // Whether port `to` may get `got` as the switch's copy of `in`.
  bool explains(const Sent& in, size_t to, const Bytes& got) const {
    if (!in.cls || in.from == to) return false;
    // A mirror's output takes no part in switching.
    if (mirror_ && (in.from == mirror_->output || to == mirror_->output)) return false;
    const PortSettings& from = ports_[in.from]->settings();
    const PortSettings& dest = ports_[to]->settings();
    if (!seg_->settings().policy.matrix.allows(from.role, dest.role)) return false;
    if (in.payload > from.mtu || in.payload > dest.mtu) return false;
    if (seg_->settings().forwarding == Forwarding::hub) return got == in.bytes;
    const PortVlan egress = PortVlan::from(dest.vlan);
    if (!egress.member.test(in.cls->vlan)) return false;
    return got == (egress.egress_tagged.test(in.cls->vlan) ? in.as_tagged : in.as_untagged);
  }

  // Whether the mirror's output may get `got`: a frame as it arrived on the source, or as the
  // source was sent it.
  bool mirrored(const Bytes& got) const {
    if (mirror_->received) {
      for (const Sent& in : sent_to_switch_) {
        if (in.from == mirror_->source && in.bytes == got) return true;
      }
    }
    if (mirror_->sent) {
      // Handed to the source, whether or not its transport then took it.
      for (const Sent& in : sent_to_switch_) {
        if (explains(in, mirror_->source, got)) return true;
      }
    }
    return false;
  }

  void check_delivered() {
    for (size_t to = 0; to < ports_.size(); ++to) {
      if (mirror_ && to == mirror_->output) {
        for (const Bytes& got : ports_[to]->sent)
          require(mirrored(got), "a mirror's output gets only the source's frames");
        ports_[to]->sent.clear();
        continue;
      }
      for (const Bytes& got : ports_[to]->sent) {
        bool found = false;
        for (const Sent& in : sent_to_switch_) {
          if (explains(in, to, got)) {
            found = true;
            break;
          }
        }
        require(found, "a port gets only frames sent to the switch, as its settings want them");
      }
      ports_[to]->sent.clear();
    }
  }

  std::unique_ptr<Segment> seg_;
  std::vector<uint16_t> ids_;
  std::vector<MemoryPort*> ports_;
  std::vector<rte_mbuf*> burst_;
  uint16_t burst_port_ = 0;
  std::vector<Sent> sent_to_switch_;
  struct Mirrored {
    size_t source;
    size_t output;
    bool received;
    bool sent;
  };
  std::optional<Mirrored> mirror_;
  EveryOtherFrame sink_;
  uint64_t now_ms_ = 1000;
};

}  // namespace
}  // namespace vswitch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vswitch::fuzz;
  rte_mempool* mp = pool();
  const unsigned before = rte_mempool_avail_count(mp);
  {
    Reader r(data, size);
    Rig rig(r);
    rig.run(r);
  }
  const unsigned after = rte_mempool_avail_count(mp);
  if (after != before) fprintf(stderr, "mbufs in the pool: %u before, %u after\n", before, after);
  require(after <= before, "no mbuf freed twice");
  require(after >= before, "no mbuf leaked");
  return 0;
}
