#include "vswitch/segment.hpp"

#include <rte_mbuf.h>

#include <algorithm>

#include "tagging.hpp"
#include "trace_steps.hpp"

namespace vswitch {

std::string_view to_string(Forwarding f) {
  return f == Forwarding::hub ? "hub" : "switch";
}

// What the first pass learns of a frame, so the second pass touches only the FDB.
struct Segment::Meta {
  rte_mbuf* m;
  uint64_t dst;
  uint64_t src;
  uint32_t payload;  // bytes after the Ethernet header and the 802.1Q tag, if any
  uint16_t vlan;
  bool tagged;
  bool priority;  // tagged with VID 0: its tag is not the VLAN it travels in
};

namespace {

// Is the frame, as it is, already in the form a port wants for its VLAN?
bool form_matches(bool tagged, bool priority, bool want_tag) {
  return want_tag ? tagged && !priority : !tagged;
}

// Inlined by hand: once in_form() had two instances GCC stopped inlining it, and a call for
// every tagged frame cost 5 % of an access-to-trunk burst's instructions (callgrind).
[[gnu::always_inline]] inline bool convert(rte_mbuf* m, bool tagged, bool want_tag, uint16_t vlan) {
  if (!want_tag) {
    tagging::strip(m);
    return true;
  }
  if (tagged) {
    tagging::set_vid(m, vlan);
    return true;
  }
  return tagging::push(m, vlan);
}

}  // namespace

Segment::Segment(SegmentSettings settings)
    : settings_(std::move(settings)), fdb_(settings_.fdb_limit), flood_sets_(kVlanCount) {
  dirty_.reserve(settings_.max_ports);
  scratch_untagged_.reserve(settings_.max_ports);
  scratch_tagged_.reserve(settings_.max_ports);
}

Segment::~Segment() {
  for (auto& s : slots_) {
    if (s && s->tx_n > 0) rte_pktmbuf_free_bulk(s->tx.data(), s->tx_n);
  }
}

void Segment::check(const PortSettings& s) const {
  if (s.name.empty()) throw ConfigError("a port needs a name");
  if (auto err = s.vlan.validate()) throw ConfigError("port " + s.name + ": " + *err);
  if (s.mtu < 68 || s.mtu > kMaxMtu) {
    throw ConfigError("port " + s.name + ": mtu " + std::to_string(s.mtu) + " is out of range 68-" +
                      std::to_string(kMaxMtu));
  }
  if (auto err = settings_.policy.refuses(s.role)) {
    throw ConfigError("port " + s.name + ": " + *err + " (segment " + name() + ")");
  }
}

uint16_t Segment::attach(std::unique_ptr<Port> port) {
  check(port->settings());
  if (auto err = port->refuses(port->settings())) {
    throw ConfigError("port " + port->name() + ": " + *err);
  }
  if (find(port->name())) throw ConfigError("port " + port->name() + " already exists");
  uint16_t id = 0;
  while (id < slots_.size() && slots_[id])
    ++id;
  if (id >= settings_.max_ports) {
    throw ConfigError("segment " + name() + " is full (" + std::to_string(settings_.max_ports) +
                      " ports)");
  }
  if (id == slots_.size()) slots_.emplace_back();
  auto slot = std::make_unique<Slot>();
  slot->vlan = PortVlan::from(port->settings().vlan);
  slot->role = port->settings().role;
  slot->mtu = port->settings().mtu;
  slot->port = std::move(port);
  slots_[id] = std::move(slot);
  active_.insert(std::lower_bound(active_.begin(), active_.end(), id), id);
  rebuild_flood_sets();
  pin_own_macs(id);
  return id;
}

size_t Segment::pin_own_macs(uint16_t id) {
  const Slot& s = *slots_[id];
  if (s.vlan.native == kNoVlan) return 0;  // a trunk without untagged frames
  size_t pinned = 0;
  for (MacAddr mac : s.port->own_macs())
    pinned += fdb_.add_static(Fdb::key(mac.bits(), s.vlan.native), id) ? 1 : 0;
  return pinned;
}

size_t Segment::flush_fdb() {
  const size_t n = fdb_.flush_all();
  size_t pinned = 0;
  for (uint16_t id : active_)
    pinned += pin_own_macs(id);
  return n > pinned ? n - pinned : 0;
}

size_t Segment::flush_fdb(uint16_t id) {
  const size_t n = fdb_.flush_port(id);
  const size_t pinned = port(id) ? pin_own_macs(id) : 0;
  return n > pinned ? n - pinned : 0;
}

std::unique_ptr<Port> Segment::detach(uint16_t id) {
  if (!port(id)) return nullptr;
  Slot& s = *slots_[id];
  if (s.traced_tx != 0) resolve_traced_tx(s, 0, false, true);
  if (s.tx_n > 0) {
    s.port->counters().drop(DropReason::tx_error, s.tx_n);
    rte_pktmbuf_free_bulk(s.tx.data(), s.tx_n);
    s.tx_n = 0;
  }
  std::erase(dirty_, id);
  s.dirty = false;
  fdb_.flush_port(id);
  for (PortTap* tap : s.taps)
    tap->detached();
  if (s.trace != nullptr) {
    TraceSink* sink = s.trace;
    remove_trace(id, sink);
    sink->detached();
  }
  drop_port_from_mirrors(id);
  auto port = std::move(s.port);
  slots_[id].reset();
  std::erase(active_, id);
  rebuild_flood_sets();
  return port;
}

std::optional<uint16_t> Segment::find(std::string_view port_name) const {
  for (uint16_t id : active_) {
    if (slots_[id]->port->name() == port_name) return id;
  }
  return std::nullopt;
}

void Segment::for_each_port(const std::function<void(uint16_t, Port&)>& fn) const {
  for (uint16_t id : active_)
    fn(id, *slots_[id]->port);
}

void Segment::reconfigure(uint16_t id, const PortSettings& settings) {
  Port* p = port(id);
  if (!p) throw ConfigError("no such port");
  check(settings);
  if (auto err = p->refuses(settings)) throw ConfigError("port " + p->name() + ": " + *err);
  if (settings.name != p->name() && find(settings.name)) {
    throw ConfigError("port " + settings.name + " already exists");
  }
  Slot& s = *slots_[id];
  const bool vlan_changed = !(settings.vlan == p->settings().vlan);
  p->settings_ = settings;
  s.vlan = PortVlan::from(settings.vlan);
  s.role = settings.role;
  s.mtu = settings.mtu;
  if (vlan_changed) flush_fdb(id);
  rebuild_flood_sets();
}

void Segment::set_forwarding(Forwarding f) {
  settings_.forwarding = f;
  flush_fdb();
}

void Segment::set_policy(const Policy& p) {
  for (uint16_t id : active_) {
    if (auto err = p.refuses(slots_[id]->role)) {
      throw ConfigError("port " + slots_[id]->port->name() + ": " + *err);
    }
  }
  settings_.policy = p;
}

void Segment::set_fdb_limit(uint32_t limit) {
  if (limit == 0) throw ConfigError("the FDB limit must be at least 1");
  settings_.fdb_limit = limit;
  fdb_.set_limit(limit);
}

void Segment::rebuild_flood_sets() {
  for (auto& set : flood_sets_)
    set.clear();
  hub_ports_.clear();
  for (uint16_t id : active_) {
    if (slots_[id]->mirror_output) continue;
    hub_ports_.push_back(id);
    const VlanSet& member = slots_[id]->vlan.member;
    for (uint16_t v = 0; v < kVlanCount; ++v) {
      if (member.test(v)) flood_sets_[v].push_back(id);
    }
  }
}

void Segment::process(uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms) {
  // A traced port's bursts take the pipeline's tracing instance, chosen here once a burst, so
  // that every other port runs code with no trace in it.
  if (slots_[in]->trace != nullptr) [[unlikely]] {
    run<TraceMode::live>(in, pkts, n, now_ms);
    end_traced_burst();
  } else {
    run<TraceMode::off>(in, pkts, n, now_ms);
  }
}

template <TraceMode M>
void Segment::run(uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms) {
  constexpr bool dry = M == TraceMode::dry;
  Slot& is = *slots_[in];
  [[maybe_unused]] PortCounters& ic = is.port->counters();
  const bool hub = settings_.forwarding == Forwarding::hub;
  if (!dry && !is.taps.empty()) [[unlikely]] {
    for (PortTap* tap : is.taps)
      tap->frames(TapPoint::received, pkts, n);
  }
  if (!dry && !is.mirror_received.empty()) [[unlikely]]
    mirror(is, is.mirror_received, pkts, n);
  if (is.mirror_output) [[unlikely]] {
    for (uint16_t i = 0; i < n; ++i) {
      if constexpr (M == TraceMode::live) tracing_ = open_trace(is, pkts[i]);
      if constexpr (!dry) {
        ic.in_packets++;
        ic.in_bytes += pkts[i]->pkt_len;
      }
      trace_step<M>([&](FrameTrace& t) { trace::mirror_output(t, is.port->name()); });
      drop<M>(is, pkts[i], DropReason::mirror, TapPoint::received);
    }
    return;
  }

  // A table that fits in the cache gains nothing from prefetching, and pays for the hashing.
  const bool prefetch = !dry && !hub && fdb_.large();
  while (n > 0) {
    const uint16_t chunk = std::min(n, kBurst);
    Meta meta[kBurst];
    [[maybe_unused]] FrameTrace* traces[M == TraceMode::off ? 1 : kBurst];
    uint16_t kept = 0;
    // Pass one: check and classify the whole burst, and start fetching its FDB slots.
    for (uint16_t i = 0; i < chunk; ++i) {
      rte_mbuf* m = pkts[i];
      if constexpr (M == TraceMode::live) tracing_ = open_trace(is, m);
      const uint32_t len = m->pkt_len;
      if constexpr (!dry) {
        ic.in_packets++;
        ic.in_bytes += len;
      }
      if (len < kEtherHeaderLen) {
        trace_step<M>([&](FrameTrace& t) { trace::runt(t, len, false); });
        drop<M>(is, m, DropReason::runt, TapPoint::received);
        continue;
      }
      // The headers we read must sit in the first segment.
      if (m->data_len < std::min(len, kEtherHeaderLen + 2 * kVlanTagLen) &&
          rte_pktmbuf_linearize(m) != 0) {
        trace_step<M>([&](FrameTrace& t) { trace::unjoinable(t); });
        drop<M>(is, m, DropReason::no_buffer, TapPoint::received);
        continue;
      }
      const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
      Meta& f = meta[kept];
      if (hub) {
        // A hub does not look at VLANs; a tag still does not count against the MTU.
        f.tagged = load_be16(frame + 12) == kEtherTypeVlan && len >= kEtherHeaderLen + kVlanTagLen;
        f.priority = false;
        f.vlan = 0;
      } else {
        const auto cls = classify_vlan(is.vlan, frame, len);
        if (!cls) {
          const bool truncated_tag =
              load_be16(frame + 12) == kEtherTypeVlan && len < kEtherHeaderLen + kVlanTagLen;
          trace_step<M>([&](FrameTrace& t) {
            truncated_tag ? trace::runt(t, len, true)
                          : trace::vlan_refused(t, is.port->name(), is.vlan, frame);
          });
          drop<M>(is, m, truncated_tag ? DropReason::runt : DropReason::vlan, TapPoint::received);
          continue;
        }
        f.vlan = cls->vlan;
        f.tagged = cls->tagged;
        f.priority = cls->priority_tagged;
      }
      f.payload = len - kEtherHeaderLen - (f.tagged ? kVlanTagLen : 0);
      trace_step<M>([&](FrameTrace& t) {
        trace::classified(t, hub, f.vlan, f.tagged, f.priority, frame, f.payload);
      });
      if (f.payload > is.mtu) {
        trace_step<M>([&](FrameTrace& t) {
          trace::oversize(t, is.port->name(), f.payload, is.mtu, false, true);
        });
        drop<M>(is, m, DropReason::oversize, TapPoint::received);
        continue;
      }
      trace_step<M>([&](FrameTrace& t) { trace::checks_passed(t, len, f.payload, is.mtu); });
      f.m = m;
      f.dst = load_mac48(frame);
      f.src = load_mac48(frame + 6);
      if (prefetch) {
        fdb_.prefetch(Fdb::key(f.dst, f.vlan));
        fdb_.prefetch(Fdb::key(f.src, f.vlan));
      }
      if constexpr (M != TraceMode::off) traces[kept] = tracing_;
      ++kept;
    }

    // Pass two: learn, look up, and hand each frame to its destinations' buffers.
    if (hub) {
      for (uint16_t i = 0; i < kept; ++i) {
        if constexpr (M != TraceMode::off) tracing_ = traces[i];
        trace_step<M>([&](FrameTrace& t) {
          trace::not_learned_hub(t);
          trace::hub_flood(t, hub_ports_.size() - 1);
        });
        flood<M>(in, meta[i], hub_ports_);
      }
    } else {
      uint64_t last_src = ~uint64_t{0};
      for (uint16_t i = 0; i < kept; ++i) {
        if constexpr (M != TraceMode::off) tracing_ = traces[i];
        const Meta& f = meta[i];
        const uint64_t src_key = Fdb::key(f.src, f.vlan);
        if ((f.src & 1) == 0 && src_key != last_src) {
          last_src = src_key;
          learn<M>(in, f, now_ms);
        } else {
          trace_step<M>([&](FrameTrace& t) {
            (f.src & 1) ? trace::not_learned_multicast(t, f.src)
                        : trace::learned_just_before(t, f.src, f.vlan);
          });
        }
        forward<M>(in, f);
      }
    }
    pkts += chunk;
    n = static_cast<uint16_t>(n - chunk);
  }
}

// Part of the burst loop, as it was before it had instances: called apart, its call for every
// frame cost 13 % of a learned-unicast burst's instructions (callgrind).
template <TraceMode M>
[[gnu::always_inline]] inline void Segment::learn(uint16_t in, const Meta& f, uint64_t now_ms) {
  const uint64_t src_key = Fdb::key(f.src, f.vlan);
  if constexpr (M == TraceMode::dry) {
    bool evicts = false;
    const auto r = fdb_.predict(src_key, in, now_ms, settings_.flap_hold_ms, &evicts);
    if (r.what != Fdb::Learned::kept_static && r.what != Fdb::Learned::refused) {
      dry_learned_key_ = src_key;
    }
    trace_step<M>([&](FrameTrace& t) {
      const Port* old = port(r.old_port);
      trace::learned(t, f.src, f.vlan, r, port(in)->name(), old ? old->name() : "?", evicts,
                     fdb_.limit(), true);
    });
  } else {
    [[maybe_unused]] const bool full = M == TraceMode::live && fdb_.size() >= fdb_.limit();
    const auto r = fdb_.learn(src_key, in, now_ms, settings_.flap_hold_ms);
    if (r.what == Fdb::Learned::moved) note_move(f, in, r, now_ms);
    trace_step<M>([&](FrameTrace& t) {
      // learn() does not say where a static entry is.
      const Port* old =
          port(r.what == Fdb::Learned::kept_static ? fdb_.lookup(src_key) : r.old_port);
      trace::learned(t, f.src, f.vlan, r, port(in)->name(), old ? old->name() : "?",
                     full && r.what == Fdb::Learned::added, fdb_.limit(), false);
    });
  }
}

void Segment::note_move(const Meta& f, uint16_t in, const Fdb::LearnResult& r, uint64_t now_ms) {
  if (!r.flapping) return;
  ++counters_.flap_events;
  if (!flap_log_.allow(now_ms)) return;
  const Port* from = port(r.old_port);
  log(LogLevel::warn,
      "segment %s: MAC %s in VLAN %u is flapping between ports %s and %s "
      "(%lu more flap events in the last interval)",
      name().c_str(), MacAddr(f.src).str().c_str(), f.vlan, from ? from->name().c_str() : "?",
      port(in)->name().c_str(), static_cast<unsigned long>(flap_log_.suppressed()));
}

template <TraceMode M>
void Segment::forward(uint16_t in, const Meta& f) {
  constexpr bool dry = M == TraceMode::dry;
  if (f.dst & 1) {
    if constexpr (!dry) ++counters_.flooded;
    flood<M>(in, f, flood_sets_[f.vlan]);
    return;
  }
  const uint64_t dst_key = Fdb::key(f.dst, f.vlan);
  uint16_t out = fdb_.lookup(dst_key);
  // Had the synthetic frame's source been learned, a frame to itself would find it.
  if constexpr (dry) {
    if (dst_key == dry_learned_key_) out = in;
  }
  if (out == kNoPort) {
    if constexpr (!dry) {
      ++counters_.flooded;
      ++counters_.unknown;
    }
    flood<M>(in, f, flood_sets_[f.vlan]);
    return;
  }
  Slot& is = *slots_[in];
  trace_step<M>([&](FrameTrace& t) { trace::hit(t, f.dst, f.vlan, port(out)->name()); });
  if (out == in) {
    trace_step<M>([&](FrameTrace& t) { trace::hairpin(t, is.port->name()); });
    drop<M>(is, f.m, DropReason::hairpin, TapPoint::received);
    return;
  }
  Slot& os = *slots_[out];
  const bool allowed = settings_.policy.matrix.allows(is.role, os.role) && !os.mirror_output;
  trace_step<M>([&](FrameTrace& t) {
    if (os.mirror_output) {
      trace::to_mirror_output(t, os.port->name());
    } else {
      trace::policy(t, os.port->name(), is.role, os.role, allowed, settings_.policy, true);
    }
  });
  if (!allowed) {
    drop<M>(is, f.m, DropReason::policy, TapPoint::received);
    return;
  }
  // The FDB was learned under the old VLAN settings only until the port's flush; re-check
  // anyway, as a Linux bridge's should_deliver() does, so no entry can leak a VLAN.
  if (!os.vlan.member.test(f.vlan)) {
    trace_step<M>([&](FrameTrace& t) { trace::not_in_vlan(t, os.port->name(), f.vlan); });
    drop<M>(is, f.m, DropReason::vlan, TapPoint::received);
    return;
  }
  if (f.payload > os.mtu) {
    trace_step<M>(
        [&](FrameTrace& t) { trace::oversize(t, os.port->name(), f.payload, os.mtu, true, true); });
    drop<M>(os, f.m, DropReason::oversize, TapPoint::sent);
    return;
  }
  const bool want_tag = os.vlan.egress_tagged.test(f.vlan);
  rte_mbuf* m = in_form<M>(f, want_tag, true);
  if (m == nullptr) {
    trace_step<M>([&](FrameTrace& t) { trace::no_buffer(t, os.port->name(), true); });
    drop<M>(os, f.m, DropReason::no_buffer, TapPoint::sent);
    return;
  }
  trace_step<M>([&](FrameTrace&) { trace_egress<M>(f, {out}, m, want_tag, true); });
  if (m != f.m) rte_pktmbuf_free(f.m);
  enqueue<M>(out, m);
}

namespace {

// How in_form() would give a frame the form a port wants.
// `shared`: a real frame would be held by another too (a mirror's reference).
template <class Meta>
trace::Egress predict_egress(const Meta& f, bool want_tag, bool may_modify, bool shared) {
  if (form_matches(f.tagged, f.priority, want_tag)) return trace::Egress::as_received;
  const bool fits = !want_tag || f.tagged || rte_pktmbuf_headroom(f.m) >= kVlanTagLen;
  return may_modify && !shared && tagging::exclusive(f.m) && fits ? trace::Egress::in_place
                                                                  : trace::Egress::copied;
}

}  // namespace

template <TraceMode M>
void Segment::trace_egress(const Meta& f, const std::vector<uint16_t>& outs, rte_mbuf* m,
                           bool want_tag, bool may_modify) {
  FrameTrace& t = *tracing_;
  const bool hub = settings_.forwarding == Forwarding::hub;
  trace::Egress how;
  if constexpr (M == TraceMode::dry) {
    how = predict_egress(f, want_tag, may_modify, dry_shared_);
  } else {
    how = m != f.m                                       ? trace::Egress::copied
          : form_matches(f.tagged, f.priority, want_tag) ? trace::Egress::as_received
                                                         : trace::Egress::in_place;
  }
  for (uint16_t out : outs) {
    const std::string& name = slots_[out]->port->name();
    if (m == nullptr) {
      trace::no_buffer(t, name, false);
    } else {
      trace::egress(t, name, hub, want_tag, f.vlan, how);
    }
  }
}

template <TraceMode M>
rte_mbuf* Segment::in_form(const Meta& f, bool want_tag, bool may_modify) {
  // A synthetic frame stays as it is; its trace says what would have been done to it.
  if constexpr (M == TraceMode::dry) return f.m;
  if (form_matches(f.tagged, f.priority, want_tag)) return f.m;
  if (may_modify && tagging::exclusive(f.m) && convert(f.m, f.tagged, want_tag, f.vlan)) {
    return f.m;
  }
  rte_mbuf* c = rte_pktmbuf_copy(f.m, f.m->pool, 0, UINT32_MAX);
  if (c == nullptr) return nullptr;
  ++counters_.copies;
  if (!convert(c, f.tagged, want_tag, f.vlan)) {
    rte_pktmbuf_free(c);
    return nullptr;
  }
  return c;
}

template <TraceMode M>
void Segment::flood(uint16_t in, const Meta& f, const std::vector<uint16_t>& members) {
  const Slot& is = *slots_[in];
  const bool hub = settings_.forwarding == Forwarding::hub;
  const RoleMatrix& matrix = settings_.policy.matrix;
  trace_step<M>([&](FrameTrace& t) {
    if (hub) return;  // said by run()
    const bool member = std::binary_search(members.begin(), members.end(), in);
    trace::flood(t, f.dst, f.vlan, members.size() - (member ? 1 : 0));
  });
  scratch_untagged_.clear();
  scratch_tagged_.clear();
  for (uint16_t out : members) {
    if (out == in) continue;
    const Slot& os = *slots_[out];
    const bool allowed = matrix.allows(is.role, os.role);
    trace_step<M>([&](FrameTrace& t) {
      trace::policy(t, os.port->name(), is.role, os.role, allowed, settings_.policy, false);
    });
    if (!allowed) continue;
    if (f.payload > os.mtu) {
      trace_step<M>([&](FrameTrace& t) {
        trace::oversize(t, os.port->name(), f.payload, os.mtu, true, false);
      });
      note_drop<M>(os, f.m, DropReason::oversize, TapPoint::sent);
      continue;
    }
    // A hub sends every frame as it came; so does a switch to ports wanting the same form.
    const bool want_tag = !hub && os.vlan.egress_tagged.test(f.vlan);
    (want_tag ? scratch_tagged_ : scratch_untagged_).push_back(out);
  }
  const bool to_untagged = !scratch_untagged_.empty();
  const bool to_tagged = !scratch_tagged_.empty();
  rte_mbuf* for_untagged = nullptr;
  rte_mbuf* for_tagged = nullptr;
  [[maybe_unused]] bool untagged_may_modify = true;
  [[maybe_unused]] bool tagged_may_modify = true;
  if (hub) {
    for_untagged = f.m;
  } else if (to_untagged && to_tagged) {
    // The original goes to the group that takes it unchanged; the other group gets a copy.
    // A priority-tagged frame suits neither: the tagged group gets the copy, made before the
    // original is changed in place for the untagged one.
    if (form_matches(f.tagged, f.priority, true)) {
      for_tagged = f.m;
      for_untagged = in_form<M>(f, false, false);
      untagged_may_modify = false;
    } else {
      for_tagged = in_form<M>(f, true, false);
      tagged_may_modify = false;
      for_untagged = in_form<M>(f, false, true);
    }
  } else if (to_untagged) {
    for_untagged = in_form<M>(f, false, true);
  } else if (to_tagged) {
    for_tagged = in_form<M>(f, true, true);
  }
  trace_step<M>([&](FrameTrace&) {
    trace_egress<M>(f, scratch_untagged_, for_untagged, false, untagged_may_modify);
    trace_egress<M>(f, scratch_tagged_, for_tagged, true, tagged_may_modify);
  });
  if constexpr (M != TraceMode::dry) {
    const bool original_used =
        (to_untagged && for_untagged == f.m) || (to_tagged && for_tagged == f.m);
    if (!original_used) rte_pktmbuf_free(f.m);
  }
  deliver_group<M>(scratch_untagged_, for_untagged);
  deliver_group<M>(scratch_tagged_, for_tagged);
}

template <TraceMode M>
void Segment::deliver_group(const std::vector<uint16_t>& outs, rte_mbuf* m) {
  if (outs.empty()) return;
  if (m == nullptr) {
    for (uint16_t out : outs)
      slots_[out]->port->counters().drop(DropReason::no_buffer);
    return;
  }
  // One mbuf for every destination: each transmit releases one reference. Every segment of a
  // chain takes the references, since freeing a chain releases each of its segments.
  if constexpr (M != TraceMode::dry) {
    if (outs.size() > 1) rte_pktmbuf_refcnt_update(m, static_cast<int16_t>(outs.size() - 1));
  }
  for (uint16_t out : outs)
    enqueue<M>(out, m);
}

template <TraceMode M>
void Segment::enqueue(uint16_t out, rte_mbuf* m) {
  Slot& s = *slots_[out];
  if constexpr (M == TraceMode::dry) {
    trace_step<M>(
        [&](FrameTrace& t) { trace::transmitted(t, s.port->name(), trace::TxResult::would_send); });
    return;
  }
  if (!s.dirty) {
    s.dirty = true;
    dirty_.push_back(out);
  }
  if constexpr (M == TraceMode::live) {
    if (tracing_ != nullptr) note_traced_tx(s);
  }
  s.tx[s.tx_n++] = m;
  if (s.tx_n == kTxBurstMax) transmit(s);
}

void Segment::transmit(Slot& s) {
  const uint16_t n = s.tx_n;
  uint32_t lengths[kTxBurstMax];
  for (uint16_t i = 0; i < n; ++i)
    lengths[i] = s.tx[i]->pkt_len;
  s.tx_n = 0;
  if (!s.taps.empty()) [[unlikely]] {
    for (PortTap* tap : s.taps)
      tap->frames(TapPoint::sent, s.tx.data(), n);
  }
  if (!s.mirror_sent.empty()) [[unlikely]]
    mirror(s, s.mirror_sent, s.tx.data(), n);
  const uint16_t sent = s.traced_tx == 0 ? s.port->transmit(s.tx.data(), n) : transmit_traced(s, n);
  PortCounters& c = s.port->counters();
  c.out_packets += sent;
  for (uint16_t i = 0; i < sent; ++i)
    c.out_bytes += lengths[i];
}

template <TraceMode M>
void Segment::drop(Slot& s, rte_mbuf* m, DropReason why, TapPoint where) {
  trace_step<M>([&](FrameTrace& t) { t.dropped = why; });
  // A synthetic frame is the caller's, and counts nowhere.
  if constexpr (M == TraceMode::dry) return;
  note_drop<M>(s, m, why, where);
  rte_pktmbuf_free(m);
}

template <TraceMode M>
void Segment::note_drop(const Slot& s, const rte_mbuf* m, DropReason why, TapPoint where) {
  if constexpr (M == TraceMode::dry) return;
  s.port->counters().drop(why);
  if (!s.taps.empty()) [[unlikely]] {
    for (PortTap* tap : s.taps)
      tap->dropped(where, m, why);
  }
}

FrameTrace Segment::explain(uint16_t id, rte_mbuf* m, uint64_t now_ms) {
  if (!port(id)) throw ConfigError("no such port");
  FrameTrace t;
  trace::begin(t, name(), port(id)->name(), m, true);
  tracing_ = &t;
  dry_learned_key_ = ~uint64_t{0};
  // A mirror of what the port receives holds a one-buffer frame by reference (mirror.cpp); as
  // near as the trace can say without choosing by the mirror's VLANs.
  dry_shared_ = !slots_[id]->mirror_received.empty() && m->nb_segs == 1;
  rte_mbuf* one[1] = {m};
  run<TraceMode::dry>(id, one, 1, now_ms);
  tracing_ = nullptr;
  trace::finish(t);
  return t;
}

void Segment::add_tap(uint16_t id, PortTap* tap) {
  if (!port(id)) throw ConfigError("no such port");
  slots_[id]->taps.push_back(tap);
}

void Segment::remove_tap(uint16_t id, PortTap* tap) {
  if (port(id)) std::erase(slots_[id]->taps, tap);
}

void Segment::flush() {
  // By index: a mirror of what one port sends adds its output port to the list.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Slot& s = *slots_[dirty_[i]];
    s.dirty = false;
    if (s.tx_n > 0) transmit(s);
  }
  dirty_.clear();
}

void Segment::age(uint64_t now_ms) {
  fdb_.age(now_ms, settings_.ageing_s);
}

// Each instance of the pipeline as an ordinary function of this file, not a template's
// throw-away copy: the compiler then weighs inlining it as it did before traces existed.
#define VSWITCH_PIPELINE_INSTANCE(M)                                                    \
  template void Segment::run<M>(uint16_t, rte_mbuf**, uint16_t, uint64_t);              \
  template void Segment::learn<M>(uint16_t, const Meta&, uint64_t);                     \
  template void Segment::forward<M>(uint16_t, const Meta&);                             \
  template void Segment::flood<M>(uint16_t, const Meta&, const std::vector<uint16_t>&); \
  template rte_mbuf* Segment::in_form<M>(const Meta&, bool, bool);                      \
  template void Segment::deliver_group<M>(const std::vector<uint16_t>&, rte_mbuf*);     \
  template void Segment::enqueue<M>(uint16_t, rte_mbuf*);                               \
  template void Segment::drop<M>(Slot&, rte_mbuf*, DropReason, TapPoint);               \
  template void Segment::note_drop<M>(const Slot&, const rte_mbuf*, DropReason, TapPoint);
VSWITCH_PIPELINE_INSTANCE(TraceMode::off)
VSWITCH_PIPELINE_INSTANCE(TraceMode::live)
VSWITCH_PIPELINE_INSTANCE(TraceMode::dry)

}  // namespace vswitch
