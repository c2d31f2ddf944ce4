// A port on a byte stream in QEMU's framing (-netdev socket over TCP, -netdev stream over TCP or
// a Unix socket): each frame is a 4-byte big-endian length and the frame. Partial reads and
// writes carry over to the next call, so a slow peer never holds up the engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/dgram_io.hpp"
#include "common/fd.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::qemu {

// QEMU's NET_BUFSIZE: the longest record a QEMU peer sends or accepts.
inline constexpr uint32_t kQemuMaxRecord = 4096 + 65536;

// Splits a byte stream into records; what QEMU's net_fill_rstate does, minus the vnet header.
class Deframer {
 public:
  enum class Event { frame, need_more, skipped, zero_length, too_long };
  struct Result {
    Event event;
    const uint8_t* frame = nullptr;  // for Event::frame: valid until the next call
    uint32_t length = 0;
  };

  explicit Deframer(size_t capacity = 256 * 1024) : buf_(capacity) {}

  // Where the next read() may write, and how much; then commit() what it wrote.
  uint8_t* space() { return buf_.data() + end_; }
  size_t space_left() const { return buf_.size() - end_; }
  void commit(size_t n) { end_ += n; }

  // The next event from what is buffered. Frames longer than max_frame (but within QEMU's
  // maximum) are passed over whole and reported as skipped.
  Result next(uint32_t max_frame);
  // Moves the unparsed tail to the front so the buffer has room again.
  void compact();
  size_t buffered() const { return end_ - pos_; }

 private:
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t skip_ = 0;  // bytes of an over-long frame still to pass over
};

class StreamPort final : public Port {
 public:
  // A port for an accepted connection closes for good when it ends; one that connects out only
  // goes down, and its owner connects it again.
  StreamPort(PortSettings settings, rte_mempool* pool, bool closes_on_eof);
  ~StreamPort() override;

  void attach_socket(Fd socket, std::string peer);
  bool connected() const { return static_cast<bool>(sock_); }
  // Ends the connection (an operator's `port del`, a protocol error).
  void disconnect(const std::string& why);

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return epoll_.get(); }
  std::string_view kind() const override { return "stream"; }
  std::vector<std::pair<std::string, std::string>> details() const override;

 private:
  void watch_writable(bool on);
  bool flush_pending();
  // Appends a frame's record to pending_, leaving out its first `skip` bytes (already sent).
  void queue(const rte_mbuf* m, size_t skip);
  void lost(const std::string& why);

  rte_mempool* pool_;
  bool closes_on_eof_;
  Fd sock_;
  Fd epoll_;
  std::string peer_;
  Deframer in_;
  std::vector<uint8_t> pending_;  // bytes accepted for sending but not yet taken by the kernel
  uint32_t pending_frames_ = 0;
  bool writable_watch_ = false;
  uint64_t sessions_ = 0;
  std::string last_error_;
};

}  // namespace vswitch::plugs::qemu
