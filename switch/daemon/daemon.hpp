// The daemon: the one place that knows both the core and the plugs. It builds segments and
// ports from the configuration, runs the engine, and serves the control socket.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spec.hpp"
#include "vswitch/engine.hpp"

struct rte_mempool;

namespace vswitch::daemon {

class Commands;
class ControlServer;

struct DaemonConfig {
  std::vector<std::string> eal_args;
  std::string control_path;
  mode_t control_mode = 0600;
  std::vector<std::string> segments;  // specs
  std::vector<std::string> ports;     // specs
  uint32_t mbufs = 8191;
  EngineOptions engine;
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
  // A pool of mbufs with at least this much data room, for jumbo frames on devices that cannot
  // chain buffers; made on first use, kept until exit since its mbufs travel to every port.
  rte_mempool* large_pool(uint32_t data_room);

 private:
  Segment& segment_for(const PortSpec& spec);
  std::string unique_name(const std::string& type);

  DaemonConfig config_;
  Engine engine_;
  rte_mempool* pool_ = nullptr;
  std::map<uint32_t, rte_mempool*> large_pools_;
  std::unique_ptr<Commands> commands_;
  std::unique_ptr<ControlServer> control_;
  std::map<std::string, uint32_t> name_counters_;
  uint64_t started_ms_ = 0;
};

}  // namespace vswitch::daemon
