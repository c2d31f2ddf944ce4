#include "service_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "vswitch/log.hpp"

namespace vswitch::daemon {

ServiceNotifier::ServiceNotifier() {
  const char* env = getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0') return;
  where_ = env;
  unsetenv("NOTIFY_SOCKET");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((where_[0] != '/' && where_[0] != '@') || where_.size() >= sizeof addr.sun_path) {
    log(LogLevel::warn, "NOTIFY_SOCKET=%s is no socket address; readiness goes untold",
        where_.c_str());
    return;
  }
  std::memcpy(addr.sun_path, where_.data(), where_.size());
  // An abstract name has no terminating NUL: its length is all there is.
  if (where_[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + where_.size() +
                                          (where_[0] == '@' ? 0 : 1));
  fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd_ || connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    log(LogLevel::warn, "NOTIFY_SOCKET %s: %s; readiness goes untold", where_.c_str(),
        std::strerror(errno));
    fd_.reset();
  }
}

bool ServiceNotifier::send(const std::string& state) {
  if (!fd_) return false;
  if (::send(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(state.size())) {
    return true;
  }
  log(LogLevel::warn, "NOTIFY_SOCKET %s: %s", where_.c_str(), std::strerror(errno));
  fd_.reset();  // said once; the manager is gone
  return false;
}

}  // namespace vswitch::daemon
