// The engine: one thread that polls every port in bursts, runs each burst through its segment
// to completion, and flushes the transmit buffers once per round. Between rounds it serves the
// control plane (file descriptors and timers registered by the daemon and the plugs); when no
// frame has arrived for a while it sleeps in epoll on the ports' wait fds (adaptive idle).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vswitch/port.hpp"
#include "vswitch/segment.hpp"

namespace vswitch {

enum class IdleMode : uint8_t { adaptive, busy };

struct EngineOptions {
  IdleMode idle = IdleMode::adaptive;
  uint32_t spin_rounds = 200;  // empty rounds before sleeping (adaptive)
  // While a port without a wait fd is attached, sleeps are timed: the first this long, doubling
  // while nothing arrives, up to the maximum.
  uint32_t poll_sleep_ms = 1;
  uint32_t poll_sleep_max_ms = 8;
  uint32_t service_ms = 1;  // how often a busy engine looks at the control plane
};

struct EngineStats {
  uint64_t rounds = 0;
  uint64_t sleeps = 0;
  uint64_t frames = 0;
};

class Engine {
 public:
  using FdCallback = std::function<void(uint32_t events)>;
  using ClosedHandler = std::function<void(Port&)>;
  struct PortRef {
    Segment* segment;
    uint16_t id;
  };

  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Segment& add_segment(SegmentSettings settings);  // throws ConfigError on a duplicate name
  Segment* segment(std::string_view name) const;
  const std::vector<std::unique_ptr<Segment>>& segments() const { return segments_; }

  // Port names are unique across segments. When a port reports closed(), on_closed is called
  // (from the control plane, never mid-burst); by default the port is detached and destroyed.
  PortRef attach(Segment& segment, std::unique_ptr<Port> port, ClosedHandler on_closed = {});
  std::unique_ptr<Port> detach(Port& port);
  std::optional<PortRef> find_port(std::string_view name) const;
  void for_each_port(const std::function<void(Segment&, uint16_t, Port&)>& fn) const;

  // The control plane: callbacks run between rounds, on the engine's thread.
  void watch(int fd, uint32_t events, FdCallback cb);
  void modify(int fd, uint32_t events);
  void unwatch(int fd);
  using TimerId = uint64_t;
  TimerId every(uint32_t period_ms, std::function<void(uint64_t now_ms)> fn);
  void cancel(TimerId id);

  void run();        // until stop()
  void run_round();  // one round of polling and service, for tests and benchmarks
  void stop();       // async-signal-safe
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  uint64_t now_ms() const { return now_ms_; }
  const EngineStats& stats() const { return stats_; }
  const EngineOptions& options() const { return options_; }

 private:
  struct Polled {
    Port* port;
    Segment* segment;
    uint16_t id;
    ClosedHandler on_closed;
  };
  struct Watch {
    FdCallback cb;  // empty for a port's wait fd: waking is all it does
  };
  struct Timer {
    TimerId id;
    uint32_t period_ms;
    uint64_t due_ms;
    std::function<void(uint64_t)> fn;
  };

  uint32_t poll_ports();
  void service(int timeout_ms);
  void sleep();
  void run_timers();
  void reap_closed();
  int next_timeout() const;

  EngineOptions options_;
  std::vector<std::unique_ptr<Segment>> segments_;
  std::vector<Polled> polled_;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;
  std::vector<Timer> timers_;
  TimerId next_timer_ = 1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd written by stop()
  size_t ports_without_fd_ = 0;
  std::atomic<bool> stop_{false};
  uint64_t now_ms_ = 0;
  uint64_t next_service_ms_ = 0;
  uint32_t empty_rounds_ = 0;
  uint32_t sleep_ms_ = 1;
  EngineStats stats_;
};

}  // namespace vswitch
