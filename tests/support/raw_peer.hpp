// What a QEMU peer does on the wire, from raw sockets: stream records with a 4-byte big-endian
// length, one frame per datagram; for tests that stand in for a guest's socket backend.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "frames.hpp"

namespace vswitch::test {

// A raw socket, closed when the test is done with it.
class Sock {
 public:
  explicit Sock(int fd = -1) : fd_(fd) {}
  ~Sock() {
    if (fd_ >= 0) close(fd_);
  }
  Sock(Sock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Sock& operator=(Sock&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int fd() const { return fd_; }
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

inline sockaddr_un unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  return a;
}

inline sockaddr_in inet_addr(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

template <typename Addr>
Sock connect_to(int family, const Addr& a) {
  Sock s(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(s.fd(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return Sock();
  return s;
}

// A loopback port of this type (SOCK_STREAM, SOCK_DGRAM) nobody uses right now.
inline uint16_t free_port(int type) {
  Sock s(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in a = inet_addr(0);
  bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}
inline uint16_t free_tcp_port() {
  return free_port(SOCK_STREAM);
}
inline uint16_t free_udp_port() {
  return free_port(SOCK_DGRAM);
}

inline Bytes be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

inline bool send_all(int fd, const Bytes& b) {
  return send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
}

inline Bytes record(const Bytes& frame) {
  Bytes r = be32(static_cast<uint32_t>(frame.size()));
  r.insert(r.end(), frame.begin(), frame.end());
  return r;
}

// Reads exactly n bytes within the timeout; fewer on EOF or timeout.
inline Bytes read_n(int fd, size_t n, int timeout_ms = 3000) {
  Bytes out;
  while (out.size() < n) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    uint8_t buf[65536];
    const ssize_t got = read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (got <= 0) break;
    out.insert(out.end(), buf, buf + got);
  }
  return out;
}

// The next frame of a QEMU stream, or nothing within the timeout.
inline std::optional<Bytes> read_record(int fd, int timeout_ms = 3000) {
  const Bytes len = read_n(fd, 4, timeout_ms);
  if (len.size() < 4) return std::nullopt;
  const uint32_t n =
      uint32_t{len[0]} << 24 | uint32_t{len[1]} << 16 | uint32_t{len[2]} << 8 | len[3];
  Bytes f = read_n(fd, n, timeout_ms);
  if (f.size() < n) return std::nullopt;
  return f;
}

inline bool closed_by_peer(int fd, int timeout_ms = 3000) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return false;
  uint8_t b;
  return read(fd, &b, 1) == 0 || errno == ECONNRESET;
}

inline std::optional<Bytes> recv_datagram(int fd, int timeout_ms = 3000) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  Bytes b(70000);
  const ssize_t n = recv(fd, b.data(), b.size(), 0);
  if (n < 0) return std::nullopt;
  b.resize(static_cast<size_t>(n));
  return b;
}

}  // namespace vswitch::test
