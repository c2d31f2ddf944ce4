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
  for (OpenTrace& o : open_traces_) {
    if (o.sink == sink) o.sink = nullptr;
  }
  if (port(id) && slots_[id]->trace == sink) slots_[id]->trace = nullptr;
  settle_traces();
}

FrameTrace* Segment::open_trace(Slot& s, rte_mbuf* m) {
  if (!s.trace->wants(m)) return nullptr;
  OpenTrace& o = open_traces_.emplace_back();
  o.sink = s.trace;
  trace::begin(o.trace, name(), s.port->name(), m, false);
  return &o.trace;
}

void Segment::end_traced_burst() {
  tracing_ = nullptr;
  for (OpenTrace& o : open_traces_)
    o.processed = true;
  settle_traces();
}

void Segment::note_traced_tx(Slot& s) {
  for (auto it = open_traces_.rbegin(); it != open_traces_.rend(); ++it) {
    if (&it->trace != tracing_) continue;
    ++it->pending;
    traced_tx_.push_back({&s, s.tx_n, &*it});
    ++s.traced_tx;
    return;
  }
}

uint16_t Segment::transmit_traced(Slot& s, uint16_t n) {
  // The plug counts what it could not send by reason; the difference says which it was.
  const PortCounters& c = s.port->counters();
  const uint64_t full_before = c.dropped(DropReason::tx_full);
  const uint16_t sent = s.port->transmit(s.tx.data(), n);
  resolve_traced_tx(s, sent, c.dropped(DropReason::tx_full) > full_before, false);
  return sent;
}

void Segment::resolve_traced_tx(Slot& s, uint16_t sent, bool plug_full, bool port_left) {
  for (const TracedTx& p : traced_tx_) {
    if (p.slot != &s) continue;
    using trace::TxResult;
    const TxResult r = port_left        ? TxResult::port_left
                       : p.index < sent ? TxResult::sent
                       : plug_full      ? TxResult::tx_full
                                        : TxResult::tx_error;
    trace::transmitted(p.open->trace, s.port->name(), r);
    --p.open->pending;
  }
  std::erase_if(traced_tx_, [&](const TracedTx& p) { return p.slot == &s; });
  s.traced_tx = 0;
  settle_traces();
}

void Segment::settle_traces() {
  while (!open_traces_.empty() && open_traces_.front().processed &&
         open_traces_.front().pending == 0) {
    OpenTrace& o = open_traces_.front();
    if (o.sink != nullptr) {
      trace::finish(o.trace);
      o.sink->traced(o.trace);
    }
    open_traces_.pop_front();
  }
}

}  // namespace vswitch
