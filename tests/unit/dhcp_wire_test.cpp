// The DHCP codec: messages to bytes and back, and every way a message can be malformed, each
// refused with its reason and never read past its end.
#include "common/dhcp_wire.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/ipv4_frames.hpp"

namespace vswitch::plugs::dhcp {
namespace {

using Bytes = std::vector<uint8_t>;

Message sample() {
  Message m;
  m.op = kBootReply;
  m.hops = 1;
  m.xid = 0x12345678;
  m.secs = 7;
  m.flags = kBroadcastFlag;
  m.ciaddr = 0x0a000001;
  m.yiaddr = 0xc0a8640a;
  m.siaddr = 0x0a000002;
  m.giaddr = 0x0a000003;
  m.chaddr = *MacAddr::parse("52:54:00:12:34:56");
  m.type = MessageType::ack;
  m.requested = 0xc0a8640b;
  m.server_id = 0xc0a864fe;
  m.lease_s = 3600;
  m.renewal_s = 1800;
  m.rebinding_s = 3150;
  m.subnet_mask = 0xffffff00;
  m.max_message_size = 1500;
  m.routers.push(0xc0a86401);
  m.dns.push(0xc0a86401);
  m.dns.push(0x08080808);
  const std::string name = "web";
  m.hostname.assign(reinterpret_cast<const uint8_t*>(name.data()), name.size());
  const uint8_t id[] = {1, 0x52, 0x54, 0, 0x12, 0x34, 0x56};
  m.client_id.assign(id, sizeof id);
  const uint8_t params[] = {1, 3, 6, 12, 15};
  m.parameters.assign(params, sizeof params);
  return m;
}

Bytes encode(const Message& m) {
  Bytes b(kMaxLen);
  b.resize(build(m, b.data(), b.size()));
  return b;
}

// The message's bytes in a buffer of exactly their size, so AddressSanitizer sees any read
// past the end.
ParseError decode(const Bytes& b, Message& m) {
  auto exact = std::make_unique<uint8_t[]>(b.size());
  std::copy(b.begin(), b.end(), exact.get());
  return parse(exact.get(), b.size(), m);
}

// A bare DISCOVER with these bytes as its options (after the cookie).
Bytes with_options(std::initializer_list<uint8_t> options) {
  Message m;
  m.type = MessageType::discover;
  Bytes b = encode(m);
  b.resize(kMinLen);
  b.insert(b.end(), options);
  return b;
}

TEST(DhcpWire, EveryFieldAndOptionSurvivesARoundTrip) {
  const Message m = sample();
  const Bytes b = encode(m);
  ASSERT_GE(b.size(), kMinBootpLen);
  Message back;
  ASSERT_EQ(decode(b, back), ParseError::none);
  EXPECT_EQ(back, m);
  EXPECT_TRUE(back.broadcast());
  EXPECT_EQ(back.hostname.text(), "web");
}

TEST(DhcpWire, AShortMessageIsPaddedToBootpsMinimumAndEndsItsOptions) {
  Message m;
  m.type = MessageType::nak;
  const Bytes b = encode(m);
  EXPECT_EQ(b.size(), kMinBootpLen);
  EXPECT_EQ(b[kMinLen], 53);
  EXPECT_EQ(b[kMinLen + 3], 255);
}

TEST(DhcpWire, BuildRefusesABufferTooSmall) {
  uint8_t small[kMinBootpLen - 1];
  EXPECT_EQ(build(sample(), small, sizeof small), 0u);
  EXPECT_EQ(build(sample(), small, 10), 0u);
}

TEST(DhcpWire, EveryTruncationIsAReasonNotACrash) {
  const Bytes full = encode(sample());
  for (size_t n = 0; n < full.size(); ++n) {
    Message m;
    const ParseError e = decode(Bytes(full.begin(), full.begin() + n), m);
    // The options end with END and padding: the cut lands in the header, an option, or the pad.
    if (n < kMinLen) {
      EXPECT_EQ(e, ParseError::too_short) << n;
    }
    if (e != ParseError::none) {
      EXPECT_EQ(m, Message{}) << "a refused message leaves nothing";
    }
  }
}

TEST(DhcpWire, HeaderRefusals) {
  Message m;
  Bytes b = encode(sample());
  Bytes huge(kMaxLen + 1, 0);
  EXPECT_EQ(decode(huge, m), ParseError::too_long);
  Bytes bad = b;
  bad[1] = 6;  // IEEE 802 token ring
  EXPECT_EQ(decode(bad, m), ParseError::not_ethernet);
  bad = b;
  bad[2] = 16;
  EXPECT_EQ(decode(bad, m), ParseError::not_ethernet);
  bad = b;
  bad[kFixedLen + 3] = 0;
  EXPECT_EQ(decode(bad, m), ParseError::no_cookie);
}

TEST(DhcpWire, OptionRefusals) {
  Message m;
  EXPECT_EQ(decode(with_options({53, 1, 1, 12}), m), ParseError::truncated_option);
  EXPECT_EQ(decode(with_options({53, 1, 1, 12, 5, 'a', 'b'}), m), ParseError::truncated_option);
  EXPECT_EQ(decode(with_options({53, 2, 1, 1, 255}), m), ParseError::bad_length);
  EXPECT_EQ(decode(with_options({53, 1, 1, 1, 3, 255, 255, 255, 255}), m), ParseError::bad_length);
  EXPECT_EQ(decode(with_options({53, 1, 1, 3, 5, 1, 2, 3, 4, 5, 255}), m), ParseError::bad_length);
  EXPECT_EQ(decode(with_options({53, 1, 1, 6, 0, 255}), m), ParseError::bad_length);
  EXPECT_EQ(decode(with_options({53, 1, 1, 57, 1, 9, 255}), m), ParseError::bad_length);
  EXPECT_EQ(decode(with_options({53, 1, 1, 52, 1, 4, 255}), m), ParseError::bad_overload);
  EXPECT_EQ(decode(with_options({53, 1, 9, 255}), m), ParseError::bad_message_type);
  EXPECT_EQ(decode(with_options({53, 1, 0, 255}), m), ParseError::bad_message_type);
  EXPECT_EQ(decode(with_options({12, 1, 'a', 255}), m), ParseError::no_message_type);
  EXPECT_EQ(decode(with_options({}), m), ParseError::no_message_type);
  for (ParseError e : {ParseError::truncated_option, ParseError::bad_overload}) {
    EXPECT_NE(to_string(e), "?");
  }
}

TEST(DhcpWire, PadsAreSkippedAndWhatFollowsEndIsNotRead) {
  Message m;
  ASSERT_EQ(decode(with_options({0, 0, 53, 1, 3, 0, 255, 12, 200}), m), ParseError::none);
  EXPECT_EQ(m.type, MessageType::request);
  EXPECT_TRUE(m.hostname.empty());
  // Options that fill their field up to its end need no END.
  ASSERT_EQ(decode(with_options({53, 1, 7}), m), ParseError::none);
  EXPECT_EQ(m.type, MessageType::release);
  // Options this server has no use for are passed over, whatever their content.
  ASSERT_EQ(decode(with_options({43, 3, 1, 2, 3, 53, 1, 8, 255}), m), ParseError::none);
  EXPECT_EQ(m.type, MessageType::inform);
}

TEST(DhcpWire, AnOptionInPartsIsJoinedAndRefusedPast255Bytes) {
  Message m;
  ASSERT_EQ(decode(with_options({53, 1, 1, 12, 2, 'w', 'e', 12, 1, 'b', 255}), m),
            ParseError::none);
  EXPECT_EQ(m.hostname.text(), "web");
  Bytes b = with_options({53, 1, 1});
  for (int part = 0; part < 3; ++part) {
    b.push_back(61);
    b.push_back(100);
    b.insert(b.end(), 100, 0x42);
  }
  b.push_back(255);
  EXPECT_EQ(decode(b, m), ParseError::option_too_long);
}

// Option 52: the file field's options are read, then sname's; an overload inside them means
// nothing, and their own truncations are refused like the options field's.
TEST(DhcpWire, OverloadedFileAndSnameFieldsCarryOptions) {
  constexpr size_t kSname = 44, kFile = 108;
  Bytes b = with_options({53, 1, 1, 52, 1, 3, 255});
  const uint8_t in_file[] = {12, 3, 'o', 'n', 'e', 52, 1, 9, 255};
  const uint8_t in_sname[] = {50, 4, 192, 168, 100, 20, 12, 3, 't', 'w', 'o', 255};
  std::copy(std::begin(in_file), std::end(in_file), b.begin() + kFile);
  std::copy(std::begin(in_sname), std::end(in_sname), b.begin() + kSname);
  Message m;
  ASSERT_EQ(decode(b, m), ParseError::none);
  EXPECT_EQ(m.hostname.text(), "onetwo");
  EXPECT_EQ(m.requested, 0xc0a86414u);

  Bytes only_file = b;
  only_file[kMinLen + 5] = 1;
  ASSERT_EQ(decode(only_file, m), ParseError::none);
  EXPECT_EQ(m.hostname.text(), "one");
  EXPECT_FALSE(m.requested);

  Bytes overflowing = b;
  overflowing[kSname + 62] = 12;  // a host name whose length byte is the field's last byte
  overflowing[kSname + 63] = 9;
  overflowing[kSname + 11] = 0;  // the END before it becomes a pad
  EXPECT_EQ(decode(overflowing, m), ParseError::truncated_option);
}

TEST(DhcpWire, HostNamesAreCleanedForShowingAndStoring) {
  EXPECT_EQ(HostName::clean("web server\n;rm -rf").view(), "webserverrm-rf");
  EXPECT_EQ(HostName::clean(std::string(100, 'a')).view().size(), 63u);
  EXPECT_EQ(HostName::clean(std::string_view("db\0", 3)).view(), "db");
  EXPECT_TRUE(HostName::valid("web-1.lab_x"));
  EXPECT_FALSE(HostName::valid("web 1"));
  EXPECT_FALSE(HostName::valid(""));
  EXPECT_FALSE(HostName::valid(std::string(64, 'a')));
}

TEST(Ipv4Frames, UdpRoundTripWithChecksumsAndPadding) {
  uint8_t f[256] = {};
  UdpDatagram d;
  d.src_mac = *MacAddr::parse("02:00:00:00:00:01");
  d.dst_mac = kBroadcastMac;
  d.src_ip = 0xc0a864fe;
  d.dst_ip = kIpv4Broadcast;
  d.src_port = kServerPort;
  d.dst_port = kClientPort;
  f[kUdpHeadersLen] = 0xab;
  const size_t n = finish_udp(f, d, 1);
  EXPECT_EQ(n, kMinFrameLen);
  const auto back = parse_udp(f, n);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->src_mac, d.src_mac);
  EXPECT_EQ(back->dst_ip, kIpv4Broadcast);
  EXPECT_EQ(back->src_port, kServerPort);
  EXPECT_EQ(back->len, 1u);
  EXPECT_EQ(back->payload[0], 0xab);
  // The IP header sums to all ones, as a receiver checks it.
  uint32_t sum = 0;
  for (size_t i = 14; i < 34; i += 2)
    sum += uint32_t{f[i]} << 8 | f[i + 1];
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
  // Truncated, fragmented or lying about its length: not a datagram.
  EXPECT_FALSE(parse_udp(f, kUdpHeadersLen - 1));
  uint8_t frag[256];
  std::copy(f, f + n, frag);
  frag[14 + 6] = 0x20;  // more fragments
  EXPECT_FALSE(parse_udp(frag, n));
  std::copy(f, f + n, frag);
  frag[14 + 2] = 0x05;  // an IP length past the frame
  EXPECT_FALSE(parse_udp(frag, n));
  std::copy(f, f + n, frag);
  frag[14 + 20 + 5] = 60;  // a UDP length past the IP packet
  EXPECT_FALSE(parse_udp(frag, n));
}

TEST(Ipv4Frames, ArpRequestAndReply) {
  uint8_t req[60] = {};
  const MacAddr asker = *MacAddr::parse("02:00:00:00:00:07");
  kBroadcastMac.to_bytes(req);
  asker.to_bytes(req + 6);
  const uint8_t arp[] = {0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1};
  std::copy(std::begin(arp), std::end(arp), req + 12);
  asker.to_bytes(req + 22);
  const uint8_t ips[] = {192, 168, 100, 10, 0, 0, 0, 0, 0, 0, 192, 168, 100, 254};
  std::copy(std::begin(ips), std::end(ips), req + 28);
  const auto r = parse_arp_request(req, sizeof req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sender_mac, asker);
  EXPECT_EQ(r->sender_ip, 0xc0a8640au);
  EXPECT_EQ(r->target_ip, 0xc0a864feu);
  EXPECT_FALSE(parse_arp_request(req, 41));
  uint8_t reply[kMinFrameLen];
  const MacAddr me = *MacAddr::parse("02:aa:00:00:00:01");
  ASSERT_EQ(build_arp_reply(reply, me, r->target_ip, *r), kMinFrameLen);
  EXPECT_EQ(MacAddr::from_bytes(reply), asker);
  EXPECT_EQ(load_be16(reply + 20), 2);  // a reply
  EXPECT_EQ(MacAddr::from_bytes(reply + 22), me);
  EXPECT_FALSE(parse_arp_request(reply, sizeof reply)) << "a reply is not a request";
}

}  // namespace
}  // namespace vswitch::plugs::dhcp
