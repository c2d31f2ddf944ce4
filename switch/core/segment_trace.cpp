// The segment's bookkeeping of traced frames: which sink wants which frame, the transmits a
// trace waits for, and handing finished traces over in the order their frames came. The
// pipeline's own trace steps are in segment.cpp, in its tracing instances.
#include <rte_mbuf.h>

#include <algorithm>

#include "trace_steps.hpp"
#include "vswitch/segment.hpp"

namespace vswitch {

void Segment::add_trace(uint16_t id, TraceSink* sink) {
  if (!port(id)) throw ConfigError("no such port");
  Slot& s = *slots_[id];
  if (s.trace != nullptr) throw ConfigError("port " + s.port->name() + " is being traced already");
  s.trace = sink;
}

void Segment::remove_trace(uint16_t id, TraceSink* sink) {
  // Its frames still in flight finish without it.
  for (auto& lane : lanes_) {
    for (OpenTrace& o : lane->open_traces) {
      if (o.sink == sink) o.sink = nullptr;
    }
  }
  if (port(id) && slots_[id]->trace == sink) slots_[id]->trace = nullptr;
  for (auto& lane : lanes_)
    settle_traces(*lane);
}

FrameTrace* Segment::open_trace(Lane& lane, Slot& s, rte_mbuf* m) {
  if (!s.trace->wants(m)) return nullptr;
  OpenTrace& o = lane.open_traces.emplace_back();
  o.sink = s.trace;
  trace::begin(o.trace, name(), s.port->name(), m, false);
  return &o.trace;
}

void Segment::end_traced_burst(Lane& lane) {
  lane.tracing = nullptr;
  for (OpenTrace& o : lane.open_traces)
    o.processed = true;
  settle_traces(lane);
}

void Segment::note_traced_tx(Lane& lane, uint16_t out) {
  Lane::TxQueue& q = lane.tx[out];
  for (auto it = lane.open_traces.rbegin(); it != lane.open_traces.rend(); ++it) {
    if (&it->trace != lane.tracing) continue;
    ++it->pending;
    lane.traced_tx.push_back({out, q.n, &*it});
    ++q.traced;
    return;
  }
}

uint16_t Segment::transmit_traced(Lane& lane, uint16_t id, uint16_t n) {
  // The plug counts what it could not send by reason; the difference says which it was.
  Port& port = *slots_[id]->port;
  const PortCounters& c = port.counters();
  const uint64_t full_before = c.dropped(DropReason::tx_full);
  const uint16_t sent = port.transmit(lane.tx[id].mbufs.data(), n);
  resolve_traced_tx(lane, id, sent, c.dropped(DropReason::tx_full) > full_before, false);
  return sent;
}

void Segment::resolve_traced_tx(Lane& lane, uint16_t id, uint16_t sent, bool plug_full,
                                bool port_left) {
  const Slot& s = *slots_[id];
  for (const TracedTx& p : lane.traced_tx) {
    if (p.port != id) continue;
    using trace::TxResult;
    const TxResult r = port_left        ? TxResult::port_left
                       : p.index < sent ? TxResult::sent
                       : plug_full      ? TxResult::tx_full
                                        : TxResult::tx_error;
    trace::transmitted(p.open->trace, s.port->name(), r);
    --p.open->pending;
  }
  std::erase_if(lane.traced_tx, [&](const TracedTx& p) { return p.port == id; });
  lane.tx[id].traced = 0;
  settle_traces(lane);
}

void Segment::settle_traces(Lane& lane) {
  while (!lane.open_traces.empty() && lane.open_traces.front().processed &&
         lane.open_traces.front().pending == 0) {
    OpenTrace& o = lane.open_traces.front();
    if (o.sink != nullptr) {
      trace::finish(o.trace);
      o.sink->traced(o.trace);
    }
    lane.open_traces.pop_front();
  }
}

}  // namespace vswitch
