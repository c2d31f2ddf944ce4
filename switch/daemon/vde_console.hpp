// vde_switch's management console (-M, and -f start-up files) in its own dialect, so scripts
// written for vde_switch (vdecmd, unixcmd, expect) keep working: the banner, the `vde$ ` prompt,
// `0000 DATA END WITH '.'` blocks, `1000 Success` or `1NNN <errno text>` status lines.
// A front end only: it reads and changes the switch through the daemon's command layer and
// the VDE directory's port records.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/acceptor.hpp"
#include "common/fd.hpp"
#include "daemon.hpp"
#include "line_connection.hpp"

namespace vswitch::daemon {

class VdeConsole {
 public:
  // Binds the console socket (if a path is given) and runs the start-up file; throws
  // ConfigError.
  VdeConsole(Daemon& daemon, const ConsoleConfig& config);
  ~VdeConsole();
  VdeConsole(const VdeConsole&) = delete;
  VdeConsole& operator=(const VdeConsole&) = delete;

  // One command line in; out, the reply up to the status line (no prompt). Sets *end when the
  // session ends (logout, shutdown).
  std::string execute(std::string line, bool* end = nullptr);

 private:
  struct Reply;

  void accept_sessions();
  void on_line(LineConnection& session, std::string_view line, bool too_long);
  void expire_stalled(uint64_t now_ms);

  using Args = std::vector<std::string>;
  using Handler = Reply (VdeConsole::*)(const Args&);
  struct Command;
  static std::span<const Command> table();

  Reply run_guarded(const std::string& cmd, const Args& args);
  Reply run(const std::string& cmd, const Args& args);

  // One handler a command, named after it.
  Reply help(const Args& args);
  Reply logout(const Args& args);
  Reply shutdown(const Args& args);
  Reply showinfo(const Args& args);
  Reply ds_showinfo(const Args& args);
  Reply port_showinfo(const Args& args);
  Reply port_print(const Args& args);
  Reply port_allprint(const Args& args);
  Reply port_create(const Args& args);
  Reply port_setuser(const Args& args);
  Reply port_setgroup(const Args& args);
  Reply port_setvlan(const Args& args);
  Reply port_resetcounter(const Args& args);
  Reply port_epclose(const Args& args);
  Reply vlan_create(const Args& args);
  Reply vlan_remove(const Args& args);
  Reply vlan_addport(const Args& args);
  Reply vlan_delport(const Args& args);
  Reply vlan_print(const Args& args);
  Reply hash_showinfo(const Args& args);
  Reply hash_setexpire(const Args& args);
  Reply hash_print(const Args& args);
  Reply hash_find(const Args& args);

  // What the handlers share.
  plugs::vde::VdeServer& vde();
  std::string segment_name();
  std::optional<uint32_t> port_arg(const Args& args, size_t i);
  Reply generic(const Args& argv);
  Reply print_ports(const Args& args, bool all);
  Reply print_fdb(const Args& args, bool find);
  Reply tag_port(const Args& args, bool add);
  Reply set_vlans(uint32_t port, uint16_t untagged, const VlanSet& tagged);

  Daemon& d_;
  ConsoleConfig config_;
  plugs::Fd listen_;
  plugs::Acceptor acceptor_{"vde_switch console"};
  Engine::TimerId timer_ = 0;
  std::map<int, std::unique_ptr<LineConnection>> sessions_;
  std::set<uint16_t> vlans_{0};  // vlan/create'd VLANs; 0 always exists
};

}  // namespace vswitch::daemon
