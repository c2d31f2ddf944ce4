// A capture's filter: tcpdump's syntax, compiled by libpcap for Ethernet frames and run by
// libpcap's own interpreter on each frame of a watched port (see bench/RESULTS.md for how it
// compares with DPDK's rte_bpf).
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace vswitch::capture {

class FrameFilter {
 public:
  // Matches every frame.
  FrameFilter() = default;
  // Throws std::invalid_argument with libpcap's message when the expression does not compile.
  explicit FrameFilter(const std::string& expression, uint32_t snaplen = 262144);
  ~FrameFilter();
  FrameFilter(FrameFilter&& other) noexcept;
  FrameFilter& operator=(FrameFilter&& other) noexcept;
  FrameFilter(const FrameFilter&) = delete;
  FrameFilter& operator=(const FrameFilter&) = delete;

  bool empty() const { return program_.bf_insns == nullptr; }
  const std::string& expression() const { return expression_; }
  // `length` bytes of the frame are at `data`, of `wire_length` in all.
  bool matches(const uint8_t* data, uint32_t length, uint32_t wire_length) const {
    return empty() || bpf_filter(program_.bf_insns, data, wire_length, length) != 0;
  }

 private:
  std::string expression_;
  bpf_program program_{};
};

}  // namespace vswitch::capture
