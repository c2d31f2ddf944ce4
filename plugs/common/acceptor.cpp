#include "common/acceptor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vswitch/clock.hpp"

namespace vswitch::plugs {

namespace {

// One for the process, taken while descriptors are still to be had: the first Acceptor is made
// at start-up, when a listener is opened.
int& spare_fd() {
  static int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd;
}

bool out_of_descriptors(int error) {
  return error == EMFILE || error == ENFILE;
}

}  // namespace

Acceptor::Acceptor(std::string what) : what_(std::move(what)) {
  spare_fd();
}

int Acceptor::accept(int listen_fd, sockaddr* peer, socklen_t* peer_len) {
  // Shedding is bounded per call, so a client reconnecting in a loop cannot hold the thread.
  for (int shed = 0; shed < 64;) {
    const int fd = accept4(listen_fd, peer, peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    // The client gave up while queued: the next one may still be there.
    if (errno == ECONNABORTED || errno == EPROTO || errno == EINTR) continue;
    // Out of descriptors, accept fails whether or not a connection waits; go on only while
    // there are connections to shed.
    if (out_of_descriptors(errno) && shed_one(listen_fd, errno)) {
      ++shed;
      continue;
    }
    return -1;
  }
  return -1;
}

bool Acceptor::shed_one(int listen_fd, int error) {
  int& spare = spare_fd();
  if (spare < 0) return false;
  ::close(spare);
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ++shed_;
  if (log_.allow(monotonic_ms())) {
    log(LogLevel::warn,
        "%s: out of file descriptors (%s): closing new connections unserved "
        "(%lu closed so far)",
        what_.c_str(), std::strerror(error), static_cast<unsigned long>(shed_));
  }
  return true;
}

}  // namespace vswitch::plugs
