#include "common/dhcp_wire.hpp"

#include <cctype>
#include <cstring>

#include "common/big_endian.hpp"

namespace vswitch::plugs::dhcp {

namespace {

constexpr uint8_t kCookie[4] = {99, 130, 83, 99};
constexpr size_t kChaddr = 28, kSname = 44, kFile = 108;
constexpr size_t kSnameLen = 64, kFileLen = 128;

enum Code : uint8_t {
  kPad = 0,
  kSubnetMask = 1,
  kRouter = 3,
  kDns = 6,
  kHostName = 12,
  kRequested = 50,
  kLeaseTime = 51,
  kOverload = 52,
  kMessageType = 53,
  kServerId = 54,
  kParameters = 55,
  kMaxSize = 57,
  kRenewal = 58,
  kRebinding = 59,
  kClientId = 61,
  kEnd = 255,
};

bool hostname_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// One option's value into the message. Scalars must have their length; a list of addresses is
// a multiple of 4; byte strings given in parts are joined (RFC 3396).
ParseError take(uint8_t code, const uint8_t* v, uint8_t len, Message& m, uint8_t& overload,
                bool in_options_field) {
  auto address = [&](std::optional<uint32_t>& to) {
    if (len != 4) return ParseError::bad_length;
    to = load_be32(v);
    return ParseError::none;
  };
  auto addresses = [&](AddressList& to) {
    if (len == 0 || len % 4 != 0) return ParseError::bad_length;
    for (size_t i = 0; i < len; i += 4)
      to.push(load_be32(v + i));
    return ParseError::none;
  };
  auto bytes = [&](OptionBytes& to) {
    return to.append(v, len) ? ParseError::none : ParseError::option_too_long;
  };
  switch (code) {
    case kMessageType:
      if (len != 1) return ParseError::bad_length;
      if (v[0] < 1 || v[0] > 8) return ParseError::bad_message_type;
      m.type = static_cast<MessageType>(v[0]);
      return ParseError::none;
    case kSubnetMask:
      return address(m.subnet_mask);
    case kRequested:
      return address(m.requested);
    case kServerId:
      return address(m.server_id);
    case kLeaseTime:
      return address(m.lease_s);
    case kRenewal:
      return address(m.renewal_s);
    case kRebinding:
      return address(m.rebinding_s);
    case kRouter:
      return addresses(m.routers);
    case kDns:
      return addresses(m.dns);
    case kHostName:
      return bytes(m.hostname);
    case kClientId:
      return bytes(m.client_id);
    case kParameters:
      return bytes(m.parameters);
    case kMaxSize:
      if (len != 2) return ParseError::bad_length;
      m.max_message_size = load_be16(v);
      return ParseError::none;
    case kOverload:
      // Only the options field may say that file and sname hold options too.
      if (!in_options_field) return ParseError::none;
      if (len != 1) return ParseError::bad_length;
      if (v[0] < 1 || v[0] > 3) return ParseError::bad_overload;
      overload = v[0];
      return ParseError::none;
    default:
      return ParseError::none;  // an option this server has no use for
  }
}

// The options in p[0, n): until END or the end of the field.
ParseError read_options(const uint8_t* p, size_t n, Message& m, uint8_t& overload,
                        bool in_options_field) {
  size_t i = 0;
  while (i < n) {
    const uint8_t code = p[i];
    if (code == kEnd) return ParseError::none;
    if (code == kPad) {
      ++i;
      continue;
    }
    if (i + 1 >= n) return ParseError::truncated_option;
    const uint8_t len = p[i + 1];
    if (len > n - i - 2) return ParseError::truncated_option;
    if (auto e = take(code, p + i + 2, len, m, overload, in_options_field); e != ParseError::none) {
      return e;
    }
    i += 2 + size_t{len};
  }
  return ParseError::none;
}

class Writer {
 public:
  Writer(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}
  bool ok() const { return ok_; }
  size_t size() const { return n_; }

  void bytes(const void* p, size_t len) {
    if (!ok_ || len > cap_ - n_) {
      ok_ = false;
      return;
    }
    std::memcpy(out_ + n_, p, len);
    n_ += len;
  }
  void byte(uint8_t b) { bytes(&b, 1); }
  void option(uint8_t code, const uint8_t* v, size_t len) {
    byte(code);
    byte(static_cast<uint8_t>(len));
    bytes(v, len);
  }
  void u32(uint8_t code, const std::optional<uint32_t>& v) {
    if (!v) return;
    uint8_t b[4];
    store_be32(b, *v);
    option(code, b, 4);
  }
  void list(uint8_t code, const AddressList& l) {
    if (l.empty()) return;
    uint8_t b[AddressList::kMax * 4];
    for (size_t i = 0; i < l.n; ++i)
      store_be32(b + 4 * i, l.addr[i]);
    option(code, b, size_t{l.n} * 4);
  }
  void text(uint8_t code, const OptionBytes& s) {
    if (!s.empty()) option(code, s.bytes.data(), s.len);
  }
  void pad_to(size_t len) {
    while (ok_ && n_ < len)
      byte(kPad);
  }

 private:
  uint8_t* out_;
  size_t cap_;
  size_t n_ = 0;
  bool ok_ = true;
};

}  // namespace

std::string_view to_string(MessageType t) {
  static constexpr std::string_view kNames[] = {"none", "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
                                                "ACK",  "NAK",      "RELEASE", "INFORM"};
  const auto i = static_cast<size_t>(t);
  return i < std::size(kNames) ? kNames[i] : "?";
}

std::string_view to_string(ParseError e) {
  switch (e) {
    case ParseError::none:
      return "none";
    case ParseError::too_short:
      return "shorter than a BOOTP header and cookie";
    case ParseError::too_long:
      return "longer than an unfragmented Ethernet packet";
    case ParseError::not_ethernet:
      return "a hardware address that is not Ethernet (htype 1, hlen 6)";
    case ParseError::no_cookie:
      return "no DHCP magic cookie";
    case ParseError::truncated_option:
      return "an option runs past the end of its field";
    case ParseError::bad_length:
      return "an option's length does not fit it";
    case ParseError::bad_overload:
      return "option overload (52) is not 1, 2 or 3";
    case ParseError::option_too_long:
      return "an option given in parts is longer than 255 bytes";
    case ParseError::no_message_type:
      return "no DHCP message type (a BOOTP message)";
    case ParseError::bad_message_type:
      return "a DHCP message type outside 1-8";
  }
  return "?";
}

bool OptionBytes::append(const uint8_t* p, size_t n) {
  if (n > bytes.size() - len) return false;
  if (n > 0) std::memcpy(bytes.data() + len, p, n);
  len = static_cast<uint8_t>(len + n);
  return true;
}

HostName HostName::clean(std::string_view raw) {
  HostName h;
  for (char c : raw) {
    if (h.len == h.chars.size() - 1) break;
    if (hostname_char(c)) h.chars[h.len++] = c;
  }
  return h;
}

bool HostName::valid(std::string_view raw) {
  if (raw.empty() || raw.size() >= sizeof(HostName::chars)) return false;
  for (char c : raw) {
    if (!hostname_char(c)) return false;
  }
  return true;
}

ParseError parse(const uint8_t* p, size_t len, Message& m) {
  m = Message{};
  if (len < kMinLen) return ParseError::too_short;
  if (len > kMaxLen) return ParseError::too_long;
  if (p[1] != 1 || p[2] != 6) return ParseError::not_ethernet;
  if (std::memcmp(p + kFixedLen, kCookie, sizeof kCookie) != 0) return ParseError::no_cookie;
  m.op = p[0];
  m.hops = p[3];
  m.xid = load_be32(p + 4);
  m.secs = load_be16(p + 8);
  m.flags = load_be16(p + 10);
  m.ciaddr = load_be32(p + 12);
  m.yiaddr = load_be32(p + 16);
  m.siaddr = load_be32(p + 20);
  m.giaddr = load_be32(p + 24);
  m.chaddr = MacAddr::from_bytes(p + kChaddr);
  uint8_t overload = 0;
  ParseError e = read_options(p + kMinLen, len - kMinLen, m, overload, true);
  // RFC 2131 4.1: the file field's options come before sname's.
  if (e == ParseError::none && (overload & 1)) {
    e = read_options(p + kFile, kFileLen, m, overload, false);
  }
  if (e == ParseError::none && (overload & 2)) {
    e = read_options(p + kSname, kSnameLen, m, overload, false);
  }
  if (e == ParseError::none && m.type == MessageType::none) e = ParseError::no_message_type;
  if (e != ParseError::none) m = Message{};
  return e;
}

size_t build(const Message& m, uint8_t* out, size_t cap) {
  if (cap < kMinLen) return 0;
  std::memset(out, 0, kMinLen);
  out[0] = m.op;
  out[1] = 1;
  out[2] = 6;
  out[3] = m.hops;
  store_be32(out + 4, m.xid);
  store_be16(out + 8, m.secs);
  store_be16(out + 10, m.flags);
  store_be32(out + 12, m.ciaddr);
  store_be32(out + 16, m.yiaddr);
  store_be32(out + 20, m.siaddr);
  store_be32(out + 24, m.giaddr);
  m.chaddr.to_bytes(out + kChaddr);
  std::memcpy(out + kFixedLen, kCookie, sizeof kCookie);
  Writer w(out + kMinLen, cap - kMinLen);
  if (m.type != MessageType::none) {
    const uint8_t type = static_cast<uint8_t>(m.type);
    w.option(kMessageType, &type, 1);
  }
  w.u32(kServerId, m.server_id);
  w.u32(kLeaseTime, m.lease_s);
  w.u32(kRenewal, m.renewal_s);
  w.u32(kRebinding, m.rebinding_s);
  w.u32(kSubnetMask, m.subnet_mask);
  w.list(kRouter, m.routers);
  w.list(kDns, m.dns);
  w.text(kHostName, m.hostname);
  w.text(kClientId, m.client_id);
  w.u32(kRequested, m.requested);
  w.text(kParameters, m.parameters);
  if (m.max_message_size) {
    uint8_t b[2];
    store_be16(b, *m.max_message_size);
    w.option(kMaxSize, b, 2);
  }
  w.byte(kEnd);
  w.pad_to(kMinBootpLen - kMinLen);
  return w.ok() ? kMinLen + w.size() : 0;
}

}  // namespace vswitch::plugs::dhcp
