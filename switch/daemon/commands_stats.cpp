// `stats`: every counter of the running switch in one reply, read between two rounds so that
// all of them describe the same instant, stamped with the monotonic clock so that two samples
// give rates (vswitchctl top).
#include "commands.hpp"
#include "counter_tables.hpp"
#include "daemon.hpp"
#include "vswitch/clock.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

// Only the reasons that dropped something, so the readable table stays narrow; a reason
// missing here counted nothing.
Value nonzero_drops(const PortCounters& c) {
  Value d = Value::object();
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    if (c.drops[r] != 0) d.set(std::string(to_string(static_cast<DropReason>(r))), c.drops[r]);
  }
  return d;
}

Value port_stats(const Segment& seg, const Port& p) {
  const PortCounters& c = p.counters();
  Value row = Value::object();
  row.set("name", p.name())
      .set("segment", seg.name())
      .set("kind", p.kind())
      .set("role", to_string(p.settings().role));
  for (const auto& f : kPortCounters)
    row.set(f.key, c.*f.member);
  row.set("dropped", c.dropped_total()).set("drops", nonzero_drops(c));
  return row;
}

Value segment_stats(const Segment& s) {
  Value row = Value::object();
  row.set("name", s.name())
      .set("ports", static_cast<uint64_t>(s.port_count()))
      .set("fdb_entries", static_cast<uint64_t>(s.fdb().size()))
      .set("fdb_limit", s.fdb().limit());
  for (const auto& f : kFdbCounters)
    row.set(f.key, s.fdb().counters().*f.member);
  for (const auto& f : kSegmentCounters)
    row.set(f.key, s.counters().*f.member);
  return row;
}

}  // namespace

Reply Commands::stats(const Args& args) {
  if (args.size() > 1) throw ConfigError("usage: stats");
  const Engine& engine = daemon_.engine();
  Value ports = Value::array();
  Value segments = Value::array();
  for (const auto& s : engine.segments()) {
    segments.push(segment_stats(*s));
    s->for_each_port([&](uint16_t, Port& p) { ports.push(port_stats(*s, p)); });
  }
  Value eng = Value::object();
  for (const auto& f : kEngineCounters)
    eng.set(f.key, engine.stats().*f.member);
  Value v = Value::object();
  // The clock at the moment of reading, not the round's: the counters are the round's last.
  v.set("time_ms", monotonic_ms())
      .set("ports", std::move(ports))
      .set("segments", std::move(segments))
      .set("engine", std::move(eng));
  return Reply{true, std::move(v), {}, nullptr};
}

}  // namespace vswitch::daemon
