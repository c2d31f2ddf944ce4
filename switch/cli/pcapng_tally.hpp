// Counts what a pcapng stream holds as it passes through vswitchctl: the frames, and the
// frames its statistics blocks say the capture lost, for the summary at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vswitch::cli {

class PcapngTally {
 public:
  void feed(std::string_view bytes);
  uint64_t frames() const { return frames_; }
  uint64_t lost() const { return lost_; }

 private:
  void block(std::string_view b);

  std::string partial_;  // the start of a block not yet whole
  uint64_t frames_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace vswitch::cli
