// The daemon: the one place that knows both the core and the plugs. It builds segments and
// ports from the configuration, runs the engine, and serves the control socket.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/socket_address.hpp"
#include "spec.hpp"
#include "vswitch/engine.hpp"
#include "vswitch/plug_host.hpp"

struct rte_mempool;

namespace vswitch::plugs::vde {
class VdeServer;
}

namespace vswitch::daemon {

struct Built;
class Commands;
class ControlServer;
class MetricsServer;
class VdeConsole;

// A plug that makes its own ports (a VDE switch directory, a socket server), made from a spec.
struct Listener {
  std::string type;   // the spec's type: "vde"
  std::string name;   // its ports are named NAME:...
  std::string where;  // what it listens on, for display
  std::string segment;
  std::unique_ptr<PlugHost> host;
  std::unique_ptr<PortOwner> plug;
  plugs::vde::VdeServer* vde = nullptr;  // the same object, when it is a VDE directory
};

// vde_switch's management console (-M) and start-up command file (-f).
struct ConsoleConfig {
  std::string path;
  mode_t mode = 0600;
  std::string group;
  std::string rcfile;  // commands run at start-up
};

struct DaemonConfig {
  std::vector<std::string> eal_args;
  std::string control_path;
  mode_t control_mode = 0600;
  std::vector<std::string> segments;  // specs
  std::vector<std::string> ports;     // specs
  std::vector<std::string> mirrors;   // "NAME src=... dst=...", as `mirror add` takes them
  uint32_t mbufs = 8191;
  EngineOptions engine;
  std::optional<ConsoleConfig> console;
  std::optional<plugs::SocketAddress> metrics_listen;  // --metrics-listen
};

// Enough mbufs for the DPDK ports among the specs (their rings stay full) and socket traffic.
uint32_t default_mbufs(const std::vector<std::string>& port_specs);

class Daemon {
 public:
  explicit Daemon(DaemonConfig config);
  ~Daemon();

  // Creates the mbuf pool, segments, ports and control socket; throws ConfigError.
  void start();
  void run() { engine_.run(); }
  void shutdown() { engine_.stop(); }

  Engine& engine() { return engine_; }
  rte_mempool* pool() const { return pool_; }
  const DaemonConfig& config() const { return config_; }
  uint64_t started_ms() const { return started_ms_; }

  // Adds a port described by a spec (`port add`, --port); throws ConfigError.
  std::string add_port(const std::string& spec_text);
  void remove_port(const std::string& name);
  Segment& add_segment(const std::string& spec_text);
  const std::vector<std::unique_ptr<Listener>>& listeners() const { return listeners_; }
  const Listener* find_listener(const std::string& name) const;
  // The VDE directory the console manages: the first one.
  plugs::vde::VdeServer* first_vde() const;
  Commands& commands() { return *commands_; }
  const ControlServer& control_server() const { return *control_; }
  // Said after a failure to add a port once vswitchd gave up privileges (--user): who it runs
  // as and what it kept, since what was refused may be what it gave up.
  void set_privilege_note(std::string note) { privilege_note_ = std::move(note); }
  // How a plug that makes its own ports reaches a segment.
  std::unique_ptr<PlugHost> host_for(Segment& seg);
  // A default port name: type and the lowest number free ("dpdk0").
  std::string unique_name(const std::string& type);
  // A default prefix for a listener's ports: `type`, or `typeN` when taken.
  std::string unique_prefix(const std::string& type);
  // A pool of mbufs with at least this much data room, for jumbo frames on devices that cannot
  // chain buffers; made on first use, kept until exit since its mbufs travel to every port.
  rte_mempool* large_pool(uint32_t data_room);

 private:
  friend class SegmentHost;  // daemon.cpp: the PlugHost of a segment
  Segment& segment_for(const PortSpec& spec);
  Built build_port_noting_privileges(PortSpec& spec, Segment& seg);

  DaemonConfig config_;
  Engine engine_;
  rte_mempool* pool_ = nullptr;
  std::map<uint32_t, rte_mempool*> large_pools_;
  std::unique_ptr<Commands> commands_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MetricsServer> metrics_;
  std::map<const Port*, PortOwner*> owners_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<VdeConsole> console_;
  uint64_t started_ms_ = 0;
  std::string privilege_note_;
};

}  // namespace vswitch::daemon
