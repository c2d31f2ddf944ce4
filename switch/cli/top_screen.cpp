#include "top_screen.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace vswitch::cli {

using daemon::Value;

namespace {

using Row = std::vector<std::string>;
enum class Align : uint8_t { left, right };

std::string table(const std::vector<Row>& rows, const std::vector<Align>& align) {
  std::vector<size_t> width(align.size());
  for (const Row& r : rows) {
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (const Row& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) {
      const std::string pad(width[c] - r[c].size(), ' ');
      line += align[c] == Align::left ? r[c] + pad : pad + r[c];
      line += "  ";
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

double number(const Value& row, const char* key) {
  const Value* v = row.get(key);
  return v && v->is_number() ? v->as_double() : 0;
}

std::string text(const Value& row, const char* key) {
  const Value* v = row.get(key);
  return v ? v->as_string() : "";
}

std::string drops_text(const Value& row) {
  const Value* d = row.get("drops_per_s");
  std::string s;
  if (!d) return s;
  for (const auto& [reason, rate] : d->members()) {
    if (!s.empty()) s += " ";
    s += reason + "=" + si(rate.as_double());
  }
  return s;
}

}  // namespace

std::string si(double v) {
  static constexpr std::array<const char*, 5> kPrefixes = {"", "k", "M", "G", "T"};
  size_t p = 0;
  while (v >= 999.5 && p + 1 < kPrefixes.size()) {
    v /= 1000;
    ++p;
  }
  char buf[32];
  if (p == 0 && v == static_cast<double>(static_cast<int64_t>(v))) {
    snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    snprintf(buf, sizeof buf,
             v < 9.995   ? "%.2f%s"
             : v < 99.95 ? "%.1f%s"
                         : "%.0f%s",
             v, kPrefixes[p]);
  }
  return buf;
}

std::string top_screen(const Value& rates) {
  std::vector<Row> ports = {
      {"PORT", "SEGMENT", "KIND", "IN pkt/s", "IN bit/s", "OUT pkt/s", "OUT bit/s", "DROPS/s"}};
  if (const Value* rows = rates.get("ports")) {
    for (const Value& p : rows->items()) {
      const std::string drops = drops_text(p);
      ports.push_back({text(p, "name"), text(p, "segment"), text(p, "kind"),
                       si(number(p, "in_pps")), si(number(p, "in_bps")), si(number(p, "out_pps")),
                       si(number(p, "out_bps")), drops.empty() ? "-" : drops});
    }
  }
  std::vector<Row> segments = {
      {"SEGMENT", "FDB", "learned/s", "moved/s", "aged/s", "evicted/s", "flooded/s"}};
  if (const Value* rows = rates.get("segments")) {
    for (const Value& s : rows->items()) {
      segments.push_back({text(s, "name"), si(number(s, "fdb_entries")),
                          si(number(s, "learned_per_s")), si(number(s, "moved_per_s")),
                          si(number(s, "aged_per_s")), si(number(s, "evicted_per_s")),
                          si(number(s, "flooded_per_s"))});
    }
  }
  char head[96];
  snprintf(head, sizeof head, "vswitchd: %zu ports, %zu segments, rates over %.1f s\n\n",
           ports.size() - 1, segments.size() - 1, number(rates, "interval_ms") / 1000);
  using enum Align;
  return head + table(ports, {left, left, left, right, right, right, right, left}) + "\n" +
         table(segments, {left, right, right, right, right, right, right});
}

}  // namespace vswitch::cli
