// qemuload: a load generator and sink that behave like QEMU 7.2's socket netdevs, for
// bench/qemu_e2e.sh: TCP streams with QEMU's framing (4-byte big-endian length, then the frame)
// and unbound-to-peer Unix datagrams (-netdev dgram), through vswitchd or point to point.
//
//   qemuload send|recv --tcp HOST:PORT [--listen]          a stream, connecting or accepting one
//   qemuload send|recv --dgram LOCAL_PATH REMOTE_PATH      bind LOCAL, send to REMOTE
//   options: --seconds S (5)  --size BYTES (60)  --batch N (32)  --src MAC  --dst MAC
// Each prints one result line: role=send sent=N seconds=T, or role=recv received=N seconds=T.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vswitch/ether.hpp"

namespace {

struct Args {
  bool send = false;
  std::string tcp;  // HOST:PORT
  bool listen = false;
  std::string local, remote;  // dgram paths
  double seconds = 5;
  size_t size = 60;
  int batch = 32;
  uint8_t src[6] = {0x02, 0x71, 0x6c, 0x64, 0x00, 0x01};
  uint8_t dst[6] = {0x02, 0x71, 0x6c, 0x64, 0x01, 0x01};
};

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool parse_mac(const char* s, uint8_t* out) {
  unsigned b[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return false;
  for (int i = 0; i < 6; ++i)
    out[i] = static_cast<uint8_t>(b[i]);
  return true;
}

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "qemuload: %s: %s\n", what, strerror(errno));
  exit(1);
}

int tcp_socket(const Args& a) {
  const size_t colon = a.tcp.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(atoi(a.tcp.c_str() + colon + 1)));
  inet_pton(AF_INET, a.tcp.substr(0, colon).c_str(), &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (a.listen) {
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 1) != 0)
      die("listen");
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 30000) != 1) die("no connection within 30 s");
    const int c = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    close(fd);
    fd = c;
  } else {
    // The other side may still be starting.
    for (int i = 0; connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0; ++i) {
      if (i == 300) die("connect");
      usleep(10000);
    }
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

sockaddr_un unix_addr(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  return sa;
}

int dgram_socket(const Args& a) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  unlink(a.local.c_str());
  sockaddr_un sa = unix_addr(a.local);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind");
  return fd;
}

void fill(uint8_t* f, const Args& a, uint64_t seq) {
  memcpy(f, a.dst, 6);
  memcpy(f + 6, a.src, 6);
  f[12] = 0x88;  // a local experimental ethertype: nothing on the way looks inside
  f[13] = 0xb5;
  memcpy(f + 14, &seq, sizeof seq);
}

int run_send(const Args& a, bool tcp, int fd) {
  const sockaddr_un to = unix_addr(a.remote);
  std::vector<uint8_t> buf(static_cast<size_t>(a.batch) * (4 + a.size));
  std::vector<mmsghdr> msgs(static_cast<size_t>(a.batch));
  std::vector<iovec> iov(static_cast<size_t>(a.batch));
  uint64_t seq = 0;
  const double t0 = now(), end = t0 + a.seconds;
  while (now() < end) {
    if (tcp) {
      // A batch of records in one write, as QEMU's stream backend would queue them.
      for (int i = 0; i < a.batch; ++i) {
        uint8_t* r = buf.data() + static_cast<size_t>(i) * (4 + a.size);
        const uint32_t len = htonl(static_cast<uint32_t>(a.size));
        memcpy(r, &len, 4);
        fill(r + 4, a, seq++);
      }
      size_t off = 0;
      while (off < buf.size()) {
        const ssize_t n = write(fd, buf.data() + off, buf.size() - off);
        if (n <= 0) die("write");
        off += static_cast<size_t>(n);
      }
    } else {
      for (int i = 0; i < a.batch; ++i) {
        uint8_t* f = buf.data() + static_cast<size_t>(i) * a.size;
        fill(f, a, seq++);
        iov[static_cast<size_t>(i)] = {f, a.size};
        msgs[static_cast<size_t>(i)].msg_hdr = {};
        msgs[static_cast<size_t>(i)].msg_hdr.msg_name = const_cast<sockaddr_un*>(&to);
        msgs[static_cast<size_t>(i)].msg_hdr.msg_namelen = sizeof to;
        msgs[static_cast<size_t>(i)].msg_hdr.msg_iov = &iov[static_cast<size_t>(i)];
        msgs[static_cast<size_t>(i)].msg_hdr.msg_iovlen = 1;
      }
      // Blocking: a full receiver makes the generator wait, as QEMU waits for POLLOUT.
      int done = 0;
      while (done < a.batch) {
        const int n = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(a.batch - done), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("sendmmsg");
        done += n;
      }
    }
  }
  printf("role=send sent=%lu seconds=%.3f\n", static_cast<unsigned long>(seq), now() - t0);
  return 0;
}

int run_recv(const Args& a, bool tcp, int fd) {
  // Announce ourselves so a learning switch knows where we are.
  std::vector<uint8_t> hello(a.size, 0);
  memset(hello.data(), 0xff, 6);
  memcpy(hello.data() + 6, a.src, 6);
  hello[12] = 0x88;
  hello[13] = 0xb5;
  const sockaddr_un to = unix_addr(a.remote);
  for (int i = 0; i < 4; ++i) {
    if (tcp) {
      const uint32_t len = htonl(static_cast<uint32_t>(a.size));
      if (write(fd, &len, 4) != 4 ||
          write(fd, hello.data(), a.size) != static_cast<ssize_t>(a.size))
        die("write");
    } else {
      sendto(fd, hello.data(), a.size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    }
  }
  uint64_t received = 0;
  std::vector<uint8_t> buf(1 << 20);
  size_t have = 0;
  double first = 0, last = 0;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    // Stop after a second of silence once frames came, or after the run's length without any.
    if (poll(&p, 1, received ? 1000 : static_cast<int>((a.seconds + 30) * 1000)) != 1) break;
    if (tcp) {
      const ssize_t n = read(fd, buf.data() + have, buf.size() - have);
      if (n <= 0) break;
      have += static_cast<size_t>(n);
      size_t off = 0;
      while (have - off >= 4) {
        uint32_t len;
        memcpy(&len, buf.data() + off, 4);
        len = ntohl(len);
        if (have - off < 4 + len) break;
        if (len >= 14 && memcmp(buf.data() + off + 4, a.src, 6) == 0) ++received;
        off += 4 + len;
      }
      memmove(buf.data(), buf.data() + off, have - off);
      have -= off;
    } else {
      mmsghdr msgs[64];
      iovec iov[64];
      for (int i = 0; i < 64; ++i) {
        iov[i] = {buf.data() + static_cast<size_t>(i) * 9300, 9300};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(fd, msgs, 64, MSG_DONTWAIT, nullptr);
      for (int i = 0; i < n; ++i) {
        if (msgs[i].msg_len >= 14 &&
            memcmp(buf.data() + static_cast<size_t>(i) * 9300, a.src, 6) == 0) {
          ++received;
        }
      }
    }
    if (received && first == 0) first = now();
    last = now();
  }
  printf("role=recv received=%lu seconds=%.3f\n", static_cast<unsigned long>(received),
         last - first);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "recv") != 0)) {
    fprintf(stderr,
            "usage: qemuload send|recv --tcp HOST:PORT [--listen] | --dgram LOCAL REMOTE "
            "[--seconds S] [--size B] [--batch N] [--src MAC] [--dst MAC]\n");
    return 2;
  }
  a.send = strcmp(argv[1], "send") == 0;
  if (!a.send) std::swap(a.src, a.dst);  // a sink is the generator's destination
  for (int i = 2; i < argc; ++i) {
    const std::string o = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "qemuload: %s needs a value\n", o.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (o == "--tcp") {
      a.tcp = next();
    } else if (o == "--listen") {
      a.listen = true;
    } else if (o == "--dgram") {
      a.local = next();
      a.remote = next();
    } else if (o == "--seconds") {
      a.seconds = atof(next());
    } else if (o == "--size") {
      a.size = static_cast<size_t>(atoi(next()));
    } else if (o == "--batch") {
      a.batch = atoi(next());
    } else if (o == "--src") {
      if (!parse_mac(next(), a.src))
        return fprintf(stderr, "qemuload: --src: not a MAC address\n"), 2;
    } else if (o == "--dst") {
      if (!parse_mac(next(), a.dst))
        return fprintf(stderr, "qemuload: --dst: not a MAC address\n"), 2;
    } else {
      fprintf(stderr, "qemuload: unknown option %s\n", o.c_str());
      return 2;
    }
  }
  if (a.size < 22 || a.size > 9234 || a.batch < 1 || (a.tcp.empty() == a.local.empty())) {
    fprintf(stderr, "qemuload: give --tcp or --dgram, --size 22-9234, --batch >= 1\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const bool tcp = !a.tcp.empty();
  const int fd = tcp ? tcp_socket(a) : dgram_socket(a);
  const int rc = a.send ? run_send(a, tcp, fd) : run_recv(a, tcp, fd);
  if (!tcp) unlink(a.local.c_str());
  return rc;
}
