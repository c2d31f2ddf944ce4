// The path of a frame through a segment, a burst at a time: the ingress port's taps and
// mirrors; pass one checks and classifies the burst (length, VLAN, MTU) and starts fetching its
// FDB slots; pass two learns each source and looks up each destination, then the frame goes to
// the one port found (through the policy, VLAN and MTU checks of that port) or is flooded to the
// VLAN's members, in the form each wants (tagged or not), into their transmit buffers; flush()
// hands each buffer to its port in one call.
#include <rte_mbuf.h>

#include <algorithm>

#include "tagging.hpp"
#include "trace_steps.hpp"
#include "vswitch/segment.hpp"

namespace vswitch {

// A frame as pass one classified it, so that pass two touches only the FDB.
struct Segment::Classified {
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

void Segment::process(Lane& lane, uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms) {
  // A traced port's bursts take the pipeline's tracing instance, chosen here once a burst, so
  // that every other port runs code with no trace in it.
  if (slots_[in]->trace != nullptr) [[unlikely]] {
    run<TraceMode::live>(lane, in, pkts, n, now_ms);
    end_traced_burst(lane);
  } else {
    run<TraceMode::off>(lane, in, pkts, n, now_ms);
  }
}

template <TraceMode M>
void Segment::run(Lane& lane, uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms) {
  constexpr bool dry = M == TraceMode::dry;
  Slot& ingress = *slots_[in];
  [[maybe_unused]] PortCounters& in_counters = ingress.port->counters();
  const bool hub = settings_.forwarding == Forwarding::hub;
  lane.burst_ms = now_ms;
  lane.flood_groups_for = kNoGroups;
  const bool storm = ingress.storm.active();
  if (storm) [[unlikely]]
    ingress.storm.refill(now_ms);
  if (!dry && !ingress.taps.empty()) [[unlikely]] {
    for (PortTap* tap : ingress.taps)
      tap->frames(TapPoint::received, pkts, n);
  }
  if (!dry && !ingress.mirror_received.empty()) [[unlikely]]
    mirror(lane, ingress, ingress.mirror_received, pkts, n);
  if (ingress.mirror_output) [[unlikely]] {
    for (uint16_t i = 0; i < n; ++i) {
      if constexpr (M == TraceMode::live) lane.tracing = open_trace(lane, ingress, pkts[i]);
      if constexpr (!dry) {
        in_counters.in_packets++;
        in_counters.in_bytes += pkts[i]->pkt_len;
      }
      trace_step<M>(lane, [&](FrameTrace& t) { trace::mirror_output(t, ingress.port->name()); });
      drop<M>(lane, ingress, pkts[i], DropReason::mirror, TapPoint::received);
    }
    return;
  }

  // A table that fits in the cache gains nothing from prefetching, and pays for the hashing.
  const bool prefetch = !dry && !hub && fdb_.large();
  while (n > 0) {
    const uint16_t chunk = std::min(n, kBurst);
    Classified classified[kBurst];
    [[maybe_unused]] FrameTrace* traces[M == TraceMode::off ? 1 : kBurst];
    uint16_t kept = 0;
    // Added once a chunk: through the port's counters, the stores of every frame stayed.
    uint64_t in_bytes = 0;
    // Pass one: check and classify the whole burst, and start fetching its FDB slots.
    for (uint16_t i = 0; i < chunk; ++i) {
      rte_mbuf* m = pkts[i];
      if constexpr (M == TraceMode::live) lane.tracing = open_trace(lane, ingress, m);
      if (!ingress.mirror_received.empty()) {
        trace_step<M>(lane, [&](FrameTrace& t) {
          trace_mirrors(t, ingress, ingress.mirror_received, m, true, dry);
        });
      }
      const uint32_t len = m->pkt_len;
      in_bytes += len;
      if (len < kEtherHeaderLen) {
        trace_step<M>(lane, [&](FrameTrace& t) { trace::runt(t, len, false); });
        drop<M>(lane, ingress, m, DropReason::runt, TapPoint::received);
        continue;
      }
      // The headers we read must sit in the first segment.
      if (m->data_len < std::min(len, kEtherHeaderLen + 2 * kVlanTagLen) &&
          rte_pktmbuf_linearize(m) != 0) {
        trace_step<M>(lane, [&](FrameTrace& t) { trace::unjoinable(t); });
        drop<M>(lane, ingress, m, DropReason::no_buffer, TapPoint::received);
        continue;
      }
      const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
      Classified& f = classified[kept];
      if (hub) {
        // A hub does not look at VLANs; a tag still does not count against the MTU.
        f.tagged = load_be16(frame + 12) == kEtherTypeVlan && len >= kEtherHeaderLen + kVlanTagLen;
        f.priority = false;
        f.vlan = 0;
      } else {
        const auto cls = classify_vlan(ingress.vlan, frame, len);
        if (!cls) {
          const bool truncated_tag =
              load_be16(frame + 12) == kEtherTypeVlan && len < kEtherHeaderLen + kVlanTagLen;
          trace_step<M>(lane, [&](FrameTrace& t) {
            truncated_tag ? trace::runt(t, len, true)
                          : trace::vlan_refused(t, ingress.port->name(), ingress.vlan, frame);
          });
          drop<M>(lane, ingress, m, truncated_tag ? DropReason::runt : DropReason::vlan,
                  TapPoint::received);
          continue;
        }
        f.vlan = cls->vlan;
        f.tagged = cls->tagged;
        f.priority = cls->priority_tagged;
      }
      f.payload = len - kEtherHeaderLen - (f.tagged ? kVlanTagLen : 0);
      trace_step<M>(lane, [&](FrameTrace& t) {
        trace::classified(t, hub, f.vlan, f.tagged, f.priority, frame, f.payload);
      });
      if (f.payload > ingress.mtu) {
        trace_step<M>(lane, [&](FrameTrace& t) {
          trace::oversize(t, ingress.port->name(), f.payload, ingress.mtu, false, true);
        });
        drop<M>(lane, ingress, m, DropReason::oversize, TapPoint::received);
        continue;
      }
      trace_step<M>(lane,
                    [&](FrameTrace& t) { trace::checks_passed(t, len, f.payload, ingress.mtu); });
      f.m = m;
      f.dst = load_mac48(frame);
      f.src = load_mac48(frame + 6);
      if (prefetch) {
        fdb_.prefetch(Fdb::key(f.dst, f.vlan));
        fdb_.prefetch(Fdb::key(f.src, f.vlan));
      }
      if constexpr (M != TraceMode::off) traces[kept] = lane.tracing;
      ++kept;
    }
    if constexpr (!dry) {
      in_counters.in_packets += chunk;
      in_counters.in_bytes += in_bytes;
    }

    // Storm control of group destinations, before learning: a storm of broadcasts from made-up
    // sources teaches the FDB nothing. A pass of its own, so a port without it pays nothing a
    // frame.
    if (storm) [[unlikely]] {
      uint16_t admitted = 0;
      for (uint16_t i = 0; i < kept; ++i) {
        if constexpr (M != TraceMode::off) lane.tracing = traces[i];
        const Classified& f = classified[i];
        if ((f.dst & 1) && !storm_admits<M>(lane, ingress, StormControl::kind_of(f.dst))) {
          drop<M>(lane, ingress, f.m, DropReason::storm, TapPoint::received);
          continue;
        }
        classified[admitted] = f;
        if constexpr (M != TraceMode::off) traces[admitted] = traces[i];
        ++admitted;
      }
      kept = admitted;
    }

    // Pass two: learn, look up, and hand each frame to its destinations' buffers.
    if (hub) {
      for (uint16_t i = 0; i < kept; ++i) {
        if constexpr (M != TraceMode::off) lane.tracing = traces[i];
        const Classified& f = classified[i];
        // A hub learns nothing, so of port security only the list of sources applies.
        if (ingress.guarded && !source_listed(ingress, f.src)) [[unlikely]] {
          refuse_source<M>(lane, ingress, f, Refusal::not_listed);
          drop<M>(lane, ingress, f.m, DropReason::source, TapPoint::received);
          continue;
        }
        trace_step<M>(lane, [&](FrameTrace& t) {
          trace::not_learned_hub(t);
          trace::hub_flood(t, hub_ports_.size() - 1);
        });
        flood<M>(lane, in, f, hub_ports_);
      }
    } else {
      uint64_t last_src = ~uint64_t{0};
      bool source_ok = true;  // last_src's verdict
      // Read once a burst: reloaded through slots_ for every frame it cost 5 instructions each.
      const bool guarded = ingress.guarded;
      for (uint16_t i = 0; i < kept; ++i) {
        if constexpr (M != TraceMode::off) lane.tracing = traces[i];
        const Classified& f = classified[i];
        const uint64_t src_key = Fdb::key(f.src, f.vlan);
        if (src_key != last_src) {
          last_src = src_key;
          source_ok = guarded ? learn_guarded<M>(lane, in, f, now_ms)
                              : learn_source<M>(lane, in, f, now_ms);
        } else {
          trace_step<M>(lane, [&](FrameTrace& t) {
            (f.src & 1) ? trace::not_learned_multicast(t, f.src)
                        : trace::learned_just_before(t, f.src, f.vlan);
          });
        }
        if (!source_ok) [[unlikely]] {
          drop<M>(lane, ingress, f.m, DropReason::source, TapPoint::received);
          continue;
        }
        forward<M>(lane, in, f);
      }
    }
    pkts += chunk;
    n = static_cast<uint16_t>(n - chunk);
  }
}

// Part of the burst loop, as it was before it had instances: called apart, its call for every
// frame cost 13 % of a learned-unicast burst's instructions (callgrind). The FDB applies the
// port's max-macs and sticky itself, where an entry is added or moves.
template <TraceMode M>
[[gnu::always_inline]] inline bool Segment::learn_source(Lane& lane, uint16_t in,
                                                         const Classified& f, uint64_t now_ms) {
  if (f.src & 1) {
    trace_step<M>(lane, [&](FrameTrace& t) { trace::not_learned_multicast(t, f.src); });
    return true;
  }
  const uint64_t src_key = Fdb::key(f.src, f.vlan);
  if constexpr (M == TraceMode::dry) {
    bool evicts = false;
    const auto r = fdb_.predict(src_key, in, now_ms, settings_.flap_hold_ms, &evicts);
    if (r.what == Fdb::Learned::added || r.what == Fdb::Learned::moved ||
        r.what == Fdb::Learned::refreshed) {
      lane.dry_learned_key = src_key;
    }
    return learn_news<M>(lane, in, f, r, evicts, now_ms);
  } else {
    const bool full = M == TraceMode::live && fdb_.size() >= fdb_.limit();
    const auto r = fdb_.learn(src_key, in, now_ms, settings_.flap_hold_ms);
    if (r.what == Fdb::Learned::refreshed) [[likely]] {
      trace_step<M>(lane, [&](FrameTrace& t) { trace_learned(t, f, r, in, false, false); });
      return true;
    }
    return learn_news<M>(lane, in, f, r, full && r.what == Fdb::Learned::added, now_ms);
  }
}

// What learning something other than a refresh means for the frame: another port's own address
// (a gateway's, a guest's listed one) claimed here is spoofed; a guarded port may be full.
template <TraceMode M>
bool Segment::learn_news(Lane& lane, uint16_t in, const Classified& f, Fdb::LearnResult r,
                         bool evicts, uint64_t now_ms) {
  Slot& s = *slots_[in];
  constexpr bool dry = M == TraceMode::dry;
  if (!dry && r.what == Fdb::Learned::moved) note_move(lane, f, in, r, now_ms);
  switch (r.what) {
    case Fdb::Learned::kept_static:
      if (r.old_port != in) return refuse_source<M>(lane, s, f, Refusal::pinned, r.old_port);
      break;
    case Fdb::Learned::over_limit:
      return refuse_source<M>(lane, s, f, Refusal::over_limit);
    case Fdb::Learned::refused:
      if (s.sticky) return refuse_source<M>(lane, s, f, Refusal::fdb_full);
      break;
    case Fdb::Learned::added:
    case Fdb::Learned::moved:
      if (s.sticky) {
        trace_step<M>(lane, [&](FrameTrace& t) {
          trace::learned_sticky(t, f.src, f.vlan, s.port->name(), fdb_.entries_of(in), s.max_macs,
                                dry);
        });
        return true;
      }
      break;
    case Fdb::Learned::refreshed:
      break;
  }
  trace_step<M>(lane, [&](FrameTrace& t) { trace_learned(t, f, r, in, evicts, dry); });
  return true;
}

void Segment::trace_learned(FrameTrace& t, const Classified& f, const Fdb::LearnResult& r,
                            uint16_t in, bool evicts, bool synthetic) const {
  const Port* old = port(r.old_port);
  trace::learned(t, f.src, f.vlan, r, port(in)->name(), old ? old->name() : "?", evicts,
                 fdb_.limit(), synthetic);
}

template <TraceMode M>
[[gnu::always_inline]] inline bool Segment::learn_guarded(Lane& lane, uint16_t in,
                                                          const Classified& f, uint64_t now_ms) {
  Slot& s = *slots_[in];
  if (!source_listed(s, f.src)) return refuse_source<M>(lane, s, f, Refusal::not_listed);
  return learn_source<M>(lane, in, f, now_ms);
}

template <TraceMode M>
bool Segment::refuse_source(Lane& lane, Slot& s, const Classified& f, Refusal why,
                            uint16_t holder) {
  static constexpr std::array<const char*, 4> kWhy = {
      "not one of the port's macs", "the port holds its max-macs", "pinned to port",
      "the FDB is full of static entries"};
  const Port* at = port(holder);
  const std::string reason = std::string(kWhy[static_cast<size_t>(why)]) +
                             (why == Refusal::pinned && at ? " " + at->name() : "");
  trace_step<M>(lane, [&](FrameTrace& t) {
    trace::source_refused(t, f.src, f.vlan, s.port->name(), reason, s.max_macs);
  });
  if constexpr (M != TraceMode::dry) {
    if (s.source_log.allow(lane.burst_ms)) {
      log(LogLevel::warn,
          "segment %s: port %s: frames from %s in VLAN %u dropped: %s%s "
          "(%lu more refused in the last interval)",
          name().c_str(), s.port->name().c_str(), MacAddr(f.src).str().c_str(), f.vlan,
          reason.c_str(),
          why == Refusal::over_limit ? (" (" + std::to_string(s.max_macs) + ")").c_str() : "",
          static_cast<unsigned long>(s.source_log.suppressed()));
    }
  }
  return false;
}

template <TraceMode M>
bool Segment::storm_admits(Lane& lane, Slot& s, StormControl::Kind k) {
  const bool ok = M == TraceMode::dry ? s.storm.would_admit(k) : s.storm.admit(k);
  if (ok) return true;
  trace_step<M>(lane, [&](FrameTrace& t) {
    trace::storm(t, s.port->name(), StormControl::name(k), s.storm.limit(k));
  });
  if constexpr (M != TraceMode::dry) note_storm(lane, s, k);
  return false;
}

void Segment::note_storm(const Lane& lane, Slot& s, StormControl::Kind k) {
  if (!s.storm_log.allow(lane.burst_ms)) return;
  log(LogLevel::warn,
      "segment %s: port %s: storm control dropping %s frames over %u a second "
      "(%lu dropped so far)",
      name().c_str(), s.port->name().c_str(), std::string(StormControl::name(k)).c_str(),
      s.storm.limit(k), static_cast<unsigned long>(s.storm.refused(k)));
}

void Segment::note_move(Lane& lane, const Classified& f, uint16_t in, const Fdb::LearnResult& r,
                        uint64_t now_ms) {
  if (!r.flapping) return;
  ++lane.counters_.flap_events;
  if (!lane.flap_log.allow(now_ms)) return;
  const Port* from = port(r.old_port);
  log(LogLevel::warn,
      "segment %s: MAC %s in VLAN %u is flapping between ports %s and %s "
      "(%lu more flap events in the last interval)",
      name().c_str(), MacAddr(f.src).str().c_str(), f.vlan, from ? from->name().c_str() : "?",
      port(in)->name().c_str(), static_cast<unsigned long>(lane.flap_log.suppressed()));
}

template <TraceMode M>
[[gnu::always_inline]] inline void Segment::forward(Lane& lane, uint16_t in, const Classified& f) {
  constexpr bool dry = M == TraceMode::dry;
  if (f.dst & 1) {
    if constexpr (!dry) ++lane.counters_.flooded;
    flood<M>(lane, in, f, flood_sets_[f.vlan]);
    return;
  }
  const uint64_t dst_key = Fdb::key(f.dst, f.vlan);
  uint16_t out = fdb_.lookup(dst_key);
  // Had the synthetic frame's source been learned, a frame to itself would find it.
  if constexpr (dry) {
    if (dst_key == lane.dry_learned_key) out = in;
  }
  if (out == kNoPort) {
    Slot& ingress = *slots_[in];
    if (ingress.storm.active() && !storm_admits<M>(lane, ingress, StormControl::unknown))
        [[unlikely]] {
      drop<M>(lane, ingress, f.m, DropReason::storm, TapPoint::received);
      return;
    }
    if constexpr (!dry) {
      ++lane.counters_.flooded;
      ++lane.counters_.unknown;
    }
    flood<M>(lane, in, f, flood_sets_[f.vlan]);
    return;
  }
  Slot& ingress = *slots_[in];
  trace_step<M>(lane, [&](FrameTrace& t) { trace::hit(t, f.dst, f.vlan, port(out)->name()); });
  if (out == in) {
    trace_step<M>(lane, [&](FrameTrace& t) { trace::hairpin(t, ingress.port->name()); });
    drop<M>(lane, ingress, f.m, DropReason::hairpin, TapPoint::received);
    return;
  }
  Slot& egress = *slots_[out];
  const bool allowed =
      settings_.policy.matrix.allows(ingress.role, egress.role) && !egress.mirror_output;
  trace_step<M>(lane, [&](FrameTrace& t) {
    if (egress.mirror_output) {
      trace::to_mirror_output(t, egress.port->name());
    } else {
      trace::policy(t, egress.port->name(), ingress.role, egress.role, allowed, settings_.policy,
                    true);
    }
  });
  if (!allowed) {
    drop<M>(lane, ingress, f.m, DropReason::policy, TapPoint::received);
    return;
  }
  // The FDB was learned under the old VLAN settings only until the port's flush; re-check
  // anyway, as a Linux bridge's should_deliver() does, so no entry can leak a VLAN.
  if (!egress.vlan.member.test(f.vlan)) {
    trace_step<M>(lane, [&](FrameTrace& t) { trace::not_in_vlan(t, egress.port->name(), f.vlan); });
    drop<M>(lane, ingress, f.m, DropReason::vlan, TapPoint::received);
    return;
  }
  if (f.payload > egress.mtu) {
    trace_step<M>(lane, [&](FrameTrace& t) {
      trace::oversize(t, egress.port->name(), f.payload, egress.mtu, true, true);
    });
    drop<M>(lane, egress, f.m, DropReason::oversize, TapPoint::sent);
    return;
  }
  const bool want_tag = egress.vlan.egress_tagged.test(f.vlan);
  // Most frames leave as they came: that test inline, the conversion a call.
  rte_mbuf* m = form_matches(f.tagged, f.priority, want_tag)
                    ? f.m
                    : in_form<M>(lane, f, {.tagged = want_tag, .may_modify = true});
  if (m == nullptr) {
    trace_step<M>(lane, [&](FrameTrace& t) { trace::no_buffer(t, egress.port->name(), true); });
    drop<M>(lane, egress, f.m, DropReason::no_buffer, TapPoint::sent);
    return;
  }
  trace_step<M>(lane, [&](FrameTrace&) { trace_egress<M>(lane, f, {out}, m, want_tag, true); });
  if (m != f.m) rte_pktmbuf_free(f.m);
  enqueue<M>(lane, out, m);
}

namespace {

// How in_form() would give a frame the form a port wants.
// `shared`: a real frame would be held by another too (a mirror's reference).
template <class Classified>
trace::Egress predict_egress(const Classified& f, bool want_tag, bool may_modify, bool shared) {
  if (form_matches(f.tagged, f.priority, want_tag)) return trace::Egress::as_received;
  const bool fits = !want_tag || f.tagged || rte_pktmbuf_headroom(f.m) >= kVlanTagLen;
  return may_modify && !shared && tagging::exclusive(f.m) && fits ? trace::Egress::in_place
                                                                  : trace::Egress::copied;
}

}  // namespace

template <TraceMode M>
void Segment::trace_egress(const Lane& lane, const Classified& f, const std::vector<uint16_t>& outs,
                           rte_mbuf* m, bool want_tag, bool may_modify) {
  FrameTrace& t = *lane.tracing;
  const bool hub = settings_.forwarding == Forwarding::hub;
  trace::Egress how;
  if constexpr (M == TraceMode::dry) {
    how = predict_egress(f, want_tag, may_modify, lane.dry_shared);
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
rte_mbuf* Segment::in_form(Lane& lane, const Classified& f, EgressForm form) {
  const bool want_tag = form.tagged;
  // A synthetic frame stays as it is; its trace says what would have been done to it.
  if constexpr (M == TraceMode::dry) return f.m;
  if (form_matches(f.tagged, f.priority, want_tag)) return f.m;
  if (form.may_modify && tagging::exclusive(f.m) && convert(f.m, f.tagged, want_tag, f.vlan)) {
    return f.m;
  }
  rte_mbuf* c = rte_pktmbuf_copy(f.m, f.m->pool, 0, UINT32_MAX);
  if (c == nullptr) return nullptr;
  ++lane.counters_.copies;
  if (!convert(c, f.tagged, want_tag, f.vlan)) {
    rte_pktmbuf_free(c);
    return nullptr;
  }
  return c;
}

// The recipients of a flood depend on the ingress port and the VLAN only, unless the frame is
// larger than some recipient's MTU: found once a burst for each VLAN it floods in, as netmap's
// VALE does, not once a frame. A traced frame takes the long way, which says why of each port.
template <TraceMode M>
void Segment::flood(Lane& lane, uint16_t in, const Classified& f,
                    const std::vector<uint16_t>& members) {
  const bool hub = settings_.forwarding == Forwarding::hub;
  trace_step<M>(lane, [&](FrameTrace& t) {
    if (hub) return;  // said by run()
    const bool member = std::binary_search(members.begin(), members.end(), in);
    trace::flood(t, f.dst, f.vlan, members.size() - (member ? 1 : 0));
  });
  const uint32_t key = hub ? kHubGroups : f.vlan;
  if (M != TraceMode::off || lane.flood_groups_for != key) {
    group_flood<M>(lane, in, f, members, M != TraceMode::off);
    lane.flood_groups_for = M == TraceMode::off ? key : kNoGroups;
  }
  if (M == TraceMode::off && f.payload > lane.flood_groups.min_mtu) [[unlikely]] {
    group_flood<M>(lane, in, f, members, true);
    lane.flood_groups_for = kNoGroups;
  }
  const std::vector<uint16_t>& untagged = lane.flood_groups.untagged;
  const std::vector<uint16_t>& tagged = lane.flood_groups.tagged;
  const bool to_untagged = !untagged.empty();
  const bool to_tagged = !tagged.empty();
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
      for_untagged = in_form<M>(lane, f, {.tagged = false, .may_modify = false});
      untagged_may_modify = false;
    } else {
      for_tagged = in_form<M>(lane, f, {.tagged = true, .may_modify = false});
      tagged_may_modify = false;
      for_untagged = in_form<M>(lane, f, {.tagged = false, .may_modify = true});
    }
  } else if (to_untagged) {
    for_untagged = in_form<M>(lane, f, {.tagged = false, .may_modify = true});
  } else if (to_tagged) {
    for_tagged = in_form<M>(lane, f, {.tagged = true, .may_modify = true});
  }
  trace_step<M>(lane, [&](FrameTrace&) {
    trace_egress<M>(lane, f, untagged, for_untagged, false, untagged_may_modify);
    trace_egress<M>(lane, f, tagged, for_tagged, true, tagged_may_modify);
  });
  if constexpr (M != TraceMode::dry) {
    const bool original_used =
        (to_untagged && for_untagged == f.m) || (to_tagged && for_tagged == f.m);
    if (!original_used) rte_pktmbuf_free(f.m);
  }
  deliver_group<M>(lane, untagged, for_untagged);
  deliver_group<M>(lane, tagged, for_tagged);
}

// Splits the members by the form they take the frame in, leaving out the ingress port and
// those the policy forbids; with `check_mtu`, also those the frame is too large for (counted).
template <TraceMode M>
void Segment::group_flood(Lane& lane, uint16_t in, const Classified& f,
                          const std::vector<uint16_t>& members, bool check_mtu) {
  const Slot& ingress = *slots_[in];
  const bool hub = settings_.forwarding == Forwarding::hub;
  const RoleMatrix& matrix = settings_.policy.matrix;
  FloodGroups& g = lane.flood_groups;
  g.untagged.clear();
  g.tagged.clear();
  g.min_mtu = UINT32_MAX;
  for (uint16_t out : members) {
    if (out == in) continue;
    const Slot& egress = *slots_[out];
    const bool allowed = matrix.allows(ingress.role, egress.role);
    trace_step<M>(lane, [&](FrameTrace& t) {
      trace::policy(t, egress.port->name(), ingress.role, egress.role, allowed, settings_.policy,
                    false);
    });
    if (!allowed) continue;
    if (check_mtu && f.payload > egress.mtu) {
      trace_step<M>(lane, [&](FrameTrace& t) {
        trace::oversize(t, egress.port->name(), f.payload, egress.mtu, true, false);
      });
      note_drop<M>(egress, f.m, DropReason::oversize, TapPoint::sent);
      continue;
    }
    g.min_mtu = std::min(g.min_mtu, egress.mtu);
    // A hub sends every frame as it came; so does a switch to ports wanting the same form.
    const bool want_tag = !hub && egress.vlan.egress_tagged.test(f.vlan);
    (want_tag ? g.tagged : g.untagged).push_back(out);
  }
}

template <TraceMode M>
void Segment::deliver_group(Lane& lane, const std::vector<uint16_t>& outs, rte_mbuf* m) {
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
    enqueue<M>(lane, out, m);
}

// Inlined into its callers here: as a call it was 26 instructions a learned-unicast frame.
template <TraceMode M>
[[gnu::always_inline]] inline void Segment::enqueue(Lane& lane, uint16_t out, rte_mbuf* m) {
  if constexpr (M != TraceMode::off) {
    const Slot& s = *slots_[out];
    if (!s.mirror_sent.empty()) {
      trace_step<M>(lane, [&](FrameTrace& t) {
        trace_mirrors(t, s, s.mirror_sent, m, false, M == TraceMode::dry);
      });
    }
    if constexpr (M == TraceMode::dry) {
      trace_step<M>(lane, [&](FrameTrace& t) {
        trace::transmitted(t, s.port->name(), trace::TxResult::would_send);
      });
      return;
    }
  }
  Lane::TxQueue& q = lane.tx[out];
  if (!q.dirty) {
    q.dirty = true;
    lane.dirty.push_back(out);
  }
  if constexpr (M == TraceMode::live) {
    if (lane.tracing != nullptr) note_traced_tx(lane, out);
  }
  q.mbufs[q.n++] = m;
  if (q.n == kTxBurstMax) transmit(lane, out);
}

void Segment::transmit(Lane& lane, uint16_t id) {
  Slot& s = *slots_[id];
  Lane::TxQueue& q = lane.tx[id];
  const uint16_t n = q.n;
  uint32_t lengths[kTxBurstMax];
  for (uint16_t i = 0; i < n; ++i)
    lengths[i] = q.mbufs[i]->pkt_len;
  q.n = 0;
  if (!s.taps.empty()) [[unlikely]] {
    for (PortTap* tap : s.taps)
      tap->frames(TapPoint::sent, q.mbufs.data(), n);
  }
  if (!s.mirror_sent.empty()) [[unlikely]]
    mirror(lane, s, s.mirror_sent, q.mbufs.data(), n);
  const uint16_t sent =
      q.traced == 0 ? s.port->transmit(q.mbufs.data(), n) : transmit_traced(lane, id, n);
  PortCounters& c = s.port->counters();
  c.out_packets += sent;
  for (uint16_t i = 0; i < sent; ++i)
    c.out_bytes += lengths[i];
}

template <TraceMode M>
void Segment::drop(Lane& lane, Slot& s, rte_mbuf* m, DropReason why, TapPoint where) {
  trace_step<M>(lane, [&](FrameTrace& t) { t.dropped = why; });
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
  // A lane of its own: a dry run changes nothing the datapath's lanes hold.
  Lane lane(0);
  lane.tracing = &t;
  lane.dry_learned_key = ~uint64_t{0};
  // A mirror of what the port receives holds a one-buffer frame by reference (mirror.cpp); as
  // near as the trace can say without choosing by the mirror's VLANs.
  lane.dry_shared = !slots_[id]->mirror_received.empty() && m->nb_segs == 1;
  rte_mbuf* one[1] = {m};
  run<TraceMode::dry>(lane, id, one, 1, now_ms);
  trace::finish(t);
  return t;
}

// Each instance of the pipeline as an ordinary function of this file, not a template's
// throw-away copy: the compiler then weighs inlining it as it did before traces existed.
#define VSWITCH_PIPELINE_INSTANCE(M)                                                               \
  template void Segment::run<M>(Lane&, uint16_t, rte_mbuf**, uint16_t, uint64_t);                  \
  template bool Segment::learn_source<M>(Lane&, uint16_t, const Classified&, uint64_t);            \
  template bool Segment::learn_guarded<M>(Lane&, uint16_t, const Classified&, uint64_t);           \
  template bool Segment::learn_news<M>(Lane&, uint16_t, const Classified&, Fdb::LearnResult, bool, \
                                       uint64_t);                                                  \
  template bool Segment::refuse_source<M>(Lane&, Slot&, const Classified&, Refusal, uint16_t);     \
  template bool Segment::storm_admits<M>(Lane&, Slot&, StormControl::Kind);                        \
  template void Segment::forward<M>(Lane&, uint16_t, const Classified&);                           \
  template void Segment::flood<M>(Lane&, uint16_t, const Classified&,                              \
                                  const std::vector<uint16_t>&);                                   \
  template void Segment::group_flood<M>(Lane&, uint16_t, const Classified&,                        \
                                        const std::vector<uint16_t>&, bool);                       \
  template rte_mbuf* Segment::in_form<M>(Lane&, const Classified&, EgressForm);                    \
  template void Segment::deliver_group<M>(Lane&, const std::vector<uint16_t>&, rte_mbuf*);         \
  template void Segment::enqueue<M>(Lane&, uint16_t, rte_mbuf*);                                   \
  template void Segment::drop<M>(Lane&, Slot&, rte_mbuf*, DropReason, TapPoint);                   \
  template void Segment::note_drop<M>(const Slot&, const rte_mbuf*, DropReason, TapPoint);
VSWITCH_PIPELINE_INSTANCE(TraceMode::off)
VSWITCH_PIPELINE_INSTANCE(TraceMode::live)
VSWITCH_PIPELINE_INSTANCE(TraceMode::dry)

}  // namespace vswitch
