// pcapgen: writes the two pcaps an end-to-end load replays, one per side of the switch.
// Side A sends from N addresses to side B's N addresses and B back, so after a moment every
// frame is learned unicast. 60-byte frames are 64 on the wire with the FCS.
//   pcapgen A.pcap B.pcap [MACS=512] [FRAME_BYTES=60]
#include <cstdio>
#include <cstdlib>

#include "frames.hpp"
#include "pcap_file.hpp"

using namespace vswitch::test;

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: pcapgen A.pcap B.pcap [MACS] [FRAME_BYTES]\n");
    return 2;
  }
  const uint64_t macs = argc > 3 ? strtoull(argv[3], nullptr, 10) : 512;
  const size_t bytes = argc > 4 ? strtoull(argv[4], nullptr, 10) : 60;
  if (macs == 0 || bytes < 60) {
    fprintf(stderr, "pcapgen: MACS must be positive and FRAME_BYTES at least 60\n");
    return 2;
  }
  constexpr uint64_t kSideB = 1 << 24;
  std::vector<Bytes> a, b;
  for (uint64_t i = 0; i < macs; ++i) {
    a.push_back(frame(mac(kSideB + i), mac(i), bytes - 14, static_cast<uint8_t>(i)));
    b.push_back(frame(mac(i), mac(kSideB + i), bytes - 14, static_cast<uint8_t>(i)));
  }
  write_pcap(argv[1], a);
  write_pcap(argv[2], b);
  return 0;
}
