// vswitchctl top's arithmetic: rates from two `stats` samples, and how they are written.
#include <gtest/gtest.h>

#include "rates.hpp"
#include "top_screen.hpp"
#include "value.hpp"

namespace vswitch::cli {
namespace {

using daemon::Value;

Value sample(const std::string& json) {
  auto v = Value::parse_json(json);
  EXPECT_TRUE(v) << json;
  return v ? *v : Value();
}

const Value* row(const Value& rates, const char* table, const std::string& name) {
  for (const Value& r : rates.get(table)->items()) {
    if (r.get("name")->as_string() == name) return &r;
  }
  return nullptr;
}

TEST(Rates, CountersOverTheSwitchsOwnInterval) {
  const Value before = sample(R"({"time_ms":10000,"ports":[{"name":"p0","segment":"s","kind":"vde",
    "in_packets":100,"in_bytes":10000,"out_packets":7,"out_bytes":700,"drops":{"vlan":3}}],
    "segments":[{"name":"s","fdb_entries":2,"learned":5,"moved":1,"aged":0,"evicted":0,
    "flooded":10}]})");
  const Value after = sample(R"({"time_ms":12500,"ports":[{"name":"p0","segment":"s","kind":"vde",
    "in_packets":1100,"in_bytes":135000,"out_packets":7,"out_bytes":700,
    "drops":{"vlan":8,"hairpin":1}}],
    "segments":[{"name":"s","fdb_entries":12,"learned":30,"moved":1,"aged":0,"evicted":0,
    "flooded":60}]})");
  const auto r = rates(before, after);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get("interval_ms")->as_int(), 2500);
  const Value* p = row(*r, "ports", "p0");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->get("in_pps")->as_double(), 400);
  EXPECT_DOUBLE_EQ(p->get("in_bps")->as_double(), 125000.0 * 8 / 2.5);
  EXPECT_DOUBLE_EQ(p->get("out_pps")->as_double(), 0);
  EXPECT_DOUBLE_EQ(p->at("drops_per_s.vlan")->as_double(), 2);
  EXPECT_DOUBLE_EQ(p->at("drops_per_s.hairpin")->as_double(), 0.4);
  EXPECT_DOUBLE_EQ(p->get("dropped_per_s")->as_double(), 2.4);
  const Value* s = row(*r, "segments", "s");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->get("fdb_entries")->as_int(), 12);
  EXPECT_DOUBLE_EQ(s->get("learned_per_s")->as_double(), 10);
  EXPECT_DOUBLE_EQ(s->get("moved_per_s")->as_double(), 0);
  EXPECT_DOUBLE_EQ(s->get("flooded_per_s")->as_double(), 20);
}

TEST(Rates, ResetCountersAndNewPortsCountFromZero) {
  const Value before = sample(R"({"time_ms":0,"ports":[{"name":"p0","segment":"s",
    "in_packets":5000},{"name":"gone","segment":"s","in_packets":1}],"segments":[]})");
  const Value after = sample(R"({"time_ms":1000,"ports":[{"name":"p0","segment":"s",
    "in_packets":30},{"name":"new","segment":"s","in_packets":70}],"segments":[]})");
  const auto r = rates(before, after);
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(row(*r, "ports", "p0")->get("in_pps")->as_double(), 30);
  EXPECT_DOUBLE_EQ(row(*r, "ports", "new")->get("in_pps")->as_double(), 70);
  EXPECT_FALSE(row(*r, "ports", "gone"));
}

TEST(Rates, APortOfTheSameNameInAnotherSegmentIsAnotherPort) {
  const Value before = sample(R"({"time_ms":0,"ports":[{"name":"p","segment":"a",
    "in_packets":1000}],"segments":[]})");
  const Value after = sample(R"({"time_ms":1000,"ports":[{"name":"p","segment":"b",
    "in_packets":1010}],"segments":[]})");
  EXPECT_DOUBLE_EQ(row(*rates(before, after), "ports", "p")->get("in_pps")->as_double(), 1010);
}

TEST(Rates, SamplesOutOfOrderGiveNone) {
  const Value a = sample(R"({"time_ms":5,"ports":[],"segments":[]})");
  EXPECT_FALSE(rates(a, a));
  EXPECT_FALSE(rates(a, sample(R"({"time_ms":4,"ports":[],"segments":[]})")));
}

TEST(Rates, RatesSurviveJson) {
  Value v = Value::object();
  v.set("a", 0.4).set("b", 2.0).set("c", 1e-7).set("d", 125000.5);
  const auto back = Value::parse_json(v.json());
  ASSERT_TRUE(back) << v.json();
  EXPECT_EQ(v.json(), R"({"a":0.4,"b":2.0,"c":1e-07,"d":125000.5})");
  EXPECT_EQ(back->get("a")->as_double(), 0.4);
  EXPECT_EQ(back->get("b")->type(), Value::Type::real) << "a rate stays a rate";
  EXPECT_EQ(back->get("c")->as_double(), 1e-7);
  EXPECT_EQ(Value::parse_json("[12]")->items()[0].type(), Value::Type::integer);
  EXPECT_EQ(Value::parse_json("-2.5e3")->as_double(), -2500);
  EXPECT_FALSE(Value::parse_json("1.2.3"));
}

TEST(TopScreen, NumbersWithSiPrefixes) {
  EXPECT_EQ(si(0), "0");
  EXPECT_EQ(si(300), "300");
  EXPECT_EQ(si(0.4), "0.40");
  EXPECT_EQ(si(12.34), "12.3");
  EXPECT_EQ(si(999), "999");
  EXPECT_EQ(si(1234), "1.23k");
  EXPECT_EQ(si(1'600'000), "1.60M");
  EXPECT_EQ(si(10e9), "10.0G");
}

TEST(TopScreen, TablesOfPortsAndSegments) {
  const Value r = sample(R"({"interval_ms":1000,"ports":[{"name":"vde:1","segment":"default",
    "kind":"vde","in_pps":300.0,"in_bps":2400000.0,"out_pps":0.0,"out_bps":0.0,
    "drops_per_s":{"hairpin":100.0}}],"segments":[{"name":"default","fdb_entries":2,
    "learned_per_s":0.0,"moved_per_s":0.0,"aged_per_s":0.0,"evicted_per_s":0.0,
    "flooded_per_s":1.5}]})");
  const std::string text = top_screen(r);
  EXPECT_NE(text.find("vde:1"), std::string::npos) << text;
  EXPECT_NE(text.find("2.40M"), std::string::npos) << text;
  EXPECT_NE(text.find("hairpin=100"), std::string::npos) << text;
  EXPECT_NE(text.find("1.50"), std::string::npos) << text;
  EXPECT_NE(text.find("rates over 1.0 s"), std::string::npos) << text;
}

}  // namespace
}  // namespace vswitch::cli
