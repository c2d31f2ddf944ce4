// A vhost-user port: a guest's virtio-net rings in shared memory, served through DPDK's vhost
// library, no system call per frame. vswitchd listens on the socket (server mode; QEMU's
// `-chardev socket,path=P`) or connects to QEMU's (client mode; QEMU's `server=on`), and then
// reconnects whenever QEMU restarts, once a second (the library's own retry). The port outlives
// its guests: settings and counters stay while a guest connects, leaves and comes back.
//
// The library's thread announces devices and queues; the port hands that news to the engine's
// thread through its wait descriptor, so only the engine ever touches the port's state and the
// segment. The one exception is a device's departure, which the library needs acknowledged at
// once: the datapath then finishes the burst it is in (a flag it sets around each burst) before
// the device is let go, so a guest that dies mid-burst costs only its own frames.
//
// The guest's offloads (TSO, checksums) are not offered: every frame is a whole Ethernet frame,
// as on every other port. Frames bigger than an mbuf come and go as chains.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "vswitch/port.hpp"

struct rte_mempool;

namespace vswitch::plugs::vhost {

struct VhostOptions {
  std::string path;
  bool server = true;  // vswitchd listens; false: QEMU does and vswitchd connects
  rte_mempool* pool = nullptr;
};

class VhostPort final : public Port {
 public:
  // The most queue pairs served; the library's own limit is higher, guests rarely use more.
  static constexpr uint16_t kMaxQueuePairs = 8;

  // Registers the socket with the vhost library and starts it; throws ConfigError.
  static std::unique_ptr<VhostPort> open(PortSettings settings, VhostOptions options);
  ~VhostPort() override;

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return epoll_.get(); }
  bool polled() const override { return true; }  // kicks only wake a sleeping engine
  void arm_wakeup() override;
  void disarm_wakeup() override;
  std::string_view kind() const override { return "vhost-user"; }
  std::vector<std::pair<std::string, std::string>> details() const override;

  // The library's news, on its thread (vhost_devices.cpp).
  enum class News : uint8_t { connected, device_up, queue_on, queue_off, device_down, gone };
  void tell(News news, int vid, uint16_t queue = 0);
  // A device is going: stops the datapath using it before the library frees it.
  void release_device(int vid);

 private:
  struct Event {
    News news;
    int vid;
    uint16_t queue;
  };
  VhostPort(PortSettings settings, VhostOptions options);
  void start();
  // On the engine's thread: what the library said since the last burst.
  void apply_events();
  void apply(const Event& e);
  void device_up(int vid);
  void device_down();
  void refresh_vrings();
  void watch_connection(bool on);
  void report_unready_guest();
  void drain(int fd);
  void self_wake();

  VhostOptions options_;
  Fd epoll_;     // the engine's wait fd: the news, the guest's kicks, the timer
  Fd event_fd_;  // written with every piece of news, and to wake the engine at once
  Fd timer_fd_;  // wakes the engine when a connection has been short of a device too long

  // Shared with the library's thread.
  std::atomic<int> active_vid_{-1};  // the device the datapath may use
  std::atomic<bool> in_burst_{false};
  std::atomic<bool> news_{false};
  std::mutex news_mu_;
  std::vector<Event> pending_;

  // The engine's own.
  int vid_ = -1;         // the connected device, or -1
  int connection_ = -1;  // a connection not yet a device, watched until it is one
  std::chrono::steady_clock::time_point unready_deadline_;
  std::array<bool, 2 * kMaxQueuePairs> enabled_{};  // by vring index
  std::array<Fd, kMaxQueuePairs> kicks_;            // dups of the guest's tx vrings' kick fds
  std::vector<uint16_t> tx_vrings_;                 // the guest's enabled tx vrings
  int rx_vring_ = -1;                               // where frames for the guest go
  uint16_t next_vring_ = 0;
  uint64_t features_ = 0;
  uint16_t guest_mtu_ = 0;
  uint64_t connections_ = 0, disconnections_ = 0;
  bool registered_ = false;
};

}  // namespace vswitch::plugs::vhost
