// Finishing the checksums a stack left to the hardware (CHECKSUM_PARTIAL), as the uplink port
// does for frames from a veth's peer: the field holds the pseudo-header's sum going in.
#include "packet/checksum.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace vswitch::plugs::packet {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(const char* hex) {
  Bytes b;
  for (const char* p = hex; p[0] && p[1]; p += 2) {
    while (*p == ' ')
      ++p;
    b.push_back(static_cast<uint8_t>(std::stoi(std::string(p, 2), nullptr, 16)));
  }
  return b;
}

uint32_t add16(uint32_t sum, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i += 2)
    sum += static_cast<uint32_t>(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
void put16(Bytes& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// A frame with its L4 checksum as a sender leaves it partial: the pseudo-header's sum. Returns
// the checksum a NIC would have written.
uint16_t make_partial(Bytes& f, size_t ip, bool v6, size_t l4, uint8_t proto) {
  const size_t len = f.size() - l4;
  const size_t field = l4 + (proto == 6 ? 16 : 6);
  put16(f, field, 0);
  uint32_t pseudo = v6 ? add16(0, &f[ip + 8], 32) : add16(0, &f[ip + 12], 8);
  pseudo += proto + static_cast<uint32_t>(len);
  const auto full = static_cast<uint16_t>(~fold(add16(pseudo, &f[l4], len)));
  put16(f, field, fold(pseudo));
  return full;
}

Bytes ether(uint16_t type, size_t rest) {
  Bytes f(14 + rest, 0);
  f[0] = 0x02;
  f[6] = 0x02;
  f[11] = 1;
  put16(f, 12, type);
  return f;
}

Bytes ipv4(uint8_t proto, size_t payload, size_t at = 14) {
  Bytes f = ether(0x0800, at - 14 + 20 + payload);
  if (at > 14) {  // a VLAN tag before the IPv4 type
    put16(f, 12, 0x8100);
    put16(f, 14, 10);
    put16(f, 16, 0x0800);
  }
  f[at] = 0x45;
  put16(f, at + 2, static_cast<uint16_t>(20 + payload));
  f[at + 8] = 64;
  f[at + 9] = proto;
  const uint8_t addrs[] = {10, 77, 0, 1, 10, 77, 0, 10};
  std::copy(addrs, addrs + 8, &f[at + 12]);
  for (size_t i = 0; i < payload; ++i)
    f[at + 20 + i] = static_cast<uint8_t>(i * 7 + 3);
  if (proto == 17) put16(f, at + 24, static_cast<uint16_t>(payload));
  return f;
}

TEST(PartialChecksum, FinishesWhatTheKernelHandedOverFromAVethPeer) {
  // A UDP datagram "hello world" as it came out of a veth: 0x14c9 is the pseudo-header's sum.
  const Bytes f = from_hex(
      "020000000001 8aee70156624 0800"
      "45000027be2c40004011 67f5 0a4d0001 0a4d000a"
      "b0040009 0013 14c9 68656c6c6f20776f726c64");
  auto fix = finish_partial_checksum(f.data(), static_cast<uint32_t>(f.size()));
  ASSERT_TRUE(fix.has_value());
  EXPECT_EQ(fix->offset, 40u);
  EXPECT_EQ(fix->value, 0xa947);
}

TEST(PartialChecksum, FinishesTcpAndUdpOverIpv4) {
  for (uint8_t proto : {6, 17}) {
    Bytes f = ipv4(proto, 333);
    const uint16_t want = make_partial(f, 14, false, 34, proto);
    auto fix = finish_partial_checksum(f.data(), static_cast<uint32_t>(f.size()));
    ASSERT_TRUE(fix.has_value()) << int{proto};
    EXPECT_EQ(fix->offset, 34u + (proto == 6 ? 16 : 6));
    EXPECT_EQ(fix->value, want) << int{proto};
  }
}

TEST(PartialChecksum, LooksPastAVlanTagAndIgnoresEthernetPadding) {
  Bytes f = ipv4(6, 20, 18);
  const uint16_t want = make_partial(f, 18, false, 38, 6);
  f.resize(f.size() + 6, 0xee);  // padding beyond the IPv4 length is not summed
  auto fix = finish_partial_checksum(f.data(), static_cast<uint32_t>(f.size()));
  ASSERT_TRUE(fix.has_value());
  EXPECT_EQ(fix->offset, 38u + 16);
  EXPECT_EQ(fix->value, want);
}

TEST(PartialChecksum, FinishesUdpOverIpv6PastAnExtensionHeader) {
  const size_t payload = 8 + 100;
  Bytes f = ether(0x86dd, 40 + 8 + payload);
  f[14] = 0x60;
  put16(f, 18, static_cast<uint16_t>(8 + payload));
  f[20] = 0;  // hop-by-hop options, 8 bytes, then UDP
  f[21] = 64;
  for (size_t i = 0; i < 32; ++i)
    f[22 + i] = static_cast<uint8_t>(0xfd + i);
  f[54] = 17;
  f[55] = 0;
  const size_t l4 = 62;
  put16(f, l4 + 4, static_cast<uint16_t>(payload));
  for (size_t i = 8; i < payload; ++i)
    f[l4 + i] = static_cast<uint8_t>(i);
  const uint16_t want = make_partial(f, 14, true, l4, 17);
  auto fix = finish_partial_checksum(f.data(), static_cast<uint32_t>(f.size()));
  ASSERT_TRUE(fix.has_value());
  EXPECT_EQ(fix->offset, l4 + 6);
  EXPECT_EQ(fix->value, want);
}

TEST(PartialChecksum, LeavesAloneWhatItCannotFinish) {
  auto none = [](const Bytes& f) {
    return !finish_partial_checksum(f.data(), static_cast<uint32_t>(f.size())).has_value();
  };
  EXPECT_TRUE(none(ether(0x0806, 28))) << "ARP";
  EXPECT_TRUE(none(ipv4(1, 40))) << "ICMP";
  Bytes fragment = ipv4(17, 40);
  put16(fragment, 20, 0x2000);  // more fragments
  EXPECT_TRUE(none(fragment));
  Bytes cut = ipv4(6, 100);
  cut.resize(60);
  EXPECT_TRUE(none(cut)) << "shorter than its IPv4 length";
  EXPECT_TRUE(none(Bytes(10, 0)));
}

}  // namespace
}  // namespace vswitch::plugs::packet
