// A port that is a user-mode NAT gateway for its whole segment, on libslirp (what QEMU's
// -netdev user is built on): DHCP, DNS forwarded to the host's resolver, outbound TCP and UDP
// through the host's own sockets, and hostfwd rules, all without privileges.
//
// libslirp runs on the engine's thread, inside this port: its sockets, a timer and a wake-up
// event sit in an epoll set of the port's own, which is the port's wait descriptor, so the
// engine sleeps on it like on any socket port. Frames from the guests go in by transmit();
// what libslirp sends them comes out of receive(). libslirp is not thread-safe and needs no
// lock this way.
#pragma once

#include <slirp/libslirp.h>

#include <array>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/fd.hpp"
#include "nat/leases.hpp"
#include "nat/nat_options.hpp"
#include "vswitch/log.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::nat {

class NatPort final : public Port {
 public:
  // Throws ConfigError: a hostfwd whose host port is taken, libslirp refusing the settings.
  static std::unique_ptr<NatPort> open(PortSettings settings, NatOptions options);
  ~NatPort() override;

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return epoll_.get(); }
  std::string_view kind() const override { return "nat"; }
  std::vector<std::pair<std::string, std::string>> details() const override;
  // libslirp answers as 52:55 and the IPv4 address it speaks for: the gateway and the DNS.
  std::vector<MacAddr> own_macs() const override;

  // Throws ConfigError when the host port cannot be had, or (remove) there is no such rule.
  void add_forward(const HostForward& f);
  void remove_forward(const HostForward& f);
  const std::vector<HostForward>& forwards() const { return options_.forwards; }
  const Leases& leases() const { return leases_; }

 private:
  struct Timer;
  NatPort(PortSettings settings, NatOptions options);

  // The SlirpCb callbacks; `opaque` is the port.
  static const SlirpCb* callbacks();
  static ssize_t on_send_packet(const void* buf, size_t len, void* opaque);
  static void on_guest_error(const char* msg, void* opaque);
  static int64_t on_clock_get_ns(void* opaque);
  static void* on_timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque);
  static void on_timer_free(void* timer, void* opaque);
  static void on_timer_mod(void* timer, int64_t expire_ms, void* opaque);
  static void on_register_poll_fd(int fd, void* opaque);
  static void on_unregister_poll_fd(int fd, void* opaque);
  static void on_notify(void* opaque);
  static int on_add_poll(int fd, int events, void* opaque);
  static int on_get_revents(int idx, void* opaque);

  void service();
  void refill();
  void run_timers(int64_t now_ms);
  void arm_timer(uint32_t timeout_ms);
  void signal_rx();
  void watch(int fd, uint32_t events);

  NatOptions options_;
  Slirp* slirp_ = nullptr;
  Fd epoll_;
  Fd timer_fd_;
  Fd wake_fd_;  // readable while frames wait in rx_
  std::vector<std::unique_ptr<Timer>> timers_;
  std::vector<int> pollfds_;  // libslirp's last fill: descriptors by the index it was given
  struct Watched {
    uint32_t events;   // EPOLL*
    uint64_t fill;     // the fill that last asked for it
    uint32_t revents;  // what epoll said in the service `ready_in`
    uint64_t ready_in;
  };
  std::unordered_map<int, Watched> watched_;
  uint64_t fill_ = 0;
  uint64_t service_ = 0;
  int64_t armed_ms_ = -1;  // the timer's deadline, so an unchanged one costs no system call
  bool woken_ = false;     // wake_fd_ holds a count

  // Frames from libslirp waiting for receive(): a ring, so none costs an allocation.
  static constexpr uint32_t kRxRing = 1024;
  std::array<rte_mbuf*, kRxRing> rx_{};
  uint32_t rx_head_ = 0, rx_n_ = 0;

  Leases leases_;
  LogLimiter guest_error_log_{10000};
};

}  // namespace vswitch::plugs::nat
