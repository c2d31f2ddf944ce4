// The datapath's notion of time: a monotonic millisecond clock read once per loop iteration.
#pragma once

#include <cstdint>
#include <ctime>

namespace vswitch {

inline uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace vswitch
