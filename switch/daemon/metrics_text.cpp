#include "metrics_text.hpp"

#include <vector>

#include "counter_tables.hpp"
#include "prometheus_format.hpp"

namespace vswitch::daemon {

namespace {

struct PortRef {
  const Segment* segment;
  uint16_t id;
  const Port* port;
};

std::vector<PortRef> all_ports(const Engine& engine) {
  std::vector<PortRef> out;
  engine.for_each_port([&](Segment& s, uint16_t id, Port& p) { out.push_back({&s, id, &p}); });
  return out;
}

// Labels that name a port and never change while it lives: a series stays one series. What
// can change (role, VLANs) is in vswitch_port_info.
void port_metrics(PrometheusText& t, const std::vector<PortRef>& ports) {
  for (const auto& f : kPortCounters) {
    t.family(f.metric, MetricType::counter, f.help);
    for (const PortRef& r : ports) {
      t.sample({{"port", r.port->name()}, {"segment", r.segment->name()}, {"kind", r.port->kind()}},
               r.port->counters().*f.member);
    }
  }
  t.family(kPortDropsMetric, MetricType::counter, kPortDropsHelp);
  for (const PortRef& r : ports) {
    for (size_t i = 0; i < kDropReasonCount; ++i) {
      const auto reason = static_cast<DropReason>(i);
      t.sample({{"port", r.port->name()},
                {"segment", r.segment->name()},
                {"kind", r.port->kind()},
                {"reason", to_string(reason)}},
               r.port->counters().dropped(reason));
    }
  }
  t.family("vswitch_port_fdb_entries", MetricType::gauge,
           "MAC addresses the segment's FDB holds behind the port, learned ones only.");
  for (const PortRef& r : ports) {
    t.sample({{"port", r.port->name()}, {"segment", r.segment->name()}, {"kind", r.port->kind()}},
             r.segment->fdb().dynamic_entries_of(r.id));
  }
  t.family("vswitch_port_info", MetricType::gauge,
           "1 for every port, with its role and VLAN mode as labels.");
  for (const PortRef& r : ports) {
    const PortSettings& s = r.port->settings();
    t.sample({{"port", r.port->name()},
              {"segment", r.segment->name()},
              {"kind", r.port->kind()},
              {"role", to_string(s.role)},
              {"vlan_mode", to_string(s.vlan.mode)}},
             1);
  }
}

void segment_metrics(PrometheusText& t, const Engine& engine) {
  const auto& segments = engine.segments();
  t.family("vswitch_segment_ports", MetricType::gauge, "Ports attached to the segment.");
  for (const auto& s : segments)
    t.sample({{"segment", s->name()}}, s->port_count());
  t.family("vswitch_segment_fdb_entries", MetricType::gauge,
           "Entries in the segment's FDB, learned and static.");
  for (const auto& s : segments)
    t.sample({{"segment", s->name()}}, s->fdb().size());
  t.family("vswitch_segment_fdb_limit", MetricType::gauge,
           "The most entries the segment's FDB may hold.");
  for (const auto& s : segments)
    t.sample({{"segment", s->name()}}, s->fdb().limit());
  for (const auto& f : kFdbCounters) {
    t.family(f.metric, MetricType::counter, f.help);
    for (const auto& s : segments)
      t.sample({{"segment", s->name()}}, s->fdb().counters().*f.member);
  }
  for (const auto& f : kSegmentCounters) {
    t.family(f.metric, MetricType::counter, f.help);
    for (const auto& s : segments)
      t.sample({{"segment", s->name()}}, s->counters().*f.member);
  }
}

}  // namespace

std::string metrics_text(const Engine& engine) {
  PrometheusText t;
  port_metrics(t, all_ports(engine));
  segment_metrics(t, engine);
  for (const auto& f : kEngineCounters) {
    t.family(f.metric, MetricType::counter, f.help);
    t.sample({}, engine.stats().*f.member);
  }
  return t.take();
}

}  // namespace vswitch::daemon
