#include "capture/capture_session.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace vswitch::capture {

namespace {

uint64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr int kNoReason = -1;
// Enough chunks that the writer sends some while the datapath fills others; each large enough
// for the largest block (a frame cut to the scratch's size, a comment, the options).
constexpr size_t kChunks = 8;
constexpr size_t kSmallestChunk = 64 * 1024;

}  // namespace

// One captured port: the tap the segment calls, and the port's own counts.
class CaptureSession::Watch final : public PortTap {
 public:
  Watch(CaptureSession& session, CapturedPort port, uint32_t interface)
      : session_(session), port_(std::move(port)), interface_(interface) {
    stats_.name = port_.name;
  }
  ~Watch() override {
    if (attached_) port_.segment->remove_tap(port_.id, this);
  }

  void attach() {
    port_.segment->add_tap(port_.id, this);
    attached_ = true;
  }

  void frames(TapPoint where, rte_mbuf* const* pkts, uint16_t n) override {
    const CaptureOptions& o = session_.options_;
    if (session_.ended_ || !(where == TapPoint::received ? o.received : o.sent)) return;
    const uint64_t now = session_.now_ns();
    const Direction d = direction(where);
    for (uint16_t i = 0; i < n; ++i)
      session_.offer(*this, d, pkts[i], kNoReason, now);
  }

  void dropped(TapPoint where, const rte_mbuf* m, DropReason why) override {
    if (session_.ended_ || !session_.options_.drops) return;
    session_.offer(*this, direction(where), m, static_cast<int>(why), session_.now_ns());
  }

  void detached() override {
    attached_ = false;
    session_.port_left();
  }

  uint32_t interface() const { return interface_; }
  PortCaptureStats& stats() { return stats_; }
  const PortCaptureStats& stats() const { return stats_; }

 private:
  static Direction direction(TapPoint where) {
    return where == TapPoint::received ? Direction::inbound : Direction::outbound;
  }

  CaptureSession& session_;
  CapturedPort port_;
  uint32_t interface_;
  bool attached_ = false;
  PortCaptureStats stats_;
};

CaptureSession::CaptureSession(std::vector<CapturedPort> ports, CaptureOptions options)
    : options_(std::move(options)), filter_(options_.filter, options_.snaplen) {
  chunk_size_ = std::max(options_.buffer / kChunks, kSmallestChunk);
  chunks_.resize(kChunks);
  for (Chunk& c : chunks_)
    c.bytes = std::make_unique<uint8_t[]>(chunk_size_);
  open_chunk();
  // Timestamps from the TSC, read once a burst, on the wall clock's scale.
  tsc_base_ = rte_get_tsc_cycles();
  ns_base_ = realtime_ns();
  ns_per_tsc_ = 1e9 / static_cast<double>(rte_get_tsc_hz());
  for (size_t r = 0; r < kDropReasonCount; ++r)
    drop_comments_[r] = "dropped: " + std::string(to_string(static_cast<DropReason>(r)));
  for (CapturedPort& p : ports) {
    const uint32_t interface = writer_.add_interface(p.name, p.description, options_.snaplen);
    watches_.push_back(std::make_unique<Watch>(*this, std::move(p), interface));
  }
  for (auto& w : watches_)
    w->attach();
  ports_attached_ = watches_.size();
  ended_ = watches_.empty();
}

CaptureSession::~CaptureSession() = default;

void CaptureSession::offer(Watch& w, Direction d, const rte_mbuf* m, int reason, uint64_t time_ns) {
  if (ended_) return;
  PortCaptureStats& st = w.stats();
  ++st.seen;
  // A full ring costs little more than this, where no filter must say first whether the frame
  // was wanted.
  if (fill_at_ == nullptr && filter_.empty() && !next_chunk()) {
    ++st.lost;
    return;
  }
  // In 64 bits: GCC makes 32-bit minimums vector instructions that reload the value from
  // the stack wider than it was stored, stalling every frame.
  const uint32_t wire = m->pkt_len;
  const size_t readable = std::min<size_t>(wire, scratch_.size());
  const auto* data = static_cast<const uint8_t*>(
      rte_pktmbuf_read(m, 0, static_cast<uint32_t>(readable), scratch_.data()));
  if (data == nullptr) return;
  if (!filter_.empty() && !filter_.matches(data, static_cast<uint32_t>(readable), wire)) return;
  const size_t kept = std::min<size_t>(readable, options_.snaplen);
  const std::string_view comment =
      reason == kNoReason ? std::string_view() : drop_comments_[reason];
  const size_t size = packet_block_size(kept, d, comment);
  if (static_cast<size_t>(fill_end_ - fill_at_) < size && !next_chunk()) {
    ++st.lost;
    return;
  }
  write_packet_block(fill_at_, w.interface(), time_ns, {data, kept}, wire, d, comment);
  fill_at_ += size;
  ++st.captured;
  if (++captured_ == options_.count) ended_ = true;
}

bool CaptureSession::next_chunk() {
  if (fill_at_ != nullptr) {
    Chunk& c = chunks_[filling_ % chunks_.size()];
    c.filled = static_cast<size_t>(fill_at_ - c.bytes.get());
    if (c.filled == 0) return true;
    published_.store(++filling_, std::memory_order_release);
  }
  open_chunk();
  return fill_at_ != nullptr;
}

void CaptureSession::open_chunk() {
  if (filling_ - taken_.load(std::memory_order_acquire) >= chunks_.size()) {
    fill_at_ = fill_end_ = nullptr;
    return;
  }
  fill_at_ = chunks_[filling_ % chunks_.size()].bytes.get();
  fill_end_ = fill_at_ + chunk_size_;
}

void CaptureSession::seal() {
  next_chunk();
}

std::span<const uint8_t> CaptureSession::ready_chunk() const {
  const uint64_t next = taken_.load(std::memory_order_relaxed);
  if (next == published_.load(std::memory_order_acquire)) return {};
  const Chunk& c = chunks_[next % chunks_.size()];
  return {c.bytes.get(), c.filled};
}

void CaptureSession::release_chunk() {
  taken_.store(taken_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

uint64_t CaptureSession::now_ns() const {
  return ns_base_ +
         static_cast<uint64_t>(static_cast<double>(rte_get_tsc_cycles() - tsc_base_) * ns_per_tsc_);
}

std::string CaptureSession::header() {
  std::string out;
  if (!header_sent_) {
    const std::vector<uint8_t> bytes = writer_.take();
    out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    header_sent_ = true;
  }
  return out;
}

void CaptureSession::drain(std::string& out) {
  out += header();
  seal();
  for (auto chunk = ready_chunk(); !chunk.empty(); chunk = ready_chunk()) {
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    release_chunk();
  }
  if (fill_at_ == nullptr) open_chunk();
}

void CaptureSession::stop() {
  ended_ = true;
}

void CaptureSession::port_left() {
  if (--ports_attached_ == 0) ended_ = true;
}

void CaptureSession::finish(std::string& out) {
  const uint64_t now = realtime_ns();
  for (const auto& w : watches_)
    writer_.statistics(w->interface(), now, w->stats().seen, w->stats().lost);
  const std::vector<uint8_t> bytes = writer_.take();
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::vector<PortCaptureStats> CaptureSession::stats() const {
  std::vector<PortCaptureStats> all;
  for (const auto& w : watches_)
    all.push_back(w->stats());
  return all;
}

}  // namespace vswitch::capture
