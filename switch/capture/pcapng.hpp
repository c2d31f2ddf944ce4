// pcapng, the few blocks a capture of the switch's ports needs, as Wireshark and tshark read
// them: a Section Header Block, an Interface Description Block per port (its name and kind),
// Enhanced Packet Blocks with the direction (epb_flags) and a comment (why a frame was
// dropped), and Interface Statistics Blocks at the end (what the capture itself lost).
// DPDK's rte_pcapng describes ethdev ports only; these blocks describe any port.
//
// The writer appends to a byte buffer the caller sends where it wants (a file, a socket);
// little-endian, as the section's byte-order magic says; timestamps in nanoseconds.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vswitch::capture {

enum class Direction : uint8_t { unknown = 0, inbound = 1, outbound = 2 };

// The pieces of a block, in native byte order, which the section's byte-order magic declares.
namespace block {

constexpr uint32_t kEnhancedPacket = 6;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kEpbFlags = 2;

constexpr size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}

inline uint8_t* put(uint8_t* at, const auto& v) {
  std::memcpy(at, &v, sizeof v);
  return at + sizeof v;
}

inline uint8_t* put_option(uint8_t* at, uint16_t code, const void* value, size_t size) {
  at = put(at, code);
  at = put(at, static_cast<uint16_t>(size));
  std::memcpy(at, value, size);
  std::memset(at + size, 0, padded(size) - size);
  return at + padded(size);
}

}  // namespace block

// The bytes of an Enhanced Packet Block for a frame already cut to what is kept, of
// `wire_length` bytes on the wire. Sized first, then written into `out`, which must hold it:
// the datapath writes blocks straight into a capture's buffer this way, inline.
constexpr size_t packet_block_size(size_t kept, Direction direction, std::string_view comment) {
  constexpr size_t kFixed = 7 * 4;  // type, length, interface, time x2, lengths x2
  constexpr size_t kFlagsOption = 4 + 4;
  constexpr size_t kEndOfOptionsAndTrailer = 4 + 4;
  return kFixed + block::padded(kept) + (comment.empty() ? 0 : 4 + block::padded(comment.size())) +
         (direction == Direction::unknown ? 0 : kFlagsOption) + kEndOfOptionsAndTrailer;
}

inline void write_packet_block(uint8_t* out, uint32_t interface, uint64_t time_ns,
                               std::span<const uint8_t> kept, uint32_t wire_length,
                               Direction direction, std::string_view comment) {
  using namespace block;
  const auto length = static_cast<uint32_t>(packet_block_size(kept.size(), direction, comment));
  uint8_t* at = put(out, kEnhancedPacket);
  at = put(at, length);
  at = put(at, interface);
  at = put(at, static_cast<uint32_t>(time_ns >> 32));
  at = put(at, static_cast<uint32_t>(time_ns));
  at = put(at, static_cast<uint32_t>(kept.size()));
  at = put(at, wire_length);
  std::memcpy(at, kept.data(), kept.size());
  std::memset(at + kept.size(), 0, padded(kept.size()) - kept.size());
  at += padded(kept.size());
  if (!comment.empty()) at = put_option(at, kOptComment, comment.data(), comment.size());
  if (direction != Direction::unknown) {
    const auto flags = static_cast<uint32_t>(direction);
    at = put_option(at, kEpbFlags, &flags, sizeof flags);
  }
  at = put(at, uint32_t{0});  // opt_endofopt
  put(at, length);
}

class PcapngWriter {
 public:
  explicit PcapngWriter(std::string_view application = "vswitchd");

  // An interface for each port, numbered from 0 in the order added.
  uint32_t add_interface(std::string_view name, std::string_view description,
                         uint32_t snaplen = 262144);
  // The first `snaplen` bytes of the frame (its interface's), the whole length recorded: the
  // frame's, or `wire_length` when the frame given was already cut.
  void packet(uint32_t interface, uint64_t time_ns, std::span<const uint8_t> frame,
              Direction direction, std::string_view comment = {}, uint32_t wire_length = 0);
  // What the interface saw and what the capture could not keep.
  void statistics(uint32_t interface, uint64_t time_ns, uint64_t received, uint64_t dropped);

  // The bytes written since the last take().
  std::vector<uint8_t> take();
  size_t pending() const { return out_.size(); }

 private:
  void begin(uint32_t type);
  void end();
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void bytes(std::span<const uint8_t> b);  // padded to 32 bits
  void option(uint16_t code, std::span<const uint8_t> value);
  void option(uint16_t code, std::string_view text);
  void end_of_options();

  std::vector<uint8_t> out_;
  size_t block_start_ = 0;
  std::vector<uint32_t> snaplens_;
};

}  // namespace vswitch::capture
