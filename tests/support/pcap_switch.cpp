#include "pcap_switch.hpp"

#include <gtest/gtest.h>

#include "pcap_file.hpp"

namespace vswitch::test {

void pad_round(std::vector<Bytes>& frames) {
  while (frames.size() % 32 != 0)
    frames.push_back(Bytes(1, 0));
}

PcapSwitch::PcapSwitch(std::vector<PcapPortSpec> ports, std::vector<std::string> extra_args)
    : ports_(std::move(ports)) {
  std::vector<std::string> args = std::move(extra_args);
  for (size_t i = 0; i < ports_.size(); ++i) {
    const auto& p = ports_[i];
    std::string spec = "dpdk,name=" + p.name + ",dev=net_pcap" + std::to_string(i) +
                       ",dev.tx_pcap=" + dir_.file(p.name + ".out.pcap");
    if (!p.in.empty()) {
      write_pcap(dir_.file(p.name + ".in.pcap"), p.in);
      spec += ",dev.rx_pcap=" + dir_.file(p.name + ".in.pcap");
    }
    if (!p.options.empty()) spec += "," + p.options;
    args.push_back("--port");
    args.push_back(spec);
  }
  vs_ = std::make_unique<Vswitchd>(args);
}

bool PcapSwitch::finish() {
  if (!vs_->ready()) {
    ADD_FAILURE() << "vswitchd did not start:\n" << vs_->log();
    return false;
  }
  for (const auto& p : ports_) {
    if (!vs_->wait_port_counter(p.name, "in_packets", static_cast<int64_t>(p.in.size()))) {
      ADD_FAILURE() << "port " << p.name << " took in " << vs_->port_counter(p.name, "in_packets")
                    << " of " << p.in.size() << " frames\n"
                    << vs_->log();
      return false;
    }
  }
  const int status = vs_->stop();
  if (status != 0) {
    ADD_FAILURE() << "vswitchd exited with " << status << "\n" << vs_->log();
    return false;
  }
  return true;
}

std::vector<Bytes> PcapSwitch::out(const std::string& port) const {
  return read_pcap(dir_.file(port + ".out.pcap"));
}

}  // namespace vswitch::test
