// The Prometheus text as the format's specification writes it.
#include <gtest/gtest.h>

#include "prometheus_format.hpp"

namespace vswitch::daemon {
namespace {

TEST(PrometheusFormat, FamiliesHelpTypeAndEscapedLabels) {
  PrometheusText t;
  t.family("x_total", MetricType::counter, "What \\ counts\nhere, \"quoted\".");
  t.sample({{"port", "a\"b\\c\nd"}, {"kind", "vde"}}, 7);
  t.sample({}, 18446744073709551615ull);
  t.family("y", MetricType::gauge, "A gauge.");
  EXPECT_EQ(t.text(),
            "# HELP x_total What \\\\ counts\\nhere, \"quoted\".\n"
            "# TYPE x_total counter\n"
            "x_total{port=\"a\\\"b\\\\c\\nd\",kind=\"vde\"} 7\n"
            "x_total 18446744073709551615\n"
            "# HELP y A gauge.\n"
            "# TYPE y gauge\n");
}

}  // namespace
}  // namespace vswitch::daemon
