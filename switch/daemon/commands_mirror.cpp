// `mirror add|del|list`: SPAN sessions of the running switch.
#include "commands.hpp"
#include "daemon.hpp"
#include "mirrors.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

Reply Commands::mirror(const Args& args) {
  const std::string sub = args.size() > 1 ? args[1] : "";
  Engine& engine = daemon_.engine();
  if (sub == "list") return Reply{true, mirror_rows(engine), {}, nullptr};
  if (sub == "add") {
    const MirrorRequest r = parse_mirror(Args(args.begin() + 2, args.end()));
    add_mirror(engine, r);
    return Reply{true, Value("added mirror " + r.name), {}, nullptr};
  }
  if (sub == "del") {
    need(args, 3, "mirror del NAME");
    remove_mirror(engine, args[2]);
    return Reply{true, Value("removed mirror " + args[2]), {}, nullptr};
  }
  throw ConfigError(std::string("usage: mirror add ") + kMirrorSyntax +
                    " | mirror del NAME | mirror list");
}

}  // namespace vswitch::daemon
