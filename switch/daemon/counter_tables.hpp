// Every counter the switch keeps, once: the key `stats` gives it, the name it has as a
// Prometheus metric, and what it counts. `stats`, `metrics` and the /metrics endpoint all read
// these tables, so a counter added here shows up in all three.
#pragma once

#include <array>
#include <cstdint>

#include "vswitch/engine.hpp"
#include "vswitch/fdb.hpp"
#include "vswitch/port.hpp"
#include "vswitch/segment.hpp"

namespace vswitch::daemon {

template <typename Counters>
struct CounterField {
  const char* key;     // in `stats`
  const char* metric;  // in the Prometheus text
  const char* help;
  uint64_t Counters::*member;
};

inline constexpr std::array<CounterField<PortCounters>, 4> kPortCounters = {{
    {"in_packets", "vswitch_port_in_packets_total", "Frames the port brought into the switch.",
     &PortCounters::in_packets},
    {"in_bytes", "vswitch_port_in_bytes_total", "Bytes of the frames the port brought in.",
     &PortCounters::in_bytes},
    {"out_packets", "vswitch_port_out_packets_total", "Frames the port delivered out.",
     &PortCounters::out_packets},
    {"out_bytes", "vswitch_port_out_bytes_total", "Bytes of the frames the port delivered out.",
     &PortCounters::out_bytes},
}};

// Drops are one metric with a reason label; the reasons are DropReason's names.
inline constexpr const char* kPortDropsMetric = "vswitch_port_drops_total";
inline constexpr const char* kPortDropsHelp =
    "Frames dropped on the port, by the reason the switch dropped them.";

inline constexpr std::array<CounterField<Fdb::Counters>, 5> kFdbCounters = {{
    {"learned", "vswitch_segment_fdb_learned_total", "MAC addresses the FDB learned.",
     &Fdb::Counters::learned},
    {"moved", "vswitch_segment_fdb_moved_total", "Known MAC addresses seen on another port.",
     &Fdb::Counters::moved},
    {"aged", "vswitch_segment_fdb_aged_total", "FDB entries removed for being idle.",
     &Fdb::Counters::aged},
    {"evicted", "vswitch_segment_fdb_evicted_total",
     "FDB entries pushed out by the segment's FDB limit.", &Fdb::Counters::evicted},
    {"refused", "vswitch_segment_fdb_refused_total",
     "MAC addresses not learned because the FDB was full of static entries.",
     &Fdb::Counters::refused},
}};

inline constexpr std::array<CounterField<SegmentCounters>, 4> kSegmentCounters = {{
    {"flooded", "vswitch_segment_flooded_total",
     "Frames flooded: broadcast, multicast and unknown unicast.", &SegmentCounters::flooded},
    {"unknown_unicast", "vswitch_segment_unknown_unicast_total",
     "Flooded frames whose destination the FDB did not know.", &SegmentCounters::unknown},
    {"flap_events", "vswitch_segment_flap_events_total",
     "MAC addresses that moved again within the flap hold-down time.",
     &SegmentCounters::flap_events},
    {"copies", "vswitch_segment_copies_total",
     "Frames copied because a destination needed another tagging.", &SegmentCounters::copies},
}};

inline constexpr std::array<CounterField<EngineStats>, 3> kEngineCounters = {{
    {"rounds", "vswitch_engine_rounds_total", "Rounds the engine ran.", &EngineStats::rounds},
    {"sleeps", "vswitch_engine_sleeps_total", "Times the engine slept waiting for work.",
     &EngineStats::sleeps},
    {"frames", "vswitch_engine_frames_total", "Frames the engine took from its ports.",
     &EngineStats::frames},
}};

}  // namespace vswitch::daemon
