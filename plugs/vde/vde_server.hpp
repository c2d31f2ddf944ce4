// A VDE switch directory served the way vde_switch serves it, so QEMU's -netdev vde, vde_plug
// and every libvdeplug client connect unchanged: DIR/ctl takes requests, each endpoint gets a
// data socket DIR/NNN.F, and the ports it makes join the switch through a PlugHost.
//
// Unlike Debian's vde_switch, every refusal closes the control connection with a logged reason,
// so a client's vde_open() fails instead of hanging, and the switch reaches a client's socket
// only as the client could (connect_for_peer), never with its own rights.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/acceptor.hpp"
#include "common/fd.hpp"
#include "vde/protocol.hpp"
#include "vde/vde_port.hpp"
#include "vswitch/plug_host.hpp"

namespace vswitch::plugs::vde {

struct ServerOptions {
  std::string dir;
  std::string name = "vde";       // ports are named NAME:N
  uint32_t numports = 32;         // port numbers 0..numports-1, as in Debian's vde_switch
  mode_t mode = 0600;             // control and data sockets
  std::optional<mode_t> dirmode;  // default: 02000 | mode | x where mode has r or w
  std::optional<gid_t> group;
  mode_t port0_mode = 0600;  // the management port's data socket (--mgmtmode)
  std::optional<gid_t> port0_group;
  PortSettings defaults;  // role, VLANs and MTU of a port never configured otherwise
  rte_mempool* pool = nullptr;
};

// A port number's configuration, kept while no client is plugged in.
struct PortRecord {
  uint32_t number = 0;
  PortSettings settings;
  std::optional<uid_t> acl_user;
  std::optional<gid_t> acl_group;
  bool allocatable = true;    // may be handed to a client asking for any port
  VdePort* active = nullptr;  // attached to the switch while it has endpoints
  std::string last_user;
};

class VdeServer final : public PortOwner {
 public:
  // Creates (or reclaims a stale) DIR and its ctl socket; throws ConfigError.
  VdeServer(PlugHost& host, ServerOptions options);
  ~VdeServer() override;
  VdeServer(const VdeServer&) = delete;
  VdeServer& operator=(const VdeServer&) = delete;

  void remove(Port& port) override;
  std::vector<std::pair<std::string, std::string>> details() const override;

  const ServerOptions& options() const { return options_; }
  const std::string& dir() const { return options_.dir; }
  uint32_t numports() const { return options_.numports; }

  PortRecord* record(uint32_t number);
  PortRecord& create_record(uint32_t number);  // throws ConfigError when out of range
  // Changes a port's settings, live if a client is plugged in; throws ConfigError.
  void configure(uint32_t number, const PortSettings& settings);
  bool close_endpoint(uint32_t number, int endpoint_id);
  void close_port(uint32_t number);
  std::optional<uint32_t> number_of(const Port& port) const;

 private:
  struct Pending {
    Fd fd;
    std::vector<uint8_t> bytes;
    uint64_t since_ms;
  };
  struct Attached {
    Fd ctl;
    uint32_t port;
  };
  struct Peer {
    uid_t uid;
    gid_t gid;
    pid_t pid;
  };

  void accept_clients();
  void on_request_bytes(int fd);
  void refuse(int fd, const std::string& who, const std::string& why);
  void serve(int fd, const Request& req);
  std::optional<uint32_t> choose_port(const Request& req, const Peer& peer, std::string& why);
  bool acl_allows(const PortRecord& r, const Peer& peer) const;
  void on_control(int fd, uint32_t events);
  void end_endpoint(int ctl_fd, const char* why);
  void deactivate(PortRecord& r);
  std::string port_name(uint32_t number) const;
  void expire_pending(uint64_t now_ms);
  void reclaim_stale_files();

  PlugHost& host_;
  ServerOptions options_;
  Fd ctl_;
  Acceptor acceptor_{"vde"};
  std::string ctl_path_;
  PlugHost::TimerId timer_ = 0;
  std::map<int, Pending> pending_;
  std::map<int, Attached> attached_;  // by control fd, which is also the endpoint's id
  std::vector<std::optional<PortRecord>> records_;
  uint64_t refusals_ = 0;
};

}  // namespace vswitch::plugs::vde
