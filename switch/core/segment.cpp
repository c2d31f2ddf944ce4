// A segment's membership and upkeep: ports joining, changing and leaving, the flood sets they
// make, the FDB's flushes and ageing, the taps. The path of a frame is pipeline.cpp.
#include "vswitch/segment.hpp"

#include <rte_mbuf.h>

#include <algorithm>

namespace vswitch {

std::string_view to_string(Forwarding f) {
  return f == Forwarding::hub ? "hub" : "switch";
}

// Sized for the segment's most ports, so that the datapath never grows these.
Segment::Lane::Lane(uint16_t max_ports) {
  dirty.reserve(max_ports);
  flood_groups.untagged.reserve(max_ports);
  flood_groups.tagged.reserve(max_ports);
}

Segment::Segment(SegmentSettings settings)
    : settings_(std::move(settings)), fdb_(settings_.fdb_limit), flood_sets_(kVlanCount) {
  add_lane();
}

Segment::~Segment() {
  for (auto& lane : lanes_) {
    for (Lane::TxQueue& q : lane->tx) {
      if (q.n > 0) rte_pktmbuf_free_bulk(q.mbufs.data(), q.n);
    }
  }
}

Segment::Lane& Segment::add_lane() {
  auto lane = std::make_unique<Lane>(settings_.max_ports);
  lane->tx.resize(slots_.size());
  lanes_.push_back(std::move(lane));
  return *lanes_.back();
}

SegmentCounters Segment::counters() const {
  SegmentCounters sum;
  for (const auto& lane : lanes_) {
    const SegmentCounters& c = lane->counters();
    sum.flooded += c.flooded;
    sum.unknown += c.unknown;
    sum.flap_events += c.flap_events;
    sum.copies += c.copies;
  }
  return sum;
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
  if (auto err = s.security.validate()) throw ConfigError("port " + s.name + ": " + *err);
}

void Segment::apply_guards(uint16_t id, Slot& s, const PortSettings& settings) {
  s.storm.configure(settings.storm);
  const SourceGuard& g = settings.security;
  s.guarded = g.any();
  s.allowed_sources.clear();
  for (MacAddr mac : g.macs)
    s.allowed_sources.push_back(mac.bits());
  std::sort(s.allowed_sources.begin(), s.allowed_sources.end());
  s.max_macs = g.max_macs;
  s.sticky = g.sticky;
  fdb_.set_port_limit(id, {g.max_macs != 0 ? g.max_macs : UINT32_MAX, g.sticky});
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
  if (id == slots_.size()) {
    slots_.emplace_back();
    for (auto& lane : lanes_)
      lane->tx.resize(slots_.size());
  }
  auto slot = std::make_unique<Slot>();
  slot->vlan = PortVlan::from(port->settings().vlan);
  slot->role = port->settings().role;
  slot->mtu = port->settings().mtu;
  apply_guards(id, *slot, port->settings());
  slot->port = std::move(port);
  slots_[id] = std::move(slot);
  active_.insert(std::lower_bound(active_.begin(), active_.end(), id), id);
  join_flood_sets(id);
  fdb_.reserve_ports(size_t{id} + 1);
  pin_own_macs(id);
  return id;
}

size_t Segment::pin_own_macs(uint16_t id) {
  const Slot& s = *slots_[id];
  if (s.vlan.native == kNoVlan) return 0;  // a trunk without untagged frames
  size_t pinned = 0;
  auto pin = [&](MacAddr mac) {
    pinned += fdb_.add_static(Fdb::key(mac.bits(), s.vlan.native), id) ? 1 : 0;
  };
  for (MacAddr mac : s.port->own_macs())
    pin(mac);
  for (MacAddr mac : s.port->settings().security.macs)
    pin(mac);
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
  for (auto& lane : lanes_) {
    Lane::TxQueue& q = lane->tx[id];
    if (q.traced != 0) resolve_traced_tx(*lane, id, 0, false, true);
    if (q.n > 0) {
      s.port->counters().drop(DropReason::tx_error, q.n);
      rte_pktmbuf_free_bulk(q.mbufs.data(), q.n);
      q.n = 0;
    }
    std::erase(lane->dirty, id);
    q.dirty = false;
  }
  fdb_.flush_port(id);
  for (PortTap* tap : s.taps)
    tap->detached();
  if (s.trace != nullptr) {
    TraceSink* sink = s.trace;
    remove_trace(id, sink);
    sink->detached();
  }
  leave_flood_sets(id);
  std::erase(active_, id);
  drop_port_from_mirrors(id);
  auto port = std::move(s.port);
  slots_[id].reset();
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
  // What the port learned may no longer be reachable, or allowed.
  const bool relearn =
      !(settings.vlan == p->settings().vlan) || !(settings.security == p->settings().security);
  leave_flood_sets(id);
  p->settings_ = settings;
  s.vlan = PortVlan::from(settings.vlan);
  s.role = settings.role;
  s.mtu = settings.mtu;
  apply_guards(id, s, settings);
  join_flood_sets(id);
  if (relearn) flush_fdb(id);
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

// A port joins the flood sets of its VLANs (and the hub's) in id order, and leaves them, at the
// cost of its own VLANs: a mirror's output port takes part in none.
void Segment::join_flood_sets(uint16_t id) {
  const Slot& s = *slots_[id];
  if (s.mirror_output) return;
  auto join = [id](std::vector<uint16_t>& set) {
    set.insert(std::lower_bound(set.begin(), set.end(), id), id);
  };
  join(hub_ports_);
  s.vlan.member.for_each([&](uint16_t v) { join(flood_sets_[v]); });
}

void Segment::leave_flood_sets(uint16_t id) {
  const Slot& s = *slots_[id];
  auto leave = [id](std::vector<uint16_t>& set) {
    const auto it = std::lower_bound(set.begin(), set.end(), id);
    if (it != set.end() && *it == id) set.erase(it);
  };
  leave(hub_ports_);
  s.vlan.member.for_each([&](uint16_t v) { leave(flood_sets_[v]); });
}

void Segment::add_tap(uint16_t id, PortTap* tap) {
  if (!port(id)) throw ConfigError("no such port");
  slots_[id]->taps.push_back(tap);
}

void Segment::remove_tap(uint16_t id, PortTap* tap) {
  if (port(id)) std::erase(slots_[id]->taps, tap);
}

void Segment::flush(Lane& lane) {
  // By index: a mirror of what one port sends adds its output port to the list.
  for (size_t i = 0; i < lane.dirty.size(); ++i) {
    const uint16_t id = lane.dirty[i];
    Lane::TxQueue& q = lane.tx[id];
    q.dirty = false;
    if (q.n > 0) transmit(lane, id);
  }
  lane.dirty.clear();
}

void Segment::age(uint64_t now_ms) {
  fdb_.age(now_ms, settings_.ageing_s);
}

}  // namespace vswitch
