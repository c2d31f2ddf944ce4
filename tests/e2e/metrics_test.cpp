// The counters as Prometheus reads them: `vswitchctl metrics` and the /metrics endpoint,
// checked by Prometheus's own promtool, scraped by curl, and poked with raw sockets for what a
// scraper never sends.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "../support/process.hpp"
#include "../support/raw_peer.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kCurl = "/usr/bin/curl";

// promtool's verdict on a text: its exit status and what it said.
RunResult promtool_check(const TempDir& dir, const std::string& text) {
  const std::string file = dir.file("metrics.txt");
  std::ofstream(file) << text;
  return run_program({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < " + file}, 30s);
}

RunResult curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kCurl, "-s", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, 15s);
}

// A sample's value in a Prometheus text: the line that starts with `series` exactly.
std::optional<std::string> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return std::nullopt;
}

// Everything the server sends on a raw connection until it closes, within the timeout.
std::string read_until_closed(int fd, int timeout_ms) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return out + (n == 0 ? "" : "<error>");
    out.append(buf, static_cast<size_t>(n));
  }
  return out + "<still open>";
}

class Metrics : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kPromtool, X_OK) != 0 || access(kCurl, X_OK) != 0) {
      GTEST_SKIP() << "needs promtool (Debian's prometheus) and curl";
    }
  }
  // A switch with a VDE directory and a port whose name needs escaping in a label.
  std::unique_ptr<Vswitchd> start(std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"--vde", tmp_.file("sw"), "--port",
                                     "dpdk,name=odd\"name\\x,dev=net_ring0,tag=10"};
    args.insert(args.end(), more.begin(), more.end());
    auto vs = std::make_unique<Vswitchd>(args);
    EXPECT_TRUE(vs->ready()) << vs->log();
    return vs;
  }
  std::string url(const std::string& path = "/metrics") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  TempDir tmp_;
  uint16_t port_ = free_tcp_port();
};

TEST_F(Metrics, VswitchctlMetricsPassesPromtoolAndCountsWhatWasSent) {
  auto vs = start();
  VdeClient a(tmp_.file("sw")), b(tmp_.file("sw"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(wait_until([&] { return vs->ctl({"port", "list"}).items().size() == 3; }, 5s));
  for (uint8_t i = 0; i < 5; ++i)
    ASSERT_TRUE(a.send(frame(kBroadcast, mac(1), 100, i)));
  ASSERT_TRUE(a.send(tagged(frame(kBroadcast, mac(1), 46), 4095)));  // VLAN 4095 is reserved
  ASSERT_TRUE(vs->wait_port_counter("vde:1", "in_packets", 6));
  ASSERT_TRUE(vs->wait_port_counter("vde:1", "dropped", 1));

  auto r = run_program({vswitchctl_path(), "--socket", vs->socket(), "metrics"});
  ASSERT_EQ(r.status, 0) << r.err;
  const RunResult check = promtool_check(tmp_, r.out);
  EXPECT_EQ(check.status, 0) << check.out << check.err << "\n" << r.out;

  const std::string vde1 = "port=\"vde:1\",segment=\"default\",kind=\"vde\"";
  EXPECT_EQ(sample(r.out, "vswitch_port_in_packets_total{" + vde1 + "}"), "6") << r.out;
  EXPECT_EQ(sample(r.out, "vswitch_port_in_bytes_total{" + vde1 + "}"),
            std::to_string(5 * 114 + 64))
      << r.out;
  EXPECT_EQ(sample(r.out,
                   "vswitch_port_out_packets_total{port=\"vde:2\",segment=\"default\","
                   "kind=\"vde\"}"),
            "5");
  EXPECT_EQ(sample(r.out, "vswitch_port_drops_total{" + vde1 + ",reason=\"vlan\"}"), "1") << r.out;
  EXPECT_EQ(sample(r.out, "vswitch_port_drops_total{" + vde1 + ",reason=\"runt\"}"), "0");
  // The quote and the backslash of the odd name, escaped as the format says.
  EXPECT_TRUE(sample(r.out,
                     "vswitch_port_in_packets_total{port=\"odd\\\"name\\\\x\","
                     "segment=\"default\",kind=\"dpdk\"}"))
      << r.out;
  EXPECT_EQ(sample(r.out, "vswitch_segment_fdb_entries{segment=\"default\"}"), "1");
  EXPECT_EQ(sample(r.out, "vswitch_segment_fdb_learned_total{segment=\"default\"}"), "1");
  EXPECT_EQ(sample(r.out, "vswitch_segment_flooded_total{segment=\"default\"}"), "5");
  EXPECT_NE(r.out.find("# TYPE vswitch_segment_fdb_entries gauge\n"), std::string::npos);
  EXPECT_NE(r.out.find("# TYPE vswitch_engine_frames_total counter\n"), std::string::npos);
}

TEST_F(Metrics, EndpointServesTheSameTextToCurl) {
  auto vs = start({"--metrics-listen", "127.0.0.1:" + std::to_string(port_)});
  const RunResult headers = curl({"-D", "-", "-o", "/dev/null", url()});
  ASSERT_EQ(headers.status, 0) << headers.err << vs->log();
  EXPECT_NE(headers.out.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << headers.out;
  EXPECT_NE(headers.out.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(headers.out.find("Connection: close\r\n"), std::string::npos);

  const RunResult body = curl({url()});
  ASSERT_EQ(body.status, 0) << body.err;
  const RunResult check = promtool_check(tmp_, body.out);
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  // The same families as vswitchctl's, the counters still where they were.
  auto direct = run_program({vswitchctl_path(), "--socket", vs->socket(), "metrics"});
  auto families = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# TYPE ", 0) == 0) out.push_back(line);
    }
    return out;
  };
  EXPECT_EQ(families(body.out), families(direct.out));
  EXPECT_GT(families(body.out).size(), 15u);
}

TEST_F(Metrics, OtherPathsAndMethodsAreRefused) {
  auto vs = start({"--metrics-listen", std::to_string(port_)});  // the port alone: loopback
  auto code = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "/dev/null", "-w", "%{http_code}"});
    return curl(args).out;
  };
  EXPECT_EQ(code({url("/")}), "404");
  EXPECT_EQ(code({url("/metricsx")}), "404");
  EXPECT_EQ(code({url("/metrics?name[]=x")}), "200");
  EXPECT_EQ(code({"-X", "POST", url()}), "405");
  EXPECT_EQ(code({"-X", "DELETE", url()}), "405");
  const RunResult post = curl({"-D", "-", "-o", "/dev/null", "-X", "PUT", url()});
  EXPECT_NE(post.out.find("Allow: GET, HEAD\r\n"), std::string::npos) << post.out;
  // HEAD: the headers of a GET and no body.
  const RunResult head = curl({"-I", url()});
  EXPECT_NE(head.out.find("200 OK"), std::string::npos) << head.out;
  EXPECT_EQ(head.out.find("# HELP"), std::string::npos) << head.out;
  EXPECT_EQ(code({"--http1.0", url()}), "200");
}

TEST_F(Metrics, RawClientsGetBoundedAnswers) {
  auto vs = start({"--metrics-listen", "127.0.0.1:" + std::to_string(port_)});
  ASSERT_TRUE(vs->ready());
  auto raw = [&](const std::string& request) {
    Sock s = connect_to(AF_INET, inet_addr(port_));
    EXPECT_GE(s.fd(), 0);
    send_all(s.fd(), Bytes(request.begin(), request.end()));
    return read_until_closed(s.fd(), 3000);
  };
  EXPECT_EQ(raw("GET /metrics HTTP/2.0\r\n\r\n").rfind("HTTP/1.1 505 ", 0), 0u);
  EXPECT_EQ(raw("nonsense\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  // Blank lines before the request line are skipped, a bare \n ends lines too.
  EXPECT_EQ(raw("\r\nGET /metrics HTTP/1.1\nHost: x\n\n").rfind("HTTP/1.1 200 ", 0), 0u);
  const std::string big_header = "X-Filler: " + std::string(9000, 'a') + "\r\n";
  EXPECT_EQ(raw("GET /metrics HTTP/1.1\r\n" + big_header + "\r\n").rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_EQ(raw("GET /" + std::string(9000, 'm') + " HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 414 ", 0),
            0u);
  std::string many_headers = "GET /metrics HTTP/1.1\r\n";
  for (int i = 0; i < 1000; ++i)
    many_headers += "X-" + std::to_string(i) + ": yes\r\n";
  EXPECT_EQ(raw(many_headers + "\r\n").rfind("HTTP/1.1 431 ", 0), 0u);
}

TEST_F(Metrics, IdleAndSurplusConnectionsAreClosed) {
  auto vs = start({"--metrics-listen", "127.0.0.1:" + std::to_string(port_)});
  // Sixteen clients that say nothing hold every place; the next is told so at once.
  std::vector<Sock> idle;
  for (int i = 0; i < 16; ++i) {
    idle.push_back(connect_to(AF_INET, inet_addr(port_)));
    ASSERT_GE(idle.back().fd(), 0);
  }
  std::this_thread::sleep_for(200ms);  // the switch has taken them all
  Sock extra = connect_to(AF_INET, inet_addr(port_));
  EXPECT_EQ(read_until_closed(extra.fd(), 3000).rfind("HTTP/1.1 503 ", 0), 0u);
  // Within their time the silent ones are closed, with no answer, and scrapes work again.
  const auto start_time = std::chrono::steady_clock::now();
  EXPECT_EQ(read_until_closed(idle.front().fd(), 9000), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, 8s);
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", url()}).out, "200");
}

TEST_F(Metrics, ListenAddressComesFromTheConfigFileToo) {
  std::ofstream(tmp_.file("vs.conf")) << "metrics-listen = 127.0.0.1:" << port_ << "\n";
  auto vs = start({"--config", tmp_.file("vs.conf")});
  const RunResult r = curl({"-o", "/dev/null", "-w", "%{http_code}", url()});
  EXPECT_EQ(r.out, "200") << vs->log();
}

TEST_F(Metrics, AnAddressOtherHostsReachIsRefusedUnlessMeant) {
  auto r = run_program({vswitchd_path(), "--metrics-listen", "0.0.0.0:" + std::to_string(port_)});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not a loopback address"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--metrics-remote"), std::string::npos) << r.err;
  r = run_program({vswitchd_path(), "--metrics-listen", "localhost:9100"});
  EXPECT_EQ(r.status, 2);
  r = run_program({vswitchd_path(), "--metrics-remote"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("without --metrics-listen"), std::string::npos) << r.err;
}

TEST_F(Metrics, APortAlreadyTakenStopsTheStart) {
  Sock holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = inet_addr(port_);
  ASSERT_EQ(bind(holder.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(holder.fd(), 1), 0);
  Vswitchd vs({"--metrics-listen", "127.0.0.1:" + std::to_string(port_)});
  EXPECT_FALSE(vs.ready());
  EXPECT_EQ(vs.stop(), 1);
  EXPECT_NE(vs.log().find("--metrics-listen"), std::string::npos) << vs.log();
}

}  // namespace
}  // namespace vswitch::test
