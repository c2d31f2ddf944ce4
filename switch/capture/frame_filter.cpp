#include "capture/frame_filter.hpp"

#include <stdexcept>
#include <utility>

namespace vswitch::capture {

FrameFilter::FrameFilter(const std::string& expression, uint32_t snaplen)
    : expression_(expression) {
  if (expression.empty()) return;
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, static_cast<int>(snaplen));
  if (dead == nullptr) throw std::invalid_argument("libpcap cannot open a handle for filters");
  const int rc = pcap_compile(dead, &program_, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN);
  const std::string why = rc != 0 ? pcap_geterr(dead) : "";
  pcap_close(dead);
  if (rc != 0) {
    program_ = {};
    throw std::invalid_argument("filter '" + expression + "': " + why);
  }
}

FrameFilter::~FrameFilter() {
  if (!empty()) pcap_freecode(&program_);
}

FrameFilter::FrameFilter(FrameFilter&& other) noexcept
    : expression_(std::move(other.expression_)), program_(std::exchange(other.program_, {})) {}

FrameFilter& FrameFilter::operator=(FrameFilter&& other) noexcept {
  if (this != &other) {
    if (!empty()) pcap_freecode(&program_);
    expression_ = std::move(other.expression_);
    program_ = std::exchange(other.program_, {});
  }
  return *this;
}

}  // namespace vswitch::capture
