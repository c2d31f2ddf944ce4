// A capture of some ports: taps on each that copy the frames a filter keeps into a bounded
// buffer, on the datapath, and a pcapng stream made of that buffer off it. What does not fit in
// the buffer until the next drain is lost to the capture (counted per port and reported in the
// stream's statistics), never to the switch.
//
// The buffer is a ring of chunks: the datapath fills one while those before it wait to be
// written, either by drain() on the datapath's thread or by a writer on a thread of its own
// (ready_chunk(), release_chunk()), so that a busy capture's socket writes need not take the
// switch's core. The ring's two indices are the only state the two threads share.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "capture/frame_filter.hpp"
#include "capture/pcapng.hpp"
#include "vswitch/segment.hpp"
#include "vswitch/tap.hpp"

namespace vswitch::capture {

struct CaptureOptions {
  bool received = true;  // frames entering the switch from the port
  bool sent = true;      // frames the switch hands to the port
  bool drops = false;    // frames the switch drops there, with the reason
  uint64_t count = 0;    // stop after this many frames; 0: until stopped
  uint32_t snaplen = 262144;
  std::string filter;       // tcpdump syntax; empty: every frame
  size_t buffer = 2 << 20;  // bytes of frames waiting to be written
};

struct CapturedPort {
  Segment* segment;
  uint16_t id;
  std::string name;
  std::string description;  // the plug and segment, for the interface block
};

struct PortCaptureStats {
  std::string name;
  uint64_t seen = 0;      // frames offered to the capture (before the filter)
  uint64_t captured = 0;  // frames in the stream
  uint64_t lost = 0;      // frames the filter kept that did not fit in the buffer
};

class CaptureSession {
 public:
  // Throws std::invalid_argument when the filter does not compile.
  CaptureSession(std::vector<CapturedPort> ports, CaptureOptions options);
  ~CaptureSession();
  CaptureSession(const CaptureSession&) = delete;
  CaptureSession& operator=(const CaptureSession&) = delete;

  // Appends the pcapng bytes ready: the section and interface blocks first, then the frames
  // captured since the last drain. For a capture without a writer thread.
  void drain(std::string& out);

  // For a writer on another thread. On the datapath's thread: the section and interface
  // blocks, once, to be written first; and seal(), which makes the frames captured so far
  // ready (a chunk is otherwise ready when full).
  std::string header();
  void seal();
  // On the writer's thread: the oldest chunk ready, empty when none is; release_chunk() once
  // it is written gives it back to the datapath.
  std::span<const uint8_t> ready_chunk() const;
  void release_chunk();
  // How many chunks were readied so far: a writer need be woken only when this moved.
  uint64_t chunks_readied() const { return published_.load(std::memory_order_relaxed); }

  // The capture takes no more frames: its count was reached, every port left, or stop().
  bool ended() const { return ended_; }
  void stop();
  // Appends the statistics blocks; after ended() and a last drain().
  void finish(std::string& out);

  std::vector<PortCaptureStats> stats() const;
  uint64_t captured() const { return captured_; }

 private:
  class Watch;

  struct Chunk {
    std::unique_ptr<uint8_t[]> bytes;
    size_t filled = 0;
  };

  // `reason`: a DropReason, or -1.
  void offer(Watch& w, Direction d, const rte_mbuf* m, int reason, uint64_t time_ns);
  // Readies the chunk being filled if it holds anything, and opens the next one if the ring
  // has room; false when it has none.
  bool next_chunk();
  void open_chunk();
  void port_left();
  uint64_t now_ns() const;

  CaptureOptions options_;
  FrameFilter filter_;
  std::vector<std::unique_ptr<Watch>> watches_;
  PcapngWriter writer_;  // the blocks before and after the frames
  bool header_sent_ = false;
  // The frames' packet blocks, written by the datapath into chunks_[filling_ % size], taken
  // from chunks_[taken_ % size] up to published_ by drain() or a writer.
  std::vector<Chunk> chunks_;
  size_t chunk_size_ = 0;
  uint64_t filling_ = 0;
  uint8_t* fill_at_ = nullptr;  // null while the ring is full
  uint8_t* fill_end_ = nullptr;
  alignas(64) std::atomic<uint64_t> published_{0};
  alignas(64) std::atomic<uint64_t> taken_{0};
  std::array<std::string, kDropReasonCount> drop_comments_;
  uint64_t tsc_base_ = 0;
  uint64_t ns_base_ = 0;
  double ns_per_tsc_ = 0;
  uint64_t captured_ = 0;
  size_t ports_attached_ = 0;
  bool ended_ = false;
  std::array<uint8_t, 16384> scratch_{};  // a chained frame, made contiguous for the filter
};

}  // namespace vswitch::capture
