#include "common/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <charconv>
#include <cstring>

#include "vswitch/error.hpp"

namespace vswitch::plugs {

SocketAddress SocketAddress::inet(const std::string& host, const std::string& port_text) {
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    throw ConfigError("'" + port_text + "' is not a port number");
  }
  SocketAddress a;
  if (host.find(':') != std::string::npos) {
    sockaddr_in6 s6{};
    s6.sin6_family = AF_INET6;
    s6.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &s6.sin6_addr) != 1) {
      throw ConfigError("'" + host + "' is not an IPv6 address");
    }
    std::memcpy(&a.ss, &s6, sizeof s6);
    a.len = sizeof s6;
  } else {
    sockaddr_in s4{};
    s4.sin_family = AF_INET;
    s4.sin_port = htons(static_cast<uint16_t>(port));
    if (host.empty()) {
      s4.sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, host.c_str(), &s4.sin_addr) != 1) {
      // Numeric addresses only: a switch should not depend on name service at start-up.
      throw ConfigError("'" + host + "' is not an IPv4 address");
    }
    std::memcpy(&a.ss, &s4, sizeof s4);
    a.len = sizeof s4;
  }
  return a;
}

SocketAddress SocketAddress::inet(const std::string& host_port, bool allow_any_host) {
  std::string host, port;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find("]:");
    if (close == std::string::npos) throw ConfigError("'" + host_port + "': use [ADDR]:PORT");
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) throw ConfigError("'" + host_port + "': use HOST:PORT");
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  if (host.empty() && !allow_any_host) throw ConfigError("'" + host_port + "' needs a host");
  return inet(host, port);
}

SocketAddress SocketAddress::unix_path(const std::string& path) {
  SocketAddress a;
  sockaddr_un su{};
  su.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof su.sun_path) {
    throw ConfigError("unix socket path '" + path + "' is empty or too long");
  }
  std::memcpy(su.sun_path, path.c_str(), path.size() + 1);
  std::memcpy(&a.ss, &su, sizeof su);
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

SocketAddress SocketAddress::local_of(int fd) {
  SocketAddress a;
  a.len = sizeof a.ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a.ss), &a.len);
  return a;
}

std::string SocketAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  switch (ss.ss_family) {
    case AF_INET: {
      const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
      return std::string(buf) + ":" + std::to_string(ntohs(s->sin_port));
    }
    case AF_INET6: {
      const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
      return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s->sin6_port));
    }
    case AF_UNIX:
      return reinterpret_cast<const sockaddr_un*>(&ss)->sun_path;
  }
  return "?";
}

bool SocketAddress::is_multicast() const {
  if (ss.ss_family == AF_INET) {
    return IN_MULTICAST(ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr));
  }
  if (ss.ss_family == AF_INET6) {
    return IN6_IS_ADDR_MULTICAST(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr);
  }
  return false;
}

bool SocketAddress::is_loopback() const {
  if (ss.ss_family == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
  }
  return false;
}

uint16_t SocketAddress::port_of(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  return 0;
}

bool SocketAddress::same(const sockaddr* other, socklen_t other_len) const {
  if (other->sa_family != ss.ss_family) return false;
  switch (ss.ss_family) {
    case AF_INET: {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
      const auto* b = reinterpret_cast<const sockaddr_in*>(other);
      return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    case AF_INET6: {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
      const auto* b = reinterpret_cast<const sockaddr_in6*>(other);
      return a->sin6_port == b->sin6_port &&
             std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    case AF_UNIX: {
      const auto* a = reinterpret_cast<const sockaddr_un*>(&ss);
      const auto* b = reinterpret_cast<const sockaddr_un*>(other);
      return other_len > offsetof(sockaddr_un, sun_path) &&
             std::strncmp(a->sun_path, b->sun_path, sizeof a->sun_path) == 0;
    }
  }
  return false;
}

}  // namespace vswitch::plugs
