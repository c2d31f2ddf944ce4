// vswitchd with net_pcap ports: each port replays a crafted pcap into the switch and records
// what the switch sends it in another, to be compared byte for byte.
//
// The engine polls ports in the order they were given, one burst of up to 32 frames each per
// round, so a port's first 32 frames are all switched before the next port's. pad_round() uses
// that to sequence a test: 32 runts (dropped before learning) push the rest of a port's frames
// into the next round.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frames.hpp"
#include "process.hpp"

namespace vswitch::test {

struct PcapPortSpec {
  std::string name;
  std::vector<Bytes> in;
  std::string options;  // extra port keys, "tag=10,role=host"
};

void pad_round(std::vector<Bytes>& frames);

class PcapSwitch {
 public:
  PcapSwitch(std::vector<PcapPortSpec> ports, std::vector<std::string> extra_args = {});

  bool ready() const { return vs_->ready(); }
  Vswitchd& daemon() { return *vs_; }
  // Waits until every port has taken in all its frames, then stops the switch; false on a
  // timeout or an unclean exit.
  bool finish();
  // What the switch sent out of a port (after finish()).
  std::vector<Bytes> out(const std::string& port) const;

 private:
  TempDir dir_;
  std::vector<PcapPortSpec> ports_;
  std::unique_ptr<Vswitchd> vs_;
};

}  // namespace vswitch::test
