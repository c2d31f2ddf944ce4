// A segment's DHCP server as a port of it, role service: what dnsmasq on a host-only tap does,
// built in. The segment hands it every frame the guests broadcast or send it; it answers ARP
// for its own address and DHCP on UDP port 67, and leaves everything else. Its answers wait in
// a ring that receive() drains, and an eventfd wakes the engine for them, as the NAT port's do.
//
// It has an address of its own (the server= key) and a MAC derived from its name, so both
// stay the same across restarts, and its leases persist in a lease file.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/dgram_io.hpp"
#include "common/fd.hpp"
#include "common/ipv4_frames.hpp"
#include "dhcp/dhcp_server.hpp"
#include "dhcp/lease_file.hpp"
#include "vswitch/log.hpp"
#include "vswitch/port.hpp"

namespace vswitch::plugs::dhcp {

class DhcpPort final : public Port {
 public:
  // `options.lease_file` must be decided (a path, or empty for none). Loads the leases kept
  // there and writes them back at once, so a file the switch cannot write is a ConfigError
  // now rather than lost leases later.
  static std::unique_ptr<DhcpPort> open(PortSettings settings, DhcpOptions options);
  ~DhcpPort() override;

  uint16_t receive(rte_mbuf** burst, uint16_t max) override;
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override;
  int wait_fd() const override { return wake_fd_.get(); }
  std::string_view kind() const override { return "dhcp"; }
  std::vector<std::pair<std::string, std::string>> details() const override;
  std::optional<std::string> refuses(const PortSettings& s) const override;

  MacAddr mac() const { return mac_; }
  std::vector<MacAddr> own_macs() const override { return {mac_}; }
  const DhcpServer& server() const { return server_; }
  std::vector<LeaseRow> leases() const;

 private:
  DhcpPort(PortSettings settings, DhcpOptions options);

  void handle(const uint8_t* frame, size_t len, int64_t now);
  void answer_dhcp(const UdpDatagram& d, int64_t now);
  void send(const Reply& r);
  bool queue(rte_mbuf* m);
  void save();

  DhcpServer server_;
  MacAddr mac_;
  rte_mempool* pool_;
  std::optional<LeaseFile> file_;
  Fd wake_fd_;  // readable while answers wait in the ring
  bool woken_ = false;

  static constexpr uint32_t kRing = 2 * kTxBurstMax;  // one answer per frame of two bursts
  std::array<rte_mbuf*, kRing> ring_{};
  uint32_t head_ = 0, n_ = 0;

  std::array<uint8_t, kMaxDatagramFrame> linear_{};  // a chained frame, made one run
  LogLimiter malformed_log_{60000};
  LogLimiter save_log_{60000};
};

}  // namespace vswitch::plugs::dhcp
