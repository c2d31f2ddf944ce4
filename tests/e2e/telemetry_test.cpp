// DPDK's telemetry socket under a user's own EAL arguments: the switch's ethdev ports answer
// DPDK's own tools (dpdk-telemetry.py speaks this protocol) with the device's counters.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "../support/frames.hpp"
#include "../support/pcap_file.hpp"
#include "../support/process.hpp"

namespace vswitch::test {
namespace {

// One request on DPDK's telemetry protocol (a seqpacket socket: a greeting, then one reply per
// request); the reply, empty on a failure.
class Telemetry {
 public:
  explicit Telemetry(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || receive().empty()) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Telemetry() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::string ask(const std::string& command) {
    if (send(fd_, command.data(), command.size(), 0) < 0) return "";
    return receive();
  }

 private:
  std::string receive() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return "";
    char buf[16384];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  int fd_ = -1;
};

TEST(Telemetry, EthdevPortsAnswerDpdksOwnTelemetry) {
  if (geteuid() != 0) GTEST_SKIP() << "the EAL's runtime directory for root, /var/run/dpdk";
  TempDir dir;
  const std::string in = dir.file("in.pcap");
  std::vector<Bytes> frames;
  for (uint8_t i = 0; i < 5; ++i)
    frames.push_back(frame(kBroadcast, mac(1), 46, i));
  write_pcap(in, frames);
  const std::string prefix = "vswitch-test-" + std::to_string(getpid());
  Vswitchd vs({"--eal", "--no-huge --no-pci -m 512 --file-prefix " + prefix, "--port",
               "dpdk,name=p0,dev=net_pcap0,dev.rx_pcap=" + in + ",dev.tx_pcap=" + dir.file("o"),
               "--port", "dpdk,name=p1,dev=net_null0,dev.no-rx=1"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  ASSERT_TRUE(vs.wait_port_counter("p1", "out_packets", 5));
  Telemetry t("/var/run/dpdk/" + prefix + "/dpdk_telemetry.v2");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.ask("/ethdev/list"), R"({"/ethdev/list":[0,1]})");
  const std::string stats = t.ask("/ethdev/stats,0");
  EXPECT_NE(stats.find(R"("ipackets":5,)"), std::string::npos) << stats;
  EXPECT_NE(t.ask("/ethdev/stats,1").find(R"("opackets":5,)"), std::string::npos);
  EXPECT_EQ(vs.stop(), 0);
}

}  // namespace
}  // namespace vswitch::test
