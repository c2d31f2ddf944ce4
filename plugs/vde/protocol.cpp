#include "vde/protocol.hpp"

#include <sys/socket.h>

#include <cstring>

namespace vswitch::plugs::vde {

namespace {

constexpr size_t kV3Header = 12;                     // magic, version, type
constexpr size_t kV3Fixed = kV3Header + kReplySize;  // then the client's sockaddr_un
constexpr size_t kV1AddrOffset = 14;                 // magic, type, a MAC vde ignores
constexpr size_t kV1Fixed = kV1AddrOffset + kReplySize;
static_assert(kV3Fixed == 122);

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The client's socket address at `p`; a refusal when it is not an AF_UNIX path.
std::optional<std::string> client_path(const uint8_t* p, std::string& refusal) {
  sockaddr_un addr;
  std::memcpy(&addr, p, sizeof addr);
  if (addr.sun_family != AF_UNIX) {
    refusal = "client address family " + std::to_string(addr.sun_family) + " is not AF_UNIX";
    return std::nullopt;
  }
  const void* nul = std::memchr(addr.sun_path, 0, sizeof addr.sun_path);
  const size_t n = nul ? static_cast<size_t>(static_cast<const char*>(nul) - addr.sun_path)
                       : sizeof addr.sun_path;
  if (n == 0 || n == sizeof addr.sun_path) {
    refusal = n == 0 ? "empty client socket path" : "client socket path is not terminated";
    return std::nullopt;
  }
  return std::string(addr.sun_path, n);
}

std::string description(const uint8_t* p, size_t len) {
  // Sent without a NUL and cut at 127 characters by vdeplug4; keep it printable.
  std::string d(reinterpret_cast<const char*>(p), std::min(len, kMaxDescription - 1));
  if (auto nul = d.find('\0'); nul != std::string::npos) d.resize(nul);
  for (char& c : d) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return d;
}

}  // namespace

Parsed parse_request(const uint8_t* data, size_t len) {
  Parsed r;
  if (len < 8) {
    r.need_more = true;
    return r;
  }
  if (load32(data) != kMagic) {
    r.refusal = "not a VDE request (bad magic: a version 0 client?)";
    return r;
  }
  const uint32_t second = load32(data + 4);
  Request req;
  if (second == 3) {
    if (len < kV3Fixed) {
      r.need_more = true;
      return r;
    }
    const uint32_t type = load32(data + 8);
    const uint32_t kind = type & 0xff;
    if (kind > 1) {
      r.refusal = "unknown request type " + std::to_string(kind);
      return r;
    }
    req.port0 = kind == 1;
    req.port = type >> 8;
    auto path = client_path(data + kV3Header, r.refusal);
    if (!path) return r;
    req.client_path = *path;
    req.description = description(data + kV3Fixed, len - kV3Fixed);
  } else if (second == 0 || second == 1) {
    // Version 1 has the request type where version 3 has its version: 0 new port, 1 port 0.
    if (len < kV1Fixed) {
      r.need_more = true;
      return r;
    }
    req.version = 1;
    req.port0 = second == 1;
    auto path = client_path(data + kV1AddrOffset, r.refusal);
    if (!path) return r;
    req.client_path = *path;
    req.description = description(data + kV1Fixed, len - kV1Fixed);
  } else {
    r.refusal = "unsupported protocol version " + std::to_string(second);
    return r;
  }
  r.request = std::move(req);
  return r;
}

std::array<uint8_t, kReplySize> make_reply(const std::string& data_socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, data_socket_path.c_str(),
              std::min(data_socket_path.size(), sizeof addr.sun_path - 1));
  std::array<uint8_t, kReplySize> out;
  std::memcpy(out.data(), &addr, kReplySize);
  return out;
}

}  // namespace vswitch::plugs::vde
