// Mirrors as the user writes them, on the command line (--mirror), in the config file and in
// `vswitchctl mirror add`: words naming ports, resolved to a segment's port ids here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "value.hpp"
#include "vswitch/engine.hpp"

namespace vswitch::daemon {

struct MirrorRequest {
  std::string name;
  std::vector<std::string> sources;
  std::string output;
  bool received = true;
  bool sent = true;
  std::optional<VlanSet> vlans;
};

inline constexpr const char* kMirrorSyntax =
    "NAME src=PORT[,PORT...] dst=PORT [direction=in|out|both] [vlan=LIST]";

// Throws ConfigError naming what is wrong.
MirrorRequest parse_mirror(const std::vector<std::string>& words);
// The ports must exist, in one segment; throws ConfigError otherwise.
void add_mirror(Engine& engine, const MirrorRequest& request);
// Throws ConfigError when no segment has a mirror of that name.
void remove_mirror(Engine& engine, const std::string& name);
Value mirror_rows(const Engine& engine);

}  // namespace vswitch::daemon
