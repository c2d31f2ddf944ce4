#include "rates.hpp"

#include <array>
#include <string_view>

namespace vswitch::cli {

using daemon::Value;

namespace {

int64_t counter(const Value* row, std::string_view key) {
  const Value* v = row ? row->at(key) : nullptr;
  return v && v->is_number() ? v->as_int() : 0;
}

// The row of `rows` with this name and segment, if any.
const Value* find_row(const Value* rows, const Value& like, bool by_segment) {
  if (!rows) return nullptr;
  const Value* name = like.get("name");
  const Value* segment = like.get("segment");
  for (const Value& r : rows->items()) {
    const Value* n = r.get("name");
    if (!n || !name || n->as_string() != name->as_string()) continue;
    if (by_segment) {
      const Value* s = r.get("segment");
      if (!s || !segment || s->as_string() != segment->as_string()) continue;
    }
    return &r;
  }
  return nullptr;
}

class Window {
 public:
  explicit Window(int64_t ms) : seconds_(static_cast<double>(ms) / 1000.0) {}
  // Per second, of what the counter at `key` grew by.
  double rate(const Value* before, const Value& after, std::string_view key) const {
    const int64_t now = counter(&after, key);
    const int64_t then = counter(before, key);
    return static_cast<double>(now >= then ? now - then : now) / seconds_;
  }

 private:
  double seconds_;
};

Value port_rates(const Window& w, const Value* before, const Value& after) {
  Value drops = Value::object();
  double dropped = 0;
  if (const Value* d = after.get("drops")) {
    for (const auto& [reason, count] : d->members()) {
      const double r = w.rate(before, after, "drops." + reason);
      if (r > 0) drops.set(reason, r);
      dropped += r;
    }
  }
  Value row = Value::object();
  row.set("name", after.get("name")->as_string())
      .set("segment", after.get("segment") ? after.get("segment")->as_string() : "")
      .set("kind", after.get("kind") ? after.get("kind")->as_string() : "")
      .set("in_pps", w.rate(before, after, "in_packets"))
      .set("in_bps", 8 * w.rate(before, after, "in_bytes"))
      .set("out_pps", w.rate(before, after, "out_packets"))
      .set("out_bps", 8 * w.rate(before, after, "out_bytes"))
      .set("dropped_per_s", dropped)
      .set("drops_per_s", std::move(drops));
  return row;
}

Value segment_rates(const Window& w, const Value* before, const Value& after) {
  static constexpr std::array<std::string_view, 5> kActivity = {"learned", "moved", "aged",
                                                                "evicted", "flooded"};
  Value row = Value::object();
  row.set("name", after.get("name")->as_string())
      .set("fdb_entries", counter(&after, "fdb_entries"));
  for (std::string_view key : kActivity)
    row.set(std::string(key) + "_per_s", w.rate(before, after, key));
  return row;
}

}  // namespace

std::optional<Value> rates(const Value& before, const Value& after) {
  const int64_t interval_ms = counter(&after, "time_ms") - counter(&before, "time_ms");
  if (interval_ms <= 0) return std::nullopt;
  const Window w(interval_ms);
  Value ports = Value::array();
  if (const Value* rows = after.get("ports")) {
    for (const Value& p : rows->items()) {
      if (!p.get("name")) continue;
      ports.push(port_rates(w, find_row(before.get("ports"), p, true), p));
    }
  }
  Value segments = Value::array();
  if (const Value* rows = after.get("segments")) {
    for (const Value& s : rows->items()) {
      if (!s.get("name")) continue;
      segments.push(segment_rates(w, find_row(before.get("segments"), s, false), s));
    }
  }
  Value out = Value::object();
  out.set("time_ms", counter(&after, "time_ms"))
      .set("interval_ms", interval_ms)
      .set("ports", std::move(ports))
      .set("segments", std::move(segments));
  return out;
}

}  // namespace vswitch::cli
