// DHCP messages (RFC 2131, options of RFC 2132) to and from bytes: the BOOTP header, the magic
// cookie, and the options a server and a lease snooper need, with option overload (52) of the
// file and sname fields and options split in parts (RFC 3396) joined again.
//
// Parsing is total: whatever the bytes, it returns a reason or a message, never reads past the
// buffer and allocates nothing, so it runs on the datapath as it is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "vswitch/ether.hpp"

namespace vswitch::plugs::dhcp {

inline constexpr uint16_t kServerPort = 67;
inline constexpr uint16_t kClientPort = 68;
inline constexpr size_t kFixedLen = 236;          // op .. file, before the cookie
inline constexpr size_t kMinLen = kFixedLen + 4;  // and the cookie
inline constexpr size_t kMinBootpLen = 300;       // what BOOTP relays expect (RFC 1542)
inline constexpr size_t kMaxLen = 1500 - 20 - 8;  // one unfragmented Ethernet packet
inline constexpr uint16_t kBroadcastFlag = 0x8000;
inline constexpr uint8_t kBootRequest = 1, kBootReply = 2;

enum class MessageType : uint8_t {
  none = 0,
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7,
  inform = 8,
};
std::string_view to_string(MessageType t);

enum class ParseError : uint8_t {
  none,
  too_short,         // shorter than the BOOTP header and cookie
  too_long,          // longer than kMaxLen
  not_ethernet,      // htype is not 1 or hlen is not 6
  no_cookie,         // no magic cookie after the header
  truncated_option,  // an option's length byte or value runs past its field
  bad_length,        // an option's length does not fit its kind
  bad_overload,      // option 52 other than 1, 2 or 3
  option_too_long,   // an option split in parts is longer than 255 bytes in all
  no_message_type,   // BOOTP, not DHCP
  bad_message_type,  // option 53 outside 1-8
};
std::string_view to_string(ParseError e);

// Up to 255 bytes of an option's value, held in place.
struct OptionBytes {
  std::array<uint8_t, 255> bytes{};
  uint8_t len = 0;

  bool empty() const { return len == 0; }
  // False (and nothing kept) when the result would pass 255 bytes.
  bool append(const uint8_t* p, size_t n);
  bool assign(const uint8_t* p, size_t n) {
    len = 0;
    return append(p, n);
  }
  std::string_view text() const { return {reinterpret_cast<const char*>(bytes.data()), len}; }
  friend bool operator==(const OptionBytes& a, const OptionBytes& b) {
    return a.text() == b.text();
  }
};

// A few IPv4 addresses (routers, DNS servers), in host byte order.
struct AddressList {
  static constexpr size_t kMax = 8;
  std::array<uint32_t, kMax> addr{};
  uint8_t n = 0;

  bool empty() const { return n == 0; }
  void push(uint32_t a) {
    if (n < kMax) addr[n++] = a;
  }
  friend bool operator==(const AddressList& a, const AddressList& b) {
    if (a.n != b.n) return false;
    for (size_t i = 0; i < a.n; ++i) {
      if (a.addr[i] != b.addr[i]) return false;
    }
    return true;
  }
};

// A host name as one may show it and store it on a line: its letters, digits, '-', '.' and
// '_', at most 63 of them; anything else a client sends is left out.
struct HostName {
  std::array<char, 64> chars{};
  uint8_t len = 0;

  static HostName clean(std::string_view raw);
  // Whether `raw` is a host name as it is, with nothing to leave out.
  static bool valid(std::string_view raw);
  std::string_view view() const { return {chars.data(), len}; }
  bool empty() const { return len == 0; }
  friend bool operator==(const HostName& a, const HostName& b) { return a.view() == b.view(); }
};

// A DHCP message: the header's fields and the options this codec knows. Addresses in host byte
// order; an absent option is nullopt or empty.
struct Message {
  uint8_t op = kBootRequest;
  uint8_t hops = 0;
  uint32_t xid = 0;
  uint16_t secs = 0;
  uint16_t flags = 0;
  uint32_t ciaddr = 0, yiaddr = 0, siaddr = 0, giaddr = 0;
  MacAddr chaddr;  // Ethernet only: htype 1, hlen 6

  MessageType type = MessageType::none;      // 53
  std::optional<uint32_t> requested;         // 50
  std::optional<uint32_t> server_id;         // 54
  std::optional<uint32_t> lease_s;           // 51
  std::optional<uint32_t> renewal_s;         // 58, T1
  std::optional<uint32_t> rebinding_s;       // 59, T2
  std::optional<uint32_t> subnet_mask;       // 1
  std::optional<uint16_t> max_message_size;  // 57
  AddressList routers;                       // 3
  AddressList dns;                           // 6
  OptionBytes hostname;                      // 12, as sent
  OptionBytes client_id;                     // 61
  OptionBytes parameters;                    // 55, the codes asked for

  bool broadcast() const { return (flags & kBroadcastFlag) != 0; }
  friend bool operator==(const Message&, const Message&) = default;
};

// The message in bootp[0, len): the UDP payload.
ParseError parse(const uint8_t* bootp, size_t len, Message& out);

// Writes the message, its options in one run ending with END and padded to kMinBootpLen;
// returns its length, or 0 when `cap` is too small.
size_t build(const Message& m, uint8_t* out, size_t cap);

}  // namespace vswitch::plugs::dhcp
