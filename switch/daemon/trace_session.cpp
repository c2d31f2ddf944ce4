#include "trace_session.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>

namespace vswitch::daemon {

Value trace_value(const FrameTrace& t) {
  Value steps = Value::array();
  for (const TraceStep& s : t.steps) {
    Value step = Value::object();
    step.set("stage", to_string(s.stage));
    if (!s.port.empty()) step.set("port", s.port);
    step.set("says", s.says);
    steps.push(std::move(step));
  }
  Value v = Value::object();
  if (!t.synthetic) v.set("frame", t.number);
  v.set("synthetic", t.synthetic).set("segment", t.segment).set("port", t.port);
  v.set("length", t.length);
  if (t.has_header) {
    char type[8];
    snprintf(type, sizeof type, "0x%04x", t.ethertype);
    v.set("src", t.src.str()).set("dst", t.dst.str()).set("ethertype", type);
  }
  Value sent = Value::array();
  for (const std::string& p : t.sent)
    sent.push(p);
  Value lost = Value::array();
  for (const std::string& p : t.lost)
    lost.push(p);
  v.set("steps", std::move(steps))
      .set("dropped", t.dropped ? Value(to_string(*t.dropped)) : Value())
      .set(t.synthetic ? "would_send" : "sent", std::move(sent))
      .set("lost", std::move(lost));
  return v;
}

TraceSession::TraceSession(Segment& segment, uint16_t port, TraceOptions options)
    : segment_(&segment), port_(port), options_(std::move(options)), filter_(options_.filter) {
  segment_->add_trace(port_, this);
  attached_ = true;
}

TraceSession::~TraceSession() {
  leave();
}

void TraceSession::leave() {
  if (attached_) segment_->remove_trace(port_, this);
  attached_ = false;
}

bool TraceSession::wants(const rte_mbuf* m) {
  if (stopped_ || taken_ >= options_.count) return false;
  const uint32_t wire = m->pkt_len;
  const uint32_t length = std::min<uint32_t>(wire, static_cast<uint32_t>(scratch_.size()));
  const auto* data = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, length, scratch_.data()));
  if (data == nullptr || !filter_.matches(data, length, wire)) return false;
  ++taken_;
  return true;
}

void TraceSession::traced(FrameTrace& t) {
  t.number = ++told_;
  const std::string text = options_.json ? trace_value(t).json() + "\n" : t.text() + "\n";
  if (ready_.size() + text.size() > options_.buffer) {
    ++lost_;
    return;
  }
  ready_ += text;
}

void TraceSession::detached() {
  attached_ = false;
}

void TraceSession::drain(std::string& out) {
  out += ready_;
  ready_.clear();
  if (ended()) leave();
}

bool TraceSession::ended() const {
  return stopped_ || !attached_ || told_ >= options_.count;
}

void TraceSession::stop() {
  stopped_ = true;
  leave();
}

}  // namespace vswitch::daemon
