// The Prometheus text exposition format (version 0.0.4), written: metric families, each with
// its HELP and TYPE lines followed by all of its samples, label values escaped as the format
// requires. Knows nothing of the switch.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace vswitch::daemon {

enum class MetricType : uint8_t { counter, gauge };

class PrometheusText {
 public:
  using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // Starts a family; its samples must follow before the next one starts.
  void family(std::string_view name, MetricType type, std::string_view help);
  // A sample of the current family.
  void sample(Labels labels, uint64_t value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string name_;
};

// A label value as the format writes it between quotes: \ " and newline escaped.
std::string escape_label_value(std::string_view v);

// The Content-Type of this format, for HTTP.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace vswitch::daemon
