// Storm control of one port: a token bucket for each kind of flooded frame the port sends into
// its segment (broadcast, multicast, unknown unicast), refilled once a burst from the engine's
// millisecond clock. Tokens are thousandths of a frame, so a limit of R frames a second adds R
// tokens a millisecond with no division; a bucket holds a tenth of a second's worth (at least a
// burst of frames), the allowance that lets a guest's ARP and DHCP bursts through untouched.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "vswitch/port.hpp"

namespace vswitch {

class StormControl {
 public:
  enum Kind : uint8_t { broadcast, multicast, unknown };
  static constexpr int kKinds = 3;
  static std::string_view name(Kind k) {
    constexpr std::array<std::string_view, kKinds> names = {"broadcast", "multicast",
                                                            "unknown unicast"};
    return names[k];
  }

  void configure(const StormLimits& limits) {
    const std::array<uint32_t, kKinds> rates = {limits.broadcast, limits.multicast, limits.unknown};
    active_ = limits.any();
    for (int k = 0; k < kKinds; ++k) {
      Bucket& b = buckets_[k];
      b.rate = rates[k];
      b.capacity = static_cast<uint64_t>(std::max<uint32_t>(b.rate / 10, kBurst)) * kFrame;
      b.tokens = b.capacity;
    }
  }
  bool active() const { return active_; }

  void refill(uint64_t now_ms) {
    if (now_ms == last_ms_) return;
    const uint64_t elapsed = now_ms - last_ms_;
    last_ms_ = now_ms;
    for (Bucket& b : buckets_) {
      const uint64_t tokens = b.tokens + elapsed * b.rate;
      b.tokens = tokens < b.capacity ? tokens : b.capacity;
    }
  }

  // Whether one more frame of the kind may pass; a frame that may not is counted.
  bool admit(Kind k) {
    Bucket& b = buckets_[k];
    if (b.rate == 0) return true;
    if (b.tokens < kFrame) {
      ++b.refused;
      return false;
    }
    b.tokens -= kFrame;
    return true;
  }
  // admit() without taking anything (a synthetic trace).
  bool would_admit(Kind k) const { return buckets_[k].rate == 0 || buckets_[k].tokens >= kFrame; }
  uint32_t limit(Kind k) const { return buckets_[k].rate; }
  uint64_t refused(Kind k) const { return buckets_[k].refused; }

  static Kind kind_of(uint64_t dst) {
    return (dst & 1) == 0 ? unknown : dst == kBroadcast ? broadcast : multicast;
  }

 private:
  static constexpr uint64_t kFrame = 1000;
  static constexpr uint64_t kBroadcast = (uint64_t{1} << 48) - 1;
  struct Bucket {
    uint32_t rate = 0;  // frames a second; 0: no limit
    uint64_t capacity = 0;
    uint64_t tokens = 0;
    uint64_t refused = 0;
  };
  std::array<Bucket, kKinds> buckets_{};
  uint64_t last_ms_ = 0;
  bool active_ = false;
};

}  // namespace vswitch
