// Mirrors (SPAN): the segment's copies of what chosen ports receive and send, to an output
// port that takes no other part in switching.
#include <rte_mbuf.h>

#include <algorithm>

#include "vswitch/segment.hpp"

#include "trace_steps.hpp"

namespace vswitch {

namespace {

// The VLAN a frame travels in on a port, as far as a mirror's filter cares: its tag's, or the
// port's untagged VLAN (none for a trunk without one, or a frame too short to say).
uint16_t vlan_of(const PortVlan& port, const rte_mbuf* m) {
  if (m->data_len < kEtherHeaderLen) return kNoVlan;  // its header in pieces: too odd to say
  const auto* frame = rte_pktmbuf_mtod(m, const uint8_t*);
  if (load_be16(frame + 12) != kEtherTypeVlan) return port.native;
  if (m->data_len < kEtherHeaderLen + kVlanTagLen) return kNoVlan;
  const uint16_t vid = load_be16(frame + 14) & 0x0fff;
  return vid == 0 ? port.native : vid;
}

// A copy of the frame for one more port: another reference when the frame is one direct
// buffer, nobody changes it in place while it is shared; a real copy otherwise, since a
// chained frame may yet be made contiguous in place.
rte_mbuf* mirror_copy(rte_mbuf* m) {
  if (m->nb_segs == 1 && RTE_MBUF_DIRECT(m)) {
    rte_mbuf_refcnt_update(m, 1);
    return m;
  }
  return rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
}

}  // namespace

void Segment::add_mirror(MirrorSettings mirror) {
  if (mirror.name.empty()) throw ConfigError("a mirror needs a name");
  for (const auto& m : mirrors_) {
    if (m->settings.name == mirror.name) throw ConfigError("mirror " + mirror.name + " exists");
  }
  if (!port(mirror.output)) throw ConfigError("mirror " + mirror.name + ": no output port");
  if (mirror.sources.empty()) throw ConfigError("mirror " + mirror.name + ": no source port");
  if (!mirror.received && !mirror.sent) {
    throw ConfigError("mirror " + mirror.name + ": mirrors no direction");
  }
  const std::string& out_name = port(mirror.output)->name();
  for (uint16_t src : mirror.sources) {
    if (!port(src)) throw ConfigError("mirror " + mirror.name + ": no such source port");
    if (src == mirror.output) {
      throw ConfigError("mirror " + mirror.name + ": port " + out_name +
                        " cannot be both source and output");
    }
    if (slots_[src]->mirror_output) {
      throw ConfigError("mirror " + mirror.name + ": port " + port(src)->name() +
                        " is a mirror's output");
    }
  }
  for (const auto& m : mirrors_) {
    const auto& srcs = m->settings.sources;
    if (std::find(srcs.begin(), srcs.end(), mirror.output) != srcs.end()) {
      throw ConfigError("mirror " + mirror.name + ": port " + out_name + " is a source of mirror " +
                        m->settings.name);
    }
  }
  auto m = std::make_unique<Mirror>();
  m->settings = std::move(mirror);
  mirrors_.push_back(std::move(m));
  rebuild_mirror_lists();
}

void Segment::remove_mirror(std::string_view name) {
  const size_t before = mirrors_.size();
  std::erase_if(mirrors_, [&](const auto& m) { return m->settings.name == name; });
  if (mirrors_.size() == before) throw ConfigError("no mirror named " + std::string(name));
  rebuild_mirror_lists();
}

void Segment::drop_port_from_mirrors(uint16_t id) {
  for (auto& m : mirrors_)
    std::erase(m->settings.sources, id);
  std::erase_if(mirrors_, [&](const auto& m) {
    if (m->settings.output != id && !m->settings.sources.empty()) return false;
    log(LogLevel::info, "segment %s: mirror %s removed with its last port", name().c_str(),
        m->settings.name.c_str());
    return true;
  });
  rebuild_mirror_lists();
}

void Segment::rebuild_mirror_lists() {
  std::vector<uint16_t> outputs_before;
  for (uint16_t id : active_) {
    if (slots_[id]->mirror_output) outputs_before.push_back(id);
  }
  for (auto& s : slots_) {
    if (!s) continue;
    s->mirror_received.clear();
    s->mirror_sent.clear();
    s->mirror_output = false;
  }
  for (auto& m : mirrors_) {
    if (Slot* out = slots_[m->settings.output].get()) out->mirror_output = true;
    for (uint16_t src : m->settings.sources) {
      if (!slots_[src]) continue;
      if (m->settings.received) slots_[src]->mirror_received.push_back(m.get());
      if (m->settings.sent) slots_[src]->mirror_sent.push_back(m.get());
    }
  }
  // An output port leaves the flood sets and stops taking part in forwarding; a port that is
  // no longer one comes back.
  for (uint16_t id : active_) {
    const bool was = std::binary_search(outputs_before.begin(), outputs_before.end(), id);
    const bool is = slots_[id]->mirror_output;
    if (!was && is) leave_flood_sets(id);
    if (was && !is) join_flood_sets(id);
    if (is) fdb_.flush_port(id);
  }
}

bool Segment::mirror_selects(const Slot& s, const MirrorSettings& ms, const rte_mbuf* m) const {
  // Shorter than a header is not a frame: the switch drops it as a runt, unmirrored.
  if (m->pkt_len < kEtherHeaderLen) return false;
  if (!ms.vlans) return true;
  const uint16_t vlan = vlan_of(s.vlan, m);
  return vlan != kNoVlan && ms.vlans->test(vlan);
}

void Segment::trace_mirrors(FrameTrace& t, const Slot& s, const std::vector<Mirror*>& mirrors,
                            const rte_mbuf* m, bool received, bool synthetic) const {
  for (const Mirror* mirror : mirrors) {
    if (!mirror_selects(s, mirror->settings, m)) continue;
    trace::mirrored(t, mirror->settings.name, slots_[mirror->settings.output]->port->name(),
                    s.port->name(), received, synthetic);
  }
}

void Segment::mirror(Lane& lane, const Slot& s, const std::vector<Mirror*>& mirrors,
                     rte_mbuf* const* pkts, uint16_t n) {
  for (Mirror* m : mirrors) {
    const MirrorSettings& ms = m->settings;
    for (uint16_t i = 0; i < n; ++i) {
      if (!mirror_selects(s, ms, pkts[i])) continue;
      rte_mbuf* copy = mirror_copy(pkts[i]);
      if (copy == nullptr) {
        ++m->counters.no_buffer;
        slots_[ms.output]->port->counters().drop(DropReason::no_buffer);
        continue;
      }
      ++m->counters.frames;
      enqueue<TraceMode::off>(lane, ms.output, copy);  // a mirror's copies are not traced
    }
  }
}

}  // namespace vswitch
