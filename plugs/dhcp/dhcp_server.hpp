// A DHCP server's answers (RFC 2131 4.3): OFFER for DISCOVER, ACK or NAK for REQUEST in each of
// its states, leases released and declined, ACK for INFORM, each addressed as 4.1 says. It sees
// messages, never frames: the port around it reads and writes those.
#pragma once

#include <cstdint>
#include <string>

#include "common/dhcp_wire.hpp"
#include "dhcp/dhcp_options.hpp"
#include "dhcp/lease_table.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::dhcp {

struct DhcpCounters {
  uint64_t offers = 0;
  uint64_t acks = 0;
  uint64_t naks = 0;
  uint64_t releases = 0;
  uint64_t declines = 0;
  uint64_t informs = 0;
  uint64_t malformed = 0;  // not a DHCP message a client may send
  uint64_t ignored = 0;    // not for this server: another server's, a relay's, not DHCP at all
  uint64_t pool_full = 0;  // DISCOVERs no address was left for
};

// Where a reply goes: a client with no address yet hears it broadcast, unless it can take
// unicast before it is configured (no broadcast flag).
struct Reply {
  Message message;
  MacAddr dst_mac;
  uint32_t dst_ip = 0;
};

class DhcpServer {
 public:
  // `name` is for the log.
  DhcpServer(std::string name, DhcpOptions options);
  DhcpServer(const DhcpServer&) = delete;
  DhcpServer& operator=(const DhcpServer&) = delete;

  // What to answer the client's message, into `out`; false when it gets no answer. Counts
  // what it did; `now` in seconds since the epoch.
  bool answer(const Message& in, int64_t now, Reply& out);

  const DhcpOptions& options() const { return options_; }
  LeaseTable& leases() { return leases_; }
  const LeaseTable& leases() const { return leases_; }
  DhcpCounters& counters() { return counters_; }
  const DhcpCounters& counters() const { return counters_; }

 private:
  bool request(const Message& in, const Client& c, int64_t now, Reply& out);
  void reply(const Message& in, MessageType type, uint32_t yiaddr, Reply& out) const;
  bool nak(const Message& in, Reply& out);

  std::string name_;
  DhcpOptions options_;
  LeaseTable leases_;
  DhcpCounters counters_;
  LogLimiter pool_full_log_{60000};
};

}  // namespace vswitch::plugs::dhcp
