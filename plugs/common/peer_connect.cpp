#include "common/peer_connect.hpp"

#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/fd.hpp"

namespace vswitch::plugs {

namespace {

// The calling thread's file-system identity, while it lives, the peer's where the kernel allows
// it (a root daemon, or one with CAP_SETUID and CAP_SETGID), unchanged elsewhere. setfsuid is
// per thread (glibc does not spread it to the other threads as it does setuid), and the control
// plane runs on one thread, so the datapath's threads never act as the peer.
class FsIdentity {
 public:
  FsIdentity(uid_t uid, gid_t gid)
      : saved_uid_(static_cast<uid_t>(setfsuid(static_cast<uid_t>(-1)))),
        saved_gid_(static_cast<gid_t>(setfsgid(static_cast<gid_t>(-1)))) {
    setfsgid(gid);
    setfsuid(uid);
  }
  ~FsIdentity() {
    setfsuid(saved_uid_);
    setfsgid(saved_gid_);
  }
  FsIdentity(const FsIdentity&) = delete;
  FsIdentity& operator=(const FsIdentity&) = delete;

 private:
  uid_t saved_uid_;
  gid_t saved_gid_;
};

}  // namespace

// Three checks, because each alone leaves a hole:
// - The path is looked up and connected as the peer, so the peer must be able to search every
//   directory on it and write the socket. But setfsgid leaves the daemon's supplementary groups
//   (root's group, say) in place, and a daemon that is not root cannot take another identity.
// - So the socket must also belong to the peer: a file it owns it could chmod and connect to
//   itself, so owning it is the right the daemon lends. Root may name any socket. What the
//   daemon's groups still open is a directory on the way, and only to the peer's own socket.
// - Checked by path and then connected by path, the file could be swapped in between (a rename,
//   a symlink in a directory on the way). So the file is opened once (O_PATH, which needs no
//   permission on the file itself, and O_NOFOLLOW, so a symlink is refused as not a socket), its
//   owner read from that descriptor, and the connect goes through /proc/self/fd to that very
//   file. After a connect, nothing short of a sock_diag netlink dialogue says which file it
//   reached (getpeername gives the name as bound, SO_PEERCRED on a datagram socket is empty), so
//   the file is pinned first instead.
std::optional<uid_t> connect_for_peer(int fd, const std::string& path, uid_t uid, gid_t gid,
                                      std::string* why) {
  const FsIdentity as_peer(uid, gid);
  const Fd file(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!file || fstat(file.get(), &st) != 0) {
    const int err = errno;
    *why = "cannot reach its socket '" + path + "': " + std::strerror(err);
    return std::nullopt;
  }
  if (!S_ISSOCK(st.st_mode)) {
    *why = "'" + path + "' is not a socket";
    return std::nullopt;
  }
  if (uid != 0 && st.st_uid != uid) {
    *why = "'" + path + "' belongs to uid " + std::to_string(st.st_uid) + ", not to the client";
    return std::nullopt;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", file.get());
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    *why = "cannot reach its socket '" + path + "': " + std::strerror(err);
    return std::nullopt;
  }
  return st.st_uid;
}

}  // namespace vswitch::plugs
