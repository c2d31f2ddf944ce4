// Watching a port's frames without taking them (a capture): the segment shows a watched
// port's bursts to its taps as they enter and as they are handed to the port, and each frame it
// drops there with the reason. A tap looks, copies what it wants and returns; the frames stay
// the segment's. A port nobody watches pays one branch per burst.
#pragma once

#include <cstdint>

#include "vswitch/port.hpp"

struct rte_mbuf;

namespace vswitch {

enum class TapPoint : uint8_t {
  received,  // entering the switch from the port, before any check
  sent,      // handed to the port's transmit
};

class PortTap {
 public:
  virtual ~PortTap() = default;
  virtual void frames(TapPoint where, rte_mbuf* const* pkts, uint16_t n) = 0;
  // A frame the switch dropped on this port: one it received (`received`) or one it was to
  // send there (`sent`).
  virtual void dropped(TapPoint where, const rte_mbuf* m, DropReason why) = 0;
  // The port left its segment; the segment forgets the tap.
  virtual void detached() = 0;
};

}  // namespace vswitch
