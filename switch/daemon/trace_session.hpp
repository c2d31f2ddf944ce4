// A trace of a port for `vswitchctl trace`: the sink the segment hands each traced frame's
// story to, which keeps the next N frames a filter matches and turns their stories into text
// (or one JSON object a frame) waiting for the client. What does not fit until the next drain is
// lost to the trace, counted, never to the switch.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "capture/frame_filter.hpp"
#include "value.hpp"
#include "vswitch/segment.hpp"
#include "vswitch/trace.hpp"

namespace vswitch::daemon {

struct TraceOptions {
  uint64_t count = 10;  // frames to trace
  std::string filter;   // tcpdump syntax; empty: every frame
  bool json = false;    // one JSON object a line instead of text blocks
  size_t buffer = 1 << 20;
};

// One JSON object: the frame, its steps, and what came of it.
Value trace_value(const FrameTrace& t);

class TraceSession final : public TraceSink {
 public:
  // Throws std::invalid_argument when the filter does not compile, ConfigError when the port is
  // traced already.
  TraceSession(Segment& segment, uint16_t port, TraceOptions options);
  ~TraceSession() override;
  TraceSession(const TraceSession&) = delete;
  TraceSession& operator=(const TraceSession&) = delete;

  bool wants(const rte_mbuf* m) override;
  void traced(FrameTrace& t) override;
  void detached() override;

  // Appends the traces ready since the last drain.
  void drain(std::string& out);
  // All N frames were told, the port left, or stop().
  bool ended() const;
  void stop();

  uint64_t told() const { return told_; }
  uint64_t lost() const { return lost_; }

 private:
  void leave();

  Segment* segment_;
  uint16_t port_;
  bool attached_ = false;
  TraceOptions options_;
  capture::FrameFilter filter_;
  uint64_t taken_ = 0;  // frames the trace took (wants() said yes)
  uint64_t told_ = 0;   // their stories, given to the client or lost
  uint64_t lost_ = 0;
  bool stopped_ = false;
  std::string ready_;
  std::array<uint8_t, 16384> scratch_{};  // a chained frame, made contiguous for the filter
};

}  // namespace vswitch::daemon
