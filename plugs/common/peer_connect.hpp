// Connecting a datagram socket to a path a client named, with no more right than the client's:
// a daemon that connects with its own rights is a confused deputy, writing for any client to
// sockets only the daemon may write.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace vswitch::plugs {

// Connects the AF_UNIX datagram socket `fd` to `path` for the peer `uid`/`gid` (its SO_PEERCRED).
// The path must name a socket, not a symlink to one, owned by the peer unless the peer is root,
// and reachable by the peer. Returns the socket file's owner, or nullopt with the reason in *why.
std::optional<uid_t> connect_for_peer(int fd, const std::string& path, uid_t uid, gid_t gid,
                                      std::string* why);

}  // namespace vswitch::plugs
