// A VDE client's request, as any local process may send it on DIR/ctl: parse_request() on
// arbitrary bytes, and what it promises about what it accepts.
#include <sys/socket.h>

#include <cstring>

#include "require.hpp"
#include "vde/protocol.hpp"

using vswitch::fuzz::require;
namespace vde = vswitch::plugs::vde;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const vde::Parsed p = vde::parse_request(data, size);
  const int outcomes = (p.request ? 1 : 0) + (p.need_more ? 1 : 0) + (p.refusal.empty() ? 0 : 1);
  require(outcomes == 1, "exactly one of request, need_more, refusal");
  if (p.need_more) require(size < 14 + vde::kReplySize, "need_more only while short");
  if (!p.request) return 0;
  const vde::Request& r = *p.request;
  require(r.version == 1 || r.version == 3, "version 1 or 3");
  require(!r.client_path.empty() && r.client_path.size() < sizeof(sockaddr_un::sun_path),
          "client path fits sun_path with its NUL");
  require(r.client_path.find('\0') == std::string::npos, "client path has no NUL");
  require(r.description.size() < vde::kMaxDescription, "description is cut");
  for (char c : r.description)
    require(static_cast<unsigned char>(c) >= 0x20, "description is printable");

  // The reply names a path the client can parse back.
  const auto reply = vde::make_reply(r.client_path);
  sockaddr_un back;
  std::memcpy(&back, reply.data(), sizeof back);
  require(back.sun_family == AF_UNIX, "reply is AF_UNIX");
  require(std::string(back.sun_path) == r.client_path, "reply carries the path whole");
  return 0;
}
