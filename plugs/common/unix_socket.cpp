#include "common/unix_socket.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "vswitch/error.hpp"

namespace vswitch::plugs {

std::optional<mode_t> parse_file_mode(std::string_view text) {
  unsigned long mode = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (ec != std::errc{} || end != text.data() + text.size() || mode > 07777) return std::nullopt;
  return static_cast<mode_t>(mode);
}

std::optional<gid_t> lookup_group(const std::string& name) {
  unsigned long id = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec == std::errc{} && end == name.data() + name.size()) return static_cast<gid_t>(id);
  group g{};
  group* found = nullptr;
  char buf[4096];
  if (getgrnam_r(name.c_str(), &g, buf, sizeof buf, &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

static sockaddr_un make_addr(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    throw ConfigError("socket path '" + path + "' is longer than " +
                      std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

bool unix_socket_alive(const std::string& path) {
  Fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  const sockaddr_un addr = make_addr(path);
  if (connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
  // A datagram socket refuses a stream connect with EPROTOTYPE but is just as alive.
  if (errno == EPROTOTYPE) {
    Fd dgram(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return dgram &&
           connect(dgram.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  }
  return false;
}

Fd bind_unix(const std::string& path, int type, mode_t mode, std::optional<gid_t> group,
             int backlog) {
  const sockaddr_un addr = make_addr(path);
  Fd fd(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw ConfigError("socket: " + std::string(std::strerror(errno)));
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw ConfigError(path + " exists and is not a socket; not touching it");
    }
    if (unix_socket_alive(path)) throw ConfigError(path + " is in use by a running server");
    unlink(path.c_str());  // left behind by a server that died
  }
  // bind() creates the file with the umask's mode: narrow it so that no one can connect in
  // the moment before chmod.
  const mode_t old_umask = umask(~mode & 0777);
  const int rc = bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_err = errno;
  umask(old_umask);
  if (rc != 0) throw ConfigError("bind " + path + ": " + std::strerror(bind_err));
  if (chmod(path.c_str(), mode) != 0 ||
      (group && chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0)) {
    const int err = errno;
    unlink(path.c_str());
    throw ConfigError("set permissions of " + path + ": " + std::strerror(err));
  }
  if (type == SOCK_STREAM && listen(fd.get(), backlog) != 0) {
    const int err = errno;
    unlink(path.c_str());
    throw ConfigError("listen " + path + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace vswitch::plugs
