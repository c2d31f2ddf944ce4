// A segment is one switch instance: its ports, its FDB, its VLAN flood sets and its policy.
// Frames enter through process() a burst at a time and leave through per-port transmit buffers
// that flush() hands to the ports, so each destination gets its frames in one call.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/error.hpp"
#include "vswitch/fdb.hpp"
#include "vswitch/log.hpp"
#include "vswitch/policy.hpp"
#include "vswitch/port.hpp"
#include "vswitch/storm_control.hpp"
#include "vswitch/tap.hpp"
#include "vswitch/trace.hpp"
#include "vswitch/vlan.hpp"

namespace vswitch {

enum class Forwarding : uint8_t { learning, hub };
std::string_view to_string(Forwarding f);

struct SegmentSettings {
  std::string name = "default";
  Forwarding forwarding = Forwarding::learning;
  Policy policy;
  uint32_t fdb_limit = 65536;
  uint32_t ageing_s = 300;
  uint32_t flap_hold_ms = 1000;  // a MAC moving again sooner than this is flapping
  uint16_t max_ports = 1024;
};

// A SPAN: every frame received on or sent to the source ports (in the VLANs given, or all) is
// also sent, as it was on the wire there, to the output port. The output port is the mirror's
// alone: it takes no part in switching, and what arrives on it is dropped, so no copy can come
// back. Ports are the segment's port ids.
struct MirrorSettings {
  std::string name;
  std::vector<uint16_t> sources;
  bool received = true;
  bool sent = true;
  std::optional<VlanSet> vlans;  // unset: every VLAN
  uint16_t output = 0;
};

struct MirrorCounters {
  uint64_t frames = 0;     // copies handed to the output port
  uint64_t no_buffer = 0;  // copies that could not be made
};

struct SegmentCounters {
  uint64_t flooded = 0;      // frames flooded (broadcast, multicast, unknown unicast)
  uint64_t unknown = 0;      // of those, unknown unicast
  uint64_t flap_events = 0;  // moves inside the hold-down time
  uint64_t copies = 0;       // frames copied because a destination needed another tagging
};

class Segment {
 public:
  // A port's transmit buffer takes a whole received burst flooded to it before it must flush.
  static_assert(kTxBurstMax >= kBurst);
  class Lane;  // one datapath thread's state (below)

  explicit Segment(SegmentSettings settings);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const SegmentSettings& settings() const { return settings_; }
  const std::string& name() const { return settings_.name; }

  // Throws ConfigError when a port with these settings could not join (VLAN, role, MTU).
  void check(const PortSettings& s) const;
  // Takes the port; throws ConfigError when its settings do not fit or the segment is full.
  uint16_t attach(std::unique_ptr<Port> port);
  // Gives the port back after dropping its buffered frames and flushing its FDB entries.
  std::unique_ptr<Port> detach(uint16_t id);
  Port* port(uint16_t id) const {
    return id < slots_.size() && slots_[id] ? slots_[id]->port.get() : nullptr;
  }
  std::optional<uint16_t> find(std::string_view port_name) const;
  void for_each_port(const std::function<void(uint16_t, Port&)>& fn) const;
  size_t port_count() const { return active_.size(); }

  // Changes a port's role, VLANs or MTU; validated as attach() does. A VLAN change flushes the
  // port's FDB entries, since what it learned may no longer be reachable.
  void reconfigure(uint16_t id, const PortSettings& settings);
  void set_forwarding(Forwarding f);
  void set_policy(const Policy& p);
  void set_ageing(uint32_t seconds) { settings_.ageing_s = seconds; }
  void set_fdb_limit(uint32_t limit);
  void set_flap_hold(uint32_t ms) { settings_.flap_hold_ms = ms; }

  // The datapath. `in` is the port the burst came from; the mbufs become the segment's. Each
  // thread runs frames through a lane of its own (add_lane); without one, the first lane.
  void process(Lane& lane, uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms);
  void flush(Lane& lane);
  void process(uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms) {
    process(*lanes_[0], in, pkts, n, now_ms);
  }
  void flush() { flush(*lanes_[0]); }
  Lane& add_lane();
  void age(uint64_t now_ms);

  // Empties the FDB, or one port's share of it, but for the addresses pinned to their ports
  // (Port::own_macs); the number of entries removed.
  size_t flush_fdb();
  size_t flush_fdb(uint16_t port);

  // Shows the port's frames to `tap` until remove_tap() or the port's detach (which tells the
  // tap). The caller keeps the tap alive meanwhile.
  void add_tap(uint16_t port, PortTap* tap);
  void remove_tap(uint16_t port, PortTap* tap);

  // Throws ConfigError for a duplicate name, an unknown port, an output that is a source or a
  // source of another mirror, or a source that is some mirror's output.
  void add_mirror(MirrorSettings mirror);
  void remove_mirror(std::string_view name);  // throws ConfigError when there is none
  struct Mirror {
    MirrorSettings settings;
    MirrorCounters counters;
  };
  const std::vector<std::unique_ptr<Mirror>>& mirrors() const { return mirrors_; }

  // Traces the frames entering the port that `sink` wants until remove_trace() or the port's
  // detach (which tells the sink); one sink a port, throws ConfigError when it has one. The
  // caller keeps the sink alive meanwhile.
  void add_trace(uint16_t port, TraceSink* sink);
  void remove_trace(uint16_t port, TraceSink* sink);
  // What the pipeline would do with the frame had it entered the port, changing nothing: no
  // counter, no learning, nothing sent. The mbuf stays the caller's.
  FrameTrace explain(uint16_t port, rte_mbuf* m, uint64_t now_ms);

  Fdb& fdb() { return fdb_; }
  const Fdb& fdb() const { return fdb_; }
  SegmentCounters counters() const;  // of every lane

 private:
  struct Slot {
    std::unique_ptr<Port> port;
    PortVlan vlan;
    Role role = Role::vm;
    uint32_t mtu = kDefaultMtu;
    std::vector<PortTap*> taps;
    std::vector<Mirror*> mirror_received;  // mirrors of what arrives here
    std::vector<Mirror*> mirror_sent;      // mirrors of what leaves here
    bool mirror_output = false;            // some mirror's output port
    StormControl storm;
    LogLimiter storm_log{10000};
    // Port security, as the pipeline checks it (from PortSettings::security).
    bool guarded = false;
    std::vector<uint64_t> allowed_sources;  // sorted; empty: any
    uint32_t max_macs = 0;
    bool sticky = false;
    LogLimiter source_log{10000};
    TraceSink* trace = nullptr;  // this port's frames are traced
  };
  struct Classified;  // a frame after pass one (pipeline.cpp)
  // A traced frame's record until its sink has it.
  struct OpenTrace {
    FrameTrace trace;
    TraceSink* sink;       // null once the sink is gone
    uint16_t pending = 0;  // transmits not yet known
    bool processed = false;
  };
  // A traced frame waiting in a port's transmit buffer for its result.
  struct TracedTx {
    uint16_t port;
    uint16_t index;  // in the port's transmit buffer
    OpenTrace* open;
  };
  // A flood's recipients by the form they take it in; for a burst's VLAN (or the hub), or
  // for one frame only (kNoGroups).
  struct FloodGroups {
    std::vector<uint16_t> untagged;
    std::vector<uint16_t> tagged;
    uint32_t min_mtu = 0;  // the smallest MTU among them
  };
  static constexpr uint32_t kNoGroups = ~uint32_t{0};
  static constexpr uint32_t kHubGroups = kVlanCount;

 public:
  // What one datapath thread changes as it runs frames through the segment: its transmit
  // buffers, the flood groups of its burst, its traced frames, its counters. Each thread that
  // runs the segment's frames has a lane of its own, so no two write the same state; the
  // segment's settings, ports and FDB are what they share.
  class Lane {
   public:
    explicit Lane(uint16_t max_ports);
    const SegmentCounters& counters() const { return counters_; }

   private:
    friend class Segment;
    struct TxQueue {
      uint16_t n = 0;
      bool dirty = false;   // listed in `dirty`
      uint16_t traced = 0;  // traced frames among them, listed in traced_tx
      std::array<rte_mbuf*, kTxBurstMax> mbufs{};
    };
    std::vector<TxQueue> tx;      // index = port id
    std::vector<uint16_t> dirty;  // ports with buffered frames
    FloodGroups flood_groups;
    uint32_t flood_groups_for = kNoGroups;
    SegmentCounters counters_;
    LogLimiter flap_log{10000};
    std::deque<OpenTrace> open_traces;  // in the order their frames came
    std::vector<TracedTx> traced_tx;
    FrameTrace* tracing = nullptr;  // the frame being processed, when it is traced
    uint64_t burst_ms = 0;          // the clock of the burst being processed, for logs
    uint64_t dry_learned_key = 0;   // a synthetic frame's source, as if learned on its port
    bool dry_shared = false;        // a synthetic frame would be shared with a mirror
  };

 private:
  // The port's storm control and port security, from its settings.
  void apply_guards(uint16_t id, Slot& s, const PortSettings& settings);
  void join_flood_sets(uint16_t id);
  void leave_flood_sets(uint16_t id);
  void rebuild_mirror_lists();
  void mirror(Lane& lane, const Slot& s, const std::vector<Mirror*>& mirrors, rte_mbuf* const* pkts,
              uint16_t n);
  // Whether the mirror copies this frame of the port (its VLANs; a runt never).
  bool mirror_selects(const Slot& s, const MirrorSettings& ms, const rte_mbuf* m) const;
  // The trace's lines for the copies the mirrors make of a traced frame.
  void trace_mirrors(FrameTrace& t, const Slot& s, const std::vector<Mirror*>& mirrors,
                     const rte_mbuf* m, bool received, bool synthetic) const;
  // What detach() does to the mirrors: the port leaves their sources, theirs it was the output.
  void drop_port_from_mirrors(uint16_t id);
  // Static FDB entries for the port's own MACs and those its port security lists, in its
  // untagged VLAN; the number added.
  size_t pin_own_macs(uint16_t id);
  // The pipeline, in one instance a TraceMode (see trace.hpp).
  template <TraceMode M>
  void run(Lane& lane, uint16_t in, rte_mbuf** pkts, uint16_t n, uint64_t now_ms);
  // Learn the frame's source, for a port without port security and for one with it; false when
  // the port may not use it (the frame is then dropped).
  template <TraceMode M>
  bool learn_source(Lane& lane, uint16_t in, const Classified& f, uint64_t now_ms);
  template <TraceMode M>
  bool learn_guarded(Lane& lane, uint16_t in, const Classified& f, uint64_t now_ms);
  template <TraceMode M>
  bool learn_news(Lane& lane, uint16_t in, const Classified& f, Fdb::LearnResult r, bool evicts,
                  uint64_t now_ms);
  void trace_learned(FrameTrace& t, const Classified& f, const Fdb::LearnResult& r, uint16_t in,
                     bool evicts, bool synthetic) const;
  enum class Refusal : uint8_t { not_listed, over_limit, pinned, fdb_full };
  template <TraceMode M>
  bool refuse_source(Lane& lane, Slot& s, const Classified& f, Refusal why,
                     uint16_t holder = kNoPort);
  static bool source_listed(const Slot& s, uint64_t src) {
    return s.allowed_sources.empty() ||
           std::binary_search(s.allowed_sources.begin(), s.allowed_sources.end(), src);
  }
  // Whether storm control lets one more frame of the kind through the port.
  template <TraceMode M>
  bool storm_admits(Lane& lane, Slot& s, StormControl::Kind k);
  void note_storm(const Lane& lane, Slot& s, StormControl::Kind k);
  template <TraceMode M>
  void forward(Lane& lane, uint16_t in, const Classified& f);
  template <TraceMode M>
  void flood(Lane& lane, uint16_t in, const Classified& f, const std::vector<uint16_t>& members);
  template <TraceMode M>
  void group_flood(Lane& lane, uint16_t in, const Classified& f,
                   const std::vector<uint16_t>& members, bool check_mtu);
  // The form a destination takes a frame in: tagged with its VLAN or not, and whether the
  // received mbuf may be changed to get there (not while another destination takes it as it is).
  struct EgressForm {
    bool tagged;
    bool may_modify;
  };
  // The frame in that form: the received mbuf itself, changed or not, or a copy; null when no
  // copy could be made.
  template <TraceMode M>
  rte_mbuf* in_form(Lane& lane, const Classified& f, EgressForm form);
  template <TraceMode M>
  void deliver_group(Lane& lane, const std::vector<uint16_t>& outs, rte_mbuf* m);
  template <TraceMode M>
  void enqueue(Lane& lane, uint16_t out, rte_mbuf* m);
  // Counts a frame dropped on the port, shows it to the port's taps, frees it.
  template <TraceMode M>
  void drop(Lane& lane, Slot& s, rte_mbuf* m, DropReason why, TapPoint where);
  // The same for a frame that is not freed here (others still take it).
  template <TraceMode M>
  void note_drop(const Slot& s, const rte_mbuf* m, DropReason why, TapPoint where);
  void transmit(Lane& lane, uint16_t id);

  // Tracing (segment_trace.cpp): a step of the frame being traced, if one is.
  template <TraceMode M, class Record>
  static void trace_step(const Lane& lane, Record&& record) {
    if constexpr (M != TraceMode::off) {
      if (lane.tracing != nullptr) record(*lane.tracing);
    }
  }
  // The frame entering a traced port: its record if the sink wants it, else null.
  FrameTrace* open_trace(Lane& lane, Slot& s, rte_mbuf* m);
  // The egress lines of a flood's group, which `m` is the form of (null: no mbuf for it).
  template <TraceMode M>
  void trace_egress(const Lane& lane, const Classified& f, const std::vector<uint16_t>& outs,
                    rte_mbuf* m, bool want_tag, bool may_modify);
  void note_traced_tx(Lane& lane, uint16_t out);
  uint16_t transmit_traced(Lane& lane, uint16_t id, uint16_t n);
  void resolve_traced_tx(Lane& lane, uint16_t id, uint16_t sent, bool plug_full, bool port_left);
  // After a traced burst: its frames are all through the pipeline.
  void end_traced_burst(Lane& lane);
  // Hands the finished traces to their sinks, in the order their frames came.
  static void settle_traces(Lane& lane);
  void note_move(Lane& lane, const Classified& f, uint16_t in, const Fdb::LearnResult& r,
                 uint64_t now_ms);

  SegmentSettings settings_;
  Fdb fdb_;
  std::vector<std::unique_ptr<Slot>> slots_;       // index = port id; null when free
  std::vector<uint16_t> active_;                   // attached port ids, ascending
  std::vector<std::vector<uint16_t>> flood_sets_;  // per VLAN: member port ids
  std::vector<uint16_t> hub_ports_;                // every port a hub floods to
  std::vector<std::unique_ptr<Mirror>> mirrors_;
  // lanes_[0] is the one process() and flush() without a lane use.
  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace vswitch
