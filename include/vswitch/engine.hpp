// The engine: one thread that moves frames in rounds. Each round it takes one burst from every
// port that has work, runs each burst through its segment to completion, and flushes the
// transmit buffers once. Ports on sockets are taken when epoll says they are ready, ports on
// DPDK devices are polled; the control plane (descriptors and timers of the daemon and the
// plugs) is served in the same round, so nothing ever locks the datapath. When no frame moves
// the engine sleeps in epoll: at once with only socket ports, after a short spin with polled
// ones (adaptive idle), never with --idle busy.
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
  uint32_t spin_rounds = 200;  // empty rounds before sleeping while polled ports are attached
  // While a polled port without a wait fd is attached, sleeps are timed: the first this long,
  // doubling while nothing arrives, up to the maximum.
  uint32_t poll_sleep_ms = 1;
  uint32_t poll_sleep_max_ms = 8;
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
  using TimerId = uint64_t;
  struct PortRef {
    Segment* segment;
    uint16_t id;
  };

  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Segment& add_segment(SegmentSettings settings);  // throws ConfigError on a duplicate name
  // Only a segment without ports; throws ConfigError otherwise.
  void remove_segment(Segment& segment);
  Segment* segment(std::string_view name) const;
  const std::vector<std::unique_ptr<Segment>>& segments() const { return segments_; }

  // Port names are unique across segments. When a port reports closed(), on_closed is called
  // (from the control plane, never mid-burst); by default the port is detached and destroyed.
  PortRef attach(Segment& segment, std::unique_ptr<Port> port, ClosedHandler on_closed = {});
  std::unique_ptr<Port> detach(Port& port);
  std::optional<PortRef> find_port(std::string_view name) const;
  void for_each_port(const std::function<void(Segment&, uint16_t, Port&)>& fn) const;

  // The control plane: callbacks run after a round's frames, on the engine's thread.
  void watch(int fd, uint32_t events, FdCallback cb);
  void modify(int fd, uint32_t events);
  void unwatch(int fd);
  TimerId every(uint32_t period_ms, std::function<void(uint64_t now_ms)> fn);
  void cancel(TimerId id);

  void run();        // until stop()
  void run_round();  // one round, for tests and benchmarks
  void stop();       // async-signal-safe
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  uint64_t now_ms() const { return now_ms_; }
  const EngineStats& stats() const { return stats_; }
  const EngineOptions& options() const { return options_; }

 private:
  struct Attached {
    Port* port;
    Segment* segment;
    uint16_t id;
    ClosedHandler on_closed;
    bool polled;
    bool hot = false;     // its last burst was full: more may be waiting past its readiness
    uint64_t served = 0;  // the round it was last taken in
  };
  struct Watch {
    FdCallback cb;             // a control-plane descriptor
    Attached* port = nullptr;  // or a port's wait fd
  };
  struct Timer {
    TimerId id;
    uint32_t period_ms;
    uint64_t due_ms;
    std::function<void(uint64_t)> fn;
  };

  uint32_t take(Attached& a);
  int timeout_ms(bool frames_moved);
  void arm(bool on);
  void run_timers();
  void reap_closed();
  void add_watch(int fd, uint32_t events, std::shared_ptr<Watch> w);

  EngineOptions options_;
  std::vector<std::unique_ptr<Segment>> segments_;
  std::vector<std::unique_ptr<Attached>> ports_;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;
  std::vector<Timer> timers_;
  TimerId next_timer_ = 1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd written by stop()
  size_t polled_count_ = 0;
  size_t polled_without_fd_ = 0;
  std::atomic<bool> stop_{false};
  uint64_t now_ms_ = 0;
  uint32_t empty_rounds_ = 0;
  uint32_t epoll_skips_ = 0;
  static constexpr uint32_t kEpollEvery = 16;  // rounds between readiness checks when busy
  uint32_t sleep_ms_ = 1;
  bool frames_moved_ = false;
  EngineStats stats_;
};

}  // namespace vswitch
