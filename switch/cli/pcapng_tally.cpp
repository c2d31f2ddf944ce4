#include "pcapng_tally.hpp"

#include <cstring>

namespace vswitch::cli {

namespace {

constexpr uint32_t kEnhancedPacket = 6;
constexpr uint32_t kInterfaceStatistics = 5;
constexpr uint16_t kIsbIfDrop = 5;
constexpr size_t kIsbFixed = 8 + 12;  // block header, interface and timestamp

// vswitchd writes little-endian sections, as its section header says.
template <typename T>
T load(std::string_view b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

}  // namespace

void PcapngTally::feed(std::string_view bytes) {
  partial_.append(bytes);
  size_t at = 0;
  while (partial_.size() - at >= 8) {
    const uint32_t length = load<uint32_t>(partial_, at + 4);
    if (length < 12) {  // not a stream of vswitchd's: count nothing more
      partial_.clear();
      return;
    }
    if (partial_.size() - at < length) break;
    block(std::string_view(partial_).substr(at, length));
    at += length;
  }
  partial_.erase(0, at);
}

void PcapngTally::block(std::string_view b) {
  const uint32_t type = load<uint32_t>(b, 0);
  if (type == kEnhancedPacket) {
    ++frames_;
    return;
  }
  if (type != kInterfaceStatistics) return;
  for (size_t at = kIsbFixed; at + 4 <= b.size() - 4;) {
    const uint16_t code = load<uint16_t>(b, at);
    const uint16_t length = load<uint16_t>(b, at + 2);
    if (code == 0 || at + 4 + length > b.size() - 4) return;
    if (code == kIsbIfDrop && length == 8) lost_ += load<uint64_t>(b, at + 4);
    at += 4 + ((length + 3u) & ~3u);
  }
}

}  // namespace vswitch::cli
