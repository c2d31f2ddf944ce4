// The VDE 2 switch protocol as clients speak it (vdeplug4 and vde_switch 2.3): the request a
// client sends on DIR/ctl, in its version 3 and version 1 layouts, and the reply naming the
// switch's data socket.
#pragma once

#include <sys/un.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace vswitch::plugs::vde {

inline constexpr uint32_t kMagic = 0xfeedface;
inline constexpr size_t kMaxRequest = 256;                 // what vde_switch reads in one go
inline constexpr size_t kReplySize = sizeof(sockaddr_un);  // 110 bytes
inline constexpr size_t kMaxDescription = 128;

struct Request {
  int version = 3;     // 3, or 1 for the old layout
  bool port0 = false;  // REQ_NEW_PORT0: the management port
  uint32_t port = 0;   // requested port number, 0 for any
  std::string client_path;
  std::string description;
};

struct Parsed {
  std::optional<Request> request;
  bool need_more = false;  // not enough bytes yet to tell
  std::string refusal;     // why the request is refused, when it is
};

// Parses the bytes a client sent on its control connection. Host byte order: clients are local.
Parsed parse_request(const uint8_t* data, size_t len);

// The 110 bytes that tell the client where to send its frames.
std::array<uint8_t, kReplySize> make_reply(const std::string& data_socket_path);

}  // namespace vswitch::plugs::vde
