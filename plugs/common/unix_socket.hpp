// Unix-domain sockets the way a daemon needs them: bind refusing a path a live server holds,
// reclaiming one a dead server left behind, with the file's mode and group set.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/fd.hpp"

namespace vswitch::plugs {

// An octal file mode such as 0660 (at most 07777); nullopt for anything else.
std::optional<mode_t> parse_file_mode(std::string_view text);

// A group name or number to a gid; nullopt if there is no such group.
std::optional<gid_t> lookup_group(const std::string& name);

// Binds and listens (SOCK_STREAM) or binds (SOCK_DGRAM) at path, non-blocking and close-on-exec.
// A socket file nobody answers on is replaced; a live one is refused. Throws ConfigError.
Fd bind_unix(const std::string& path, int type, mode_t mode, std::optional<gid_t> group = {},
             int backlog = 64);

// True when something accepts connections at path.
bool unix_socket_alive(const std::string& path);

}  // namespace vswitch::plugs
