// QEMU's stream framing, taken apart as the stream port does: records split anywhere, several
// at once, and the lengths that must end a connection.
#include <gtest/gtest.h>

#include <cstring>

#include "qemu/stream_port.hpp"

namespace vswitch::plugs::qemu {
namespace {

// Appends one record of `len` bytes of `fill` to `out`.
void record(std::vector<uint8_t>& out, uint32_t len, uint8_t fill) {
  const size_t at = out.size();
  out.resize(at + 4 + len, fill);
  out[at] = static_cast<uint8_t>(len >> 24);
  out[at + 1] = static_cast<uint8_t>(len >> 16);
  out[at + 2] = static_cast<uint8_t>(len >> 8);
  out[at + 3] = static_cast<uint8_t>(len);
}

void feed(Deframer& d, const std::vector<uint8_t>& bytes, size_t from = 0, size_t n = SIZE_MAX) {
  n = std::min(n, bytes.size() - from);
  d.compact();
  ASSERT_GE(d.space_left(), n);
  std::memcpy(d.space(), bytes.data() + from, n);
  d.commit(n);
}

TEST(Deframer, ManyRecordsInOneRead) {
  Deframer d;
  std::vector<uint8_t> bytes;
  for (uint8_t i = 1; i <= 50; ++i)
    record(bytes, 60u + i, i);
  feed(d, bytes);
  for (uint8_t i = 1; i <= 50; ++i) {
    auto r = d.next(9234);
    ASSERT_EQ(r.event, Deframer::Event::frame);
    EXPECT_EQ(r.length, 60u + i);
    EXPECT_EQ(r.frame[0], i);
  }
  EXPECT_EQ(d.next(9234).event, Deframer::Event::need_more);
}

TEST(Deframer, LengthAndFrameSplitAnywhere) {
  std::vector<uint8_t> r;
  record(r, 100, 7);
  for (size_t cut = 1; cut < r.size(); ++cut) {
    Deframer d;
    feed(d, r, 0, cut);
    EXPECT_EQ(d.next(9234).event, Deframer::Event::need_more) << cut;
    feed(d, r, cut);
    auto got = d.next(9234);
    ASSERT_EQ(got.event, Deframer::Event::frame) << cut;
    EXPECT_EQ(got.length, 100u);
  }
}

TEST(Deframer, ZeroLengthAndOverQemuMaximumAreReported) {
  Deframer zero;
  feed(zero, std::vector<uint8_t>(4, 0));
  EXPECT_EQ(zero.next(9234).event, Deframer::Event::zero_length);
  Deframer huge;
  std::vector<uint8_t> len(4);
  len[1] = 1;
  len[2] = 0x10;
  len[3] = 0x01;  // 69633
  feed(huge, len);
  auto r = huge.next(9234);
  EXPECT_EQ(r.event, Deframer::Event::too_long);
  EXPECT_EQ(r.length, kQemuMaxRecord + 1);
}

TEST(Deframer, FrameOverOurLimitIsSkippedWholeAcrossReads) {
  Deframer d(16 * 1024);
  std::vector<uint8_t> big;
  record(big, 20000, 9);
  record(big, 64, 3);
  size_t fed = 0;
  int skipped = 0;
  for (int guard = 0; guard < 100; ++guard) {
    auto r = d.next(9234);
    if (r.event == Deframer::Event::frame) {
      EXPECT_EQ(r.length, 64u);
      EXPECT_EQ(r.frame[0], 3);
      EXPECT_EQ(skipped, 1);
      return;
    }
    if (r.event == Deframer::Event::skipped) ++skipped;
    if (r.event == Deframer::Event::need_more) {
      const size_t n = std::min<size_t>(4000, big.size() - fed);
      ASSERT_GT(n, 0u);
      feed(d, big, fed, n);
      fed += n;
    }
  }
  FAIL() << "the frame after the skipped one never came";
}

}  // namespace
}  // namespace vswitch::plugs::qemu
