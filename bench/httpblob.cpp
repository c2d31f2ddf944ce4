// httpblob: a one-process HTTP/1.0 server of the files in one directory, on one address, for
// bench/nat_e2e.sh and bench/tap_e2e.sh. All of its work shows in its own /proc/PID/stat, which is
// why it exists: busybox httpd serves each connection in a child and ignores SIGCHLD, so the CPU of
// those children is counted nowhere.
//
//   httpblob DIR [IPV4]   listens on a free port of IPV4 (127.0.0.1), prints `port=N`, serves
//                         until killed
// `GET /NAME` answers with DIR/NAME (a NAME without '/') by sendfile, anything else with a 404;
// one connection at a time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "httpblob: %s: %s\n", what, strerror(errno));
  exit(1);
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0 && errno != EINTR) return;
    if (n > 0) off += static_cast<size_t>(n);
  }
}

// The request's path, once its head has come (within 10 s); empty for anything but a GET.
std::string read_path(int fd) {
  std::string head;
  char buf[2048];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return "";
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return "";
    head.append(buf, static_cast<size_t>(n));
  }
  if (head.rfind("GET /", 0) != 0) return "";
  const size_t end = head.find(' ', 5);
  return end == std::string::npos ? "" : head.substr(5, end - 5);
}

void serve(int conn, const std::string& dir) {
  const std::string name = read_path(conn);
  const int file = name.empty() || name.find('/') != std::string::npos
                       ? -1
                       : open((dir + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (file < 0 || fstat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
    write_all(conn, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if (file >= 0) close(file);
    return;
  }
  write_all(conn, "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                      std::to_string(st.st_size) + "\r\nConnection: close\r\n\r\n");
  off_t off = 0;
  while (off < st.st_size) {
    const ssize_t n = sendfile(conn, file, &off, static_cast<size_t>(st.st_size - off));
    if (n <= 0 && errno != EINTR) break;
  }
  close(file);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: httpblob DIR [IPV4]\n");
    return 2;
  }
  const char* address = argc == 3 ? argv[2] : "127.0.0.1";
  signal(SIGPIPE, SIG_IGN);
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  const int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, address, &a.sin_addr) != 1) {
    fprintf(stderr, "httpblob: '%s' is not an IPv4 address\n", address);
    return 2;
  }
  socklen_t len = sizeof a;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die(address);
  if (listen(s, 16) != 0) die("listen");
  if (getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) die("getsockname");
  printf("port=%u\n", ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {
    const int conn = accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      die("accept");
    }
    serve(conn, argv[1]);
    close(conn);
  }
}
