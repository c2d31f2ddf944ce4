// The socket options the plugs set on their data sockets, in one place. All are best effort: a
// kernel that refuses one keeps its default, which costs buffer depth or latency, not frames.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace vswitch::plugs {

inline void set_send_buffer(int fd, int bytes) {
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

inline void set_receive_buffer(int fd, int bytes) {
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

// Past the system's wmem_max when the daemon holds CAP_NET_ADMIN, up to it otherwise.
inline void force_send_buffer(int fd, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
    set_send_buffer(fd, bytes);
  }
}

// A QEMU stream connection, either end: frames are small and latency matters more than segment
// sizes on TCP, and a 1 MiB send buffer rides out a slow reader on both kinds.
inline void tune_stream_socket(int fd, bool tcp) {
  if (tcp) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  set_send_buffer(fd, 1 << 20);
}

}  // namespace vswitch::plugs
