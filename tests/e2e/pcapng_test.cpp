// The pcapng blocks the switch writes, read back by tshark: interfaces by name and kind, each
// frame whole or cut at the snap length, its direction and its comment, and the statistics.
#include "capture/pcapng.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>

#include "../support/frames.hpp"
#include "../support/process.hpp"

namespace vswitch::test {
namespace {

using capture::Direction;
using capture::PcapngWriter;
using ::testing::HasSubstr;

// tshark's fields of every frame, one line each.
std::string tshark(const std::string& file, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/tshark", "-r", file};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run_program(argv, 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

class Pcapng : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/tshark", X_OK) != 0) GTEST_SKIP() << "needs tshark";
  }
  void save(PcapngWriter& w) {
    const std::vector<uint8_t> bytes = w.take();
    std::ofstream(file_, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  TempDir tmp_;
  std::string file_ = tmp_.file("capture.pcapng");
};

TEST_F(Pcapng, TsharkReadsInterfacesFramesDirectionsAndComments) {
  PcapngWriter w;
  const uint32_t vde = w.add_interface("vde:1", "vde port of segment default");
  const uint32_t dpdk = w.add_interface("p0", "dpdk port of segment lab", 100);
  const Bytes a = frame(kBroadcast, mac(1), 46, 1), b = frame(mac(1), mac(2), 1000, 2);
  w.packet(vde, 1'000'000'123, a, Direction::inbound);
  w.packet(dpdk, 2'000'000'000, b, Direction::outbound, "dropped: policy");
  w.packet(vde, 3'000'000'000, a, Direction::unknown);
  save(w);
  const std::string lines = tshark(file_, {"-T", "fields",
                                           "-E", "separator=|",
                                           "-e", "frame.interface_name",
                                           "-e", "frame.interface_description",
                                           "-e", "frame.len",
                                           "-e", "frame.cap_len",
                                           "-e", "frame.packet_flags_direction",
                                           "-e", "frame.comment",
                                           "-e", "frame.time_epoch",
                                           "-e", "eth.src"});
  EXPECT_EQ(lines,
            "vde:1|vde port of segment default|60|60|0x00000001||1.000000123|02:00:00:00:00:01\n"
            "p0|dpdk port of segment lab|1014|100|0x00000002|dropped: policy|2.000000000|"
            "02:00:00:00:00:02\n"
            "vde:1|vde port of segment default|60|60|||3.000000000|02:00:00:00:00:01\n");
}

TEST_F(Pcapng, StatisticsSayWhatTheCaptureLost) {
  PcapngWriter w("vswitchd test");
  const uint32_t p = w.add_interface("p0", "");
  w.packet(p, 1, frame(kBroadcast, mac(1)), Direction::inbound);
  w.statistics(p, 2, 10, 9);
  const std::vector<uint8_t> bytes = w.take();
  // The ISB's counters, read the way the specification lays them out (tshark does not print
  // them): options after interface id and timestamp, code and length, 64-bit values.
  std::map<uint16_t, uint64_t> counters;
  for (size_t at = 0; at + 12 <= bytes.size();) {
    uint32_t type, length;
    std::memcpy(&type, &bytes[at], 4);
    std::memcpy(&length, &bytes[at + 4], 4);
    if (type == 5) {
      for (size_t o = at + 20; o + 4 <= at + length - 4;) {
        uint16_t code, len;
        std::memcpy(&code, &bytes[o], 2);
        std::memcpy(&len, &bytes[o + 2], 2);
        if (code == 0) break;
        if (len == 8) std::memcpy(&counters[code], &bytes[o + 4], 8);
        o += 4 + (len + 3) / 4 * 4;
      }
    }
    at += length;
  }
  EXPECT_EQ(counters[4], 10u) << "isb_ifrecv";
  EXPECT_EQ(counters[5], 9u) << "isb_ifdrop";
  std::ofstream(file_, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  const std::string stats = run_program({"/usr/bin/capinfos", file_}, 30s).out;
  EXPECT_THAT(stats, HasSubstr("vswitchd test"));
  // capinfos parses the block (it does not print its counters).
  EXPECT_THAT(stats, HasSubstr("Number of stat entries = 1"));
  EXPECT_THAT(stats, HasSubstr("Number of packets:   1"));
}

}  // namespace
}  // namespace vswitch::test
