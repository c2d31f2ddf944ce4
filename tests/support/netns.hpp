// Network namespaces a test creates for itself and removes again, so kernel traffic (tap, veth,
// ping) stays inside the test.
#pragma once

#include <string>
#include <vector>

#include "process.hpp"

namespace vswitch::test {

// True when this process may create namespaces and links (root with iproute2).
bool can_use_netns();

class Netns {
 public:
  explicit Netns(std::string name);
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // Runs a program inside the namespace.
  RunResult exec(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);
  // Moves a link of the root namespace in and gives it an address ("10.1.2.3/24").
  bool adopt(const std::string& link, const std::string& cidr);

 private:
  std::string name_;
};

// Moves the calling thread (or a child before it execs) into the namespace, as `ip netns exec`
// does: the files of /etc/netns/NAME/ (resolv.conf) are bound over /etc's in a mount namespace
// of its own, when it is a process. False on failure.
bool enter_netns(const std::string& name, bool with_files = true);

// `ip ...` in the root namespace; the result of the command.
RunResult ip(const std::vector<std::string>& args);

// A name unique to this test process, short enough for an interface (at most 15 characters).
std::string unique_ifname(const std::string& prefix);

}  // namespace vswitch::test
