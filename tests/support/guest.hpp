// A tiny QEMU guest (scripts/guest/) booted under TCG for tests: it pings its peer and, as a
// client, downloads a file from it, reporting on its serial console.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "process.hpp"

namespace vswitch::test {

// Builds the guest kit once (downloads the Debian kernel on first use); its directory, or an
// empty string with the reason in *why.
std::string guest_kit(std::string* why);

struct GuestSpec {
  // "vde,sock=DIR", "socket,connect=127.0.0.1:5000"..., or "vhost-user,path=SOCK[,server=on]":
  // then the guest's memory is a shared memfd, the socket a chardev (QEMU listens with
  // server=on) and the NIC has no MSI-X (QEMU 7.2 under TCG crashes with vhost-user otherwise).
  std::string netdev;
  std::string nic = "virtio";  // or e1000
  std::string mac;
  std::string ip;    // 10.0.0.1/24, or dhcp
  std::string peer;  // 10.0.0.2
  bool server = false;
  std::string netns;  // run QEMU in this namespace
  std::string more;   // further vsw.* settings of scripts/guest/init, space separated
  // With vsw.role=agent: the Unix socket QEMU serves the guest's second serial port on, where
  // the guest takes probes (Guest::probe).
  std::string agent;
};

class Guest {
 public:
  Guest(const std::string& kit, const GuestSpec& spec, const std::string& log_path);
  ~Guest();
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  std::string console() const;
  bool wait_for(const std::string& marker, std::chrono::milliseconds timeout);
  bool running();

  // Asks an agent guest to run "ping IP" or "tcp IP PORT": whether it got through, or nullopt
  // when the guest did not answer in time.
  std::optional<bool> probe(const std::string& command, std::chrono::milliseconds timeout = 20s);

 private:
  // One command line to the agent and the status it answered.
  std::optional<std::string> exchange(const std::string& command,
                                      std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  std::string log_;
  std::string agent_;
  int agent_fd_ = -1;
  bool agent_synced_ = false;
  std::string agent_input_;  // read from the agent, not yet taken
};

}  // namespace vswitch::test
