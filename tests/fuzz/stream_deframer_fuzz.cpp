// QEMU's stream framing from a peer that may send anything, cut into reads anywhere: the
// Deframer must report, in order, what a plain reading of the whole stream finds.
//
// Input: max_frame (2 bytes, big-endian, taken modulo the datagram limit), extra buffer room
// (1 byte), the number of read sizes k (1 byte, modulo 16), k read sizes (1 byte each, plus one),
// then the stream itself.
#include <algorithm>
#include <cstring>
#include <vector>

#include "common/dgram_io.hpp"
#include "qemu/stream_port.hpp"
#include "require.hpp"

using vswitch::fuzz::require;
using vswitch::plugs::kMaxDatagramFrame;
using vswitch::plugs::qemu::Deframer;
using vswitch::plugs::qemu::kQemuMaxRecord;

namespace {

struct Event {
  Deframer::Event what;
  std::vector<uint8_t> frame;
  uint32_t length = 0;
  bool operator==(const Event&) const = default;
};

uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// What the stream holds, read in one go; a zero or over-long length ends the connection.
std::vector<Event> reference(const uint8_t* s, size_t n, uint32_t max_frame) {
  std::vector<Event> out;
  size_t pos = 0;
  while (n - pos >= 4) {
    const uint32_t len = load_be32(s + pos);
    if (len == 0) {
      out.push_back({Deframer::Event::zero_length, {}, 0});
      break;
    }
    if (len > kQemuMaxRecord) {
      out.push_back({Deframer::Event::too_long, {}, len});
      break;
    }
    if (n - pos - 4 < len) break;
    if (len > max_frame) {
      out.push_back({Deframer::Event::skipped, {}, 0});
    } else {
      out.push_back({Deframer::Event::frame, {s + pos + 4, s + pos + 4 + len}, len});
    }
    pos += 4 + size_t{len};
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint32_t max_frame = 1 + (uint32_t{data[0]} << 8 | data[1]) % kMaxDatagramFrame;
  const size_t capacity = 4 + max_frame + size_t{data[2]} * 61;
  const size_t k = std::max<size_t>(1, data[3] % 16);
  if (size < 4 + k) return 0;
  const uint8_t* reads = data + 4;
  const uint8_t* stream = data + 4 + k;
  const size_t stream_len = size - 4 - k;

  Deframer d(capacity);
  std::vector<Event> got;
  size_t fed = 0;
  bool ended = false;
  for (size_t r = 0; !ended; ++r) {
    for (;;) {
      const Deframer::Result e = d.next(max_frame);
      if (e.event == Deframer::Event::need_more) break;
      Event ev{e.event, {}, e.length};
      if (e.event == Deframer::Event::frame) {
        require(e.length <= max_frame, "a frame within max_frame");
        ev.frame.assign(e.frame, e.frame + e.length);
      } else {
        ev.length = e.event == Deframer::Event::too_long ? e.length : 0;
      }
      got.push_back(std::move(ev));
      if (e.event == Deframer::Event::zero_length || e.event == Deframer::Event::too_long) {
        ended = true;  // the port drops the connection
        break;
      }
    }
    if (ended || fed == stream_len) break;
    d.compact();
    require(d.space_left() > 0, "room for the next read after compact()");
    const size_t n = std::min({size_t{reads[r % k]} + 1, d.space_left(), stream_len - fed});
    std::memcpy(d.space(), stream + fed, n);
    d.commit(n);
    fed += n;
  }
  require(got == reference(stream, stream_len, max_frame), "the events a plain reading finds");
  return 0;
}
