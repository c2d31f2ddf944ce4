// The Prometheus text as the format's specification writes it, and the listen addresses
// --metrics-listen takes.
#include <gtest/gtest.h>

#include "metrics_server.hpp"
#include "prometheus_format.hpp"
#include "vswitch/error.hpp"

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

TEST(MetricsListen, LoopbackUnlessMeant) {
  EXPECT_EQ(metrics_listen_address("9100", false).str(), "127.0.0.1:9100");
  EXPECT_EQ(metrics_listen_address("127.0.0.2:80", false).str(), "127.0.0.2:80");
  EXPECT_EQ(metrics_listen_address("[::1]:9100", false).str(), "[::1]:9100");
  EXPECT_TRUE(metrics_listen_address("[::ffff:127.0.0.1]:1", false).is_loopback());
  EXPECT_THROW(metrics_listen_address("0.0.0.0:9100", false), ConfigError);
  EXPECT_THROW(metrics_listen_address("192.168.1.2:9100", false), ConfigError);
  EXPECT_THROW(metrics_listen_address("[::]:9100", false), ConfigError);
  EXPECT_THROW(metrics_listen_address("[::ffff:10.0.0.1]:9100", false), ConfigError);
  EXPECT_EQ(metrics_listen_address("0.0.0.0:9100", true).str(), "0.0.0.0:9100");
  EXPECT_THROW(metrics_listen_address(":9100", true), ConfigError) << "say which address";
  EXPECT_THROW(metrics_listen_address("localhost:9100", false), ConfigError);
  EXPECT_THROW(metrics_listen_address("127.0.0.1:99999", false), ConfigError);
  EXPECT_THROW(metrics_listen_address("", false), ConfigError);
}

}  // namespace
}  // namespace vswitch::daemon
