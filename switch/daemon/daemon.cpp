#include "daemon.hpp"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "commands.hpp"
#include "common/unix_socket.hpp"
#include "control_server.hpp"
#include "dpdk/ethdev_port.hpp"
#include "metrics_server.hpp"
#include "metrics_text.hpp"
#include "mirrors.hpp"
#include "options.hpp"
#include "port_factory.hpp"
#include "vde/vde_server.hpp"
#include "vde_console.hpp"
#include "vswitch/clock.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

// Descriptors a DPDK port keeps filled with mbufs, plus a margin for bursts in flight.
constexpr uint32_t kMbufsPerEthdev = 2048 + 512;
constexpr uint32_t kMbufsBase = 8192;
// A NAT port's ring of frames waiting to enter the switch.
constexpr uint32_t kMbufsPerNat = 1024;

// Enough for one port's rings twice over.
constexpr uint32_t kLargeMbufs = 4095;

}  // namespace

// How a plug reaches the switch: the engine's control plane and one segment.
class SegmentHost final : public PlugHost {
 public:
  SegmentHost(Daemon& d, Segment& s) : d_(d), seg_(s) {}

  void attach(std::unique_ptr<Port> port, PortOwner* owner) override {
    const Port* raw = port.get();
    d_.engine_.attach(seg_, std::move(port), [owner](Port& p) { owner->closed(p); });
    d_.owners_[raw] = owner;
  }
  std::unique_ptr<Port> detach(Port& port) override {
    d_.owners_.erase(&port);
    return d_.engine_.detach(port);
  }
  void reconfigure(Port& port, const PortSettings& settings) override {
    auto id = seg_.find(port.name());
    if (!id) throw ConfigError("port " + port.name() + " is not attached");
    seg_.reconfigure(*id, settings);
  }
  void forget(Port& port) override {
    if (auto id = seg_.find(port.name())) seg_.flush_fdb(*id);
  }
  void watch(int fd, uint32_t events, std::function<void(uint32_t)> cb) override {
    d_.engine_.watch(fd, events, std::move(cb));
  }
  void unwatch(int fd) override { d_.engine_.unwatch(fd); }
  TimerId every(uint32_t period_ms, std::function<void(uint64_t)> fn) override {
    return d_.engine_.every(period_ms, std::move(fn));
  }
  void cancel(TimerId id) override { d_.engine_.cancel(id); }
  uint64_t now_ms() const override { return d_.engine_.now_ms(); }

 private:
  Daemon& d_;
  Segment& seg_;
};

uint32_t default_mbufs(const std::vector<std::string>& port_specs) {
  auto count = [&](const char* type) {
    return static_cast<uint32_t>(std::count_if(port_specs.begin(), port_specs.end(),
                                               [&](auto& p) { return p.rfind(type, 0) == 0; }));
  };
  // A power of two minus one is what the mempool's ring holds best.
  return std::bit_ceil(kMbufsBase + kMbufsPerEthdev * count("dpdk") + kMbufsPerNat * count("nat")) -
         1;
}

Daemon::Daemon(DaemonConfig config) : config_(std::move(config)), engine_(config_.engine) {}

Daemon::~Daemon() {
  console_.reset();
  metrics_.reset();
  control_.reset();
  // Listeners close their clients' connections and detach their own ports.
  listeners_.clear();
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
    throw ConfigError("cannot create the pool of " + std::to_string(mbufs) + " mbufs (--mbufs): " +
                      rte_strerror(rte_errno) + " (under --eal, give EAL more memory with -m)");
  }
  if (config_.segments.empty()) {
    engine_.add_segment(SegmentSettings{});
  } else {
    for (const auto& s : config_.segments)
      add_segment(s);
  }
  for (const auto& p : config_.ports)
    add_port(p);
  for (const auto& m : config_.mirrors)
    add_mirror(engine_, parse_mirror(split_words(m)));

  commands_ = std::make_unique<Commands>(*this);
  control_ = std::make_unique<ControlServer>(
      engine_, config_.control_path, config_.control_mode,
      [this](const std::string& request) { return commands_->serve(request); });
  if (config_.console) console_ = std::make_unique<VdeConsole>(*this, *config_.console);
  if (config_.metrics_listen) {
    metrics_ = std::make_unique<MetricsServer>(engine_, *config_.metrics_listen,
                                               [this] { return metrics_text(engine_); });
  }
}

const Listener* Daemon::find_listener(const std::string& name) const {
  for (auto& l : listeners_) {
    if (l->name == name) return l.get();
  }
  return nullptr;
}

plugs::vde::VdeServer* Daemon::first_vde() const {
  for (auto& l : listeners_) {
    if (l->vde) return l->vde;
  }
  return nullptr;
}

Segment& Daemon::add_segment(const std::string& spec_text) {
  SegmentSpec spec = parse_segment(spec_text);
  Segment& seg = engine_.add_segment(std::move(spec.settings));
  // A segment whose network= cannot be had is not left behind half made.
  std::vector<std::string> added;
  try {
    for (const std::string& port : spec.ports)
      added.push_back(add_port(port));
  } catch (const ConfigError&) {
    for (const std::string& name : added)
      remove_port(name);
    engine_.remove_segment(seg);
    throw;
  }
  return seg;
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
  for (uint32_t k = 0;; ++k) {
    std::string name = type + std::to_string(k);
    if (!engine_.find_port(name)) return name;
  }
}

std::string Daemon::add_port(const std::string& spec_text) {
  PortSpec spec = parse_port_spec(spec_text);
  Segment& seg = segment_for(spec);
  if (!spec.settings.name.empty() && engine_.find_port(spec.settings.name)) {
    throw ConfigError("port " + spec.settings.name + " already exists");
  }
  Built built = build_port_noting_privileges(spec, seg);
  if (built.listener) {
    log(LogLevel::info, "%s %s (%s) serves segment %s", built.listener->type.c_str(),
        built.listener->name.c_str(), built.listener->where.c_str(), seg.name().c_str());
    listeners_.push_back(std::move(built.listener));
    return listeners_.back()->name;
  }
  const std::string name = built.port->name();
  engine_.attach(seg, std::move(built.port));
  log(LogLevel::info, "port %s joined segment %s", name.c_str(), seg.name().c_str());
  return name;
}

// A refusal the kernel gave for want of a privilege names the privileges vswitchd still has.
Built Daemon::build_port_noting_privileges(PortSpec& spec, Segment& seg) {
  try {
    return build_port(spec, *this, seg);
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    const bool denied = what.find(std::strerror(EPERM)) != std::string::npos ||
                        what.find(std::strerror(EACCES)) != std::string::npos ||
                        what.find("CAP_") != std::string::npos;
    if (privilege_note_.empty() || !denied) throw;
    throw ConfigError(what + " (" + privilege_note_ + ")");
  }
}

std::unique_ptr<PlugHost> Daemon::host_for(Segment& seg) {
  return std::make_unique<SegmentHost>(*this, seg);
}

std::string Daemon::unique_prefix(const std::string& type) {
  auto taken = [&](const std::string& n) {
    return engine_.find_port(n) ||
           std::any_of(listeners_.begin(), listeners_.end(), [&](auto& l) { return l->name == n; });
  };
  if (!taken(type)) return type;
  for (uint32_t k = 1;; ++k) {
    if (!taken(type + std::to_string(k))) return type + std::to_string(k);
  }
}

void Daemon::remove_port(const std::string& name) {
  auto ref = engine_.find_port(name);
  if (!ref) throw ConfigError("no port named " + name);
  Port& port = *ref->segment->port(ref->id);
  // A port a plug made is closed by that plug, so its client hears of it.
  if (auto it = owners_.find(&port); it != owners_.end()) {
    it->second->remove(port);
  } else {
    engine_.detach(port);
  }
  log(LogLevel::info, "port %s removed", name.c_str());
}

}  // namespace vswitch::daemon
