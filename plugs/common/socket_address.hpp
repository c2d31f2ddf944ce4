// Socket addresses as QEMU's netdev options write them: "host:port" for inet (IPv4, or IPv6 in
// brackets), a path for unix.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace vswitch::plugs {

struct SocketAddress {
  sockaddr_storage ss{};
  socklen_t len = 0;

  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  std::string str() const;
  bool is_multicast() const;
  // 127.0.0.0/8, ::1, or an IPv4 loopback address mapped into IPv6: only this host reaches it.
  bool is_loopback() const;
  bool same(const sockaddr* other, socklen_t other_len) const;
  uint16_t port() const { return port_of(sa()); }
  static uint16_t port_of(const sockaddr* sa);  // host order; 0 for unix

  // "127.0.0.1:5000", "[::1]:5000", ":5000" (any address); throws ConfigError.
  static SocketAddress inet(const std::string& host_port, bool allow_any_host = true);
  static SocketAddress inet(const std::string& host, const std::string& port);
  static SocketAddress unix_path(const std::string& path);
  // The address a socket is bound to.
  static SocketAddress local_of(int fd);
};

}  // namespace vswitch::plugs
