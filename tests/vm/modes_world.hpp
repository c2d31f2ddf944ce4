// A small world of network namespaces for the networking modes, built by the test and removed
// with it; no address in it leaves this machine:
//
//   inet   10.20.0.2 "the Internet": a server on port 80
//     |
//   lan    br0 10.10.0.1, the LAN's router (forwards to inet), joining:
//     +--- dev    10.10.0.5, a device on the LAN with a server on port 80
//     +--- host   hl0 10.10.0.2, the host's own LAN address, and up0 (no address): the uplink
//                 a bridged segment uses. vswitchd and the guests' QEMUs run here; its host
//                 port (a tap) is the host's interface on a host-only segment.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "../support/netns.hpp"

namespace vswitch::test {

inline constexpr const char* kLanDevice = "10.10.0.5";
inline constexpr const char* kLanRouter = "10.10.0.1";
inline constexpr const char* kInternetServer = "10.20.0.2";
inline constexpr const char* kUplink = "up0";
inline constexpr uint16_t kServicePort = 80;

class ModesWorld {
 public:
  ModesWorld();
  ~ModesWorld();
  ModesWorld(const ModesWorld&) = delete;
  ModesWorld& operator=(const ModesWorld&) = delete;

  // Empty when every namespace, link and server came up; else what failed.
  const std::string& failure() const { return failure_; }

  Netns& host() { return *host_; }
  Netns& lan() { return *lan_; }
  Netns& dev() { return *dev_; }
  Netns& inet() { return *inet_; }

  // Whether a ping, or a TCP connection to the service port, from inside `from` reaches `ip`.
  static bool pings(Netns& from, const std::string& ip);
  static bool connects(Netns& from, const std::string& ip);

 private:
  void run(Netns& ns, const std::vector<std::string>& argv);
  void serve(Netns& ns, const std::string& address);

  std::unique_ptr<Netns> host_, lan_, dev_, inet_;
  std::vector<pid_t> servers_;
  std::string failure_;
  TempDir www_;
};

}  // namespace vswitch::test
