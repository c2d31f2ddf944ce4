#include "daemon.hpp"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <bit>

#include "commands.hpp"
#include "control_server.hpp"
#include "dpdk/ethdev_port.hpp"
#include "vswitch/clock.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

// Descriptors a DPDK port keeps filled with mbufs, plus a margin for bursts in flight.
constexpr uint32_t kMbufsPerEthdev = 2048 + 512;
constexpr uint32_t kMbufsBase = 8192;

// Enough for one port's rings twice over.
constexpr uint32_t kLargeMbufs = 4095;

std::unique_ptr<Port> open_dpdk(PortSpec& spec, Daemon& d) {
  plugs::EthdevOptions o;
  o.pool = d.pool();
  o.large_pool = [&d](uint32_t room) { return d.large_pool(room); };
  auto dev = spec.take("dev");
  if (!dev) throw ConfigError("port " + spec.settings.name + ": a dpdk port needs dev=DEVARGS");
  o.devargs = *dev;
  // dev.KEY=VALUE adds a devarg, so a spec needs no doubled commas for them.
  for (auto it = spec.params.begin(); it != spec.params.end();) {
    if (it->first.rfind("dev.", 0) == 0) {
      o.devargs += "," + it->first.substr(4) + "=" + it->second;
      it = spec.params.erase(it);
    } else {
      ++it;
    }
  }
  if (auto v = spec.take("rxd"))
    o.rx_descriptors = static_cast<uint16_t>(parse_uint("rxd", *v, 64, 16384));
  if (auto v = spec.take("txd"))
    o.tx_descriptors = static_cast<uint16_t>(parse_uint("txd", *v, 64, 16384));
  spec.expect_consumed();
  return plugs::EthdevPort::open(spec.settings, o);
}

}  // namespace

uint32_t default_mbufs(const std::vector<std::string>& port_specs) {
  const auto dpdk_ports = static_cast<uint32_t>(
      std::count_if(port_specs.begin(), port_specs.end(),
                    [](const std::string& p) { return p.rfind("dpdk", 0) == 0; }));
  // A power of two minus one is what the mempool's ring holds best.
  return std::bit_ceil(kMbufsBase + kMbufsPerEthdev * dpdk_ports) - 1;
}

Daemon::Daemon(DaemonConfig config) : config_(std::move(config)), engine_(config_.engine) {}

Daemon::~Daemon() {
  control_.reset();
  // Ports close before the pool they draw from is freed.
  for (auto& s : engine_.segments()) {
    std::vector<Port*> ports;
    s->for_each_port([&](uint16_t, Port& p) { ports.push_back(&p); });
    for (Port* p : ports)
      engine_.detach(*p);
  }
  for (auto& [room, p] : large_pools_)
    rte_mempool_free(p);
  if (pool_ != nullptr) rte_mempool_free(pool_);
}

rte_mempool* Daemon::large_pool(uint32_t data_room) {
  // One pool per kibibyte step, so a handful of jumbo MTUs share a few pools.
  const uint32_t room = (data_room + 1023) & ~1023u;
  if (auto it = large_pools_.find(room); it != large_pools_.end()) return it->second;
  if (room > UINT16_MAX) throw ConfigError("no mbufs hold " + std::to_string(room) + " bytes");
  const std::string name = "vswitch_mbufs_" + std::to_string(room);
  rte_mempool* p =
      rte_pktmbuf_pool_create(name.c_str(), kLargeMbufs, 256, 0, static_cast<uint16_t>(room),
                              static_cast<int>(rte_socket_id()));
  if (p == nullptr) {
    throw ConfigError("cannot create a pool of " + std::to_string(kLargeMbufs) + " mbufs of " +
                      std::to_string(room) + " bytes: " + rte_strerror(rte_errno));
  }
  large_pools_[room] = p;
  return p;
}

void Daemon::start() {
  started_ms_ = monotonic_ms();
  const uint32_t mbufs = config_.mbufs;
  pool_ = rte_pktmbuf_pool_create("vswitch_mbufs", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                  static_cast<int>(rte_socket_id()));
  if (pool_ == nullptr) {
    throw ConfigError("cannot create a pool of " + std::to_string(mbufs) +
                      " mbufs: " + rte_strerror(rte_errno) + " (give EAL more memory with -m)");
  }
  if (config_.segments.empty()) {
    engine_.add_segment(SegmentSettings{});
  } else {
    for (const auto& s : config_.segments)
      add_segment(s);
  }
  for (const auto& p : config_.ports)
    add_port(p);

  commands_ = std::make_unique<Commands>(*this);
  control_ = std::make_unique<ControlServer>(
      engine_, config_.control_path, config_.control_mode,
      [this](const std::string& request) { return commands_->serve(request); });
}

Segment& Daemon::add_segment(const std::string& spec_text) {
  return engine_.add_segment(parse_segment_spec(spec_text));
}

Segment& Daemon::segment_for(const PortSpec& spec) {
  if (!spec.segment.empty()) {
    Segment* s = engine_.segment(spec.segment);
    if (!s) throw ConfigError("port " + spec.settings.name + ": no segment named " + spec.segment);
    return *s;
  }
  if (engine_.segments().size() == 1) return *engine_.segments().front();
  throw ConfigError("port " + spec.settings.name +
                    ": there are several segments; say which with segment=NAME");
}

std::string Daemon::unique_name(const std::string& type) {
  for (;;) {
    std::string name = type + std::to_string(name_counters_[type]++);
    if (!engine_.find_port(name)) return name;
  }
}

std::string Daemon::add_port(const std::string& spec_text) {
  PortSpec spec = parse_port_spec(spec_text);
  if (spec.settings.name.empty()) spec.settings.name = unique_name(spec.type);
  if (engine_.find_port(spec.settings.name)) {
    throw ConfigError("port " + spec.settings.name + " already exists");
  }
  Segment& seg = segment_for(spec);
  seg.check(spec.settings);  // before a device is opened for nothing
  std::unique_ptr<Port> port;
  if (spec.type == "dpdk") {
    port = open_dpdk(spec, *this);
  } else {
    throw ConfigError("port '" + spec.text + "': unknown type '" + spec.type + "' (known: dpdk)");
  }
  const std::string name = port->name();
  engine_.attach(seg, std::move(port));
  log(LogLevel::info, "port %s joined segment %s", name.c_str(), seg.name().c_str());
  return name;
}

void Daemon::remove_port(const std::string& name) {
  auto ref = engine_.find_port(name);
  if (!ref) throw ConfigError("no port named " + name);
  engine_.detach(*ref->segment->port(ref->id));
  log(LogLevel::info, "port %s removed", name.c_str());
}

}  // namespace vswitch::daemon
