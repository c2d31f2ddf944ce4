// `vswitchctl capture` on the real daemon, read back by tshark: the exact frames in order with
// their ports' names and directions, on a VDE port, a QEMU stream port and a DPDK pcap port; a
// BPF filter; a capture of drops; a capture that cannot keep up loses only its own frames.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "../support/frames.hpp"
#include "../support/pcap_file.hpp"
#include "../support/process.hpp"
#include "../support/raw_peer.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {

namespace {

using ::testing::HasSubstr;

off_t size_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// vswitchctl capture in the background, writing a file.
class Capture : public StreamingCtl {
 public:
  Capture(const Vswitchd& vs, const std::string& file, std::vector<std::string> args)
      : StreamingCtl(vs, with(args, file), "", file + ".err") {
    // The section header comes at the first pull: from then on the taps are on.
    started_ = wait_until([&] { return size_of(file) > 0; }, 5s);
  }
  bool started() const { return started_; }

 private:
  static std::vector<std::string> with(std::vector<std::string> args, const std::string& file) {
    args.insert(args.begin(), "capture");
    args.insert(args.end(), {"-w", file});
    return args;
  }
  bool started_ = false;
};

std::string tshark(const std::string& file, const std::vector<std::string>& fields) {
  std::vector<std::string> argv = {"/usr/bin/tshark", "-r", file,         "-T",
                                   "fields",          "-E", "separator=|"};
  for (const auto& f : fields)
    argv.insert(argv.end(), {"-e", f});
  const RunResult r = run_program(argv, 30s);
  EXPECT_EQ(r.status, 0) << r.err;
  return r.out;
}

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/tshark", X_OK) != 0) GTEST_SKIP() << "needs tshark";
  }
  TempDir tmp_;
  std::string file_ = tmp_.file("capture.pcapng");
  std::string sw() const { return tmp_.file("sw"); }
};

TEST_F(CaptureTest, VdePortFramesInOrderWithNamesAndDirections) {
  Vswitchd vs({"--vde", sw()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient a(sw()), b(sw());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const std::string pa = vs.ctl({"port", "list"}).items()[0].get("name")->as_string();
  Capture cap(vs, file_, {pa, "--count", "3"});
  ASSERT_TRUE(cap.started()) << cap.err();
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 46, 1)));
  ASSERT_TRUE(b.recv());
  ASSERT_TRUE(b.send(frame(mac(1), mac(2), 100, 2)));
  ASSERT_TRUE(a.recv());
  ASSERT_TRUE(a.send(frame(mac(2), mac(1), 200, 3)));
  ASSERT_TRUE(b.recv());
  EXPECT_EQ(cap.wait(), 0) << cap.err();
  EXPECT_THAT(cap.err(), HasSubstr("3 frames captured, 0 lost"));
  EXPECT_EQ(tshark(file_, {"frame.interface_name", "frame.interface_description",
                           "frame.packet_flags_direction", "eth.src", "frame.len"}),
            pa + "|vde port in segment default|0x00000001|02:00:00:00:00:01|60\n" + pa +
                "|vde port in segment default|0x00000002|02:00:00:00:00:02|114\n" + pa +
                "|vde port in segment default|0x00000001|02:00:00:00:00:01|214\n");
}

TEST_F(CaptureTest, StreamPortAndAFilterKeepExactlyTheMatchingFrames) {
  const std::string path = tmp_.file("stream.sock");
  Vswitchd vs({"--port", "stream,name=q,server=on,addr.type=unix,addr.path=" + path});
  ASSERT_TRUE(vs.ready()) << vs.log();
  Sock a = connect_to(AF_UNIX, unix_addr(path));
  Sock b = connect_to(AF_UNIX, unix_addr(path));
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  Capture cap(vs, file_,
              {"q:1,q:2", "--direction", "in", "--filter", "ether src 02:00:00:00:00:07"});
  ASSERT_TRUE(cap.started()) << cap.err();
  std::vector<Bytes> sent;
  for (uint8_t i = 0; i < 12; ++i) {
    const Bytes f = frame(kBroadcast, mac(i % 3 == 0 ? 7 : 8), 46 + i, i);
    if (i % 3 == 0) sent.push_back(f);
    ASSERT_TRUE(send_all((i % 2 ? b : a).fd(), record(f)));
    ASSERT_TRUE(read_record((i % 2 ? a : b).fd()));
  }
  ASSERT_TRUE(vs.wait_port_counter("q:1", "out_packets", 6));
  EXPECT_EQ(cap.interrupt(), 0) << cap.err();
  EXPECT_THAT(cap.err(), HasSubstr("4 frames captured, 0 lost"));
  const auto lines = lines_of(tshark(file_, {"frame.interface_name", "eth.src", "frame.len"}));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], std::string(i % 2 ? "q:2" : "q:1") + "|02:00:00:00:00:07|" +
                            std::to_string(sent[i].size()));
  }
  // The statistics blocks came after Ctrl-C: the file is whole, tshark reads every block.
  const RunResult info = run_program({"/usr/bin/capinfos", "-c", file_});
  EXPECT_EQ(info.status, 0) << info.err;
}

TEST_F(CaptureTest, DropsComeWithTheirReason) {
  Vswitchd vs({"--vde", sw()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  VdeClient a(sw()), b(sw());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const std::string pa = vs.ctl({"port", "list"}).items()[0].get("name")->as_string();
  vs.ctl({"port", "set", pa, "mtu=200"});
  Capture cap(vs, file_, {pa, "--direction", "none", "--drops", "--count", "1"});
  ASSERT_TRUE(cap.started()) << cap.err();
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 100, 1)));  // fits: not a drop
  ASSERT_TRUE(b.recv());
  ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 300, 2)));
  EXPECT_EQ(cap.wait(), 0) << cap.err();
  EXPECT_EQ(tshark(file_, {"frame.len", "frame.packet_flags_direction", "frame.comment"}),
            "314|0x00000001|dropped: oversize\n");
}

TEST_F(CaptureTest, EndsWithItsStatisticsWhenItsPortLeaves) {
  Vswitchd vs({"--vde", sw()});
  ASSERT_TRUE(vs.ready()) << vs.log();
  auto a = std::make_unique<VdeClient>(sw());
  VdeClient b(sw());
  ASSERT_TRUE(wait_until([&] { return vs.ctl({"port", "list"}).items().size() == 2; }, 5s));
  const std::string pa = vs.ctl({"port", "list"}).items()[0].get("name")->as_string();
  Capture cap(vs, file_, {pa});
  ASSERT_TRUE(cap.started()) << cap.err();
  ASSERT_TRUE(a->send(frame(kBroadcast, mac(1), 46, 1)));
  ASSERT_TRUE(b.recv());
  a.reset();
  EXPECT_EQ(cap.wait(), 0) << cap.err();
  EXPECT_THAT(cap.err(), HasSubstr("1 frames captured, 0 lost"));
  EXPECT_EQ(run_program({"/usr/bin/capinfos", "-c", file_}).status, 0);
}

TEST_F(CaptureTest, BadRequestsAreRefusedWithTheReasonAndNoFile) {
  Vswitchd vs({"--port", "dpdk,name=p0,dev=net_null0,dev.no-rx=1"});
  ASSERT_TRUE(vs.ready()) << vs.log();
  auto capture = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {vswitchctl_path(), "--socket", vs.socket(), "capture"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, 10s);
  };
  const RunResult filter = capture({"p0", "--filter", "ether hots 1", "-w", file_});
  EXPECT_EQ(filter.status, 1);
  EXPECT_THAT(filter.err, HasSubstr("ether hots 1"));
  const RunResult port = capture({"nosuch", "-w", file_});
  EXPECT_EQ(port.status, 1);
  EXPECT_THAT(port.err, HasSubstr("no port named nosuch"));
  EXPECT_EQ(capture({"p0"}).status, 2) << "pcapng to a terminal";
  EXPECT_EQ(access(file_.c_str(), F_OK), -1);
  EXPECT_TRUE(vs.running());
}

class DpdkCapture : public CaptureTest {
 protected:
  // A pcap replayed for ever into the switch as fast as it goes, switched to a null device.
  std::unique_ptr<Vswitchd> start() {
    for (uint8_t i = 0; i < 8; ++i)
      frames_.push_back(frame(mac(100), mac(1 + i % 2), 46 + i, i));
    const std::string in = tmp_.file("in.pcap");
    write_pcap(in, frames_);
    auto vs = std::make_unique<Vswitchd>(std::vector<std::string>{
        "--port", "dpdk,name=p0,dev=net_pcap0,dev.rx_pcap=" + in + ",dev.infinite_rx=1", "--port",
        "dpdk,name=sink,dev=net_null0,dev.no-rx=1"});
    EXPECT_TRUE(vs->ready()) << vs->log();
    return vs;
  }
  std::vector<Bytes> frames_;
};

TEST_F(DpdkCapture, FramesInTheOrderTheDeviceGaveThem) {
  auto vs = start();
  ASSERT_TRUE(vs->ready());
  Capture cap(*vs, file_, {"p0", "--direction", "in", "--count", "16"});
  ASSERT_TRUE(cap.started()) << cap.err();
  EXPECT_EQ(cap.wait(), 0) << cap.err();
  const auto lines = lines_of(tshark(file_, {"frame.interface_name", "eth.src", "frame.len"}));
  ASSERT_EQ(lines.size(), 16u);
  // The replay goes round the file: the capture starts anywhere in it, then follows it.
  size_t first = frames_.size();
  for (size_t k = 0; k < frames_.size(); ++k) {
    if (lines[0] == "p0|" + MacAddr(load_mac48(frames_[k].data() + 6)).str() + "|" +
                        std::to_string(frames_[k].size())) {
      first = k;
    }
  }
  ASSERT_LT(first, frames_.size()) << lines[0];
  for (size_t i = 0; i < lines.size(); ++i) {
    const Bytes& f = frames_[(first + i) % frames_.size()];
    EXPECT_EQ(lines[i],
              "p0|" + MacAddr(load_mac48(f.data() + 6)).str() + "|" + std::to_string(f.size()));
  }
}

TEST_F(DpdkCapture, UnderFullLoadOnlyTheCaptureLosesFrames) {
  auto vs = start();
  ASSERT_TRUE(vs->ready());
  // Both ports, both ways, at the switch's full rate: more than the capture can carry.
  Capture cap(*vs, file_, {"p0,sink", "--snaplen", "64", "--count", "300000"});
  ASSERT_TRUE(cap.started()) << cap.err();
  EXPECT_EQ(cap.wait(30s), 0) << cap.err();
  // One command, so both ports are read between the same two rounds.
  const Value show = vs->ctl({"show"});
  std::map<std::string, const Value*> ports;
  for (const Value& p : show.get("ports")->items())
    ports[p.get("name")->as_string()] = &p;
  const auto in = ports.at("p0")->get("in_packets")->as_int();
  EXPECT_GT(in, 150000) << "the replay did not run at full rate";
  EXPECT_EQ(ports.at("p0")->get("dropped")->as_int(), 0);
  EXPECT_EQ(ports.at("sink")->get("dropped")->as_int(), 0)
      << vs->ctl({"port", "show", "sink"}).json();
  EXPECT_EQ(ports.at("sink")->get("out_packets")->as_int(), in);
  const RunResult info = run_program({"/usr/bin/capinfos", "-c", "-M", file_});
  EXPECT_EQ(info.status, 0) << info.err;
  EXPECT_THAT(cap.err(), HasSubstr("frames captured"));
}

}  // namespace
}  // namespace vswitch::test
